"""Returns equal their POS refunds to the sen, and the money paid back is posted per method (issue 15, problem 7).

The demo week's sales are synced to each target's live sandbox; then every return is read back through the
target's API and compared with its POS refund: the total and the VAT, and the money paid back out of the
account of the refund's method. Jurnal prices a sales return from the invoice by quantity, so there the return
and the bank withdrawal paying the refund back are read together (``targets/jurnal/mapping.py``); Jurnal is also
run with sales returns that keep no key of ours (``return_dedup="none"``, the swagger's reading). Lost replies
(``drop_after_commit``) double neither a return nor its refund."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from possync.documents import SalesReturn
from possync.pos.extract import Window, extract_products, extract_sales
from possync.targets.base.bookkeeping import helper_items
from possync.transform.sales import transform_products, transform_sales
from support.worlds import Sync, accurate_world, jurnal_world

WEEK = Window(datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 14, tzinfo=UTC))
ZERO = Decimal("0.00")
SETTINGS = {
    "jurnal": {},
    # the swagger's sales-return body has no transaction_no: a real Jurnal may ignore the one possync sends
    "jurnal-return-keys-ignored": {"return_dedup": "none"},
    "accurate": {},
}
# Jurnal's seeded chart answers by its own names; the bookkeeping names are its aliases (sandbox reference.py)
JURNAL_ACCOUNTS = {"Kas": "Cash", "Bank": "Bank Account"}
JURNAL_RECEIVABLE, JURNAL_VAT = "Account Receivable", "VAT Out"


@pytest.fixture(params=list(SETTINGS))
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("possync.targets.base.hook.time.sleep", lambda seconds: None)
    yield from {"jurnal": jurnal_world, "accurate": accurate_world}[request.param.split("-")[0]](
        tmp_path, monkeypatch, **SETTINGS[request.param])


def _sales_synced(world: dict[str, Any]) -> tuple[Sync, list[SalesReturn]]:
    """The week's masters, invoices and payments synced; its returns (not yet sent), each of a synced invoice."""
    sync = Sync(world)
    sync.target.prepare(sync.hook, sync.integration, sync.loader.log)
    sync.load("customer", sync.customers())
    items, _ = transform_products(extract_products(world["pos"]))
    sync.load("item", [*helper_items(sync.integration.bookkeeping), *items])
    batch = transform_sales(extract_sales(world["pos"], WEEK))
    sync.load("invoice", batch.invoices)
    sync.load("payment", batch.payments)
    invoiced = sync.synced_ids("invoice", [invoice.key for invoice in batch.invoices])
    returns = [document for document in batch.returns if document.invoice_key in invoiced]
    assert len(returns) >= 5, "the demo week has returns"
    assert any(not r.tax_inclusive and any(line.tax for line in r.lines) for r in returns), "exclusive VAT"
    return sync, returns


def _pos_refund(document: SalesReturn) -> tuple[Decimal, Decimal]:
    return document.total, sum((line.tax for line in document.lines), ZERO)


def _jurnal_books(sync: Sync) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """Refund number → its sales returns (found by memo) and its bank withdrawals (by custom_id)."""
    returns: dict[str, list[dict[str, Any]]] = {}
    for record in sync.hook.iterate("sales_returns"):
        key = str(record.get("memo") or "").removeprefix("POS refund ").split(":")[0]
        returns.setdefault(key, []).append(record)
    withdrawals: dict[str, list[dict[str, Any]]] = {}
    for record in sync.hook.iterate("bank_withdrawals"):
        withdrawals.setdefault(str(record.get("custom_id")), []).append(record)
    return returns, withdrawals


def _lines(withdrawal: dict[str, Any]) -> Counter[str]:
    parts: Counter[str] = Counter()
    for line in withdrawal["transaction_account_lines"]:
        parts[line["account"]["name"]] += Decimal(str(line["debit"])) - Decimal(str(line["credit"]))
    return parts


def _jurnal_refunds(sync: Sync, documents: list[SalesReturn]) -> dict[str, tuple[Decimal, Decimal, str, Decimal]]:
    """Refund number → (return total, its VAT, account paid back from, amount paid back) as Jurnal holds them."""
    returns, withdrawals = _jurnal_books(sync)
    held = {}
    for document in documents:
        (sales_return,) = returns[document.key]
        (withdrawal,) = withdrawals[document.key]
        parts = _lines(withdrawal)
        returned = Decimal(str(sales_return["return_amount"]))
        assert parts[JURNAL_RECEIVABLE] == returned, "the withdrawal clears exactly the credit the return left"
        total = returned + sum(parts.values(), ZERO) - parts[JURNAL_RECEIVABLE]
        tax = Decimal(str(sales_return["returned_tax"])) + parts[JURNAL_VAT]
        held[document.key] = (total, tax, withdrawal["refund_from"]["name"],
                              Decimal(str(withdrawal["original_amount"])))
    return held


def _accurate_refunds(sync: Sync, documents: list[SalesReturn]) -> dict[str, tuple[Decimal, Decimal, str, Decimal]]:
    vat = sync.integration.bookkeeping.output_vat_account
    held = {}
    for document in documents:
        record = sync.hook.detail("sales-return", number=document.key)
        tax = sum((Decimal(str(e["expenseAmount"])) for e in record.get("detailExpense") or []
                   if e["accountNo"] == vat), ZERO)
        paid = sync.hook.detail("other-payment", number=document.key)
        held[document.key] = (Decimal(str(record["totalAmount"])), tax, paid["bankNo"], Decimal(str(paid["amount"])))
    return held


def _expected_account(sync: Sync, document: SalesReturn) -> str:
    account = sync.integration.bookkeeping.payment_accounts[document.method]
    return JURNAL_ACCOUNTS.get(account, account) if sync.world["target"] == "jurnal" else account


def _held(sync: Sync, documents: list[SalesReturn]) -> dict[str, tuple[Decimal, Decimal, str, Decimal]]:
    return (_jurnal_refunds if sync.world["target"] == "jurnal" else _accurate_refunds)(sync, documents)


def test_every_return_equals_its_pos_refund_to_the_sen_and_the_money_is_paid_back_per_method(world) -> None:
    sync, documents = _sales_synced(world)
    sync.load("return", documents)

    records = sync.records("return", [d.key for d in documents])
    assert {key: r.status for key, r in records.items() if r.status != "synced"} == {}
    held = _held(sync, documents)
    methods: Counter[str] = Counter()
    for document in documents:
        total, tax = _pos_refund(document)
        assert held[document.key] == (total, tax, _expected_account(sync, document), total), document.key
        methods[document.method] += 1
    assert len(methods) >= 2, "refunds of more than one method"
    if world["target"] == "jurnal":
        # Since tax per rate (issue 19) an invoice line is posted at what the till charged for it, with its own
        # tax, so Jurnal's pricing of a return of whole units matches the refund (before, with receipt prices, one
        # Value discount and the VAT as an item line, at least half fell short); the withdrawal still carries any
        # difference (a line the till refunded otherwise), and its receivable part is exactly Jurnal's return.
        returns, _ = _jurnal_books(sync)
        priced = {d.key: Decimal(str(returns[d.key][0]["return_amount"])) for d in documents}
        short = [d.key for d in documents if priced[d.key] != d.total]
        assert len(short) <= len(documents) // 2, f"{len(short)} of {len(documents)} priced otherwise by Jurnal"


def _created_before_the_ledger_knew(sync: Sync, document: SalesReturn) -> None:
    """A return a killed task created without writing the ledger: sent as possync sends it."""
    if sync.world["target"] == "jurnal":
        from possync.targets.jurnal import mapping

        products = {sku: target_id for sku, (target_id, _n) in
                    sync.ledger.id_maps(sync.integration.name, "product").items()}
        sync.hook.create("sales_returns", mapping.return_body(document, products))
    else:
        sync.send["return"]._invoice_customers = sync.send["return"].invoice_customers({document.invoice_key})
        sync.hook.save("sales-return", sync.send["return"].body(document))


def _one_return_and_one_refund_each(sync: Sync, documents: list[SalesReturn]) -> None:
    records = sync.records("return", [d.key for d in documents])
    assert {key: r.reason for key, r in records.items() if r.status != "synced"} == {}
    if sync.world["target"] == "jurnal":
        returns, withdrawals = _jurnal_books(sync)
        assert {k: len(v) for k, v in returns.items() if len(v) != 1} == {}, "no return twice"
        assert {k: len(v) for k, v in withdrawals.items() if len(v) != 1} == {}, "no refund paid twice"
        assert sorted(returns) == sorted(withdrawals) == sorted(d.key for d in documents)
        assert sorted(r.target_id for r in records.values()) == sorted(str(v[0]["id"]) for v in returns.values())
    else:
        numbers = Counter(r["number"] for r in sync.hook.iterate("sales-return", fields=["id", "number"]))
        paid = Counter(r["number"] for r in sync.hook.iterate("other-payment", fields=["id", "number"]))
        assert numbers == paid == Counter(d.key for d in documents)


def test_lost_replies_double_neither_a_return_nor_its_refund(world) -> None:
    sync, documents = _sales_synced(world)
    _created_before_the_ledger_knew(sync, documents[0])
    world["admin"].reset_stats()
    rounds = (1, 2, 1, 3)  # the return's reply; the return's and its retry's; ...: returns and refunds both lose some
    size = -(-len(documents) // len(rounds))
    for index, drops in enumerate(rounds):  # each run also meets refunds it has not sent yet
        world["admin"].faults({"drop_after_commit_next": drops})
        sync.load("return", documents[: (index + 1) * size])
    assert world["admin"].stats()["drops"] >= sum(rounds) - 1, "replies were lost"
    world["admin"].faults({})
    sync.load("return", documents)

    _one_return_and_one_refund_each(sync, documents)
    held = _held(sync, documents)
    for document in documents:
        total, tax = _pos_refund(document)
        assert held[document.key] == (total, tax, _expected_account(sync, document), total), document.key


def test_a_return_posted_whose_money_was_not_fails_saying_so_and_the_retry_posts_only_the_money(
        world, monkeypatch: pytest.MonkeyPatch) -> None:
    sync, documents = _sales_synced(world)
    money = sync.send["return"].money
    real_body = type(money).body
    account = "refund_from_name" if world["target"] == "jurnal" else "bankNo"
    monkeypatch.setattr(type(money), "body", lambda self, d: {**real_body(self, d), account: "No Such Account"})
    sync.load("return", documents[:2])

    records = sync.records("return", [d.key for d in documents[:2]])
    for record in records.values():
        assert record.status == "failed"
        assert record.reason.startswith("returned as ") and "but the money paid back was not posted" in record.reason

    monkeypatch.setattr(type(money), "body", real_body)
    sync.load("return", documents)
    _one_return_and_one_refund_each(sync, documents)
    held = _held(sync, documents)
    assert all(held[d.key][3] == d.total for d in documents)


def test_reversing_a_return_deletes_the_money_paid_back_with_it(world) -> None:
    """What a change after sync does to a return (``possync.changes``): its refund money goes first."""
    sync, documents = _sales_synced(world)
    sync.load("return", documents)
    gone, kept = documents[0], documents[1:]
    sender = sync.send["return"]
    target_id = sync.records("return", [gone.key])[gone.key].target_id
    assert sender.delete_document(target_id) is True
    assert sender.delete_document(target_id) is False, "a repeated delete finds it gone"

    if world["target"] == "jurnal":
        returns, withdrawals = _jurnal_books(sync)
        assert gone.key not in returns and gone.key not in withdrawals
        assert sorted(returns) == sorted(withdrawals) == sorted(d.key for d in kept)
    else:
        assert sync.hook.detail("sales-return", number=gone.key) is None
        assert sync.hook.detail("other-payment", number=gone.key) is None
        paid = Counter(r["number"] for r in sync.hook.iterate("other-payment", fields=["id", "number"]))
        assert paid == Counter(d.key for d in kept)
