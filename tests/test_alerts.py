"""Alerts reach real receivers: a red run of a sync DAG through Airflow (``dag.test``) e-mails a local SMTP
server (aiosmtpd) and posts to a local chat webhook, naming the integration, DAG, run, task and the failed
records; the daily digest lists the ledger's open failures by flow and reason, oldest first; a channel that
cannot deliver is logged and changes nothing; without alerts configured nothing is sent."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from support.net import free_port
from support.receivers import ChatReceiver, SmtpReceiver
from support.worlds import jurnal_world

PROJECT = Path(__file__).resolve().parents[1]
DAGS = PROJECT / "dags"
CONFIG = PROJECT / "include" / "config" / "integrations.yaml"
UI = "http://airflow.example:8080"
ALERTS = {"email": {"conn_id": "possync_smtp", "to": ["ops@example.com", "finance@example.com"]},
          "chat": {"conn_id": "possync_chat"}, "digest_time": "07:30"}


def config_with(tmp_path: Path, alerts: dict[str, Any] | None, **more: Any) -> Path:
    """The demo's integrations.yaml with ``alerts`` on jurnal_demo (none when None)."""
    config = yaml.safe_load(CONFIG.read_text())
    jurnal = next(i for i in config["integrations"] if i["name"] == "jurnal_demo")
    if alerts is not None:
        jurnal["alerts"] = alerts
    jurnal.update(more)
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chat() -> Iterator[ChatReceiver]:
    server = ChatReceiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def channels(smtp: SmtpReceiver, chat: ChatReceiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Both receivers running, the Airflow connections pointing at them, the UI's address set."""
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_SMTP", smtp.conn())
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_CHAT", chat.conn())
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", UI)
    return {"smtp": smtp, "chat": chat}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: Path) -> Iterator[dict[str, Any]]:
    yield from jurnal_world(tmp_path, monkeypatch)


def run_dag(dag_id: str, conf: dict[str, Any] | None = None) -> tuple[str, dict[tuple[str, int], str]]:
    """Run a DAG of the DAG folder through Airflow (``dag.test``): the run's id and each task's state."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    run = bag.get_dag(dag_id).test(run_conf=conf or {})
    return run.run_id, {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}


class Records(logging.Handler):
    """The records of one logger, however Airflow has set up logging (structlog, pytest's capture)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# -- a red run --------------------------------------------------------------------------------------------------


def test_a_red_run_emails_and_posts_the_failed_task_with_its_records(
        world: dict[str, Any], channels: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSSYNC_CONFIG", str(config_with(tmp_path, ALERTS)))
    smtp, chat = channels["smtp"], channels["chat"]

    run_id, states = run_dag("jurnal_demo__customers")
    assert states == {("sync_customers", -1): "failed"}, "the demo's CUST-29 (a duplicate customer ID) fails"

    [mail] = smtp.messages
    assert mail.rcpt_tos == ["ops@example.com", "finance@example.com"]
    assert mail.mail_from == "possync@example.com", "the sender comes from the connection"
    assert mail.subject == "[possync] jurnal_demo: sync_customers failed in jurnal_demo__customers"
    body = mail.body
    for expected in ("Integration: jurnal_demo (jurnal)", "DAG:         jurnal_demo__customers",
                     f"Run:         {run_id}", "Task:        sync_customers (try 1)", "1 record(s) failed:",
                     "customer CUST-29: ",
                     f'href="{UI}/dags/jurnal_demo__customers/runs/{run_id.replace("+", "%2B").replace(":", "%3A")}'
                     "/tasks/sync_customers\"",
                     f"{UI}/sync-status/?integration=jurnal_demo&amp;dag_id=jurnal_demo__customers"):
        assert expected in body, (expected, body)
    reason = world["ledger"].get("jurnal_demo", "customer", "CUST-29").reason
    assert reason and reason in body.replace("&#x27;", "'").replace("&quot;", '"'), "the ledger's reason, verbatim"

    [(path, posted)] = chat.posts
    assert path == "/" + ChatReceiver.TOKEN, "posted to the connection's webhook URL"
    text = posted["text"]
    assert text.startswith("*[possync] jurnal_demo: sync_customers failed in jurnal_demo__customers*\n")
    assert f"Run:         {run_id}" in text and "customer CUST-29: " + reason in text
    assert f"Run in Airflow:  {UI}/dags/jurnal_demo__customers/runs/{quote(run_id, safe='')}\n" in text
    assert f"Sync Status:     {UI}/sync-status/?integration=jurnal_demo&dag_id=jurnal_demo__customers" in text

    # the Sync Status link lists exactly the run's failed records (its JSON twin, as a signed-in viewer)
    from urllib.parse import parse_qsl, urlsplit

    from support.airflow_api import api_server, token

    [link] = [line.split(maxsplit=2)[2] for line in text.splitlines() if line.startswith("Sync Status:")]
    query = dict(parse_qsl(urlsplit(link).query))
    assert query == {"integration": "jurnal_demo", "dag_id": "jurnal_demo__customers", "run_id": run_id,
                     "status": "failed"}
    listed = api_server().get("/sync-status/api/records", params=query, headers=token("viewer"))
    assert listed.status_code == 200, listed.text
    assert [(r["key"], r["status"], r["run_id"]) for r in listed.json()["records"]] == [("CUST-29", "failed", run_id)]


def test_a_mapped_task_names_its_outlet_and_every_failed_record(
        world: dict[str, Any], channels: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A transfers run over the demo week: TO-0009 (never recorded as sent) fails both its sides in one task."""
    monkeypatch.setenv("POSSYNC_CONFIG", str(config_with(tmp_path, ALERTS)))
    _run_id, states = run_dag("jurnal_demo__transfers", {"from_date": "2026-11-09", "to_date": "2026-11-13"})
    failed = sorted(task for task, state in states.items() if state == "failed")
    assert ("sync_transfers", 0) in failed

    subjects = [m.subject for m in channels["smtp"].messages]
    assert len(subjects) == len(failed), "one message per failed task"
    transfers = next(m.body for m in channels["smtp"].messages if "sync_transfers" in m.subject)
    assert "Task:        sync_transfers [BDG01,JKT01,SBY01,WH01] (try 1)" in transfers, transfers
    assert "transfer_out TO-0009: " in transfers and "transfer_in TO-0009: " in transfers
    # a reason with "; " inside stays one line: the transfer-in's "… has not been synced yet; repair it first"
    [line] = [line for line in transfers.splitlines() if "transfer_in TO-0009: " in line]
    assert "repair it first" in line
    assert len(channels["chat"].posts) == len(failed)


def test_an_unreachable_smtp_server_is_logged_and_changes_nothing(
        world: dict[str, Any], chat: ChatReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSSYNC_CONFIG", str(config_with(tmp_path, ALERTS)))
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": free_port(),
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "possync@example.com", "timeout": 2}}))
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_CHAT", chat.conn())

    logger, seen = logging.getLogger("possync.alerts"), Records()
    monkeypatch.setattr(logger, "level", logging.INFO)
    logger.addHandler(seen)
    try:
        _run_id, states = run_dag("jurnal_demo__customers")  # dag.test runs the task (and its callback) in-process
    finally:
        logger.removeHandler(seen)
    assert states == {("sync_customers", -1): "failed"}, "the task's state is the sync's, not the alert's"
    assert len(chat.posts) == 1, "the other channel still gets the message"
    assert world["ledger"].get("jurnal_demo", "customer", "CUST-29").status == "failed"
    logged = [(r.levelno, r.getMessage()) for r in seen.records]
    assert any(level == logging.ERROR and message.startswith(
        "ALERT NOT SENT  email via connection 'possync_smtp': ConnectionRefusedError") for level, message in logged)
    assert any(message.startswith("ALERT SENT  chat via connection 'possync_chat'") for _, message in logged)


def test_deliver_logs_a_channel_it_cannot_reach_and_tries_the_next(
        chat: ChatReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    from possync.alerts import Message, deliver
    from possync.config import Alerts

    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": free_port(),
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "possync@example.com", "timeout": 2}}))
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_CHAT", chat.conn())
    alerts = Alerts.model_validate(ALERTS)
    logger, seen = logging.getLogger("possync.alerts"), Records()
    monkeypatch.setattr(logger, "level", logging.INFO)
    logger.addHandler(seen)
    try:
        outcomes = deliver(alerts, Message("[possync] test", ["a line"]))
    finally:
        logger.removeHandler(seen)
    assert outcomes["chat"] == "sent"
    assert outcomes["email"].startswith("failed: ConnectionRefusedError")
    errors = [r.getMessage() for r in seen.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith("ALERT NOT SENT  email via connection 'possync_smtp': ConnectionRefusedError")
    assert any(r.getMessage().startswith("ALERT SENT  chat via connection 'possync_chat'") for r in seen.records)
    assert chat.texts == ["*[possync] test*\na line"]


def test_without_alerts_configured_nothing_is_sent(
        world: dict[str, Any], channels: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSSYNC_CONFIG", str(CONFIG))  # the demo's: no alerts
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert not any(dag_id.endswith("__alerts_digest") for dag_id in bag.dag_ids)
    assert not any(task.on_failure_callback for dag in bag.dags.values() for task in dag.tasks)

    _run_id, states = run_dag("jurnal_demo__customers")
    assert states == {("sync_customers", -1): "failed"}
    assert channels["smtp"].messages == [] and channels["chat"].posts == []


# -- the daily digest -------------------------------------------------------------------------------------------


def test_the_digest_dag_sends_the_demos_open_failures(
        world: dict[str, Any], channels: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Customers and products run red on the demo's broken records; the digest DAG, run through Airflow, lists them."""
    monkeypatch.setenv("POSSYNC_CONFIG", str(config_with(tmp_path, {**ALERTS, "chat": None})))
    run_dag("jurnal_demo__customers")
    run_dag("jurnal_demo__products")
    smtp = channels["smtp"]
    smtp.messages.clear()

    _run_id, states = run_dag("jurnal_demo__alerts_digest")
    assert states == {("send_digest", -1): "success"}
    [mail] = smtp.messages
    assert mail.subject.startswith("[possync] jurnal_demo: 2 open failure(s), oldest ")
    body = mail.body
    ledger = world["ledger"]
    for record_type, key, flow in (("customer", "CUST-29", "customers"), ("item", "PROD-40", "products")):
        reason = ledger.get("jurnal_demo", record_type, key).reason
        assert f"1 x {flow}: {reason}".replace("'", "&#x27;").replace('"', "&quot;") in body, body
        assert f"oldest {record_type} {key}, in the ledger for " in body
    assert body.index("customers:") < body.index("products:"), "oldest first: customers ran first"
    assert f"{UI}/sync-status/?integration=jurnal_demo&amp;flow=products&amp;status=failed" in body
    assert channels["chat"].posts == [], "chat is not configured here"


def test_the_digest_groups_by_flow_and_reason_with_counts_oldest_first_and_their_age(
        channels: dict[str, Any], sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import possync.ledger.store as store
    from possync.alerts import send_digest
    from possync.config import load_config
    from possync.ledger import RecordOutcome, SyncLedger

    ledger = SyncLedger.from_url(sqlite_url, ensure_schema=True)
    now = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    sold = datetime(2026, 11, 10, 5, 0, tzinfo=UTC)

    def write(when: datetime, *outcomes: RecordOutcome) -> None:
        monkeypatch.setattr(store, "_utcnow", lambda: when)
        ledger.record("jurnal_demo", outcomes)

    no_sku = "product 'Kopi Susu' has no SKU"
    write(now - timedelta(days=3, hours=4),
          RecordOutcome("invoice", "INV-1", "sales", "failed", outlet_code="JKT01", business_time=sold, reason=no_sku),
          RecordOutcome("invoice", "INV-2", "sales", "failed", outlet_code="JKT01", business_time=sold, reason=no_sku))
    write(now - timedelta(hours=5, minutes=12),
          RecordOutcome("transfer_in", "TO-9/IN", "transfers", "failed", reason="transfer-out TO-9 has not been "
                        "synced yet; repair it first"),
          RecordOutcome("invoice", "INV-3", "sales", "failed", business_time=sold, reason=no_sku),
          RecordOutcome("invoice", "INV-4", "sales", "synced", business_time=sold),
          RecordOutcome("invoice", "INV-5", "sales", "pending", business_time=sold))
    write(now - timedelta(minutes=12), RecordOutcome("customer", "CUST-1", "customers", "failed", reason="duplicate"))
    write(now - timedelta(minutes=1), RecordOutcome("invoice", "INV-0", "sales", "failed", reason=no_sku))
    integration = next(i for i in load_config().integrations if i.name == "jurnal_demo").model_copy(
        update={"alerts": __import__("possync.config", fromlist=["Alerts"]).Alerts.model_validate(ALERTS)})

    summary = send_digest(integration, ledger, now=now)
    assert summary == {"open_failures": 6, "groups": 3, "sent": {"email": "sent", "chat": "sent"}}
    [text] = channels["chat"].texts
    assert text.startswith("*[possync] jurnal_demo: 6 open failure(s), oldest 3 d 4 h*")
    lines = text.splitlines()
    start = lines.index("Open failures: 6 record(s) in 3 group(s) (flow and reason), oldest first:")
    assert lines[start + 2:start + 8] == [
        f"    4 x sales: {no_sku}",
        "        oldest invoice INV-1, business time 2026-11-10 12:00, in the ledger for 3 d 4 h",
        "    1 x transfers: transfer-out TO-9 has not been synced yet; repair it first",
        "        oldest transfer_in TO-9/IN, in the ledger for 5 h 12 min",
        "    1 x customers: duplicate",
        "        oldest customer CUST-1, in the ledger for 12 min",
    ]
    assert len(channels["smtp"].messages) == 1


def test_no_open_failures_no_digest(channels: dict[str, Any], sqlite_url: str) -> None:
    from possync.alerts import send_digest
    from possync.config import Alerts, load_config
    from possync.ledger import SyncLedger

    integration = next(i for i in load_config().integrations if i.name == "jurnal_demo")
    ledger = SyncLedger.from_url(sqlite_url, ensure_schema=True)
    assert send_digest(integration, ledger) == {"open_failures": None, "sent": {}}, "no alerts configured"
    configured = integration.model_copy(update={"alerts": Alerts.model_validate(ALERTS)})
    assert send_digest(configured, ledger) == {"open_failures": 0, "sent": {}}
    assert channels["smtp"].messages == [] and channels["chat"].posts == []


# -- configuration and DAGs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alerts", "error"), [
    ({"digest_time": "07:00"}, "integrations[0] (jurnal_demo).alerts: configure at least one channel"),
    ({"email": {"conn_id": "smtp", "to": []}}, "alerts.email.to: list at least one address"),
    ({"email": {"conn_id": "smtp", "to": ["ops@example.com", "a@b.c; d@e.f"]}},
     "alerts.email.to: 'a@b.c; d@e.f' is not an e-mail address"),
    ({"email": {"conn_id": "smtp", "to": ["ops@example.com"], "from_email": "possync"}},
     "alerts.email.from_email: 'possync' is not an e-mail address"),
    ({"chat": {"conn_id": "chat", "url": "https://hooks.slack.com/x"}}, "alerts.chat.url: Extra inputs are not"),
    ({"chat": {"conn_id": "chat"}, "digest_time": "25:00"}, "alerts.digest_time: '25:00' is not a time of day"),
])
def test_bad_alert_settings_are_clear_config_errors(tmp_path: Path, alerts: dict[str, Any], error: str) -> None:
    from possync.config import ConfigError, load_config

    path = config_with(tmp_path, alerts)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert error in str(raised.value)


def test_alerts_wire_every_task_and_add_a_digest_dag_without_io_at_parse_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from possync.alerts import TaskFailureNotifier

    path = config_with(tmp_path, ALERTS)
    monkeypatch.setenv("POSSYNC_CONFIG", str(path))
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    digest = bag.dags["jurnal_demo__alerts_digest"]
    assert digest.timetable.expression == "30 7 * * *"
    assert str(digest.timetable.timezone) in ("Asia/Jakarta", "Timezone('Asia/Jakarta')")
    assert {"jurnal", "alerts_digest", "jurnal_demo"} <= set(digest.tags)
    assert "accurate_demo__alerts_digest" not in bag.dags, "only integrations with alerts get one"
    assert digest.doc_md and "07:30 Asia/Jakarta" in digest.doc_md and "ops@example.com" in digest.doc_md
    [send] = digest.tasks
    assert send.task_id == "send_digest" and send.owner == "possync" and send.retries >= 1
    for dag_id, dag in bag.dags.items():
        for task in dag.tasks:
            callbacks = task.on_failure_callback or []
            alerting = dag_id.startswith("jurnal_demo__") and dag_id != "jurnal_demo__alerts_digest"
            assert bool(callbacks) == alerting, (dag_id, task.task_id)
            assert all(isinstance(c, TaskFailureNotifier) and c.name == "jurnal_demo" for c in callbacks)

    heavy = ("pandas", "possync.ledger.store", "airflow.providers.smtp.hooks.smtp",
             "airflow.providers.slack.hooks.slack_webhook")
    probe = f"import sys, runpy; runpy.run_path(sys.argv[1]); print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe, str(DAGS / "possync_dags.py")], capture_output=True,
                            text=True, timeout=120, env={**__import__("os").environ, "POSSYNC_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]", "no ledger, no provider hooks imported at parse time"


def test_reason_lines_keep_a_reason_with_a_semicolon_whole() -> None:
    from possync.alerts import reason_lines

    message = ("3 record(s) failed: transfer_out TO-9/OUT: sent nowhere; transfer_in TO-9/IN: transfer-out TO-9 has "
               "not been synced yet; repair it first; invoice INV-1: product 'X' has no SKU (and 4 more in the log)")
    assert reason_lines(message) == [
        "3 record(s) failed:",
        "  - transfer_out TO-9/OUT: sent nowhere",
        "  - transfer_in TO-9/IN: transfer-out TO-9 has not been synced yet; repair it first",
        "  - invoice INV-1: product 'X' has no SKU",
        "  (and 4 more in the log)",
    ]
    from possync.i18n import failure_message

    indonesian = failure_message(7, ["invoice INV-1: produk 'X' tidak punya SKU; perbaiki dulu",
                                     *(f"payment INV-{n}/P1: sebab {n}" for n in range(2, 8))], "id")
    assert reason_lines(indonesian) == [
        "7 data gagal:",
        "  - invoice INV-1: produk 'X' tidak punya SKU; perbaiki dulu",
        *(f"  - payment INV-{n}/P1: sebab {n}" for n in range(2, 6)),
        "  (dan 2 lagi di log)",
    ]
    english = failure_message(1, ["customer CUST-29: customer ID C-0007 is already used"], "en")
    assert reason_lines(english) == ["1 record(s) failed:", "  - customer CUST-29: customer ID C-0007 is already used"]
    assert reason_lines("HO schema 3.0.0 does not match 2.x\nnothing moved") == [
        "HO schema 3.0.0 does not match 2.x", "nothing moved"]


def test_a_red_head_office_exchange_alerts_too(
        chat: ChatReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: Path) -> None:
    """Head offices have alerts of their own: an unreachable HO database stops the exchange at its check."""
    config = yaml.safe_load(CONFIG.read_text())
    config["headoffices"][0]["alerts"] = {"chat": {"conn_id": "possync_chat"}}
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("POSSYNC_CONFIG", str(path))
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_CHAT", chat.conn())
    port = free_port()  # nothing listens there
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_HEADOFFICE", json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": port, "login": "ho", "schema": "ho"}))

    run_id, states = run_dag("ho_demo__exchange")
    assert states["check_headoffice", -1] == "failed"
    [text] = chat.texts
    assert text.startswith("*[possync] ho_demo: check_headoffice failed in ho_demo__exchange*")
    assert "Integration: ho_demo (head office)" in text and f"Run:         {run_id}" in text
    assert f"cannot reach the head office database at 127.0.0.1:{port}/ho" in text
    assert "possync headoffice status" in text and "sync-status" not in text, "HO keeps no sync ledger"


def test_config_check_says_where_alerts_go(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from possync.cli import main

    assert main(["config", "check", "--config", str(config_with(tmp_path, ALERTS))]) == 0
    out = capsys.readouterr().out
    assert ("jurnal_demo: jurnal via connection 'jurnal_demo'; alerts: e-mail to ops@example.com, finance@example.com "
            "via 'possync_smtp' and chat via 'possync_chat', digest daily at 07:30") in out
    assert "accurate_demo: accurate via connection 'accurate_demo'; no alerts" in out
    assert "ho_demo: head office via connection 'possync_headoffice'; no alerts" in out


def test_a_digest_of_many_reasons_shows_the_oldest_groups_and_counts_the_rest(sqlite_url: str) -> None:
    from possync.alerts import DIGEST_GROUPS, digest_message, open_failures
    from possync.config import load_config
    from possync.ledger import RecordOutcome, SyncLedger

    ledger = SyncLedger.from_url(sqlite_url, ensure_schema=True)
    ledger.record("jurnal_demo", [RecordOutcome("customer", f"CUST-{n:03d}", "customers", "failed",
                                                reason=f"reason {n:03d}") for n in range(DIGEST_GROUPS + 5)])
    groups, total = open_failures(ledger, "jurnal_demo")
    assert total == len(groups) == DIGEST_GROUPS + 5
    integration = next(i for i in load_config().integrations if i.name == "jurnal_demo")
    text = digest_message(integration, groups, total).text
    assert text.count(" x customers: ") == DIGEST_GROUPS
    assert "  … and 5 more failed record(s) in 5 more group(s) (Sync Status lists them all)" in text


def test_an_indonesian_integrations_alerts_speak_indonesian(sqlite_url: str) -> None:
    """``language: id``: the alert's and the digest's own words are Indonesian; names, keys and links are not."""
    from types import SimpleNamespace

    from possync.alerts import digest_message, failure_message, open_failures
    from possync.config import load_config
    from possync.i18n import failure_message as task_message
    from possync.ledger import RecordOutcome, SyncLedger

    ti = SimpleNamespace(dag_id="kopi__sales", run_id="scheduled__1", task_id="sync_sales", map_index=-1,
                         try_number=2)
    error = task_message(1, ["invoice INV-1: product 'Kopi' has no SKU"], "id")
    context = {"ti": ti, "exception": RuntimeError(error)}
    message = failure_message(context, name="kopi", target="jurnal", language="id")
    assert message.subject == "[possync] kopi: sync_sales gagal di kopi__sales"
    assert message.lines[:4] == ["Integrasi:   kopi (jurnal)", "DAG:         kopi__sales", "Run:         scheduled__1",
                                 "Tugas:       sync_sales (try 2)"]
    assert "Sebab:" in message.lines and "1 data gagal:" in message.text and "tidak punya SKU" in message.text
    assert any(line.startswith("Status Sinkronisasi: ") and "integration=kopi" in line for line in message.lines)
    assert failure_message(context, name="kopi", target="jurnal").subject.endswith("sync_sales failed in kopi__sales")

    ledger = SyncLedger.from_url(sqlite_url, ensure_schema=True)
    ledger.record("jurnal_demo", [RecordOutcome("invoice", "INV-1", "sales", "failed",
                                                reason="product 'Kopi' has no SKU")])
    groups, total = open_failures(ledger, "jurnal_demo")
    integration = next(i for i in load_config().integrations if i.name == "jurnal_demo").model_copy(
        update={"language": "id"})
    digest = digest_message(integration, groups, total)
    assert digest.subject.startswith("[possync] jurnal_demo: 1 kegagalan terbuka, terlama ")
    assert "Kegagalan terbuka: 1 data dalam 1 kelompok (alur dan sebab), terlama dulu:" in digest.lines
    assert "    1 x sales: produk 'Kopi' tidak punya SKU" in digest.lines, digest.lines
