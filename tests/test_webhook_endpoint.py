"""The Accurate webhook endpoint, mounted the way Airflow's API server mounts plugin apps: authenticated by the
integration's webhook secret (401 / 403 that reveal nothing), bad bodies answered 400 with the reason, the
ledger down answered 503 (Accurate retries), each uuid recorded once, the inbound DAG triggered, and the
token never logged."""

from __future__ import annotations

import json
import logging
import uuid as uuidlib
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from possync.db import make_engine
from possync.ledger.webhooks import WebhookLog

SECRET = "whs-3f9c2b7e-not-a-real-secret"


def envelope(uuid: str | None = None, number: str = "RI.2026.12.00001") -> dict:
    return {"databaseId": 1742775, "type": "RECEIVE_ITEM", "timestamp": 1764558000000,
            "uuid": uuid or str(uuidlib.uuid4()),
            "data": [{"receiveItemId": 101, "receiveItemNo": number, "action": "WRITE"}]}


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A config with an Accurate and a Jurnal integration, their connections in AIRFLOW_CONN_*, a ledger file."""
    tag = uuidlib.uuid4().hex[:8]
    names = {"acc": f"acc_{tag}", "nosecret": f"nosecret_{tag}", "jur": f"jur_{tag}", "down": f"down_{tag}"}
    base = {"start_date": "2026-11-09", "sales": {"mode": "realtime"},
            "outlets": {"JKT01": {"warehouse": "Kemang", "branch": "Jakarta"}}}
    config = {"integrations": [
        {**base, "name": names["acc"], "target": "accurate", "conn_id": f"c_{names['acc']}",
         "ledger_conn_id": f"l_{tag}"},
        {**base, "name": names["nosecret"], "target": "accurate", "conn_id": f"c_{names['nosecret']}",
         "ledger_conn_id": f"l_{tag}"},
        {**base, "name": names["jur"], "target": "jurnal", "conn_id": f"c_{names['jur']}",
         "ledger_conn_id": f"l_{tag}"},
        {**base, "name": names["down"], "target": "accurate", "conn_id": f"c_{names['acc']}",
         "ledger_conn_id": f"ldown_{tag}"},
    ]}
    (tmp_path / "integrations.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("POSSYNC_CONFIG", str(tmp_path / "integrations.yaml"))
    conns = {
        f"c_{names['acc']}": {"conn_type": "accurate", "host": "http://127.0.0.1:9", "password": "aat.x",
                              "extra": {"signature_secret": "s", "webhook_secret": SECRET}},
        f"c_{names['nosecret']}": {"conn_type": "accurate", "host": "http://127.0.0.1:9", "password": "aat.x"},
        f"c_{names['jur']}": {"conn_type": "jurnal", "host": "http://127.0.0.1:9", "login": "a", "password": "b",
                              "extra": {"webhook_secret": SECRET}},
        f"l_{tag}": {"conn_type": "sqlite", "host": str(tmp_path / "ledger.db")},
        f"ldown_{tag}": {"conn_type": "sqlite", "host": "/proc/no-such-dir/ledger.db"},  # cannot be created
    }
    for conn_id, conn in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    ledger = WebhookLog(make_engine(f"sqlite:///{tmp_path / 'ledger.db'}"), ensure_schema=True)
    return names, ledger


@pytest.fixture
def triggered() -> list[tuple[str, list[str]]]:
    return []


@pytest.fixture
def client(triggered):
    """The plugin's app as Airflow mounts it (``app.mount(url_prefix, subapp)``), with the trigger recorded."""
    from airflow import plugins_manager

    from possync.webhooks_app import create_app

    apps, _ = plugins_manager.get_fastapi_plugins()  # loaded from plugins/, as the API server loads them
    [entry] = [app for app in apps if app["name"] == "possync webhooks"]
    assert entry["url_prefix"] == "/possync" and isinstance(entry["app"], FastAPI)

    def record_trigger(dag_id: str, *, uuids: list[str], source: str) -> str:
        assert source == "a webhook from Accurate"
        triggered.append((dag_id, uuids))
        return f"triggered {dag_id}"

    server = FastAPI()
    server.mount(entry["url_prefix"], create_app(trigger=record_trigger))
    return TestClient(server)


def url(name: str, token: str | None = SECRET) -> str:
    return f"/possync/webhooks/accurate/{name}" + (f"?token={token}" if token is not None else "")


def test_a_delivery_is_recorded_once_per_uuid_and_triggers_the_inbound_dag(setup, client, triggered) -> None:
    names, ledger = setup
    first, second = envelope(), envelope(number="RI.2026.12.00002")
    response = client.post(url(names["acc"]), json=[first, second])
    assert (response.status_code, response.json()) == (200, {"received": 2, "duplicates": 0})
    assert triggered == [(f"{names['acc']}__inbound", [first["uuid"], second["uuid"]])]

    again = client.post(url(names["acc"]), json=[first])  # Accurate redelivers: acknowledged, not re-recorded
    assert (again.status_code, again.json()) == (200, {"received": 0, "duplicates": 1})
    assert len(triggered) == 1  # nothing new, no run

    by_header = client.post(url(names["acc"], token=None), json=[envelope()],
                            headers={"X-Possync-Webhook-Token": SECRET})
    assert by_header.json() == {"received": 1, "duplicates": 0}
    events = ledger.events(names["acc"], limit=10)
    assert len(events) == 3 and {e.status for e in events} == {"received"}
    assert {e.document_numbers for e in events} == {"RI.2026.12.00001", "RI.2026.12.00002"}


def test_callers_without_the_secret_learn_nothing(setup, client, triggered) -> None:
    names, ledger = setup
    assert client.post(url(names["acc"], token=None), json=[envelope()]).status_code == 401
    refusals = [
        client.post(url(names["acc"], token="guess"), json=[envelope()]),
        client.post(url(names["acc"], token=SECRET[:-1]), json=[envelope()]),
        client.post(url("no_such_integration"), json=[envelope()]),
        client.post(url(names["jur"]), json=[envelope()]),  # a Jurnal integration has no Accurate webhooks
        client.post(url(names["nosecret"]), json=[envelope()]),  # no webhook_secret: nobody gets in
        client.post(url(names["nosecret"], token=""), json=[envelope()]),
    ]
    assert [r.status_code for r in refusals] == [403, 403, 403, 403, 403, 401]
    assert len({r.text for r in refusals[:5]}) == 1  # the same answer whatever was wrong
    assert triggered == [] and ledger.events(names["acc"]) == []


@pytest.mark.parametrize(("body", "message"), [
    (b"not json", "body is not JSON"),
    (b'{"hello": "world"}', "expected a JSON array of webhook envelopes, got a JSON dict"),
    (b"[]", "the array of webhook envelopes is empty"),
    (b'["x"]', "envelope [0] is not an object"),
    (json.dumps([envelope(), {"type": "RECEIVE_ITEM", "data": []}]).encode(), "envelope [1] has no 'uuid'"),
    (json.dumps([{"uuid": "u", "data": []}]).encode(), "envelope [0] has no 'type'"),
    (json.dumps([{"uuid": "u", "type": "RECEIVE_ITEM"}]).encode(), "envelope [0] has no 'data'"),
    (b"\xff\xfe", "body is not JSON"),
])
def test_a_malformed_body_is_a_400_with_the_reason(setup, client, body, message) -> None:
    names, ledger = setup
    response = client.post(url(names["acc"]), content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert ledger.events(names["acc"]) == []


def test_a_ledger_it_cannot_reach_is_a_503_so_accurate_retries(setup, client, triggered, caplog) -> None:
    names, _ = setup
    response = client.post(url(names["down"]), json=[envelope()])
    assert (response.status_code, response.json()) == (503, {"detail": "webhook log unavailable; retry later"})
    assert triggered == []
    assert "could not record 1 events" in caplog.text


def test_a_failed_trigger_still_acknowledges_the_recorded_events(setup, caplog) -> None:
    """The real trigger, here with no Airflow metadata DB: the events are kept for the DAG's schedule."""
    from possync.webhooks_app import create_app

    names, ledger = setup
    server = FastAPI()
    server.mount("/possync", create_app())
    caplog.set_level(logging.INFO)
    response = TestClient(server).post(url(names["acc"]), json=[envelope()])
    assert (response.status_code, response.json()) == (200, {"received": 1, "duplicates": 0})
    assert "its schedule will process the events" in caplog.text
    assert len(ledger.pending(names["acc"])) == 1


def test_the_token_is_never_logged(setup, client, caplog) -> None:
    from airflow.api_fastapi.common.http_access_log import _redact_query_string

    names, _ = setup
    caplog.set_level(logging.DEBUG)
    client.post(url(names["acc"]), json=[envelope()])
    client.post(url(names["acc"], token=SECRET + "x"), json=[envelope()])
    client.post(url(names["acc"]), content=b"nope")
    assert caplog.records and SECRET not in caplog.text
    # the API server's access log prints the query string through this redaction
    assert SECRET not in _redact_query_string(f"token={SECRET}")


def test_the_connection_form_has_a_masked_webhook_secret() -> None:
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    from possync.provider import get_provider_info

    [accurate] = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == "accurate"]
    field = accurate["conn-fields"]["webhook_secret"]
    assert field["schema"]["format"] == "password"  # a password widget in Admin → Connections
    assert "/possync/webhooks/accurate/" in field["description"]
    assert should_hide_value_for_key("webhook_secret")  # Airflow masks the extra by its name


def test_the_api_server_trigger_queues_one_inbound_run(airflow_with_dags) -> None:
    """``trigger_dag`` from inside the API server's process: one queued run, not one per delivery."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from possync.webhooks_app import trigger_inbound_run

    dag_id = "accurate_demo__inbound"
    first = trigger_inbound_run(dag_id, uuids=["u1"])
    assert first.startswith(f"triggered {dag_id} run webhook__")
    assert trigger_inbound_run(dag_id, uuids=["u2"]) == (
        f"a run of {dag_id} is already queued; it will process these events")
    with create_session() as session:
        runs = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)).all()
        assert [(r.state, r.run_type, r.triggered_by.value, r.conf) for r in runs] == [
            ("queued", "manual", "rest_api", {"webhook_uuids": ["u1"]})]
    with pytest.raises(Exception, match="not found"):
        trigger_inbound_run("no_such_integration__inbound", uuids=["u3"])


def test_airflows_api_server_serves_the_endpoint_without_its_jwt(airflow_with_dags, tmp_path, monkeypatch) -> None:
    """The real API server app (plugins loaded from plugins/): the webhook route answers Accurate without an
    Airflow token, checked by the webhook secret, while Airflow's own API still demands one."""
    from support.airflow_api import api_server

    monkeypatch.setenv("AIRFLOW_CONN_ACCURATE_DEMO", json.dumps({
        "conn_type": "accurate", "host": "http://127.0.0.1:9", "password": "aat.x",
        "extra": {"signature_secret": "s", "webhook_secret": SECRET}}))
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_LEDGER", json.dumps({"conn_type": "sqlite",
                                                                 "host": str(tmp_path / "ledger.db")}))
    api = api_server()
    assert api.get("/api/v2/plugins").status_code == 401
    assert api.post(url("accurate_demo", token="wrong"), json=[envelope()]).status_code == 403
    first = envelope()
    response = api.post(url("accurate_demo"), json=[first])
    assert (response.status_code, response.json()) == (200, {"received": 1, "duplicates": 0})
    [event] = WebhookLog(make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")).pending("accurate_demo")
    assert event.uuid == first["uuid"]


def test_only_a_missing_table_creates_the_ledger_schema(setup, client, tmp_path, monkeypatch) -> None:
    """A fresh ledger gets its tables; a ledger that cannot be reached is a 503 without any schema DDL tried
    (the receiver used to answer every error by creating the schema and trying again)."""
    import possync.ledger.schema

    created: list[str] = []
    real_create = possync.ledger.schema.create_schema
    monkeypatch.setattr(possync.ledger.schema, "create_schema",
                        lambda engine: created.append(str(engine.url)) or real_create(engine))
    names, _ = setup
    assert client.post(url(names["down"]), json=[envelope()]).status_code == 503
    assert created == []

    fresh = tmp_path / "fresh-ledger.db"
    monkeypatch.setenv(f"AIRFLOW_CONN_L_{names['acc'].split('_')[1].upper()}",
                       json.dumps({"conn_type": "sqlite", "host": str(fresh)}))
    response = client.post(url(names["acc"]), json=[envelope()])
    assert (response.status_code, response.json()) == (200, {"received": 1, "duplicates": 0})
    assert created == [f"sqlite:///{fresh}"]
    assert len(WebhookLog(make_engine(f"sqlite:///{fresh}")).events(names["acc"])) == 1
