"""What every target hook does the same way, against each target's live sandbox: only transient failures are
retried (with exponential backoff) before being reported as transient, a refusal is permanent, never retried
and carries the target's own words, and a 429 pauses the hook for what Retry-After says.

Vendor-specific behaviour (Jurnal's swagger, Accurate's host discovery and pool pacing, ...) is tested in
test_jurnal_hook.py and test_accurate_hook.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from possync.targets.base.errors import RejectedError, TransientTargetError
from support.live_targets import LIVE_TARGETS, LiveTarget


def _jurnal_refusal(hook: Any) -> Callable[[], Any]:
    hook.create("warehouses", {"name": "Kemang", "custom_id": "WH-K"})
    return lambda: hook.create("warehouses", {"name": "Dago", "custom_id": "WH-K"})  # the custom_id is taken


def _accurate_refusal(hook: Any) -> Callable[[], Any]:
    return lambda: hook.save("sales-invoice", {"customerNo": "NOBODY", "transDate": "09/11/2026",
                                               "detailItem": [{"itemNo": "X", "quantity": 1, "unitPrice": 1000}]})


def _three_warehouse_reads(hook: Any) -> None:
    for _ in range(3):  # the third is refused (2 a minute): the pacer holds everything until Retry-After
        hook.api("GET", "/warehouses")


@dataclass(frozen=True)
class Motions:
    """How each test's motions are made on one target."""

    # a call 5xx faults make fail (Jurnal: a write, Accurate: a read)
    failing_call: Callable[[Any], Any]
    # prepares what the target will refuse, returns the refused call
    refusal: Callable[[Any], Callable[[], Any]]
    refusal_words: str
    refusal_status: int | None  # Accurate refuses with s:false in a 200, Jurnal with an HTTP status
    # server limits low enough to refuse, a hook paced above them, and calls that run into them
    throttle_limits: dict[str, int]
    too_fast: dict[str, int]
    throttled_calls: Callable[[Any], Any]
    # Jurnal's Retry-After runs to the end of its minute, so one 429 pauses the hook once; Accurate's
    # per-second window may refuse more than one call
    throttled_once: bool
    # discovery first (Accurate's data host), so the counts below are the calls under test alone
    warm_up: Callable[[Any], Any] = field(default=lambda hook: None)


MOTIONS = {
    "jurnal": Motions(
        failing_call=lambda hook: hook.create("warehouses", {"name": "Kemang"}),
        refusal=_jurnal_refusal, refusal_words="already been used", refusal_status=422,
        throttle_limits={"per_minute": 2, "per_hour": 1000, "per_ip_minute": 1000, "per_ip_hour": 10000},
        too_fast={"per_minute": 100}, throttled_calls=_three_warehouse_reads, throttled_once=True,
    ),
    "accurate": Motions(
        failing_call=lambda hook: next(hook.iterate("customer", fields=["id"])),
        refusal=_accurate_refusal, refusal_words="NOBODY", refusal_status=None,  # names what is wrong
        throttle_limits={"per_second": 1, "in_flight": 8},
        too_fast={"per_second": 100}, throttled_calls=lambda hook: list(hook.iterate("glaccount", fields=["id", "no"])),
        throttled_once=False, warm_up=lambda hook: hook.database,
    ),
}


@pytest.fixture(params=sorted(LIVE_TARGETS))
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveTarget]:
    target = LIVE_TARGETS[request.param](tmp_path)
    yield target
    target.stop()


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The hook's backoff sleeps, recorded instead of slept (the pacer's own waits still happen)."""
    waits: list[float] = []
    monkeypatch.setattr("possync.targets.base.hook.time.sleep", waits.append)
    return waits


def test_server_errors_are_retried_then_reported_as_transient(monkeypatch, live: LiveTarget, no_waiting) -> None:
    motions = MOTIONS[live.name]
    hook = live.connect(monkeypatch)
    motions.warm_up(hook)
    live.admin.faults({"error_rate": 1.0, "error_status": 503})
    before = live.admin.stats()["requests"]
    with pytest.raises(TransientTargetError, match="after 3 attempts"):
        motions.failing_call(hook)
    assert live.admin.stats()["requests"] - before == 3
    assert hook.retried == 2
    assert no_waiting == [1.0, 2.0], "exponential backoff between attempts"


def test_a_refusal_is_permanent_not_retried_and_carries_the_targets_words(monkeypatch, live: LiveTarget,
                                                                           no_waiting) -> None:
    motions = MOTIONS[live.name]
    hook = live.connect(monkeypatch)
    motions.warm_up(hook)
    refused_call = motions.refusal(hook)
    before = live.admin.stats()["requests"]
    with pytest.raises(RejectedError) as refused:
        refused_call()
    assert live.admin.stats()["requests"] - before == 1
    assert motions.refusal_words in refused.value.message, "the target's own words name what is wrong"
    if motions.refusal_status is not None:
        assert refused.value.status == motions.refusal_status
    assert hook.retried == 0 and no_waiting == []


def test_rate_limited_requests_wait_for_retry_after(monkeypatch, live: LiveTarget, no_waiting) -> None:
    """Takes up to a minute on Jurnal: its Retry-After runs to the end of its minute window."""
    motions = MOTIONS[live.name]
    live.admin.limits(motions.throttle_limits)
    hook = live.connect(monkeypatch, **motions.too_fast)  # deliberately above the server's limit
    motions.warm_up(hook)
    motions.throttled_calls(hook)
    assert hook.throttled >= 1 and live.admin.stats()["rate_limited"] == hook.throttled
    assert no_waiting and hook.pacer.waited_seconds > 0.9, "Retry-After paused the pacer"
    if motions.throttled_once:
        assert hook.throttled == 1
        assert hook.pacer.waited_seconds == pytest.approx(no_waiting[0], abs=1.0), "waited what Retry-After said"
