"""Accurate receive-items → POS goods receipts: the mapping and the processing of the webhook log (with a
small stand-in for ``AccurateHook.detail``), then end to end through the Accurate sandbox, the webhook
endpoint and a real AccurateHook."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from possync.config import Integration
from possync.db import make_engine
from possync.ledger.webhooks import WebhookLog
from possync.pos import schema as pos
from possync.pos.receiving import stock_level
from possync.targets.accurate.inbound import AccurateDocumentError, process_pending, receipt_from_detail
from possync.targets.base.errors import RejectedError, TransientTargetError
from support.pos_builder import Pos

INTEGRATION = Integration.model_validate({
    "name": "accurate_t", "target": "accurate", "conn_id": "accurate_t", "start_date": "2026-11-09",
    "sales": {"mode": "realtime"},
    "outlets": {"JKT01": {"warehouse": "Kemang", "branch": "Jakarta"},
                "BDG01": {"warehouse": "Dago", "branch": "Bandung"}},
})


NO_ORDERS_NOR_TRANSFERS = {"orders_written": 0, "orders_unchanged": 0, "transfers_written": 0,
                           "transfers_unchanged": 0}


def detail(number: str = "RI.2026.12.00001", *, warehouse: str = "Kemang", lines=None, **extra: Any) -> dict:
    return {
        "id": 101, "number": number, "transDate": "01/12/2026", "vendorNo": "V-001",
        "vendor": {"name": "PT Kopi Nusantara", "vendorNo": "V-001"},
        "detailItem": lines if lines is not None else [
            {"itemNo": "KOP-001", "itemName": "Kopi Toraja 250g", "quantity": 12, "unitPrice": 51000,
             "warehouseName": warehouse},
            {"itemNo": "GUL-001", "itemName": "Gula Aren 1kg", "quantity": "2.5", "unitPrice": 30000.5,
             "warehouseName": warehouse},
        ],
        **extra,
    }


class FakeAccurate:
    """``detail`` only, keyed like Accurate: by id or by number; counts calls; can fail on demand."""

    def __init__(self, *records: dict) -> None:
        self.records = {r["id"]: r for r in records}
        self.calls: list[dict] = []
        self.fail: Exception | None = None

    def detail(self, module: str, **key: Any) -> dict | None:
        assert module == "receive-item"
        self.calls.append(key)
        if self.fail is not None:
            raise self.fail
        if "id" in key:
            return self.records.get(key["id"])
        return next((r for r in self.records.values() if r and r["number"] == key["number"]), None)


def envelope(uuid: str, item_id: int = 101, number: str = "RI.2026.12.00001", *, type_: str = "RECEIVE_ITEM",
             action: str = "WRITE") -> dict:
    return {"databaseId": 1742775, "type": type_, "timestamp": 1764558000000, "uuid": uuid,
            "data": [{"receiveItemId": item_id, "receiveItemNo": number, "action": action}]}


# --------------------------------------------------------------------------------------------------- mapping


def test_a_receive_item_maps_to_a_receipt_at_the_warehouses_outlet() -> None:
    receipt = receipt_from_detail(detail(), INTEGRATION)
    assert (receipt.source, receipt.source_number, receipt.integration, receipt.outlet_code) == (
        "accurate", "RI.2026.12.00001", "accurate_t", "JKT01")
    assert receipt.received_at == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 1 Dec 00:00 in Jakarta
    assert receipt.supplier == "V-001 PT Kopi Nusantara" and receipt.source_document_id == "101"
    assert [(line.sku, line.quantity, line.unit_cost, line.item_name) for line in receipt.lines] == [
        ("KOP-001", Decimal("12.000"), Decimal("51000.00"), "Kopi Toraja 250g"),
        ("GUL-001", Decimal("2.500"), Decimal("30000.50"), "Gula Aren 1kg"),
    ]


@pytest.mark.parametrize(("record", "reason"), [
    (detail(warehouse="Gudang Rahasia"),
     "Accurate warehouse 'Gudang Rahasia' of receive-item RI.2026.12.00001 is not mapped to a POS outlet"),
    (detail(lines=[{"itemNo": "KOP-001", "quantity": 1, "warehouseName": "Kemang"},
                   {"itemNo": "GUL-001", "quantity": 1, "warehouseName": "Dago"}]),
     "receives into several warehouses (Kemang, Dago)"),
    (detail(lines=[]), "has no item lines"),
    (detail(transDate="2026-12-01"), "transDate '2026-12-01' is not dd/MM/yyyy"),
    (detail(lines=[{"itemNo": "KOP-001", "quantity": "lots", "warehouseName": "Kemang"}]), "'lots' is not a number"),
    (detail(number=""), "without a number"),
])
def test_a_receive_item_the_pos_cannot_place_names_the_reason(record, reason) -> None:
    with pytest.raises(AccurateDocumentError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        receipt_from_detail(record, INTEGRATION)


# ------------------------------------------------------------------------------------------------ processing


@pytest.fixture
def shop(pos_engine) -> Pos:
    shop = Pos(pos_engine)
    shop.outlet("JKT01")
    shop.outlet("BDG01")
    shop.product("Kopi Toraja 250g", 85000, sku="KOP-001")
    shop.product("Gula Aren 1kg", 42000, sku="GUL-001")
    return shop


@pytest.fixture
def log(tmp_path) -> WebhookLog:
    return WebhookLog(make_engine(f"sqlite:///{tmp_path / 'ledger.db'}"), ensure_schema=True)


def receipts(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(pos.goods_receipts)).scalar_one()


def test_pending_events_become_receipts_once_and_others_are_ignored(shop, log, caplog) -> None:
    accurate = FakeAccurate(detail())
    log.receive("accurate_t", [envelope("u1"), envelope("u-sales", type_="SALES_INVOICE"),
                               envelope("u-del", action="DELETE")])
    log.receive("accurate_t", [envelope("u2")])  # the same receive-item again (saved twice in Accurate)
    caplog.set_level(logging.INFO)

    summary = process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t"))
    assert summary.as_dict() == {"events": 4, "processed": 2, "ignored": 2, "failed": 0,
                                 "receipts_written": 1, "receipts_unchanged": 1, **NO_ORDERS_NOR_TRANSFERS}
    assert receipts(shop.engine) == 1
    assert stock_level(shop.engine, "JKT01", "KOP-001") == Decimal("12.000")
    assert log.counts("accurate_t") == {"received": 0, "processed": 2, "failed": 0, "ignored": 2}
    assert "DELETE is not synced" in log.get("accurate_t", "u-del").reason
    assert "SALES_INVOICE events are not synced" in log.get("accurate_t", "u-sales").reason

    lines = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("SYNCED") and "RI.2026.12.00001" in m and "JKT01" in m for m in lines)
    assert any(m.startswith("SKIPPED") and "already in the POS" in m for m in lines)
    assert lines[-1] == ("webhook events: 4 read = 2 processed + 2 ignored + 0 failed; "
                         "goods receipts: 1 written, 1 already in the POS")

    assert process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t")).events == 0


def test_a_missing_sku_fails_the_event_until_the_product_is_repaired(shop, log) -> None:
    accurate = FakeAccurate(detail(lines=[
        {"itemNo": "KOP-009", "itemName": "Kopi Gayo 250g", "quantity": 6, "unitPrice": 60000,
         "warehouseName": "Dago"}]))
    log.receive("accurate_t", [envelope("u1")])
    first = process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t"))
    assert (first.failed, first.receipts_written) == (1, 0)
    event = log.get("accurate_t", "u1")
    assert event.status == "failed"
    assert event.reason == "Accurate item 'KOP-009' (Kopi Gayo 250g) has no product with that SKU in the POS"
    assert receipts(shop.engine) == 0

    again = process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t"))
    assert again.failed == 1 and log.get("accurate_t", "u1").attempts == 2  # retried every run

    shop.product("Kopi Gayo 250g", 90000, sku="KOP-009")  # the repair in the POS
    repaired = process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t"))
    assert (repaired.processed, repaired.receipts_written) == (1, 1)
    assert log.get("accurate_t", "u1").status == "processed"
    assert stock_level(shop.engine, "BDG01", "KOP-009") == Decimal("6.000")


def test_unmapped_warehouses_and_refusals_fail_with_their_reason(shop, log) -> None:
    accurate = FakeAccurate(detail(warehouse="Gudang Rahasia"), detail("RI-2", id=102))
    log.receive("accurate_t", [envelope("u1"), envelope("u2", 102, "RI-2")])
    accurate.records[102] = None  # type: ignore[assignment]  # deleted in Accurate since: "Data tidak ditemukan"
    summary = process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t"))
    assert (summary.failed, summary.ignored) == (1, 1)
    assert "warehouse 'Gudang Rahasia'" in log.get("accurate_t", "u1").reason
    assert "no longer exists in Accurate" in log.get("accurate_t", "u2").reason
    assert accurate.calls[-2:] == [{"id": 102}, {"number": "RI-2"}]  # by id, then by number

    log.receive("accurate_t", [envelope("u3", 103, "RI-3")])
    accurate.fail = RejectedError("Anda tidak berhak mengakses data ini", status=403)
    process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t"))
    assert log.get("accurate_t", "u3").reason == (
        "receive-item RI-3: Accurate refused to return it: Anda tidak berhak mengakses data ini")


def test_a_transient_error_leaves_the_event_pending_and_is_raised(shop, log) -> None:
    accurate = FakeAccurate(detail())
    log.receive("accurate_t", [envelope("u1")])
    accurate.fail = TransientTargetError("receive-item/detail.do: 503 after 3 attempts")
    with pytest.raises(TransientTargetError):
        process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t"))
    event = log.get("accurate_t", "u1")
    assert (event.status, event.attempts) == ("received", 0)
    accurate.fail = None
    assert process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t")).receipts_written == 1


def test_a_receive_item_changed_after_it_was_received_is_reported_not_applied(shop, log) -> None:
    accurate = FakeAccurate(detail())
    log.receive("accurate_t", [envelope("u1")])
    process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t"))
    accurate.records[101] = detail(lines=[{"itemNo": "KOP-001", "itemName": "Kopi Toraja 250g", "quantity": 20,
                                           "unitPrice": 51000, "warehouseName": "Kemang"}])
    log.receive("accurate_t", [envelope("u2")])  # edited and saved again in Accurate
    summary = process_pending(log, accurate, shop.engine, INTEGRATION, logging.getLogger("t"))
    assert (summary.ignored, summary.receipts_written, summary.receipts_unchanged) == (1, 0, 1)
    event = log.get("accurate_t", "u2")
    assert event.status == "ignored" and "was changed in Accurate after the POS received it" in event.reason
    assert stock_level(shop.engine, "JKT01", "KOP-001") == Decimal("12.000")

# ------------------------------------------------------------------------------------------------------ DAGs


def test_accurate_integrations_get_an_inbound_and_a_webhook_renew_dag() -> None:
    import pendulum
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    from possync.dagfactory import inbound_dags

    inbound, renew = inbound_dags(INTEGRATION)
    assert (inbound.dag_id, renew.dag_id) == ("accurate_t__inbound", "accurate_t__webhook_renew")
    assert [t.task_id for t in inbound.tasks] == ["process_webhooks"]
    assert [t.task_id for t in renew.tasks] == ["renew_webhook"]
    for dag in (inbound, renew):
        assert {"accurate", "accurate_t"} <= set(dag.tags) and dag.max_active_runs == 1 and dag.catchup is False
        assert all(t.pool == "accurate_api" and t.retries >= 1 for t in dag.tasks)
        assert dag.doc_md
    assert "inbound" in inbound.tags and "webhook_renew" in renew.tags
    for dag, length in ((inbound, timedelta(minutes=5)), (renew, timedelta(days=1))):
        scheduled = DagSerialization.from_dict(DagSerialization.to_dict(dag))  # what the scheduler sees
        info = scheduled.timetable.next_dagrun_info(
            last_automated_data_interval=None,
            restriction=TimeRestriction(earliest=pendulum.datetime(2026, 12, 1, tz="Asia/Jakarta"), latest=None,
                                        catchup=True),
        )
        assert info.data_interval.end - info.data_interval.start == length, dag.dag_id
    jurnal = INTEGRATION.model_copy(update={"target": "jurnal", "name": "jurnal_t"})
    assert inbound_dags(jurnal) == []


# ----------------------------------------------------------------------------------------------- end to end

E2E = "accurate_e2e"
SECRET = "e2e-webhook-secret-7c1d"


@pytest.fixture
def world(tmp_path, monkeypatch, request):
    """Accurate sandbox (account + data host; ``request.param``: its undocumented readings) → webhook endpoint
    (the plugin's app on a live server, mounted at /possync as the API server mounts it) → webhook log → the
    inbound task → a POS SQLite."""
    import json

    import yaml
    from fastapi import FastAPI

    from possync.targets.accurate.hook import AccurateHook
    from possync.webhooks_app import create_app
    from possync_devkit.sandbox.accurate import DEMO_API_TOKEN, DEMO_SIGNATURE_SECRET, SandboxConfig, create_apps
    from support.live_server import LiveServer
    from support.sandbox_admin import SandboxAdmin

    config = {"integrations": [{
        "name": E2E, "target": "accurate", "conn_id": f"{E2E}_acc", "pos_conn_id": f"{E2E}_pos",
        "ledger_conn_id": f"{E2E}_ledger", "start_date": "2026-11-09", "sales": {"mode": "realtime"},
        "outlets": {"JKT01": {"warehouse": "Kemang", "branch": "Jakarta"},
                    "BDG01": {"warehouse": "Dago", "branch": "Bandung"}},
    }]}
    (tmp_path / "integrations.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("POSSYNC_CONFIG", str(tmp_path / "integrations.yaml"))

    sandbox_config = SandboxConfig(db_path=str(tmp_path / "accurate.db"), **getattr(request, "param", {}))
    account_app, data_app = create_apps(sandbox_config)
    data = LiveServer(data_app).start()
    sandbox_config.data_host_url = data.url
    account = LiveServer(account_app).start()

    triggered: list[str] = []

    def trigger(dag_id: str, *, uuids: list[str], source: str) -> str:  # the scheduler's part: tests run the task below
        triggered.append(dag_id)
        return f"triggered {dag_id}"

    api_server = FastAPI()
    api_server.mount("/possync", create_app(trigger=trigger))
    hooks = LiveServer(api_server).start()

    for conn_id, conn in {
        f"{E2E}_acc": {"conn_type": "accurate", "host": account.url, "password": DEMO_API_TOKEN,
                       "extra": {"signature_secret": DEMO_SIGNATURE_SECRET, "webhook_secret": SECRET}},
        f"{E2E}_pos": {"conn_type": "sqlite", "host": str(tmp_path / "pos.db")},
        f"{E2E}_ledger": {"conn_type": "sqlite", "host": str(tmp_path / "ledger.db")},
    }.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))

    shop = Pos(make_engine(f"sqlite:///{tmp_path / 'pos.db'}"))
    shop.outlet("JKT01")
    shop.outlet("BDG01")
    shop.product("Kopi Toraja 250g", 85000, sku="KOP-001")
    shop.product("Gula Aren 1kg", 42000, sku="GUL-001")

    accurate = AccurateHook(f"{E2E}_acc")
    for name in ("Kemang", "Dago"):
        accurate.save("warehouse", {"name": name})
    for no, name in (("KOP-001", "Kopi Toraja 250g"), ("GUL-001", "Gula Aren 1kg"), ("KOP-009", "Kopi Gayo 250g")):
        accurate.save("item", {"no": no, "name": name, "itemType": "INVENTORY"})
    endpoint = f"{hooks.url}/possync/webhooks/accurate/{E2E}"
    admin = SandboxAdmin(data.url)
    admin.post("webhooks", {"url": f"{endpoint}?token={SECRET}",
                            "types": ["RECEIVE_ITEM", "PURCHASE_ORDER", "ITEM_TRANSFER"]})

    log = WebhookLog(make_engine(f"sqlite:///{tmp_path / 'ledger.db'}"), ensure_schema=True)
    yield {"data": data, "admin": admin, "endpoint": endpoint, "shop": shop, "log": log, "triggered": triggered,
           "accurate": accurate, "sandbox": sandbox_config}
    for server in (hooks, account, data):
        server.stop()


def purchase(world, warehouse: str, *lines: tuple[str, str, int]) -> dict:
    """A receive-item entered in Accurate; waits until its webhook is in the log and returns that event."""
    import time

    before = {e.uuid for e in world["log"].events(E2E, limit=1000)}
    reply = world["admin"].post("simulate/purchase", {
        "warehouseName": warehouse,
        "lines": [{"itemNo": no, "quantity": qty, "unitPrice": price} for no, qty, price in lines],
    })
    assert reply["s"] is True, reply
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        new = [e for e in world["log"].events(E2E, limit=1000) if e.uuid not in before]
        if new:
            [event] = new
            return {"event": event, "number": reply["r"]["number"]}
        time.sleep(0.05)
    raise AssertionError(f"no webhook arrived; sandbox deliveries: "
                         f"{world['admin'].get('webhook-deliveries')}")


def run_inbound_task() -> dict:
    """The inbound DAG's task as the worker runs it (connections from AIRFLOW_CONN_*, the real AccurateHook)."""
    import time
    from types import SimpleNamespace

    from possync.config import load_config
    from possync.dagfactory import build_inbound_dag

    [integration] = load_config().integrations
    run = SimpleNamespace(dag_id=f"{integration.name}__inbound", run_id=f"manual__{time.monotonic_ns()}")
    return build_inbound_dag(integration).get_task("process_webhooks").python_callable(ti=run)


def test_a_purchase_in_accurate_reaches_pos_stock_once(world) -> None:
    import requests

    got = purchase(world, "Kemang", ("KOP-001", "12", 51000), ("GUL-001", "2.5", 30000))
    event, number = got["event"], got["number"]
    assert (event.event_type, event.status, event.document_numbers) == ("RECEIVE_ITEM", "received", number)
    assert world["triggered"] == [f"{E2E}__inbound"]  # the endpoint asked for a run right away

    assert run_inbound_task() == {"events": 1, "processed": 1, "ignored": 0, "failed": 0,
                                  "receipts_written": 1, "receipts_unchanged": 0, **NO_ORDERS_NOR_TRANSFERS}
    shop = world["shop"]
    assert stock_level(shop.engine, "JKT01", "KOP-001") == Decimal("12.000")
    assert stock_level(shop.engine, "JKT01", "GUL-001") == Decimal("2.500")
    with shop.engine.connect() as conn:
        row = conn.execute(select(pos.goods_receipts)).one()._mapping
    assert (row["source_number"], row["supplier"]) == (number, "V.00001 PT Pemasok Demo")
    assert world["log"].get(E2E, event.uuid).status == "processed"

    # Accurate delivers the same envelope again (same uuid): acknowledged, not recorded, nothing to run
    again = requests.post(f"{world['endpoint']}?token={SECRET}", json=[event.payload], timeout=10)
    assert again.json() == {"received": 0, "duplicates": 1}
    # the same receive-item through a new event (saved again in Accurate): processed, but written once
    resent = {**event.payload, "uuid": "0b6f3c2e-5d1a-4c8e-9f00-000000000001"}
    assert requests.post(f"{world['endpoint']}?token={SECRET}", json=[resent], timeout=10).json() == {
        "received": 1, "duplicates": 0}
    assert run_inbound_task()["receipts_unchanged"] == 1
    assert stock_level(shop.engine, "JKT01", "KOP-001") == Decimal("12.000")
    assert receipts(shop.engine) == 1
    deliveries = world["admin"].get("webhook-deliveries")
    assert [d["status"] for d in deliveries] == [200]


def test_a_purchase_of_an_unknown_sku_fails_until_the_pos_product_exists(world) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    got = purchase(world, "Dago", ("KOP-009", "6", 60000))
    with pytest.raises(AirflowFailException, match="1 webhook event"):
        run_inbound_task()
    event = world["log"].get(E2E, got["event"].uuid)
    assert event.status == "failed"
    assert event.reason == "Accurate item 'KOP-009' (Kopi Gayo 250g) has no product with that SKU in the POS"
    assert receipts(world["shop"].engine) == 0

    world["shop"].product("Kopi Gayo 250g", 90000, sku="KOP-009")  # repaired in the POS
    assert run_inbound_task()["receipts_written"] == 1
    assert world["log"].get(E2E, event.uuid).status == "processed"
    assert stock_level(world["shop"].engine, "BDG01", "KOP-009") == Decimal("6.000")


def test_the_renew_dag_extends_the_webhook_and_returns_the_new_expiry(world) -> None:
    import re

    from possync.config import load_config
    from possync.dagfactory import build_webhook_renew_dag

    [integration] = load_config().integrations
    expiry = build_webhook_renew_dag(integration).get_task("renew_webhook").python_callable()
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", expiry), expiry
    subscription = world["admin"].get("webhooks")
    assert subscription["active"] and subscription["expires_at_wib"].startswith(expiry)


def wait_for_events(world, count: int) -> None:
    import time

    deadline = time.monotonic() + 15
    while len(world["log"].events(E2E, limit=1000)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} webhooks expected; deliveries: {world['admin'].get('webhook-deliveries')}")
        time.sleep(0.05)


@pytest.mark.parametrize("world", [{}, {"webhook_numbers": "omitted", "item_transfer_webhook": "per_warehouse"}],
                         ids=["numbers-once", "ids-only-per-warehouse"], indirect=True)
def test_orders_and_transfers_entered_in_accurate_reach_the_pos_once_and_nothing_echoes(world) -> None:
    from possync.config import load_config
    from possync.pipeline import SyncJob, sync_products, sync_transfers
    from possync.pos.extract import Window
    from possync.pos.incoming import pos_transfer, purchase_order
    from possync.targets.base.registry import get_target

    accurate, shop = world["accurate"], world["shop"]
    accurate.save("branch", {"name": "Jakarta"})
    po = accurate.save("purchase-order", {"vendorNo": "V.00001", "transDate": "01/12/2026", "branchName": "Jakarta",
                                          "detailItem": [{"itemNo": "KOP-001", "quantity": 24, "unitPrice": 51000}]})
    out = accurate.save("item-transfer", {"itemTransferType": "TRANSFER_OUT", "transDate": "02/12/2026",
                                          "warehouseName": "Kemang", "referenceWarehouseName": "Dago",
                                          "detailItem": [{"itemNo": "GUL-001", "quantity": 5}]})
    in_ = accurate.save("item-transfer", {"itemTransferType": "TRANSFER_IN", "transDate": "03/12/2026",
                                          "warehouseName": "Dago", "fromItemTransferNo": out["number"],
                                          "detailItem": [{"itemNo": "GUL-001", "quantity": 5}]})
    wait_for_events(world, 3)
    summary = run_inbound_task()
    assert (summary["failed"], summary["orders_written"], summary["transfers_written"]) == (0, 1, 2)
    # one entry per warehouse: each transfer named twice, written once
    twice = world["sandbox"].item_transfer_webhook == "per_warehouse"
    assert summary["transfers_unchanged"] == (2 if twice else 0)
    assert purchase_order(shop.engine, E2E, po["number"])["outlet_code"] == "JKT01"
    assert pos_transfer(shop.engine, out["number"])["status"] == "received"
    assert (stock_level(shop.engine, "JKT01", "GUL-001"), stock_level(shop.engine, "BDG01", "GUL-001")) == (
        Decimal("-5.000"), Decimal("5.000"))

    # the outbound sync of the same days sends the POS's own transfer only; its webhooks come back and are ignored
    day = datetime(2026, 12, 2, 3, tzinfo=UTC)
    shop.transfer("TO-0100", "JKT01", "BDG01", "Kopi Toraja 250g", 2, sent_at=day, received_at=day + timedelta(hours=2))
    [integration] = load_config().integrations
    job = SyncJob.connect(integration, get_target("accurate"), accurate)
    sync_products(job)
    synced = sync_transfers(job, outlet_codes=["JKT01", "BDG01"],
                            window=Window(day - timedelta(days=2), day + timedelta(days=2)))
    assert (synced.read, synced.synced) == (2, 2)  # TO-0100's out and in; not the transfer from Accurate
    numbers = sorted(r["number"] for r in accurate.iterate("item-transfer", fields=["number"]))
    assert numbers == sorted([out["number"], in_["number"], "TO-0100/IN", "TO-0100/OUT"])
    wait_for_events(world, 5)
    echo = run_inbound_task()
    assert (echo["ignored"], echo["transfers_written"]) == (2, 0)
    assert pos_transfer(shop.engine, "TO-0100")["origin"] is None
    with shop.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(pos.transfers)).scalar_one() == 2

    # the daily reconciliation: the transfer entered in Accurate is the POS's own, never synced out, so no difference
    from datetime import date

    from possync.reconcile import reconcile

    results = reconcile(integration, job.target.reader(accurate, integration), shop.engine, job.ledger,
                        date(2026, 12, 1), date(2026, 12, 3))
    assert [(d.kind, d.key) for result in results for d in result.differences] == []
