"""The pacer keeps every sliding window under its limit, so a fixed-window server never sees too many."""

from __future__ import annotations

import pytest

from possync.targets.base.pacing import Limit, Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def sent_times(pacer: Pacer, fake: FakeTime, count: int) -> list[float]:
    times = []
    for _ in range(count):
        pacer.wait()
        times.append(fake.now)
    return times


def test_never_more_than_the_limit_in_any_window() -> None:
    fake = FakeTime()
    pacer = Pacer([Limit(30, 60), Limit(100, 3600)], margin_seconds=0.5, clock=fake.clock, sleep=fake.sleep)
    times = sent_times(pacer, fake, 120)
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 60) <= 30
        assert sum(1 for t in times[i:] if t < start + 3600) <= 100
    assert times[100] >= times[0] + 3600, "the hourly limit holds the 101st request back"


def test_full_speed_is_close_to_the_limit() -> None:
    fake = FakeTime()
    pacer = Pacer([Limit(30, 60)], margin_seconds=0.5, clock=fake.clock, sleep=fake.sleep)
    times = sent_times(pacer, fake, 91)
    rate_per_minute = 90 / ((times[-1] - times[0]) / 60)
    assert 29 <= rate_per_minute <= 30


def test_retry_after_pauses_everything() -> None:
    fake = FakeTime()
    pacer = Pacer([Limit(8, 1)], clock=fake.clock, sleep=fake.sleep)
    pacer.wait()
    pacer.pause_until(5)
    start = fake.now
    pacer.wait()
    assert fake.now - start == pytest.approx(5)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one request"):
        Limit(0, 60)
