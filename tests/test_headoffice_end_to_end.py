"""End to end, through Airflow (``dag.test``): a POS and a head office database, each its own PostgreSQL
database. HO publishes items, a promotion and a transfer order; the exchange DAG applies them to the POS and
acknowledges them; the store sells, registers a customer and receives the goods; the next run uploads them
and, once HO applied them, brings back PROCESSED. A second run moves nothing. A version mismatch and an
unreachable HO fail the check task with a clear message and touch nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from conftest import _drop_pg_database, _new_pg_database
from possync.db import make_engine
from possync.pos import schema as ps
from possync.pos.receiving import GoodsReceipt, ReceiptLine, record_goods_receipt
from possync.targets.headoffice import schema as ho
from possync_devkit.headoffice_simulator import HeadOfficeSimulator
from support.net import free_port
from support.pos_builder import T0, Line, Pos

DAGS = Path(__file__).resolve().parents[1] / "dags"
DAG_ID = "ho_demo__exchange"
STORE = "JKT01"


def airflow_conn(url: str) -> str:
    u = make_url(url)
    return json.dumps({"conn_type": "postgres", "host": u.host, "port": u.port, "login": u.username,
                       "password": u.password or "", "schema": u.database})


@pytest.fixture
def world(pg_server: str, monkeypatch: pytest.MonkeyPatch, airflow_db: Path) -> Iterator[dict[str, Any]]:
    names = []
    try:
        (pos_name, pos_url), (ho_name, ho_url) = _new_pg_database(pg_server), _new_pg_database(pg_server)
        names = [pos_name, ho_name]
        pos_engine, ho_engine = make_engine(pos_url), make_engine(ho_url)
        shop = Pos(pos_engine)
        for code in ("JKT01", "BDG01", "SBY01"):
            shop.outlet(code)
        shop.product("Kopi Susu", "25000.00", sku="KS-01")
        hq = HeadOfficeSimulator(ho_engine, version="2.4.0")
        monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_POS", airflow_conn(pos_url))
        monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_HEADOFFICE", airflow_conn(ho_url))
        yield {"pos": pos_engine, "ho": ho_engine, "shop": shop, "hq": hq}
        pos_engine.dispose()
        ho_engine.dispose()
    finally:
        for name in names:
            _drop_pg_database(pg_server, name)


def run_exchange(conf: dict[str, Any] | None = None) -> dict[tuple[str, int], str]:
    """Each task's state, and the run's own under ``("run", -1)``."""
    from airflow.dag_processing.dagbag import DagBag

    run = DagBag(dag_folder=str(DAGS)).get_dag(DAG_ID).test(run_conf=conf or {})
    return {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()} | {("run", -1): run.state}


def pos_snapshot(pos: Any) -> dict[str, Any]:
    with pos.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar()
                for table in (ps.products, ps.promotions, ps.supply_orders, ps.business_events)} | {
            "prices": dict(conn.execute(select(ps.products.c.sku, ps.products.c.price)).all())}


def ho_snapshot(hq: HeadOfficeSimulator) -> list[tuple]:
    return [tuple(d.values()) for direction in (ho.TO_STORE, ho.FROM_STORE) for d in hq.documents(direction)]


def publish(hq: HeadOfficeSimulator) -> None:
    hq.publish_item([STORE], "KS-01", "Kopi Susu", "27000.00")
    hq.publish_item([STORE], "CT-02", "Croissant Tuna", "32000.00")
    hq.publish(STORE, "promotion", "PROMO-11", {
        "code": "PROMO-11", "name": "11.11 Kopi", "sku": "KS-01", "promo_price": "20000.00",
        "starts_at": "2026-11-11T00:00:00+07:00", "ends_at": "2026-11-12T00:00:00+07:00"})
    hq.publish(STORE, "transfer_order", "TO-HO-0001", {
        "number": "TO-HO-0001", "ordered_at": "2026-11-09T08:00:00+07:00",
        "lines": [{"sku": "CT-02", "quantity": "24"}]})


def test_store_and_head_office_exchange_through_airflow(world) -> None:
    hq, pos = world["hq"], world["pos"]
    publish(hq)

    states = run_exchange({"stores": [STORE]})
    assert states == {("check_headoffice", -1): "success", ("plan_stores", -1): "success",
                      ("receive", 0): "success", ("send", 0): "success", ("run_result", -1): "success",
                      ("run", -1): "success"}
    assert {d["status"] for d in hq.documents(ho.TO_STORE)} == {ho.PROCESSED}
    snapshot = pos_snapshot(pos)
    assert snapshot["prices"] == {"KS-01": Decimal("27000.00"), "CT-02": Decimal("32000.00")}
    assert (snapshot["promotions"], snapshot["supply_orders"]) == (1, 1)

    # the store sells, registers a customer and receives the transferred goods
    world["shop"].customer("Budi Santoso", "C-001", updated_at=T0)
    world["shop"].order("INV-JKT01-20261109-0001", [Line("Kopi Susu", 2)], outlet=STORE, at=T0 + timedelta(hours=1),
                        customer="Budi Santoso")
    record_goods_receipt(pos, GoodsReceipt(source="headoffice", source_number="TO-HO-0001", integration="ho_demo",
                                           outlet_code=STORE, received_at=T0 + timedelta(hours=2),
                                           lines=[ReceiptLine("CT-02", Decimal("24"))]))
    states = run_exchange()  # every store, as the schedule runs it
    assert set(states.values()) == {"success"} and len(states) == 2 + 3 * 2 + 2
    uploaded = {(d["doc_type"], d["doc_key"]): d["status"] for d in hq.documents(ho.FROM_STORE)}
    assert uploaded == {("customer", "CUST-1"): ho.UPLOADED, ("sale", "INV-JKT01-20261109-0001"): ho.UPLOADED,
                        ("goods_received", "TO-HO-0001"): ho.UPLOADED}

    assert hq.apply_uploads() == {ho.PROCESSED: 3, ho.FAILED: 0}
    run_exchange()
    assert {d["status"] for d in hq.documents(ho.FROM_STORE)} == {ho.PROCESSED}
    with pos.connect() as conn:
        assert set(conn.execute(select(ps.business_events.c.status)).scalars()) == {"processed"}

    before = (pos_snapshot(pos), ho_snapshot(hq))
    assert set(run_exchange().values()) == {"success"}
    assert (pos_snapshot(pos), ho_snapshot(hq)) == before, "a second run moves nothing"

    from possync.cli import main

    assert main(["headoffice", "status", "--ho-url", str(world["ho"].url.render_as_string(hide_password=False)),
                 "--json"]) == 0


def test_a_rejected_upload_fails_the_send_task_with_the_reason(world, capsys: pytest.CaptureFixture[str]) -> None:
    hq = world["hq"]
    publish(hq)
    world["shop"].product("Es Teh Lokal", "8000.00", sku="LOCAL-9")
    world["shop"].order("INV-JKT01-20261109-0002", [Line("Es Teh Lokal", 1)], outlet=STORE, at=T0)
    world["shop"].order("INV-JKT01-20261109-0003", [Line("Kopi Susu", 1)], outlet=STORE, at=T0)
    run_exchange({"stores": [STORE]})
    hq.apply_uploads()
    capsys.readouterr()
    states = run_exchange({"stores": [STORE]})
    assert states["send", 0] == "failed" and states["run", -1] == "failed"
    assert "unknown item 'LOCAL-9'" in capsys.readouterr().out
    statuses = {d["doc_key"]: d["status"] for d in hq.documents(ho.FROM_STORE)}
    assert statuses == {"INV-JKT01-20261109-0002": ho.FAILED, "INV-JKT01-20261109-0003": ho.PROCESSED}


def test_a_document_the_store_cannot_apply_turns_the_run_red_though_send_went(world) -> None:
    hq = world["hq"]
    publish(hq)
    hq.publish(STORE, "promotion", "PROMO-99", {
        "code": "PROMO-99", "name": "Promo of an item HO never sent", "sku": "NOPE-99", "promo_price": "1000.00",
        "starts_at": "2026-11-11T00:00:00+07:00", "ends_at": "2026-11-12T00:00:00+07:00"})
    states = run_exchange({"stores": [STORE]})
    # send runs after a failed receive (all_done) and succeeds; before the run_result leaf, that made the run green
    assert (states["receive", 0], states["send", 0]) == ("failed", "success")
    assert states["run_result", -1] == "upstream_failed" and states["run", -1] == "failed"


def check_fails_touching_nothing(world, capsys, *expected: str) -> None:
    before = (pos_snapshot(world["pos"]), ho_snapshot(world["hq"]))
    capsys.readouterr()
    states = run_exchange()
    assert states["check_headoffice", -1] == "failed"
    assert all(state != "success" for (task, _), state in states.items() if task != "check_headoffice"), states
    out = capsys.readouterr().out
    for text in expected:
        assert text in out
    assert (pos_snapshot(world["pos"]), ho_snapshot(world["hq"])) == before, "nothing was touched"


def test_a_version_mismatch_stops_the_run_naming_both_versions(world, capsys) -> None:
    publish(world["hq"])
    world["shop"].order("INV-JKT01-20261109-0001", [Line("Kopi Susu", 1)], outlet=STORE, at=T0)
    world["hq"].set_version("3.1.0")
    check_fails_touching_nothing(world, capsys, "head office schema version 3.1.0 does not match this store's "
                                 "exchange version 2.x")


def test_an_unreachable_head_office_stops_the_run(world, capsys, monkeypatch) -> None:
    publish(world["hq"])
    world["shop"].order("INV-JKT01-20261109-0001", [Line("Kopi Susu", 1)], outlet=STORE, at=T0)
    port = free_port()  # nothing listens there
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_HEADOFFICE", json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": port, "login": "ho", "schema": "ho"}))
    check_fails_touching_nothing(world, capsys, f"cannot reach the head office database at 127.0.0.1:{port}/ho")
