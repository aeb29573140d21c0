"""`make demo`: sync the demo week from the demo POS into the Jurnal sandbox through Airflow, for real.

1. Stops what a previous `make demo` left running (scripts/stop.sh), seeds the demo POS (same seed, same
   data) and makes sure the sync ledger exists. The ledger (var/data/ledger.db) and the sandbox's documents
   (var/sandbox/jurnal.db) are kept across runs: a second demo re-syncs the week and creates nothing twice.
2. Prepares Airflow while nothing else uses its SQLite database: the `jurnal_api` pool the sync tasks run
   in, the DAGs parsed into the database, the three jurnal_demo DAGs unpaused, and a backfill of the demo
   week on `jurnal_demo__sales`. (On SQLite, `backfill create` next to a running scheduler can hit
   "database is locked", and the half-created backfill then crashed the scheduler; so it is created first.)
3. Starts the Jurnal sandbox and `airflow standalone` in the background (logs in var/logs/, pids in var/run/).
4. Waits for the scheduler to run the backfill, printing progress, then prints each DAG's run states, the
   sync ledger's per-flow counts with the failure reasons, the sandbox's document counts, and how to open
   the UI.

Run through `make demo` (the Makefile sets AIRFLOW_HOME, the connections and the API address).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
LOGS, RUN = VAR / "logs", VAR / "run"
BIN = Path(sys.executable).parent  # the project's .venv/bin
AIRFLOW_HOME = Path(os.environ["AIRFLOW_HOME"])
AIRFLOW_URL = os.environ["AIRFLOW__API__BASE_URL"].rstrip("/")
POS_URL = f"sqlite:///{VAR / 'data' / 'pos.db'}"
LEDGER_URL = f"sqlite:///{VAR / 'data' / 'ledger.db'}"

INTEGRATION = "jurnal_demo"
SALES_DAG = f"{INTEGRATION}__sales"
DAGS = [f"{INTEGRATION}__customers", f"{INTEGRATION}__products", SALES_DAG]
JURNAL_DEFAULT_PER_MINUTE = 30  # Jurnal's limit per API consumer (shared/reference/accounting_apis.md §1.6)
POLL_SECONDS = 5
TIMEOUT_MINUTES = 15
FINISHED = {"success", "failed"}


def say(text: str = "") -> None:
    print(text, flush=True)


def step(text: str) -> None:
    say(f"\n==> {text}")


def run(*command: str | Path, log: str | None = None) -> str:
    """Run a command of the venv; on failure show its output and stop the demo."""
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=ROOT)
    output = result.stdout + result.stderr
    if log:
        (LOGS / log).write_text(output)
    if result.returncode != 0:
        say(output[-4000:])
        sys.exit(f"demo: `{' '.join(map(str, command[:4]))} ...` failed (exit {result.returncode})")
    return result.stdout


# -- the demo week ----------------------------------------------------------------------------------------

def demo_week() -> tuple[datetime, datetime, str]:
    """The demo POS's business week in outlet time: [first day 00:00, day after the last 00:00)."""
    from possync.config import load_config
    from possync.pos.demo import DemoSpec

    spec = DemoSpec()  # what `possync demo seed` generates by default
    timezone = next(i.timezone for i in load_config().integrations if i.name == INTEGRATION)
    start = datetime.combine(spec.start_date, datetime.min.time(), tzinfo=ZoneInfo(timezone))
    return start, start + timedelta(days=spec.days), timezone


# -- background services ----------------------------------------------------------------------------------

def port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        if probe.connect_ex((host, port)) == 0:
            sys.exit(f"demo: another program already listens on {host}:{port}; stop it, or change the port in "
                     "the Makefile (DEMO_JURNAL_PORT / DEMO_AIRFLOW_PORT)")


def start_background(name: str, *command: str | Path) -> subprocess.Popen:
    """nohup-style: own session (so `make stop` can kill its process group), output to var/logs/<name>.log."""
    with open(LOGS / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            [str(c) for c in command], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (RUN / f"{name}.pid").write_text(f"{process.pid}\n")
    return process


def wait_for(name: str, process: subprocess.Popen, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"demo: {name} exited (code {process.returncode}); see var/logs/{name}.log")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(1)
    sys.exit(f"demo: {name} did not answer within {timeout:.0f} s; see var/logs/{name}.log")


def http_json(url: str, *, method: str = "GET", body: object = None, token: str | None = None) -> object:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method=method),
                                timeout=30) as reply:
        return json.loads(reply.read() or b"null")


def jurnal_sandbox() -> tuple[str, int, int, int]:
    """Host, port and limits of the sandbox, read from the connection the DAGs use (AIRFLOW_CONN_JURNAL_DEMO),
    so the sandbox allows exactly what the hook paces to (pacing below the limit means no 429)."""
    conn = json.loads(os.environ["AIRFLOW_CONN_JURNAL_DEMO"])
    url = urllib.parse.urlsplit(conn["host"])
    extra = conn.get("extra", {})
    return url.hostname, url.port, int(extra["requests_per_minute"]), int(extra["requests_per_hour"])


def jurnal_document_counts() -> dict[str, int]:
    """Documents in the sandbox, read through the Jurnal API (signed list requests, total_count)."""
    from possync.targets.jurnal.hook import JurnalHook

    hook = JurnalHook("jurnal_demo")  # the connection id in integrations.yaml
    resources = ["customers", "products", "warehouses", "sales_invoices", "receive_payments", "sales_returns"]
    return {r: int(hook.api("GET", f"/{r}", params={"page": 1, "page_size": 1})["total_count"]) for r in resources}


# -- Airflow's REST API -----------------------------------------------------------------------------------

class Airflow:
    def __init__(self) -> None:
        password_file = AIRFLOW_HOME / "simple_auth_manager_passwords.json.generated"
        self.password = json.loads(password_file.read_text())["admin"]
        reply = http_json(f"{AIRFLOW_URL}/auth/token", method="POST",
                          body={"username": "admin", "password": self.password})
        self.token = reply["access_token"]

    def get(self, path: str, **params: object) -> dict:
        query = urllib.parse.urlencode(params, doseq=True)
        return http_json(f"{AIRFLOW_URL}/api/v2{path}" + (f"?{query}" if query else ""), token=self.token)

    def every(self, path: str, key: str, **params: object) -> list[dict]:
        """All items of a list endpoint (the API answers at most 100 per page)."""
        items: list[dict] = []
        while True:
            page = self.get(path, limit=100, offset=len(items), **params)
            items += page[key]
            if not page[key] or len(items) >= page["total_entries"]:
                return items

    def runs(self, dag_id: str) -> list[dict]:
        return self.every(f"/dags/{dag_id}/dagRuns", "dag_runs", order_by="run_after")

    def scheduler_healthy(self) -> bool:
        return self.get("/monitor/health")["scheduler"]["status"] == "healthy"


def in_week(run: dict, week: tuple[datetime, datetime]) -> bool:
    """Whether a run is one of the demo week's windows (the backfill selects runs by their window's end)."""
    return week[0] <= datetime.fromisoformat(run["run_after"]) <= week[1]


def describe(states: Counter) -> str:
    done = states["success"] + states["failed"]
    text = f"{done}/{sum(states.values())} runs done ({states['success']} success, {states['failed']} failed)"
    waiting = [f"{states[s]} {s}" for s in ("running", "queued") if states[s]]
    return text + (", " + ", ".join(waiting) if waiting else "")


def progress(airflow: Airflow, started: float, week: tuple[datetime, datetime]) -> dict[str, list[dict]]:
    """Print progress until the backfill and every other run of the demo DAGs have finished."""
    last_line, last_print, unhealthy_since = "", 0.0, None
    deadline = started + TIMEOUT_MINUTES * 60
    while True:
        runs = {dag_id: airflow.runs(dag_id) for dag_id in DAGS}
        backfill_runs = [r for r in runs[SALES_DAG] if r["run_type"] == "backfill" and in_week(r, week)]
        others = [r for dag_id in DAGS for r in runs[dag_id] if r not in backfill_runs]
        backfill = Counter(r["state"] for r in backfill_runs)
        other = Counter(r["state"] for r in others)
        elapsed = time.monotonic() - started
        line = f"sales backfill: {describe(backfill)}"
        if others:
            line += f" | scheduled runs: {other['success'] + other['failed']}/{len(others)} done"
        if line != last_line or time.monotonic() - last_print >= 30:
            say(f"  {int(elapsed // 60)}:{int(elapsed % 60):02d}  {line}")
            last_line, last_print = line, time.monotonic()
        # The backfill creates all its runs up front, so once they have all finished it is done (Airflow
        # marks the backfill itself complete up to 30 s later).
        if backfill_runs and set(backfill) <= FINISHED and set(other) <= FINISHED:
            return runs
        if airflow.scheduler_healthy():
            unhealthy_since = None
        elif unhealthy_since is None:
            unhealthy_since = time.monotonic()
        elif time.monotonic() - unhealthy_since > 60:
            sys.exit("demo: the Airflow scheduler stopped heartbeating; see var/logs/airflow-standalone.log")
        if time.monotonic() > deadline:
            sys.exit(
                f"demo: the backfill is still running after {TIMEOUT_MINUTES} minutes (this machine may be busy). "
                f"Airflow keeps going in the background: watch it at {AIRFLOW_URL} (user admin, password in "
                f"{AIRFLOW_HOME}/simple_auth_manager_passwords.json.generated), then `make stop`."
            )
        time.sleep(POLL_SECONDS)


# -- the demo ---------------------------------------------------------------------------------------------

def main() -> int:
    wall = time.monotonic()
    for directory in (LOGS, RUN, VAR / "data", VAR / "sandbox"):
        directory.mkdir(parents=True, exist_ok=True)
    host, port, per_minute, per_hour = jurnal_sandbox()
    week_start, week_end, timezone = demo_week()

    step("Stopping anything a previous `make demo` left running")
    subprocess.run([ROOT / "scripts" / "stop.sh"], check=True)

    step("Demo POS and sync ledger")
    say("  " + run(BIN / "possync", "demo", "seed", "--pos-url", POS_URL, "--replace").strip())
    broken = json.loads(run(BIN / "possync", "demo", "summary", "--pos-url", POS_URL, "--json"))["broken_records"]
    say(f"  {len(broken)} records are broken on purpose (the sync must report them, not choke on them); "
        f"`.venv/bin/possync demo summary --pos-url {POS_URL}` lists them")
    say("  " + run(BIN / "possync", "ledger", "init", "--ledger-url", LEDGER_URL).strip()
        + " (kept across runs: it is what makes a re-run create nothing twice)")

    step("Airflow: database, pool, DAGs, backfill of the demo week (before the scheduler starts)")
    airflow = BIN / "airflow"
    run(airflow, "db", "migrate", log="airflow-db-migrate.log")
    run(airflow, "pools", "set", "jurnal_api", "1", "Mekari Jurnal API", log="airflow-pools.log")
    say("  pool jurnal_api: 1 slot (every task that calls Jurnal runs in it)")
    run(airflow, "dags", "reserialize", log="airflow-dags-reserialize.log")
    run(airflow, "dags", "unpause", "--yes", "--treat-dag-id-as-regex", f"^{INTEGRATION}__",
        log="airflow-dags-unpause.log")
    say(f"  unpaused {', '.join(DAGS)}")
    say("  (unpausing also schedules each DAG's latest slot, today: the sales window holds no demo sales,")
    say("  the customers and products runs sync whatever Jurnal lacks; then they run hourly)")
    run(airflow, "backfill", "create", "--dag-id", SALES_DAG,
        "--from-date", week_start.isoformat(), "--to-date", week_end.isoformat(),
        "--reprocess-behavior", "completed", "--max-active-runs", "1", log="airflow-backfill-create.log")
    say(f"  backfill {SALES_DAG}: every window ending {week_start:%Y-%m-%d %H:%M} .. {week_end:%Y-%m-%d %H:%M} "
        f"{timezone}, one run at a time, in order")

    step("Starting the Jurnal sandbox and `airflow standalone` in the background")
    airflow_url = urllib.parse.urlsplit(AIRFLOW_URL)
    port_free(host, port)
    port_free(airflow_url.hostname, airflow_url.port)
    sandbox = start_background("jurnal-sandbox", BIN / "python", "-m", "possync.sandbox.jurnal", "--host", host,
                               "--port", str(port), "--db", VAR / "sandbox" / "jurnal.db",
                               "--per-minute", str(per_minute), "--per-hour", str(per_hour),
                               "--per-ip-minute", str(per_minute), "--per-ip-hour", str(per_hour))
    wait_for("jurnal-sandbox", sandbox, lambda: http_json(f"http://{host}:{port}/_sandbox/health")["ok"], 60)
    say(f"  Jurnal sandbox at http://{host}:{port}, limits {per_minute}/min and {per_hour}/h per client "
        f"(a larger plan's limits; the Jurnal default is {JURNAL_DEFAULT_PER_MINUTE}/min)")
    documents_before = jurnal_document_counts()
    standalone = start_background("airflow-standalone", airflow, "standalone")
    wait_for("airflow-standalone", standalone, lambda: http_json(f"{AIRFLOW_URL}/api/v2/monitor/health"), 180)
    api = Airflow()
    say(f"  Airflow API at {AIRFLOW_URL} (scheduler, DAG processor, API server, triggerer)")

    step(f"Syncing the demo week through the scheduler (every {POLL_SECONDS} s; at most {TIMEOUT_MINUTES} min)")
    runs = progress(api, time.monotonic(), (week_start, week_end))
    documents_after = jurnal_document_counts()

    step("Run states per DAG")
    for dag_id in DAGS:
        by_type = Counter((r["run_type"], r["state"]) for r in runs[dag_id])
        say(f"  {dag_id:<24} " + ", ".join(f"{n} {kind} {state}" for (kind, state), n in sorted(by_type.items())))
    tasks = api.every(f"/dags/{SALES_DAG}/dagRuns/~/taskInstances", "task_instances")
    per_task = Counter((t["task_id"], t["state"]) for t in tasks)
    for task_id in ("sync_customers", "sync_products", "sync_sales"):
        say(f"    {task_id:<22} " + ", ".join(
            f"{n} {state}" for (t, state), n in sorted(per_task.items()) if t == task_id))
    say("  Red is expected: a task with a record it cannot sync ends failed (no retries) and names the record.")
    say("  sync_customers and sync_products report CUST-29 and PROD-40 in every run until they are repaired,")
    say("  and each outlet's later windows retry its earlier failed sales, so its sync_sales stays red too.")

    step("Sync status (the sync ledger: every record's state, failures with the reason)")
    say(run(BIN / "possync", "status", "--ledger-url", LEDGER_URL).rstrip())

    step("Documents in the Jurnal sandbox (read through its API)")
    for resource, after in documents_after.items():
        added = after - documents_before[resource]
        say(f"  {resource:<18} {after:>6}   " + (f"+{added} in this run" if added else "unchanged"))
    if documents_before["sales_invoices"] and documents_after == documents_before:
        say("  Nothing new: the week was already synced, and re-running it duplicated nothing.")

    logs = AIRFLOW_HOME / "logs" / f"dag_id={SALES_DAG}"
    example = sorted(logs.glob("run_id=backfill__*/task_id=sync_sales/map_index=0/attempt=*.log"))
    step("Airflow UI")
    say(f"  {AIRFLOW_URL}  user admin, password {api.password}")
    say(f"  per-record lines: DAG {SALES_DAG} → Grid → a run → a sync_sales box (one per outlet) → Logs")
    if example:
        say(f"  or the files, e.g. {example[-1].relative_to(ROOT)}:")
        events = [json.loads(line).get("event", "") for line in example[-1].read_text().splitlines()]
        records = [e for e in events if e.split(" ", 1)[0] in ("SYNCED", "SKIPPED", "FAILED")]
        one_of_each = [next(e for e in records if e.startswith(kind)) for kind in ("SYNCED", "SKIPPED", "FAILED")
                       if any(e.startswith(kind) for e in records)]
        for event in [*one_of_each, f"... ({len(records)} record lines)", *[e for e in events if " read " in e]]:
            say(f"    {event}")
    say("  Airflow and the sandbox keep running in the background (logs in var/logs/): `make stop` stops them.")
    elapsed = time.monotonic() - wall
    say(f"\nmake demo took {int(elapsed // 60)} min {int(elapsed % 60)} s.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("\ndemo: interrupted; whatever it started keeps running in the background (`make stop` stops it)")
