"""End to end: the transfers DAG (sync_products → sync_transfers → sync_stock) runs in Airflow (``dag.test``)
against each live target sandbox after the week's sales, and the target's stock, read back through its
API, is what the POS says: per warehouse and product, the movements of every synced document (Jurnal's
counts keep the counted quantities); goods on the road sit in transit; broken transfers and stock records
fail with their reasons while everything else syncs; the repair story of a transfer-in whose transfer-out
failed ends with both synced once, and a manual sync moves exactly its date range."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from possync.pos import schema
from possync.stocksync import compare_stock
from support.books import Books, integration_of
from support.demo_week import WEEK_DATES, counted_levels, run_sales, run_transfers, stock_movements
from support.reconcile import add_opening_stock
from support.worlds import accurate_world, jurnal_world, sync_job

WORLDS = {"jurnal": jurnal_world, "accurate": accurate_world}
TRANSIT = "transit"  # the key stock_levels() files goods on the road under


@pytest.fixture(params=["jurnal", "accurate"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: Path):
    yield from WORLDS[request.param](tmp_path, monkeypatch)


def stock_levels(world: dict[str, Any]) -> dict[tuple[str, str], Decimal]:
    """(POS outlet code or TRANSIT, SKU) → the quantity the target reports, read through its API."""
    settings = integration_of(world)
    books = Books.for_world(world)
    outlet_of = {outlet.warehouse: code for code, outlet in settings.outlets.items()}
    outlet_of[books.transit_warehouse] = TRANSIT
    products = world["ledger"].id_maps(settings.name, "product")
    return {(outlet_of[warehouse], sku): quantity for (warehouse, sku), quantity in books.stock(products).items()
            if warehouse in outlet_of}


def expected_levels(world: dict[str, Any]) -> dict[tuple[str, str], Decimal]:
    """What the POS says each target must hold: the opening stock, the synced movements, and the goods on the road in
    transit.
    Jurnal's stock counts keep the counted quantity (``maintain_actual``), so its counted outlets hold exactly
    what was counted; Accurate receives the count's differences."""
    moved, in_transit = stock_movements(world["pos"], world["ledger"], world["integration"])
    settings = integration_of(world)
    products = world["ledger"].id_maps(settings.name, "product")
    add_opening_stock(moved, world["pos"], settings, products)
    expected = {key: quantity for key, quantity in moved.items() if quantity}
    expected.update({(TRANSIT, sku): quantity for sku, quantity in in_transit.items()})
    if world["target"] == "jurnal":
        counted = counted_levels(world["pos"])
        counted_outlets = {outlet for outlet, _sku in counted}
        expected = {key: q for key, q in expected.items() if key[0] not in counted_outlets}
        expected.update({key: quantity for key, quantity in counted.items() if quantity})
    return expected


def failed_moves(world: dict[str, Any]) -> dict[tuple[str, str], Decimal]:
    """(outlet, SKU) → what the week's records that failed moved in the POS and so the target lacks: sales and
    refunds, transfer sides and adjustments the ledger holds as failed, of products that track stock (Jurnal's
    counted outlets excepted: its stock
    take keeps the counted quantity, whatever came before)."""
    s = schema
    settings = integration_of(world)
    products = world["ledger"].id_maps(settings.name, "product")
    failed: dict[str, set[str]] = {}
    for flow in ("sales", "transfers", "stock"):
        for r in world["ledger"].unsynced(settings.name, flow, statuses=["failed"]):
            failed.setdefault(r.record_type, set()).add(r.key)
    moves: dict[tuple[str, str], Decimal] = Counter()
    source, destination = s.outlets.alias("src"), s.outlets.alias("dst")
    with world["pos"].connect() as conn:
        for number, code, sku, quantity in conn.execute(
                select(s.orders.c.number, s.outlets.c.code, s.products.c.sku, s.order_lines.c.quantity)
                .join(s.order_lines, s.order_lines.c.order_id == s.orders.c.id)
                .join(s.products, s.products.c.id == s.order_lines.c.product_id)
                .join(s.outlets, s.outlets.c.id == s.orders.c.outlet_id)):
            if number in failed.get("invoice", ()):
                moves[code, sku] -= quantity
        for number, code, sku, quantity in conn.execute(
                select(s.refunds.c.number, s.outlets.c.code, s.products.c.sku, s.refund_lines.c.quantity)
                .join(s.refund_lines, s.refund_lines.c.refund_id == s.refunds.c.id)
                .join(s.order_lines, s.order_lines.c.id == s.refund_lines.c.order_line_id)
                .join(s.products, s.products.c.id == s.order_lines.c.product_id)
                .join(s.outlets, s.outlets.c.id == s.refunds.c.outlet_id)):
            if number in failed.get("return", ()):
                moves[code, sku] += quantity
        for number, src, dst, sku, sent, received, sent_at in conn.execute(
                select(s.transfers.c.number, source.c.code, destination.c.code, s.products.c.sku,
                       s.transfer_lines.c.quantity_sent, s.transfer_lines.c.quantity_received, s.transfers.c.sent_at)
                .join(s.transfer_lines, s.transfer_lines.c.transfer_id == s.transfers.c.id)
                .join(s.products, s.products.c.id == s.transfer_lines.c.product_id)
                .join(source, source.c.id == s.transfers.c.from_outlet_id)
                .join(destination, destination.c.id == s.transfers.c.to_outlet_id)):
            if number in failed.get("transfer_out", ()) and sent_at is not None:
                moves[src, sku] -= sent
            if number in failed.get("transfer_in", ()):
                moves[dst, sku] += received or 0
        for number, code, sku, change in conn.execute(
                select(s.stock_adjustments.c.number, s.outlets.c.code, s.products.c.sku,
                       s.stock_adjustment_lines.c.quantity_change)
                .join(s.stock_adjustment_lines, s.stock_adjustment_lines.c.adjustment_id == s.stock_adjustments.c.id)
                .join(s.products, s.products.c.id == s.stock_adjustment_lines.c.product_id)
                .join(s.outlets, s.outlets.c.id == s.stock_adjustments.c.outlet_id)):
            if number in failed.get("adjustment", set()) | failed.get("stock_take", set()):
                moves[code, sku] += change
        tracked = set(conn.execute(select(s.products.c.sku).where(s.products.c.track_stock.is_(True))).scalars())
    counted = {outlet for outlet, _sku in counted_levels(world["pos"])} if world["target"] == "jurnal" else set()
    return {place: quantity for place, quantity in moves.items()
            if quantity and place[1] in products and place[1] in tracked and place[0] not in counted}


def extra_links(dag_id: str) -> dict[tuple[str, int], dict[str, str]]:
    """(task, map index) → {link name: URL} of the DAG's latest run, as the UI's task links show them."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    names = {"_link_SyncedRecordsLink": "Synced records", "_link_TargetDocumentLink": "Open in target"}
    links: dict[tuple[str, int], dict[str, str]] = {}
    with create_session() as session:
        latest = session.query(XComModel.run_id).filter(XComModel.dag_id == dag_id).order_by(
            XComModel.timestamp.desc()).first()
        for xcom in session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == latest[0],
                                                    XComModel.key.in_(names)):
            links.setdefault((xcom.task_id, xcom.map_index), {})[names[xcom.key]] = XComModel.deserialize_value(xcom)
    return links


def records(world: dict[str, Any], flow: str) -> dict[tuple[str, str], Any]:
    ledger, name = world["ledger"], world["integration"]
    statuses = ["synced", "failed", "pending", "skipped"]
    return {(r.record_type, r.key): r for r in ledger.unsynced(name, flow, statuses=statuses)}


def test_the_weeks_stock_moves_land_in_the_target(world) -> None:
    name = world["integration"]
    run_sales(f"{name}__sales")
    states = run_transfers(f"{name}__transfers", WEEK_DATES)
    assert states["sync_transfers", 0] == "failed", "TO-0009 cannot sync: its task is red"
    assert Counter(state for (task, _), state in states.items() if task == "sync_stock") == {
        "failed": 1, "success": 3}, "only JKT01's stock task holds a broken record"

    transfers, stock = records(world, "transfers"), records(world, "stock")
    out9, in9 = transfers["transfer_out", "TO-0009"], transfers["transfer_in", "TO-0009"]
    assert (out9.status, in9.status) == ("failed", "failed")
    assert "never recorded as sent" in out9.reason
    assert in9.reason == "transfer-out TO-0009 has not been synced yet; repair it first"
    adjustment = stock["adjustment", "ADJ-JKT01-0002"]
    assert adjustment.status == "failed"
    assert adjustment.reason == "product 'Kopi Susu Gula Aren Seasonal 1L' has no SKU"
    failed = {key for key, record in {**transfers, **stock}.items() if record.status != "synced"}
    assert failed == {("transfer_out", "TO-0009"), ("transfer_in", "TO-0009"), ("adjustment", "ADJ-JKT01-0002")}
    with world["pos"].connect() as conn:
        numbers = set(conn.execute(select(schema.stock_adjustments.c.number)).scalars())
    assert {key for _kind, key in stock} == numbers, "every adjustment and stock take of the week, once"
    assert sum(1 for (kind, _), r in transfers.items() if kind == "transfer_in" and r.status == "synced") >= 10

    links = extra_links(f"{name}__transfers")
    assert links["sync_transfers", 0]["Synced records"].startswith(f"/sync-status/?integration={name}&dag_id=")
    opened = links["sync_transfers", 0]["Open in target"]
    assert opened.startswith("https://my.jurnal.id/warehouse_transfers/" if world["target"] == "jurnal"
                             else "https://accurate.id"), opened

    levels = stock_levels(world)
    assert any(outlet == TRANSIT for outlet, _sku in levels), "the week ends with goods on the road"
    assert levels == expected_levels(world)

    # the stock comparison (possync stock compare) reads the same target stock, and the POS's stock now: after the
    # week with opening stock they differ only where a record that failed would have moved stock
    job = sync_job(world)
    rows = compare_stock(job)
    assert {(r.outlet_code, r.sku): r.target for r in rows if r.target} == {
        place: quantity for place, quantity in levels.items() if place[0] != TRANSIT and quantity}
    differences = {(r.outlet_code, r.sku): r.difference for r in rows if r.difference}
    assert differences == failed_moves(world)
    assert (differences == {}) == (world["target"] == "jurnal"), "Jurnal's counts leave no difference"
    # each is explained by the failed records whose moves the target misses, adding up to it exactly
    assert all(r.explained for r in rows if r.difference), [r.explanation for r in rows if not r.explained]
    assert {u.why.split(":")[0] for r in rows for u in r.unsynced} <= {"failed"}

    # a second run over the same range (a retry, an overlapping backfill) moves nothing again
    run_transfers(f"{name}__transfers", WEEK_DATES)
    assert stock_levels(world) == levels


def target_transfer_numbers(world: dict[str, Any]) -> Counter:
    """How many times each transfer number is in the target (read through its API)."""
    return Books.for_world(world).transfer_numbers()


def test_a_transfer_in_waits_for_its_repaired_transfer_out_then_both_sync_once(world) -> None:
    name = world["integration"]
    run_transfers(f"{name}__transfers", WEEK_DATES)
    transfers = records(world, "transfers")
    assert transfers["transfer_in", "TO-0009"].reason == "transfer-out TO-0009 has not been synced yet; repair it first"
    assert "TO-0009/IN" not in target_transfer_numbers(world)

    # The repair: the sending till's record is restored in the POS (it left three hours before it arrived).
    with world["pos"].begin() as conn:
        received_at = conn.execute(select(schema.transfers.c.received_at)
                                   .where(schema.transfers.c.number == "TO-0009")).scalar_one()
        conn.execute(update(schema.transfers).where(schema.transfers.c.number == "TO-0009").values(
            sent_at=received_at - timedelta(hours=3), committed_at=datetime.now(UTC)))
        # and with it the goods it sent leave the source's stock level (the opening stock posted at the start, the
        # level then, stays what it was)
        transfer = schema.transfers.alias("t")
        for source, product, sent in conn.execute(
                select(transfer.c.from_outlet_id, schema.transfer_lines.c.product_id,
                       schema.transfer_lines.c.quantity_sent)
                .join(schema.transfer_lines, schema.transfer_lines.c.transfer_id == transfer.c.id)
                .where(transfer.c.number == "TO-0009")).all():
            level = schema.stock_levels.c
            conn.execute(update(schema.stock_levels).where(level.outlet_id == source, level.product_id == product)
                         .values(quantity=level.quantity - sent))

    # The next run covers a later day only; earlier failures are retried, oldest first: the out, then the in.
    states = run_transfers(f"{name}__transfers", {"from_date": "2026-11-13", "to_date": "2026-11-13"})
    assert states["sync_transfers", 0] == "success"
    transfers = records(world, "transfers")
    assert transfers["transfer_out", "TO-0009"].status == transfers["transfer_in", "TO-0009"].status == "synced"
    numbers = target_transfer_numbers(world)
    assert numbers["TO-0009/OUT"] == numbers["TO-0009/IN"] == 1
    assert set(numbers.values()) == {1}, "no transfer document twice"
    assert stock_levels(world) == expected_levels(world)

    run_transfers(f"{name}__transfers", WEEK_DATES)
    assert target_transfer_numbers(world) == numbers, "nothing is sent again"


@pytest.fixture
def accurate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: Path):
    yield from accurate_world(tmp_path, monkeypatch)


def transfers_dag_as_triggered(dag_id: str) -> Any:
    """The DAG as the API server holds it (serialised): its params validate a trigger's conf."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    from support.demo_week import DAGS

    return DagSerialization.from_dict(DagSerialization.to_dict(DagBag(dag_folder=str(DAGS)).get_dag(dag_id)))


@pytest.mark.parametrize(("conf", "message"), [
    ({}, "from_date"),
    ({"from_date": "2026-11-10"}, "to_date"),
    ({"from_date": "10/11/2026", "to_date": "2026-11-11"}, "'10/11/2026' is not a 'date'"),
    ({"from_date": "2026-11-10", "to_date": "2026-02-30"}, "'2026-02-30' is not a 'date'"),
    ({**WEEK_DATES, "outlets": ["XYZ99"]}, "'XYZ99' is not one of ['BDG01', 'JKT01', 'SBY01', 'WH01']"),
])
def test_a_manual_sync_rejects_bad_parameters_before_any_run(conf: dict, message: str, airflow_db: Path) -> None:
    from airflow.exceptions import ParamValidationError

    dag = transfers_dag_as_triggered("accurate_demo__transfers")
    assert dag.timetable.summary == "None", "manual: nothing runs unless ops trigger it"
    with pytest.raises(ParamValidationError) as error:
        dag.params.deep_merge(conf).validate()  # what the API server's trigger endpoint does with the conf
    assert message in str(error.value)
    dag.params.deep_merge(WEEK_DATES).validate()


def test_a_manual_sync_moves_exactly_its_date_range_and_outlets(accurate) -> None:
    from zoneinfo import ZoneInfo

    states = run_transfers("accurate_demo__transfers", {"from_date": "2026-11-12", "to_date": "2026-11-10"})
    assert states["plan_stock_windows", -1] == "failed", "an inverted range fails before anything moves"
    assert not records(accurate, "transfers") and not records(accurate, "stock")

    chosen = {"JKT01", "BDG01"}
    run_transfers("accurate_demo__transfers",
                  {"from_date": "2026-11-10", "to_date": "2026-11-11", "outlets": sorted(chosen)})
    jakarta = ZoneInfo("Asia/Jakarta")
    first, last = datetime(2026, 11, 10, tzinfo=jakarta), datetime(2026, 11, 12, tzinfo=jakarta)
    transfers, stock = records(accurate, "transfers"), records(accurate, "stock")
    assert stock and all(r.outlet_code in chosen and first <= r.business_time < last for r in stock.values())
    with accurate["pos"].connect() as conn:
        s = schema
        in_range = set(conn.execute(
            select(s.stock_adjustments.c.number).join(s.outlets, s.outlets.c.id == s.stock_adjustments.c.outlet_id)
            .where(s.outlets.c.code.in_(chosen), s.stock_adjustments.c.business_time >= first,
                   s.stock_adjustments.c.business_time < last)).scalars())
        source, destination = s.outlets.alias("source"), s.outlets.alias("destination")
        sides = conn.execute(select(s.transfers.c.number, s.transfers.c.sent_at, s.transfers.c.received_at,
                                    source.c.code, destination.c.code)
                             .join(source, source.c.id == s.transfers.c.from_outlet_id)
                             .join(destination, destination.c.id == s.transfers.c.to_outlet_id)).all()
    assert {key for _kind, key in stock} == in_range, "every stock record of the range and outlets, no other"
    expected_ins = {n for n, _sent, received, _f, to in sides
                    if received and to in chosen and first <= received.replace(tzinfo=UTC) < last}
    assert {key for kind, key in transfers if kind == "transfer_in"} == expected_ins
    expected_outs = {n for n, sent, _r, source, _t in sides
                     if sent and source in chosen and first <= sent.replace(tzinfo=UTC) < last}
    outs = {key for kind, key in transfers if kind == "transfer_out"}
    assert expected_outs <= outs, "every transfer sent in the range"
    assert outs - expected_outs <= expected_ins, "others only as the out side of a transfer received in the range"
    synced = sum(1 for r in transfers.values() if r.status == "synced")
    assert sum(target_transfer_numbers(accurate).values()) == synced


def target_adjustment_numbers(world: dict[str, Any]) -> Counter:
    return Books.for_world(world).adjustment_numbers()


def test_lost_replies_are_found_again_not_posted_twice(world) -> None:
    name = world["integration"]
    run_transfers(f"{name}__transfers", WEEK_DATES)  # products and warehouses first, without faults
    with world["pos"].begin() as conn:  # a fresh week of moves: every document is new to the target
        conn.execute(update(schema.transfers).values(number=schema.transfers.c.number + "B"))
        conn.execute(update(schema.stock_adjustments).values(number=schema.stock_adjustments.c.number + "B"))
    world["admin"].faults({"drop_after_commit_rate": 0.4, "seed": 5})
    run_transfers(f"{name}__transfers", WEEK_DATES)
    world["admin"].faults({})
    run_transfers(f"{name}__transfers", WEEK_DATES)

    transfers, adjustments = target_transfer_numbers(world), target_adjustment_numbers(world)
    assert set(transfers.values()) == {1} and set(adjustments.values()) == {1}, "nothing posted twice"
    ledger = {**records(world, "transfers"), **records(world, "stock")}
    synced = {(kind, key) for (kind, key), r in ledger.items() if r.status == "synced" and key.endswith("B")}
    assert ("transfer_in", "TO-0001B") in synced and ("adjustment", "ADJ-BDG01-0001B") in synced
    for kind, key in synced:  # every synced record is in the target, once, whether its reply was lost or not
        if kind in ("transfer_out", "transfer_in"):
            assert transfers[f"{key}/{'OUT' if kind == 'transfer_out' else 'IN'}"] == 1, key
        elif kind == "adjustment":
            assert adjustments[key] == 1, key
