"""Accurate purchase orders and item transfers → the POS: processing the webhook log with a small stand-in for
``AccurateHook.detail`` (the sandbox end to end is in test_accurate_inbound.py), and the loop guard: a transfer
written in from Accurate is never read by the outbound sync."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from possync.config import Integration
from possync.db import make_engine
from possync.ledger.webhooks import WebhookLog
from possync.pos.extract import Window, extract_stock
from possync.pos.incoming import pos_transfer, purchase_order
from possync.pos.receiving import stock_level
from possync.pos.source import pos_source
from possync.targets.accurate.inbound import AccurateDocumentError, order_from_detail, process_pending
from support.pos_builder import Pos

INTEGRATION = Integration.model_validate({
    "name": "accurate_t", "target": "accurate", "conn_id": "accurate_t", "start_date": "2026-11-09",
    "sales": {"mode": "realtime"},
    "outlets": {"JKT01": {"warehouse": "Kemang", "branch": "Jakarta"},
                "BDG01": {"warehouse": "Dago", "branch": "Bandung"},
                "BDG02": {"warehouse": "Riau", "branch": "Bandung"}},
})
LOG = logging.getLogger("t")


class FakeAccurate:
    """``detail`` of any module, by id or by number, like Accurate's ``detail.do``."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, int], dict] = {}

    def add(self, module: str, record: dict) -> dict:
        self.records[module, record["id"]] = record
        return record

    def detail(self, module: str, **key: Any) -> dict | None:
        if "id" in key:
            return self.records.get((module, key["id"]))
        return next((r for (m, _), r in self.records.items() if m == module and r["number"] == key["number"]), None)


def envelope(uuid: str, type_: str, prefix: str, record: dict, action: str = "WRITE", *, number: bool = True) -> dict:
    entry = {f"{prefix}Id": record["id"], "action": action} | ({f"{prefix}No": record["number"]} if number else {})
    return {"databaseId": 1742775, "type": type_, "timestamp": 1764558000000, "uuid": uuid, "data": [entry]}


def order(number: str = "PO.2026.00001", *, branch: str | None = "Jakarta", quantity: Any = 24, **extra: Any) -> dict:
    return {"id": 301, "number": number, "transDate": "01/12/2026", "shipDate": "04/12/2026", "vendorNo": "V-001",
            "vendor": {"name": "PT Kopi Nusantara", "vendorNo": "V-001"}, "branchName": branch,
            "detailItem": [{"itemNo": "KOP-001", "detailName": "Kopi Toraja 250g", "quantity": quantity,
                            "unitPrice": 51000}], **extra}


def transfer_out(number: str = "IT.2026.00001", *, source: str = "Kemang", destination: str = "Dago",
                 id_: int = 401) -> dict:
    return {"id": id_, "number": number, "itemTransferType": "TRANSFER_OUT", "transDate": "02/12/2026",
            "warehouseName": source, "referenceWarehouseName": destination,
            "detailItem": [{"itemNo": "KOP-001", "quantity": 10}, {"itemNo": "GUL-001", "quantity": "4"}]}


def transfer_in(out_number: str = "IT.2026.00001", *, number: str = "IT.2026.00002", id_: int = 402) -> dict:
    return {"id": id_, "number": number, "itemTransferType": "TRANSFER_IN", "transDate": "03/12/2026",
            "warehouseName": "Dago", "referenceWarehouseName": "Kemang", "fromItemTransferNo": out_number,
            "detailItem": [{"itemNo": "KOP-001", "quantity": 9}, {"itemNo": "GUL-001", "quantity": 4}]}


@pytest.fixture
def shop(pos_engine) -> Pos:
    shop = Pos(pos_engine)
    for code in ("JKT01", "BDG01", "BDG02"):
        shop.outlet(code)
    shop.product("Kopi Toraja 250g", 85000, sku="KOP-001")
    shop.product("Gula Aren 1kg", 42000, sku="GUL-001")
    return shop


@pytest.fixture
def log(tmp_path) -> WebhookLog:
    return WebhookLog(make_engine(f"sqlite:///{tmp_path / 'ledger.db'}"), ensure_schema=True)


def run(log: WebhookLog, accurate: FakeAccurate, shop: Pos) -> dict[str, int]:
    return process_pending(log, accurate, shop.engine, INTEGRATION, LOG).as_dict()


# ------------------------------------------------------------------------------------------ purchase orders


def test_a_purchase_order_is_expected_at_its_branchs_outlet_updated_when_edited_and_cancelled_when_deleted(
        shop, log) -> None:
    accurate = FakeAccurate()
    record = accurate.add("purchase-order", order())
    log.receive("accurate_t", [envelope("u1", "PURCHASE_ORDER", "purchaseOrder", record),
                               envelope("u2", "PURCHASE_ORDER", "purchaseOrder", record, number=False)])  # again
    assert run(log, accurate, shop).items() >= {"processed": 2, "orders_written": 1, "orders_unchanged": 1}.items()
    assert purchase_order(shop.engine, "accurate_t", "PO.2026.00001") == {
        "outlet_code": "JKT01", "status": "open", "supplier": "V-001 PT Kopi Nusantara",
        "expected_at": datetime(2026, 12, 3, 17, 0, tzinfo=UTC),  # 4 Dec, Jakarta
        "lines": [("KOP-001", Decimal("24.000"), Decimal("51000.00"))]}
    assert stock_level(shop.engine, "JKT01", "KOP-001") is None  # ordered, not received: no stock

    accurate.add("purchase-order", order(quantity=30))  # edited in Accurate
    log.receive("accurate_t", [envelope("u3", "PURCHASE_ORDER", "purchaseOrder", record)])
    assert run(log, accurate, shop)["orders_written"] == 1
    assert purchase_order(shop.engine, "accurate_t", "PO.2026.00001")["lines"] == [
        ("KOP-001", Decimal("30.000"), Decimal("51000.00"))]

    del accurate.records["purchase-order", 301]  # deleted in Accurate: the delete entry carries the id only
    log.receive("accurate_t", [envelope("u4", "PURCHASE_ORDER", "purchaseOrder", record, "DELETE", number=False),
                               envelope("u5", "PURCHASE_ORDER", "purchaseOrder", record, "DELETE")])
    summary = run(log, accurate, shop)
    assert (summary["orders_written"], summary["orders_unchanged"], summary["processed"]) == (1, 1, 2)
    assert purchase_order(shop.engine, "accurate_t", "PO.2026.00001")["status"] == "cancelled"


@pytest.mark.parametrize(("record", "reason"), [
    (order(branch="Surabaya"), "Accurate branch 'Surabaya' of purchase-order PO.2026.00001 is not the branch of a "
                               "POS outlet"),
    (order(branch="Bandung"), "is the branch of several POS outlets (BDG01, BDG02)"),
    (order(branch=None), "names neither a warehouse nor a branch"),
    (order(detailItem=[{"itemNo": "KOP-001", "quantity": 1, "unitPrice": 1, "warehouseName": "Dago"}]), None),
])
def test_a_purchase_orders_outlet_is_its_warehouses_else_its_branchs_or_the_reason(record, reason) -> None:
    if reason is None:  # a line naming a warehouse (a reading of detail.do the docs do not rule out) wins
        assert order_from_detail(record, INTEGRATION).outlet_code == "BDG01"
        return
    with pytest.raises(AccurateDocumentError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        order_from_detail(record, INTEGRATION)


# ------------------------------------------------------------------------------------------------ transfers


def test_an_item_transfer_becomes_the_pos_transfer_once_and_the_outbound_sync_never_reads_it(shop, log) -> None:
    accurate = FakeAccurate()
    out, in_ = accurate.add("item-transfer", transfer_out()), accurate.add("item-transfer", transfer_in())
    # the IN arrives alone (its OUT is delivered later, or failed): it waits for the transfer-out, with the reason
    log.receive("accurate_t", [envelope("u1", "ITEM_TRANSFER", "itemTransfer", in_)])
    assert run(log, accurate, shop)["failed"] == 1
    assert "receives transfer IT.2026.00001, which is not in the POS yet" in log.get("accurate_t", "u1").reason

    # the OUT arrives after its IN (deliveries need not keep order), twice: one run writes both sides, once each
    log.receive("accurate_t", [envelope("u2", "ITEM_TRANSFER", "itemTransfer", out),
                               envelope("u3", "ITEM_TRANSFER", "itemTransfer", out, number=False)])
    summary = run(log, accurate, shop)
    assert (summary["transfers_written"], summary["transfers_unchanged"], summary["failed"]) == (2, 1, 0)
    assert [log.get("accurate_t", u).status for u in ("u1", "u2", "u3")] == ["processed"] * 3
    received = pos_transfer(shop.engine, "IT.2026.00001")
    assert received == {
        "status": "received", "origin": "accurate_t", "from_code": "JKT01", "to_code": "BDG01",
        "lines": [("KOP-001", Decimal("10.000"), Decimal("9.000")), ("GUL-001", Decimal("4.000"), Decimal("4.000"))]}
    assert (stock_level(shop.engine, "BDG01", "KOP-001"), stock_level(shop.engine, "JKT01", "KOP-001")) == (
        Decimal("9.000"), Decimal("-10.000"))  # one lost on the road, as Accurate writes it off

    log.receive("accurate_t", [envelope("u4", "ITEM_TRANSFER", "itemTransfer", in_)])  # the IN delivered again
    assert run(log, accurate, shop)["transfers_unchanged"] == 1
    assert stock_level(shop.engine, "BDG01", "KOP-001") == Decimal("9.000")
    accurate.add("item-transfer", {**transfer_out(), "detailItem": [{"itemNo": "KOP-001", "quantity": 12}]})
    log.receive("accurate_t", [envelope("u5", "ITEM_TRANSFER", "itemTransfer", out)])  # edited in Accurate since
    run(log, accurate, shop)
    assert "IT.2026.00001 was changed in Accurate after the POS took it" in log.get("accurate_t", "u5").reason
    assert stock_level(shop.engine, "JKT01", "KOP-001") == Decimal("-10.000")  # the POS keeps what it moved

    # loop guard: neither the built-in extract nor the reference profile reads it for the outbound sync
    window = Window(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC))
    assert extract_stock(shop.engine, window, ["JKT01", "BDG01"]).transfers.empty
    assert pos_source(shop.engine, "reference").extract_stock(window, ["JKT01", "BDG01"]).transfers.empty


def test_transfers_possync_sent_outside_the_pos_or_deleted_are_ignored_and_half_mapped_ones_fail(shop, log) -> None:
    accurate = FakeAccurate()
    shop.transfer("TO-0042", "JKT01", "BDG01", "Kopi Toraja 250g", 5, sent_at=datetime(2026, 12, 1, 3, tzinfo=UTC))
    records = [accurate.add("item-transfer", record) for record in (
        transfer_out("TO-0042/OUT", id_=501),  # possync's own, from POS transfer TO-0042
        transfer_out("IT-X", source="Utama", destination="Gudang Cabang", id_=502),
        transfer_out("IT-Y", source="Utama", id_=503),
    )]
    log.receive("accurate_t", [envelope(f"u{n}", "ITEM_TRANSFER", "itemTransfer", record)
                               for n, record in enumerate(records)])
    log.receive("accurate_t", [envelope("u-del", "ITEM_TRANSFER", "itemTransfer", records[2], "DELETE")])
    summary = run(log, accurate, shop)
    assert (summary["ignored"], summary["failed"], summary["transfers_written"]) == (3, 1, 0)
    reasons = [log.get("accurate_t", uuid).reason for uuid in ("u0", "u1", "u2", "u-del")]
    assert "belongs to POS transfer TO-0042, which possync sent to Accurate" in reasons[0]
    assert "between Accurate warehouses 'Utama' and 'Gudang Cabang', neither a POS outlet" in reasons[1]
    assert reasons[2].startswith("Accurate warehouse 'Utama' of item-transfer IT-Y is not mapped to a POS outlet")
    assert "DELETE is not synced; a transfer already in the POS is not reversed automatically" in reasons[3]
    assert pos_transfer(shop.engine, "IT-Y") is None and pos_transfer(shop.engine, "TO-0042")["origin"] is None
