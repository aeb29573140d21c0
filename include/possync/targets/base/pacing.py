"""Client-side pacing: never send more than a target allows, so it never has to say 429.

A ``Pacer`` holds sliding windows (e.g. 30 per minute and 1,800 per hour for a Jurnal API consumer, 8 per
second for Accurate) and makes a caller wait until one more request fits in all of them. At most N
requests in *any* sliding window of a period means at most N in every fixed window the server counts, so
pacing holds whatever the server's clock. ``pause_until`` honours a server's Retry-After.

A request counts in the windows from the moment it may be sent until a period after it was answered (``sending``):
it reaches the server somewhere in between, however late (a busy machine, a slow commit of the shared pacer's
row, a slow network), so N arrivals in one of the server's windows are impossible. (Counted from the moment it
was allowed, a request held up between allowance and arrival could land in the next window beside that window's
own N.) A small margin on the period absorbs what remains: the server's own rounding.

That guarantee costs a request's whole round trip: at 8 a second and 0.09 s a call, a request holds its place
for 1.1 s, so at most about 91% of the allowance is used. Where the server is known to see a request within
``transit_seconds`` of its allowance (a short, steady network path), a request counts only until a period after
the earlier of its answer and its allowance plus ``transit_seconds``: the allowance is used up to the margin and
the transit, and a request that takes longer than that to arrive may be refused (429; the hooks wait and send it
again, and the targets' own numbers keep a retry from posting twice). ``None`` (the default) assumes nothing.

A ``Pacer`` paces one process. A ``SharedPacer`` keeps the windows in a database every task, process and
worker that calls the target sees (the integration's ledger), so one API consumer's allowance is shared by all
of them: a task that starts while another is sending does not start with a fresh allowance, and the pool's size
no longer has to divide the limit. Each send is one short transaction that locks the consumer's row, counts the
requests in its windows on the database's clock (PostgreSQL's, so workers on other machines agree; SQLite's
is this machine's), and records the send.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Generator, Iterable
from contextlib import contextmanager
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
    """Slack on a window beyond the period: a quarter second on Jurnal's minute, 1% (10 ms) of Accurate's second.
    A request counted until a period after its answer has surely arrived a period before the next one goes, so the
    margin only covers the server's own timekeeping (its clock's rate, how it stamps and rounds arrivals); 5% of
    Accurate's second (the default until 2026-12) gave away a twentieth of the allowance for nothing measured."""
    return margin_seconds if margin_seconds is not None else min(0.25, 0.01 * limit.period_seconds)


#: how often a sender blocked only by requests still unanswered looks again (they leave the windows a period
#: after their answer, which may come any moment)
IN_FLIGHT_POLL_SECONDS = 0.02


def arrived_by(sent: float, answered: float | None, transit_seconds: float | None) -> float | None:
    """The moment by which a request surely reached the server: its answer, or (``transit_seconds``) its allowance
    plus the transit if that is earlier; ``None`` while neither has come (it may still be on its way)."""
    bounds = [t for t in (answered, None if transit_seconds is None else sent + transit_seconds) if t is not None]
    return min(bounds) if bounds else None


def delay_before_next(limits: Iterable[Limit], answered: Iterable[float], now: float, *, in_flight: int = 0,
                      paused_until: float = 0.0, margin_seconds: float | None = None) -> float:
    """How long to wait until one more request fits every limit, given when the requests surely arrived (their
    answers, ``arrived_by``), how many are ``in_flight`` (allowed, maybe not arrived yet: they count as arriving
    now), and a pause (Retry-After) that may still hold."""
    times = sorted(answered)
    delay = max(0.0, paused_until - now)
    for limit in limits:
        period = limit.period_seconds + margin_for(limit, margin_seconds)
        in_window = [t for t in times if t > now - period]
        if len(in_window) + in_flight < limit.requests:
            continue
        # the answered requests leave the window a period after their answers, oldest first; when even all of them
        # gone would not make room, only an answer can: look again shortly
        leaving = len(in_window) + in_flight - limit.requests
        delay = max(delay, in_window[leaving] + period - now if leaving < len(in_window) else IN_FLIGHT_POLL_SECONDS)
    return delay


class Pacer:
    def __init__(
        self,
        limits: list[Limit],
        *,
        margin_seconds: float | None = None,
        transit_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self.margin = margin_seconds
        self.transit = transit_seconds
        self._clock = clock
        self._sleep = sleep
        self._arrived: list[float] = []  # when each counted request surely arrived (``arrived_by``)
        self._flying: dict[int, float] = {}  # ticket -> allowance, for requests that may still be on their way
        self._tickets = itertools.count()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited_seconds = 0.0
        self._longest = max((limit.period_seconds + margin_for(limit, margin_seconds) for limit in limits), default=0)

    def margin_for(self, limit: Limit) -> float:
        return margin_for(limit, self.margin)

    def _settle(self, now: float) -> None:
        """Requests past their transit count as arrived then; requests that left every window are forgotten."""
        if self.transit is not None:
            for ticket, sent in list(self._flying.items()):
                if sent + self.transit <= now:
                    self._arrived.append(sent + self.transit)
                    del self._flying[ticket]
        self._arrived = [t for t in self._arrived if t > now - self._longest]

    def _allow(self) -> tuple[float, int | None]:
        """Count one more request in flight and return (0.0, its ticket) when it fits every limit; else how long to
        wait."""
        with self._lock:
            now = self._clock()
            self._settle(now)
            delay = delay_before_next(self.limits, self._arrived, now, in_flight=len(self._flying),
                                      paused_until=self._paused_until, margin_seconds=self.margin)
            if delay > 0:
                return delay, None
            ticket = next(self._tickets)
            self._flying[ticket] = now
            return 0.0, ticket

    def _answer(self, ticket: int) -> None:
        with self._lock:
            sent = self._flying.pop(ticket, None)
            if sent is not None:  # else counted as arrived at its transit already
                self._arrived.append(arrived_by(sent, self._clock(), self.transit) or self._clock())

    @contextmanager
    def sending(self) -> Generator[None]:
        """Wait until one more request fits every limit; the request is sent in the block and counts until a
        period after the block ends (its answer, or its failure), or after its transit when that is earlier."""
        while (allowed := self._allow())[1] is None:  # sleeps outside the lock: an answer may come meanwhile
            self.waited_seconds += allowed[0]
            self._sleep(allowed[0])
        try:
            yield
        finally:
            self._answer(allowed[1])

    def wait(self) -> None:
        """Wait for a request answered at once (``sending`` around nothing)."""
        with self.sending():
            pass

    def pause_until(self, seconds_from_now: float) -> None:
        """Send nothing for a while (the server's Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds_from_now)


#: a request allowed but never answered (its process killed mid-request) stops counting after this long, beyond
#: any request's timeout
IN_FLIGHT_EXPIRY_SECONDS = 300.0


class SharedPacer:
    """A ``Pacer`` whose windows live in a database (the ledger's ``pacing_consumers`` / ``pacing_requests``), so
    every process pacing as ``consumer`` shares one allowance. See the module docstring."""

    def __init__(self, engine: Engine, consumer: str, limits: list[Limit], *, margin_seconds: float | None = None,
                 transit_seconds: float | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.consumer = consumer
        self.limits = limits
        self.margin = margin_seconds
        self.transit = transit_seconds
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

    def _try_send(self) -> tuple[float, int | None]:
        """In one transaction: lock the consumer, and either record a request in flight now (0.0 and its row's
        id) or say how long to wait."""
        from sqlalchemy import and_, or_, select, update

        from possync.ledger.schema import pacing_consumers, pacing_requests

        consumers, requests = pacing_consumers.c, pacing_requests.c
        with self.engine.begin() as conn:
            # the row lock (PostgreSQL) / the database write lock (SQLite) serialises every sender of the consumer
            conn.execute(update(pacing_consumers).where(consumers.consumer == self.consumer)
                         .values(paused_until=consumers.paused_until))
            now = self._now(conn)
            paused_until = conn.execute(select(consumers.paused_until)
                                        .where(consumers.consumer == self.consumer)).scalar_one()
            mine = requests.consumer == self.consumer
            unanswered = and_(requests.answered_at.is_(None), requests.sent_at > now - IN_FLIGHT_EXPIRY_SECONDS)
            # one statement, one snapshot: read apart, a request answered in between would be in neither reading
            counted = conn.execute(select(requests.sent_at, requests.answered_at).where(
                mine, or_(requests.answered_at > now - self._longest, unanswered))).all()
            arrived = [arrived_by(sent, answered, self.transit) for sent, answered in counted]
            in_flight = sum(1 for t in arrived if t is None or t > now)
            arrived = [t for t in arrived if t is not None and t <= now]
            delay = delay_before_next(self.limits, arrived, now, in_flight=in_flight, paused_until=paused_until,
                                      margin_seconds=self.margin)
            if delay > 0:
                return delay, None
            row_id = conn.execute(pacing_requests.insert().values(consumer=self.consumer, sent_at=now)
                                  .returning(requests.id)).scalar_one()
            conn.execute(pacing_requests.delete().where(mine, or_(
                requests.answered_at <= now - self._longest,
                and_(requests.answered_at.is_(None), requests.sent_at <= now - IN_FLIGHT_EXPIRY_SECONDS))))
            return 0.0, row_id

    def _answer(self, row_id: int) -> None:
        from sqlalchemy import update

        from possync.ledger.schema import pacing_requests

        with self.engine.begin() as conn:
            conn.execute(update(pacing_requests).where(pacing_requests.c.id == row_id)
                         .values(answered_at=self._now(conn)))

    @contextmanager
    def sending(self) -> Generator[None]:
        """Wait until one more request fits every limit across all processes; the request is sent in the block and
        counts, for every process, until a period after the block ends (or after its transit, when earlier)."""
        with self._lock:  # one check at a time in this process; the database serialises the processes
            while (found := self._try_send())[1] is None:
                self.waited_seconds += found[0]
                self._sleep(found[0])
        try:
            yield
        finally:
            self._answer(found[1])

    def wait(self) -> None:
        """Wait for a request answered at once (``sending`` around nothing)."""
        with self.sending():
            pass

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
