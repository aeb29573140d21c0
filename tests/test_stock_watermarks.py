"""Completeness by construction for transfers and stock (issue 15, "What to build" 1): a scheduled transfers or
stock run also reads everything of its outlets that is due by its window end and was committed after their
commit-time watermarks, so a paused DAG or an outage leaves nothing unread; a run for a date range (or a
backfill) reads exactly its range and leaves the watermarks alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from possync.db import make_engine
from possync.ledger import SyncLedger
from possync.pipeline import CatchUpSettings, stage_stock, watermark_name
from possync.pos.extract import Window
from support.pos_builder import T0, Pos

HOUR = timedelta(hours=1)
INTEGRATION = "t"
OUTLETS = ("OUT-01", "OUT-02")


def window(n: int) -> Window:
    return Window(T0 + (n - 1) * HOUR, T0 + n * HOUR)


@pytest.fixture
def pos(tmp_path: Path) -> Pos:
    shop = Pos(make_engine(f"sqlite:///{tmp_path / 'pos.db'}"))
    for code in OUTLETS:
        shop.outlet(code)
    shop.product("Kopi Susu", 25000)
    return shop


@pytest.fixture
def ledger(tmp_path: Path) -> SyncLedger:
    return SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}", ensure_schema=True)


def stage(pos: Pos, ledger: SyncLedger, flow: str, w: Window, *, catch_up: bool = True,
          now: datetime | None = None) -> set[tuple[str, str]]:
    """Stage the outlets' ``flow`` as the scheduled run just after ``w`` would; (record type, key) staged."""
    settings = CatchUpSettings(first_run_reach=timedelta(days=7), limit=None, now=now or w.end + timedelta(minutes=5))
    _summary, documents = stage_stock(
        pos.engine, ledger, integration=INTEGRATION, flow=flow, outlet_codes=list(OUTLETS),  # type: ignore[arg-type]
        mapped_outlets=OUTLETS, window=w, lookback=timedelta(hours=2), retry_failed=False,
        catch_up=settings if catch_up else None,
    )
    return {(d.record_type, d.key) for d in documents}


def test_transfers_of_a_paused_stretch_are_caught_up_by_the_next_scheduled_run(pos: Pos, ledger: SyncLedger) -> None:
    pos.transfer("TO-1", "OUT-01", "OUT-02", "Kopi Susu", 5, sent_at=window(1).start + 10 * timedelta(minutes=1))
    assert stage(pos, ledger, "transfers", window(1)) == {("transfer_out", "TO-1")}
    # the DAG was paused from window 2 to 9: a transfer sent and received in that stretch, beyond the lookback
    pos.transfer("TO-2", "OUT-01", "OUT-02", "Kopi Susu", 3, sent_at=window(2).start, received_at=window(3).start)
    assert stage(pos, ledger, "transfers", window(10)) == {("transfer_out", "TO-2"), ("transfer_in", "TO-2")}
    assert stage(pos, ledger, "transfers", window(11)) == set(), "nothing is read twice once the watermarks moved"
    for code in OUTLETS:
        assert ledger.watermark(INTEGRATION, "transfers", watermark_name(code)) is not None


def test_adjustments_of_an_outage_are_caught_up_and_a_later_one_waits_for_its_window(
        pos: Pos, ledger: SyncLedger) -> None:
    pos.adjustment("ADJ-1", "Kopi Susu", -2, at=window(2).start)
    # made after window 10's end but committed before its run: the next window's, and it holds the watermark
    pos.adjustment("ADJ-2", "Kopi Susu", -1, at=window(11).start + timedelta(minutes=1),
                   committed_at=window(11).start + timedelta(minutes=2))
    assert stage(pos, ledger, "stock", window(10), now=window(11).start + timedelta(minutes=5)) == {
        ("adjustment", "ADJ-1")}
    assert stage(pos, ledger, "stock", window(11)) == {("adjustment", "ADJ-2")}


def test_a_date_range_reads_exactly_its_range_and_keeps_the_watermarks(pos: Pos, ledger: SyncLedger) -> None:
    pos.adjustment("ADJ-1", "Kopi Susu", -2, at=window(2).start)
    pos.transfer("TO-1", "OUT-01", "OUT-02", "Kopi Susu", 5, sent_at=window(2).start)
    assert stage(pos, ledger, "stock", window(10), catch_up=False) == set()
    assert stage(pos, ledger, "transfers", window(10), catch_up=False) == set()
    for flow in ("stock", "transfers"):
        assert ledger.watermark(INTEGRATION, flow, watermark_name("OUT-01")) is None
