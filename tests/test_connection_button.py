"""The connection form's Test button for each target (``TargetHttpHook.test_connection``): one real, harmless
call against the live sandbox; on failure the reason in the user's words, at once (no retries)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.live_targets import LIVE_TARGETS, LiveTarget, running
from support.net import free_port


@pytest.fixture(params=sorted(LIVE_TARGETS))
def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveTarget]:
    yield from running(LIVE_TARGETS[request.param], tmp_path)


def test_good_credentials_connect(monkeypatch: pytest.MonkeyPatch, sandbox: LiveTarget) -> None:
    ok, message = sandbox.connect(monkeypatch).test_connection()
    assert ok and message.startswith("Connected to "), message


def test_a_wrong_secret_is_reported_as_the_401_it_is(monkeypatch: pytest.MonkeyPatch, sandbox: LiveTarget) -> None:
    ok, message = sandbox.connect(monkeypatch, secret="wrong", conn_id="button_bad").test_connection()
    assert not ok
    assert message.startswith("credentials refused (HTTP 401) by http://127.0.0.1:"), message


def test_nothing_listening_is_reported_at_once(monkeypatch: pytest.MonkeyPatch, sandbox: LiveTarget) -> None:
    hook = sandbox.connect(monkeypatch, conn_id="button_dead")
    dead = f"http://127.0.0.1:{free_port()}"
    conn = json.loads(os.environ["AIRFLOW_CONN_BUTTON_DEAD"])
    monkeypatch.setenv("AIRFLOW_CONN_BUTTON_DEAD", json.dumps({**conn, "host": dead}))
    started = time.monotonic()
    ok, message = hook.test_connection()
    assert (ok, message) == (False, f"host unreachable: cannot reach {dead} (connection refused, nothing listening)")
    assert time.monotonic() - started < 1.0  # one attempt, no backoff
    assert hook.max_attempts == 3  # the hook's own retries are back for its next calls
