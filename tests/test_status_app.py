"""The Sync Status pages on Airflow's own API server app (plugins loaded from plugins/): anonymous callers get
401, a viewer sees the pages but may not retry (403), filters and paging return exactly the matching
records once each, and a retry triggers the owning DAG with a conf its params accept, re-syncing the
failed records oldest first. No secret of a connection is ever shown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from possync.ledger import RecordOutcome, RunRef, SyncLedger
from support.airflow_api import api_server, token

J = "jurnal_demo"
JAKARTA = ZoneInfo("Asia/Jakarta")
JURNAL_SECRET = "jurnal-client-secret-never-shown"
START = datetime(2026, 11, 9, 1, tzinfo=UTC)  # 08:00 in Jakarta


def sales(n: int, status: str, outlet: str, reason: str | None = None) -> RecordOutcome:
    return RecordOutcome("invoice", f"INV-{outlet}-{n:04d}", "sales", status, outlet_code=outlet,
                         business_time=START + timedelta(hours=n), reason=reason,
                         target_id=str(1000 + n) if status == "synced" else None,
                         target_number=f"INV-{outlet}-{n:04d}" if status == "synced" else None)


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SyncLedger:
    """120 sales records over two outlets (every 10th failed), customers, a failed transfer-in, with the task
    attempts that wrote them."""
    path = tmp_path / "ledger.db"
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    monkeypatch.setenv("AIRFLOW_CONN_JURNAL_DEMO", json.dumps({
        "conn_type": "jurnal", "host": "http://127.0.0.1:9", "login": "client", "password": JURNAL_SECRET}))
    ledger = SyncLedger.from_url(f"sqlite:///{path}", ensure_schema=True)
    run = RunRef("jurnal_demo__sales", "backfill__2026-11-09T05:00:00+00:00", "sync_sales", 1, 2)
    for outlet in ("JKT01", "BDG01"):
        ledger.record(J, [sales(n, "failed" if n % 10 == 0 else "synced", outlet,
                                "product 'Kopi Susu' has no SKU" if n % 10 == 0 else None)
                          for n in range(60)], run)
    ledger.record(J, [RecordOutcome("customer", f"CUST-{n}", "customers", "synced", target_id=str(n))
                      for n in range(7)])
    ledger.record(J, [RecordOutcome("transfer_in", "TO-0009", "transfers", "failed", outlet_code="JKT01",
                                    business_time=START + timedelta(days=2),
                                    reason="transfer-out TO-0009 has not been synced yet; repair it first")])
    return ledger


@pytest.fixture
def server(airflow_with_dags: Path, ledger: SyncLedger) -> TestClient:
    return api_server()


def records(server: TestClient, **params: object) -> list[dict]:
    response = server.get("/sync-status/api/records", params={"integration": J, **params}, headers=token("viewer"))
    assert response.status_code == 200, response.text
    return response.json()["records"]


def test_anonymous_callers_get_401_everywhere(server) -> None:
    for method, path in (("GET", "/sync-status/"), ("GET", "/sync-status/webhooks"),
                         ("GET", "/sync-status/api/records"), ("GET", "/sync-status/api/counts"),
                         ("POST", "/sync-status/api/retry"), ("POST", "/sync-status/retry")):
        assert server.request(method, path).status_code == 401, path


def test_a_viewer_sees_the_page_but_may_not_retry(server) -> None:
    page = server.get("/sync-status/", params={"flow": "sales", "status": "failed"}, headers=token("viewer"))
    assert page.status_code == 200
    assert page.text.count('class="record"') == 12 and "product &#x27;Kopi Susu&#x27; has no SKU" in page.text
    assert ('href="/dags/jurnal_demo__sales/runs/backfill__2026-11-09T05%3A00%3A00%2B00%3A00/tasks/sync_sales'
            '/mapped/1?try_number=2"') in page.text, "each record links to the task attempt that last wrote it"
    assert JURNAL_SECRET not in page.text and "client" not in page.text.split("<table id=\"records\"")[1]
    refused = server.post("/sync-status/api/retry", json={"integration": J, "flow": "sales"},
                          headers=token("viewer"))
    assert refused.status_code == 403 and "may not trigger jurnal_demo__sales" in refused.json()["detail"]
    form = server.post("/sync-status/retry", data={"integration": J, "flow": "sales"}, headers=token("viewer"),
                       follow_redirects=False)
    assert form.status_code == 403


def test_filters_select_exactly_the_matching_records(server) -> None:
    assert {r["key"] for r in records(server, status="failed", flow="sales")} == {
        f"INV-{o}-{n:04d}" for o in ("JKT01", "BDG01") for n in range(0, 60, 10)}
    assert {r["outlet"] for r in records(server, flow="sales", outlet="BDG01", limit=500)} == {"BDG01"}
    assert len(records(server, flow="sales", outlet="BDG01", limit=500)) == 60
    # date range in the integration's timezone: 2026-11-10 Jakarta = hours 16..39 after START (08:00)
    day = records(server, flow="sales", outlet="JKT01", date_from="2026-11-10", date_to="2026-11-10", limit=500)
    assert sorted(int(r["key"][-4:]) for r in day) == list(range(16, 40))
    prefixed = [r["key"] for r in records(server, q="INV-JKT01-005")]
    assert prefixed == [f"INV-JKT01-{n:04d}" for n in range(59, 49, -1)]
    by_task = records(server, dag_id="jurnal_demo__sales", task_id="sync_sales", map_index=1, limit=500)
    assert len(by_task) == 120 and {r["try_number"] for r in by_task} == {2}
    [transfer] = records(server, flow="transfers")
    assert transfer["reason"] == "transfer-out TO-0009 has not been synced yet; repair it first"
    counts = server.get("/sync-status/api/counts", params={"integration": J}, headers=token("viewer")).json()
    assert counts["flows"]["sales"] == {"synced": 108, "failed": 12, "pending": 0, "skipped": 0, "ignored": 0}


def test_paging_returns_every_record_once_newest_first(server) -> None:
    seen: list[dict] = []
    cursor = None
    while True:
        params = {"integration": J, "limit": 17, **({"cursor": cursor} if cursor else {})}
        page = server.get("/sync-status/api/records", params=params, headers=token("viewer")).json()
        seen += page["records"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len({(r["record_type"], r["key"]) for r in seen}) == 120 + 7 + 1
    times = [r["business_time"] for r in seen if r["business_time"]]
    assert times == sorted(times, reverse=True), "newest business time first"
    assert all(r["business_time"] is None for r in seen[len(times):]), "records without one come last"


@pytest.mark.parametrize(("params", "message"), [
    ({"status": "lost"}, "status 'lost' is not one of"),
    ({"flow": "payroll"}, "flow 'payroll' is not one of"),
    ({"date_from": "10/11/2026"}, "date_from '10/11/2026' is not a date"),
    ({"date_from": "2026-11-12", "date_to": "2026-11-10"}, "the date range is empty"),
    ({"cursor": "not-a-cursor"}, "is not one this page handed out"),
    ({"limit": 0}, "limit must be 1 to 500"),
    ({"integration": "nobody"}, "no enabled integration 'nobody'"),
])
def test_bad_filters_are_refused_with_the_reason(server, params: dict, message: str) -> None:
    response = server.get("/sync-status/api/records", params={"integration": J, **params}, headers=token("viewer"))
    assert response.status_code in (400, 404) and message in response.json()["detail"], response.text


def test_retry_triggers_the_owning_dag_with_a_conf_its_params_accept(server, ledger) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    response = server.post("/sync-status/api/retry", json={"integration": J, "flow": "sales"}, headers=token("admin"))
    assert response.status_code == 200, response.text
    retry = response.json()
    latest = START + timedelta(hours=50)  # the newest failed sale; earlier ones are retried by the run itself
    assert retry["dag_id"] == "jurnal_demo__sales" and retry["records"] == 12
    assert retry["conf"] == {"window_start": latest.astimezone(JAKARTA).isoformat(),
                             "window_end": (latest + timedelta(microseconds=1)).astimezone(JAKARTA).isoformat(),
                             "outlets": ["BDG01", "JKT01"]}
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.run_id == retry["run_id"]).one()
        assert (run.dag_id, run.conf) == ("jurnal_demo__sales", retry["conf"])
        assert run.triggering_user_name == "admin"

    one = server.post("/sync-status/api/retry", headers=token("admin"), json={
        "integration": J, "flow": "transfers", "key": "TO-0009", "record_type": "transfer_in"}).json()
    assert (one["dag_id"], one["conf"]) == ("jurnal_demo__transfers",
                                            {"from_date": "2026-11-11", "to_date": "2026-11-11", "outlets": ["JKT01"]})
    customers = server.post("/sync-status/api/retry", headers=token("admin"),
                            json={"integration": J, "flow": "customers"})
    assert customers.status_code == 409 and "no failed customers records" in customers.json()["detail"]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"integration": J, "flow": "payroll"}, 400, "flow 'payroll' is not one of"),
    ({"integration": "nobody", "flow": "sales"}, 404, "no enabled integration 'nobody'"),
    ({"integration": J, "flow": "sales", "key": "INV-JKT01-0001", "record_type": "invoice"}, 409,
     "invoice INV-JKT01-0001 is synced: there is nothing to retry"),
    ({"integration": J, "flow": "sales", "key": "INV-NONE", "record_type": "invoice"}, 404, "has no sales record"),
])
def test_a_retry_that_cannot_be_done_says_why(server, body: dict, status: int, message: str) -> None:
    response = server.post("/sync-status/api/retry", json=body, headers=token("admin"))
    assert response.status_code == status and message in response.json()["detail"], response.text


def test_the_retry_form_confirms_with_the_new_run(server) -> None:
    response = server.post("/sync-status/retry", data={"integration": J, "flow": "sales"}, headers=token("admin"),
                           follow_redirects=False)
    assert response.status_code == 303
    page = server.get("/sync-status/" + response.headers["location"].removeprefix("./"), headers=token("admin"))
    assert 'id="message"' in page.text and "Triggered run retry__" in page.text and "jurnal_demo__sales" in page.text


def test_the_webhook_log_page_lists_events(server, ledger) -> None:
    from possync.ledger.webhooks import WebhookLog

    log = WebhookLog(ledger.engine)
    log.receive("accurate_demo", [{"uuid": "u-1", "type": "RECEIVE_ITEM", "databaseId": 1, "timestamp": 1,
                                   "data": [{"receiveItemId": 5, "receiveItemNo": "RI.1", "action": "WRITE"}]}])
    page = server.get("/sync-status/webhooks", params={"integration": "accurate_demo"}, headers=token("viewer"))
    assert page.status_code == 200 and "RECEIVE_ITEM" in page.text and "u-1" in page.text


def test_an_integration_in_bahasa_indonesia_gets_its_pages_and_reasons_in_indonesian(server, monkeypatch) -> None:
    """``language: id``: the page's own words and the ledger's reasons (kept in English) are shown in Indonesian;
    keys, names and the record types stay as they are. The same ledger in English is unchanged."""
    from possync import config

    english = server.get("/sync-status/", params={"integration": J, "status": "failed"}, headers=token("viewer"))
    assert "product &#x27;Kopi Susu&#x27; has no SKU" in english.text and "Sync Status" in english.text
    settings = config.load_config()
    speaking = settings.model_copy(update={"integrations": [
        i.model_copy(update={"language": "id"}) if i.name == J else i for i in settings.integrations]})
    monkeypatch.setattr(config, "load_config", lambda *args, **kwargs: speaking)

    page = server.get("/sync-status/", params={"integration": J, "status": "failed"}, headers=token("viewer"))
    assert page.status_code == 200, page.text
    text = page.text
    assert "Status Sinkronisasi: jurnal_demo" in text and "<th>alasan</th>" in text and "Saring" in text
    assert "produk &#x27;Kopi Susu&#x27; tidak punya SKU" in text and "has no SKU" not in text
    assert ">gagal<" in text and "INV-JKT01-0010" in text, "statuses translated, keys kept"
    assert "transfer keluar TO-0009 belum disinkronkan; perbaiki dulu" in server.get(
        "/sync-status/", params={"integration": J, "flow": "transfers"}, headers=token("viewer")).text
    webhooks = server.get("/sync-status/webhooks", params={"integration": J}, headers=token("viewer"))
    assert "Log webhook: jurnal_demo" in webhooks.text
