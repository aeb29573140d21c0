"""Issue 20, item 1: one sales task over a group of outlets fills the target's batches across them.

Each target's live sandbox gets two demo days of three outlets (about 60 invoices each, under one batch of 100)
through ``sync_sales`` over the group, as a ``sync_sales`` task of the DAG runs it. The sandbox's own request
counts say how many create calls carried the invoices: the fewest batches of 100 that hold them all, not one or
more per outlet as one task per outlet sent. Every document still lands, payments after their invoices, each
ledger record keeps its outlet, and the closing per-outlet counts add up to the task's. The DAG plans one task
for the three demo outlets (``sales.outlets_per_task``, 25 by default) and more when the setting is smaller.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from possync.pipeline import outlet_groups, outlets_label, sync_customers, sync_products, sync_sales
from possync.pos.extract import Window
from support.worlds import accurate_world, jurnal_world, sync_job

SHOPS = {"BDG01", "JKT01", "SBY01"}
WORLDS = {"jurnal": jurnal_world, "accurate": accurate_world}
#: the create call of each record type, as the sandbox counts it (``/_sandbox/stats`` ``by_endpoint``)
CREATE_CALLS = {
    "jurnal": {"invoice": "POST /sales_invoices/batch_create"},
    "accurate": {"invoice": "sales-invoice/bulk-save"},
}
# 2026-11-10 and 11-11 in Jakarta: 32 orders a day at each of the three demo outlets
TWO_DAYS = Window(datetime(2026, 11, 10, tzinfo=UTC) - timedelta(hours=7),
                  datetime(2026, 11, 12, tzinfo=UTC) - timedelta(hours=7))


@pytest.fixture(params=["jurnal", "accurate"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from WORLDS[request.param](tmp_path, monkeypatch)


def synced_records(world: dict[str, Any]) -> list[Any]:
    """The integration's synced sales records in the ledger (record type, outlet)."""
    from sqlalchemy import select

    from possync.ledger.schema import sync_records

    c = sync_records.c
    with world["ledger"].engine.connect() as conn:
        return list(conn.execute(select(c.record_type, c.outlet_code).where(
            c.integration == world["integration"], c.flow == "sales", c.status == "synced")))


def test_one_task_fills_invoice_batches_across_its_outlets(world: dict[str, Any]) -> None:
    job = sync_job(world)
    assert job.integration.batch_size == 100
    sync_customers(job)
    sync_products(job)
    outlets = sorted(job.integration.outlets)  # the three shops and a warehouse that sells nothing
    world["admin"].reset_stats()

    summary = sync_sales(job, outlet_codes=outlets, window=TWO_DAYS)

    synced = synced_records(world)
    invoices = Counter(r.outlet_code for r in synced if r.record_type == "invoice")
    assert set(invoices) == SHOPS, "each invoice's ledger record names its own outlet"
    assert all(0 < count < 100 for count in invoices.values()), invoices
    total = sum(invoices.values())
    assert total > 100, "more than one batch in all, less than one per outlet"

    calls = world["admin"].stats()["by_endpoint"].get(CREATE_CALLS[world["target"]]["invoice"], 0)
    per_outlet_calls = sum(math.ceil(count / 100) for count in invoices.values())
    assert calls == math.ceil(total / 100) == 2, (calls, invoices)
    assert per_outlet_calls == 3, "one task per outlet sent a batch per outlet"

    payments = Counter(r.outlet_code for r in synced if r.record_type == "payment")
    assert set(payments) == SHOPS, "payments of every outlet follow their invoices in the same task"
    assert summary.synced == len(synced)
    assert sum(sum(c.values()) for c in summary.outlets.values()) == summary.read, "the per-outlet counts add up"
    assert {code: summary.outlets[code].get("synced", 0) for code in outlets} == {
        code: sum(1 for r in synced if r.outlet_code == code) for code in outlets}

    again = sync_sales(job, outlet_codes=outlets, window=TWO_DAYS)
    assert again.synced == 0 and again.skipped >= len(synced), "a second run posts nothing twice"


def test_outlets_are_grouped_in_code_order_up_to_the_setting() -> None:
    assert outlet_groups(["SBY01", "JKT01", "BDG01"], 25) == [["BDG01", "JKT01", "SBY01"]]
    assert outlet_groups(["SBY01", "JKT01", "BDG01"], 2) == [["BDG01", "JKT01"], ["SBY01"]]
    assert outlet_groups([f"X{n:03}" for n in range(200)], 25)[-1][-1] == "X199"
    assert len(outlet_groups([f"X{n:03}" for n in range(200)], 25)) == 8
    assert outlets_label(["JKT01"]) == "JKT01"
    assert outlets_label(["BDG01", "JKT01", "SBY01"]) == "BDG01…SBY01 (3 outlets)"
    with pytest.raises(ValueError):
        outlet_groups(["JKT01"], 0)


def test_the_setting_is_at_least_one() -> None:
    from pydantic import ValidationError

    from possync.config import SalesSync

    assert SalesSync(mode="realtime").outlets_per_task == 25
    assert SalesSync(mode="realtime", outlets_per_task=1).outlets_per_task == 1
    with pytest.raises(ValidationError):
        SalesSync(mode="realtime", outlets_per_task=0)


@pytest.mark.parametrize("per_task, planned", [
    (25, [["BDG01", "JKT01", "SBY01", "WH01"]]),
    (3, [["BDG01", "JKT01", "SBY01"], ["WH01"]]),
    (1, [["BDG01"], ["JKT01"], ["SBY01"], ["WH01"]]),
])
def test_the_sales_dag_plans_one_task_per_group_named_by_its_outlets(per_task: int,
                                                                     planned: list[list[str]]) -> None:
    from possync.config import load_config
    from possync.dagfactory import build_sales_dag

    integration = next(i for i in load_config().integrations if i.name == "jurnal_demo")
    integration = integration.model_copy(update={
        "sales": integration.sales.model_copy(update={"outlets_per_task": per_task})})
    dag = build_sales_dag(integration)
    assert dag.get_task("sync_sales").map_index_template == "{{ task.outlets_label }}"
    params = {"dry_run": True, "outlets": [], "window_start": "2026-11-10T00:00", "window_end": "2026-11-11T00:00"}
    plan = dag.get_task("plan_sales_windows").python_callable(params=params)  # type: ignore[attr-defined]
    assert [entry["outlet_codes"] for entry in plan] == planned
    assert {entry["window_start"] for entry in plan} == {"2026-11-10T00:00:00+07:00"}
    assert not any(entry["catch_up"] for entry in plan), "a window override syncs exactly its range"


def test_a_record_line_names_the_outlet_its_key_does_not(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from possync.i18n import outlet_counts_line
    from possync.recordlog import log_record

    logger = logging.getLogger("possync.test.batches")
    with caplog.at_level(logging.INFO, logger="possync.test.batches"):
        log_record(logger, "SYNCED", "invoice", "INV-JKT01-20261109-0001", "→ Jurnal #1", outlet="JKT01")
        log_record(logger, "SYNCED", "invoice", "S-000123", "→ Jurnal #2", outlet="BDG01")
    named, bare = caplog.messages
    assert named.endswith("→ Jurnal #1"), "the key already names JKT01"
    assert bare.endswith("→ Jurnal #2 · outlet BDG01")
    line = outlet_counts_line({"BDG01": {"synced": 60, "failed": 1}, "WH01": {}}, "en")
    assert line == "per outlet (read = synced + skipped + failed): BDG01 61 = 60 + 0 + 1; WH01 0 = 0 + 0 + 0"


def test_batches_in_flight_land_every_document_once(world: dict[str, Any]) -> None:
    """Small batches (10) sent three at a time to the live sandbox: every invoice and every payment lands exactly
    once (the sandbox holds as many as the ledger has synced, and a second run posts nothing), each payment found
    its invoice, and nothing was refused for the rate (one pacer for the threads)."""
    job = sync_job(world, batch_size=10, batches_in_flight=3)
    sync_customers(job)
    sync_products(job)
    outlets = sorted(job.integration.outlets)
    world["admin"].reset_stats()

    summary = sync_sales(job, outlet_codes=outlets, window=TWO_DAYS)

    synced = Counter(r.record_type for r in synced_records(world))
    assert synced["invoice"] > 100 and synced["payment"] >= synced["invoice"], synced
    waiting = [f for f in summary.failed_records if f.record_type == "payment" and "not been synced" in f.reason]
    assert not waiting, "every payment found its invoice created"
    assert summary.synced == sum(synced.values())
    stats = world["admin"].stats()
    calls = stats["by_endpoint"].get(CREATE_CALLS[world["target"]]["invoice"], 0)
    assert calls == math.ceil(synced["invoice"] / 10), "each batch sent once"
    assert stats["by_status"].get("429", 0) == 0
    again = sync_sales(job, outlet_codes=outlets, window=TWO_DAYS)
    assert again.synced == 0 and again.skipped >= sum(synced.values())
