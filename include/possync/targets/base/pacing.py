"""Client-side pacing: never send more than a target allows, so it never has to say 429.

A ``Pacer`` holds sliding windows (e.g. 30 per minute and 1,800 per hour for a Jurnal API consumer, 8 per
second for Accurate) and makes a caller wait until one more request fits in all of them. At most N
requests in *any* sliding window of a period means at most N in every fixed window the server counts, so
pacing holds whatever the server's clock. A small margin on the period absorbs network jitter between
send and arrival. ``pause_until`` honours a server's Retry-After.

A ``Pacer`` paces one process. A ``SharedPacer`` keeps the windows in a database every task, process and
worker that calls the target sees (the integration's ledger), so one API consumer's allowance is shared by all
of them: a task that starts while another is sending does not start with a fresh allowance, and the pool's size
no longer has to divide the limit. Each send is one short transaction that locks the consumer's row, counts the
requests in its windows on the database's clock (PostgreSQL's, so workers on other machines agree; SQLite's
is this machine's), and records the send.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


@dataclass(frozen=True)
class Limit:
    requests: int
    period_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.period_seconds <= 0:
            raise ValueError(f"a rate limit needs at least one request per positive period, got {self}")


def margin_for(limit: Limit, margin_seconds: float | None = None) -> float:
    """Slack on a window for jitter between send and arrival: a quarter second on Jurnal's minute, 5% of
    Accurate's second (a fixed 0.25 s there would give away a fifth of the allowance)."""
    return margin_seconds if margin_seconds is not None else min(0.25, 0.05 * limit.period_seconds)


def delay_before_next(limits: Iterable[Limit], sent: Iterable[float], now: float, *, paused_until: float = 0.0,
                      margin_seconds: float | None = None) -> float:
    """How long to wait until one more request fits every limit, given the times of the requests sent (oldest
    first) and a pause (Retry-After) that may still hold."""
    times = list(sent)
    delay = max(0.0, paused_until - now)
    for limit in limits:
        period = limit.period_seconds + margin_for(limit, margin_seconds)
        in_window = [t for t in times if t > now - period]
        if len(in_window) >= limit.requests:
            # the oldest request that must leave the window before one more fits
            delay = max(delay, in_window[-limit.requests] + period - now)
    return delay


class Pacer:
    def __init__(
        self,
        limits: list[Limit],
        *,
        margin_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self.margin = margin_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def margin_for(self, limit: Limit) -> float:
        return margin_for(limit, self.margin)

    def _delay(self, now: float) -> float:
        return delay_before_next(self.limits, self._sent, now, paused_until=self._paused_until,
                                 margin_seconds=self.margin)

    def wait(self) -> None:
        """Block until one more request fits every limit, then count it as sent."""
        with self._lock:
            while (delay := self._delay(self._clock())) > 0:
                self.waited_seconds += delay
                self._sleep(delay)
            now = self._clock()
            self._sent.append(now)
            longest = max((limit.period_seconds + self.margin_for(limit) for limit in self.limits), default=0)
            while self._sent and self._sent[0] <= now - longest:
                self._sent.popleft()

    def pause_until(self, seconds_from_now: float) -> None:
        """Send nothing for a while (the server's Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds_from_now)


class SharedPacer:
    """A ``Pacer`` whose windows live in a database (the ledger's ``pacing_consumers`` / ``pacing_requests``), so
    every process pacing as ``consumer`` shares one allowance. See the module docstring."""

    def __init__(self, engine: Engine, consumer: str, limits: list[Limit], *, margin_seconds: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.consumer = consumer
        self.limits = limits
        self.margin = margin_seconds
        self._sleep = sleep
        self._lock = threading.Lock()  # one check-and-send at a time in this process, too
        self.waited_seconds = 0.0
        self._longest = max((limit.period_seconds + margin_for(limit, margin_seconds) for limit in limits),
                            default=0.0)
        self._ensure_consumer()

    def _ensure_consumer(self) -> None:
        from sqlalchemy import select

        from possync.ledger.schema import create_schema, pacing_consumers, pacing_requests

        create_schema(self.engine, [pacing_consumers, pacing_requests])  # its own tables only
        with self.engine.begin() as conn:
            found = conn.execute(select(pacing_consumers.c.consumer)
                                 .where(pacing_consumers.c.consumer == self.consumer)).first()
            if found is None:
                from sqlalchemy.exc import IntegrityError

                try:
                    with conn.begin_nested():
                        conn.execute(pacing_consumers.insert().values(consumer=self.consumer, paused_until=0.0))
                except IntegrityError:
                    pass  # another process added it first

    def _now(self, conn: Connection) -> float:
        if conn.dialect.name == "postgresql":
            from sqlalchemy import text

            return float(conn.execute(text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")).scalar_one())
        return time.time()

    def _try_send(self) -> float:
        """In one transaction: lock the consumer, and either record a send now (0.0) or say how long to wait."""
        from sqlalchemy import select, update

        from possync.ledger.schema import pacing_consumers, pacing_requests

        consumers, requests = pacing_consumers.c, pacing_requests.c
        with self.engine.begin() as conn:
            # the row lock (PostgreSQL) / the database write lock (SQLite) serialises every sender of the consumer
            conn.execute(update(pacing_consumers).where(consumers.consumer == self.consumer)
                         .values(paused_until=consumers.paused_until))
            now = self._now(conn)
            paused_until = conn.execute(select(consumers.paused_until)
                                        .where(consumers.consumer == self.consumer)).scalar_one()
            sent = conn.execute(select(requests.sent_at).where(requests.consumer == self.consumer,
                                                               requests.sent_at > now - self._longest)
                                .order_by(requests.sent_at)).scalars().all()
            delay = delay_before_next(self.limits, sent, now, paused_until=paused_until, margin_seconds=self.margin)
            if delay > 0:
                return delay
            conn.execute(pacing_requests.insert().values(consumer=self.consumer, sent_at=now))
            conn.execute(pacing_requests.delete().where(requests.consumer == self.consumer,
                                                        requests.sent_at <= now - self._longest))
            return 0.0

    def wait(self) -> None:
        """Block until one more request fits every limit across all processes, then count it as sent."""
        with self._lock:
            while (delay := self._try_send()) > 0:
                self.waited_seconds += delay
                self._sleep(delay)

    def pause_until(self, seconds_from_now: float) -> None:
        """Send nothing for a while (the server's Retry-After), in every process."""
        from sqlalchemy import func, update

        from possync.ledger.schema import pacing_consumers

        with self._lock, self.engine.begin() as conn:
            until = self._now(conn) + seconds_from_now
            consumers = pacing_consumers.c
            conn.execute(update(pacing_consumers).where(consumers.consumer == self.consumer)
                         .values(paused_until=func.max(consumers.paused_until, until)
                                 if conn.dialect.name == "sqlite" else func.greatest(consumers.paused_until, until)))
