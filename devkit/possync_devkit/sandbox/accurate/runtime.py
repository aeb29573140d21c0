"""In-process state that is not documents: rate limiter, webhook deliveries, clock (the fault dice and the
counters are the shared harness's, ``..harness``)."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, deque
from typing import Any

from .config import RateLimits

log = logging.getLogger("possync_devkit.sandbox.accurate")


class RateLimiter:
    """Per token: a sliding 1-second window of accepted call starts, and a count of calls in flight.

    Refused calls do not count against either limit.
    """

    def __init__(self, limits: RateLimits) -> None:
        self._lock = threading.Lock()
        self.limits = limits
        self._starts: dict[str, deque[float]] = {}
        self._in_flight: Counter[str] = Counter()

    def configure(self, limits: RateLimits) -> None:
        with self._lock:
            self.limits = limits
            self._starts.clear()

    def acquire(self, token: str, now: float) -> str | None:
        """None when accepted (then call ``release``), else 'rate' or 'in_flight'."""
        with self._lock:
            limits = self.limits
            starts = self._starts.setdefault(token, deque())
            while starts and starts[0] <= now - 1.0:
                starts.popleft()
            if limits.in_flight is not None and self._in_flight[token] >= limits.in_flight:
                return "in_flight"
            if limits.per_second is not None and len(starts) >= limits.per_second:
                return "rate"
            starts.append(now)
            self._in_flight[token] += 1
            return None

    def in_flight(self, token: str) -> int:
        with self._lock:
            return self._in_flight[token]

    def release(self, token: str) -> None:
        with self._lock:
            self._in_flight[token] -= 1


class Clock:
    """The sandbox's notion of now for webhook expiry only (``POST /_sandbox/clock``); auth uses the real clock."""

    def __init__(self) -> None:
        self.offset_seconds = 0.0

    def now(self) -> float:
        return time.time() + self.offset_seconds


class WebhookSender:
    """Delivers envelopes in background threads; retries non-2xx/connection errors with the same uuid."""

    def __init__(self, retries: int, backoff: list[float], timeout: float) -> None:
        self.retries = retries
        self.backoff = backoff or [0.2]
        self.timeout = timeout
        self._lock = threading.Lock()
        self.deliveries: list[dict[str, Any]] = []
        self._threads: list[threading.Thread] = []
        # never through an HTTP(S)_PROXY from the environment: the consumer is usually on localhost
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def send(self, url: str, envelopes: list[dict[str, Any]]) -> None:
        thread = threading.Thread(target=self._deliver, args=(url, envelopes), name="accurate-webhook", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _deliver(self, url: str, envelopes: list[dict[str, Any]]) -> None:
        body = json.dumps(envelopes).encode()
        ids = [envelope["uuid"] for envelope in envelopes]
        for attempt in range(1, self.retries + 2):
            record: dict[str, Any] = {
                "uuid": ids[0] if len(ids) == 1 else ids,
                "url": url,
                "attempt": attempt,
                "time": time.time(),
                "types": sorted({envelope["type"] for envelope in envelopes}),
                "status": None,
                "error": None,
            }
            ok = False
            try:
                request = urllib.request.Request(
                    url, data=body, method="POST", headers={"Content-Type": "application/json"}
                )
                with self._opener.open(request, timeout=self.timeout) as response:
                    record["status"] = response.status
                    ok = 200 <= response.status < 300
            except urllib.error.HTTPError as exc:
                record["status"] = exc.code
            except Exception as exc:  # connection refused, timeout, ...
                record["error"] = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.deliveries.append(record)
            if ok:
                return
            if attempt <= self.retries:
                time.sleep(self.backoff[min(attempt - 1, len(self.backoff) - 1)])
        log.warning("webhook to %s failed after %d attempts", url, self.retries + 1)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.deliveries)

    def reset(self) -> None:
        with self._lock:
            self.deliveries.clear()


def envelope(database_id: int, kind: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "databaseId": database_id,
        "type": kind,
        "timestamp": int(time.time() * 1000),
        "uuid": str(uuid.uuid4()),
        "data": entries,
    }
