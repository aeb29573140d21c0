"""Issue 20: a sales task loads its first outlets while it stages the next (``possync.ahead``), sending only whole
batches until the last wave (``possync.pipeline.full_batches``).

The live-sandbox tests hold the staging of the last outlet until the target has created a first invoice: staged
all first and loaded after, as before, that never happens and the test fails on its timeout. A staging failure
after some outlets still loads those, then raises; a load failure stops the staging behind it.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import possync.pipeline as pipeline
from possync.ahead import Ahead
from possync.pipeline import full_batches, sync_customers, sync_products, sync_sales
from possync.targets.base.loader import Prerequisite
from support.worlds import accurate_world, jurnal_world, sync_job
from test_sales_batches import CREATE_CALLS, TWO_DAYS, synced_records

WORLDS = {"jurnal": jurnal_world, "accurate": accurate_world}


@pytest.fixture(params=["jurnal", "accurate"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from WORLDS[request.param](tmp_path, monkeypatch)


# -- the pieces ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    record_type: str
    key: str
    invoice_key: str | None = None


class PaperSender:
    def __init__(self, record_type: str, batch_size: int) -> None:
        self.record_type, self.batch_size = record_type, batch_size

    def prerequisites(self, document: Doc) -> list[Prerequisite]:
        return [Prerequisite("invoice", document.invoice_key, "")] if document.invoice_key else []


SENDERS = {kind: PaperSender(kind, 3) for kind in ("invoice", "payment", "return")}


def test_a_wave_sends_whole_batches_and_holds_the_rest_with_what_depends_on_it() -> None:
    invoices = [Doc("invoice", f"I{n}") for n in range(7)]
    payments = [Doc("payment", f"I{n}/P", f"I{n}") for n in range(7)]
    returns = [Doc("return", "R0", "I0"), Doc("return", "R6", "I6")]

    sending, held = full_batches([*invoices, *payments, *returns], SENDERS)

    assert [d.key for d in sending] == ["I0", "I1", "I2", "I3", "I4", "I5", "I0/P", "I1/P", "I2/P", "I3/P", "I4/P",
                                        "I5/P"], "two whole batches of each; I6 waits, and its payment with it"
    assert [d.key for d in held] == ["I6", "I6/P", "R0", "R6"], "a lone return waits for the next wave too"
    assert sorted(d.key for d in [*sending, *held]) == sorted(d.key for d in [*invoices, *payments, *returns])


def test_ahead_hands_over_what_was_staged_and_raises_the_producer_s_failure_after_it() -> None:
    def produce(stopping: Any) -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("outlet 3 cannot be read")

    taken: list[int] = []
    with pytest.raises(RuntimeError, match="outlet 3"):
        for wave, _last in Ahead(produce).waves():
            taken.extend(wave)
    assert taken == [1, 2]


def test_ahead_stops_producing_when_its_consumer_stops() -> None:
    produced: list[int] = []
    go_on = threading.Event()

    def produce(stopping: Any) -> Iterator[int]:
        for n in range(1000):
            if stopping():
                return
            produced.append(n)
            yield n
            go_on.wait(5)

    with pytest.raises(ConnectionError):
        for _wave, _last in Ahead(produce).waves():
            go_on.set()
            raise ConnectionError("the target went away")
    assert len(produced) < 1000, "the producer stopped after the item in hand"


# -- against the sandboxes ---------------------------------------------------------------------------------------


def test_the_first_outlets_load_while_the_last_is_staged(world: dict[str, Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    job = sync_job(world, batch_size=10)
    sync_customers(job)
    sync_products(job)
    outlets = sorted(job.integration.outlets)
    world["admin"].reset_stats()
    stage_outlet = pipeline._stage_outlet
    created_before_last: list[bool] = []

    def first_invoice_created() -> bool:
        return any(r.record_type == "invoice" for r in synced_records(world))

    def staging(job: Any, code: str, *args: Any) -> Any:
        if code == "SBY01":  # the last shop waits (at most 20 s) until the target holds an invoice
            for _ in range(200):
                if first_invoice_created():
                    break
                threading.Event().wait(0.1)
            created_before_last.append(first_invoice_created())
        return stage_outlet(job, code, *args)

    monkeypatch.setattr(pipeline, "_stage_outlet", staging)
    summary = sync_sales(job, outlet_codes=outlets, window=TWO_DAYS)

    assert created_before_last == [True], "invoices were loaded while the last shop was still to be staged"
    synced = Counter(r.record_type for r in synced_records(world))
    calls = world["admin"].stats()["by_endpoint"].get(CREATE_CALLS[world["target"]]["invoice"], 0)
    assert calls == math.ceil(synced["invoice"] / 10), "whole batches until the last wave: the fewest calls"
    assert summary.synced == sum(synced.values()) and not [
        f for f in summary.failed_records if f.record_type == "payment" and "not been synced" in f.reason], (
        "every payment found its invoice")
    again = sync_sales(job, outlet_codes=outlets, window=TWO_DAYS)
    assert again.synced == 0 and again.skipped >= sum(synced.values()), "a second run posts nothing twice"


def test_a_staging_failure_still_loads_the_outlets_staged_before_it(world: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    job = sync_job(world)
    sync_customers(job)
    sync_products(job)
    outlets = sorted(job.integration.outlets)
    stage_outlet = pipeline._stage_outlet

    def staging(job: Any, code: str, *args: Any) -> Any:
        if code == "SBY01":
            raise OSError("the POS went away")
        return stage_outlet(job, code, *args)

    monkeypatch.setattr(pipeline, "_stage_outlet", staging)
    with pytest.raises(OSError, match="the POS went away"):
        sync_sales(job, outlet_codes=outlets, window=TWO_DAYS)
    loaded = {r.outlet_code for r in synced_records(world) if r.record_type == "payment"}
    assert loaded == {"BDG01", "JKT01"}, "what was staged before the failure is loaded, payments too"

    monkeypatch.setattr(pipeline, "_stage_outlet", stage_outlet)
    again = sync_sales(job, outlet_codes=outlets, window=TWO_DAYS)
    assert {r.outlet_code for r in synced_records(world)} == {"BDG01", "JKT01", "SBY01"} and again.synced > 0
