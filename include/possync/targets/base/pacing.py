"""Client-side pacing: never send more than a target allows, so it never has to say 429.

A ``Pacer`` holds sliding windows (e.g. 30 per minute and 1,800 per hour for a Jurnal API consumer, 8 per
second for Accurate) and makes a caller wait until one more request fits in all of them. At most N
requests in *any* sliding window of a period means at most N in every fixed window the server counts, so
pacing holds whatever the server's clock. A small margin on the period absorbs network jitter between
send and arrival. ``pause_until`` honours a server's Retry-After.

Pacing is per process; across processes the target's Airflow pool caps how many tasks call it at once,
and each task's share of the limit is divided accordingly (see the hooks).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    requests: int
    period_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.period_seconds <= 0:
            raise ValueError(f"a rate limit needs at least one request per positive period, got {self}")


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
        """Slack on a window for jitter between send and arrival: a quarter second on Jurnal's minute, 5% of
        Accurate's second (a fixed 0.25 s there would give away a fifth of the allowance)."""
        return self.margin if self.margin is not None else min(0.25, 0.05 * limit.period_seconds)

    def _delay(self, now: float) -> float:
        delay = max(0.0, self._paused_until - now)
        for limit in self.limits:
            period = limit.period_seconds + self.margin_for(limit)
            in_window = [t for t in self._sent if t > now - period]
            if len(in_window) >= limit.requests:
                # the oldest request that must leave the window before one more fits
                delay = max(delay, in_window[-limit.requests] + period - now)
        return delay

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
