"""POS transfers, adjustments and stock takes become documents: each transfer side on its own, exact
quantities, the demo's broken stock records rejected with plain reasons, windows and retries exact."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from possync.db import make_engine
from possync.pos import schema
from possync.pos.extract import Window, extract_stock
from possync.transform.stock import transform_stock
from possync_devkit.demo_pos import DemoSpec, generate

SPEC = DemoSpec(start_date=date(2026, 11, 9), days=5, orders_per_day=12)
WEEK = Window(datetime(2026, 11, 8, 17, tzinfo=UTC), datetime(2026, 11, 13, 17, tzinfo=UTC))  # Jakarta days
OUTLETS = ["BDG01", "JKT01", "SBY01", "WH01"]


@pytest.fixture(scope="module")
def pos(tmp_path_factory: pytest.TempPathFactory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('pos') / 'pos.db'}")
    generate(engine, SPEC)
    return engine


def pos_transfers(pos) -> dict[str, dict]:
    with pos.connect() as conn:
        rows = conn.execute(select(schema.transfers)).mappings().all()
        lines = conn.execute(select(schema.transfer_lines)).mappings().all()
    by_id = {row["id"]: {**row, "lines": []} for row in rows}
    for line in lines:
        by_id[line["transfer_id"]]["lines"].append(line)
    return {row["number"]: row for row in by_id.values()}


def test_each_side_of_a_transfer_is_its_own_document(pos) -> None:
    batch = transform_stock(extract_stock(pos, WEEK, OUTLETS))
    transfers = pos_transfers(pos)
    sent = {n for n, t in transfers.items() if t["sent_at"] is not None}
    received = {n for n, t in transfers.items() if t["received_at"] is not None}
    assert {d.key for d in batch.transfer_outs} == sent
    assert {d.key for d in batch.transfer_ins} == received
    assert sent != received, "the demo week ends with goods still on the road"

    for transfer_in in batch.transfer_ins:
        source = transfers[transfer_in.key]
        assert transfer_in.outlet_code != transfer_in.from_outlet_code
        for line, pos_line in zip(transfer_in.lines, source["lines"], strict=True):
            assert (line.sent, line.quantity) == (pos_line["quantity_sent"], pos_line["quantity_received"])
            assert line.shortage == pos_line["quantity_sent"] - pos_line["quantity_received"]
    for transfer_out in batch.transfer_outs:
        assert [line.quantity for line in transfer_out.lines] == [
            line["quantity_sent"] for line in transfers[transfer_out.key]["lines"]]
        assert transfer_out.business_time.utcoffset() == timedelta(hours=7), "in the outlet's timezone"


def test_a_transfer_received_but_never_sent_fails_its_out_side(pos) -> None:
    batch = transform_stock(extract_stock(pos, WEEK, OUTLETS))
    [rejection] = [r for r in batch.rejections if r.record_type == "transfer_out"]
    assert rejection.key == "TO-0009"
    assert rejection.reason == (
        "transfer TO-0009 was received at JKT01 but never recorded as sent at BDG01 (no sent time); "
        "repair it in the POS"
    )
    assert "TO-0009" in {d.key for d in batch.transfer_ins}, "the in side waits in the loader for its out"


def test_stock_documents_and_their_broken_record(pos) -> None:
    batch = transform_stock(extract_stock(pos, WEEK, OUTLETS))
    [rejection] = [r for r in batch.rejections if r.record_type == "adjustment"]
    assert (rejection.key, rejection.reason) == (
        "ADJ-JKT01-0002", "product 'Kopi Susu Gula Aren Seasonal 1L' has no SKU")
    with pos.connect() as conn:
        takes = conn.execute(select(func.count()).where(schema.stock_adjustments.c.kind == "stock_take")).scalar()
        changes = dict(conn.execute(
            select(schema.stock_adjustments.c.number, func.sum(schema.stock_adjustment_lines.c.quantity_change))
            .join(schema.stock_adjustment_lines).group_by(schema.stock_adjustments.c.number)
        ).all())
    assert len(batch.stock_takes) == takes == 3
    for take in batch.stock_takes:
        assert sum((line.difference for line in take.lines), Decimal(0)) == changes[take.key]
        assert all(line.quantity == line.expected + line.difference for line in take.lines)
    for adjustment in batch.adjustments:
        assert sum((line.quantity for line in adjustment.lines), Decimal(0)) == changes[adjustment.key]
        assert all(line.quantity != 0 and line.unit_cost is not None for line in adjustment.lines)
    times = [d.business_time for d in batch.adjustments]
    assert times == sorted(times), "oldest first"


def test_outlets_choose_the_side_they_own(pos) -> None:
    batch = transform_stock(extract_stock(pos, WEEK, ["JKT01"]), ["JKT01"])
    assert batch.transfer_outs and all(d.outlet_code == "JKT01" for d in batch.transfer_outs)
    assert batch.transfer_ins and all(d.outlet_code == "JKT01" for d in batch.transfer_ins)
    assert all(d.outlet_code == "JKT01" for d in (*batch.adjustments, *batch.stock_takes))


def test_window_is_exact_and_retries_reach_outside_it(pos) -> None:
    day = Window(datetime(2026, 11, 9, 17, tzinfo=UTC), datetime(2026, 11, 10, 17, tzinfo=UTC))
    batch = transform_stock(extract_stock(pos, day, OUTLETS), until=day.end)
    assert all(d.business_time in day for d in (*batch.transfer_ins, *batch.adjustments))
    received = {d.key for d in batch.transfer_ins}
    assert any(d.business_time not in day for d in batch.transfer_outs), "an in brings its out along"
    assert all(d.business_time in day or d.key in received for d in batch.transfer_outs)
    sent_that_day = {n for n, t in pos_transfers(pos).items()
                     if t["sent_at"] and day.start <= t["sent_at"].replace(tzinfo=UTC) < day.end}
    assert {d.key for d in batch.transfer_outs if d.business_time in day} == sent_that_day

    retried = transform_stock(extract_stock(pos, day, OUTLETS, retry_transfer_numbers=["TO-0001"],
                                            retry_adjustment_numbers=["ST-JKT01-20261113"]), until=day.end)
    assert "TO-0001" in {d.key for d in retried.transfer_outs} - {d.key for d in batch.transfer_outs}
    assert "ST-JKT01-20261113" in {d.key for d in retried.stock_takes}


def test_late_records_are_swept_and_cancelled_transfers_never_read(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pos.db'}")
    generate(engine, SPEC)
    day = Window(datetime(2026, 11, 10, 17, tzinfo=UTC), datetime(2026, 11, 11, 17, tzinfo=UTC))
    with engine.begin() as conn:
        number = conn.execute(select(schema.transfers.c.number)
                                       .where(schema.transfers.c.received_at < day.start)
                                       .order_by(schema.transfers.c.sent_at.desc())).scalar()
        conn.execute(update(schema.transfers).where(schema.transfers.c.number == number)
                     .values(committed_at=day.start + timedelta(hours=1)))
        conn.execute(update(schema.transfers).where(schema.transfers.c.number == "TO-0001")
                     .values(status="cancelled"))

    def keys(window: Window, **kwargs: object) -> set[str]:
        batch = transform_stock(extract_stock(engine, window, OUTLETS, **kwargs), until=window.end)
        return {d.key for d in (*batch.transfer_outs, *batch.transfer_ins)}

    assert number in keys(day, lookback=timedelta(hours=48)), "committed after its window ran: caught by the sweep"
    assert number not in keys(day)
    everything = transform_stock(extract_stock(engine, WEEK, OUTLETS, retry_transfer_numbers=["TO-0001"]))
    assert "TO-0001" not in {d.key for d in (*everything.transfer_outs, *everything.transfer_ins)}


def received_on_line_one(tmp_path, number: str, received: object):
    engine = make_engine(f"sqlite:///{tmp_path / 'pos.db'}")
    generate(engine, SPEC)
    transfer_id = int(number.removeprefix("TO-"))
    with engine.begin() as conn:
        conn.execute(update(schema.transfer_lines).where(schema.transfer_lines.c.transfer_id == transfer_id,
                                                         schema.transfer_lines.c.line_no == 1)
                     .values(quantity_received=received))
    return transform_stock(extract_stock(engine, WEEK, OUTLETS))


def test_goods_lost_in_transit_are_the_shortage(tmp_path) -> None:
    batch = received_on_line_one(tmp_path, "TO-0001", schema.transfer_lines.c.quantity_sent - 2)
    [transfer_in] = [d for d in batch.transfer_ins if d.key == "TO-0001"]
    assert transfer_in.has_shortage and transfer_in.lines[0].shortage == Decimal("2.000")
    assert [line.shortage for line in transfer_in.lines[1:]] == [0] * (len(transfer_in.lines) - 1)


def test_a_received_quantity_above_what_was_sent_is_rejected(tmp_path) -> None:
    batch = received_on_line_one(tmp_path, "TO-0001", schema.transfer_lines.c.quantity_sent + 1)
    [rejection] = [r for r in batch.rejections if r.key == "TO-0001"]
    assert rejection.record_type == "transfer_in" and "but only" in rejection.reason and "were sent" in rejection.reason
    assert "TO-0001" in {d.key for d in batch.transfer_outs}, "the out side is still good"


def test_staging_records_every_side_and_fails_transfers_with_an_unmapped_outlet(pos, tmp_path) -> None:
    from possync.ledger import SyncLedger
    from possync.pipeline import stage_stock

    ledger = SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}", ensure_schema=True)
    outlets = ["BDG01", "JKT01", "SBY01"]  # the warehouse WH01 is not mapped in this integration
    summary, documents = stage_stock(pos, ledger, integration="it", flow="transfers", outlet_codes=outlets,
                                     mapped_outlets=outlets, window=WEEK, lookback=timedelta(hours=48))
    assert summary.read == summary.staged + summary.failed and summary.staged == len(documents)
    records = {(r.record_type, r.key): r for r in ledger.unsynced("it", "transfers", statuses=["failed", "pending"])}
    unmapped = "outlet WH01 is not mapped to a warehouse of it (integrations.yaml, outlets)"
    from_warehouse = [key for key, record in records.items()
                      if key[0] == "transfer_in" and record.status == "failed" and record.reason == unmapped]
    assert from_warehouse, "a delivery from the unmapped warehouse cannot be placed in the target"
    assert all(record.status == "pending" for key, record in records.items()
               if key not in from_warehouse and key[1] != "TO-0009")
    assert {d.record_type for d in documents} == {"transfer_out", "transfer_in"}
