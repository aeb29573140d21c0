"""Store ↔ head office exchange as plain functions, on SQLite and PostgreSQL: HO publishes, the store applies
and acknowledges; the store's new documents become business events, go up once, and come back PROCESSED or
FAILED with HO's reason; the hook refuses another major version and an unreachable HO."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from possync.db import make_engine
from possync.pos import schema as ps
from possync.pos.receiving import GoodsReceipt, ReceiptLine, record_goods_receipt
from possync.targets.headoffice import schema as ho
from possync.targets.headoffice.exchange import receive, send, status_report
from possync.targets.headoffice.hook import HeadOfficeHook, HeadOfficeUnreachable, VersionMismatch
from possync_devkit.headoffice_simulator import HeadOfficeSimulator
from support.net import free_port
from support.pos_builder import T0, Line, Pos

STORE = "JKT01"


@pytest.fixture
def world(db_url: str, tmp_path):
    """A POS on the test database, and an HO database beside it (same backend, its own tables)."""
    pos_engine = make_engine(db_url)
    shop = Pos(pos_engine)
    shop.outlet(STORE)
    shop.outlet("BDG01")
    shop.product("Kopi Susu", "25000.00", sku="KS-01")
    ho_url = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'ho.db'}"
    ho_engine = make_engine(ho_url)
    simulator = HeadOfficeSimulator(ho_engine, version="2.4.0")
    simulator.store(STORE)
    yield {"pos": pos_engine, "shop": shop, "ho": ho_engine, "hq": simulator, "ho_url": ho_url}
    pos_engine.dispose()
    ho_engine.dispose()


def publish_week(hq: HeadOfficeSimulator) -> None:
    hq.publish_item([STORE], "KS-01", "Kopi Susu", "27000.00", cost="10000.00")  # a price change
    hq.publish_item([STORE], "CT-02", "Croissant Tuna", "32000.00")  # a new item
    hq.publish(STORE, "promotion", "PROMO-11", {
        "code": "PROMO-11", "name": "11.11 Kopi", "sku": "KS-01", "discount_percent": "20.00",
        "starts_at": "2026-11-11T00:00:00+07:00", "ends_at": "2026-11-12T00:00:00+07:00"})
    hq.publish(STORE, "transfer_order", "TO-HO-0001", {
        "number": "TO-HO-0001", "ordered_at": "2026-11-09T08:00:00+07:00",
        "lines": [{"sku": "CT-02", "quantity": "24"}, {"sku": "KS-01", "quantity": "10"}]})


def test_store_applies_what_ho_published_and_acknowledges_each(world) -> None:
    publish_week(world["hq"])
    summary = receive(world["pos"], world["ho"], STORE)
    assert (summary.read, summary.applied, summary.failed) == (4, 4, 0)

    with world["pos"].connect() as conn:
        prices = dict(conn.execute(select(ps.products.c.sku, ps.products.c.price)).all())
        promo = conn.execute(select(ps.promotions)).one()
        order = conn.execute(select(ps.supply_orders)).one()
        lines = conn.execute(select(ps.supply_order_lines.c.quantity)).scalars().all()
    assert prices == {"KS-01": Decimal("27000.00"), "CT-02": Decimal("32000.00")}
    assert promo.code == "PROMO-11" and promo.discount_percent == Decimal("20.00")
    assert (order.kind, order.number) == ("transfer_order", "TO-HO-0001") and sorted(lines) == [10, 24]
    assert {d["status"] for d in world["hq"].documents(ho.TO_STORE)} == {ho.PROCESSED}

    again = receive(world["pos"], world["ho"], STORE)
    assert again.read == 0, "a processed document is not applied twice"


def test_a_document_the_store_cannot_apply_fails_alone_with_its_reason(world) -> None:
    hq = world["hq"]
    hq.publish(STORE, "transfer_order", "TO-HO-0002", {
        "number": "TO-HO-0002", "ordered_at": "2026-11-09T08:00:00+07:00", "lines": [{"sku": "NOPE", "quantity": "1"}]})
    hq.publish(STORE, "price", "KS-01", {"sku": "KS-01", "price": "26000.00"})
    summary = receive(world["pos"], world["ho"], STORE)
    assert (summary.applied, summary.failed) == (1, 1)
    docs = {d["doc_key"]: d for d in hq.documents(ho.TO_STORE)}
    assert docs["TO-HO-0002"]["status"] == ho.FAILED and "unknown item 'NOPE'" in docs["TO-HO-0002"]["reason"]
    assert docs["KS-01"]["status"] == ho.PROCESSED
    with world["pos"].connect() as conn:
        assert conn.execute(select(ps.supply_orders)).first() is None, "nothing half-written"


def sell_register_and_receive(world) -> None:
    shop = world["shop"]
    customer = shop.customer("Budi Santoso", "C-001", updated_at=T0 + timedelta(hours=1))
    assert customer
    shop.order("INV-JKT01-20261109-0001", [Line("Kopi Susu", 2)], outlet=STORE, at=T0 + timedelta(hours=2),
               customer="Budi Santoso")
    record_goods_receipt(world["pos"], GoodsReceipt(
        source="headoffice", source_number="TO-HO-0001", integration="ho_demo", outlet_code=STORE,
        received_at=T0 + timedelta(hours=3), lines=[ReceiptLine("KS-01", Decimal("10"))]))


def test_new_documents_go_up_once_and_come_back_processed(world) -> None:
    publish_week(world["hq"])
    receive(world["pos"], world["ho"], STORE)
    sell_register_and_receive(world)

    first = send(world["pos"], world["ho"], STORE, customers=True)
    assert (first.recorded, first.uploaded, first.skipped) == (3, 3, 0)
    uploaded = world["hq"].documents(ho.FROM_STORE, STORE)
    assert sorted((d["doc_type"], d["status"]) for d in uploaded) == [
        ("customer", ho.UPLOADED), ("goods_received", ho.UPLOADED), ("sale", ho.UPLOADED)]

    assert world["hq"].apply_uploads() == {ho.PROCESSED: 3, ho.FAILED: 0}
    second = send(world["pos"], world["ho"], STORE, customers=True)
    assert (second.recorded, second.uploaded, second.processed, second.rejected) == (0, 0, 3, 0)
    with world["pos"].connect() as conn:
        assert set(conn.execute(select(ps.business_events.c.status)).scalars()) == {"processed"}

    third = send(world["pos"], world["ho"], STORE, customers=True)
    assert third.as_dict() | {"store": STORE} == {"store": STORE, "recorded": 0, "read": 0, "uploaded": 0,
                                                  "skipped": 0, "processed": 0, "rejected": 0}

    # a changed document is a new version: the customer's new phone goes up, once
    with world["pos"].begin() as conn:
        conn.execute(update(ps.customers).values(phone="0812", updated_at=T0 + timedelta(hours=5)))
    changed = send(world["pos"], world["ho"], STORE, customers=True)
    assert (changed.recorded, changed.uploaded) == (1, 1)


def test_a_document_ho_rejects_is_failed_with_the_reason_and_blocks_nothing(world) -> None:
    publish_week(world["hq"])
    receive(world["pos"], world["ho"], STORE)
    world["shop"].product("Es Teh Lokal", "8000.00", sku="LOCAL-9")  # a store-only item HO never heard of
    world["shop"].order("INV-JKT01-20261109-0002", [Line("Es Teh Lokal", 1)], outlet=STORE, at=T0)
    sell_register_and_receive(world)
    send(world["pos"], world["ho"], STORE, customers=True)
    assert world["hq"].apply_uploads() == {ho.PROCESSED: 3, ho.FAILED: 1}

    verdicts = send(world["pos"], world["ho"], STORE, customers=True)
    assert (verdicts.processed, verdicts.rejected) == (3, 1)
    assert "INV-JKT01-20261109-0002" in verdicts.failures[0] and "unknown item 'LOCAL-9'" in verdicts.failures[0]
    with world["pos"].connect() as conn:
        failed = conn.execute(select(ps.business_events).where(ps.business_events.c.status == "failed")).one()
    assert failed.document_key == "INV-JKT01-20261109-0002" and "LOCAL-9" in failed.reason

    report = status_report(world["ho"], [STORE])
    assert report["counts"] == {"received": {ho.PROCESSED: 4}, "sent": {ho.PROCESSED: 3, ho.FAILED: 1}}
    assert any(row["status"] == ho.FAILED and "LOCAL-9" in row["reason"] for row in report["sent"])


def test_an_upload_whose_reply_was_lost_is_not_sent_twice(world) -> None:
    sell_register_and_receive(world)
    send(world["pos"], world["ho"], STORE)
    with world["pos"].begin() as conn:  # as if the store crashed before marking its events uploaded
        conn.execute(update(ps.business_events).values(status="pending", sent_at=None))
    again = send(world["pos"], world["ho"], STORE)
    assert (again.uploaded, again.skipped) == (0, 2)
    assert len(world["hq"].documents(ho.FROM_STORE)) == 2


def test_the_store_sends_only_its_own_documents(world) -> None:
    world["shop"].order("INV-BDG01-20261109-0001", [Line("Kopi Susu", 1)], outlet="BDG01", at=T0)
    sell_register_and_receive(world)
    jkt = send(world["pos"], world["ho"], STORE)
    bdg = send(world["pos"], world["ho"], "BDG01")
    assert (jkt.uploaded, bdg.uploaded) == (2, 1), "customers go with customers=True only"


def test_documents_before_the_start_date_are_not_sent(world) -> None:
    sell_register_and_receive(world)
    later = send(world["pos"], world["ho"], STORE, start=T0 + timedelta(days=1))
    # the sale was committed on T0; the goods receipt was written into the POS just now
    assert [d["doc_type"] for d in world["hq"].documents(ho.FROM_STORE)] == ["goods_received"]
    assert later.recorded == 1


def test_hook_reads_the_version_and_refuses_another_major(world) -> None:
    hook = HeadOfficeHook(url=world["ho_url"])
    assert hook.check("2.x") == "2.4.0"
    assert hook.test_connection() == (True, "head office database answers, schema version 2.4.0")
    world["hq"].set_version("3.0.1")
    with pytest.raises(VersionMismatch, match=r"head office schema version 3\.0\.1 .* exchange version 2\.x"):
        HeadOfficeHook(url=world["ho_url"]).check("2.x")


def test_hook_says_clearly_when_ho_is_unreachable(tmp_path) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(HeadOfficeUnreachable, match=rf"cannot reach the head office database at 127.0.0.1:{port}"):
        HeadOfficeHook(url=f"postgresql+psycopg2://possync@127.0.0.1:{port}/ho").check("2.x")
    with pytest.raises(HeadOfficeUnreachable, match="no such file"):
        HeadOfficeHook(url=f"sqlite:///{tmp_path / 'missing.db'}").check("2.x")
    assert not (tmp_path / "missing.db").exists()
