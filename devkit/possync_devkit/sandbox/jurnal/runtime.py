"""Jurnal's rate limiter (in-process state that is not documents; the fault dice and the counters are the
shared harness's, ``..harness``).

The ASGI middleware touches it from the event loop and the admin routes from the thread pool, so it guards
itself with a lock.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from .config import RateLimits


@dataclass
class RateDecision:
    allowed: bool
    headers: dict[str, str]
    retry_after: int = 0


@dataclass
class _Window:
    index: int = -1
    count: int = 0


class RateLimiter:
    """Fixed windows that reset on the minute and on the hour (help-center.jurnal.id, 'Batasan Tarif API').

    A rejected request does not count: the gateway refuses it before it reaches the service.
    """

    def __init__(self, limits: RateLimits) -> None:
        self._lock = threading.Lock()
        self._limits = limits
        self._windows: dict[tuple[str, str, int], _Window] = {}

    @property
    def limits(self) -> RateLimits:
        return self._limits

    def configure(self, limits: RateLimits) -> None:
        with self._lock:
            self._limits = limits
            self._windows.clear()

    def _state(self, scope: str, key: str, length: int, now: float) -> _Window:
        window = self._windows.setdefault((scope, key, length), _Window())
        index = int(now // length)
        if window.index != index:
            window.index, window.count = index, 0
        return window

    def check(self, consumer: str, ip: str, now: float) -> RateDecision:
        limits = self._limits
        checks = [
            ("consumer", consumer, 60, limits.per_minute),
            ("consumer", consumer, 3600, limits.per_hour),
            ("ip", ip, 60, limits.per_ip_minute),
            ("ip", ip, 3600, limits.per_ip_hour),
        ]
        with self._lock:
            states = [(self._state(scope, key, length, now), length, limit) for scope, key, length, limit in checks]
            blocked = [
                math.ceil((window.index + 1) * length - now)
                for window, length, limit in states
                if limit is not None and window.count >= limit
            ]
            if not blocked:
                for window, _, limit in states:
                    if limit is not None:
                        window.count += 1
            minute, hour = states[0][0], states[1][0]
            headers: dict[str, str] = {}
            # The documented headers describe the consumer's limits (the per-IP ones are not exposed).
            if limits.per_minute is not None:
                headers["x-ratelimit-limit-minute"] = str(limits.per_minute)
                headers["x-ratelimit-remaining-minute"] = str(max(limits.per_minute - minute.count, 0))
            if limits.per_hour is not None:
                headers["x-ratelimit-limit-hour"] = str(limits.per_hour)
                headers["x-ratelimit-remaining-hour"] = str(max(limits.per_hour - hour.count, 0))
        if blocked:
            retry_after = max(max(blocked), 1)
            return RateDecision(False, {**headers, "Retry-After": str(retry_after)}, retry_after)
        return RateDecision(True, headers)
