"""Completeness by construction (issue 15, problems 1-3 and the unmapped outlet of 4): a scheduled run syncs
everything of its outlet that is due by its window end and not yet read, found through a per-outlet watermark
on the POS's commit time; a backfill or a manual window syncs exactly its range and leaves the watermark."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import update

from possync.config import Integration
from possync.dagfactory import _catches_up
from possync.db import make_engine
from possync.ledger import SyncLedger
from possync.pipeline import (
    CatchUpSettings,
    SyncJob,
    report_unmapped_outlets,
    stage_sales,
    sync_customers,
    sync_products,
    sync_sales,
    unmapped_outlets_warning,
    watermark_name,
)
from possync.pos import schema
from possync.pos.extract import Window
from support.pos_builder import T0, Line, Pos

HOUR = timedelta(hours=1)
INTEGRATION = "t"


def window(n: int, size: timedelta = HOUR) -> Window:
    """The n-th window (1-based) from T0."""
    return Window(T0 + (n - 1) * size, T0 + n * size)


@pytest.fixture
def pos(tmp_path: Path) -> Pos:
    shop = Pos(make_engine(f"sqlite:///{tmp_path / 'pos.db'}"))
    shop.outlet("OUT-01")
    shop.outlet("OUT-02")
    shop.product("Kopi Susu", 25000)
    return shop


@pytest.fixture
def ledger(tmp_path: Path) -> SyncLedger:
    return SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}", ensure_schema=True)


def stage(pos: Pos, ledger: SyncLedger, w: Window, *, catch_up: bool = True, window_on: str = "business_time",
          now: datetime | None = None, limit: int | None = None, logger: Any = None) -> set[str]:
    """Stage OUT-01's sales of ``w`` as the run at ``now`` (default: a few minutes after the window) would."""
    settings = CatchUpSettings(first_run_reach=timedelta(days=7), limit=limit,
                               now=now or w.end + timedelta(minutes=5))
    _summary, documents = stage_sales(
        pos.engine, ledger, integration=INTEGRATION, outlet_code="OUT-01", window=w, lookback=timedelta(hours=2),
        window_on=window_on, catch_up=settings if catch_up else None, logger=logger,  # type: ignore[arg-type]
        retry_failed=False,  # staged is not loaded: the ledger's pending records would be retried each time
    )
    return {d.key for d in documents if d.record_type == "invoice"}


def in_ledger(ledger: SyncLedger, keys: list[str]) -> set[str]:
    return set(ledger.lookup(INTEGRATION, "invoice", keys))


# ------------------------------------------------------------------------------- 1. lost windows


def test_a_paused_dag_gap_is_caught_up_by_the_next_run(pos: Pos, ledger: SyncLedger) -> None:
    numbers = [f"INV-{n:02d}" for n in range(1, 11)]
    for n, number in enumerate(numbers, 1):
        pos.order(number, [Line("Kopi Susu")], at=window(n).start + timedelta(minutes=10))

    assert stage(pos, ledger, window(1)) == {"INV-01"}
    # the DAG was paused for windows 2..9; the next scheduled run covers window 10 only
    assert stage(pos, ledger, window(10)) == set(numbers[1:])
    assert in_ledger(ledger, numbers) == set(numbers)
    assert stage(pos, ledger, window(11)) == set(), "nothing is read twice once the watermark moved"


def test_the_catch_up_reads_the_same_on_every_pos_database(pos_engine: Any, tmp_path: Path) -> None:
    """The catch-up's plan (counts, the cap, the hold) and its query on SQLite, PostgreSQL and MariaDB."""
    shop = Pos(pos_engine)
    shop.outlet("OUT-01")
    shop.product("Kopi Susu", 25000)
    ledger = SyncLedger.from_url(f"sqlite:///{tmp_path / 'pg_ledger.db'}", ensure_schema=True)
    for n in range(1, 7):
        shop.order(f"INV-{n:02d}", [Line("Kopi Susu")], at=window(n).start + timedelta(minutes=10))
    assert stage(shop, ledger, window(1)) == {"INV-01"}
    assert stage(shop, ledger, window(5), limit=2) == {"INV-02", "INV-03", "INV-05"}
    # INV-05 again: read by its window, but committed after where the capped catch-up stopped (the ledger
    # skips it once synced)
    assert stage(shop, ledger, window(6)) == {"INV-04", "INV-05", "INV-06"}
    assert stage(shop, ledger, window(7)) == set()


def test_without_catch_up_the_gap_stays_unread(pos: Pos, ledger: SyncLedger) -> None:
    """What every run did before the watermark (and what a backfill or a manual window still does)."""
    for n in range(1, 11):
        pos.order(f"INV-{n:02d}", [Line("Kopi Susu")], at=window(n).start + timedelta(minutes=10))
    assert stage(pos, ledger, window(1), catch_up=False) == {"INV-01"}
    assert stage(pos, ledger, window(10), catch_up=False) == {"INV-10"}
    assert ledger.watermark(INTEGRATION, "sales", watermark_name("OUT-01")) is None


def test_an_outage_longer_than_the_lookback_is_caught_up(pos: Pos, ledger: SyncLedger) -> None:
    pos.order("INV-A", [Line("Kopi Susu")], at=T0 + timedelta(minutes=5))
    stage(pos, ledger, window(1))
    pos.order("INV-B", [Line("Kopi Susu")], at=T0 + timedelta(hours=3))  # scheduler down for three days
    pos.order("INV-C", [Line("Kopi Susu")], at=T0 + timedelta(days=2))
    assert stage(pos, ledger, window(3 * 24)) == {"INV-B", "INV-C"}


def test_sales_not_due_yet_wait_for_their_window(pos: Pos, ledger: SyncLedger) -> None:
    """A sale made after the window end (committed before the run) is the next window's, and the
    watermark stays before it so the next run reads it."""
    pos.order("INV-IN", [Line("Kopi Susu")], at=T0 + timedelta(minutes=30))
    pos.order("INV-NEXT", [Line("Kopi Susu")], at=window(2).start + timedelta(minutes=1))
    assert stage(pos, ledger, window(1), now=window(2).start + timedelta(minutes=30)) == {"INV-IN"}
    mark = ledger.watermark(INTEGRATION, "sales", watermark_name("OUT-01"))
    assert mark is not None and mark < window(2).start + timedelta(minutes=1, seconds=5)
    assert "INV-NEXT" in stage(pos, ledger, window(2))


def test_the_catch_up_is_capped_oldest_first_and_says_what_is_left(
    pos: Pos, ledger: SyncLedger, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(1, 8):
        pos.order(f"INV-{n:02d}", [Line("Kopi Susu")], at=window(n).start + timedelta(minutes=10))
    stage(pos, ledger, window(1), limit=3)
    with caplog.at_level(logging.INFO):
        assert stage(pos, ledger, window(8), limit=3) == {"INV-02", "INV-03", "INV-04"}
    assert "3 more committed after" in caplog.text
    assert stage(pos, ledger, window(9), limit=3) == {"INV-05", "INV-06", "INV-07"}


def test_a_backfill_syncs_exactly_its_range_and_keeps_the_watermark(pos: Pos, ledger: SyncLedger) -> None:
    for n in range(1, 6):
        pos.order(f"INV-{n:02d}", [Line("Kopi Susu")], at=window(n).start + timedelta(minutes=10))
    stage(pos, ledger, window(5))
    mark = ledger.watermark(INTEGRATION, "sales", watermark_name("OUT-01"))
    assert mark is not None
    assert stage(pos, ledger, window(2), catch_up=False) == {"INV-02"}
    assert ledger.watermark(INTEGRATION, "sales", watermark_name("OUT-01")) == mark


def test_the_first_run_reaches_back_first_run_lookback_days(pos: Pos, ledger: SyncLedger) -> None:
    pos.order("INV-OLD", [Line("Kopi Susu")], at=T0 - timedelta(days=9))
    pos.order("INV-RECENT", [Line("Kopi Susu")], at=T0 - timedelta(days=3))
    assert stage(pos, ledger, window(1)) == {"INV-RECENT"}


def test_only_scheduled_and_plain_manual_runs_catch_up() -> None:
    def run(run_type: str) -> Any:
        return {"dag_run": SimpleNamespace(run_type=run_type)}

    assert _catches_up(run("scheduled"), {})
    assert _catches_up(run("manual"), {})
    assert not _catches_up(run("backfill"), {})
    assert not _catches_up(run("manual"), {"window_start": "2026-11-09T00:00:00+07:00",
                                           "window_end": "2026-11-10T00:00:00+07:00"})


# ------------------------------------------------------------------------------ 2. late shift closes


def test_a_shift_close_that_reaches_the_database_late_is_synced(pos: Pos, ledger: SyncLedger) -> None:
    quarter = timedelta(minutes=15)
    pos.order("INV-S1", [Line("Kopi Susu")], at=T0 + timedelta(minutes=3))
    pos.order("INV-S2", [Line("Kopi Susu")], at=T0 + timedelta(minutes=8))
    shift_id = pos.outlets["OUT-01"]["shift_id"]

    # the register closed its shift at T0 + 20 min, but the close reached the database two hours later:
    # the runs of the windows around the close saw an open shift
    for n in range(1, 9):
        assert stage(pos, ledger, window(n, quarter), window_on="shift_close") == set()
    with pos.engine.begin() as conn:
        conn.execute(update(schema.shifts).where(schema.shifts.c.id == shift_id)
                     .values(closed_at=T0 + timedelta(minutes=20)))

    assert stage(pos, ledger, window(9, quarter), window_on="shift_close") == {"INV-S1", "INV-S2"}
    # before the watermark: the close was before this window and the orders were committed long ago
    assert stage(pos, ledger, window(10, quarter), window_on="shift_close", catch_up=False) == set()


# ------------------------------------------------------------------------------ 3. killed tasks


def test_a_task_killed_before_the_ledger_write_is_read_again(
    pos: Pos, ledger: SyncLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    pos.order("INV-K1", [Line("Kopi Susu")], at=T0 + timedelta(minutes=10))
    pos.order("INV-K2", [Line("Kopi Susu")], at=T0 + timedelta(minutes=20))

    def killed(*_args: Any, **_kwargs: Any) -> None:
        raise SystemExit("SIGKILL")

    with monkeypatch.context() as patched:
        patched.setattr(ledger, "record", killed)
        with pytest.raises(SystemExit):
            stage(pos, ledger, window(1))
    assert ledger.watermark(INTEGRATION, "sales", watermark_name("OUT-01")) is None
    assert stage(pos, ledger, window(2)) == {"INV-K1", "INV-K2"}


# --------------------------------------------------------------------- 4. outlets with sales, no mapping


def integration(name: str = INTEGRATION, **overrides: Any) -> Integration:
    return Integration.model_validate({
        "name": name, "target": "jurnal", "conn_id": "jurnal_demo", "start_date": "2026-11-09",
        "sales": {"mode": "scheduled", "hours": ["12:00"]}, "outlets": {"OUT-01": {"warehouse": "Kemang"}},
        **overrides,
    })


def test_an_unmapped_outlet_with_sales_is_warned_about(
    pos: Pos, ledger: SyncLedger, caplog: pytest.LogCaptureFixture
) -> None:
    pos.outlet("OUT-03")  # no sales: nothing to say
    pos.order("INV-1", [Line("Kopi Susu")])
    assert unmapped_outlets_warning(pos.engine, integration()) is None
    pos.order("INV-2", [Line("Kopi Susu")], outlet="OUT-02")

    warning = unmapped_outlets_warning(pos.engine, integration())
    assert warning is not None and "OUT-02" in warning and "OUT-03" not in warning and "NOT synced" in warning
    with caplog.at_level(logging.WARNING):
        assert report_unmapped_outlets(pos.engine, ledger, integration()) == ["OUT-02"]
    assert "OUT-02" in caplog.text
    note = ledger.get(INTEGRATION, "outlet", "OUT-02")
    assert note is not None and note.status == "failed" and "no mapping" in (note.reason or "")

    mapped = integration(outlets={"OUT-01": {"warehouse": "Kemang"}, "OUT-02": {"warehouse": "Dago"}})
    assert report_unmapped_outlets(pos.engine, ledger, mapped) == []
    assert ledger.get(INTEGRATION, "outlet", "OUT-02").status == "skipped"  # type: ignore[union-attr]


def test_the_sales_task_summary_warns_about_unmapped_outlets(pos: Pos, ledger: SyncLedger) -> None:
    from possync.targets.base.operators import SyncSalesOperator

    pos.order("INV-2", [Line("Kopi Susu")], outlet="OUT-02")
    operator = SyncSalesOperator(task_id="sync_sales", integration_name=INTEGRATION, outlet_codes=["OUT-01"],
                                 window_start=T0.isoformat(), window_end=(T0 + HOUR).isoformat())
    operator.__dict__["integration"] = integration()
    job = SimpleNamespace(pos=pos.engine)
    assert any("OUT-02" in line for line in operator.warnings(job))  # type: ignore[arg-type]


# ------------------------------------------------ 3 again, loaded: a next-day refund of a killed task's order


@pytest.fixture
def jurnal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from support.worlds import jurnal_world

    yield from jurnal_world(tmp_path, monkeypatch)


def test_a_next_day_refund_of_a_killed_tasks_order_succeeds(
    jurnal: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from possync.targets.base.registry import get_target

    shop = Pos(make_engine(f"sqlite:///{tmp_path / 'own_pos.db'}"))
    shop.outlet("OUT-01")
    shop.product("Kopi Susu", 25000)
    day = timedelta(days=1)
    sold = shop.order("INV-KILLED", [Line("Kopi Susu", quantity=2)], at=T0)
    shop.refund("RF-NEXT-DAY", sold, [(1, 1)], at=T0 + day)
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_POS", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "x")}))

    config = integration("jurnal_demo")
    target = get_target("jurnal")
    ledger: SyncLedger = jurnal["ledger"]
    ledger.create_schema()
    job = SyncJob(config, shop.engine, ledger, target, target.hook(config))
    sync_customers(job)
    sync_products(job)
    days = [Window(datetime(2026, 11, 9, tzinfo=UTC) + n * day, datetime(2026, 11, 10, tzinfo=UTC) + n * day)
            for n in range(2)]

    def killed(*_args: Any, **_kwargs: Any) -> None:
        raise SystemExit("SIGKILL")

    with monkeypatch.context() as patched:  # day 1's task dies before its records reach the ledger
        patched.setattr(ledger, "record", killed)
        with pytest.raises(SystemExit):
            sync_sales(job, outlet_codes=["OUT-01"], window=days[0], catch_up=True, now=days[0].end + HOUR)

    summary = sync_sales(job, outlet_codes=["OUT-01"], window=days[1], catch_up=True, now=days[1].end + HOUR)
    assert summary.failed == 0, summary.failures
    for record_type, key in (("invoice", "INV-KILLED"), ("payment", "INV-KILLED/P1"), ("return", "RF-NEXT-DAY")):
        record = ledger.get("jurnal_demo", record_type, key)
        assert record is not None and record.status == "synced", (record_type, key, record)
