"""Red means new: a task turns red when a record fails for the first time or for another reason than before, not
on every later run that retries a failure already reported; such a record is still retried, and logged as a
warning with how long it has been failing. ``red_on: any`` keeps every run with a failed record red. The ledger
knows since when each record has been failing for its current reason (``failing_since``), decided in the same
write that records the failure; a reason that differs only by volatile text (a timestamp, an attempt number)
is the same reason. A run whose task failed is red even when a later ``all_done`` task succeeded."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException
from sqlalchemy import create_engine, inspect, text, update

from possync.config import load_config
from possync.ledger import RecordOutcome, SyncLedger
from possync.ledger.reasons import failure_key
from possync.ledger.schema import sync_records, webhook_events
from possync.pos import schema as pos_schema
from possync.targets.base.loader import FailedRecord
from possync.targets.base.operators import SyncProductsOperator, report_failures
from possync_devkit.demo_pos import SKULESS_PRODUCT
from support.demo_week import run_sales
from support.worlds import jurnal_world

SKULESS_KEY = f"PROD-{SKULESS_PRODUCT.id}"


# -- the ledger: failing_since, decided in the write ----------------------------------------------------------


def _outcome(status: str, reason: str | None = None, content: str = "h1") -> RecordOutcome:
    return RecordOutcome("invoice", "INV-1", "sales", status, content_hash=content, reason=reason)  # type: ignore[arg-type]


@pytest.fixture
def ledger(db_url: str) -> SyncLedger:
    return SyncLedger.from_url(db_url, ensure_schema=True)


def test_failing_since_starts_at_the_first_failure_and_stays_while_the_reason_does(ledger: SyncLedger) -> None:
    first = ledger.record("i", [_outcome("failed", "product 'Kopi' has no SKU")])["invoice", "INV-1"]
    assert first is not None and ledger.get("i", "invoice", "INV-1").failing_since == first
    ledger.record("i", [_outcome("pending")])  # staged again for its retry
    assert ledger.get("i", "invoice", "INV-1").failing_since == first
    again = ledger.record("i", [_outcome("failed", "product 'Kopi' has no SKU")])
    assert again == {("invoice", "INV-1"): first}, "the same reason again: failing since the first time"


def test_a_new_reason_restarts_failing_since(ledger: SyncLedger) -> None:
    first = ledger.record("i", [_outcome("failed", "product 'Kopi' has no SKU")])["invoice", "INV-1"]
    changed = ledger.record("i", [_outcome("failed", "Jurnal: Customer can't be blank")])["invoice", "INV-1"]
    assert changed is not None and changed > first


def test_a_reason_changing_only_by_volatile_text_is_the_same_failure(ledger: SyncLedger) -> None:
    first = ledger.record("i", [_outcome(
        "failed", "Jurnal: Item 3: Product (Product 'X' was not found.) (2 of 17 invoices are not valid; none was "
                  "created.) at 2026-11-09T10:15:02Z, attempt 3 of 5, request id 8f3a-77")])["invoice", "INV-1"]
    again = ledger.record("i", [_outcome(
        "failed", "Jurnal: Item 1: Product (Product 'X' was not found.) (1 of 4 invoices are not valid; none was "
                  "created.) at 2026-11-10T08:00:41Z, attempt 1 of 5, request id 1b2c-99")])["invoice", "INV-1"]
    assert again == first


def test_the_noise_filter_keeps_what_tells_failures_apart() -> None:
    assert failure_key("product 'Kopi Susu' has no SKU") != failure_key("product 'Teh Tarik' has no SKU")
    assert failure_key("transfer-out TO-0042 has not been synced yet") != failure_key(
        "transfer-out TO-0043 has not been synced yet")
    assert failure_key("period 2026-11-09 is closed") != failure_key("period 2026-11-10 is closed"), "a day is kept"
    assert failure_key("Rp 10,000 short") != failure_key("Rp 12,000 short")


def test_syncing_or_skipping_clears_failing_since(ledger: SyncLedger) -> None:
    ledger.record("i", [_outcome("failed", "no SKU")])
    ledger.record("i", [_outcome("synced", content="h2")])
    record = ledger.get("i", "invoice", "INV-1")
    assert record.status == "synced" and record.failing_since is None
    later = ledger.record("i", [_outcome("failed", "no SKU", content="h3")])["invoice", "INV-1"]
    assert later is not None and later > record.synced_at, "failing again after a sync is a new failure"
    ledger.record("i", [_outcome("skipped", "voided at the till", content="h4")])
    assert ledger.get("i", "invoice", "INV-1").failing_since is None


def test_a_failure_not_stored_over_a_synced_record_counts_as_new(ledger: SyncLedger) -> None:
    ledger.record("i", [_outcome("synced")])
    # an overlapping run saw "already exists" for the same content: the record stays synced
    assert ledger.record("i", [_outcome("failed", "duplicate")]) == {("invoice", "INV-1"): None}
    assert FailedRecord("invoice", "INV-1", "duplicate", None).is_new(datetime.now(UTC))


def test_an_older_ledger_gets_failing_since_for_what_already_failed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:  # the sync_records table as it was before the column
        conn.exec_driver_sql(
            "CREATE TABLE sync_records (id INTEGER PRIMARY KEY, integration VARCHAR(100) NOT NULL, record_type "
            "VARCHAR(50) NOT NULL, business_key VARCHAR(200) NOT NULL, flow VARCHAR(50) NOT NULL, outlet_code "
            "VARCHAR(50), business_time DATETIME, content_hash VARCHAR(64), target_hash VARCHAR(64), status "
            "VARCHAR(10) NOT NULL, target_id VARCHAR(100), target_number VARCHAR(100), reason TEXT, attempts "
            "INTEGER NOT NULL DEFAULT 0, dag_id VARCHAR(250), run_id VARCHAR(250), task_id VARCHAR(250), map_index "
            "INTEGER, try_number INTEGER, first_seen_at DATETIME NOT NULL, last_attempt_at DATETIME, synced_at "
            "DATETIME, updated_at DATETIME NOT NULL, CONSTRAINT uq_sync_records_key UNIQUE (integration, "
            "record_type, business_key))")
        conn.exec_driver_sql(
            "INSERT INTO sync_records (integration, record_type, business_key, flow, status, reason, attempts, "
            "first_seen_at, last_attempt_at, updated_at, content_hash) VALUES "
            "('i', 'invoice', 'INV-1', 'sales', 'failed', 'no SKU', 4, '2026-11-01 00:00:00.000000', "
            "'2026-11-02 10:15:00.000000', '2026-11-02 10:15:00.000000', 'h1'), "
            "('i', 'invoice', 'INV-2', 'sales', 'synced', NULL, 1, '2026-11-01 00:00:00.000000', "
            "'2026-11-01 00:00:00.000000', '2026-11-01 00:00:00.000000', 'h2')")
    ledger = SyncLedger.from_url(url, ensure_schema=True)
    assert {"failing_since", "failure_key"} <= {c["name"] for c in inspect(engine).get_columns("sync_records")}
    since = datetime(2026, 11, 2, 10, 15, tzinfo=UTC)
    assert ledger.get("i", "invoice", "INV-1").failing_since == since
    assert ledger.get("i", "invoice", "INV-2").failing_since is None
    # the failure reported before the upgrade is not new after it
    assert ledger.record("i", [_outcome("failed", "no SKU")]) == {("invoice", "INV-1"): since}


# -- the task: red for new failures, green with warnings for known ones ------------------------------------------


class _TaskInstance:
    def __init__(self, run_id: str, try_number: int = 1) -> None:
        self.dag_id, self.task_id, self.map_index = "jurnal_demo__products", "sync_products", -1
        self.run_id, self.try_number = run_id, try_number
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from jurnal_world(tmp_path, monkeypatch)


def run_products(world: dict[str, Any], run_id: str, *, started: datetime | None = None, try_number: int = 1,
                 **settings: Any) -> dict[str, Any]:
    """The real ``sync_products`` task of the world's integration, run as Airflow would (a minimal context)."""
    integration = next(i for i in load_config().integrations if i.name == world["integration"])
    operator = SyncProductsOperator(task_id="sync_products", integration_name=integration.name)
    operator.__dict__["integration"] = integration.model_copy(update=settings) if settings else integration
    context = {"ti": _TaskInstance(run_id, try_number),
               "dag_run": SimpleNamespace(start_date=started or datetime.now(UTC))}
    return operator.execute(context)


def _skuless(world: dict[str, Any]) -> Any:
    return world["ledger"].get(world["integration"], "item", SKULESS_KEY)


def an_hour_ago(engine: Any, table: Any) -> datetime:
    """Move every failure's start an hour back, as if it had been recorded by an earlier run; the new start."""
    since = datetime.now(UTC) - timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.failing_since.is_not(None)).values(failing_since=since))
    return since


def _backdate(world: dict[str, Any], days: int) -> datetime:
    since = datetime.now(UTC) - timedelta(days=days, minutes=5)
    with world["ledger"].engine.begin() as conn:
        conn.execute(update(sync_records).where(sync_records.c.business_key == SKULESS_KEY).values(failing_since=since))
    return since


def _warning_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The task log's warning lines (structlog writes them to the console: ``... [warning  ] msg [logger]``)."""
    captured = capsys.readouterr()
    return [line.split("] ", 1)[1] for line in (captured.out + captured.err).splitlines() if "[warning" in line]


def test_a_broken_record_is_red_once_then_retried_green_with_its_age(world: dict[str, Any],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(AirflowFailException, match=rf"1 record\(s\) failed: item {SKULESS_KEY}: product .* has no SKU"):
        run_products(world, "scheduled__1")
    first = _skuless(world)
    assert first.status == "failed" and first.failing_since is not None

    assert not [line for line in _warning_lines(capsys) if line.startswith("FAILED")], "a new failure is no warning"
    since = _backdate(world, 7)  # reported last week
    summary = run_products(world, "scheduled__2")
    assert summary["failed"] == 1 and summary["synced"] == 0, "still retried, still failed: only the colour differs"
    lines = _warning_lines(capsys)
    mine = [line for line in lines if line.startswith("FAILED") and SKULESS_KEY in line]
    assert len(mine) == 1, lines
    assert f"since {since:%Y-%m-%d %H:%M} UTC (7 days)" in mine[0] and "has no SKU" in mine[0]
    assert any(line.startswith("1 record(s) still failing for reasons already reported (oldest failing since "
                               f"{since:%Y-%m-%d %H:%M} UTC)") for line in lines), lines
    record = _skuless(world)
    assert record.failing_since == since and record.attempts == first.attempts + 1


def test_a_changed_reason_turns_the_task_red_again(world: dict[str, Any]) -> None:
    with pytest.raises(AirflowFailException):
        run_products(world, "scheduled__1")
    since = _backdate(world, 2)
    run_products(world, "scheduled__2")
    with world["pos"].begin() as conn:  # still no SKU, but the reason now names another product
        conn.execute(update(pos_schema.products).where(pos_schema.products.c.id == SKULESS_PRODUCT.id)
                     .values(name="Kopi Susu Gula Aren 1L (new recipe)"))
    with pytest.raises(AirflowFailException, match=r"1 record\(s\) failed: .*new recipe"):
        run_products(world, "scheduled__3")
    assert _skuless(world).failing_since > since


def test_red_on_any_keeps_every_run_with_a_failed_record_red(world: dict[str, Any]) -> None:
    with pytest.raises(AirflowFailException):
        run_products(world, "scheduled__1", red_on="any")
    _backdate(world, 3)
    with pytest.raises(AirflowFailException, match=rf"1 record\(s\) failed: item {SKULESS_KEY}"):
        run_products(world, "scheduled__2", red_on="any")


def test_a_retry_of_the_run_that_met_the_failure_stays_red(world: dict[str, Any]) -> None:
    started = datetime.now(UTC)
    with pytest.raises(AirflowFailException):
        run_products(world, "scheduled__1", started=started)
    # the same run again (a retry after a transient error, or ops clearing the task): the failure is its own
    with pytest.raises(AirflowFailException):
        run_products(world, "scheduled__1", started=started, try_number=2)


def test_a_repaired_record_syncs_and_no_longer_has_a_failing_since(world: dict[str, Any]) -> None:
    with pytest.raises(AirflowFailException):
        run_products(world, "scheduled__1")
    with world["pos"].begin() as conn:
        conn.execute(update(pos_schema.products).where(pos_schema.products.c.id == SKULESS_PRODUCT.id)
                     .values(sku="KOP-REPAIRED"))
    summary = run_products(world, "scheduled__2")
    assert summary["failed"] == 0
    records = world["ledger"].lookup(world["integration"], "item", [SKULESS_KEY, "KOP-REPAIRED"])
    assert records["KOP-REPAIRED"].status == "synced" and records["KOP-REPAIRED"].failing_since is None
    with world["ledger"].engine.connect() as conn:
        failing = conn.execute(text("SELECT count(*) FROM sync_records WHERE failing_since IS NOT NULL "
                                    "AND status = 'synced'")).scalar_one()
    assert failing == 0


def test_new_and_known_failures_together_are_red_and_name_only_the_new(caplog: pytest.LogCaptureFixture) -> None:
    started = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
    failures = [FailedRecord("item", "PROD-1", "no SKU", datetime(2026, 11, 9, 10, 15, tzinfo=UTC)),
                FailedRecord("customer", "CUST-2", "code taken", started + timedelta(seconds=5))]
    with pytest.raises(AirflowFailException) as raised:
        report_failures(logging.getLogger("t"), "record(s)", failures, 2, red_on="new", reported_before=started)
    assert str(raised.value) == ("1 record(s) failed: customer CUST-2: code taken; 1 more still failing for reasons "
                                 "already reported")
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and "PROD-1" in warned[0] and "still failing since 2026-11-09 10:15 UTC" in warned[0]
    assert warned[1].startswith("1 record(s) still failing for reasons already reported (oldest failing since "
                                "2026-11-09 10:15 UTC)")
    # a failure counted but not described (no ledger answer) is never taken for a known one
    with pytest.raises(AirflowFailException):
        report_failures(logging.getLogger("t"), "record(s)", failures[:1], 2, red_on="new", reported_before=started)


# -- the DAG: a run whose task failed is red -------------------------------------------------------------------


def test_a_sales_run_whose_products_task_failed_is_red(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        airflow_db: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from support.demo_week import DAGS, WINDOW

    for world in jurnal_world(tmp_path, monkeypatch):
        states = run_sales("jurnal_demo__sales")
        assert states["sync_products", -1] == "failed" and states["run_result", -1] == "upstream_failed"
        # a new product without SKU, sold nowhere: only sync_products meets a new failure; the broken records of
        # the first run fail again, for the same reasons, without turning their tasks red
        an_hour_ago(world["ledger"].engine, sync_records)  # the first run was the previous window
        with world["pos"].begin() as conn:
            conn.execute(pos_schema.products.insert().values(
                id=9001, sku=None, name="Es Teh Manis Jumbo", unit="pcs", price=8000, cost=2000, tax_rate=0,
                updated_at=datetime.now(UTC)))
        dag = DagBag(dag_folder=str(DAGS)).get_dag("jurnal_demo__sales")
        run = dag.test(run_conf=WINDOW)
        states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
        assert states["sync_products", -1] == "failed"
        assert states["sync_customers", -1] == "success", "its duplicate customer ID was reported by the first run"
        assert {state for (task, _), state in states.items() if task == "sync_sales"} == {"success"}
        assert states["run_result", -1] == "upstream_failed"
        assert run.state == "failed", "a failed sync_products makes the run red though every leaf sync succeeded"
        record = world["ledger"].get("jurnal_demo", "item", "PROD-9001")
        assert record.status == "failed" and record.failing_since is not None


# -- where ops read it: the Sync Status page, its API and ``possync status`` --------------------------------------


def test_the_status_page_and_the_cli_show_how_long_a_record_has_been_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_with_dags: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from zoneinfo import ZoneInfo

    from possync.cli import main
    from support.airflow_api import api_server, token

    path = tmp_path / "ledger.db"
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    monkeypatch.setenv("AIRFLOW_CONN_JURNAL_DEMO", json.dumps({"conn_type": "jurnal", "host": "http://127.0.0.1:9",
                                                               "login": "client", "password": "secret"}))
    ledger = SyncLedger.from_url(f"sqlite:///{path}", ensure_schema=True)
    ledger.record("jurnal_demo", [
        RecordOutcome("item", SKULESS_KEY, "products", "failed", reason="product 'Kopi Susu' has no SKU"),
        RecordOutcome("item", "KOP-001", "products", "synced", target_id="7"),
    ])
    since = datetime(2026, 11, 9, 3, 15, tzinfo=UTC)
    with ledger.engine.begin() as conn:
        conn.execute(update(sync_records).where(sync_records.c.business_key == SKULESS_KEY)
                     .values(failing_since=since))
    days = (datetime.now(UTC) - since).days

    server = api_server()
    page = server.get("/sync-status/", params={"integration": "jurnal_demo", "flow": "products"},
                      headers=token("viewer"))
    assert page.status_code == 200, page.text
    local = since.astimezone(ZoneInfo("Asia/Jakarta"))
    assert page.text.count('class="failing-since"') == 1, "only the failed record has an age"
    assert f"failing since {local:%Y-%m-%d %H:%M}, {days} days" in page.text
    found = server.get("/sync-status/api/records", params={"integration": "jurnal_demo", "flow": "products"},
                       headers=token("viewer")).json()["records"]
    assert {r["key"]: r["failing_since"] for r in found} == {SKULESS_KEY: since.isoformat(), "KOP-001": None}

    from possync.ledger.webhooks import WebhookLog

    webhooks = WebhookLog(ledger.engine)
    webhooks.receive("jurnal_demo", [{"databaseId": 1, "type": "RECEIVE_ITEM", "uuid": "u-1",
                                      "data": [{"receiveItemNo": "RI.1", "action": "WRITE"}]}])
    [event] = webhooks.events("jurnal_demo")
    webhooks.mark_failed(event.id, "Accurate item 'KOP-009' has no product with that SKU in the POS",
                         now=datetime.now(UTC) - timedelta(days=2, minutes=1))
    log_page = server.get("/sync-status/webhooks", params={"integration": "jurnal_demo"}, headers=token("viewer"))
    assert log_page.status_code == 200 and ", 2 days</div>" in log_page.text

    capsys.readouterr()
    assert main(["status", "--ledger-url", str(ledger.engine.url)]) == 0
    out = capsys.readouterr().out
    assert f"{SKULESS_KEY}" in out and f"(failing since 2026-11-09 03:15 UTC, {days} days)" in out


# -- webhooks: the inbound task follows the same rule -------------------------------------------------------------


def test_a_failing_webhook_event_is_red_once_then_retried_green(db_engine: Any, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from possync.dagfactory import build_inbound_dag
    from possync.db import make_engine
    from possync.ledger.webhooks import WebhookLog
    from possync.targets.accurate.inbound import process_pending
    from support.pos_builder import Pos
    from test_accurate_inbound import INTEGRATION, FakeAccurate, detail, envelope

    shop = Pos(db_engine)
    shop.outlet("JKT01")
    shop.outlet("BDG01")
    log = WebhookLog(make_engine(f"sqlite:///{tmp_path / 'ledger.db'}"), ensure_schema=True)
    accurate = FakeAccurate(detail(lines=[{"itemNo": "KOP-009", "itemName": "Kopi Gayo 250g", "quantity": 6,
                                           "unitPrice": 60000, "warehouseName": "Dago"}]))
    log.receive("accurate_t", [envelope("u1")])
    monkeypatch.setattr("possync.pipeline.process_webhooks", lambda *args, **kwargs: process_pending(
        log, accurate, shop.engine, INTEGRATION, logging.getLogger("t")))

    def run(red_on: str = "new", started: datetime | None = None) -> dict[str, int]:
        task = build_inbound_dag(INTEGRATION.model_copy(update={"red_on": red_on})).get_task("process_webhooks")
        return task.python_callable(dag_run=SimpleNamespace(start_date=started or datetime.now(UTC)))

    with pytest.raises(AirflowFailException, match=r"1 webhook event\(s\) failed: .*KOP-009"):
        run()
    assert log.get("accurate_t", "u1").failing_since is not None
    since = an_hour_ago(log.engine, webhook_events)  # the next run comes later
    assert run()["failed"] == 1, "the same failure again: retried, green"
    assert log.get("accurate_t", "u1").failing_since == since and log.get("accurate_t", "u1").attempts == 2
    with pytest.raises(AirflowFailException):
        run(red_on="any")

    accurate.records[101]["detailItem"][0]["itemNo"] = "KOP-010"  # corrected in Accurate, still unknown to the POS
    with pytest.raises(AirflowFailException, match="KOP-010"):
        run()
    assert log.get("accurate_t", "u1").failing_since > since

    shop.product("Kopi Gayo 250g", 90000, sku="KOP-010")  # the repair in the POS
    assert run()["processed"] == 1
    event = log.get("accurate_t", "u1")
    assert event.status == "processed" and event.failing_since is None
