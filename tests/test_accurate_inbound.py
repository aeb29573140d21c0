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

from pos_builder import Pos
from possync.config import Integration
from possync.db import make_engine
from possync.ledger.webhooks import WebhookLog
from possync.pos import schema as pos
from possync.pos.receiving import stock_level
from possync.targets.accurate.inbound import ReceiveItemError, process_pending, receipt_from_detail
from possync.targets.base.errors import RejectedError, TransientTargetError

INTEGRATION = Integration.model_validate({
    "name": "accurate_t", "target": "accurate", "conn_id": "accurate_t", "start_date": "2026-11-09",
    "sales": {"mode": "realtime"},
    "outlets": {"JKT01": {"warehouse": "Kemang", "branch": "Jakarta"}, "BDG01": {"warehouse": "Dago"}},
})


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
    with pytest.raises(ReceiveItemError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        receipt_from_detail(record, INTEGRATION)


# ------------------------------------------------------------------------------------------------ processing


@pytest.fixture
def shop(db_engine) -> Pos:
    shop = Pos(db_engine)
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
                                 "receipts_written": 1, "receipts_unchanged": 1}
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

