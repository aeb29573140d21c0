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


def _form(monkeypatch: pytest.MonkeyPatch, sandbox: LiveTarget, **options: str) -> dict[str, str | None]:
    """What the connection form posts, for a connection to the sandbox (``options``: a wrong secret)."""
    sandbox.connect(monkeypatch, conn_id="form_source", **options)
    conn = json.loads(os.environ["AIRFLOW_CONN_FORM_SOURCE"])
    return {"connection_id": "from_the_form", "conn_type": conn["conn_type"], "host": conn["host"],
            "login": conn.get("login"), "password": conn["password"], "extra": json.dumps(conn["extra"])}


def test_the_airflow_api_tests_a_connection_through_the_hook(monkeypatch: pytest.MonkeyPatch, airflow_db: Path,
                                                             sandbox: LiveTarget) -> None:
    """POST /api/v2/connections/test, what the form's Test button sends, with test_connection Enabled: Airflow
    builds the hook from the form (``JurnalHook(jurnal_conn_id=...)``) and calls its test_connection."""
    from support.airflow_api import api_server, token

    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    server = api_server()
    reply = server.post("/api/v2/connections/test", json=_form(monkeypatch, sandbox), headers=token("admin"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] is True and reply.json()["message"].startswith("Connected to "), reply.json()

    reply = server.post("/api/v2/connections/test", json=_form(monkeypatch, sandbox, secret="wrong"),
                        headers=token("admin"))
    assert reply.json()["status"] is False
    assert reply.json()["message"].startswith("credentials refused (HTTP 401)"), reply.json()
