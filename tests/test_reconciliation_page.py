"""The Sync Status Reconciliation page on Airflow's own API server app: the kept results per day and outlet, a
chart drawn on the server by matplotlib as inline SVG (no script, nothing from a CDN) with the day that differs
marked, the drill-down to its documents with links to the ledger record, the task log and the target's
document, and Re-sync missing, which only a user who may trigger the sales DAG can use: it sets the missing
document back to pending and triggers the sales DAG for that day."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from possync.ledger import RecordOutcome, RunRef, SyncLedger
from possync.reconcile import DayResult, Difference, ReconciliationLog, Totals
from support.airflow_api import api_server, token

J = "jurnal_demo"
GONE = "INV-JKT01-20261111-0005/P1"


def totals(invoices: int, total: str) -> Totals:
    return Totals(invoices=invoices, invoice_total=Decimal(total), payment_count=invoices,
                  payments={"cash": Decimal(total)})


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SyncLedger:
    """Two reconciled days of JKT01: 10 November equal, 11 November with a payment synced but gone."""
    path = tmp_path / "ledger.db"
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    monkeypatch.setenv("AIRFLOW_CONN_JURNAL_DEMO", json.dumps({
        "conn_type": "jurnal", "host": "http://127.0.0.1:9", "login": "client", "password": "never-shown"}))
    ledger = SyncLedger.from_url(f"sqlite:///{path}", ensure_schema=True)
    run = RunRef("jurnal_demo__sales", "scheduled__2026-11-11T16:30:00+00:00", "sync_sales", 0, 1)
    ledger.record(J, [RecordOutcome("payment", GONE, "sales", "synced", content_hash="h", outlet_code="JKT01",
                                    business_time=datetime(2026, 11, 11, 3, tzinfo=UTC), target_id="2005",
                                    target_number="RP-2005")], run)
    at = datetime(2026, 11, 11, 16, 45, tzinfo=UTC)
    ReconciliationLog(ledger.engine).save([
        DayResult(J, date(2026, 11, 10), "JKT01", at, totals(30, "3000000.00"), totals(30, "3000000.00")),
        DayResult(J, date(2026, 11, 11), "JKT01", at, totals(31, "3100000.00"), totals(31, "3100000.00"),
                  differences=[Difference("synced_but_absent", "payment", GONE,
                                          "the ledger says synced as #2005, the target does not hold it",
                                          None, "100000.00", None, "2005", "synced")]),
    ])
    return ledger


@pytest.fixture
def server(airflow_with_dags: Path, ledger: SyncLedger) -> TestClient:
    return api_server()


def test_anonymous_callers_get_401(server) -> None:
    assert server.get("/sync-status/reconciliation").status_code == 401
    assert server.post("/sync-status/reconciliation/resync", data={"integration": J}).status_code == 401


def test_the_page_charts_the_days_marks_the_one_that_differs_and_drills_down(server) -> None:
    page = server.get("/sync-status/reconciliation", params={"integration": J}, headers=token("viewer"))
    assert page.status_code == 200, page.text
    assert '<svg id="reconciliation-chart"' in page.text and "<script" not in page.text
    chart = page.text[page.text.index('<svg id="reconciliation-chart"'):]
    chart = chart[:chart.index("</svg>")]
    assert "Matplotlib v" in chart, "drawn by the charting library, on the server"
    for series in ("pos-line", "target-line"):  # both series drawn, each a path of the two days
        assert re.search(rf'<g id="{series}">\s*<path d="M [\d.]+ [\d.]+ \s*L [\d.]+ [\d.]+ ', chart), series
    assert 'id="day-2026-11-10"' in chart and chart.count('id="marked-day-') == 1, "only the day that differs"
    assert 'id="marked-day-2026-11-11">' in chart and 'id="unexplained-markers"' in chart and ">unexplained<" in chart
    for day in ("2026-11-10", "2026-11-11"):  # every day links to its drill-down, in the page (not a new window)
        assert f'<a xlink:href="reconciliation?integration={J}&amp;date={day}">' in chart
    assert 'target="_blank"' not in chart
    assert page.text.count('class="day-outlet"') == 2 and "never-shown" not in page.text

    day = server.get("/sync-status/reconciliation", params={"integration": J, "date": "2026-11-11",
                                                            "outlet": "JKT01"}, headers=token("viewer"))
    assert day.status_code == 200
    assert day.text.count('class="difference unexplained"') == 1
    assert f'href="./?integration={J}&amp;q=INV-JKT01-20261111-0005%2FP1"' in day.text, "the ledger record"
    assert 'href="/dags/jurnal_demo__sales/runs/scheduled__2026-11-11T16%3A30%3A00%2B00%3A00/tasks/sync_sales' \
           in day.text, "the task log of the attempt that synced it"
    assert 'href="https://my.jurnal.id/receive_payments/2005"' in day.text, "the target's document"
    assert 'id="resync-missing"' in day.text

    bad = server.get("/sync-status/reconciliation", params={"integration": J, "date": "11/11/2026"},
                     headers=token("viewer"))
    assert bad.status_code == 400 and "is not a date" in bad.text


def test_resync_missing_needs_the_right_to_trigger_the_sales_dag(server, ledger) -> None:
    refused = server.post("/sync-status/reconciliation/resync", headers=token("viewer"),
                          data={"integration": J, "date": "2026-11-11", "outlet": "JKT01"}, follow_redirects=False)
    assert refused.status_code == 403
    assert ledger.get(J, "payment", GONE).status == "synced", "nothing is reset for a user who may not trigger"


def test_resync_missing_resets_the_record_and_triggers_the_days_sales_run(server, ledger) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    def sales_runs() -> dict[str, Any]:  # the metadata database is shared with the other tests of this process
        with create_session() as session:
            return {run.run_id: run.conf for run in
                    session.query(DagRun).filter(DagRun.dag_id == "jurnal_demo__sales").all()}

    before = sales_runs()
    response = server.post("/sync-status/reconciliation/resync", headers=token("admin"), follow_redirects=False,
                           data={"integration": J, "date": "2026-11-11", "outlet": "JKT01"})
    assert response.status_code == 303, response.text
    record = ledger.get(J, "payment", GONE)
    assert record.status == "pending" and record.target_id is None
    triggered = [conf for run_id, conf in sales_runs().items() if run_id not in before]
    assert triggered == [{"window_start": "2026-11-11T00:00:00+07:00", "window_end": "2026-11-12T00:00:00+07:00",
                          "outlets": ["JKT01"]}]
    page = server.get("/sync-status/" + response.headers["location"].removeprefix("../"), headers=token("admin"))
    assert "1 document(s) set back to pending; triggered run" in page.text

    nothing = server.post("/sync-status/reconciliation/resync", headers=token("admin"), follow_redirects=False,
                          data={"integration": J, "date": "2026-11-10", "outlet": "JKT01"})
    page = server.get("/sync-status/" + nothing.headers["location"].removeprefix("../"), headers=token("admin"))
    assert "nothing is missing on 2026-11-10" in page.text
