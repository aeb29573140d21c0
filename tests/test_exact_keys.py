"""Business keys are compared exactly (issue 15, problem 8), on both targets and under every way a target may
keep and match numbers (the docs are silent: the sandboxes' ``number_match`` is exact, trimmed or casefold).

A key that matches a target's document only once spaces are trimmed or case is ignored is a failure with that
reason, never a match: two POS records are never merged into one document, and no POS record is recorded as
synced to a document that is not its own."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from possync.documents import Customer
from possync.pos.extract import Window, extract_products, extract_sales
from possync.targets.base.bookkeeping import helper_items
from possync.transform.sales import transform_products, transform_sales
from support.worlds import Sync, accurate_world, jurnal_world

WORLDS = {"jurnal": jurnal_world, "accurate": accurate_world}
WEEK = Window(datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 14, tzinfo=UTC))
MODES = ("exact", "trimmed", "casefold")


@pytest.fixture(params=[(target, mode) for target in WORLDS for mode in MODES], ids=lambda p: f"{p[0]}-{p[1]}")
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("possync.targets.base.hook.time.sleep", lambda seconds: None)
    target, mode = request.param
    for world in WORLDS[target](tmp_path, monkeypatch, number_match=mode):
        yield {**world, "number_match": mode}


@pytest.fixture
def sync(world: dict[str, Any]) -> Sync:
    sync = Sync(world)
    sync.target.prepare(sync.hook, sync.integration, sync.loader.log)
    sync.load("customer", sync.customers())
    items, _ = transform_products(extract_products(world["pos"]))
    sync.load("item", [*helper_items(sync.integration.bookkeeping), *items])
    return sync


def invoice_numbers(sync: Sync) -> list[str]:
    return [r["number"] for r in sync.target_invoices()]


def test_an_order_number_that_differs_only_by_spaces_or_case_never_takes_anothers_invoice(sync, world) -> None:
    first = transform_sales(extract_sales(world["pos"], WEEK)).invoices[0]
    sync.load("invoice", [first])
    assert sync.records("invoice", [first.key])[first.key].status == "synced"
    # other POS orders, same total, whose numbers differ from the first's only by spaces or case
    spaced = dataclasses.replace(first, key=first.key + " ")
    leading = dataclasses.replace(first, key=" " + first.key)
    lower = dataclasses.replace(first, key=first.key.lower())
    assert lower.key != first.key
    sync.load("invoice", [spaced, leading, lower])

    records = sync.records("invoice", [first.key, spaced.key, leading.key, lower.key])
    for other in (spaced, leading):
        assert records[other.key].status == "failed"
        assert "leading or trailing spaces" in records[other.key].reason, records[other.key].reason
    mode = sync_mode(world)
    numbers = invoice_numbers(sync)
    if mode == "casefold":  # the target takes the two for one: the second fails, saying why
        assert records[lower.key].status == "failed"
        assert "only when case is ignored" in records[lower.key].reason, records[lower.key].reason
        assert numbers == [first.key]
    else:  # the target keeps them apart: two orders, two invoices
        assert records[lower.key].status == "synced", records[lower.key].reason
        assert sorted(numbers) == sorted([first.key, lower.key])
    synced_ids = [r.target_id for r in records.values() if r.status == "synced"]
    assert len(synced_ids) == len(set(synced_ids)), "no two POS orders recorded on one target document"


def test_a_till_customer_id_that_differs_only_by_spaces_or_case_is_never_merged(sync, world) -> None:
    base = next(c for c in sync.customers() if c.customer_code)
    spaced = Customer(key="CUST-901", name="Spaced Twin", customer_code=base.customer_code + " ")
    lower = Customer(key="CUST-902", name="Lower Twin", customer_code=base.customer_code.lower())
    assert lower.customer_code != base.customer_code
    sync.load("customer", [spaced, lower])

    records = sync.records("customer", [base.key, spaced.key, lower.key])
    assert records[spaced.key].status == "failed"
    assert "leading or trailing spaces" in records[spaced.key].reason, records[spaced.key].reason
    if sync_mode(world) == "casefold":
        assert records[lower.key].status == "failed"
        assert "only when case is ignored" in records[lower.key].reason, records[lower.key].reason
    else:
        assert records[lower.key].status == "synced", records[lower.key].reason
    synced_ids = [r.target_id for r in records.values() if r.status == "synced"]
    assert len(synced_ids) == len(set(synced_ids)), "no two POS customers recorded on one target customer"


def sync_mode(world: dict[str, Any]) -> str:
    return world["number_match"]
