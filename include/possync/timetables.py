"""Timetables whose runs cover real, contiguous windows of business time.

Airflow 3 turns a cron string into a trigger timetable with an *empty* data interval, so a windowed
extract would read nothing. ``windows_every`` gives fixed windows (real time, shift close polling);
``ScheduledHoursTimetable`` gives the irregular windows of "sync at 12:00, 18:00 and 23:30": each run
covers the time since the previous scheduled hour, so consecutive runs tile the day and a backfill of a
date range re-syncs exactly that range. It is registered by the possync plugin (custom timetables must be).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction
from airflow.timetables.trigger import MultipleCronTriggerTimetable


def windows_every(minutes: int, timezone: str) -> Any:
    """Runs every ``minutes`` (a divisor of 60), each covering the ``minutes`` before it."""
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable(
        f"*/{minutes} * * * *", timezone=timezone, interval=dt.timedelta(minutes=minutes)
    )


def hours_to_crons(hours: Sequence[dt.time]) -> list[str]:
    return [f"{t.minute} {t.hour} * * *" for t in sorted(hours)]


class ScheduledHoursTimetable(MultipleCronTriggerTimetable):
    """Runs at the given times of day; each run's window starts at the previous scheduled time."""

    def __init__(self, *crons: str, timezone: Any, **_ignored: Any) -> None:
        # interval and run_immediately are accepted (deserialisation passes them) but windows are
        # derived from the schedule itself.
        super().__init__(*crons, timezone=timezone)
        self.description = "Windows between " + ", ".join(t.description for t in self._timetables)

    @classmethod
    def at_hours(cls, hours: Sequence[dt.time], timezone: str) -> ScheduledHoursTimetable:
        return cls(*hours_to_crons(hours), timezone=timezone)

    def _previous_fire(self, moment: Any) -> Any:
        """The latest scheduled time strictly before ``moment``."""
        return max(timetable._get_prev(moment) for timetable in self._timetables)

    def _latest_fire_at_or_before(self, moment: Any) -> Any:
        return max(timetable._align_to_prev(moment) for timetable in self._timetables)

    def infer_manual_data_interval(self, *, run_after: Any) -> DataInterval:
        # A manual run syncs from the last scheduled time up to the moment it was triggered.
        latest = self._latest_fire_at_or_before(run_after)
        start = latest if latest < run_after else self._previous_fire(run_after)
        return DataInterval(start, run_after)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        info = super().next_dagrun_info(
            last_automated_data_interval=last_automated_data_interval, restriction=restriction
        )
        if info is None:
            return None
        end = info.data_interval.end
        return DagRunInfo.interval(self._previous_fire(end), end)
