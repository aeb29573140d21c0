"""A chain of outlets through the real Airflow scheduler, against the sandboxes at the targets' real rate limits.

    .venv/bin/python bench/bench_chain.py --time-scale 4                   # 200 outlets x 300 orders, Jurnal, 3 runs
    .venv/bin/python bench/bench_chain.py --target accurate --time-scale 1 --window whole-day
    .venv/bin/python bench/bench_chain.py --time-scale 4 --window realtime --first-window 12:00 --windows 4
    .venv/bin/python bench/bench_chain.py --outlets 50 --keep              # keep the folder (logs, ledger, POS)

What it does, in a temporary folder of its own (nothing of `make demo`'s is touched; ports are free ones, never
8080/8601-8603):

1. seeds a demo POS with ``--outlets`` outlets taking ``--orders`` orders each on one day (2026-11-09);
2. writes an integrations.yaml with one integration per target (every outlet mapped; ``target_concurrency`` and
   ``batches_in_flight`` as given);
3. starts the Jurnal / Accurate sandboxes at the targets' real limits times ``--time-scale`` (Jurnal 30
   requests/min and 1,800/h, Accurate 8 calls/s; Accurate's 8 in flight is not a rate and stays 8), and points
   the connections' pacing at the same scaled limits;
4. starts ``airflow standalone`` and runs an onboarding run first (an empty window the day before: the outlets'
   warehouses, customers and products, a one-off cost printed apart), then the day's runs, each triggered through
   the REST API at its moment on a **scaled clock**: ``--window whole-day`` one run at midnight for the day,
   ``scheduled`` ``--runs-a-day`` runs (3: 08:00, 16:00, 24:00 outlet time), ``realtime`` one every 15 minutes.
   The clock runs ``--time-scale`` times faster than the wall clock, and jumps over idle time: when a run ends
   before the next one is due, the clock moves straight to that moment (nothing happens in between: the POS is
   already seeded); a run still going when the next is due makes that one queue, as it would in production;
5. prints per target: documents synced, requests sent and throttled replies (the sandbox's ``/_sandbox/stats``),
   documents per request, documents per minute as a fraction of the target's ceiling (limit x 100 per batch; goal
   >= 95%) both as measured at the scaled limit and projected to the real limit (the requests at the real rate
   plus the measured time spent outside them), whether every run finished within its interval, Airflow tasks per
   run, and the p95 lag from a sale's commit in the POS to its invoice's creation in the target (the sandbox
   stamps each record's creation; goal <= 2 x interval + 30 s), on the scaled clock; then peak memory.

On the scaled clock every second of Airflow's own work (start-up, extract, transform) counts ``--time-scale``
times over, so the lag and the run lengths are upper bounds of what the real limits would show. The POS is seeded
before the runs, so a sale an offline till commits late is in the POS before its window's run whatever the clock
says: the lag is printed from the commit and, as an upper bound, from the sale's business time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loadkit import free_port, server_peak_rss_mib

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "include"), str(ROOT / "devkit")]
from airflow_rest import AirflowAPI, http_json  # ruff: ignore[module-import-not-at-top-of-file]

RESERVED_PORTS = {8080, 8601, 8602, 8603}  # a demo may be running on these
DAY = "2026-11-09"
NEXT_DAY = "2026-11-10"
TIMEZONE = "Asia/Jakarta"
JURNAL_PER_MINUTE, JURNAL_PER_HOUR = 30, 1800
ACCURATE_PER_SECOND, ACCURATE_IN_FLIGHT = 8, 8
BATCH = 100
REALTIME_MINUTES = 15
FINISHED = {"success", "failed"}
ONBOARDING = (datetime.fromisoformat("2026-11-08T00:00:00+07:00"), datetime.fromisoformat("2026-11-08T00:15:00+07:00"))
BOOKKEEPING = {
    "payment_accounts": {"cash": "1101.001", "card": "1102.001", "qris": "1102.001", "ewallet": "1102.001",
                         "bank_transfer": "1102.001"},
    "receivable_account": "1103.001",
    "output_vat_account": "2102.001",
    "rounding_account": "4104.001",  # as the shipped integrations.yaml: Accurate names GL accounts by number
    "taxes": [{"rate": 11, "name": "PPN"}, {"rate": 10, "name": "PB1"}, {"rate": 0, "exempt": True}],
    "stock_adjustment_account": "5102.001",
    "transit_loss_account": "6102.001",
}


def say(text: str = "") -> None:
    """Print at once (the bench runs for minutes)."""
    print(text, flush=True)


def port() -> int:
    """A free loopback port, never one a demo may hold."""
    while True:
        candidate = free_port()
        if candidate not in RESERVED_PORTS:
            return candidate


@dataclass
class Target:
    """One target of the run: its sandbox, connection and integration."""

    name: str  # jurnal | accurate
    scale: float
    #: the connection's pacing extras as given (``pacing_transit_seconds``, ``pacing_margin_seconds``); empty: defaults
    pacing: dict[str, float] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)
    process: subprocess.Popen | None = None
    #: the sandbox's table of records and the kind its invoices are kept as (creation stamped in ``created_at``)
    folder: Path | None = None

    @property
    def sandbox_db(self) -> Path:
        assert self.folder is not None
        return self.folder / f"{self.name}.db"

    @property
    def invoice_kind(self) -> str:
        return "sales_invoice" if self.name == "jurnal" else "sales-invoice"

    @property
    def integration(self) -> str:
        return f"chain_{self.name}"

    @property
    def dag_id(self) -> str:
        return f"{self.integration}__sales"

    @property
    def stats_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[-1]}/_sandbox/stats"

    def ceiling_per_minute(self) -> float:
        """Documents a minute at the scaled limit, full batches of 100."""
        if self.name == "jurnal":
            requests = min(JURNAL_PER_MINUTE, JURNAL_PER_HOUR / 60) * self.scale
        else:
            requests = ACCURATE_PER_SECOND * 60 * self.scale
        return requests * BATCH

    def requests_per_second(self) -> float:
        """The scaled sustained request rate."""
        return self.ceiling_per_minute() / BATCH / 60

    def limits_text(self) -> str:
        if self.name == "jurnal":
            return (f"{JURNAL_PER_MINUTE * self.scale:g}/min, {JURNAL_PER_HOUR * self.scale:g}/h "
                    f"(real {JURNAL_PER_MINUTE}/min, {JURNAL_PER_HOUR}/h x {self.scale:g})")
        return (f"{ACCURATE_PER_SECOND * self.scale:g} calls/s, {ACCURATE_IN_FLIGHT} in flight "
                f"(real {ACCURATE_PER_SECOND}/s x {self.scale:g})")

    def connection(self) -> str:
        """The AIRFLOW_CONN_* JSON: the sandbox's address and credentials, pacing at the scaled limits."""
        if self.name == "jurnal":
            return json.dumps({
                "conn_type": "jurnal", "host": f"http://127.0.0.1:{self.ports[0]}", "login": "possync-demo",
                "password": "possync-demo-secret",
                "extra": {"requests_per_minute": round(JURNAL_PER_MINUTE * self.scale),
                          "requests_per_hour": round(JURNAL_PER_HOUR * self.scale), **self.pacing}})
        return json.dumps({
            "conn_type": "accurate", "host": f"http://127.0.0.1:{self.ports[0]}",
            "password": "aat.possync-demo-token",
            "extra": {"signature_secret": "possync-demo-signature-secret", "webhook_secret": "bench-webhook-secret",
                      "requests_per_second": round(ACCURATE_PER_SECOND * self.scale), **self.pacing}})

    def sandbox_command(self, folder: Path) -> list[str]:
        if self.name == "jurnal":
            per_minute, per_hour = str(round(JURNAL_PER_MINUTE * self.scale)), str(round(JURNAL_PER_HOUR * self.scale))
            return [str(BIN / "python"), "-m", "possync_devkit.sandbox.jurnal", "--host", "127.0.0.1",
                    "--port", str(self.ports[0]), "--db", str(folder / "jurnal.db"), "--log-level", "warning",
                    "--per-minute", per_minute, "--per-hour", per_hour,
                    "--per-ip-minute", per_minute, "--per-ip-hour", per_hour]
        return [str(BIN / "python"), "-m", "possync_devkit.sandbox.accurate", "--host", "127.0.0.1",
                "--account-port", str(self.ports[0]), "--data-port", str(self.ports[1]),
                "--db", str(folder / "accurate.db"), "--log-level", "warning",
                "--per-second", str(round(ACCURATE_PER_SECOND * self.scale)), "--in-flight", str(ACCURATE_IN_FLIGHT)]

    def integration_config(self, outlets: list[str], args: argparse.Namespace) -> dict[str, Any]:
        hours = [f"{24 * n // args.runs_a_day:02d}:00" for n in range(args.runs_a_day)]
        sales: dict[str, Any] = {"mode": "scheduled", "hours": ["00:00"] if args.window == "whole-day" else hours}
        if args.window == "realtime":
            sales = {"mode": "realtime", "every_minutes": REALTIME_MINUTES}
        sales["outlets_per_task"] = args.outlets_per_task
        config: dict[str, Any] = {
            "name": self.integration, "target": self.name, "conn_id": self.integration,
            "pos_conn_id": "possync_pos", "ledger_conn_id": "possync_ledger", "timezone": TIMEZONE,
            "start_date": ONBOARDING[0].date().isoformat(), "sales": sales,
            "target_concurrency": args.target_concurrency,
            "batches_in_flight": args.batches_in_flight,
        }
        if self.name == "jurnal":
            config["outlets"] = {code: {"warehouse": f"Gudang {code}"} for code in outlets}
        else:
            config["bookkeeping"] = BOOKKEEPING
            config["outlets"] = {code: {"branch": f"Cabang {code}", "warehouse": f"Gudang {code}"} for code in outlets}
        return config

    def stats(self) -> dict[str, Any]:
        return http_json(self.stats_url)


class MemorySampler(threading.Thread):
    """Samples the resident memory of a process group (Airflow and the task processes it starts) each second."""

    def __init__(self, group: int) -> None:
        super().__init__(daemon=True)
        self.group = group
        self.peak_total = 0.0
        self.peak_single = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            total = 0.0
            for status in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = status.read_text().rsplit(")", 1)[1].split()
                    if int(fields[2]) != self.group:  # pgrp
                        continue
                    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
                except (OSError, IndexError, ValueError):
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
            self.peak_total = max(self.peak_total, total)


def run(command: list[str | Path], env: dict[str, str], log: Path) -> str:
    """Run a command to completion; on failure show its output and stop."""
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, env=env, cwd=ROOT)
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        say((result.stdout + result.stderr)[-3000:])
        sys.exit(f"bench_chain: `{' '.join(map(str, command[:4]))} ...` failed (exit {result.returncode})")
    return result.stdout


def background(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_default_sigint)


def _default_sigint() -> None:
    # a bench started in the background (nohup, `&`) ignores SIGINT, and its children would inherit that
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_until(name: str, process: subprocess.Popen, check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"bench_chain: {name} exited (code {process.returncode})")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(1)
    sys.exit(f"bench_chain: {name} did not answer within {timeout:.0f} s")


def stop(process: subprocess.Popen | None) -> None:
    """Stop a process group this bench started: SIGINT to the leader, then TERM and KILL to the group."""
    if process is None or process.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            if sig == signal.SIGINT:
                process.send_signal(sig)
            else:
                os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            if sig != signal.SIGINT:
                return
            os.killpg(process.pid, signal.SIGTERM)  # what standalone left of its group
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ScaledClock:
    """The bench's clock: ``scale`` times the wall clock, jumping over idle time (see the module docstring). Kept as
    segments (a wall-clock moment, the scaled moment it stands for), so any wall-clock moment of the bench (a run's
    end, a record's creation) reads on it afterwards."""

    def __init__(self, scale: float, at: datetime) -> None:
        self.scale = scale
        self.segments = [(time.time(), at)]

    def at(self, wall: float) -> datetime:
        start, moment = next(((w, m) for w, m in reversed(self.segments) if wall >= w), self.segments[0])
        return moment + timedelta(seconds=(wall - start) * self.scale)

    def now(self) -> datetime:
        return self.at(time.time())

    def jump_to(self, moment: datetime) -> None:
        if moment > self.now():
            self.segments.append((time.time(), moment))


def run_windows(args: argparse.Namespace) -> list[tuple[datetime, datetime]]:
    """The day's sales windows, in outlet time: one, ``--runs-a-day``, or 15-minute ones from ``--first-window``."""
    day_start = datetime.fromisoformat(f"{DAY}T00:00:00+07:00")
    day_end = datetime.fromisoformat(f"{NEXT_DAY}T00:00:00+07:00")
    if args.window == "whole-day":
        return [(day_start, day_end)]
    if args.window == "scheduled":
        step = (day_end - day_start) / args.runs_a_day
        return [(day_start + step * n, day_start + step * (n + 1)) for n in range(args.runs_a_day)]
    step = timedelta(minutes=REALTIME_MINUTES)
    end = datetime.fromisoformat(f"{DAY}T{args.first_window}:00+07:00")
    windows = []
    while end <= day_end and (args.windows is None or len(windows) < args.windows):
        windows.append((end - step, end))
        end += step
    return windows


def trigger(api: AirflowAPI, target: Target, start: datetime, end: datetime) -> str:
    """A run of the target's sales DAG for exactly [start, end) (the window override: no catch-up beyond it)."""
    run_id = f"bench__{start.strftime('%Y%m%dT%H%M')}"
    window = {"window_start": start.isoformat(), "window_end": end.isoformat()}
    api.post(f"/dags/{target.dag_id}/dagRuns", {
        "dag_run_id": run_id, "logical_date": start.isoformat(), "data_interval_start": start.isoformat(),
        "data_interval_end": end.isoformat(), "conf": window})
    return run_id


@dataclass
class Triggered:
    start: datetime
    end: datetime
    run_id: str
    at: datetime  # on the scaled clock
    wall: float  # time.time()


def finished(api: AirflowAPI, target: Target, run_id: str) -> bool:
    return api.run_state(target.dag_id, run_id) in FINISHED


def drive(api: AirflowAPI, targets: list[Target], windows: list[tuple[datetime, datetime]], clock: ScaledClock,
          deadline: float, started: float) -> dict[str, list[Triggered]]:
    """Trigger each window's run at its end on the scaled clock (jumping there when every target is idle), then
    wait for the last."""
    triggered: dict[str, list[Triggered]] = {t.name: [] for t in targets}

    def idle() -> bool:
        return all(not triggered[t.name] or finished(api, t, triggered[t.name][-1].run_id) for t in targets)

    for number, (start, end) in enumerate(windows, 1):
        while not idle() and clock.now() < end:
            if time.monotonic() > deadline:
                sys.exit("bench_chain: not finished in time")
            time.sleep(2)
        clock.jump_to(end)
        for target in targets:
            run_id = trigger(api, target, start, end)
            triggered[target.name].append(Triggered(start, end, run_id, clock.now(), time.time()))
        say(f"  {time.monotonic() - started:5.0f} s  run {number}/{len(windows)} triggered at "
            f"{clock.now().astimezone(start.tzinfo):%H:%M:%S} (window {start:%H:%M}-{end:%H:%M})")
    while not idle():
        if time.monotonic() > deadline:
            sys.exit("bench_chain: not finished in time")
        time.sleep(2)
    return triggered


def synced_documents(ledger: Path, integration: str) -> Counter:
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT record_type, status, count(*) FROM sync_records WHERE integration = ? "
                          "GROUP BY record_type, status", (integration,)).fetchall()
    return Counter({(record_type, status): n for record_type, status, n in rows})


def throttled(target: Target, stats: dict[str, Any]) -> int:
    by_status = {int(k): v for k, v in (stats.get("by_status") or {}).items()}
    refused = int(stats.get("refused_rate") or 0) + int(stats.get("refused_in_flight") or 0)  # Accurate's throttle
    return max(int(stats.get("rate_limited") or 0), by_status.get(429, 0), refused)


def utc(text: str) -> datetime:
    """A timestamp from the POS (naive UTC) or a sandbox (``...Z`` / ``+00:00``)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def invoice_lags(target: Target, ledger: Path, pos: Path, clock: ScaledClock) -> tuple[list[float], list[float]]:
    """Seconds on the scaled clock from each synced sale's commit (and business time) in the POS to its invoice's
    creation in the sandbox, matched through the ledger (POS number → target id)."""
    with sqlite3.connect(ledger) as db:
        ids = dict(db.execute("SELECT business_key, target_id FROM sync_records WHERE integration = ? AND "
                              "record_type = 'invoice' AND status = 'synced'", (target.integration,)).fetchall())
    with sqlite3.connect(pos) as db:
        rows = db.execute("SELECT number, committed_at, business_time FROM orders").fetchall()
    sales = {number: (utc(committed), utc(business)) for number, committed, business in rows}
    with sqlite3.connect(target.sandbox_db) as db:
        created = {str(record_id): utc(at) for record_id, at in
                   db.execute("SELECT id, created_at FROM records WHERE kind = ?", (target.invoice_kind,))}
    from_commit, from_business = [], []
    for number, target_id in ids.items():
        if number in sales and str(target_id) in created:
            made = clock.at(created[str(target_id)].timestamp())
            from_commit.append((made - sales[number][0]).total_seconds())
            from_business.append((made - sales[number][1]).total_seconds())
    return from_commit, from_business


def while_loading(target: Target, spans: list[tuple[float, float]]) -> tuple[int, float]:
    """The records the sandbox created during the runs and the wall-clock seconds from each run's first to its last
    one: the time the target was being fed, without the run's start and end."""
    with sqlite3.connect(target.sandbox_db) as db:
        created = sorted(utc(at).timestamp() for (at,) in db.execute(
            "SELECT created_at FROM records WHERE created_at IS NOT NULL"))
    count, seconds = 0, 0.0
    for start, end in spans:
        inside = [at for at in created if start <= at <= end]
        if inside:
            count += len(inside)
            seconds += inside[-1] - inside[0]
    return count, seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


def minutes(seconds: float) -> str:
    return f"{seconds / 60:,.1f} min"


def report(target: Target, triggered: list[Triggered], runs: list[dict], tasks: list[dict], ledger: Path, pos: Path,
           clock: ScaledClock, onboarded: Counter, args: argparse.Namespace) -> None:
    """Print the target's figures for the day's runs (the onboarding run's apart, printed before)."""
    stats = target.stats()
    requests = int(stats.get("requests") or 0)
    counts = synced_documents(ledger, target.integration) - onboarded
    synced = sum(n for (_, status), n in counts.items() if status == "synced")
    failed = sum(n for (_, status), n in counts.items() if status == "failed")
    by_id = {r["dag_run_id"]: r for r in runs}
    states = Counter(by_id[t.run_id]["state"] for t in triggered)
    say(f"\n== {target.name} (sandbox limits {target.limits_text()}; target_concurrency {args.target_concurrency}, "
        f"batches_in_flight {args.batches_in_flight}, outlets_per_task {args.outlets_per_task}; pacing "
        + (", ".join(f"{key} {value:g}" for key, value in target.pacing.items()) or "the hooks' defaults") + ")")
    say(f"  runs: {len(triggered)} ({args.window}), " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
    say(f"  documents synced: {synced:,} (" + ", ".join(
        f"{n:,} {record_type}" for (record_type, status), n in sorted(counts.items()) if status == "synced" and n)
        + f"); {failed} failed (the demo data's broken records)")
    say(f"  requests sent: {requests:,} (" + ", ".join(
        f"{n} {endpoint}" for endpoint, n in sorted((stats.get('by_endpoint') or {}).items(),
                                                    key=lambda item: -item[1])[:4]) + ", ...)")
    say(f"  documents per request: {synced / requests if requests else 0:.1f}")
    say(f"  throttled replies: {throttled(target, stats)} (goal 0); by status {stats.get('by_status')}")

    # each run busy from its trigger to its end (wall clock); the idle time the clock jumped over is not in it
    spans = []
    for t in triggered:
        end = parse_time(by_id[t.run_id].get("end_date"))
        spans.append((t.wall, end.timestamp() if end else t.wall))
    busy = sum(end - start for start, end in spans)
    per_minute = synced / (busy / 60) if busy else 0.0
    ceiling = target.ceiling_per_minute()
    at_limit = requests / target.requests_per_second()  # what the requests alone take at the scaled limit
    outside = max(busy - at_limit, 0.0)
    real = at_limit * target.scale + outside  # the same requests at the real limit, the rest as measured
    say(f"  busy wall clock (each run from its trigger to its end): {busy:.0f} s; the requests alone at the limit "
        f"take {at_limit:.0f} s, the rest {outside:.0f} s ({outside / busy if busy else 0:.0%}: Airflow start-up, "
        "extract, transform, ledger, gaps)")
    say(f"  documents per minute at the scaled limit: {per_minute:,.0f} of a ceiling of {ceiling:,.0f} = "
        f"{per_minute / ceiling:.1%} (goal >= 95%)")
    made, loading = while_loading(target, spans)
    if loading:
        say(f"  while loading (each run's first to last document created in the sandbox, {loading:.0f} s): "
            f"{made / (loading / 60):,.0f} documents/min = {made / (loading / 60) / ceiling:.1%} of the ceiling "
            "(the rest of the busy time is the runs' start and end)")
    say(f"  projected to the real limit (the requests at {target.requests_per_second() / target.scale * 60:g}/min, "
        f"the rest as measured): {minutes(real)} busy, {synced / (real / 60):,.0f} documents/min of "
        f"{ceiling / target.scale:,.0f} = {synced / (real / 60) / (ceiling / target.scale):.1%} (arithmetic)")

    per_run = Counter(t["dag_run_id"] for t in tasks)
    per_task = Counter(t["task_id"] for t in tasks)
    counts_per_run = [per_run[t.run_id] for t in triggered]
    say(f"  Airflow task instances per run: {min(counts_per_run)}-{max(counts_per_run)} ("
        + ", ".join(f"{n / len(triggered):g} {task}" for task, n in sorted(per_task.items())) + " a run)")
    sync = sorted(float(t.get("duration") or 0) for t in tasks if t["task_id"] == "sync_sales")
    if sync:
        say(f"  sync_sales tasks: {len(sync)}, {sync[0]:.0f}-{sync[-1]:.0f} s each (wall clock)")

    interval = (triggered[0].end - triggered[0].start).total_seconds()
    lengths = [(clock.at(end) - t.end).total_seconds() for t, (_, end) in zip(triggered, spans, strict=True)]
    late = [length for length in lengths if length > interval]
    say(f"  every run finished within its interval ({minutes(interval)}, on the scaled clock from its scheduled moment "
        f"to its end)? {'yes' if not late else 'NO'}: {len(lengths) - len(late)} of {len(lengths)}; longest "
        f"{minutes(max(lengths))}, median {minutes(percentile(lengths, 0.5))}")
    from_commit, from_business = invoice_lags(target, ledger, pos, clock)
    goal = 2 * interval + 30
    if from_commit:
        p95 = percentile(from_commit, 0.95)
        say(f"  lag from a sale's commit in the POS to its invoice in {target.name} ({len(from_commit):,} invoices, "
            f"scaled clock): p95 {minutes(p95)}, median {minutes(percentile(from_commit, 0.5))}, max "
            f"{minutes(max(from_commit))}; goal <= 2 x interval + 30 s = {minutes(goal)}: "
            f"{'met' if p95 <= goal else 'NOT met'}")
        early = sum(lag < 0 for lag in from_commit)
        say(f"    from the sale's business time (an upper bound: a late commit is in the seeded POS already): p95 "
            f"{minutes(percentile(from_business, 0.95))}; {early} invoice(s) created before their sale's commit "
            "on the scaled clock (committed late by an offline till, synced with their window)")


def main(argv: list[str] | None = None) -> int:
    """Run the chain through Airflow and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outlets", type=int, default=200)
    parser.add_argument("--orders", type=int, default=300, help="orders per outlet per day")
    parser.add_argument("--target", choices=("jurnal", "accurate", "both"), default="jurnal")
    parser.add_argument("--time-scale", type=float, default=4.0,
                        help="sandbox limits, connection pacing and the bench's clock times this (4: Jurnal 120/min)")
    parser.add_argument("--window", choices=("whole-day", "scheduled", "realtime"), default="scheduled",
                        help="one run for the whole day, --runs-a-day scheduled runs, or a run per 15 minutes")
    parser.add_argument("--runs-a-day", type=int, default=3, help="scheduled: runs a day (evenly from 00:00)")
    parser.add_argument("--first-window", default="00:15",
                        help="realtime: the end of the first 15-minute window (outlet time, HH:MM)")
    parser.add_argument("--windows", type=int, default=None,
                        help="realtime: this many windows from --first-window (default: through the end of the day)")
    parser.add_argument("--target-concurrency", type=int, default=2, help="the integration's pool slots")
    parser.add_argument("--batches-in-flight", type=int, default=2, help="the integration's batches_in_flight")
    parser.add_argument("--pacing-transit", type=float, default=None,
                        help="the connections' pacing_transit_seconds (unset: a request counts until a period "
                             "after its answer)")
    parser.add_argument("--pacing-margin", type=float, default=None,
                        help="the connections' pacing_margin_seconds (unset: the hooks' default)")
    parser.add_argument("--outlets-per-task", type=int, default=25, help="the integration's sales.outlets_per_task")
    parser.add_argument("--timeout-minutes", type=float, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the folder (POS, ledger, logs, AIRFLOW_HOME)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench_chain: terminated"))  # stop what it started
    wall = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="possync-chain-"))
    names = ("jurnal", "accurate") if args.target == "both" else (args.target,)
    pacing = {key: value for key, value in (("pacing_transit_seconds", args.pacing_transit),
                                            ("pacing_margin_seconds", args.pacing_margin)) if value is not None}
    targets = [Target(name, args.time_scale, pacing=pacing, folder=folder) for name in names]
    for target in targets:
        target.ports = [port()] if target.name == "jurnal" else [port(), port()]
    airflow_port = port()
    airflow_url = f"http://127.0.0.1:{airflow_port}"
    pos_db, ledger_db, home = folder / "pos.db", folder / "ledger.db", folder / "airflow"
    logs = folder / "logs"
    logs.mkdir()
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        # this checkout's code, not whatever the venv's editable install points at (another checkout may change)
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "devkit"), os.environ.get("PYTHONPATH", "")]),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        # Airflow's scheduler makes no run of its own (it would sync today's empty windows beside the bench's runs);
        # the runs the bench triggers still run
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(airflow_port),
        "AIRFLOW__API__BASE_URL": airflow_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{airflow_url}/execution/",
        "POSSYNC_CONFIG": str(folder / "integrations.yaml"),
        "AIRFLOW_CONN_POSSYNC_POS": json.dumps({"conn_type": "sqlite", "host": str(pos_db)}),
        "AIRFLOW_CONN_POSSYNC_LEDGER": json.dumps({"conn_type": "sqlite", "host": str(ledger_db)}),
    }
    for target in targets:
        env[f"AIRFLOW_CONN_{target.integration.upper()}"] = target.connection()
    os.environ.update(env)
    airflow = BIN / "airflow"
    processes: list[subprocess.Popen] = []
    sampler: MemorySampler | None = None
    windows = run_windows(args)
    say(f"bench_chain: {args.outlets} outlets x {args.orders} orders on {DAY}, target {args.target}, time scale "
        f"{args.time_scale:g}, window {args.window} ({len(windows)} run(s)); load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}; folder {folder}")
    try:
        started = time.monotonic()
        run([BIN / "python", "-m", "possync_devkit", "demo", "seed", "--pos-url", f"sqlite:///{pos_db}",
             "--days", "1", "--outlets", str(args.outlets), "--orders-per-day", str(args.orders), "--replace"],
            env, logs / "seed.log")
        with sqlite3.connect(pos_db) as db:
            outlets = [code for (code,) in db.execute("SELECT code FROM outlets ORDER BY code")]
            orders = db.execute("SELECT count(*) FROM orders").fetchone()[0]
        say(f"  POS seeded: {orders:,} orders, {len(outlets)} outlets incl. the warehouse "
            f"({time.monotonic() - started:.0f} s)")
        import yaml

        (folder / "integrations.yaml").write_text(yaml.safe_dump(
            {"integrations": [t.integration_config(outlets, args) for t in targets]}, sort_keys=False))
        run([BIN / "possync", "ledger", "init", "--ledger-url", f"sqlite:///{ledger_db}"], env, logs / "ledger.log")
        run([airflow, "db", "migrate"], env, logs / "db-migrate.log")
        from possync.config import load_config
        from possync.deploy import target_pools

        for pool, spec in target_pools(load_config()).items():
            run([airflow, "pools", "set", pool, str(spec["slots"]), "bench"], env, logs / f"pool-{pool}.log")
        run([airflow, "dags", "reserialize"], env, logs / "reserialize.log")
        for target in targets:
            run([airflow, "dags", "unpause", "--yes", target.dag_id], env, logs / f"unpause-{target.name}.log")
        say(f"  Airflow prepared: pools, DAGs ({time.monotonic() - started:.0f} s)")

        for target in targets:
            target.process = background(target.sandbox_command(folder), env, logs / f"sandbox-{target.name}.log")
            processes.append(target.process)
            wait_until(f"{target.name} sandbox", target.process, target.stats, 60)
            say(f"  {target.name} sandbox on port(s) {target.ports}: {target.limits_text()}")
        standalone = background([str(airflow), "standalone"], env, logs / "airflow-standalone.log")
        processes.insert(0, standalone)
        sampler = MemorySampler(standalone.pid)
        sampler.start()
        wait_until("airflow standalone", standalone, lambda: http_json(f"{airflow_url}/api/v2/monitor/health"), 240)
        password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
        api = AirflowAPI(airflow_url, "admin", password)
        say(f"  airflow standalone answering at {airflow_url} ({time.monotonic() - started:.0f} s)")

        deadline = time.monotonic() + args.timeout_minutes * 60
        # onboarding: the outlets' warehouses, customers and products, a one-off cost kept out of the day's figures
        clock = ScaledClock(args.time_scale, ONBOARDING[1])
        onboarding = drive(api, targets, [ONBOARDING], clock, deadline, started)
        onboarded: dict[str, Counter] = {}
        for target in targets:
            run_id = onboarding[target.name][0].run_id
            state = api.run_state(target.dag_id, run_id)
            stats = target.stats()
            onboarded[target.name] = synced_documents(ledger_db, target.integration)
            say(f"  {target.name} onboarding run {state}: {int(stats.get('requests') or 0):,} requests ("
                + ", ".join(f"{n} {e}" for e, n in sorted((stats.get('by_endpoint') or {}).items(),
                                                          key=lambda item: -item[1])[:3])
                + f"), throttled {throttled(target, stats)}")
            http_json(target.stats_url.replace("/stats", "/stats/reset"), method="POST", body={})
        say(f"  the day's runs; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        clock = ScaledClock(args.time_scale, windows[0][1])
        triggered = drive(api, targets, windows, clock, deadline, started)
        say(f"  all runs finished; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        for target in targets:
            runs = api.runs(target.dag_id)
            run_ids = {t.run_id for t in triggered[target.name]}
            tasks = [t for t in api.task_instances(target.dag_id) if t["dag_run_id"] in run_ids]
            report(target, triggered[target.name], runs, tasks, ledger_db, pos_db, clock, onboarded[target.name], args)
        sampler.stop.set()
        say(f"\npeak memory: Airflow's processes together {sampler.peak_total:,.0f} MiB, the largest one "
            f"{sampler.peak_single:,.0f} MiB (sampled each second); " + ", ".join(
                f"{t.name} sandbox {server_peak_rss_mib(t.process.pid) or 0:,.0f} MiB" for t in targets if t.process))
        say(f"bench_chain took {time.monotonic() - wall:.0f} s in all; load average "
            f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        return 0
    finally:
        if sampler:
            sampler.stop.set()
        for process in processes:
            stop(process)
        if args.keep:
            say(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
