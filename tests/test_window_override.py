"""The sales window override (the Trigger form's window_start / window_end): times with an offset, or without
one in outlet time (the integration's timezone); a wrong one fails the run at once, without retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from possync.config import load_config
from possync.dagfactory import _window_from_context, build_sales_dag, window_time

JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-10T12:00", datetime(2026, 11, 10, 12, tzinfo=JAKARTA)),
    ("2026-11-10 12:00:00", datetime(2026, 11, 10, 12, tzinfo=JAKARTA)),
    ("2026-11-10", datetime(2026, 11, 10, tzinfo=JAKARTA)),
    ("2026-11-10T12:00:00+07:00", datetime(2026, 11, 10, 12, tzinfo=timezone(timedelta(hours=7)))),
    ("2026-11-10T05:00:00Z", datetime(2026, 11, 10, 5, tzinfo=UTC)),
])
def test_times_with_or_without_an_offset(text: str, expected: datetime) -> None:
    moment = window_time(text, "Asia/Jakarta")
    assert moment == expected and moment.tzinfo is not None


def test_a_window_without_offsets_is_outlet_time() -> None:
    start, end = _window_from_context({}, {"window_start": "2026-11-10T12:00", "window_end": "2026-11-10T18:00"},
                                      "Asia/Jakarta")
    assert (start.isoformat(), end.isoformat()) == ("2026-11-10T12:00:00+07:00", "2026-11-10T18:00:00+07:00")
    # mixed: one with an offset, one without, compare as instants
    start, end = _window_from_context({}, {"window_start": "2026-11-10T05:00:00Z", "window_end": "2026-11-10T18:00"},
                                      "Asia/Jakarta")
    assert end - start == timedelta(hours=6)


@pytest.mark.parametrize(("params", "message"), [
    ({"window_start": "yesterday noon", "window_end": "2026-11-10T18:00"},
     "window_start 'yesterday noon' is not a date and time (e.g. 2026-11-10T12:00 in outlet time (Asia/Jakarta)"),
    ({"window_start": "2026-11-10T12:00", "window_end": "2026-11-10T25:00"}, "window_end '2026-11-10T25:00' is not"),
    ({"window_start": "2026-11-10T18:00", "window_end": "2026-11-10T12:00"},
     "empty window: window_end 2026-11-10T12:00:00+07:00 is not after window_start 2026-11-10T18:00:00+07:00"),
    ({"window_start": "2026-11-10T18:00"}, "set both window_start and window_end, or neither"),
])
def test_a_wrong_window_fails_the_run_at_once(params: dict[str, str], message: str) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    integration = next(i for i in load_config().integrations if i.name == "jurnal_demo")
    plan = build_sales_dag(integration).get_task("plan_sales_windows")
    with pytest.raises(AirflowFailException) as error:  # fails the task without its retries
        plan.python_callable(params={"outlets": [], "window_end": None, **params})
    assert message in str(error.value)


def test_the_form_says_which_forms_it_takes() -> None:
    integration = next(i for i in load_config().integrations if i.name == "jurnal_demo")
    params = build_sales_dag(integration).params
    assert "outlet time (Asia/Jakarta)" in params.get_param("window_start").description
    assert "format" not in params.get_param("window_start").schema  # JSON's date-time would demand an offset
