"""The three sales sync modes select the right records: scheduled hours and real time window on business
time; shift close takes the sales of shifts closed in the window, and never those of an open shift."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pendulum
import pytest
from sqlalchemy import select

from possync.config import PossyncConfig
from possync.dagfactory import build_dags
from possync.db import make_engine
from possync.ledger import SyncLedger
from possync.pipeline import stage_sales
from possync.pos import schema
from possync.pos.extract import Window
from possync_devkit.demo_pos import DemoSpec, generate

SPEC = DemoSpec(start_date=date(2026, 11, 9), days=2, orders_per_day=20)


def integration(mode: dict) -> dict:
    return {"name": "t", "target": "jurnal", "conn_id": "j", "start_date": "2026-11-09", "sales": mode,
            "outlets": {"JKT01": {"warehouse": "Kemang"}}}


@pytest.mark.parametrize(
    ("mode", "window_minutes"),
    [({"mode": "realtime", "every_minutes": 5}, 5), ({"mode": "shift_close", "every_minutes": 15}, 15)],
)
def test_polling_modes_run_every_n_minutes_over_n_minute_windows(mode: dict, window_minutes: int) -> None:
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    dag = build_dags(PossyncConfig.model_validate({"integrations": [integration(mode)]}))["t__sales"]
    timetable = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable
    start = pendulum.datetime(2026, 11, 9, tz="UTC")
    info = timetable.next_dagrun_info(last_automated_data_interval=None,
                                      restriction=TimeRestriction(earliest=start, latest=None, catchup=True))
    following = timetable.next_dagrun_info(last_automated_data_interval=info.data_interval,
                                           restriction=TimeRestriction(earliest=start, latest=None, catchup=True))
    assert info.data_interval.end - info.data_interval.start == timedelta(minutes=window_minutes)
    assert following.data_interval.start == info.data_interval.end


@pytest.fixture
def pos_and_ledger(tmp_path):
    pos = make_engine(f"sqlite:///{tmp_path / 'pos.db'}")
    generate(pos, SPEC)
    return pos, SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}", ensure_schema=True)


def staged_orders(pos, ledger, window: Window, window_on: str) -> set[str]:
    _summary, documents = stage_sales(pos, ledger, integration="t", outlet_code="JKT01", window=window,
                                      lookback=timedelta(0), window_on=window_on, retry_failed=False)
    return {d.key for d in documents if d.record_type == "invoice"}


def test_shift_close_takes_closed_shifts_only(pos_and_ledger) -> None:
    pos, ledger = pos_and_ledger
    s, o, r, out = schema.shifts, schema.orders, schema.registers, schema.outlets
    with pos.connect() as conn:
        closed = conn.execute(
            select(s.c.id, s.c.closed_at).join(r, r.c.id == s.c.register_id).join(out, out.c.id == r.c.outlet_id)
            .where(out.c.code == "JKT01", s.c.closed_at.is_not(None)).order_by(s.c.closed_at)
        ).first()
        open_shift_orders = {row.number for row in conn.execute(
            select(o.c.number).join(s, s.c.id == o.c.shift_id).where(s.c.closed_at.is_(None), o.c.status == "completed")
        )}
        closed_shift_orders = {row.number for row in conn.execute(
            select(o.c.number).where(o.c.shift_id == closed.id, o.c.status == "completed")
        )}
    assert open_shift_orders, "the demo leaves one register's last shift open"

    at_close = Window(closed.closed_at, closed.closed_at + timedelta(minutes=15))
    taken = staged_orders(pos, ledger, at_close, "shift_close")
    assert closed_shift_orders and closed_shift_orders <= taken
    everything = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert not open_shift_orders & staged_orders(pos, ledger, everything, "shift_close")
    by_business_time = staged_orders(pos, ledger, everything, "business_time")
    rejected = {key for key in open_shift_orders if ledger.get("t", "invoice", key).status == "failed"}
    assert open_shift_orders - rejected and open_shift_orders - rejected <= by_business_time
