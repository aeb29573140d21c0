"""docker-compose.yaml's Celery stack, brought up without Docker (scripts/stack.py: PostgreSQL and Redis from
Debian, the API server, scheduler, DAG processor, triggerer and two Celery workers), syncing the demo week to
the Jurnal and Accurate sandboxes; then everything it started is stopped.

Run by `make stack-test` (CI runs it after `make test`); it takes about five minutes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACK = [sys.executable, str(ROOT / "scripts" / "stack.py")]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from support.net import listening  # ruff: ignore[module-import-not-at-top-of-file] - after the sys.path lines

pytestmark = pytest.mark.stack


def stack_command(*args: str, stack_dir: Path, timeout: float = 1800) -> str:
    result = subprocess.run([*STACK, *args, "--dir", str(stack_dir)], capture_output=True, text=True,
                            timeout=timeout, cwd=ROOT)
    assert result.returncode == 0, f"stack.py {args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    stack_dir = tmp_path_factory.mktemp("stack")
    try:
        stack_command("up", "--scale", "airflow-worker=2", stack_dir=stack_dir, timeout=600)
        yield stack_dir
    finally:
        ports = json.loads((stack_dir / "run" / "state.json").read_text())["ports"] \
            if (stack_dir / "run" / "state.json").exists() else {}
        stack_command("down", stack_dir=stack_dir, timeout=300)
        assert not [p for p in ports.values() if listening(p)], "down left a service listening"


@pytest.fixture(scope="module")
def demo(stack_dir: Path) -> dict[str, Any]:
    stack_command("demo", "--json", str(stack_dir / "demo.json"), stack_dir=stack_dir)
    return json.loads((stack_dir / "demo.json").read_text())


@pytest.fixture(scope="module")
def databases(stack_dir: Path) -> dict[str, Any]:
    """The stack's POS and ledger, reached as its connections say."""
    from stack_demo import connections_of, use_connections

    from possync.db import engine_for_conn
    from stack import Stack

    stack = Stack(stack_dir)
    use_connections(connections_of(stack, Path(stack.state()["env_file"])))
    return {name: engine_for_conn(f"possync_{name}") for name in ("pos", "ledger")}


def expected_invoices(pos: Any) -> set[str]:
    """Completed orders of the demo week at the outlets, not broken on purpose: one invoice each."""
    from possync_devkit.demo_pos import DemoSpec, expected_broken_records
    from support.demo_week import pos_orders

    spec = DemoSpec()  # what demo-seed generates
    broken = {key for _, key, _ in expected_broken_records(spec)}
    days = {(spec.start_date + timedelta(days=d)).strftime("%Y%m%d") for d in range(spec.days)}
    return {number for number, (status, _) in pos_orders(pos).items()
            if status == "completed" and number not in broken and number[4:9] != "WH01-"
            and number.split("-")[2] in days}


def synced(databases: dict[str, Any], integration: str, record_type: str) -> set[str]:
    from sqlalchemy import select

    from possync.ledger.schema import sync_records as r

    with databases["ledger"].connect() as conn:
        return set(conn.execute(select(r.c.business_key).where(
            r.c.integration == integration, r.c.record_type == record_type, r.c.status == "synced")).scalars())


def test_tasks_ran_on_both_workers(demo: dict[str, Any]) -> None:
    workers = {"airflow-worker-1", "airflow-worker-2"}
    ran_on = {host for hosts in demo["hosts"].values() for host in hosts}
    assert ran_on == workers, "every task ran on a Celery worker, and both workers ran tasks"
    assert set(demo["hosts"]["sync_sales"]) == workers, "the sales syncs themselves were spread over both"


def test_every_demo_run_finished(demo: dict[str, Any]) -> None:
    for dag_id, states in demo["runs"].items():
        assert set(states) <= {"success", "failed"}, (dag_id, states)
    for integration in ("jurnal_demo", "accurate_demo"):
        # the week's 21 windows (3 a day), plus the latest slot that unpausing runs; red by design (the demo's
        # broken customer and product fail every run until repaired), but every one finished
        assert sum(demo["runs"][f"{integration}__sales"].values()) >= 21, integration
    # unpausing also runs the exchange's latest slot, so one or two runs; every one succeeds
    assert set(demo["runs"]["ho_demo__exchange"]) == {"success"}


def test_both_targets_hold_each_invoice_of_the_week_once(demo: dict[str, Any], databases: dict[str, Any]) -> None:
    expected = expected_invoices(databases["pos"])
    assert len(expected) > 1000
    for integration, target, resource in (("jurnal_demo", "jurnal", "sales_invoices"),
                                          ("accurate_demo", "accurate", "sales-invoice")):
        assert synced(databases, integration, "invoice") == expected, integration
        # the target's own count: one document per synced invoice, none twice although tasks ran on two workers
        assert demo["documents"][target][resource] == len(expected), integration


def test_payments_returns_and_stock_documents_match_the_ledger(demo: dict[str, Any],
                                                               databases: dict[str, Any]) -> None:
    jurnal, accurate = demo["documents"]["jurnal"], demo["documents"]["accurate"]

    def count(integration: str, *record_types: str) -> int:
        return sum(len(synced(databases, integration, t)) for t in record_types)

    assert jurnal["sales_returns"] == count("jurnal_demo", "return") > 0
    assert accurate["sales-return"] == count("accurate_demo", "return")
    assert jurnal["receive_payments"] == accurate["sales-receipt"] > jurnal["sales_invoices"] * 0.9
    # Jurnal: a transfer-out and a transfer-in are one warehouse transfer each; Accurate: one item-transfer each
    assert jurnal["warehouse_transfers"] == count("jurnal_demo", "transfer_out", "transfer_in") > 0
    assert accurate["item-transfer"] == count("accurate_demo", "transfer_out", "transfer_in")
    assert count("jurnal_demo", "transfer_out") == count("accurate_demo", "transfer_out")
    assert count("jurnal_demo", "stock_take") == count("accurate_demo", "stock_take") > 0


def test_a_purchase_entered_in_accurate_reached_the_pos(demo: dict[str, Any]) -> None:
    assert demo["purchase"]
    assert demo["runs"]["accurate_demo__inbound"].get("success")
    assert demo["documents"]["accurate"]["receive-item"] == demo["documents_before"]["accurate"]["receive-item"] + 1


def test_a_second_up_is_refused_and_leaves_the_running_stack_alone(stack_dir: Path, demo: dict[str, Any]) -> None:
    result = subprocess.run([*STACK, "up", "--dir", str(stack_dir)], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode != 0
    assert f"a stack already runs from {stack_dir}" in result.stderr
    ports = json.loads((stack_dir / "run" / "state.json").read_text())["ports"]
    assert listening(ports["airflow-apiserver-1:8080"]) and listening(ports["postgres-1:5432"])


def test_a_failing_init_stops_what_was_started_and_says_why(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text((ROOT / ".env.example").read_text().replace("POS_DB_PORT=5432", "POS_DB_PORT=five"))
    result = subprocess.run([*STACK, "up", "--dir", str(tmp_path / "stack"), "--env-file", str(env_file)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode != 0
    assert "airflow-init-1 failed (exit 2)" in result.stderr
    init_log = (tmp_path / "stack" / "logs" / "airflow-init-1.log").read_text()
    assert "POSSYNC_CONN_POSSYNC_POS is not valid JSON" in init_log
    assert "possync-demo-postgres" not in init_log, "the connection's password stays out of the log"
    assert "stopping what was started" in result.stdout
    assert not (tmp_path / "stack" / "run" / "state.json").exists()
    assert subprocess.run(["pgrep", "-f", str(tmp_path / "stack")], capture_output=True).returncode == 1, \
        "nothing of the half-started stack is left running"
