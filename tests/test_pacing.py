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


def test_a_request_held_up_on_its_way_never_lands_beside_a_full_window() -> None:
    """Counted from its allowance, a request delayed on its way (a busy machine, a slow commit of the shared
    pacer's row) would land in a later window beside that window's own full allowance. Counted until a period after
    its answer, it never does: in no second of the server's do more than two requests arrive."""
    fake = FakeTime()
    pacer = Pacer([Limit(2, 1)], margin_seconds=0.0, clock=fake.clock, sleep=fake.sleep)
    held_up = pacer.sending()
    held_up.__enter__()  # allowed at 1000.0, then stuck on its way until 1003.4
    arrivals = []
    for _ in range(8):
        if fake.now >= 1003.4 and len(arrivals) < 9 and 1003.4 not in arrivals:
            arrivals.append(1003.4)
            held_up.__exit__(None, None, None)
        pacer.wait()  # these arrive as soon as allowed and are answered at once
        arrivals.append(fake.now)
        fake.now += 0.2
    assert 1003.4 in arrivals
    for start in [1000 + tenth / 10 for tenth in range(0, 100)]:
        landed = [t for t in arrivals if start <= t < start + 1]
        assert len(landed) <= 2, f"{landed} arrived in the second from {start}"


def test_requests_in_flight_fill_the_window_until_they_are_answered() -> None:
    from possync.targets.base.pacing import IN_FLIGHT_POLL_SECONDS, delay_before_next

    limits = [Limit(8, 1)]
    assert delay_before_next(limits, [], 100.0, in_flight=7, margin_seconds=0) == 0, "one more fits"
    assert delay_before_next(limits, [], 100.0, in_flight=8, margin_seconds=0) == IN_FLIGHT_POLL_SECONDS
    answered = [99.5] * 2
    assert delay_before_next(limits, answered, 100.0, in_flight=6, margin_seconds=0) == pytest.approx(0.5), (
        "the oldest answered request leaves the window a period after its answer")
    assert delay_before_next(limits, answered, 100.0, in_flight=5, margin_seconds=0) == 0


class _StillWaiting(Exception):
    pass


def test_the_shared_pacer_counts_another_process_s_request_until_it_is_answered(tmp_path) -> None:
    """Two pacers of one consumer on one ledger (as two task processes have): while one's request is in flight,
    the other waits for its answer, then a period after it."""
    import time

    from possync.db import make_engine
    from possync.targets.base.pacing import IN_FLIGHT_POLL_SECONDS, SharedPacer

    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    first = SharedPacer(engine, "accurate:host:client", [Limit(1, 1)], margin_seconds=0.0)
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 3:
            raise _StillWaiting

    second = SharedPacer(engine, "accurate:host:client", [Limit(1, 1)], margin_seconds=0.0, sleep=sleep)
    with first.sending():
        with pytest.raises(_StillWaiting):
            second.wait()
        assert naps == [IN_FLIGHT_POLL_SECONDS] * 3, "in flight elsewhere: only its answer can make room"
        time.sleep(0.3)  # the answer comes late
    answered = time.time()
    naps.clear()
    second._sleep = lambda seconds: (naps.append(seconds), time.sleep(seconds))
    second.wait()
    assert time.time() >= answered + 1 - 0.05 and naps and naps[0] > 0.9, (
        "the second request waited a period after the first one's answer, not after its allowance")


def test_an_older_ledger_gets_answered_at_for_its_pacing_requests(tmp_path) -> None:
    from sqlalchemy import create_engine, inspect

    from possync.ledger.schema import create_schema, pacing_consumers, pacing_requests

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE pacing_requests (id INTEGER PRIMARY KEY, consumer VARCHAR(128) NOT NULL, "
                             "sent_at FLOAT NOT NULL)")
        conn.exec_driver_sql("INSERT INTO pacing_requests (consumer, sent_at) VALUES ('c', 1000.5)")
    create_schema(engine, [pacing_consumers, pacing_requests])
    assert "answered_at" in {column["name"] for column in inspect(engine).get_columns("pacing_requests")}
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT answered_at = sent_at FROM pacing_requests").scalar_one() == 1


def _eight_at_once_answered_after(pacer: Pacer, fake: FakeTime, seconds: float) -> float:
    """Eight calls allowed at once, all answered ``seconds`` later; when the ninth may go, after the first eight."""
    calls = [pacer.sending() for _ in range(8)]
    for call in calls:
        call.__enter__()
    start = fake.now
    fake.now += seconds
    for call in calls:
        call.__exit__(None, None, None)
    pacer.wait()
    return fake.now - start


def test_without_a_transit_a_slow_answer_holds_its_place_a_period_after_it() -> None:
    fake = FakeTime()
    pacer = Pacer([Limit(8, 1)], margin_seconds=0.0, clock=fake.clock, sleep=fake.sleep)
    assert _eight_at_once_answered_after(pacer, fake, 0.25) == pytest.approx(1.25)


def test_a_transit_counts_a_slow_call_from_its_allowance_plus_the_transit() -> None:
    fake = FakeTime()
    pacer = Pacer([Limit(8, 1)], margin_seconds=0.0, transit_seconds=0.02, clock=fake.clock, sleep=fake.sleep)
    assert _eight_at_once_answered_after(pacer, fake, 0.25) == pytest.approx(1.02), (
        "counted until a second after its allowance + 20 ms, not after its answer")


def _calls_taking(pacer: Pacer, fake: FakeTime, count: int, answer_after: float) -> list[float]:
    """``count`` calls one after the other, each answered ``answer_after`` seconds after it is sent."""
    sent = []
    for _ in range(count):
        with pacer.sending():
            sent.append(fake.now)
            fake.now += answer_after
    return sent


def test_a_call_answered_within_its_transit_counts_from_its_answer() -> None:
    fake = FakeTime()
    pacer = Pacer([Limit(2, 1)], margin_seconds=0.0, transit_seconds=0.5, clock=fake.clock, sleep=fake.sleep)
    sent = _calls_taking(pacer, fake, 3, answer_after=0.1)
    assert sent[2] - sent[0] == pytest.approx(1.1), "answered at +0.1 s, it surely arrived by then"


def test_a_call_past_its_transit_and_still_unanswered_stops_blocking_the_window() -> None:
    fake = FakeTime()
    pacer = Pacer([Limit(1, 1)], margin_seconds=0.0, transit_seconds=0.05, clock=fake.clock, sleep=fake.sleep)
    slow = pacer.sending()
    slow.__enter__()  # allowed at 1000.0, its answer takes three seconds
    pacer.wait()
    assert fake.now == pytest.approx(1001.05), "the next one goes a second after the first one surely arrived"
    fake.now = 1003.0
    slow.__exit__(None, None, None)


def test_the_shared_pacer_honours_the_transit(tmp_path) -> None:
    import time

    from possync.db import make_engine
    from possync.targets.base.pacing import SharedPacer

    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    first = SharedPacer(engine, "accurate:host:client", [Limit(1, 1)], margin_seconds=0.0, transit_seconds=0.05)
    second = SharedPacer(engine, "accurate:host:client", [Limit(1, 1)], margin_seconds=0.0, transit_seconds=0.05)
    with first.sending():
        allowed = time.time()
        time.sleep(0.6)  # a slow answer
    second.wait()
    waited = time.time() - allowed
    assert 1.0 <= waited < 1.5, f"counted from its allowance + 50 ms, not from its answer ({waited:.2f} s)"
