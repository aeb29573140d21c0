"""A real stack for the browser test: the demo POS, a ledger, the Jurnal sandbox and ``airflow standalone``,
each in a temp dir and on free 127.0.0.1 ports; and how the test starts Debian's ``chromium`` (Playwright
drives ``/usr/bin/chromium``: nothing is downloaded at run time).

``running_stack(work)`` (the session fixture ``airflow_stack`` in conftest.py):

1. generates a small demo POS (3 days from 2026-11-09, 20 orders a day, so the invoice without SKU
   ``INV-JKT01-20261111-0017`` is in it) and creates the sync ledger;
2. starts the Jurnal sandbox (``python -m possync_devkit.sandbox.jurnal``) with its limits off, and the alert
   receivers (an SMTP server and a chat webhook endpoint, ``support.receivers``) that ``jurnal_demo``'s alerts
   go to (the demo's integrations.yaml with ``alerts`` added, in the stack's folder);
3. migrates Airflow's SQLite database, creates the ``jurnal_api`` pool, writes the simple auth manager's
   passwords (users ``admin`` and ``viewer``), starts ``airflow standalone`` (its own AIRFLOW_HOME, the
   project's dags/ and plugins/, scheduled runs off so only the runs the test triggers exist), waits for
   ``/api/v2/monitor/health`` and for the DAG to be parsed;
4. through the REST API, unpauses ``jurnal_demo__sales`` and triggers it for 2026-11-11 at JKT01, and waits
   until the run has finished (``failed`` by design: the invoice without SKU, and the demo's broken customer
   and product fail their tasks).

Each background process runs in its own process group, killed (SIGTERM, then SIGKILL) on exit. If the stack
does not come up, the error says which step and shows the end of the log concerned.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from support.airflow_api import AirflowApi
from support.net import free_port
from support.receivers import ChatReceiver, SmtpReceiver
from support.sandbox_admin import SandboxAdmin

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = PROJECT / "test-artifacts" / "browser"
CHROMIUM = Path(os.environ.get("POSSYNC_CHROMIUM", "/usr/bin/chromium"))
# Why each flag: headless on a machine without a display; root (CI) needs --no-sandbox; no GPU here; and no
# traffic leaves loopback (background networking, component updates, sync, QUIC would all try the internet).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

DAG_ID = "jurnal_demo__sales"
BROKEN_INVOICE = "INV-JKT01-20261111-0017"
FIRST_RUN_CONF = {"window_start": "2026-11-11T00:00:00+07:00", "window_end": "2026-11-12T00:00:00+07:00",
                  "outlets": ["JKT01"]}
PASSWORDS = {"admin": "admin-browser-test", "viewer": "viewer-browser-test"}

# Generous: a 2-core machine shared with other work.
START_TIMEOUT = 240  # standalone answering its health check
PARSE_TIMEOUT = 180  # the DAG processor has parsed the DAG
RUN_TIMEOUT = 420  # the first run has finished
POLL = 1.0


def tail(path: Path, lines: int = 60, width: int = 300) -> str:
    """The last ``lines`` of a log, each cut at ``width`` characters (the DAG processor's lines are long)."""
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(line[:width] for line in path.read_text(errors="replace").splitlines()[-lines:])


class Process:
    """A background command in its own process group (so teardown kills everything it started)."""

    def __init__(self, name: str, command: list[str | Path], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        with open(log, "ab") as out:
            self.popen = subprocess.Popen([str(c) for c in command], cwd=PROJECT, env=env, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with code {self.popen.returncode}; its log ({self.log}) ends:\n"
                               f"{tail(self.log)}")

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL whatever is left after 20 s."""
        try:
            pgid = os.getpgid(self.popen.pid)
        except ProcessLookupError:
            return
        for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                self.popen.poll()
                try:
                    os.killpg(pgid, 0)  # anyone left in the group?
                except ProcessLookupError:
                    return
                time.sleep(0.2)
        self.popen.poll()


def wait_until(what: str, check: Callable[[], Any], timeout: float, *, alive: Sequence[Process] = (),
               on_timeout: Callable[[], str] = lambda: "") -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` (and details) after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        for process in alive:
            process.check_alive()
        try:
            result = check()
            if result:
                return result
        except (httpx.HTTPError, OSError, ValueError, KeyError) as error:
            last_error = error
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"{what}: not after {timeout:.0f} s{detail}\n{on_timeout()}")
        time.sleep(POLL)


@dataclass
class AirflowStack:
    url: str
    home: Path
    log: Path
    passwords: dict[str, str]
    api: AirflowApi
    ledger_url: str
    dag_id: str = DAG_ID
    first_run_id: str = ""
    first_run_tasks: dict[tuple[str, int], str] = field(default_factory=dict)
    #: what jurnal_demo's alerts delivered (a message per failed task, from the workers)
    smtp: SmtpReceiver | None = None
    chat: ChatReceiver | None = None

    def describe_run(self, run_id: str) -> str:
        tasks = sorted((t["task_id"], t["map_index"], t["state"]) for t in self.api.task_instances(self.dag_id, run_id))
        return f"run {run_id}: " + ", ".join(f"{t}[{i}]={s}" for t, i, s in tasks)


def _stack_env(home: Path, port: int, pos: Path, ledger: Path, jurnal_port: int) -> dict[str, str]:
    # Start from this environment without anything Airflow- or possync-specific the test session set
    # (tests/conftest.py points AIRFLOW_HOME at its own home and turns unit test mode on).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "POSSYNC_", "_AIRFLOW")) and k != "PYTEST_CURRENT_TEST"}
    url = f"http://127.0.0.1:{port}"
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # standalone starts its components as `airflow`
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        # Free ports for the log servers too: a `make demo` on this machine holds the default 8793 / 8794.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        # Only the runs the test triggers (and the page's retries): no scheduled run of "today" on unpause.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "POSSYNC_CONFIG": str(PROJECT / "include" / "config" / "integrations.yaml"),
        "AIRFLOW_CONN_POSSYNC_POS": json.dumps({"conn_type": "sqlite", "host": str(pos)}),
        "AIRFLOW_CONN_POSSYNC_LEDGER": json.dumps({"conn_type": "sqlite", "host": str(ledger)}),
        "AIRFLOW_CONN_JURNAL_DEMO": json.dumps({
            "conn_type": "jurnal", "host": f"http://127.0.0.1:{jurnal_port}", "login": "possync-demo",
            "password": "possync-demo-secret",
            "extra": {"requests_per_minute": 100_000, "requests_per_hour": 1_000_000}}),
        # Not used by this test (no Accurate DAG runs), but the integration's connection must exist.
        "AIRFLOW_CONN_ACCURATE_DEMO": json.dumps({
            "conn_type": "accurate", "host": f"http://127.0.0.1:{free_port()}", "password": "aat.possync-demo-token",
            "extra": {"signature_secret": "possync-demo-signature-secret",
                      "webhook_secret": "possync-demo-webhook-secret", "requests_per_second": 8}}),
    })
    return env


def _alerting_config(work: Path, smtp: SmtpReceiver, chat: ChatReceiver) -> dict[str, str]:
    """The demo's integrations.yaml with alerts on jurnal_demo, and the connections of both receivers."""
    import yaml

    config = yaml.safe_load((PROJECT / "include" / "config" / "integrations.yaml").read_text())
    jurnal = next(i for i in config["integrations"] if i["name"] == "jurnal_demo")
    jurnal["alerts"] = {"email": {"conn_id": "possync_smtp", "to": ["ops@example.com"]},
                        "chat": {"conn_id": "possync_chat"}}
    path = work / "integrations.yaml"
    path.write_text(yaml.safe_dump(config))
    return {"POSSYNC_CONFIG": str(path), "AIRFLOW_CONN_POSSYNC_SMTP": smtp.conn(),
            "AIRFLOW_CONN_POSSYNC_CHAT": chat.conn()}


def _run_cli(env: dict[str, str], log: Path, *args: str) -> None:
    result = subprocess.run([str(BIN / "airflow"), *args], env=env, cwd=PROJECT, capture_output=True, text=True,
                            timeout=300)
    with open(log, "a") as out:
        out.write(f"$ airflow {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise RuntimeError(f"`airflow {' '.join(args)}` failed ({result.returncode}):\n{result.stderr[-3000:]}")


def _seed(work: Path) -> tuple[Path, Path]:
    from possync.db import make_engine
    from possync.ledger import SyncLedger
    from possync_devkit.demo_pos import DemoSpec, expected_broken_records, generate

    spec = DemoSpec(start_date=date(2026, 11, 9), days=3, orders_per_day=20)
    assert BROKEN_INVOICE in {key for _, key, _ in expected_broken_records(spec)}, (
        f"the demo spec no longer holds {BROKEN_INVOICE}; pick a spec that does")
    pos, ledger = work / "pos.db", work / "ledger.db"
    engine = make_engine(f"sqlite:///{pos}")
    generate(engine, spec)
    engine.dispose()
    SyncLedger.from_url(f"sqlite:///{ledger}", ensure_schema=True).engine.dispose()
    return pos, ledger


def _unpause_and_trigger(stack: AirflowStack, alive: list[Process]) -> None:
    api = stack.api
    wait_until(f"the DAG processor parses {DAG_ID}", lambda: api.get(f"/dags/{DAG_ID}")["dag_id"], PARSE_TIMEOUT,
               alive=alive, on_timeout=lambda: tail(stack.log))
    api.send("PATCH", f"/dags/{DAG_ID}", {"is_paused": False})
    run = api.send("POST", f"/dags/{DAG_ID}/dagRuns",
                   {"logical_date": None, "conf": FIRST_RUN_CONF, "note": "browser test: 2026-11-11 at JKT01"})
    stack.first_run_id = run["dag_run_id"]

    def finished() -> bool:
        return api.run(DAG_ID, stack.first_run_id)["state"] in ("success", "failed")

    wait_until(f"run {stack.first_run_id} of {DAG_ID} finishes", finished, RUN_TIMEOUT, alive=alive,
               on_timeout=lambda: stack.describe_run(stack.first_run_id) + "\n" + tail(stack.log))
    stack.first_run_tasks = {(t["task_id"], t["map_index"]): t["state"]
                             for t in api.task_instances(DAG_ID, stack.first_run_id)}


@contextmanager
def running_stack(work: Path) -> Generator[AirflowStack]:
    """The whole stack in ``work``, the first run finished; everything stopped on exit."""
    home, logs = work / "airflow", work / "logs"
    home.mkdir()
    logs.mkdir()
    started = time.monotonic()
    pos, ledger = _seed(work)

    jurnal_port, port = free_port(), free_port()
    env = _stack_env(home, port, pos, ledger, jurnal_port)
    smtp, chat = SmtpReceiver().start(), ChatReceiver().start()
    env.update(_alerting_config(work, smtp, chat))
    (home / "passwords.json").write_text(json.dumps(PASSWORDS))
    processes: list[Process] = []
    stack_log = logs / "airflow-standalone.log"
    CURRENT["log"] = stack_log
    try:
        processes.append(Process("jurnal sandbox", [
            sys.executable, "-m", "possync_devkit.sandbox.jurnal", "--host", "127.0.0.1", "--port", str(jurnal_port),
            "--db", str(work / "jurnal.db"), "--log-level", "warning",
            "--per-minute", "off", "--per-hour", "off", "--per-ip-minute", "off", "--per-ip-hour", "off",
        ], env, logs / "jurnal-sandbox.log"))
        # The pool must exist before a task asks for it; both CLI steps run before the scheduler starts.
        _run_cli(env, logs / "airflow-cli.log", "db", "migrate")
        _run_cli(env, logs / "airflow-cli.log", "pools", "set", "jurnal_api", "1", "calls to jurnal")
        processes.append(Process("airflow standalone", [BIN / "airflow", "standalone"], env, stack_log))
        url = env["AIRFLOW__API__BASE_URL"]
        wait_until(f"the Jurnal sandbox answers on :{jurnal_port}",
                   lambda: SandboxAdmin(f"http://127.0.0.1:{jurnal_port}", timeout=5).health()["ok"],
                   60, alive=processes, on_timeout=lambda: tail(logs / "jurnal-sandbox.log"))
        wait_until(f"airflow standalone answers {url}/api/v2/monitor/health",
                   lambda: httpx.get(f"{url}/api/v2/monitor/health", timeout=5).is_success, START_TIMEOUT,
                   alive=processes, on_timeout=lambda: tail(stack_log))
        stack = AirflowStack(url=url, home=home, log=stack_log, passwords=PASSWORDS,
                             api=AirflowApi(url, "admin", PASSWORDS["admin"]), ledger_url=f"sqlite:///{ledger}",
                             smtp=smtp, chat=chat)
        _unpause_and_trigger(stack, processes)
        print(f"\nbrowser stack ready in {time.monotonic() - started:.0f} s at {url} (logs in {logs}); "
              f"{stack.describe_run(stack.first_run_id)}")
        yield stack
    except BaseException:
        print(f"\n--- airflow standalone log ({stack_log}), last lines ---\n{tail(stack_log)}", file=sys.stderr)
        raise
    finally:
        for process in reversed(processes):
            process.stop()
        smtp.stop()
        chat.stop()


# What the session's hooks report: the standalone log of the running stack, the screenshots' folder.
CURRENT: dict[str, Path] = {}
