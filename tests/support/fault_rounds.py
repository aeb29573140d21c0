"""Rounds of a sync under faults, each SIGKILLed mid-load: what the fault test and the fault bench share.

A round sets the sandbox's faults, starts ``support.sync_runner`` as a process of its own, waits until the
runner has begun the task it is to die in (its ``TASK`` line) and the sandbox has answered ``after`` more API
calls since, then SIGKILLs it: whatever it was doing (a request in flight, a reply half read, a ledger write)
stops there, as when a worker is OOM-killed or its node is lost. The calls are counted from the task on, so a task
that makes fewer has the process killed in one of the next; the result names the task it died in. A round whose
runner ends before that is reported as not killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class KillAt:
    """Kill the runner once the sandbox has answered ``after`` calls since it began the first task whose label
    starts with ``task``."""

    task: str
    after: int


@dataclass
class RoundResult:
    killed: bool
    task: str  # the task the runner was in when it was killed, or "" when it was not
    calls: int  # API calls the sandbox answered during the round
    seconds: float
    returncode: int | None
    log: str


def runner_env() -> dict[str, str]:
    """The environment of a runner: this one (Airflow connections, AIRFLOW_HOME, POSSYNC_CONFIG), with
    ``tests/`` on the path after whatever PYTHONPATH already puts first (a worktree's own sources)."""
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(TESTS)])
    return env


class _TaskWatch:
    """The runner's latest ``TASK`` line, read from its log as it grows."""

    def __init__(self, log: Path) -> None:
        self.log, self.offset, self.partial, self.task = log, 0, "", ""

    def current(self) -> str:
        with self.log.open() as text:
            text.seek(self.offset)
            chunk = text.read()
            self.offset = text.tell()
        lines = (self.partial + chunk).split("\n")
        self.partial = lines.pop()
        for line in lines:
            if line.startswith("TASK "):
                self.task = line[5:]
        return self.task


def run_round(admin: Any, integration: str, start: date, days: int, log: Path, *,
              kill_at: KillAt | None = None, sales_days: range | None = None, timeout: float = 600,
              poll: float = 0.02) -> RoundResult:
    """One run of every task of the period (the sales of ``sales_days`` only, when given), killed at ``kill_at``
    (or left to finish)."""
    command = [sys.executable, "-m", "support.sync_runner", "--integration", integration,
               "--start", start.isoformat(), "--days", str(days)]
    if sales_days is not None:
        command += ["--sales-days", f"{sales_days.start}:{sales_days.stop}"]
    before = admin.stats()["requests"]
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=runner_env(), cwd=TESTS)
    killed, task, baseline, watch = False, "", None, _TaskWatch(log)
    try:
        while process.poll() is None:
            if time.monotonic() - started > timeout:
                raise AssertionError(f"the runner did not finish in {timeout:.0f} s:\n{log.read_text()[-3000:]}")
            if kill_at is not None:
                if baseline is None and watch.current().startswith(kill_at.task):
                    baseline = admin.stats()["requests"]
                elif baseline is not None and admin.stats()["requests"] - baseline >= kill_at.after:
                    os.kill(process.pid, signal.SIGKILL)
                    killed, task = True, watch.current()
                    process.wait(timeout=30)
                    break
            time.sleep(poll)
    finally:
        if process.poll() is None:  # the test failed while it ran
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    return RoundResult(killed, task, admin.stats()["requests"] - before, time.monotonic() - started,
                       process.returncode, log.read_text())
