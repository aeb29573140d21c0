"""The webhook log (sync ledger) and the POS goods-receipt writer, on SQLite and PostgreSQL: each delivery
recorded once per uuid, failed events stay pending for retry, a receipt is written once with its stock, and a
receipt the POS cannot take writes nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from possync.db import make_engine
from possync.ledger.schema import create_schema
from possync.ledger.webhooks import WebhookLog
from possync.pos import schema as pos
from possync.pos.receiving import GoodsReceipt, GoodsReceiptError, ReceiptLine, record_goods_receipt, stock_level
from support.pos_builder import Pos

T = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def envelope(uuid: str, number: str = "RI-0001", *, type_: str = "RECEIVE_ITEM", action: str = "WRITE") -> dict:
    return {"databaseId": 1742775, "type": type_, "timestamp": 1764558000000, "uuid": uuid,
            "data": [{"receiveItemId": 7, "receiveItemNo": number, "action": action}]}


@pytest.fixture
def log(db_engine) -> WebhookLog:
    return WebhookLog(db_engine, ensure_schema=True)


def test_each_uuid_is_recorded_once_and_redeliveries_count_as_duplicates(log) -> None:
    assert log.receive("acc", [envelope("u1"), envelope("u2", "RI-0002")], now=T) == (2, 0)
    assert log.receive("acc", [envelope("u1"), envelope("u3", "RI-0003")], now=T + timedelta(seconds=5)) == (1, 1)
    assert log.receive("acc", [envelope("u4"), envelope("u4")], now=T) == (1, 1)  # twice in one delivery
    assert log.receive("other", [envelope("u1")], now=T) == (1, 0)  # uuids are per integration

    events = log.events("acc", limit=10)
    assert sorted(e.uuid for e in events) == ["u1", "u2", "u3", "u4"]
    first = log.get("acc", "u1")
    assert first.status == "received" and first.attempts == 0 and first.received_at == T
    assert first.event_type == "RECEIVE_ITEM" and first.database_id == "1742775"
    assert first.document_numbers == "RI-0001"
    assert first.entries == [{"receiveItemId": 7, "receiveItemNo": "RI-0001", "action": "WRITE"}]


def test_pending_is_received_and_failed_oldest_first_and_processed_is_final(log) -> None:
    log.receive("acc", [envelope("old")], now=T)
    log.receive("acc", [envelope("mid")], now=T + timedelta(minutes=1))
    log.receive("acc", [envelope("new")], now=T + timedelta(minutes=2))
    log.receive("acc", [envelope("skip")], now=T + timedelta(minutes=3))
    ids = {e.uuid: e.id for e in log.pending("acc")}
    assert list(ids) == ["old", "mid", "new", "skip"]

    log.mark_failed(ids["old"], "Accurate item 'KOP-009' has no product with that SKU in the POS")
    log.mark_processed(ids["mid"])
    log.mark_ignored(ids["skip"], "DELETE is not synced")
    assert [e.uuid for e in log.pending("acc")] == ["old", "new"]  # the failed one is retried, first

    log.mark_failed(ids["mid"], "late failure of an overlapping run")  # must not turn processed red
    mid = log.get("acc", "mid")
    assert mid.status == "processed" and mid.reason is None and mid.processed_at is not None

    failed = log.get("acc", "old")
    assert failed.status == "failed" and failed.attempts == 1 and "KOP-009" in failed.reason
    log.mark_processed(ids["old"])  # the "refresh" after a repair
    assert log.get("acc", "old").attempts == 2 and log.get("acc", "old").reason is None

    assert log.counts("acc") == {"received": 1, "processed": 2, "failed": 0, "ignored": 1}
    assert {e.uuid for e in log.events("acc", status="processed")} == {"mid", "old"}
    assert [e.uuid for e in log.events("acc", limit=2, offset=1)] == ["new", "mid"]  # newest first, paged
    with pytest.raises(ValueError, match="unknown webhook status"):
        log.events("acc", status="done")


def test_schema_creation_is_idempotent(db_engine) -> None:
    create_schema(db_engine)
    create_schema(db_engine)
    assert WebhookLog(db_engine).receive("acc", [envelope("u")]) == (1, 0)


# ---------------------------------------------------------------------------------------------- receiving


@pytest.fixture
def shop(db_engine) -> Pos:
    shop = Pos(db_engine)
    shop.outlet("JKT01")
    shop.product("Kopi Toraja 250g", 85000, sku="KOP-001")
    shop.product("Gula Aren 1kg", 42000, sku="GUL-001")
    shop.product("Teh Melati", 15000, sku=None)
    return shop


def receipt(number: str = "RI-0001", lines=None, *, outlet: str = "JKT01") -> GoodsReceipt:
    return GoodsReceipt(
        source="accurate", source_label="Accurate", source_number=number, integration="acc", outlet_code=outlet,
        received_at=T,
        supplier="V-001 PT Kopi Nusantara", source_document_id="7",
        lines=lines or [ReceiptLine("KOP-001", Decimal("12"), Decimal("51000.00"), "Kopi Toraja 250g"),
                        ReceiptLine("GUL-001", Decimal("2.5"), Decimal("30000.00"), "Gula Aren 1kg")],
    )


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_receipt_is_written_once_with_its_stock(db_engine, shop) -> None:
    with db_engine.begin() as conn:  # Kopi already has a level, Gula has none yet
        conn.execute(pos.stock_levels.insert().values(outlet_id=shop.outlets["JKT01"]["id"],
                                                      product_id=shop.products["Kopi Toraja 250g"]["id"],
                                                      quantity=Decimal("3"), updated_at=T))
    assert record_goods_receipt(db_engine, receipt()) is True
    assert stock_level(db_engine, "JKT01", "KOP-001") == Decimal("15.000")
    assert stock_level(db_engine, "JKT01", "GUL-001") == Decimal("2.500")

    assert record_goods_receipt(db_engine, receipt()) is False  # the same document again changes nothing
    assert stock_level(db_engine, "JKT01", "KOP-001") == Decimal("15.000")
    assert (_count(db_engine, pos.goods_receipts), _count(db_engine, pos.goods_receipt_lines)) == (1, 2)
    with db_engine.connect() as conn:
        row = conn.execute(select(pos.goods_receipts)).one()._mapping
        lines = conn.execute(select(pos.goods_receipt_lines).order_by(pos.goods_receipt_lines.c.line_no)).all()
    assert (row["source"], row["source_number"], row["supplier"], row["received_at"]) == (
        "accurate", "RI-0001", "V-001 PT Kopi Nusantara", T)
    assert [(line.sku, line.quantity, line.unit_cost) for line in lines] == [
        ("KOP-001", Decimal("12.000"), Decimal("51000.00")), ("GUL-001", Decimal("2.500"), Decimal("30000.00"))]


def test_an_unknown_sku_rejects_the_whole_receipt_and_writes_nothing(db_engine, shop) -> None:
    bad = receipt(lines=[ReceiptLine("KOP-001", Decimal("1")),
                         ReceiptLine("KOP-009", Decimal("4"), item_name="Kopi Toraja 500g")])
    with pytest.raises(GoodsReceiptError) as caught:
        record_goods_receipt(db_engine, bad)
    assert str(caught.value) == "Accurate item 'KOP-009' (Kopi Toraja 500g) has no product with that SKU in the POS"
    assert caught.value.item == "KOP-009"
    assert _count(db_engine, pos.goods_receipts) == 0 and _count(db_engine, pos.stock_levels) == 0


def test_a_pos_product_without_sku_is_named_with_the_repair(db_engine, shop) -> None:
    with pytest.raises(GoodsReceiptError, match="the POS product 'Teh Melati' has no SKU; give it SKU 'TEH-001'"):
        record_goods_receipt(db_engine, receipt(lines=[ReceiptLine("TEH-001", Decimal("5"), item_name="Teh Melati")]))
    with pytest.raises(GoodsReceiptError, match="outlet 'BDG01' is not in the POS"):
        record_goods_receipt(db_engine, receipt(outlet="BDG01"))
    with pytest.raises(GoodsReceiptError, match="not a positive quantity"):
        record_goods_receipt(db_engine, receipt(lines=[ReceiptLine("KOP-001", Decimal("-2"))]))
    assert _count(db_engine, pos.goods_receipts) == 0


def test_two_writers_of_the_same_document_add_the_stock_once(db_url, shop) -> None:
    results: list[bool] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def write() -> None:
        engine = make_engine(db_url)
        try:
            barrier.wait()
            results.append(record_goods_receipt(engine, receipt()))
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [False, False, False, True]
    assert stock_level(shop.engine, "JKT01", "KOP-001") == Decimal("12.000")
