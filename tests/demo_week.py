"""The demo week the end-to-end tests sync through Airflow, and what the POS says each target must hold.

Shared by the Jurnal and Accurate end-to-end tests, so both are judged against the same POS facts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from possync.pos import schema
from possync.pos.demo import DemoSpec, expected_broken_records

SPEC = DemoSpec(start_date=date(2026, 11, 9), days=5, orders_per_day=32)
WINDOW = {"window_start": "2026-11-09T00:00:00+07:00", "window_end": "2026-11-14T00:00:00+07:00"}
DAGS = Path(__file__).resolve().parents[1] / "dags"


def run_sales(dag_id: str) -> dict[tuple[str, int], str]:
    """Run a sales DAG over the demo window with ``dag.test``; the state of each task instance."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS)).get_dag(dag_id)
    run = dag.test(run_conf=WINDOW)
    return {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}


def pos_orders(pos: Any) -> dict[str, tuple[str, Decimal]]:
    """Order number → (status, total) of every POS order."""
    with pos.connect() as conn:
        rows = conn.execute(select(schema.orders.c.number, schema.orders.c.status, schema.orders.c.total_amount))
        return {number: (status, total) for number, status, total in rows}


def broken_keys() -> dict[str, str]:
    """Key → kind of each record the demo breaks on purpose."""
    return {key: kind for kind, key, _ in expected_broken_records(SPEC)}


def expected_invoices(pos: Any) -> set[str]:
    """The orders of the window that must become exactly one invoice each: completed, not broken, sold at an
    outlet (the warehouse sells nothing) and in the window's days."""
    broken = broken_keys()
    return {
        number for number, (status, _) in pos_orders(pos).items()
        if status == "completed" and number not in broken and number[4:9] != "WH01-"
        and "20261109" <= number.split("-")[2] <= "20261113"
    }
