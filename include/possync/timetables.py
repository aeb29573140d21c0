"""Timetables whose runs cover real, contiguous windows of business time.

Airflow 3 turns a cron string into a trigger timetable with an *empty* data interval, so a windowed
extract would read nothing. ``windows_every`` gives fixed windows (real time, shift close polling);
``ScheduledHoursTimetable`` gives the irregular windows of "sync at 12:00, 18:00 and 23:30": each run
covers the time since the previous scheduled hour, so consecutive runs tile the day and a backfill of a
date range re-syncs exactly that range. It is registered by the possync plugin (custom timetables must be).

``ScheduledHoursTimetable`` is written against Airflow's public timetable API only (the ``Timetable``
protocol, ``DataInterval``, ``DagRunInfo``, ``TimeRestriction``, ``serialize``/``deserialize``, ``summary``,
``validate``): it computes its scheduled times itself instead of reaching into the private helpers of
Airflow's cron timetables, which may change in any release.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pendulum
from airflow.exceptions import AirflowTimetableInvalid
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from pendulum import DateTime

#: the only cron shape this timetable takes: a minute and an hour, every day
DAILY_CRON = re.compile(r"^(\d{1,2}) (\d{1,2}) \* \* \*$")
#: with neither a start date nor a previous run, a scheduled time at most this long ago still runs (the
#: same allowance as Airflow's cron trigger timetables: a tenth of the gap between runs of one cron)
FIRST_RUN_GRACE = dt.timedelta(days=1) / 10


def windows_every(minutes: int, timezone: str) -> Any:
    """Runs every ``minutes`` (a divisor of 60), each covering the ``minutes`` before it."""
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable(
        f"*/{minutes} * * * *", timezone=timezone, interval=dt.timedelta(minutes=minutes)
    )


def hours_to_crons(hours: Sequence[dt.time]) -> list[str]:
    return [f"{t.minute} {t.hour} * * *" for t in sorted(hours)]


def _time_of(cron: str) -> dt.time:
    match = DAILY_CRON.match(cron.strip())
    if not match:
        raise AirflowTimetableInvalid(f"{cron!r} is not a daily 'minute hour * * *' schedule")
    minute, hour = int(match.group(1)), int(match.group(2))
    if not (0 <= minute < 60 and 0 <= hour < 24):
        raise AirflowTimetableInvalid(f"{cron!r} is not a time of day")
    return dt.time(hour, minute)


def _utcnow() -> DateTime:
    return pendulum.now("UTC")


class ScheduledHoursTimetable(Timetable):
    """Runs at the given times of day; each run's window starts at the previous scheduled time."""

    def __init__(self, *crons: str, timezone: str | dt.tzinfo, **_ignored: Any) -> None:
        # interval and run_immediately may come with DAGs serialised by an earlier version of this class
        # (built on MultipleCronTriggerTimetable); windows are derived from the schedule itself.
        if not crons:
            raise AirflowTimetableInvalid("at least one time of day is required")
        self.expressions = [cron.strip() for cron in crons]
        self.times = sorted({_time_of(cron) for cron in self.expressions})
        self.timezone = pendulum.timezone(timezone if isinstance(timezone, str) else str(timezone))
        self.description = (
            "Windows between " + ", ".join(f"At {t:%H:%M}" for t in self.times) + f" ({self.timezone.name})"
        )

    @classmethod
    def at_hours(cls, hours: Sequence[dt.time], timezone: str) -> ScheduledHoursTimetable:
        return cls(*hours_to_crons(hours), timezone=timezone)

    # -- the public timetable API ------------------------------------------------------------------

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls(*data["expressions"], timezone=data["timezone"])

    def serialize(self) -> dict[str, Any]:
        return {"expressions": list(self.expressions), "timezone": self.timezone.name}

    @property
    def summary(self) -> str:
        return ", ".join(self.expressions)

    def validate(self) -> None:
        for cron in self.expressions:
            _time_of(cron)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScheduledHoursTimetable):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((tuple(self.expressions), self.timezone.name))

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        # A manual run syncs from the last scheduled time up to the moment it was triggered.
        return DataInterval(self.previous_fire(run_after), pendulum.instance(run_after))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        after_last = (
            self.next_fire(last_automated_data_interval.end) if last_automated_data_interval is not None else None
        )
        from_earliest = (
            self.fire_at_or_after(restriction.earliest) if restriction.earliest is not None else None
        )
        # with neither, the first run is the next scheduled time, or one that passed only just now
        first = self.fire_at_or_after(_utcnow() - FIRST_RUN_GRACE)
        if restriction.catchup:
            end = after_last or from_earliest or first
        else:
            # Without catchup, skip to the latest scheduled time that has passed, never before the next one
            # due after the last run or the start date.
            candidates = [self.fire_at_or_before(_utcnow())]
            if after_last is not None:
                candidates.append(after_last)
            elif from_earliest is None:
                candidates.append(first)
            if from_earliest is not None:
                candidates.append(from_earliest)
            end = max(candidates)
        if restriction.latest is not None and restriction.latest < end:
            return None
        return DagRunInfo.interval(self.previous_fire(end), end)

    # -- scheduled times ---------------------------------------------------------------------------

    def _fires_around(self, moment: dt.datetime) -> Iterator[DateTime]:
        """Every scheduled time from two days before ``moment``'s local day to two days after, in UTC."""
        day = pendulum.instance(moment).in_timezone(self.timezone).date()
        for offset in range(-2, 3):
            local = day.add(days=offset)
            for t in self.times:
                yield pendulum.datetime(
                    local.year, local.month, local.day, t.hour, t.minute, tz=self.timezone
                ).in_timezone("UTC")

    def previous_fire(self, moment: dt.datetime) -> DateTime:
        """The latest scheduled time strictly before ``moment``."""
        return max(fire for fire in self._fires_around(moment) if fire < moment)

    def next_fire(self, moment: dt.datetime) -> DateTime:
        """The earliest scheduled time strictly after ``moment``."""
        return min(fire for fire in self._fires_around(moment) if fire > moment)

    def fire_at_or_before(self, moment: dt.datetime) -> DateTime:
        return max(fire for fire in self._fires_around(moment) if fire <= moment)

    def fire_at_or_after(self, moment: dt.datetime) -> DateTime:
        return min(fire for fire in self._fires_around(moment) if fire >= moment)
