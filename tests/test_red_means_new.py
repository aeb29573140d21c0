"""Red means new: a task turns red when a record fails for the first time or for another reason than before, not
on every later run that retries a failure already reported; such a record is still retried, and logged as a
warning with how long it has been failing. ``red_on: any`` keeps every run with a failed record red. The ledger
knows since when each record has been failing for its current reason (``failing_since``) and which DAG run met it
first (``failing_run``), decided in the same write that records the failure: the run that met it is red (a retry
of that run too), every other run green, however close in time (backfill runs come seconds apart). A reason that
differs only by volatile text (a timestamp, an attempt number) is the same reason. A run whose task failed is red
even when a later ``all_done`` task succeeded."""

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
from possync.ledger import RecordOutcome, RunRef, SyncLedger
from possync.ledger.reasons import Failing, failure_key
from possync.ledger.schema import sync_records
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


def _run(run_id: str, try_number: int = 1, dag_id: str = "i__sales") -> RunRef:
    return RunRef(dag_id, run_id, "sync_sales", try_number=try_number)


def test_failing_since_starts_at_the_first_failure_and_stays_while_the_reason_does(ledger: SyncLedger) -> None:
    first = ledger.record("i", [_outcome("failed", "product 'Kopi' has no SKU")], _run("r1"))["invoice", "INV-1"]
    assert first is not None and first.new and ledger.get("i", "invoice", "INV-1").failing_since == first.since
    ledger.record("i", [_outcome("pending")], _run("r2"))  # staged again for its retry
    assert ledger.get("i", "invoice", "INV-1").failing_since == first.since
    again = ledger.record("i", [_outcome("failed", "product 'Kopi' has no SKU")], _run("r2"))
    assert again == {("invoice", "INV-1"): Failing(first.since, new=False)}, (
        "the same reason in the next run: failing since the first time, reported by the first run")


def test_the_run_that_met_a_failure_reports_it_on_every_try_and_no_other_run_does(ledger: SyncLedger) -> None:
    """Runs are told apart by their ids, not by clocks: the next backfill run a moment later is another run."""
    reason = "product 'Kopi' has no SKU"
    assert ledger.record("i", [_outcome("failed", reason)], _run("backfill__2026-11-09T00:00"))["invoice", "INV-1"].new
    retried = ledger.record("i", [_outcome("failed", reason)], _run("backfill__2026-11-09T00:00", try_number=2))
    assert retried["invoice", "INV-1"].new, "a retry (or a cleared task) of the run that met it stays red"
    next_run = ledger.record("i", [_outcome("failed", reason)], _run("backfill__2026-11-09T00:15"))
    assert not next_run["invoice", "INV-1"].new, "the next run, a moment later, retries it quietly"
    other_dag = ledger.record("i", [_outcome("failed", reason)], _run("backfill__2026-11-09T00:00", dag_id="i__other"))
    assert not other_dag["invoice", "INV-1"].new, "a run id is only the same run within its DAG"
    assert ledger.record("i", [_outcome("failed", reason)])["invoice", "INV-1"].new is False, (
        "a write outside any run (the CLI) does not report what a run reported")


def test_a_failure_started_outside_a_run_is_new_to_the_write_that_started_it(ledger: SyncLedger) -> None:
    assert ledger.record("i", [_outcome("failed", "no SKU")])["invoice", "INV-1"].new
    assert not ledger.record("i", [_outcome("failed", "no SKU")])["invoice", "INV-1"].new
    assert not ledger.record("i", [_outcome("failed", "no SKU")], _run("r9"))["invoice", "INV-1"].new


def test_a_new_reason_restarts_failing_since(ledger: SyncLedger) -> None:
    first = ledger.record("i", [_outcome("failed", "product 'Kopi' has no SKU")], _run("r1"))["invoice", "INV-1"]
    changed = ledger.record("i", [_outcome("failed", "Jurnal: Customer can't be blank")], _run("r2"))[
        "invoice", "INV-1"]
    assert changed is not None and changed.since > first.since and changed.new, "another reason: new to run r2"


def test_a_reason_changing_only_by_volatile_text_is_the_same_failure(ledger: SyncLedger) -> None:
    first = ledger.record("i", [_outcome(
        "failed", "Jurnal: Item 3: Product (Product 'X' was not found.) (2 of 17 invoices are not valid; none was "
                  "created.) at 2026-11-09T10:15:02Z, attempt 3 of 5, request id 8f3a-77")])["invoice", "INV-1"]
    again = ledger.record("i", [_outcome(
        "failed", "Jurnal: Item 1: Product (Product 'X' was not found.) (1 of 4 invoices are not valid; none was "
                  "created.) at 2026-11-10T08:00:41Z, attempt 1 of 5, request id 1b2c-99")])["invoice", "INV-1"]
    assert again is not None and first is not None and again.since == first.since


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
    later = ledger.record("i", [_outcome("failed", "no SKU", content="h3")], _run("r3"))["invoice", "INV-1"]
    assert later is not None and later.new and later.since > record.synced_at, (
        "failing again after a sync is a new failure")
    ledger.record("i", [_outcome("skipped", "voided at the till", content="h4")])
    assert ledger.get("i", "invoice", "INV-1").failing_since is None


def test_a_failure_not_stored_over_a_synced_record_counts_as_new(ledger: SyncLedger) -> None:
    ledger.record("i", [_outcome("synced")])
    # an overlapping run saw "already exists" for the same content: the record stays synced
    assert ledger.record("i", [_outcome("failed", "duplicate")]) == {("invoice", "INV-1"): None}
    assert FailedRecord("invoice", "INV-1", "duplicate", None).is_new


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
    assert {"failing_since", "failure_key", "failing_run"} <= {
        c["name"] for c in inspect(engine).get_columns("sync_records")}
    since = datetime(2026, 11, 2, 10, 15, tzinfo=UTC)
    assert ledger.get("i", "invoice", "INV-1").failing_since == since
    assert ledger.get("i", "invoice", "INV-2").failing_since is None
    # the failure reported before the upgrade is not new after it
    assert ledger.record("i", [_outcome("failed", "no SKU")], _run("r1")) == {
        ("invoice", "INV-1"): Failing(since, new=False)}


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


def run_products(world: dict[str, Any], run_id: str, *, try_number: int = 1, **settings: Any) -> dict[str, Any]:
    """The real ``sync_products`` task of the world's integration, run as Airflow would (a minimal context)."""
    integration = next(i for i in load_config().integrations if i.name == world["integration"])
    operator = SyncProductsOperator(task_id="sync_products", integration_name=integration.name)
    operator.__dict__["integration"] = integration.model_copy(update=settings) if settings else integration
    context = {"ti": _TaskInstance(run_id, try_number)}
    return operator.execute(context)


def _skuless(world: dict[str, Any]) -> Any:
    return world["ledger"].get(world["integration"], "item", SKULESS_KEY)


def _backdate(world: dict[str, Any], days: int) -> datetime:
    """Move the SKU-less product's failure back by ``days``: its age in the log lines (not its colour, which the
    run ids decide)."""
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
    since = _backdate(world, 7)  # as if reported last week
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


def test_the_next_run_a_second_later_is_green(world: dict[str, Any]) -> None:
    """The demo's backfill: runs seconds apart. Only the run that met the failure first is red."""
    with pytest.raises(AirflowFailException):
        run_products(world, "backfill__2026-11-09T00:00:00+00:00")
    summary = run_products(world, "backfill__2026-11-09T01:00:00+00:00")
    assert summary["failed"] == 1, "retried, and still failing, but reported already: green"


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
    with pytest.raises(AirflowFailException):
        run_products(world, "scheduled__1")
    _backdate(world, 1)  # however long ops take to clear the task, it stays that run's failure
    # the same run again (a retry after a transient error, or ops clearing the task): the failure is its own
    with pytest.raises(AirflowFailException):
        run_products(world, "scheduled__1", try_number=2)


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
    reported_last_week = Failing(datetime(2026, 11, 9, 10, 15, tzinfo=UTC), new=False)
    met_by_this_run = Failing(datetime(2026, 11, 16, 10, tzinfo=UTC), new=True)
    failures = [FailedRecord("item", "PROD-1", "no SKU", reported_last_week),
                FailedRecord("customer", "CUST-2", "code taken", met_by_this_run)]
    with pytest.raises(AirflowFailException) as raised:
        report_failures(logging.getLogger("t"), "record(s)", failures, 2, red_on="new")
    assert str(raised.value) == ("1 record(s) failed: customer CUST-2: code taken; 1 more still failing for reasons "
                                 "already reported")
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and "PROD-1" in warned[0] and "still failing since 2026-11-09 10:15 UTC" in warned[0]
    assert warned[1].startswith("1 record(s) still failing for reasons already reported (oldest failing since "
                                "2026-11-09 10:15 UTC)")
    # a failure counted but not described (no ledger answer) is never taken for a known one
    with pytest.raises(AirflowFailException):
        report_failures(logging.getLogger("t"), "record(s)", failures[:1], 2, red_on="new")


# -- the DAG: a run whose task failed is red -------------------------------------------------------------------


def test_a_sales_run_whose_products_task_failed_is_red(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        airflow_db: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from support.demo_week import DAGS, WINDOW

    for world in jurnal_world(tmp_path, monkeypatch):
        states = run_sales("jurnal_demo__sales")
        assert states["sync_products", -1] == "failed" and states["run_result", -1] == "upstream_failed"
        # a new product without SKU, sold nowhere: only sync_products meets a new failure; the broken records of
        # the first run fail again, for the same reasons, without turning their tasks red (a moment later: the
        # runs' ids tell them apart)
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
    monkeypatch.setattr("possync.pipeline.process_webhooks", lambda *args, run=None: process_pending(
        WebhookLog(log.engine, run=run), accurate, shop.engine, INTEGRATION, logging.getLogger("t")))
    runs = iter(range(1, 100))

    def run(red_on: str = "new", run_id: str | None = None) -> dict[str, int]:
        task = build_inbound_dag(INTEGRATION.model_copy(update={"red_on": red_on})).get_task("process_webhooks")
        ti = SimpleNamespace(dag_id="accurate_t__inbound", run_id=run_id or f"scheduled__{next(runs)}")
        return task.python_callable(ti=ti)

    with pytest.raises(AirflowFailException, match=r"1 webhook event\(s\) failed: .*KOP-009"):
        run(run_id="scheduled__first")
    since = log.get("accurate_t", "u1").failing_since
    assert since is not None
    with pytest.raises(AirflowFailException):
        run(run_id="scheduled__first")  # the run that met it, cleared by ops: still its failure, still red
    assert run()["failed"] == 1, "the same failure in the next run: retried, green"
    assert log.get("accurate_t", "u1").failing_since == since and log.get("accurate_t", "u1").attempts == 3
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
