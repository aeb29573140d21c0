"""Issue 18 item 3, quarantine: someone allowed to re-sync a flow sets a failed record aside with a reason, from
Sync Status (Airflow's API server, plugins loaded) or the CLI. It is no longer retried by the real sync runs
(the demo POS's broken invoice through the pipeline into the Jurnal sandbox), no longer counted as open, who /
when / why are kept with its history; undo makes it failed again and the next run retries it; a record repaired
in the POS reopens by itself. Viewers are refused (403) and nothing changes; no reason is a 400, a synced record a
409. Failed webhook events get the same. An old ledger gains the status, its columns and the history table."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, update

from possync.cli import main as cli
from possync.ledger import RecordOutcome, SyncLedger
from possync.ledger.quarantine import QuarantineRefused, history, ignore, undo
from possync.ledger.status import flow_counts
from possync.ledger.webhooks import WebhookLog
from possync.pipeline import sync_customers, sync_products, sync_sales
from possync.pos import schema as pos_schema
from possync.pos.extract import Window
from possync.reconcile import _explanation
from support.airflow_api import api_server, token
from support.demo_week import broken_keys
from support.worlds import jurnal_world, sync_job

J = "jurnal_demo"
OUTLET = "JKT01"
BROKEN = next(key for key, kind in broken_keys().items()
              if kind == "order_product_without_sku" and key.startswith(f"INV-{OUTLET}-"))  # sold 2026-11-11


def jakarta_day(day: int) -> Window:
    start = datetime(2026, 11, day, tzinfo=UTC) - timedelta(hours=7)
    return Window(start, start + timedelta(days=1))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from jurnal_world(tmp_path, monkeypatch)


@pytest.fixture
def server(airflow_with_dags: Path, world: dict[str, Any]) -> TestClient:
    return api_server()


def post(server: TestClient, path: str, role: str, **body: Any) -> Any:
    return server.post(f"/sync-status/api/{path}", json=body, headers=token(role))


class Lines(logging.Handler):
    """The per-record log lines of the sync jobs made by ``job``."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []
        self.logger = logging.getLogger("test_quarantine.sync")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self.logger.handlers = [self]

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def about(self, key: str) -> list[str]:
        return [m for m in self.messages if f" {key} " in m]

    def job(self, world: dict[str, Any]) -> Any:
        self.messages.clear()
        return dataclasses.replace(sync_job(world), logger=self.logger)


def test_an_ignored_invoice_is_not_retried_nor_open_and_undo_retries_it(
    world: dict[str, Any], server: TestClient
) -> None:
    ledger: SyncLedger = world["ledger"]
    job = sync_job(world)
    sync_customers(job)
    sync_products(job)
    sync_sales(job, outlet_codes=[OUTLET], window=jakarta_day(11))
    failed = ledger.get(J, "invoice", BROKEN)
    assert failed is not None and failed.status == "failed" and "has no SKU" in (failed.reason or "")
    open_before = flow_counts(ledger, J)[J, "sales"]["failed"]

    # a viewer may not; nothing changes
    refused = post(server, "ignore", "viewer", integration=J, record_type="invoice", key=BROKEN, reason="test sale")
    assert refused.status_code == 403 and "may not trigger jurnal_demo__sales" in refused.json()["detail"]
    assert ledger.get(J, "invoice", BROKEN) == failed and history(ledger, J, "invoice", BROKEN) == []
    # a reason is required, and a synced record cannot be ignored
    for blank in (None, "", "   "):
        missing = post(server, "ignore", "user", integration=J, record_type="invoice", key=BROKEN, reason=blank)
        assert missing.status_code == 400 and "a reason is required" in missing.json()["detail"], missing.text
    assert ledger.get(J, "invoice", BROKEN) == failed
    synced = next(r for r in ledger.unsynced(J, "sales", statuses=("synced",)) if r.record_type == "invoice")
    conflict = post(server, "ignore", "user", integration=J, record_type="invoice", key=synced.key, reason="x")
    assert conflict.status_code == 409 and "is synced: only a failed record can be ignored" in conflict.json()["detail"]

    # someone allowed to re-sync the flow ignores it, with a reason
    why = "training sale on the demo till; the product was never sold"
    done = post(server, "ignore", "user", integration=J, record_type="invoice", key=BROKEN, reason=why)
    assert done.status_code == 200, done.text
    shown = done.json()["record"]
    assert (shown["status"], shown["ignored_by"], shown["ignored_reason"]) == ("ignored", "user", why)
    assert "has no SKU" in shown["reason"], "the failure reason is kept"
    assert [(h["action"], h["by"], h["reason"]) for h in done.json()["history"]] == [("ignore", "user", why)]
    # it and its payment (which failed because it did) are no longer open
    assert ledger.get(J, "payment", f"{BROKEN}/P1").status == "ignored"
    assert flow_counts(ledger, J)[J, "sales"]["failed"] == open_before - 2
    assert flow_counts(ledger, J)[J, "sales"]["ignored"] == 2
    counts = server.get("/sync-status/api/counts", params={"integration": J}, headers=token("viewer")).json()
    assert counts["flows"]["sales"]["ignored"] == 2 and counts["flows"]["sales"]["failed"] == open_before - 2
    assert BROKEN not in {r.key for r in ledger.unsynced(J, "sales")}
    ignored = ledger.get(J, "invoice", BROKEN)
    assert _explanation(ignored) == f"ignored by user: {why}"

    # the next day's run retries earlier failures, but not this one
    lines = Lines()
    next_day = sync_sales(lines.job(world), outlet_codes=[OUTLET], window=jakarta_day(12))
    assert lines.about(BROKEN) == [] and not any(BROKEN in f for f in next_day.failures), "not even read"
    assert ledger.get(J, "payment", f"{BROKEN}/P1").ignored_reason == why
    assert ledger.get(J, "invoice", BROKEN) == ignored
    # its own day again (a backfill): read, refused again, and skipped as ignored, not failed
    again = sync_sales(lines.job(world), outlet_codes=[OUTLET], window=jakarta_day(11))
    line = lines.about(BROKEN)[0]
    assert line.startswith("SKIPPED") and "ignored by user on " in line and why in line, line
    assert not any(BROKEN in f for f in again.failures)
    assert ledger.get(J, "invoice", BROKEN).status == "ignored"

    # undo: failed again with the reason it failed with, and the next run retries it
    back = post(server, "unignore", "user", integration=J, record_type="invoice", key=BROKEN)
    assert back.status_code == 200, back.text
    assert back.json()["record"]["status"] == "failed" and back.json()["record"]["reason"] == failed.reason
    assert back.json()["record"]["ignored_by"] is None
    assert ledger.get(J, "payment", f"{BROKEN}/P1").status == "failed", "undone with its invoice"
    assert [h["action"] for h in back.json()["history"]] == ["ignore", "undo"]
    assert post(server, "unignore", "user", integration=J, record_type="invoice", key=BROKEN).status_code == 409
    retried = sync_sales(lines.job(world), outlet_codes=[OUTLET], window=jakarta_day(12))
    assert any(BROKEN in f for f in retried.failures), "the next run retries the record again"
    assert any(line.startswith("FAILED") for line in lines.about(BROKEN))
    assert ledger.get(J, "invoice", BROKEN).updated_at > ignored.updated_at


def test_a_repaired_record_reopens_by_itself(world: dict[str, Any]) -> None:
    """"Ignored" was said about the content it had: once the POS content changes (here the product gets a SKU),
    the record is read again, sent, synced, and the history says why it left quarantine."""
    ledger: SyncLedger = world["ledger"]
    job = sync_job(world)
    sync_customers(job)
    sync_products(job)
    sync_sales(job, outlet_codes=[OUTLET], window=jakarta_day(11))
    ignore(ledger, J, "invoice", BROKEN, by="alice", reason="waiting for the product's SKU")
    with world["pos"].begin() as conn:
        conn.execute(update(pos_schema.products).where(pos_schema.products.c.sku.is_(None))
                     .values(sku="KOPI-SEASONAL-1L"))
    sync_products(sync_job(world))
    summary = sync_sales(sync_job(world), outlet_codes=[OUTLET], window=jakarta_day(11))
    record = ledger.get(J, "invoice", BROKEN)
    assert record.status == "synced" and record.ignored_by is None, (record, summary.failures)
    assert [(h.action, h.by) for h in history(ledger, J, "invoice", BROKEN)] == [
        ("ignore", "alice"), ("reopen", "possync")]
    assert "changed in the POS since it was ignored" in history(ledger, J, "invoice", BROKEN)[1].reason


def test_the_page_lists_ignored_records_with_who_when_why_and_buttons_for_editors_only(
    world: dict[str, Any], server: TestClient
) -> None:
    ledger: SyncLedger = world["ledger"]
    ledger.create_schema()
    at = datetime(2026, 11, 11, 3, tzinfo=UTC)
    ledger.record(J, [RecordOutcome("invoice", f"INV-X-{n}", "sales", "failed", outlet_code=OUTLET,
                                    business_time=at + timedelta(minutes=n), reason="no SKU") for n in range(3)])
    ignore(ledger, J, "invoice", "INV-X-1", by="alice", reason="a test sale <script>")

    def page(role: str, **params: str) -> str:
        response = server.get("/sync-status/", params={"integration": J, "flow": "sales", **params},
                              headers=token(role))
        assert response.status_code == 200, response.text
        return response.text

    listed = page("user", status="ignored")
    assert listed.count('class="record"') == 1 and "INV-X-1" in listed
    assert "ignored by alice on 2026-" in listed and "a test sale &lt;script&gt;" in listed
    assert 'class="undo-ignore"' in listed and 'class="ignore-record"' not in listed
    assert page("user", status="failed").count('class="ignore-record"') == 2
    assert 'name="reason" class="ignore-reason" required' in page("user", status="failed")
    assert "ignore-record" not in page("viewer", status="failed") and "undo-ignore" not in page("viewer",
                                                                                              status="ignored")
    # the form: Ignore, then Undo, each answered on the page
    blank = server.post("/sync-status/ignore", headers=token("user"), follow_redirects=False, data={
        "integration": J, "flow": "sales", "record_type": "invoice", "key": "INV-X-0", "reason": " "})
    assert blank.status_code == 303 and "error=1" in blank.headers["location"]
    done = server.post("/sync-status/ignore", headers=token("user"), follow_redirects=False, data={
        "integration": J, "flow": "sales", "record_type": "invoice", "key": "INV-X-0", "reason": "duplicate"})
    assert done.status_code == 303 and "status=ignored" in done.headers["location"]
    assert ledger.get(J, "invoice", "INV-X-0").status == "ignored"
    viewer = server.post("/sync-status/unignore", headers=token("viewer"), follow_redirects=False, data={
        "integration": J, "record_type": "invoice", "key": "INV-X-0"})
    assert viewer.status_code == 403 and ledger.get(J, "invoice", "INV-X-0").status == "ignored"
    undone = server.post("/sync-status/unignore", headers=token("user"), follow_redirects=False, data={
        "integration": J, "flow": "sales", "record_type": "invoice", "key": "INV-X-0"})
    assert undone.status_code == 303 and ledger.get(J, "invoice", "INV-X-0").status == "failed"
    hist = server.get("/sync-status/api/history", headers=token("viewer"),
                      params={"integration": J, "record_type": "invoice", "key": "INV-X-0"}).json()["history"]
    assert [(h["action"], h["by"]) for h in hist] == [("ignore", "user"), ("undo", "user")]
    assert hist[0]["failure_reason"] == "no SKU"


def test_a_failed_webhook_event_can_be_ignored_undone_and_retried(world: dict[str, Any], server: TestClient) -> None:
    log = WebhookLog(world["ledger"].engine, ensure_schema=True)
    envelope = {"uuid": "u-1", "type": "RECEIVE_ITEM", "databaseId": 1, "timestamp": 1,
                "data": [{"receiveItemId": 5, "receiveItemNo": "RI.1", "action": "WRITE"}]}
    log.receive("accurate_demo", [envelope, {**envelope, "uuid": "u-2"}])
    first = log.get("accurate_demo", "u-1")
    log.mark_failed(first.id, "Accurate item 'KOP-009' has no product with that SKU in the POS")
    log.mark_ignored(log.get("accurate_demo", "u-2").id, "DELETE is not synced")

    page = server.get("/sync-status/webhooks", params={"integration": "accurate_demo"}, headers=token("user")).text
    assert page.count('class="ignore-record"') == 1 and 'class="undo-ignore"' not in page, (
        "an event possync found nothing to do for is not someone's ignore: no Undo")
    assert 'id="retry-webhooks"' in page and "accurate_demo__inbound" in page
    viewer = server.get("/sync-status/webhooks", params={"integration": "accurate_demo"}, headers=token("viewer"))
    assert "ignore-record" not in viewer.text

    def call(action: str, role: str, **body: Any) -> Any:
        return post(server, f"webhooks/{action}", role, integration="accurate_demo", **body)

    assert call("ignore", "viewer", uuid="u-1", reason="x").status_code == 403
    assert call("ignore", "user", uuid="u-1", reason="").status_code == 400
    assert call("ignore", "user", uuid="nope", reason="x").status_code == 404
    assert call("unignore", "user", uuid="u-2").status_code == 409
    done = call("ignore", "user", uuid="u-1", reason="the supplier's test delivery")
    assert done.status_code == 200 and done.json()["reason"] == "ignored by user: the supplier's test delivery"
    assert [e.uuid for e in log.pending("accurate_demo")] == [], "an ignored event is not processed again"
    log.mark_failed(first.id, "a late failure from a run that read it before it was ignored")
    assert log.get("accurate_demo", "u-1").status == "ignored"
    assert 'class="undo-ignore"' in server.get("/sync-status/webhooks", params={"integration": "accurate_demo"},
                                               headers=token("user")).text
    back = call("unignore", "user", uuid="u-1")
    assert back.status_code == 200 and "has no product with that SKU" in back.json()["reason"]
    assert [e.uuid for e in log.pending("accurate_demo")] == ["u-1"]
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    try:
        retry = server.post("/sync-status/retry", headers=token("admin"), follow_redirects=False,
                            data={"integration": "accurate_demo", "flow": "inbound", "back": "webhooks"})
        assert retry.status_code == 303 and retry.headers["location"].startswith("webhooks?"), retry.headers
        assert "Triggered+run+retry__" in retry.headers["location"]
    finally:  # the metadata DB is the session's: leave no run behind for other tests that count them
        with create_session() as session:
            session.query(DagRun).filter(DagRun.dag_id == "accurate_demo__inbound",
                                         DagRun.run_id.startswith("retry__")).delete(synchronize_session=False)


def test_the_cli_ignores_and_undoes_with_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = SyncLedger.from_url(url, ensure_schema=True)
    ledger.record(J, [RecordOutcome("invoice", "INV-1", "sales", "failed", reason="no SKU"),
                      RecordOutcome("invoice", "INV-2", "sales", "synced", target_id="7")])
    args = ["--ledger-url", url, "--integration", J, "--type", "invoice"]
    assert cli(["ignore", *args, "--key", "INV-1", "--reason", "test sale", "--by", "ops"]) == 0
    assert "IGNORED" in capsys.readouterr().out and ledger.get(J, "invoice", "INV-1").ignored_by == "ops"
    assert cli(["status", "--ledger-url", url]) == 0
    out = capsys.readouterr().out
    assert "ignored records" in out and "test sale" in out and "failed records" not in out
    for argv, message in (
        (["ignore", *args, "--key", "INV-2", "--reason", "x"], "is synced: only a failed record can be ignored"),
        (["ignore", *args, "--key", "INV-9", "--reason", "x"], "has no invoice record 'INV-9'"),
        (["ignore", *args, "--key", "INV-1", "--reason", " "], "a reason is required"),
        (["unignore", *args, "--key", "INV-2"], "only a ignored record can be taken back"),
        (["ignore", "--ledger-url", f"sqlite:///{tmp_path / 'typo.db'}", *args[2:], "--key", "INV-1", "--reason",
          "x"], "no sync ledger at"),
    ):
        assert cli(argv) == 1, argv
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "typo.db").exists(), "a mistyped path does not create an empty ledger"
    assert cli(["unignore", *args, "--key", "INV-1"]) == 0
    assert "back to failed (no SKU)" in capsys.readouterr().out
    assert json.loads(_status_json(url, capsys))["ignored"] == {J: []}


def _status_json(url: str, capsys: pytest.CaptureFixture) -> str:
    assert cli(["status", "--ledger-url", url, "--json"]) == 0
    return capsys.readouterr().out


def test_ignore_refuses_what_is_not_failed(tmp_path: Path) -> None:
    ledger = SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}", ensure_schema=True)
    ledger.record(J, [RecordOutcome("invoice", "INV-P", "sales", "pending")])
    with pytest.raises(QuarantineRefused, match="is pending: only a failed record"):
        ignore(ledger, J, "invoice", "INV-P", by="x", reason="y")
    with pytest.raises(QuarantineRefused, match="only a ignored record"):
        undo(ledger, J, "invoice", "INV-P", by="x")


def test_an_ignored_record_stays_ignored_for_the_same_content_and_reopens_for_another(tmp_path: Path) -> None:
    ledger = SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}", ensure_schema=True)
    ledger.record(J, [RecordOutcome("invoice", "INV-1", "sales", "failed", content_hash="a", reason="refused")])
    ignore(ledger, J, "invoice", "INV-1", by="x", reason="y")
    for outcome in (RecordOutcome("invoice", "INV-1", "sales", "pending", content_hash="a"),
                    RecordOutcome("invoice", "INV-1", "sales", "failed", reason="refused again")):
        ledger.record(J, [outcome])
        record = ledger.get(J, "invoice", "INV-1")
        assert (record.status, record.ignored_by, record.reason) == ("ignored", "x", "refused")
    ledger.record(J, [RecordOutcome("invoice", "INV-1", "sales", "pending", content_hash="b")])
    record = ledger.get(J, "invoice", "INV-1")
    assert (record.status, record.ignored_by, record.ignored_reason) == ("pending", None, None)
    assert [h.action for h in history(ledger, J, "invoice", "INV-1")] == ["ignore", "reopen"]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_an_old_ledger_gains_the_ignored_status_its_columns_and_history(request: pytest.FixtureRequest,
                                                                        db: str) -> None:
    """A ledger created before quarantine (its CHECK allows four statuses, no ignored_* columns) is upgraded by
    ``create_schema``: rows and indexes kept, ``ignored`` accepted."""
    from sqlalchemy import text

    from possync.db import make_engine
    from possync.ledger.schema import create_schema

    engine = make_engine(request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url"))
    with engine.begin() as conn:
        conn.execute(text(
            f"CREATE TABLE sync_records (id {'INTEGER' if db == 'sqlite' else 'BIGSERIAL'} PRIMARY KEY, "
            "integration VARCHAR(100) NOT NULL, "
            "record_type VARCHAR(50) NOT NULL, business_key VARCHAR(200) NOT NULL, flow VARCHAR(50) NOT NULL, "
            "outlet_code VARCHAR(50), business_time TIMESTAMP, content_hash VARCHAR(64), status VARCHAR(10) NOT NULL, "
            "target_id VARCHAR(100), target_number VARCHAR(100), reason TEXT, attempts INTEGER DEFAULT 0 NOT NULL, "
            "dag_id VARCHAR(250), run_id VARCHAR(250), task_id VARCHAR(250), map_index INTEGER, try_number INTEGER, "
            "first_seen_at TIMESTAMP NOT NULL, last_attempt_at TIMESTAMP, synced_at TIMESTAMP, "
            "updated_at TIMESTAMP NOT NULL, CONSTRAINT uq_sync_records_key UNIQUE (integration, record_type, "
            "business_key), CONSTRAINT ck_sync_records_status CHECK (status IN ('pending', 'synced', 'failed', "
            "'skipped')))"))
        conn.execute(text("CREATE INDEX ix_sync_records_time ON sync_records (integration, business_time)"))
        conn.execute(text(
            "INSERT INTO sync_records (integration, record_type, business_key, flow, status, reason, attempts, "
            "first_seen_at, updated_at) VALUES ('jurnal_demo', 'invoice', 'INV-OLD', 'sales', 'failed', 'no SKU', 2, "
            "'2026-11-01 00:00:00', '2026-11-01 00:00:00')"))
    create_schema(engine)
    create_schema(engine)  # twice: nothing left to do
    ledger = SyncLedger(engine)
    record = ignore(ledger, J, "invoice", "INV-OLD", by="ops", reason="from before the upgrade")
    assert (record.status, record.reason, record.attempts) == ("ignored", "no SKU", 2)
    names = {index["name"] for index in inspect(engine).get_indexes("sync_records")}
    assert {"ix_sync_records_time", "ix_sync_records_flow_status_time"} <= names
    assert inspect(engine).has_table("record_quarantine")
    engine.dispose()
