"""End to end: the Accurate DAGs run in Airflow (``dag.test``) against a live Accurate sandbox (account host
and data host, as in the real service), and Accurate's side, read back through ``list.do`` / ``detail.do``,
holds exactly the POS's sales: one invoice per completed order, totals equal to the sen, receipts and
returns matched, voids absent, broken records failed with their reasons, nothing duplicated by a second
run or by replies lost after the commit; and the same POS feeds Jurnal at the same time undisturbed."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from possync.targets.accurate.hook import AccurateHook
from support.demo_week import broken_keys, expected_invoices, pos_orders, run_sales
from support.live_server import LiveServer
from support.worlds import accurate_world

FIELDS = {
    "sales-invoice": ["id", "number", "totalAmount", "customer", "customerNo", "primeOwing"],
    "sales-receipt": ["id", "number", "chequeAmount"],
    "sales-return": ["id", "number", "invoiceNumber", "totalAmount"],
    "customer": ["id", "customerNo", "name"],
    "item": ["id", "no", "name"],
}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: Path):
    yield from accurate_world(tmp_path, monkeypatch)


def accurate(module: str) -> list[dict]:
    return list(AccurateHook("accurate_demo").iterate(module, fields=FIELDS[module]))


def stats(world) -> dict:
    return requests.get(f"{world['data'].url}/_sandbox/stats", timeout=10).json()


def test_the_pos_week_lands_in_accurate_exactly_once(world) -> None:
    states = run_sales("accurate_demo__sales")
    # read before this test's own reads, which spend the same token's allowance
    seen = stats(world)
    assert seen["refused_rate"] == 0 and seen["refused_in_flight"] == 0, "pacing keeps Accurate from refusing"
    assert 0 < seen["max_in_flight_seen"] <= 8
    assert states["sync_customers", -1] == "failed", "the customer with a duplicate ID fails its task"
    assert states["sync_products", -1] == "failed", "the product without SKU fails its task"
    sales_states = Counter(state for (task, _), state in states.items() if task == "sync_sales")
    assert sales_states["failed"] >= 1 and sales_states["success"] >= 1

    broken = broken_keys()
    orders = pos_orders(world["pos"])
    invoices = accurate("sales-invoice")
    by_number = Counter(invoice["number"] for invoice in invoices)
    assert all(count == 1 for count in by_number.values()), "no invoice twice"
    assert set(by_number) == expected_invoices(world["pos"])
    for invoice in invoices:
        assert Decimal(str(invoice["totalAmount"])) == orders[invoice["number"]][1], invoice["number"]
    assert not {n for n, (status, _) in orders.items() if status == "voided"} & set(by_number)

    ledger = world["ledger"]
    reasons = {key: ledger.get("accurate_demo", "invoice", key) for key in broken if key.startswith("INV-")}
    for key, record in reasons.items():
        if record is not None:
            assert record.status == "failed" and record.reason, key
    sku_less = [r for k, r in reasons.items() if r is not None and broken[k] == "order_product_without_sku"]
    assert sku_less and all("has no SKU" in r.reason for r in sku_less)

    receipts = accurate("sales-receipt")
    assert len({r["number"] for r in receipts}) == len(receipts)
    assert {r["number"].split("/P")[0] for r in receipts} == set(by_number)
    synced = ledger.counts("accurate_demo", "sales")["synced"]
    assert synced == len(invoices) + len(receipts) + len(accurate("sales-return"))

    returns = accurate("sales-return")
    assert returns and len({r["number"] for r in returns}) == len(returns)
    assert all(r["number"] not in broken for r in returns)
    detail = AccurateHook("accurate_demo").detail("sales-return", number=returns[0]["number"])
    assert detail["number"] == returns[0]["number"]

    customers = accurate("customer")
    assert len(customers) == ledger.counts("accurate_demo", "customers")["synced"], "no two POS customers merged"
    numbered = {c["customerNo"] for c in customers}
    till_ids = set(ledger.id_maps("accurate_demo", "customer").values())
    assert {number for _id, number in till_ids} <= numbered

    # a second run over the same window (a retry, an overlapping backfill) creates nothing new
    run_sales("accurate_demo__sales")
    assert len(accurate("sales-invoice")) == len(invoices)
    assert len(accurate("sales-receipt")) == len(receipts)
    assert len(accurate("sales-return")) == len(returns)
    assert len(accurate("customer")) == len(customers)


def test_lost_replies_are_found_again_not_posted_twice(world) -> None:
    requests.post(f"{world['data'].url}/_sandbox/faults",
                  json={"drop_after_commit_rate": 0.3, "seed": 11}, timeout=10).raise_for_status()
    run_sales("accurate_demo__sales")
    requests.post(f"{world['data'].url}/_sandbox/faults", json={}, timeout=10).raise_for_status()
    run_sales("accurate_demo__sales")

    invoices = accurate("sales-invoice")
    assert invoices and len({i["number"] for i in invoices}) == len(invoices)
    receipts = accurate("sales-receipt")
    assert len({r["number"] for r in receipts}) == len(receipts)
    customers = accurate("customer")
    assert len({c["customerNo"] for c in customers}) == len(customers)
    assert len(customers) == world["ledger"].counts("accurate_demo", "customers")["synced"]
    synced = world["ledger"].counts("accurate_demo", "sales")["synced"]
    assert synced == len(invoices) + len(receipts) + len(accurate("sales-return"))


def test_one_pos_feeds_jurnal_and_accurate_without_either_disturbing_the_other(world, monkeypatch) -> None:
    from possync.targets.jurnal.hook import JurnalHook
    from possync_devkit.sandbox.jurnal import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
    from possync_devkit.sandbox.jurnal import SandboxConfig as JurnalConfig
    from possync_devkit.sandbox.jurnal import create_app as jurnal_app
    from possync_devkit.sandbox.jurnal.config import RateLimits as JurnalLimits

    limits = JurnalLimits(per_minute=100_000, per_hour=1_000_000, per_ip_minute=100_000, per_ip_hour=1_000_000)
    jurnal = LiveServer(jurnal_app(JurnalConfig(db_path=str(world["tmp"] / "jurnal.db"), limits=limits))).start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_JURNAL_DEMO", json.dumps({
            "conn_type": "jurnal", "host": jurnal.url, "login": DEMO_CLIENT_ID, "password": DEMO_CLIENT_SECRET,
            "extra": {"requests_per_minute": 100_000, "requests_per_hour": 1_000_000},
        }))
        run_sales("jurnal_demo__sales")
        run_sales("accurate_demo__sales")
        jurnal_invoices = {i["transaction_no"] for i in JurnalHook("jurnal_demo").iterate("sales_invoices")}
    finally:
        jurnal.stop()
    accurate_invoices = {i["number"] for i in accurate("sales-invoice")}
    assert accurate_invoices and accurate_invoices == jurnal_invoices, "both targets got the same sales"
    ledger = world["ledger"]
    for name in ("jurnal_demo", "accurate_demo"):
        assert ledger.counts(name, "sales")["synced"] > len(accurate_invoices), name
    jurnal_ids = ledger.id_maps("jurnal_demo", "product")
    accurate_ids = ledger.id_maps("accurate_demo", "product")
    assert set(jurnal_ids) == set(accurate_ids), "each integration maps every product itself"
