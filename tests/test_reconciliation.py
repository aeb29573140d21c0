"""Issue 16: the daily reconciliation finds drift nobody planned, on both targets' live sandboxes.

One day of one outlet goes through the pipeline (as the sync tasks run it: its sales, and the day's transfers and
stock of every outlet). Reconciled, the day has no
unexplained difference: the only ones are the records the demo breaks on purpose and the refunds of orders of
the day before (not synced), each explained by its ledger failure. Then an accountant works in the target's
own API: deletes a payment, replaces another with one of another method and a third with a smaller amount, adds
an invoice by hand. The next
reconciliation finds each, unexplained, under its own kind; ``resync_missing`` resets the deleted payment and
the next sales run posts it again, after which only the hand-made drift is left. A voided order whose change
is not applied yet is an explained difference; results are kept in the ledger with their history, and the CLI
prints them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from possync.pipeline import SyncJob, sync_customers, sync_products, sync_sales, sync_stock, sync_transfers
from possync.pos.extract import Window, extract_sales
from possync.reconcile import (
    LEDGER_TYPES,
    DayResult,
    ReconciliationLog,
    failure_message,
    reconcile,
    resync_missing,
)
from possync.targets.base.bookkeeping import WALK_IN_KEY
from possync.targets.base.books import STOCK_TYPES
from possync.transform.sales import transform_sales
from possync_devkit.till_changes import plain_orders, void_order
from support.books import integration_of
from support.demo_week import broken_keys
from support.worlds import accurate_world, jurnal_world, sync_job

WORLDS = {"jurnal": jurnal_world, "accurate": accurate_world}
OUTLET = "JKT01"
THE_DAY = date(2026, 11, 10)
DAY = Window(datetime(2026, 11, 10, tzinfo=UTC) - timedelta(hours=7),  # THE_DAY in Asia/Jakarta
             datetime(2026, 11, 11, tzinfo=UTC) - timedelta(hours=7))


@pytest.fixture(params=["jurnal", "accurate"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from WORLDS[request.param](tmp_path, monkeypatch)


def reconcile_day(world: dict[str, Any]) -> DayResult:
    the_job = sync_job(world)
    books = the_job.target.reader(the_job.hook, the_job.integration)
    [result] = reconcile(the_job.integration, books, world["pos"], world["ledger"], THE_DAY, THE_DAY,
                         outlets=[OUTLET])
    assert (result.business_date, result.outlet_code) == (THE_DAY, OUTLET)
    return result


def sync_the_day(world: dict[str, Any]) -> None:
    """The day's sales of JKT01, and the day's transfers and stock of every outlet (an outlet's day holds them)."""
    first = sync_job(world)
    sync_customers(first)
    sync_products(first)
    sync_sales(first, outlet_codes=[OUTLET], window=DAY)
    sync_stock_moves(first, DAY)


def sync_stock_moves(the_job: SyncJob, window: Window) -> None:
    outlets = sorted(the_job.integration.outlets)
    sync_transfers(the_job, outlet_codes=outlets, window=window)
    for outlet in outlets:
        sync_stock(the_job, outlet_code=outlet, window=window)


def kinds(result: DayResult, *, explained: bool) -> set[tuple[str, str, str]]:
    chosen = result.explained if explained else result.unexplained
    return {(d.kind, d.record_type, d.key) for d in chosen}


def by_hand(world: dict[str, Any], record_type: str, body: dict[str, Any]) -> str:
    """Create a document through the target's API as an accountant would (not through possync's senders)."""
    the_job = sync_job(world)
    sender: Any = the_job.senders[record_type]
    if world["target"] == "jurnal":
        return str(the_job.hook.create(sender.resource, body)["id"])
    return str(the_job.hook.save(sender.module, body)["id"])


def invoice_by_hand(world: dict[str, Any], invoice: Any) -> dict[str, Any]:
    """The body an accountant would type for ``invoice`` (sold to the walk-in customer), in the target's words."""
    integration, ledger = integration_of(world), world["ledger"]
    walk_in = ledger.id_maps(integration.name, "customer").get(WALK_IN_KEY)
    invoice = dataclasses.replace(invoice, customer_key=None)
    if world["target"] == "jurnal":
        from possync.targets.jurnal import mapping as jurnal

        products = {sku: ids[0] for sku, ids in ledger.id_maps(integration.name, "product").items()}
        return jurnal.invoice_body(invoice, warehouse=integration.outlets[OUTLET].warehouse,
                                   customer_name=walk_in[1] if walk_in and walk_in[1] else
                                   integration.bookkeeping.walk_in_customer,
                                   product_ids=products, bookkeeping=integration.bookkeeping)
    from possync.targets.accurate import mapping as accurate

    return accurate.invoice_body(invoice, customer_no=walk_in[1], outlet=integration.outlets[OUTLET],
                                 bookkeeping=integration.bookkeeping)


def payment_by_hand(world: dict[str, Any], payment: Any) -> dict[str, Any]:
    integration = integration_of(world)
    if world["target"] == "jurnal":
        from possync.targets.jurnal import mapping as jurnal

        return jurnal.payment_body(payment, integration.bookkeeping)
    from possync.targets.accurate import mapping as accurate

    customer = world["ledger"].id_maps(integration.name, "invoice_customer")[payment.invoice_key][1]
    return accurate.receipt_body(payment, customer_no=customer, outlet=integration.outlets[OUTLET],
                                 bookkeeping=integration.bookkeeping)


def delete_by_hand(world: dict[str, Any], record_type: str, target_id: str) -> None:
    sender: Any = sync_job(world).senders[record_type]
    assert sender.delete_document(target_id), f"the target held {record_type} #{target_id}"


def day_documents(world: dict[str, Any], outlets: list[str] | None = None) -> Any:
    return transform_sales(extract_sales(world["pos"], DAY, outlets or [OUTLET]))


def test_a_synced_day_reconciles_with_only_explained_differences(world: dict[str, Any]) -> None:
    """JKT01 and BDG01 (whose day holds the demo's order broken on purpose, its payments not adding up)."""
    sync_the_day(world)
    the_job = sync_job(world)
    sync_sales(the_job, outlet_codes=["BDG01"], window=DAY)
    books = the_job.target.reader(the_job.hook, the_job.integration)
    results = reconcile(the_job.integration, books, world["pos"], world["ledger"], THE_DAY, THE_DAY,
                        outlets=[OUTLET, "BDG01"])
    assert [(r.business_date, r.outlet_code) for r in results] == [(THE_DAY, "BDG01"), (THE_DAY, OUTLET)]

    ledger, name = world["ledger"], world["integration"]
    broken = "INV-BDG01-20261110-0012"
    assert broken_keys()[broken] == "payment_mismatch"
    bandung = results[0]
    assert ("missing", "invoice", broken) in kinds(bandung, explained=True), "the broken order: explained"
    day = day_documents(world, ["BDG01", OUTLET])
    for result in results:
        assert result.unexplained == [], "\n".join(d.line() for d in result.unexplained)
        assert result.pos.invoices > 0 and result.ledger["synced"] > 0
        for difference in result.explained:  # each explained by a failure the ledger holds, with its reason
            record = ledger.get(name, LEDGER_TYPES.get(difference.record_type, difference.record_type),
                                difference.key)
            assert record is not None and record.status == "failed" and record.reason, difference.line()
            assert difference.kind == "missing", difference.line()
        missing = {d.key for d in result.explained if d.record_type == "invoice"}
        assert missing <= set(broken_keys())
        # the totals say the same: the target holds the POS's invoices but the explained missing ones
        pos_invoices = {d.key: d.total for d in day.invoices
                        if d.business_time.date() == THE_DAY and d.outlet_code == result.outlet_code}
        assert result.pos.invoices == len(pos_invoices)
        assert result.target.invoices == result.pos.invoices - len(missing & set(pos_invoices))
        assert result.target.invoice_total == result.pos.invoice_total - sum(
            (pos_invoices[k] for k in missing & set(pos_invoices)), Decimal("0.00"))
        assert isinstance(result.target.invoice_total, Decimal)
        assert result.outcome == ("explained" if result.differences else "equal")
    assert results[0].outcome == "explained"


def test_drift_in_the_target_is_found_classified_and_the_deleted_payment_repaired(world: dict[str, Any]) -> None:
    sync_the_day(world)
    before = reconcile_day(world)
    assert before.unexplained == []
    ledger, name = world["ledger"], world["integration"]
    orders = plain_orders(world["pos"], OUTLET, DAY.start, DAY.end, exclude=set(broken_keys()))
    deleted, switched = f"{orders[0].number}/P1", f"{orders[1].number}/P1"
    documents = day_documents(world)

    # an accountant deletes one payment, ...
    delete_by_hand(world, "payment", ledger.get(name, "payment", deleted).target_id)
    # ... books another one's money by another method (delete, enter again), ...
    payment = next(p for p in documents.payments if p.key == switched)
    other = "qris" if payment.method != "qris" else "cash"
    delete_by_hand(world, "payment", ledger.get(name, "payment", switched).target_id)
    by_hand(world, "payment", payment_by_hand(world, dataclasses.replace(payment, method=other)))
    # ... books another one for less (an amount edited: neither API edits a payment in place, so delete and enter)
    edited = f"{orders[3].number}/P1"
    short = next(p for p in documents.payments if p.key == edited)
    delete_by_hand(world, "payment", ledger.get(name, "payment", edited).target_id)
    by_hand(world, "payment", payment_by_hand(world, dataclasses.replace(short, amount=short.amount - 1000)))
    # ... and enters an invoice of the day the POS never made
    invoice = next(i for i in documents.invoices if i.key == orders[2].number)
    by_hand(world, "invoice", invoice_by_hand(world, dataclasses.replace(invoice, key="HAND-0001")))

    after = reconcile_day(world)
    found = kinds(after, explained=False)
    assert ("synced_but_absent", "payment", deleted) in found
    assert ("method_differs", "payment", switched) in found
    assert ("extra", "invoice", "HAND-0001") in found
    assert ("amount_differs", "payment", edited) in found
    assert len(found) == 4, "\n".join(d.line() for d in after.unexplained)
    amount = next(d for d in after.unexplained if d.kind == "amount_differs")
    assert Decimal(amount.pos) - Decimal(amount.target) == Decimal(1000)
    method = next(d for d in after.unexplained if d.kind == "method_differs")
    assert (method.pos, method.target) == (payment.method, other)
    # the target's payments per method moved by exactly what was done to them
    gone = next(p for p in documents.payments if p.key == deleted)
    expected = dict(before.target.payments)
    for method, change in ((gone.method, -gone.amount), (payment.method, -payment.amount), (other, payment.amount),
                           (short.method, Decimal(-1000))):
        expected[method] = expected.get(method, Decimal("0.00")) + change
    assert after.target.payments == {m: a for m, a in expected.items() if a or m in after.target.payments}
    message = failure_message([after])
    assert message is not None and "HAND-0001" in message and deleted in message and switched in message

    # Re-sync missing: the deleted payment goes again through the normal sales sync; the rest needs a person
    assert resync_missing(ledger, name, [after]) == [("payment", deleted)]
    record = ledger.get(name, "payment", deleted)
    assert record.status == "pending" and record.target_id is None and "re-sync missing" in record.reason
    sync_sales(sync_job(world), outlet_codes=[OUTLET], window=DAY)
    assert ledger.get(name, "payment", deleted).status == "synced"

    repaired = reconcile_day(world)
    assert kinds(repaired, explained=False) == {("method_differs", "payment", switched),
                                                 ("amount_differs", "payment", edited),
                                                 ("extra", "invoice", "HAND-0001")}

    log = ReconciliationLog(ledger.engine)
    log.save([before])
    log.save([after])
    log.save([repaired])
    history = log.history(name, THE_DAY, THE_DAY)
    assert [r.outcome for r in history] == [before.outcome, "unexplained", "unexplained"]
    [latest] = log.history(name, THE_DAY, THE_DAY, latest_only=True)
    assert latest.as_dict() == repaired.as_dict(), "kept as computed, Decimal strings and all"


def test_a_void_not_yet_applied_is_explained_and_a_never_synced_day_is_not(world: dict[str, Any]) -> None:
    sync_the_day(world)
    orders = plain_orders(world["pos"], OUTLET, DAY.start, DAY.end, exclude=set(broken_keys()))
    void_order(world["pos"], orders[0].number, "customer changed their mind")

    result = reconcile_day(world)
    voided = {d.kind: d for d in result.differences if d.key.startswith(orders[0].number)}
    assert voided["voided_but_present"].explained, voided
    assert result.unexplained == []

    never = sync_job(world)  # the next day was never synced: every sale of it is missing, and nothing explains it
    books = never.target.reader(never.hook, never.integration)
    [next_day] = reconcile(never.integration, books, world["pos"], world["ledger"], date(2026, 11, 11),
                           date(2026, 11, 11), outlets=[OUTLET])
    assert next_day.pos.invoices > 0 and next_day.target.invoices == 0
    assert next_day.unexplained and {d.kind for d in next_day.unexplained} == {"missing"}


def test_the_cli_prints_kept_results(world: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from possync.cli import main

    sync_the_day(world)
    result = reconcile_day(world)
    ReconciliationLog(world["ledger"].engine).save([result])
    capsys.readouterr()  # what the setup printed
    assert main(["reconcile", "--integration", world["integration"], "--from", "2026-11-10", "--to", "2026-11-10",
                 "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [(r["business_date"], r["outlet"]) for r in printed] == [("2026-11-10", OUTLET)]
    assert printed[0]["pos"]["invoice_total"] == str(result.pos.invoice_total)
    assert main(["reconcile", "--integration", world["integration"], "--from", "2026-11-10", "--to",
                 "2026-11-10"]) == 0
    assert f"2026-11-10 {OUTLET}" in capsys.readouterr().out

    # --run reconciles now, through the integration's Airflow connections, and keeps the result; run as ops run
    # it (a process of its own), stdout holds nothing but the JSON
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "possync", "reconcile", "--integration", world["integration"],
                           "--from", "2026-11-10", "--outlet", OUTLET, "--run", "--json"],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    [now] = json.loads(done.stdout)
    assert now["outcome"] == result.outcome and now["target"] == result.target.as_dict()
    assert len(ReconciliationLog(world["ledger"].engine).history(world["integration"], THE_DAY, THE_DAY)) == 2
    assert main(["reconcile", "--integration", "nobody", "--from", "2026-11-10"]) == 2
    assert main(["reconcile", "--integration", world["integration"], "--from", "2026-11-11", "--to",
                 "2026-11-10", "--run"]) == 2


@pytest.fixture
def jurnal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: Path) -> Iterator[dict[str, Any]]:
    yield from jurnal_world(tmp_path, monkeypatch)


def test_the_reconcile_dag_fails_only_on_unexplained_differences(jurnal: dict[str, Any]) -> None:
    """The DAG as Airflow runs it (``dag.test``), on Jurnal: green on a synced day and its results kept; red once
    a payment is deleted in Jurnal; with ``resync_missing`` the payment is set back to pending."""
    from airflow.dag_processing.dagbag import DagBag

    from support.demo_week import DAGS

    world = jurnal
    sync_the_day(world)
    dag = DagBag(dag_folder=str(DAGS)).get_dag("jurnal_demo__reconcile")
    conf = {"from_date": "2026-11-10", "to_date": "2026-11-10", "outlets": [OUTLET]}

    def state(**extra: Any) -> str:
        run = dag.test(run_conf={**conf, **extra})
        [ti] = run.get_task_instances()
        return str(ti.state)

    assert state() == "success"
    ledger, name = world["ledger"], world["integration"]
    [kept] = ReconciliationLog(ledger.engine).history(name, THE_DAY, THE_DAY)
    assert kept.outcome == "explained" and kept.unexplained == []

    orders = plain_orders(world["pos"], OUTLET, DAY.start, DAY.end, exclude=set(broken_keys()))
    gone = f"{orders[0].number}/P1"
    delete_by_hand(world, "payment", ledger.get(name, "payment", gone).target_id)
    assert state() == "failed"
    assert ledger.get(name, "payment", gone).status == "synced", "without resync_missing the ledger stays"
    assert state(resync_missing=True) == "failed", "red until the next sales run posts it again"
    assert ledger.get(name, "payment", gone).status == "pending"
    history = ReconciliationLog(ledger.engine).history(name, THE_DAY, THE_DAY)
    assert [r.outcome for r in history] == ["explained", "unexplained", "unexplained"]
    assert [(d.kind, d.key) for d in history[-1].unexplained] == [("synced_but_absent", gone)]


def test_a_range_backwards_or_an_unmapped_outlet_is_refused_before_anything_is_read() -> None:
    from possync.config import load_config

    integration = next(i for i in load_config().integrations if i.name == "jurnal_demo")
    unread: Any = object()  # neither the POS, the ledger nor the target may be touched
    with pytest.raises(ValueError, match="before"):
        reconcile(integration, unread, unread, unread, date(2026, 11, 11), date(2026, 11, 10))
    with pytest.raises(ValueError, match="XX01 are not mapped"):
        reconcile(integration, unread, unread, unread, THE_DAY, THE_DAY, outlets=["XX01"])


def test_the_synced_demo_week_differs_only_by_its_records_broken_on_purpose(world: dict[str, Any]) -> None:
    """Issue 16's "done when", on the pipeline: the whole demo week of every outlet synced, then reconciled day by
    day and outlet by outlet; the only differences are the demo's records broken on purpose and the documents
    that need them (their payments and refunds), each explained by its ledger failure."""
    the_job = sync_job(world)
    sync_customers(the_job)
    sync_products(the_job)
    week = Window(datetime(2026, 11, 9, tzinfo=UTC) - timedelta(hours=7),
                  datetime(2026, 11, 14, tzinfo=UTC) - timedelta(hours=7))
    for outlet in sorted(the_job.integration.outlets):
        sync_sales(the_job, outlet_codes=[outlet], window=week)
    sync_stock_moves(the_job, week)
    books = the_job.target.reader(the_job.hook, the_job.integration)
    results = reconcile(the_job.integration, books, world["pos"], world["ledger"], date(2026, 11, 9),
                        date(2026, 11, 13))

    unexplained = [f"{r.business_date} {r.outlet_code} {d.line()}" for r in results for d in r.unexplained]
    assert unexplained == [], "\n".join(unexplained)
    broken = {key for key, kind in broken_keys().items() if kind in (
        "order_product_without_sku", "payment_mismatch", "order_total_mismatch", "refund_exceeds_sold")}
    assert not [d for r in results for d in r.differences if d.kind == "tax_differs"], "tax per rate: none differs"
    explained = {(d.record_type, d.key) for r in results for d in r.explained}
    invoices = {key for record_type, key in explained if record_type == "invoice"}
    assert invoices == {key for key in broken if key.startswith("INV-")}, "every broken order, and only those"
    assert {("return", "RF-JKT01-0001"), ("refund", "RF-JKT01-0001")} <= explained, "the refund of more than was sold"
    # the stock broken on purpose: TO-0009 never recorded as sent (its transfer-in waits for it), ADJ-JKT01-0002
    # adjusting the product without SKU; each missing, explained by its ledger failure
    stock = {(t, k) for t, k in explained if t in STOCK_TYPES}
    assert stock == {("transfer_out", "TO-0009"), ("transfer_in", "TO-0009"), ("adjustment", "ADJ-JKT01-0002")}
    for record_type, key in explained - {("invoice", k) for k in invoices} - stock:
        owner = key.rsplit("/P", 1)[0]
        assert record_type in ("return", "refund") or owner in invoices, f"{record_type} {key} is explained"
    # the POS's totals are of the documents it makes (a broken order is none: it is counted as rejected), and the
    # target holds every one of them to the sen, per outlet and day, payments per method too
    for result in results:
        assert (result.target.invoices, result.target.invoice_total) == (result.pos.invoices,
                                                                         result.pos.invoice_total), result.summary()
        assert result.target.payments == result.pos.payments, result.summary()
        assert result.target.returns == result.pos.returns, result.summary()
        if "return" in books.comparable_amounts:  # Accurate: each refund to the sen (Jurnal prices its own)
            assert result.target.return_total == result.pos.return_total, result.summary()
        # the money paid back: one document per refund, to the sen, in both targets
        assert (result.target.refunds, result.target.refund_total) == (result.pos.refunds, result.pos.refund_total)
        # transfers out / in and adjustments, count and quantity, where no broken stock record is
        if not any(d.record_type in STOCK_TYPES for d in result.differences):
            assert (result.target.transfers_out, result.target.transfer_out_quantity, result.target.transfers_in,
                    result.target.transfer_in_quantity, result.target.adjustments,
                    result.target.adjustment_quantity) == (
                result.pos.transfers_out, result.pos.transfer_out_quantity, result.pos.transfers_in,
                result.pos.transfer_in_quantity, result.pos.adjustments, result.pos.adjustment_quantity)
    assert sum(r.pos.refunds for r in results) > 0
    assert sum(r.pos.transfers_out + r.pos.transfers_in + r.pos.adjustments for r in results) > 10
    assert sum(r.pos.rejected for r in results) >= len(invoices)


def test_tax_is_the_pos_tax_to_the_sen_on_every_invoice_priced_either_way(world: dict[str, Any]) -> None:
    """The tax the target books for each invoice against the POS's. JKT01 prices without tax, SBY01 with tax
    included; both sell food (PB1 10 %) and drinks (PPN 11 %). possync posts lines on which the target's own tax
    is the till's per rate, so no invoice's tax differs, and a difference is never explained away."""
    the_job = sync_job(world)
    sync_customers(the_job)
    sync_products(the_job)
    for outlet in (OUTLET, "SBY01"):
        sync_sales(the_job, outlet_codes=[outlet], window=DAY)
    books = the_job.target.reader(the_job.hook, the_job.integration)
    exclusive, inclusive = reconcile(the_job.integration, books, world["pos"], world["ledger"], THE_DAY, THE_DAY,
                                     outlets=[OUTLET, "SBY01"])
    assert (exclusive.outlet_code, inclusive.outlet_code) == (OUTLET, "SBY01")
    day = {i.key: i for i in day_documents(world, [OUTLET, "SBY01"]).invoices}

    for result, code in ((exclusive, OUTLET), (inclusive, "SBY01")):
        invoices = [i for i in day.values() if i.outlet_code == code and i.business_time.date() == THE_DAY]
        assert any({line.tax_rate for line in i.lines} >= {Decimal("10.00"), Decimal("11.00")} for i in invoices)
        assert result.pos.tax == sum((i.tax_total for i in invoices), Decimal("0.00")) > 0
        assert result.target.tax == result.pos.tax, result.summary()
        assert not [d for d in result.differences if d.kind == "tax_differs"], result.summary()
        sales = [d for d in result.unexplained if d.record_type not in STOCK_TYPES]  # stock moves: not synced here
        assert sales == [], "\n".join(d.line() for d in sales)


def test_an_invoice_entered_again_with_other_quantities_is_found_line_by_line(world: dict[str, Any]) -> None:
    """An accountant deletes a synced invoice (its payments first) and enters it again under its number with one
    more unit of its first product: the reconciliation names the SKU whose quantity differs, besides the amount
    and the payments gone."""
    sync_the_day(world)
    ledger, name = world["ledger"], world["integration"]
    [order] = plain_orders(world["pos"], OUTLET, DAY.start, DAY.end, exclude=set(broken_keys()))[:1]
    documents = day_documents(world)
    invoice = next(i for i in documents.invoices if i.key == order.number)
    paid = [p.key for p in documents.payments if p.invoice_key == order.number]
    for key in paid:
        delete_by_hand(world, "payment", ledger.get(name, "payment", key).target_id)
    delete_by_hand(world, "invoice", ledger.get(name, "invoice", order.number).target_id)
    first = invoice.lines[0]
    more = dataclasses.replace(first, quantity=first.quantity + 1, gross=first.gross + first.unit_price)
    by_hand(world, "invoice", invoice_by_hand(world, dataclasses.replace(invoice, lines=(more, *invoice.lines[1:]),
                                                                       total=invoice.total + first.unit_price)))

    after = reconcile_day(world)
    found = {d.kind: d for d in after.unexplained if d.key == order.number}
    assert set(found) == {"quantity_differs", "amount_differs"}, "\n".join(d.line() for d in after.unexplained)
    lines = found["quantity_differs"]
    assert f"{first.sku} ×{first.quantity:.3f}" in lines.pos
    assert f"{first.sku} ×{first.quantity + 1:.3f}" in lines.target
    assert {(d.kind, d.key) for d in after.unexplained if d.key != order.number} == {
        ("synced_but_absent", key) for key in paid}


def test_the_money_of_a_refund_deleted_in_the_target_is_found_and_paid_back_again(world: dict[str, Any]) -> None:
    """The refund's money is a document of its own in both targets (Jurnal bank withdrawal, Accurate other
    payment). Deleted there, it is synced in the ledger but absent: Re-sync missing sets its return's record back
    to pending, and the next sales run finds the return and posts only the money."""
    sync_the_day(world)
    the_job = sync_job(world)
    books = the_job.target.reader(the_job.hook, the_job.integration)
    before = reconcile_day(world)
    assert before.unexplained == [] and before.target.refunds == before.pos.refunds - sum(
        1 for d in before.explained if d.record_type == "refund")
    [money, *_] = list(books.refunds(THE_DAY, THE_DAY))
    resource = "bank_withdrawals" if world["target"] == "jurnal" else "other-payment"
    assert the_job.hook.delete(resource, money.target_id)

    after = reconcile_day(world)
    assert kinds(after, explained=False) == {("synced_but_absent", "refund", money.number)}
    assert after.target.refunds == before.target.refunds - 1
    assert resync_missing(world["ledger"], world["integration"], [after]) == [("return", money.number)]
    sync_sales(sync_job(world), outlet_codes=[OUTLET], window=DAY)

    repaired = reconcile_day(world)
    assert repaired.unexplained == [], "\n".join(d.line() for d in repaired.unexplained)
    assert (repaired.target.returns, repaired.target.refunds) == (before.target.returns, before.target.refunds)
    assert world["ledger"].get(world["integration"], "return", money.number).status == "synced"


def test_jurnal_lists_without_lines_leave_lines_and_vat_uncompared(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether Jurnal's list rows carry their lines is undocumented (the sandbox's ``list_lines``): without them an
    invoice entered again with other quantities is still found by its amount, and neither its lines nor any VAT is
    claimed to differ (the output-VAT line is not in sight)."""
    for world in jurnal_world(tmp_path, monkeypatch, list_lines="none"):
        sync_the_day(world)
        ledger, name = world["ledger"], world["integration"]
        [order] = plain_orders(world["pos"], OUTLET, DAY.start, DAY.end, exclude=set(broken_keys()))[:1]
        invoice = next(i for i in day_documents(world).invoices if i.key == order.number)
        for payment in (p for p in day_documents(world).payments if p.invoice_key == order.number):
            delete_by_hand(world, "payment", ledger.get(name, "payment", payment.key).target_id)
        delete_by_hand(world, "invoice", ledger.get(name, "invoice", order.number).target_id)
        first = invoice.lines[0]
        more = dataclasses.replace(first, quantity=first.quantity + 1, gross=first.gross + first.unit_price)
        by_hand(world, "invoice", invoice_by_hand(world, dataclasses.replace(
            invoice, lines=(more, *invoice.lines[1:]), total=invoice.total + first.unit_price)))

        after = reconcile_day(world)
        assert {d.kind for d in after.differences if d.key == order.number} == {"amount_differs"}
        assert after.target.tax is None and after.pos.tax is not None
