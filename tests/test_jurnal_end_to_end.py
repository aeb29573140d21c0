"""End to end: the Jurnal DAGs run in Airflow (``dag.test``) against a live Jurnal sandbox, and Jurnal's
side, read back through its API, holds exactly the POS's sales: one invoice per completed order, totals
equal to the sen, payments and returns matched, voids absent, broken records failed with their reasons,
and nothing duplicated by a second run or by replies lost after the commit."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from possync.targets.jurnal.hook import JurnalHook
from support.demo_week import broken_keys, expected_invoices, pos_orders, run_sales
from support.worlds import jurnal_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: Path):
    yield from jurnal_world(tmp_path, monkeypatch)


def jurnal(resource: str) -> list[dict]:
    return list(JurnalHook("jurnal_demo").iterate(resource))


def test_the_pos_week_lands_in_jurnal_exactly_once(world, capsys: pytest.CaptureFixture[str]) -> None:
    states = run_sales("jurnal_demo__sales")
    assert states["sync_customers", -1] == "failed", "the customer with a duplicate ID fails its task"
    assert states["sync_products", -1] == "failed", "the product without SKU fails its task"
    sales_states = Counter(state for (task, _), state in states.items() if task == "sync_sales")
    assert sales_states["failed"] >= 1 and sales_states["success"] >= 1

    broken = broken_keys()
    orders = pos_orders(world["pos"])
    invoices = jurnal("sales_invoices")
    by_number = Counter(invoice["transaction_no"] for invoice in invoices)
    assert all(count == 1 for count in by_number.values()), "no invoice twice"
    assert set(by_number) == expected_invoices(world["pos"])
    for invoice in invoices:
        assert Decimal(invoice["original_amount"]) == orders[invoice["transaction_no"]][1], invoice["transaction_no"]
    assert not {n for n, (status, _) in orders.items() if status == "voided"} & set(by_number)

    ledger = world["ledger"]
    reasons = {key: ledger.get("jurnal_demo", "invoice", key) for key in broken if key.startswith("INV-")}
    for key, record in reasons.items():
        if record is not None:  # inside the synced window
            assert record.status == "failed" and record.reason, key
    sku_less = [r for k, r in reasons.items() if r is not None and broken[k] == "order_product_without_sku"]
    assert sku_less and all("has no SKU" in r.reason for r in sku_less)

    payments = jurnal("receive_payments")
    assert len({p["custom_id"] for p in payments}) == len(payments)
    assert {p["custom_id"].split("/P")[0] for p in payments} == set(by_number)

    returns = jurnal("sales_returns")
    assert len({r["transaction_no"] for r in returns}) == len(returns)
    assert all(r["transaction_no"] not in broken for r in returns)

    customers = jurnal("customers")
    assert len(customers) == ledger.counts("jurnal_demo", "customers")["synced"], "no two POS customers merged"
    assert len({c["display_name"] for c in customers}) == len(customers)

    from possync.cli import main

    capsys.readouterr()
    assert main(["status", "--ledger-url", str(ledger.engine.url), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    failed_keys = {f["key"] for f in report["failures"]["jurnal_demo"]}
    assert {"CUST-29", "PROD-40"} <= failed_keys, "failures of every flow are listed, not only sales"

    # a second run over the same window (a retry, an overlapping backfill) creates nothing new
    run_sales("jurnal_demo__sales")
    assert len(jurnal("sales_invoices")) == len(invoices)
    assert len(jurnal("receive_payments")) == len(payments)
    assert len(jurnal("sales_returns")) == len(returns)


def test_lost_replies_are_found_again_not_posted_twice(world) -> None:
    import requests

    requests.post(f"{world['sandbox'].url}/_sandbox/faults",
                  json={"drop_after_commit_rate": 0.3, "seed": 7}, timeout=10).raise_for_status()
    run_sales("jurnal_demo__sales")
    requests.post(f"{world['sandbox'].url}/_sandbox/faults", json={}, timeout=10).raise_for_status()
    run_sales("jurnal_demo__sales")

    invoices = jurnal("sales_invoices")
    assert invoices and len({i["transaction_no"] for i in invoices}) == len(invoices)
    payments = jurnal("receive_payments")
    assert len({p["custom_id"] for p in payments}) == len(payments)
    synced = world["ledger"].counts("jurnal_demo", "sales")["synced"]
    assert synced == len(invoices) + len(payments) + len(jurnal("sales_returns"))
