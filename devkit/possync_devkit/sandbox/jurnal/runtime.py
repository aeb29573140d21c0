"""In-process state that is not documents: rate-limit counters, fault dice, request statistics.

The ASGI middleware touches these from the event loop and the admin routes from the thread pool, so each
object guards itself with a lock.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .config import FaultConfig, RateLimits


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

    def reset(self) -> None:
        with self._lock:
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


class FaultState:
    def __init__(self, faults: FaultConfig) -> None:
        self._lock = threading.Lock()
        self._apply(faults)

    def _apply(self, faults: FaultConfig) -> None:
        self._faults = faults
        self._rng = random.Random(faults.seed)
        self._drops_left = faults.drop_after_commit_next

    def configure(self, faults: FaultConfig) -> None:
        with self._lock:
            self._apply(faults)

    @property
    def config(self) -> FaultConfig:
        return self._faults

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {**self._faults.model_dump(), "drops_left": self._drops_left}

    @property
    def latency_seconds(self) -> float:
        return self._faults.latency_ms / 1000

    def error_status(self) -> int | None:
        """A status to fail this request with, or None to let it through."""
        with self._lock:
            faults = self._faults
            if faults.error_rate <= 0 or self._rng.random() >= faults.error_rate:
                return None
            statuses = faults.error_status if isinstance(faults.error_status, list) else [faults.error_status]
            return self._rng.choice(statuses)

    def should_drop(self) -> bool:
        with self._lock:
            if self._drops_left > 0:
                self._drops_left -= 1
                return True
            rate = self._faults.drop_after_commit_rate
            return rate > 0 and self._rng.random() < rate


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    unauthorized: int = 0
    faults_injected: int = 0
    drops: int = 0

    def record(self, endpoint: str, status: int) -> None:
        with self.lock:
            self.requests += 1
            self.by_status[status] += 1
            self.by_endpoint[endpoint] += 1
            if status == 429:
                self.rate_limited += 1
            elif status == 401:
                self.unauthorized += 1

    def bump(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)

    def reset(self) -> None:
        with self.lock:
            self.requests = self.rate_limited = self.unauthorized = self.faults_injected = self.drops = 0
            self.by_status.clear()
            self.by_endpoint.clear()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "rate_limited": self.rate_limited,
                "unauthorized": self.unauthorized,
                "faults_injected": self.faults_injected,
                "drops": self.drops,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
            }
