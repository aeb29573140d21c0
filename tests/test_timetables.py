"""Runs cover real, contiguous windows: consecutive runs tile the day with no gap and no overlap."""

from __future__ import annotations

import ast
import itertools
from datetime import time
from pathlib import Path

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

import possync.timetables
from possync.timetables import ScheduledHoursTimetable

JAKARTA = pendulum.timezone("Asia/Jakarta")


def at(day: int, hour: int, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(2026, 11, day, hour, minute, tz=JAKARTA)


@pytest.fixture
def timetable() -> ScheduledHoursTimetable:
    return ScheduledHoursTimetable.at_hours([time(18), time(12), time(23, 30)], "Asia/Jakarta")


def runs(timetable: ScheduledHoursTimetable, earliest: pendulum.DateTime, count: int) -> list[DataInterval]:
    restriction = TimeRestriction(earliest=earliest, latest=None, catchup=True)
    intervals: list[DataInterval] = []
    last = None
    for _ in range(count):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        assert info is not None
        intervals.append(info.data_interval)
        last = info.data_interval
    return intervals


def test_windows_run_from_the_previous_scheduled_hour(timetable: ScheduledHoursTimetable) -> None:
    intervals = runs(timetable, at(9, 0), 4)
    assert [(i.start, i.end) for i in intervals] == [
        (at(8, 23, 30), at(9, 12)),
        (at(9, 12), at(9, 18)),
        (at(9, 18), at(9, 23, 30)),
        (at(9, 23, 30), at(10, 12)),
    ]


def test_a_week_of_windows_tiles_time_without_gaps(timetable: ScheduledHoursTimetable) -> None:
    intervals = runs(timetable, at(9, 0), 21)
    for previous, following in itertools.pairwise(intervals):
        assert previous.end == following.start
    assert all(i.start < i.end for i in intervals)


def test_manual_run_covers_since_the_last_scheduled_hour(timetable: ScheduledHoursTimetable) -> None:
    interval = timetable.infer_manual_data_interval(run_after=at(10, 15, 20))
    assert (interval.start, interval.end) == (at(10, 12), at(10, 15, 20))
    exactly_on = timetable.infer_manual_data_interval(run_after=at(10, 18))
    assert (exactly_on.start, exactly_on.end) == (at(10, 12), at(10, 18))


def test_survives_serialisation(timetable: ScheduledHoursTimetable) -> None:
    restored = ScheduledHoursTimetable.deserialize(timetable.serialize())
    assert runs(restored, at(9, 0), 3) == runs(timetable, at(9, 0), 3)
    assert "12:00" in restored.description or "At 12:00" in timetable.description


# -- only Airflow's public timetable API ---------------------------------------------------------------

TIMETABLES_SOURCE = Path(possync.timetables.__file__)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_uses(source: str) -> list[str]:
    """Underscore-private attribute accesses on anything but our own ``self``/``cls``, and imports of private
    modules or private names, in ``source``."""
    tree = ast.parse(source)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in {"self", "cls"}):
                found.append(f"line {node.lineno}: .{node.attr} on {ast.unparse(owner)}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if any(_private(part) for part in module.split(".")):
                found.append(f"line {node.lineno}: import from private module {module}")
            found.extend(
                f"line {node.lineno}: private name {alias.name} from {module}"
                for alias in node.names if _private(alias.name)
            )
        elif isinstance(node, ast.Import):
            found.extend(
                f"line {node.lineno}: import of private module {alias.name}"
                for alias in node.names if any(_private(part) for part in alias.name.split("."))
            )
    return found


def test_the_check_catches_private_uses() -> None:
    sample = (
        "from airflow.timetables._cron import CronMixin\n"
        "from airflow.timetables.trigger import _TriggerTimetable\n"
        "import airflow._shared.timezones\n"
        "x = max(t._get_prev(m) for t in self._timetables)\n"
        "y = self._own_helper(1)\n"
    )
    assert len(_private_uses(sample)) == 4


def test_uses_only_public_airflow_members() -> None:
    assert _private_uses(TIMETABLES_SOURCE.read_text()) == []


def test_is_a_plain_public_timetable(timetable: ScheduledHoursTimetable) -> None:
    # built on the public protocol, not on the internals of Airflow's own cron timetables
    from airflow.timetables.base import Timetable
    from airflow.timetables.trigger import MultipleCronTriggerTimetable

    assert isinstance(timetable, Timetable)
    assert not isinstance(timetable, MultipleCronTriggerTimetable)
    assert timetable.summary == "0 12 * * *, 0 18 * * *, 30 23 * * *"
    assert timetable.periodic and timetable.can_be_scheduled


# -- same run times as Airflow's own multiple-cron trigger timetable ----------------------------------

@pytest.mark.parametrize("now", [at(10, 11, 59), at(10, 12), at(10, 13), at(10, 14, 30), at(10, 17, 59),
                                 at(10, 23, 45), at(11, 0, 10), at(11, 2, 0)])
@pytest.mark.parametrize("catchup", [True, False])
@pytest.mark.parametrize("last_end", [None, at(9, 18), at(10, 12), at(10, 23, 30)])
@pytest.mark.parametrize("earliest", [None, at(1, 0), at(10, 12), at(10, 20)])
def test_runs_when_airflows_multiple_cron_timetable_would(
    monkeypatch: pytest.MonkeyPatch, timetable: ScheduledHoursTimetable, now, catchup, last_end, earliest,
) -> None:
    """Each run ends when ``MultipleCronTriggerTimetable`` with the same crons would fire (with and without
    catchup, first runs with and without a start date, runs after a previous one), and starts at the previous
    scheduled time."""
    import types

    from airflow.timetables import trigger

    utc_now = now.in_timezone("UTC")
    monkeypatch.setattr(trigger, "utcnow", lambda: utc_now)  # freezing Airflow's clock is the test's business
    monkeypatch.setattr(trigger, "time", types.SimpleNamespace(time=utc_now.timestamp))
    monkeypatch.setattr(possync.timetables, "_utcnow", lambda: utc_now)
    reference = trigger.MultipleCronTriggerTimetable(*timetable.expressions, timezone="Asia/Jakarta")
    last = DataInterval(last_end, last_end) if last_end is not None else None
    restriction = TimeRestriction(earliest=earliest, latest=None, catchup=catchup)

    expected = reference.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
    info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
    assert info is not None and expected is not None
    assert info.run_after == expected.run_after
    assert info.data_interval.end == expected.run_after
    assert info.data_interval.start == timetable.previous_fire(info.data_interval.end)


def test_no_run_after_the_latest(timetable: ScheduledHoursTimetable) -> None:
    restriction = TimeRestriction(earliest=at(9, 0), latest=at(9, 11), catchup=True)
    assert timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction) is None


def test_windows_tile_across_a_daylight_saving_change() -> None:
    berlin = pendulum.timezone("Europe/Berlin")
    timetable = ScheduledHoursTimetable.at_hours([time(2, 30), time(12)], "Europe/Berlin")
    # 2026-03-29: 02:00 → 03:00 in Berlin, so 02:30 does not exist that day
    intervals = runs(timetable, pendulum.datetime(2026, 3, 27, tz=berlin), 8)
    for previous, following in itertools.pairwise(intervals):
        assert previous.end == following.start
    assert all(i.start < i.end for i in intervals)
    assert len({i.end for i in intervals}) == 8


def test_rejects_what_is_not_a_time_of_day() -> None:
    from airflow.exceptions import AirflowTimetableInvalid

    with pytest.raises(AirflowTimetableInvalid):
        ScheduledHoursTimetable("*/5 * * * *", timezone="Asia/Jakarta")
    with pytest.raises(AirflowTimetableInvalid):
        ScheduledHoursTimetable("0 24 * * *", timezone="Asia/Jakarta")


def test_reads_what_the_previous_version_serialised(timetable: ScheduledHoursTimetable) -> None:
    # DAGs serialised while this class extended MultipleCronTriggerTimetable carry interval and run_immediately
    old = {"expressions": ["0 12 * * *", "0 18 * * *", "30 23 * * *"], "timezone": "Asia/Jakarta",
           "interval": 0.0, "run_immediately": False}
    assert ScheduledHoursTimetable.deserialize(old) == timetable
