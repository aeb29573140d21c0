"""Issue 15, problems 5 and 6: a sale voided or edited in the POS after it was synced reaches the target.

Each target's live sandbox gets one day of one outlet through the pipeline (as the sync tasks run it); then,
in the POS, one order is voided at the till, one payment changes method (cash ↔ QRIS, same amount) and one
order gets a line more (a new total, and its payment with it). The next sync deletes what the target holds of
them and posts them again as they now are: read back through the target's API, the voided order has no
invoice and no payment, the payment has its new method, the edited invoice its new total; the ledger keeps
every version; a third run changes nothing. With ``changes_after_sync: report`` nothing is written to the
target and each changed record fails with what changed. A document found under our key after a lost reply,
but holding another payment method, is not taken as ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from possync.pipeline import SyncJob, sync_customers, sync_products, sync_sales
from possync.pos.extract import Window
from possync_devkit.till_changes import add_unit, plain_orders, switch_payment_method, void_order
from support.books import Books
from support.demo_week import broken_keys
from support.worlds import accurate_world, jurnal_world, sync_job

WORLDS = {"jurnal": jurnal_world, "accurate": accurate_world}
OUTLET = "JKT01"
DAY = Window(datetime(2026, 11, 10, tzinfo=UTC) - timedelta(hours=7), datetime(2026, 11, 11, tzinfo=UTC)
             - timedelta(hours=7))


@pytest.fixture(params=["jurnal", "accurate"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from WORLDS[request.param](tmp_path, monkeypatch)


@pytest.fixture(params=["jurnal", "accurate"])
def keeping_world(request: pytest.FixtureRequest, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A target that keeps the numbers of deleted documents taken (the docs are silent on it)."""
    yield from WORLDS[request.param](tmp_path, monkeypatch, deleted_numbers="kept")


def job(world: dict[str, Any], mode: str = "apply") -> SyncJob:
    return sync_job(world, changes_after_sync=mode)


def sync_day(world: dict[str, Any], mode: str = "apply") -> Any:
    return sync_sales(job(world, mode), outlet_codes=[OUTLET], window=DAY)


def target_payments(world: dict[str, Any]) -> dict[str, tuple[Decimal, str]]:
    """Payment number → (amount, method as the target names it); a number held twice fails the test."""
    hook = job(world).hook
    found: dict[str, tuple[Decimal, str]] = {}
    if world["target"] == "jurnal":
        rows = [(r["custom_id"], r["original_amount"] if "original_amount" in r else r["total"],
                 r["payment_method"]["name"]) for r in hook.iterate("receive_payments")]
    else:
        rows = [(r["number"], r["chequeAmount"], r["paymentMethod"])
                for r in hook.iterate("sales-receipt", fields=["id", "number", "chequeAmount", "paymentMethod"])]
    for number, amount, method in rows:
        assert number not in found, f"payment {number} twice in the target"
        found[number] = (Decimal(str(amount)).quantize(Decimal("0.01")), str(method).casefold())
    return found


def change_the_pos(world: dict[str, Any]) -> tuple[str, str, str, Decimal]:
    """Void one order, switch one payment's method, add a unit to one order's first line; returns the three
    order numbers and the edited order's new total."""
    orders = plain_orders(world["pos"], OUTLET, DAY.start, DAY.end, exclude=set(broken_keys()))
    assert len(orders) >= 3, "the demo day has plain orders to change"
    voided, switched, edited = (order.number for order in orders[:3])
    void_order(world["pos"], voided, "customer changed their mind")
    switch_payment_method(world["pos"], switched)
    return voided, switched, edited, add_unit(world["pos"], edited)


def setup_and_first_sync(world: dict[str, Any]) -> set[str]:
    """Customers, products and the day; the day's failures (refunds of orders of the day before, not synced)."""
    first = job(world)
    sync_customers(first)
    sync_products(first)
    summary = sync_day(world)
    assert summary.synced > 0 and summary.reversed == 0
    return set(summary.failures)


def test_voids_and_edits_after_sync_reach_the_target(world: dict[str, Any]) -> None:
    unrelated = setup_and_first_sync(world)
    books = Books.for_world(world)
    before = dict(books.invoices())
    voided, switched, edited, new_total = change_the_pos(world)
    paid_before = target_payments(world)
    assert voided in before and f"{voided}/P1" in paid_before

    summary = sync_day(world)

    invoices = books.invoices()
    numbers = [number for number, _ in invoices]
    assert len(numbers) == len(set(numbers)), "no invoice twice"
    totals = dict(invoices)
    assert voided not in totals, "the voided order's invoice is gone"
    assert totals[edited] == new_total, "the edited order's invoice has its new total"
    untouched = set(before) - {voided, edited}
    assert {n: t for n, t in totals.items() if n != edited} == {n: before[n] for n in untouched}
    paid = target_payments(world)
    assert f"{voided}/P1" not in paid, "the voided order's payment is gone"
    assert paid[f"{switched}/P1"][0] == paid_before[f"{switched}/P1"][0]
    assert paid[f"{switched}/P1"][1] != paid_before[f"{switched}/P1"][1], "the payment has its new method"
    assert paid[f"{edited}/P1"][0] == new_total
    # voided: invoice + payment; switched: its payment; edited: its payment, then its invoice
    assert summary.reversed == 5

    ledger, name = world["ledger"], world["integration"]
    void_record = ledger.get(name, "invoice", voided)
    assert void_record.status == "skipped" and "customer changed their mind" in void_record.reason
    assert void_record.target_id is None and void_record.target_hash is None
    assert [v.event for v in ledger.versions(name, "invoice", voided)] == ["posted", "reversed"]
    assert [v.event for v in ledger.versions(name, "invoice", edited)] == ["posted", "reversed", "posted"]
    assert [v.event for v in ledger.versions(name, "payment", f"{switched}/P1")] == ["posted", "reversed", "posted"]
    edited_record = ledger.get(name, "invoice", edited)
    assert edited_record.status == "synced" and edited_record.target_hash == edited_record.content_hash

    again = sync_day(world)
    assert (again.synced, again.reversed) == (0, 0), "the next run finds nothing to change"
    assert set(again.failures) == unrelated
    assert books.invoices() == invoices


def test_report_mode_fails_the_changes_and_leaves_the_target_alone(world: dict[str, Any]) -> None:
    unrelated = setup_and_first_sync(world)
    books = Books.for_world(world)
    before_invoices, before_payments = books.invoices(), target_payments(world)
    voided, switched, edited, _ = change_the_pos(world)
    world["admin"].reset_stats()

    for _ in range(2):  # reported again by every run, until someone acts
        summary = sync_day(world, mode="report")
        assert summary.reversed == 0 and summary.synced == 0
        failures = "\n".join(summary.failures)
        for key in (f"invoice {voided}", f"payment {switched}/P1", f"invoice {edited}"):
            assert key in failures
        assert "not applied, because changes_after_sync is 'report'" in failures
    writes = {k: n for k, n in world["admin"].stats()["by_endpoint"].items() if not k.startswith("GET")}
    assert not writes, f"report mode writes nothing to the target: {writes}"
    assert books.invoices() == before_invoices and target_payments(world) == before_payments
    ledger, name = world["ledger"], world["integration"]
    record = ledger.get(name, "invoice", voided)
    assert record.status == "failed" and "voided" in record.reason and record.target_id is not None

    applied = sync_day(world, mode="apply")  # switching to apply applies what was reported
    assert applied.reversed == 5 and set(applied.failures) == unrelated
    assert voided not in dict(books.invoices())


def test_a_document_found_after_a_lost_reply_with_another_method_is_not_taken_as_ours(
        world: dict[str, Any]) -> None:
    setup_and_first_sync(world)
    _, switched, _, _ = change_the_pos(world)
    ledger, name = world["ledger"], world["integration"]
    with ledger.engine.begin() as conn:  # as if the ledger never heard the reply of the payment's create
        from possync.ledger.schema import sync_records
        conn.execute(sync_records.delete().where(sync_records.c.business_key == f"{switched}/P1"))

    summary = sync_day(world)

    record = ledger.get(name, "payment", f"{switched}/P1")
    assert record.status == "failed" and "different document" in record.reason, record.reason
    assert any(f"payment {switched}/P1" in failure for failure in summary.failures)


def test_a_target_keeping_deleted_numbers_fails_the_repost_with_the_reason(keeping_world: dict[str, Any]) -> None:
    world = keeping_world
    setup_and_first_sync(world)
    books = Books.for_world(world)
    voided, switched, edited, _ = change_the_pos(world)

    summary = sync_day(world)

    totals = dict(books.invoices())
    assert voided not in totals, "a void needs no number again: it is reversed"
    assert edited not in totals, "the edit's old version is gone and its repost refused"
    ledger, name = world["ledger"], world["integration"]
    for record_type, key in (("invoice", edited), ("payment", f"{switched}/P1")):
        record = ledger.get(name, record_type, key)
        assert record.status == "failed" and "no " in record.reason and "holds the key" in record.reason, record
        assert record.target_id is None, "the ledger does not claim a document the target no longer has"
    assert f"{switched}/P1" not in target_payments(world)
    assert any(f"invoice {edited}" in failure for failure in summary.failures)
