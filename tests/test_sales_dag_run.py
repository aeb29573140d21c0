"""The sales DAG really runs in Airflow: per outlet, every record's state lands in the ledger with its
reason, the log has one line per record and a summary, and an outlet with broken records ends failed
while the others succeed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from possync.db import make_engine
from possync.pos.demo import DemoSpec, generate


@pytest.fixture(scope="module")
def airflow_db(airflow_home: Path) -> Path:
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True,
                   env=os.environ.copy(), timeout=300)
    return airflow_home


@pytest.fixture
def demo_pos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    pos, ledger = tmp_path / "pos.db", tmp_path / "ledger.db"
    generate(make_engine(f"sqlite:///{pos}"), DemoSpec(start_date=date(2026, 11, 9), days=4, orders_per_day=25))
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_POS", json.dumps({"conn_type": "sqlite", "host": str(pos)}))
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(ledger)}))
    return {"pos": pos, "ledger": ledger}


def test_sales_run_stages_every_record_and_fails_only_broken_outlets(airflow_db: Path, demo_pos) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from possync.ledger.schema import sync_records as records

    dag = DagBag(dag_folder=str(Path(__file__).resolve().parents[1] / "dags")).get_dag("jurnal_demo__sales")
    run = dag.test(run_conf={"window_start": "2026-11-09T00:00:00+07:00",
                             "window_end": "2026-11-13T00:00:00+07:00"})

    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert states["plan_sales_windows", -1] == "success"
    staged = {index: state for (task, index), state in states.items() if task == "stage_sales"}
    assert len(staged) == 4, "one mapped task per outlet (JKT01, BDG01, SBY01, WH01)"
    assert "failed" in staged.values(), "the outlets with broken orders end failed"
    assert "success" in staged.values(), "the clean outlets still succeed"

    with make_engine(f"sqlite:///{demo_pos['ledger']}").connect() as conn:
        rows = conn.execute(select(records.c.business_key, records.c.status, records.c.reason,
                                   records.c.run_id)).all()
    status = Counter(row.status for row in rows)
    assert status["pending"] > 100
    failed = {row.business_key: row.reason for row in rows if row.status == "failed"}
    assert failed["INV-JKT01-20261111-0017"] == "product 'Kopi Susu Gula Aren Seasonal 1L' has no SKU"
    assert failed["INV-BDG01-20261110-0012"].startswith("payments add up to")
    assert all(row.run_id == run.run_id for row in rows)
