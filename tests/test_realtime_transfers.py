"""``transfers.mode: realtime``: with the transfer schedule off, each transfer side syncs in the next real-time sales
run (the sales DAG gains ``sync_transfers``); with any other mode the sales DAG is as it was."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from pydantic import ValidationError

from possync.config import Integration, PossyncConfig
from possync.dagfactory import build_dags

REALTIME = {"name": "acc_rt", "target": "accurate", "conn_id": "acc_rt", "pos_conn_id": "acc_rt_pos",
            "ledger_conn_id": "acc_rt_ledger", "start_date": "2026-11-09",
            "sales": {"mode": "realtime", "every_minutes": 5}, "transfers": {"mode": "realtime"},
            "outlets": {"JKT01": {"warehouse": "Kemang", "branch": "Jakarta"},
                        "BDG01": {"warehouse": "Dago", "branch": "Bandung"}}}


def test_realtime_transfers_ride_the_sales_runs_and_other_modes_change_nothing() -> None:
    off = {**REALTIME, "name": "acc_off", "transfers": {"mode": "manual"}}
    dags = build_dags(PossyncConfig.model_validate({"integrations": [REALTIME, off]}))
    sales = dags["acc_rt__sales"]
    transfers = sales.get_task("sync_transfers")
    assert transfers.upstream_task_ids == {"sync_products", "plan_transfers"}
    assert sales.get_task("plan_transfers").upstream_task_ids == {"plan_sales_windows"}
    assert transfers.pool == "accurate_api" and "sync_transfers" in sales.get_task("run_result").upstream_task_ids
    assert "Transfers in real time" in sales.doc_md
    assert type(dags["acc_rt__transfers"].timetable).__name__ == "NullTimetable"  # on demand: stock, a date range
    assert "each side in the next run of `acc_rt__sales`" in dags["acc_rt__transfers"].doc_md

    assert {t.task_id for t in dags["acc_off__sales"].tasks} == {
        "plan_sales_windows", "sync_customers", "sync_products", "sync_sales", "run_result"}
    assert {t.task_id for t in dags["acc_off__transfers"].tasks} == {t.task_id for t in dags["acc_rt__transfers"].tasks}


@pytest.mark.parametrize(("change", "message"), [
    ({"sales": {"mode": "scheduled", "hours": ["12:00"]}}, "transfers.mode realtime syncs transfers in the real-time "
                                                          "sales windows, but sales.mode is 'scheduled'"),
    ({"transfers": {"mode": "realtime", "hours": ["23:45"]}}, "hours only apply to mode 'automatic', not 'realtime'"),
])
def test_realtime_transfers_need_realtime_sales_and_no_hours(change: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Integration.model_validate({**REALTIME, **change})


def test_a_transfer_committed_in_the_pos_reaches_accurate_in_the_next_realtime_sales_run(
        tmp_path, monkeypatch, airflow_db) -> None:
    from possync.db import make_engine
    from possync.targets.accurate.hook import AccurateHook
    from possync_devkit.sandbox.accurate import DEMO_API_TOKEN, DEMO_SIGNATURE_SECRET, SandboxConfig, create_apps
    from support.live_server import LiveServer
    from support.pos_builder import Pos

    (tmp_path / "integrations.yaml").write_text(yaml.safe_dump({"integrations": [REALTIME]}))
    monkeypatch.setenv("POSSYNC_CONFIG", str(tmp_path / "integrations.yaml"))
    config = SandboxConfig(db_path=str(tmp_path / "accurate.db"))
    account_app, data_app = create_apps(config)
    data = LiveServer(data_app).start()
    config.data_host_url = data.url
    account = LiveServer(account_app).start()
    for conn_id, conn in {
        "acc_rt": {"conn_type": "accurate", "host": account.url, "password": DEMO_API_TOKEN,
                   "extra": {"signature_secret": DEMO_SIGNATURE_SECRET}},
        "acc_rt_pos": {"conn_type": "sqlite", "host": str(tmp_path / "pos.db")},
        "acc_rt_ledger": {"conn_type": "sqlite", "host": str(tmp_path / "ledger.db")},
    }.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    try:
        accurate = AccurateHook("acc_rt")
        for branch, warehouse in (("Jakarta", "Kemang"), ("Bandung", "Dago")):
            accurate.save("branch", {"name": branch})
            accurate.save("warehouse", {"name": warehouse})
        shop = Pos(make_engine(f"sqlite:///{tmp_path / 'pos.db'}"))
        shop.outlet("JKT01")
        shop.outlet("BDG01")
        shop.product("Kopi Toraja 250g", 85000, sku="KOP-001")
        sent = datetime(2026, 12, 2, 3, 1, tzinfo=UTC)
        shop.transfer("TO-0001", "JKT01", "BDG01", "Kopi Toraja 250g", 3, sent_at=sent,
                      received_at=sent + timedelta(minutes=2))

        dag = build_dags(PossyncConfig.model_validate({"integrations": [REALTIME]}))["acc_rt__sales"]
        run = dag.test(run_conf={"window_start": "2026-12-02T03:00:00+00:00",  # the 5-minute window of the sides
                                 "window_end": "2026-12-02T03:05:00+00:00"})
        states = {ti.task_id: ti.state for ti in run.get_task_instances()}
        assert states["sync_transfers"] == "success" and run.state == "success", states
        out, received = accurate.detail("item-transfer", number="TO-0001/OUT"), accurate.detail(
            "item-transfer", number="TO-0001/IN")
        assert (out["warehouseName"], out["referenceWarehouseName"], out["itemTransferOutStatus"]) == (
            "Kemang", "Dago", "FULL_RECEIVED")
        assert received["fromItemTransferNo"] == "TO-0001/OUT" and received["detailItem"][0]["quantity"] == 3
    finally:
        account.stop()
        data.stop()
