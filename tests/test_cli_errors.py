"""Bad input on a ``possync`` command is one line on stderr and exit status 2, never a traceback; ``possync
status`` reads the ledger through its Airflow connection and never creates a database on a read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from possync.db import make_engine
from possync.ledger.schema import create_schema


def possync(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # as a user runs it: without the test suite's unit-test mode (whose configuration Airflow announces)
    environment = {k: v for k, v in os.environ.items() if k != "AIRFLOW__CORE__UNIT_TEST_MODE"}
    return subprocess.run([sys.executable, "-m", "possync", *args], capture_output=True, text=True, timeout=120,
                          env={**environment, **(env or {})}, cwd=cwd)


def assert_one_line(result: subprocess.CompletedProcess[str], message: str, status: int = 2) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == status, result.stderr
    assert message in result.stderr, result.stderr
    assert len([line for line in result.stderr.splitlines() if not line.startswith(("usage:", " "))]) == 1, \
        result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["status", "--ledger-url", "not a url"], "possync status: 'not a url' is not a database URL"),
    (["status", "--ledger-url", "oracle://scott@db/orcl"],
     "possync status: 'oracle://scott@db/orcl': possync's databases are SQLite or PostgreSQL, not oracle"),
    (["status", "--ledger-url", "postgresql+nodriver://h/db"], "no database driver 'postgresql+nodriver'"),
    (["status", "--limit", "0"], "argument --limit: must be 1 or more, not 0"),
    (["ledger", "init", "--ledger-url", "ledger.db"], "possync ledger init: 'ledger.db' is not a database URL"),
    (["reconcile", "--integration", "nope", "--from", "2026-11-10"],
     "possync reconcile: no integration 'nope' (known: jurnal_demo, accurate_demo)"),
    (["reconcile", "--integration", "jurnal_demo", "--from", "2026-11-15", "--to", "2026-11-09"],
     "possync reconcile: --to 2026-11-09 is before --from 2026-11-15"),
    (["reconcile", "--integration", "jurnal_demo", "--from", "15/11/2026"],
     "argument --from: '15/11/2026' is not a date (yyyy-mm-dd)"),
    (["deploy", "pools", "--config", "/nowhere/integrations.yaml"],
     "possync deploy pools: /nowhere/integrations.yaml: file not found"),
])
def test_bad_input_is_one_line_and_status_2(tmp_path: Path, args: list[str], message: str) -> None:
    assert_one_line(possync(*args, cwd=tmp_path), message)


def test_status_on_a_missing_file_fails_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "var" / "ledger.db"
    result = possync("status", "--ledger-url", f"sqlite:///{missing}")
    assert_one_line(result, f"possync status: no sync ledger at {missing}: the file does not exist")
    assert list(tmp_path.iterdir()) == []


def test_status_reads_the_ledger_through_its_airflow_connection(tmp_path: Path) -> None:
    missing = tmp_path / "ledger.db"
    conn = {"AIRFLOW_CONN_POSSYNC_LEDGER": json.dumps({"conn_type": "sqlite", "host": str(missing)})}
    assert_one_line(possync("status", env=conn),
                    f"possync status: no sync ledger (connection 'possync_ledger') at {missing}")
    assert not missing.exists()

    missing.touch()  # a database without the ledger's tables: said, and no table created
    assert_one_line(possync("status", env=conn), "holds no sync ledger (no sync_records table); "
                                                 "`possync ledger init` creates one")
    assert missing.stat().st_size == 0

    create_schema(make_engine(f"sqlite:///{missing}"))
    result = possync("status", env=conn)
    assert (result.returncode, result.stdout.strip()) == (0, "the sync ledger holds no records yet"), result.stderr


def test_an_undefined_connection_is_named(tmp_path: Path) -> None:
    assert_one_line(possync("status", "--ledger-conn", "no_such_ledger"), "no_such_ledger")


def test_headoffice_status_never_creates_the_database(tmp_path: Path) -> None:
    missing = tmp_path / "ho.db"
    assert_one_line(possync("headoffice", "status", "--ho-url", f"sqlite:///{missing}"),
                    f"possync headoffice status: no head office database at {missing}")
    assert not missing.exists()


def devkit(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "AIRFLOW__CORE__UNIT_TEST_MODE"}
    return subprocess.run([sys.executable, "-m", "possync_devkit", *args], capture_output=True, text=True,
                          timeout=300, env=environment)


def test_the_demo_seed_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pos.db'}"
    assert_one_line(devkit("demo", "seed", "--pos-url", url, "--days", "0"),
                    "possync-devkit demo seed: days must be at least 1, not 0")
    assert_one_line(devkit("demo", "seed", "--pos-url", "pos.db"), "possync-devkit demo seed: 'pos.db' is not a "
                                                                   "database URL")
    seeded = devkit("demo", "seed", "--pos-url", url, "--days", "1", "--orders-per-day", "3")
    assert seeded.returncode == 0, seeded.stderr
    assert_one_line(devkit("demo", "seed", "--pos-url", url, "--days", "1", "--orders-per-day", "3"),
                    f"possync-devkit demo seed: the POS database {url} already holds data")


def test_the_demo_summary_never_creates_the_database(tmp_path: Path) -> None:
    missing = tmp_path / "pos.db"
    assert_one_line(devkit("demo", "summary", "--pos-url", f"sqlite:///{missing}"),
                    f"possync-devkit demo summary: no POS database at {missing}: the file does not exist")
    assert not missing.exists()


def test_reconcile_reads_what_is_kept_and_creates_nothing(tmp_path: Path) -> None:
    """Without ``--run``, ``possync reconcile`` only reads the kept results: no ledger file, no table created."""
    from sqlalchemy import inspect

    missing = tmp_path / "ledger.db"
    conn = {"AIRFLOW_CONN_POSSYNC_LEDGER": json.dumps({"conn_type": "sqlite", "host": str(missing)})}
    args = ("reconcile", "--integration", "jurnal_demo", "--from", "2026-11-10")
    assert_one_line(possync(*args, env=conn),
                    f"possync reconcile: no sync ledger (connection 'possync_ledger') at {missing}")
    assert not missing.exists()

    engine = make_engine(f"sqlite:///{missing}")
    with engine.begin() as db:  # a ledger from before reconciliation was kept
        db.exec_driver_sql("CREATE TABLE sync_records (id INTEGER PRIMARY KEY)")
    result = possync(*args, env=conn)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("no reconciliation of jurnal_demo kept for 2026-11-10 → 2026-11-10 "
                                     "(run one with --run)")
    assert inspect(engine).get_table_names() == ["sync_records"], "a read created tables"
