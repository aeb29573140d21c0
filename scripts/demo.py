"""`make demo`: sync the demo week from the demo POS into the Jurnal and Accurate sandboxes through Airflow,
for real, and bring a purchase entered in Accurate back into the POS through Accurate's webhook.

1. Stops what a previous `make demo` left running (scripts/stop.sh), seeds the demo POS (same seed, same
   data) and makes sure the sync ledger exists. The ledger (var/data/ledger.db) and the sandboxes' documents
   (var/sandbox/*.db) are kept across runs: a second demo re-syncs the week and creates nothing twice.
2. Prepares Airflow while nothing else uses its SQLite database: the `jurnal_api` and `accurate_api` pools
   the sync tasks run in, the DAGs parsed into the database, the demo integrations' DAGs unpaused, and a
   backfill of the demo week on each `<integration>__sales`. (On SQLite, `backfill create` next to a running
   scheduler can hit "database is locked", and the half-created backfill then crashed the scheduler; so the
   backfills are created first.)
3. Starts both sandboxes and `airflow standalone` in the background (logs in var/logs/, pids in var/run/),
   and points the Accurate sandbox's webhook at the plugin's receiver.
4. Waits for the scheduler to run the backfills, printing progress; then triggers each
   `<integration>__transfers` with the week's date range (transfers, adjustments, the closing stock take: after
   the sales, so the count comes last) and waits for them; then simulates a purchase entered in Accurate and
   waits until its goods receipt is in the POS; then prints each DAG's run states, the sync
   ledger's per-flow counts with the failure reasons, the webhook log, the sandboxes' document counts, and
   how to open the UI.

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
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from airflow_rest import AirflowAPI, http_json
from demo_targets import (
    accurate_document_counts,
    demo_week,
    enter_order_and_transfer,
    goods_receipt_in_pos,
    invoice_totals,
    jurnal_document_counts,
    order_in_pos,
    simulate_purchase,
    transfer_in_pos,
)

from possync.money import rupiah

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
LOGS, RUN = VAR / "logs", VAR / "run"
BIN = Path(sys.executable).parent  # the project's .venv/bin
DEVKIT = (BIN / "python", "-m", "possync_devkit")  # the demo POS and HO commands (devkit/, not production's)
AIRFLOW_HOME = Path(os.environ["AIRFLOW_HOME"])
AIRFLOW_URL = os.environ["AIRFLOW__API__BASE_URL"].rstrip("/")
POS_URL = f"sqlite:///{VAR / 'data' / 'pos.db'}"
LEDGER_URL = f"sqlite:///{VAR / 'data' / 'ledger.db'}"
HEADOFFICE_DB = VAR / "data" / "headoffice.db"
HEADOFFICE_URL = f"sqlite:///{HEADOFFICE_DB}"
EXCHANGE_DAG = "ho_demo__exchange"
HO_STORES = ("JKT01", "BDG01", "SBY01")

INTEGRATIONS = ("jurnal_demo", "accurate_demo")
SALES_DAGS = [f"{name}__sales" for name in INTEGRATIONS]
CHANGED_OUTLET = "JKT01"  # where `make demo` voids and edits a sale after it was synced
TRANSFERS_DAGS = [f"{name}__transfers" for name in INTEGRATIONS]
DAGS = [f"{name}__{flow}" for name in INTEGRATIONS for flow in ("customers", "products", "sales")]
JURNAL_DEFAULT_PER_MINUTE = 30  # Jurnal's limit per API consumer (shared/reference/accounting_apis.md §1.6)
POLL_SECONDS = 5
TIMEOUT_MINUTES = 15
FINISHED = {"success", "failed"}
#: how the demo's Jurnal and Accurate integrations post sales (`make demo POSTING=per_day|per_shift`;
#: integrations.yaml's ``posting``)
POSTING = os.environ.get("POSSYNC_DEMO_POSTING") or "per_order"


def demo_config() -> None:
    """With a posting other than integrations.yaml's, the demo runs on a copy in var/ with ``posting`` set on its
    Jurnal and Accurate integrations: ``POSSYNC_CONFIG`` points this script, the CLI and Airflow at it."""
    import yaml

    if POSTING == "per_order":
        return
    source = Path(os.environ["POSSYNC_CONFIG"])
    config = yaml.safe_load(source.read_text())
    for integration in config["integrations"]:
        if integration["name"] in INTEGRATIONS:
            integration["posting"] = POSTING
    copy = VAR / "config" / source.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(f"# {source} with posting: {POSTING} (make demo POSTING={POSTING})\n"
                    + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    os.environ["POSSYNC_CONFIG"] = str(copy)
    say(f"  posting: {POSTING} for {', '.join(INTEGRATIONS)} ({copy.relative_to(ROOT)})")


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

def target_pools() -> dict[str, int]:
    """Each target's pool, sized as its integrations' ``target_concurrency`` (what each task paces its share by)."""
    from possync.config import load_config
    from possync.deploy import target_pools as pools

    return {name: pool["slots"] for name, pool in pools(load_config()).items()}


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


def jurnal_sandbox() -> tuple[str, int, int, int]:
    """Host, port and limits of the sandbox, read from the connection the DAGs use (AIRFLOW_CONN_JURNAL_DEMO),
    so the sandbox allows exactly what the hook paces to (pacing below the limit means no 429)."""
    conn = json.loads(os.environ["AIRFLOW_CONN_JURNAL_DEMO"])
    url = urllib.parse.urlsplit(conn["host"])
    extra = conn.get("extra", {})
    return url.hostname, url.port, int(extra["requests_per_minute"]), int(extra["requests_per_hour"])


def accurate_sandbox() -> tuple[str, int, int]:
    """Host, account port and data port of the Accurate sandbox, from AIRFLOW_CONN_ACCURATE_DEMO (the account
    host) and DEMO_ACCURATE_DATA_PORT (the data host it hands out, as the real account host does)."""
    conn = json.loads(os.environ["AIRFLOW_CONN_ACCURATE_DEMO"])
    url = urllib.parse.urlsplit(conn["host"])
    return url.hostname, url.port, int(os.environ["DEMO_ACCURATE_DATA_PORT"])


WEBHOOK_PATH = "/possync/webhooks/accurate/accurate_demo"


def register_accurate_webhook(data_url: str) -> str:
    """Point the sandbox's webhook (Accurate's Developer Area setting) at the plugin's receiver; the URL carries
    the integration's webhook secret from its connection, as Accurate webhooks carry no signature."""
    secret = json.loads(os.environ["AIRFLOW_CONN_ACCURATE_DEMO"])["extra"]["webhook_secret"]
    url = f"{AIRFLOW_URL}{WEBHOOK_PATH}?token={urllib.parse.quote(secret)}"
    http_json(f"{data_url}/_sandbox/webhooks", method="POST",
              body={"url": url, "types": ["RECEIVE_ITEM", "PURCHASE_ORDER", "ITEM_TRANSFER"]})
    return url


def webhook_log_lines() -> list[str]:
    from possync.db import make_engine
    from possync.ledger.webhooks import WebhookLog

    def shortened(text: str | None, separator: str) -> str:  # a possync transfer's echo names 19 numbers
        parts = (text or "").split(separator)
        return text or "" if len(parts) <= 2 else f"{parts[0]}{separator}… ({len(parts) - 1} more)"

    events = WebhookLog(make_engine(LEDGER_URL)).events("accurate_demo", limit=10)
    return [f"{e.received_at:%Y-%m-%d %H:%M:%S} {e.event_type:<13} {e.status:<9} "
            f"{shortened(e.document_numbers, ', ')}" + (f"  {shortened(e.reason, '; ')}" if e.reason else "")
            for e in events]


# -- Airflow's REST API -----------------------------------------------------------------------------------

def sign_in() -> AirflowAPI:
    """The REST API as the standalone's admin (its password is in the file the simple auth manager wrote)."""
    password_file = AIRFLOW_HOME / "simple_auth_manager_passwords.json.generated"
    return AirflowAPI(AIRFLOW_URL, "admin", json.loads(password_file.read_text())["admin"])


def in_week(run: dict, week: tuple[datetime, datetime]) -> bool:
    """Whether a run is one of the demo week's windows (the backfill selects runs by their window's end)."""
    return week[0] <= datetime.fromisoformat(run["run_after"]) <= week[1]


def describe(states: Counter) -> str:
    done = states["success"] + states["failed"]
    text = f"{done}/{sum(states.values())} runs done ({states['success']} success, {states['failed']} failed)"
    waiting = [f"{states[s]} {s}" for s in ("running", "queued") if states[s]]
    return text + (", " + ", ".join(waiting) if waiting else "")


#: finishes the unfinished backfills of the DAGs named in argv, as the API's "cancel backfill" does (pause it, fail
#: its runs not finished, mark it completed); run before the scheduler starts, so nothing races it
CANCEL_UNFINISHED_BACKFILLS = """
import sys
from sqlalchemy import select, update
from airflow.models.backfill import Backfill, BackfillDagRun
from airflow.models.dagrun import DagRun
from airflow.sdk import timezone
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState
with create_session() as session:
    for backfill in session.scalars(select(Backfill).where(Backfill.dag_id.in_(sys.argv[1:]),
                                                           Backfill.completed_at.is_(None))):
        backfill.is_paused = True
        session.execute(update(DagRun).where(
            DagRun.id.in_(select(BackfillDagRun.dag_run_id).where(BackfillDagRun.backfill_id == backfill.id)),
            DagRun.state.in_([DagRunState.QUEUED, DagRunState.RUNNING])).values(state=DagRunState.FAILED)
            .execution_options(synchronize_session=False))
        backfill.completed_at = timezone.utcnow()
        print(f"finished the unfinished backfill {backfill.id} of {backfill.dag_id}")
"""


def progress(airflow: AirflowAPI, started: float, week: tuple[datetime, datetime]) -> dict[str, list[dict]]:
    """Print progress until the backfill and every other run of the demo DAGs have finished."""
    last_line, last_print, unhealthy_since = "", 0.0, None
    deadline = started + TIMEOUT_MINUTES * 60
    while True:
        runs = {dag_id: airflow.runs(dag_id) for dag_id in DAGS}
        backfill_runs = [r for dag_id in SALES_DAGS for r in runs[dag_id]
                         if r["run_type"] == "backfill" and in_week(r, week)]
        others = [r for dag_id in DAGS for r in runs[dag_id] if r not in backfill_runs]
        backfill = Counter(r["state"] for r in backfill_runs)
        other = Counter(r["state"] for r in others)
        elapsed = time.monotonic() - started
        line = f"sales backfills: {describe(backfill)}"
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

def changes_after_sync(api: AirflowAPI, week_start: datetime) -> None:
    """Void one synced order and add a unit to another at the till, re-run that day's sales of each
    integration, and show both targets following: the void's invoice gone, the edit's invoice re-posted."""
    from zoneinfo import ZoneInfo

    from possync.db import make_engine
    from possync.ledger import SyncLedger
    from possync.pos.source import BuiltinSource
    from possync.summaries import Periods, order_summaries
    from possync_devkit.till_changes import add_unit, plain_orders, void_order

    step("Changes at the till after sync: a void and an edit reach both targets")
    pos, day = make_engine(POS_URL), week_start + timedelta(days=1)
    broken = {record["key"] for record in json.loads(run(*DEVKIT, "demo", "summary", "--pos-url", POS_URL,
                                                            "--json"))["broken_records"]}
    voided, edited = (o.number for o in plain_orders(pos, CHANGED_OUTLET, day, day + timedelta(days=1), broken)[:2])
    # per_day / per_shift: the orders are in their day's (their shifts') summaries, which the changes post again
    # under their numbers
    shown = [voided, edited] if POSTING == "per_order" else sorted(set(order_summaries(
        BuiltinSource(pos), [voided, edited], Periods(POSTING, ZoneInfo(str(week_start.tzinfo)), pos)).values()))
    before = {name: invoice_totals(name, shown) for name in INTEGRATIONS}
    void_order(pos, voided, "customer changed their mind")
    total = add_unit(pos, edited)
    say(f"  at the till: {voided} voided; {edited} got one more unit of its first item, total {rupiah(total)}")
    window = {"window_start": day.isoformat(), "window_end": (day + timedelta(days=1)).isoformat(),
              "outlets": [CHANGED_OUTLET]}
    started = time.monotonic()
    runs = {dag_id: api.trigger(dag_id, window, note="make demo: changes after sync") for dag_id in SALES_DAGS}
    while any(api.run_state(d, r) not in FINISHED for d, r in runs.items()):
        if time.monotonic() - started > TIMEOUT_MINUTES * 60:
            sys.exit(f"demo: the re-runs of {day:%Y-%m-%d} did not finish in {TIMEOUT_MINUTES} minutes; "
                     f"see {AIRFLOW_URL}")
        time.sleep(POLL_SECONDS)
    say(f"  re-ran {', '.join(SALES_DAGS)} for {day:%Y-%m-%d}, outlet {CHANGED_OUTLET} "
        f"({time.monotonic() - started:.0f} s)")
    ledger = SyncLedger(make_engine(LEDGER_URL))
    for name in INTEGRATIONS:
        after = invoice_totals(name, shown)
        say(f"  {name}: " + "; ".join(f"invoice {key} {before[name][key]} → {after[key] or 'gone'}" for key in shown))
        for record_type, key in (("invoice", key) for key in shown):
            versions = ledger.versions(name, record_type, key)
            say(f"    ledger {key}: " + " → ".join(v.event for v in versions[-3:])
                + f" ({ledger.get(name, record_type, key).status})")
    say("  (each reversal is a REVERSED line in that run's sync_sales log; changes_after_sync: report in")
    say("  integrations.yaml would only fail the records with what changed and leave the targets alone)")


def reconcile_week(api: AirflowAPI, week_start: datetime, week_end: datetime) -> None:
    """Trigger each integration's reconcile DAG over the demo week and print what it found per outlet and day."""
    step("Reconciliation of the week: POS ↔ ledger ↔ target, per outlet and day")
    dates = {"from_date": f"{week_start:%Y-%m-%d}", "to_date": f"{week_end - timedelta(days=1):%Y-%m-%d}"}
    started = time.monotonic()
    runs = {f"{name}__reconcile": api.trigger(f"{name}__reconcile", dates, note="make demo: the demo week")
            for name in INTEGRATIONS}
    while any(api.run_state(d, r) not in FINISHED for d, r in runs.items()):
        if time.monotonic() - started > TIMEOUT_MINUTES * 60:
            sys.exit(f"demo: the reconcile runs did not finish within {TIMEOUT_MINUTES} minutes; see {AIRFLOW_URL}")
        time.sleep(POLL_SECONDS)
    unexplained_in_all = 0
    for name in INTEGRATIONS:
        dag_id = f"{name}__reconcile"
        days = json.loads(run(BIN / "possync", "reconcile", "--integration", name, "--from", dates["from_date"],
                              "--to", dates["to_date"], "--json"))
        outcomes = Counter(day["outcome"] for day in days)
        differences = [d for day in days for d in day["differences"]]
        unexplained = [d for d in differences if not d["explained"]]
        unexplained_in_all += len(unexplained)
        say(f"  {dag_id} ({time.monotonic() - started:.0f} s): {api.run_state(dag_id, runs[dag_id])}; "
            f"{len(days)} outlet-days: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
            + f"; {len(differences)} difference(s), {len(unexplained)} unexplained")
        kinds = Counter(d["kind"] for d in differences)
        say("    by kind: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))
        vat = [d for d in differences if d["kind"] == "tax_differs"]
        if vat:
            off = sum((Decimal(d["target"]) - Decimal(d["pos"]) for d in vat), Decimal("0.00"))
            say(f"    TAX: {len(vat)} invoice(s) whose tax in the target is not the POS's, {rupiah(off)} off in all")
        else:
            say("    Tax: every invoice's tax (PB1 10 %, PPN 11 %, per line) is the POS's to the sen")
        for difference in (unexplained or differences)[:4]:
            why = difference["explanation"] or "UNEXPLAINED"
            say(f"    {difference['kind']} {difference['record_type']} {difference['key']}: {why}"[:150])
    if not unexplained_in_all:
        say("  Every difference is explained: the demo's broken records and what depends on them (failed in the")
        say("  ledger with their reasons).")
    say(f"  Per day: .venv/bin/possync reconcile --integration jurnal_demo "
        f"--from {dates['from_date']} --to {dates['to_date']}; in the UI: Browse → Sync Status → Reconciliation.")


#: differing stock rows the demo prints per target (``possync stock compare`` lists them all)
SHOWN_STOCK_ROWS = 8


def compare_stock_week() -> None:
    """Per warehouse and product, the POS's stock against each target's (``possync stock compare``): the opening
    stock the products sync posted plus the week's synced moves, against the POS's levels."""
    step("Stock: the POS's stock against each target's, per warehouse and product")
    for name in INTEGRATIONS:
        report = json.loads(run(BIN / "possync", "stock", "compare", "--integration", name, "--json"))
        say(f"  {name}: {report['differences']} difference(s) in {report['compared']} product(s) and warehouse(s),"
            f" {report['explained']} explained, {report['unexplained']} unexplained")
        differing = [r for r in report["rows"] if Decimal(r["difference"])]
        for row in differing[:SHOWN_STOCK_ROWS]:
            say(f"    {row['outlet_code']} {row['sku']} ({row['product_name']}): POS {row['pos']}, "
                f"target {row['target']}: {row['explanation']}")
        if len(differing) > SHOWN_STOCK_ROWS:
            say(f"    ... and {len(differing) - SHOWN_STOCK_ROWS} more (possync stock compare lists them all)")
    say("  Opening stock came from the POS's levels at start_date (ledger record opening_stock). A difference left is")
    say("  explained when the moves of records the target misses (failed, pending) add up to it: Jurnal's closing")
    say("  count keeps the counted quantities, Accurate takes the count's differences. The void and the edit above,")
    say("  made at the till after the week's count to sales dated before it, reach Jurnal dated before its count,")
    say("  which keeps the counted quantity: two unexplained places there until the target is adjusted to the POS.")
    say("  Sync Status → Stock can adjust the target to the POS; from a terminal:")
    say("  .venv/bin/possync stock compare --integration accurate_demo")


def main() -> int:
    wall = time.monotonic()
    for directory in (LOGS, RUN, VAR / "data", VAR / "sandbox"):
        directory.mkdir(parents=True, exist_ok=True)
    host, port, per_minute, per_hour = jurnal_sandbox()
    accurate_host, account_port, data_port = accurate_sandbox()
    data_url = f"http://{accurate_host}:{data_port}"
    week_start, week_end, timezone = demo_week()

    step("Stopping anything a previous `make demo` left running")
    subprocess.run([ROOT / "scripts" / "stop.sh"], check=True)
    demo_config()

    step("Demo POS and sync ledger")
    say("  " + run(*DEVKIT, "demo", "seed", "--pos-url", POS_URL, "--replace").strip())
    broken = json.loads(run(*DEVKIT, "demo", "summary", "--pos-url", POS_URL, "--json"))["broken_records"]
    say(f"  {len(broken)} records are broken on purpose (the sync must report them, not choke on them); "
        f"`.venv/bin/possync-devkit demo summary --pos-url {POS_URL}` lists them")
    say("  " + run(BIN / "possync", "ledger", "init", "--ledger-url", LEDGER_URL).strip()
        + " (kept across runs: it is what makes a re-run create nothing twice)")

    step("Head office database (the HO simulator publishes to the stores)")
    for leftover in VAR.joinpath("data").glob("headoffice.db*"):  # the POS was reseeded: start HO afresh too
        leftover.unlink()
    say("  " + run(*DEVKIT, "headoffice", "seed-demo", "--ho-url", HEADOFFICE_URL, "--pos-url", POS_URL,
                   *[arg for store in HO_STORES for arg in ("--store", store)]).strip())

    step("Airflow: database, pool, DAGs, backfill of the demo week (before the scheduler starts)")
    airflow = BIN / "airflow"
    run(airflow, "db", "migrate", log="airflow-db-migrate.log")
    for pool, slots in target_pools().items():
        run(airflow, "pools", "set", pool, str(slots), f"calls to {pool.removesuffix('_api')}",
            log=f"airflow-pool-{pool}.log")
        say(f"  pool {pool}: {slots} slot(s) (every task that calls that target runs in it, pacing to 1/{slots} "
            "of its rate limit)")
    run(airflow, "dags", "reserialize", log="airflow-dags-reserialize.log")
    run(airflow, "dags", "unpause", "--yes", "--treat-dag-id-as-regex", "^(" + "|".join(INTEGRATIONS) + ")__",
        log="airflow-dags-unpause.log")
    say(f"  unpaused {', '.join(DAGS)} and the Accurate inbound DAGs")
    say("  (unpausing also schedules each DAG's latest slot, today: the sales window holds no demo sales,")
    say("  the customers and products runs sync whatever the target lacks; then they run hourly)")
    # a demo stopped half-way (Ctrl-C, `make stop`) leaves its backfills unfinished, and Airflow allows one per DAG
    run(BIN / "python", "-c", CANCEL_UNFINISHED_BACKFILLS, *SALES_DAGS, log="airflow-backfill-cancel.log")
    for sales_dag in SALES_DAGS:
        run(airflow, "backfill", "create", "--dag-id", sales_dag,
            "--from-date", week_start.isoformat(), "--to-date", week_end.isoformat(),
            "--reprocess-behavior", "completed", "--max-active-runs", "1", log=f"airflow-backfill-{sales_dag}.log")
        say(f"  backfill {sales_dag}: every window ending {week_start:%Y-%m-%d %H:%M} .. "
            f"{week_end:%Y-%m-%d %H:%M} {timezone}, one run at a time, in order")

    step("Starting the Jurnal and Accurate sandboxes and `airflow standalone` in the background")
    airflow_url = urllib.parse.urlsplit(AIRFLOW_URL)
    port_free(host, port)
    port_free(accurate_host, account_port)
    port_free(accurate_host, data_port)
    port_free(airflow_url.hostname, airflow_url.port)
    sandbox = start_background("jurnal-sandbox", BIN / "python", "-m", "possync_devkit.sandbox.jurnal", "--host", host,
                               "--port", str(port), "--db", VAR / "sandbox" / "jurnal.db",
                               "--per-minute", str(per_minute), "--per-hour", str(per_hour),
                               "--per-ip-minute", str(per_minute), "--per-ip-hour", str(per_hour))
    wait_for("jurnal-sandbox", sandbox, lambda: http_json(f"http://{host}:{port}/_sandbox/health")["ok"], 60)
    say(f"  Jurnal sandbox at http://{host}:{port}, limits {per_minute}/min and {per_hour}/h per client "
        f"(a larger plan's limits; the Jurnal default is {JURNAL_DEFAULT_PER_MINUTE}/min)")
    documents_before = jurnal_document_counts()
    accurate = start_background("accurate-sandbox", BIN / "python", "-m", "possync_devkit.sandbox.accurate",
                                "--host", accurate_host, "--account-port", str(account_port),
                                "--data-port", str(data_port), "--db", VAR / "sandbox" / "accurate.db")
    wait_for("accurate-sandbox", accurate, lambda: http_json(f"{data_url}/_sandbox/stats") is not None, 60)
    say(f"  Accurate sandbox: account host http://{accurate_host}:{account_port}, data host {data_url} "
        "(8 calls/s and 8 in flight, as documented)")
    webhook_url = register_accurate_webhook(data_url)
    say(f"  its RECEIVE_ITEM, PURCHASE_ORDER and ITEM_TRANSFER webhooks post to {webhook_url.split('?')[0]} (the "
        "token is the connection's secret)")
    accurate_before = accurate_document_counts()
    standalone = start_background("airflow-standalone", airflow, "standalone")
    wait_for("airflow-standalone", standalone, lambda: http_json(f"{AIRFLOW_URL}/api/v2/monitor/health"), 180)
    api = sign_in()
    say(f"  Airflow API at {AIRFLOW_URL} (scheduler, DAG processor, API server, triggerer)")

    step(f"Syncing the demo week through the scheduler (every {POLL_SECONDS} s; at most {TIMEOUT_MINUTES} min)")
    runs = progress(api, time.monotonic(), (week_start, week_end))

    changes_after_sync(api, week_start)

    step("Transfers, stock adjustments and the stock take of the week (after its sales: a count comes last)")
    dates = {"from_date": f"{week_start:%Y-%m-%d}", "to_date": f"{week_end - timedelta(days=1):%Y-%m-%d}"}
    transfer_runs = {dag_id: api.trigger(dag_id, dates, note="make demo: the demo week's stock")
                     for dag_id in TRANSFERS_DAGS}
    say(f"  triggered {', '.join(TRANSFERS_DAGS)} with {json.dumps(dates)} (what ops type in the Trigger form; "
        "accurate_demo syncs transfers manually, jurnal_demo also at 23:45 every day)")
    started = time.monotonic()
    while any(api.run_state(d, r) not in FINISHED for d, r in transfer_runs.items()):
        if time.monotonic() - started > TIMEOUT_MINUTES * 60:
            sys.exit(f"demo: the transfers runs did not finish within {TIMEOUT_MINUTES} minutes; see {AIRFLOW_URL}")
        time.sleep(POLL_SECONDS)
    for dag_id, run_id in transfer_runs.items():
        tasks = api.task_instances(dag_id, run_id)
        per_task = Counter((t["task_id"], t["state"]) for t in tasks if t["task_id"].startswith("sync_"))
        say(f"  {dag_id} ({time.monotonic() - started:.0f} s): {api.run_state(dag_id, run_id)}; "
            + ", ".join(f"{task} {n} {state}" for (task, state), n in sorted(per_task.items())))
    say("  Red is expected here too: TO-0009 was received but never recorded as sent, so its transfer-in waits")
    say("  (\"repair it first\"), and ADJ-JKT01-0002 adjusts the product without SKU. Everything else is synced.")
    documents_after = jurnal_document_counts()

    reconcile_week(api, week_start, week_end)
    compare_stock_week()

    step("A purchase, a purchase order and a transfer entered in Accurate reach the POS (webhooks → "
         "accurate_demo__inbound)")
    from possync.config import load_config

    central = next(i for i in load_config().integrations if i.name == "accurate_demo").outlets["WH01"].warehouse
    record = simulate_purchase(data_url, LEDGER_URL, central)
    number = record["number"]
    say(f"  Accurate receive-item {number} saved: "
        + ", ".join(f"{line['itemNo']} × {line['quantity']}" for line in record.get("detailItem", [])))
    started = time.monotonic()
    while not goods_receipt_in_pos(POS_URL, number):
        if time.monotonic() - started > 180:
            sys.exit("demo: the purchase did not reach the POS within 3 minutes; see the accurate_demo__inbound "
                     "runs and var/logs/accurate-sandbox.log")
        time.sleep(2)
    say(f"  goods receipt {number} is in the POS {time.monotonic() - started:.0f} s after it was saved in Accurate")
    order, transfer = enter_order_and_transfer(record)
    say(f"  Accurate purchase order {order} (expected goods, no stock yet) and item transfer {transfer} "
        "(Kemang → Dago, sent and received) saved")
    started = time.monotonic()
    while not (order_in_pos(POS_URL, order) and transfer_in_pos(POS_URL, transfer)):
        if time.monotonic() - started > 180:
            sys.exit("demo: the purchase order or the transfer did not reach the POS within 3 minutes; see the "
                     "accurate_demo__inbound runs and var/logs/accurate-sandbox.log")
        time.sleep(2)
    say(f"  both are in the POS {time.monotonic() - started:.0f} s later: {order_in_pos(POS_URL, order)}; "
        f"{transfer_in_pos(POS_URL, transfer)} (the POS's own transfer now, never sent back to Accurate)")
    say("  webhook log (newest first):")
    for line in webhook_log_lines():
        say(f"    {line}")
    accurate_after = accurate_document_counts()

    step("One head office exchange cycle (ho_demo__exchange: check, receive, then send, per store)")
    api.patch(f"/dags/{EXCHANGE_DAG}", {"is_paused": False})
    exchange_run = api.trigger(EXCHANGE_DAG, {"stores": []})
    say(f"  unpaused {EXCHANGE_DAG} (it runs every 15 minutes from now on) and triggered it for every store")
    started = time.monotonic()
    while any(r["state"] not in FINISHED for r in api.runs(EXCHANGE_DAG)):
        if time.monotonic() - started > TIMEOUT_MINUTES * 60:
            sys.exit(f"demo: {EXCHANGE_DAG} did not finish within {TIMEOUT_MINUTES} minutes; see {AIRFLOW_URL}")
        time.sleep(POLL_SECONDS)
    say(f"  {EXCHANGE_DAG} ({time.monotonic() - started:.0f} s): {api.run_state(EXCHANGE_DAG, exchange_run)}")
    say("  " + run(*DEVKIT, "headoffice", "apply", "--ho-url", HEADOFFICE_URL).strip()
        + " (a sale with the product without SKU is FAILED with that reason)")
    report = json.loads(run(BIN / "possync", "headoffice", "status", "--ho-url", HEADOFFICE_URL,
                            "--pos-url", POS_URL, "--json"))
    for side in ("received", "sent"):
        counts = sorted(report["counts"].get(side, {}).items())
        say(f"  {side} documents: " + ", ".join(f"{n} {status}" for status, n in counts))
    say(f"  every document with its status: .venv/bin/possync headoffice status --ho-url {HEADOFFICE_URL}")
    say("  (the stores learn HO's verdicts, PROCESSED or FAILED, at their next exchange run)")

    step("Run states per DAG")
    for dag_id in DAGS:
        by_type = Counter((r["run_type"], r["state"]) for r in runs[dag_id])
        say(f"  {dag_id:<24} " + ", ".join(f"{n} {kind} {state}" for (kind, state), n in sorted(by_type.items())))
    for sales_dag in SALES_DAGS:
        tasks = api.task_instances(sales_dag)
        per_task = Counter((t["task_id"], t["state"]) for t in tasks)
        say(f"  {sales_dag} tasks:")
        for task_id in ("sync_customers", "sync_products", "sync_sales", "run_result"):
            say(f"    {task_id:<22} " + ", ".join(
                f"{n} {state}" for (t, state), n in sorted(per_task.items()) if t == task_id))
    say("  Red means new (red_on: new): a task turns red when a record fails for the first time or for a new")
    say("  reason, naming it (CUST-29, PROD-40 and the broken sales, in the windows that first meet them). Later")
    say("  runs retry them, log each as a warning with since when it has been failing, and stay green; a run is")
    say("  red whenever one of its tasks is (run_result).")

    step("Sync status (the sync ledger: every record's state, failures with the reason)")
    say(run(BIN / "possync", "status", "--ledger-url", LEDGER_URL).rstrip())

    step("Documents in the Jurnal sandbox (read through its API)")
    for resource, after in documents_after.items():
        added = after - documents_before[resource]
        say(f"  {resource:<18} {after:>6}   " + (f"{added:+d} in this run" if added else "unchanged"))
    if documents_before["sales_invoices"] and documents_after == documents_before:
        say("  Nothing new: the week was already synced, and re-running it duplicated nothing.")

    step("Documents in the Accurate sandbox (read through its API)")
    for module, after in accurate_after.items():
        added = after - accurate_before[module]
        say(f"  {module:<18} {after:>6}   " + (f"{added:+d} in this run" if added else "unchanged"))
    if accurate_before["sales-invoice"] and accurate_after["sales-invoice"] == accurate_before["sales-invoice"]:
        say("  No new sales documents: the week was already synced (the receive-item and the two item-transfer "
            "sides are what this run entered in Accurate).")

    logs = AIRFLOW_HOME / "logs" / f"dag_id={SALES_DAGS[0]}"
    example = sorted(logs.glob("run_id=backfill__*/task_id=sync_sales/map_index=0/attempt=*.log"))
    step("Airflow UI")
    say(f"  {AIRFLOW_URL}  user admin, password {api.password}")
    say(f"  every record across runs, with retry: Browse → Sync Status ({AIRFLOW_URL}/sync-status/)")
    say(f"  per-record lines: DAG {SALES_DAGS[0]} (or {SALES_DAGS[1]}) → Grid → a run → a sync_sales box "
        "(one per window: its outlets together, sales.outlets_per_task) → Logs")
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
