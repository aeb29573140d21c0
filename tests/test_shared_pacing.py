"""One API consumer's allowance, shared by every process that calls the target (issue 20, item 2).

Three worker processes call the Accurate sandbox (8 calls a second, as Accurate documents) at the same moment,
as tasks of a pool do when they start together. Each paces itself to the whole limit, as every new task process
did before: together they go three times too fast and the sandbox refuses calls. With the allowance kept in the
ledger (``SharedPacer``, what ``Target.hook`` builds), on SQLite and on PostgreSQL, the same three processes are
refused nothing, and take as long as 8 a second allows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from possync.db import make_engine
from possync.ledger.schema import pacing_requests
from support.live_targets import AccurateLive, running

WORKERS, CALLS = 3, 12
WORKER = f"""
import json, sys, time
from possync.targets.accurate.hook import AccurateHook
conn_id, pacing_conn_id = sys.argv[1], sys.argv[2] or None
hook = AccurateHook(conn_id, max_attempts=8, pacing_conn_id=pacing_conn_id)
hook.data_host  # discover the data host before the start (not paced: the account host's)
_ = hook.pacer  # and set up the pacing, so every worker starts calling at the same moment
print("ready", flush=True)
start_at = float(sys.stdin.readline())
time.sleep(max(0.0, start_at - time.time()))
for _ in range({CALLS}):
    hook.api("glaccount", "list", params={{"sp.pageSize": 1}})
print(json.dumps({{"throttled": hook.throttled}}))
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[AccurateLive]:
    yield from running(AccurateLive, tmp_path)


def ledger_connection(url: str) -> str:
    """The ``AIRFLOW_CONN_*`` value of a ledger database URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return json.dumps({"conn_type": "sqlite", "host": parsed.database})
    return json.dumps({"conn_type": "postgres", "host": parsed.host, "port": parsed.port, "login": parsed.username,
                       "password": parsed.password, "schema": parsed.database})


def connect_with_margin(monkeypatch: pytest.MonkeyPatch, sandbox: AccurateLive) -> None:
    """The workers' connection, 8 calls a second, with a margin for the busy test machine: four test processes
    share two cores, so a request may reach the sandbox well after it was paced (the default margin, 5% of a
    second, is for a network's jitter, not a starved process)."""
    sandbox.connect(monkeypatch)
    conn = json.loads(os.environ["AIRFLOW_CONN_ACCURATE_T"])
    conn["extra"]["pacing_margin_seconds"] = 0.25
    monkeypatch.setenv("AIRFLOW_CONN_ACCURATE_T", json.dumps(conn))


def run_workers(shared: bool) -> tuple[list[int], float]:
    """Start the workers, let them call from the same moment on; (their 429s, seconds from start to last)."""
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, "accurate_t", "possync_ledger" if shared else ""],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=os.environ.copy()) for _ in range(WORKERS)]
    for worker in workers:  # every worker has imported Airflow and set up its hook (Airflow logs to stdout too)
        assert worker.stdout is not None
        while (line := worker.stdout.readline()) and line.strip() != "ready":
            pass
        assert line, f"a worker ended before it was ready: {worker.stderr.read() if worker.stderr else ''}"
    start_at = time.time() + 0.5
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(f"{start_at}\n")
        worker.stdin.flush()
    throttled = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-2000:]
        throttled.append(json.loads(out.strip().splitlines()[-1])["throttled"])
    return throttled, time.time() - start_at


def test_processes_pacing_alone_go_too_fast_together(monkeypatch, sandbox) -> None:
    sandbox.connect(monkeypatch)  # the connection each worker reads: 8 calls a second
    sandbox.admin.reset_stats()
    throttled, _ = run_workers(shared=False)
    assert sandbox.admin.stats()["refused_rate"] > 0 and sum(throttled) > 0, "each paced alone: together too fast"


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_processes_sharing_the_allowance_are_never_refused(monkeypatch, sandbox, tmp_path, request,
                                                           database: str) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}" if database == "sqlite" else request.getfixturevalue("pg_url")
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_LEDGER", ledger_connection(url))
    connect_with_margin(monkeypatch, sandbox)
    sandbox.admin.reset_stats()

    throttled, seconds = run_workers(shared=True)

    stats = sandbox.admin.stats()
    assert stats["refused_rate"] == 0 and throttled == [0] * WORKERS, (stats, throttled)
    calls = WORKERS * CALLS
    # 36 calls at 8 a second take at least (36 - 8) / 8 s after the first 8: the workers really took turns
    assert seconds >= (calls - 8) / 8
    engine = make_engine(url)
    with engine.connect() as conn:
        answered = sorted(conn.execute(select(pacing_requests.c.answered_at)).scalars(), key=lambda t: t or 0)
    engine.dispose()
    # what is kept is the last window's requests only (older rows are pruned as they leave it), every one answered:
    # at most 8, answered within a second and its margin of the last allowance (plus the last request's own time)
    assert 0 < len(answered) <= 8 and None not in answered, answered
    assert answered[-1] - answered[0] <= 1.25 + 0.5, answered
