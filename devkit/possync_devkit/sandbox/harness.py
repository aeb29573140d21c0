"""What every sandbox shares and no vendor documents: fault injection, request counters and the admin routes.

A sandbox keeps its vendor's wire (auth, envelopes, rate-limit semantics, webhooks) and hands this module the
rest, so both sandboxes answer the same admin API under ``/_sandbox`` (no auth, no rate limit, never part of
a vendor's contract):

    GET  /_sandbox/health        {"ok": true, "db_path": ..., ...what the sandbox adds}
    GET  /_sandbox/faults        the fault setting, with "drops_left"
    POST /_sandbox/faults        replace it (a FaultConfig; fields left out mean "no fault")
    GET  /_sandbox/limits        the rate limits (each sandbox's own RateLimits shape)
    POST /_sandbox/limits        replace them and forget what was counted so far
    GET  /_sandbox/stats         the counters (Stats.snapshot)
    POST /_sandbox/stats/reset   zero the counters; answers the zeroed snapshot
    POST /_sandbox/reset         optional body of flags, all true by default: "data" (documents, back to the
                                 seed), "stats", "faults" (no fault), "limits" (the limits the sandbox started
                                 with, nothing counted), and the sandbox's own (Accurate: "webhooks", "clock");
                                 an unknown flag is refused with 422, so a stale client fails loudly.
                                 Answers {"reset": [the flags done, in that order]}.

It imports nothing from possync (nor from a vendor's sandbox): the sandboxes must not share a misreading with
the client they check.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

ADMIN_PREFIX = "/_sandbox"

log = logging.getLogger("possync_devkit.sandbox")


# ------------------------------------------------------------------------------------------- faults


class FaultConfig(BaseModel):
    """Faults for tests. Error faults answer before any work; drops happen after the write committed."""

    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of API calls answered with an error status")
    error_status: int | list[int] = Field(503, description="status (or statuses, picked at random) of error faults")
    latency_ms: int = Field(0, ge=0, description="added to every API call that passed auth and the rate limit")
    drop_after_commit_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of committed writes dropped")
    drop_after_commit_next: int = Field(0, ge=0, description="drop the next N committed writes, then stop")
    seed: int | None = Field(None, description="seed for the fault dice, for repeatable runs")

    @field_validator("error_status")
    @classmethod
    def _statuses_are_errors(cls, value: int | list[int]) -> int | list[int]:
        statuses = value if isinstance(value, list) else [value]
        if not statuses or any(not 400 <= status <= 599 for status in statuses):
            raise ValueError("error_status must be 4xx/5xx")
        return value


class UndocumentedReadings(BaseModel):
    """The readings both sandboxes play where both vendors' documents are silent, one switch each (the CLI's
    ``add_shared_arguments``); each sandbox's package docstring says what each reading does there."""

    number_match: Literal["exact", "trimmed", "casefold"] = Field(
        "trimmed",
        description="how document keys (numbers, custom ids, codes) are kept and matched: 'exact' keeps spaces and"
        " case; 'trimmed' strips spaces; 'casefold' also ignores case",
    )
    batch_failure: Literal["partial", "whole"] = Field(
        "partial",
        description="what a batch create does with an invalid item: 'partial' refuses that item and saves the"
        " others; 'whole' refuses the whole call and writes nothing",
    )
    deleted_numbers: Literal["free", "kept"] = Field(
        "free",
        description="what happens to the number (and custom id) of a deleted document: 'free' = a new document may"
        " take it; 'kept' = it stays taken ('already used') although nothing holds it",
    )
    tax_rounding: Literal["document", "line"] = Field(
        "document",
        description="how an invoice's tax is rounded, which neither vendor documents: 'document' = once per tax per"
        " document (the sum of its lines' bases, then rounded); 'line' = each taxed line rounded, then summed",
    )


class FaultState:
    """The fault dice. Request handlers (event loop) and admin routes both touch it, hence the lock."""

    def __init__(self, faults: FaultConfig) -> None:
        self._lock = threading.Lock()
        self.configure(faults)

    def configure(self, faults: FaultConfig) -> None:
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._drops_left = faults.drop_after_commit_next

    @property
    def config(self) -> FaultConfig:
        return self._faults

    @property
    def latency_seconds(self) -> float:
        return self._faults.latency_ms / 1000

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {**self._faults.model_dump(), "drops_left": self._drops_left}

    def error_status(self) -> int | None:
        """A status to fail this call with, or None to let it through."""
        with self._lock:
            faults = self._faults
            if faults.error_rate <= 0 or self._rng.random() >= faults.error_rate:
                return None
            statuses = faults.error_status if isinstance(faults.error_status, list) else [faults.error_status]
            return self._rng.choice(statuses)

    def should_drop(self) -> bool:
        """Whether to drop the connection after this committed write."""
        with self._lock:
            if self._drops_left > 0:
                self._drops_left -= 1
                return True
            rate = self._faults.drop_after_commit_rate
            return rate > 0 and self._rng.random() < rate


class DroppedAfterCommit(Exception):
    """Raised once a committed write's response has started, so the server closes the connection mid-reply."""


class _QuietDrops(logging.Filter):
    """uvicorn logs a traceback for every exception after a response started; a planned drop gets one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], DroppedAfterCommit):
            log.warning("%s", record.exc_info[1])
            return False
        return True


def install_quiet_drops() -> None:
    """Once per process: planned drops log one line instead of uvicorn's traceback."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, _QuietDrops) for existing in logger.filters):
        logger.addFilter(_QuietDrops())


# ------------------------------------------------------------------------------------------- stats

BASE_COUNTERS = ("requests", "unauthorized", "rate_limited", "faults_injected", "drops")


@dataclass
class Stats:
    """Counters of the vendor API's calls (admin routes are not counted).

    Every sandbox counts ``requests`` (every call, refused ones included), ``by_status``, ``by_endpoint`` (the
    route, not the concrete URL), ``unauthorized`` (401), ``rate_limited`` (429), ``faults_injected`` and
    ``drops``; ``extra`` names counters of a sandbox's own (Accurate: accepted calls, refusals by cause, the
    most calls ever in flight).
    """

    extra: Sequence[str] = ()
    lock: threading.Lock = field(default_factory=threading.Lock)
    counters: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)

    def record(self, endpoint: str, status: int) -> None:
        """One answered call: its route label and the status it got."""
        with self.lock:
            self.counters["requests"] += 1
            self.by_status[status] += 1
            self.by_endpoint[endpoint] += 1
            if status == 429:
                self.counters["rate_limited"] += 1
            elif status == 401:
                self.counters["unauthorized"] += 1

    def bump(self, name: str) -> None:
        self._known(name)
        with self.lock:
            self.counters[name] += 1

    def peak(self, name: str, value: int) -> None:
        """Keep the largest value seen (e.g. calls in flight)."""
        self._known(name)
        with self.lock:
            self.counters[name] = max(self.counters[name], value)

    def _known(self, name: str) -> None:
        if name not in BASE_COUNTERS and name not in self.extra:
            raise KeyError(f"no such sandbox counter: {name}")

    def reset(self) -> None:
        with self.lock:
            self.counters.clear()
            self.by_status.clear()
            self.by_endpoint.clear()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                **{name: self.counters[name] for name in (*BASE_COUNTERS, *self.extra)},
                "by_status": {str(status): n for status, n in sorted(self.by_status.items())},
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
            }


# ------------------------------------------------------------------------------------------- admin routes


class Limiter(Protocol):
    """A sandbox's rate limiter, whatever its semantics: its limits, and a way to replace them."""

    @property
    def limits(self) -> BaseModel: ...

    def configure(self, limits: Any) -> None:
        """Replace the limits and forget what was counted so far."""


@dataclass
class Admin:
    """What the shared admin routes need from a sandbox."""

    faults: FaultState
    stats: Stats
    limiter: Limiter
    limits_model: type[BaseModel]  # the sandbox's RateLimits
    initial_limits: BaseModel  # what POST /_sandbox/reset {"limits": true} restores
    reset_data: Callable[[], None]  # wipe the documents and re-seed (runs in the thread pool)
    health: Callable[[], dict[str, Any]] = dict  # added to {"ok": true}
    resets: dict[str, Callable[[], None]] = field(default_factory=dict)  # the sandbox's own reset flags


def add_admin_routes(app: FastAPI, admin: Admin) -> None:
    """The admin routes every sandbox serves (see the module docstring); a sandbox adds its own beside them."""
    flags = ("data", "stats", "faults", "limits", *admin.resets)

    @app.get(f"{ADMIN_PREFIX}/health", tags=["sandbox"])
    async def health() -> dict[str, Any]:
        return {"ok": True, **admin.health()}

    @app.get(f"{ADMIN_PREFIX}/faults", tags=["sandbox"])
    async def get_faults() -> dict[str, Any]:
        return admin.faults.snapshot()

    @app.post(f"{ADMIN_PREFIX}/faults", tags=["sandbox"])
    async def set_faults(faults: FaultConfig) -> dict[str, Any]:
        """Replaces the whole fault setting: fields left out go back to 'no fault'."""
        admin.faults.configure(faults)
        return admin.faults.snapshot()

    @app.get(f"{ADMIN_PREFIX}/limits", tags=["sandbox"])
    async def get_limits() -> dict[str, Any]:
        return admin.limiter.limits.model_dump()

    @app.post(f"{ADMIN_PREFIX}/limits", tags=["sandbox"])
    async def set_limits(request: Request) -> Any:
        """Replaces the limits (fields left out take the vendor's default) and forgets what was counted."""
        # Validated here rather than by a parameter annotation: the model is the sandbox's, known at run time.
        try:
            limits = admin.limits_model.model_validate(await _json_body(request))
        except (ValidationError, ValueError) as error:
            detail = error.errors(include_url=False) if isinstance(error, ValidationError) else str(error)
            return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)
        admin.limiter.configure(limits)
        return admin.limiter.limits.model_dump()

    @app.get(f"{ADMIN_PREFIX}/stats", tags=["sandbox"])
    async def stats() -> dict[str, Any]:
        return admin.stats.snapshot()

    @app.post(f"{ADMIN_PREFIX}/stats/reset", tags=["sandbox"])
    async def stats_reset() -> dict[str, Any]:
        admin.stats.reset()
        return admin.stats.snapshot()

    @app.post(f"{ADMIN_PREFIX}/reset", tags=["sandbox"])
    async def reset(request: Request) -> Any:
        """Optional body of boolean flags, each true by default; the answer lists what was reset."""
        try:
            wanted = await _json_body(request)
        except ValueError as error:
            return JSONResponse({"detail": str(error)}, status_code=422)
        unknown = sorted(set(wanted) - set(flags))
        if unknown:
            return JSONResponse({"detail": f"unknown reset flags {unknown}; known: {list(flags)}"}, status_code=422)
        done = []
        for flag in flags:
            if not wanted.get(flag, True):
                continue
            if flag == "data":
                await run_in_threadpool(admin.reset_data)
            elif flag == "stats":
                admin.stats.reset()
            elif flag == "faults":
                admin.faults.configure(FaultConfig())
            elif flag == "limits":
                admin.limiter.configure(admin.initial_limits)
            else:
                admin.resets[flag]()
            done.append(flag)
        return {"reset": done}


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty object."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


# -- command-line arguments both sandboxes take ---------------------------------------------------------------


def limit_arg(value: str) -> int | None:
    """A rate limit on the command line: a number, or ``off`` / ``none`` / ``0`` for no limit."""
    return None if value.lower() in ("off", "none", "0") else int(value)


def pair_arg(first: str, second: str) -> Callable[[str], tuple[str, str]]:
    """An argparse type for ``FIRST:SECOND`` credentials (client id and secret, token and signature secret)."""
    import argparse

    def parse(value: str) -> tuple[str, str]:
        left, sep, right = value.partition(":")
        if not sep or not left or not right:
            raise argparse.ArgumentTypeError(f"expected {first}:{second}")
        return left, right

    return parse


def add_shared_arguments(parser: Any) -> None:
    """The options both sandboxes take: fault injection (the fields of ``POST /_sandbox/faults``) and the
    reading of what the vendors leave undocumented (how numbers match, how a batch with a bad item fails)."""
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--error-status", type=int, action="append", help="repeatable; default 503")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--drop-after-commit-rate", type=float, default=0.0)
    parser.add_argument("--drop-after-commit-next", type=int, default=0)
    parser.add_argument("--seed", type=int, default=None, help="seed for the fault dice")
    parser.add_argument("--number-match", choices=("exact", "trimmed", "casefold"), default="trimmed",
                        help="how numbers are kept and matched (the docs are silent): as sent, trimmed, or"
                        " trimmed and case-insensitive")
    parser.add_argument("--batch-failure", choices=("partial", "whole"), default="partial",
                        help="a batch with a bad item (the docs are silent): the others are still created (partial)"
                        " or the whole call is refused and nothing is written (whole)")
    parser.add_argument("--deleted-numbers", choices=("free", "kept"), default="free",
                        help="the number (and custom id) of a deleted document (the docs are silent): free for a new"
                        " document again, or kept taken for good")
    parser.add_argument("--tax-rounding", choices=("document", "line"), default="document",
                        help="an invoice's tax (the docs are silent): rounded once per tax per document, or per line")


def faults_from_args(args: Any) -> FaultConfig:
    statuses = args.error_status or [503]
    return FaultConfig(
        error_rate=args.error_rate,
        error_status=statuses[0] if len(statuses) == 1 else statuses,
        latency_ms=args.latency_ms,
        drop_after_commit_rate=args.drop_after_commit_rate,
        drop_after_commit_next=args.drop_after_commit_next,
        seed=args.seed,
    )
