"""Runs cover real, contiguous windows: consecutive runs tile the day with no gap and no overlap."""

from __future__ import annotations

import itertools
from datetime import time

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

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
