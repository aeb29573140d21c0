"""A lost reply never doubles a document (issue 15, problems 8 and 10), on both targets.

Each target sandbox commits a create and then drops the connection (``drop_after_commit``), run after run;
in the end the target holds exactly one document per POS record, read back through its API, and the ledger
points at those documents. Customers the target numbers itself (the walk-in customer, customers without a
till ID) are the hard case: they have no number of ours to find them by."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from possync.pos.extract import Window, extract_products, extract_sales
from possync.targets.base.bookkeeping import helper_items
from possync.transform.sales import transform_products, transform_sales
from support.worlds import Sync, accurate_world, jurnal_world

WORLDS = {"jurnal": jurnal_world, "accurate": accurate_world}
WEEK = Window(datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 14, tzinfo=UTC))


# Jurnal's display-name uniqueness is reported by a partner only (accounting_apis.md §1.3): without it, a
# customer Jurnal numbers itself must still be found again by something of ours.
SETTINGS = {"jurnal": {}, "jurnal-names-not-unique": {"unique_customer_display_name": False}, "accurate": {}}


@pytest.fixture(params=list(SETTINGS))
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("possync.targets.base.hook.time.sleep", lambda seconds: None)
    yield from WORLDS[request.param.split("-")[0]](tmp_path, monkeypatch, **SETTINGS[request.param])


def faults(world: dict[str, Any], **settings: Any) -> None:
    world["admin"].faults(settings)


def test_lost_customer_replies_leave_one_customer_per_pos_customer(world) -> None:
    sync = Sync(world)
    customers = sync.customers()
    numbered_by_target = [c for c in customers if not c.customer_code]
    assert len(customers) > 20 and len(numbered_by_target) > 1, "the demo's customers and the walk-in customer"
    for drops in (1, 2, 1):  # every run loses replies: the first create of a run, then its retry too
        faults(world, drop_after_commit_next=drops)
        sync.load("customer", customers)
    faults(world)
    sync.load("customer", customers)

    in_target = sync.target_customers()
    assert len(in_target) == len(customers), f"{len(in_target)} customers in {world['target']} for {len(customers)}"
    synced = sync.synced_ids("customer", [c.key for c in customers])
    assert len(synced) == len(customers), "every customer synced"
    assert sorted(synced.values()) == sorted(str(r["id"]) for r in in_target), "one target customer each"


def test_lost_invoice_replies_leave_one_invoice_per_order(world) -> None:
    sync = Sync(world)
    sync.target.prepare(sync.hook, sync.integration, sync.loader.log)
    sync.load("customer", sync.customers())
    items, _ = transform_products(extract_products(world["pos"]))
    sync.load("item", [*helper_items(sync.integration.bookkeeping), *items])
    invoices = transform_sales(extract_sales(world["pos"], WEEK)).invoices[:40]
    for drops in (1, 2, 1):
        faults(world, drop_after_commit_next=drops)
        sync.load("invoice", invoices)
    faults(world)
    sync.load("invoice", invoices)

    in_target = sync.target_invoices()
    numbers = Counter(r["number"] for r in in_target)
    assert [n for n, count in numbers.items() if count > 1] == [], "no invoice twice"
    synced = sync.synced_ids("invoice", [i.key for i in invoices])
    assert len(synced) == len(invoices) == len(in_target)
    assert sorted(synced.values()) == sorted(str(r["id"]) for r in in_target)
