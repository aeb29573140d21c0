"""A chain of outlets through the real Airflow scheduler, against the sandboxes at the targets' real rate limits.

    .venv/bin/python bench/bench_chain.py                                  # 200 outlets x 300 orders, Jurnal
    .venv/bin/python bench/bench_chain.py --target both --time-scale 20 --window realtime
    .venv/bin/python bench/bench_chain.py --outlets 50 --keep              # keep the folder (logs, ledger, POS)

What it does, in a temporary folder of its own (nothing of `make demo`'s is touched; ports are free ones, never
8080/8601-8603):

1. seeds a demo POS with ``--outlets`` outlets taking ``--orders`` orders each on one day (2026-11-09);
2. writes an integrations.yaml with one integration per target (every outlet mapped; sales ``scheduled`` at
   00:00 for ``--window whole-day``, one window of the whole day, or ``realtime`` every 15 minutes);
3. starts the Jurnal / Accurate sandboxes at the targets' real limits times ``--time-scale`` (Jurnal 30
   requests/min and 1,800/h, Accurate 8 calls/s; Accurate's 8 in flight is not a rate and stays 8), and points
   the connections' pacing (``requests_per_minute``/``requests_per_hour``, ``requests_per_second``) at the
   same scaled limits;
4. prepares Airflow (db, pools, DAGs, a backfill of the day on each ``<integration>__sales``), starts
   ``airflow standalone`` and waits through the REST API until every backfill run has finished;
5. prints per target: documents synced (the ledger's synced records), requests sent and throttled replies (the
   sandbox's ``/_sandbox/stats``: 429, or Accurate's throttle), documents per request, documents per minute
   as a fraction of the target's ceiling at the scaled limit (limit x 100 per batch; goal >= 95%), the
   runs' wall clock, Airflow's task count and overhead (the wall clock beyond what the requests need at the
   limit), and, in real-time mode, whether every run finished within its window's length (scaled); then the
   peak memory of Airflow's processes (sum and largest single one, sampled each second) and the sandboxes'.

The figures are for the scaled clock: documents per minute are scaled back (divided by ``--time-scale``) to
compare with the real ceiling, which is the same fraction.
"""

from __future__ import annotations

import argparse
import json
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
from datetime import datetime, timedelta
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
BOOKKEEPING = {
    "payment_accounts": {"cash": "1101.001", "card": "1102.001", "qris": "1102.001", "ewallet": "1102.001",
                         "bank_transfer": "1102.001"},
    "receivable_account": "1103.001",
    "output_vat_account": "2102.001",
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
    ports: list[int] = field(default_factory=list)
    process: subprocess.Popen | None = None

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
                          "requests_per_hour": round(JURNAL_PER_HOUR * self.scale)}})
        return json.dumps({
            "conn_type": "accurate", "host": f"http://127.0.0.1:{self.ports[0]}",
            "password": "aat.possync-demo-token",
            "extra": {"signature_secret": "possync-demo-signature-secret", "webhook_secret": "bench-webhook-secret",
                      "requests_per_second": round(ACCURATE_PER_SECOND * self.scale)}})

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

    def integration_config(self, outlets: list[str], window: str) -> dict[str, Any]:
        sales: dict[str, Any] = ({"mode": "scheduled", "hours": ["00:00"]} if window == "whole-day"
                                 else {"mode": "realtime", "every_minutes": REALTIME_MINUTES})
        config: dict[str, Any] = {
            "name": self.integration, "target": self.name, "conn_id": self.integration,
            "pos_conn_id": "possync_pos", "ledger_conn_id": "possync_ledger", "timezone": TIMEZONE,
            "start_date": DAY, "sales": sales,
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


def synced_documents(ledger: Path, integration: str) -> Counter:
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT record_type, status, count(*) FROM sync_records WHERE integration = ? "
                          "GROUP BY record_type, status", (integration,)).fetchall()
    return Counter({(record_type, status): n for record_type, status, n in rows})


def throttled(target: Target, stats: dict[str, Any]) -> int:
    by_status = {int(k): v for k, v in (stats.get("by_status") or {}).items()}
    refused = int(stats.get("refused_rate") or 0) + int(stats.get("refused_in_flight") or 0)  # Accurate's throttle
    return max(int(stats.get("rate_limited") or 0), by_status.get(429, 0), refused)


def report(target: Target, runs: list[dict], tasks: list[dict], ledger: Path, window: str) -> None:
    """Print the target's figures."""
    stats = target.stats()
    requests = int(stats.get("requests") or 0)
    counts = synced_documents(ledger, target.integration)
    synced = sum(n for (_, status), n in counts.items() if status == "synced")
    failed = sum(n for (_, status), n in counts.items() if status == "failed")
    starts = [parse_time(r.get("start_date")) for r in runs]
    ends = [parse_time(r.get("end_date")) for r in runs]
    wall = (max(e for e in ends if e) - min(s for s in starts if s)).total_seconds()
    per_minute = synced / (wall / 60) if wall else 0.0
    ceiling = target.ceiling_per_minute()
    floor = requests / target.requests_per_second()
    states = Counter(r["state"] for r in runs)
    say(f"\n== {target.name} (sandbox limits {target.limits_text()})")
    say(f"  runs: {len(runs)} backfill run(s), " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
    say(f"  documents synced: {synced:,} (" + ", ".join(
        f"{n:,} {record_type}" for (record_type, status), n in sorted(counts.items()) if status == "synced")
        + f"); {failed} failed (the demo data's broken records)")
    say(f"  requests sent: {requests:,} (" + ", ".join(
        f"{n} {endpoint}" for endpoint, n in sorted((stats.get('by_endpoint') or {}).items(),
                                                    key=lambda item: -item[1])[:4]) + ", ...)")
    say(f"  documents per request: {synced / requests if requests else 0:.1f}")
    say(f"  throttled replies: {throttled(target, stats)} (goal 0); by status {stats.get('by_status')}")
    say(f"  wall clock, first run start to last run end: {wall:.0f} s scaled = {wall * target.scale / 60:.1f} "
        "min at the real limits")
    say(f"  documents per minute: {per_minute:,.0f} scaled ({per_minute / target.scale:,.0f} real) of a ceiling "
        f"of {ceiling:,.0f} ({ceiling / target.scale:,.0f} real) = {per_minute / ceiling:.1%} (goal >= 95%)")
    say(f"  the requests alone at the limit would take {floor:.0f} s; overhead (not spent in requests at the "
        f"limit): {max(wall - floor, 0):.0f} s = {max(wall - floor, 0) / wall if wall else 0:.0%} of the wall clock")
    task_starts = [parse_time(t.get("start_date")) for t in tasks if t.get("start_date")]
    task_ends = [parse_time(t.get("end_date")) for t in tasks if t.get("end_date")]
    if task_starts and task_ends:
        span = (max(task_ends) - min(task_starts)).total_seconds()
        say(f"  first task start to last task end: {span:.0f} s (the rest of the wall clock is the scheduler "
            f"starting the run and noticing its end); documents per minute over it: {synced / (span / 60):,.0f} "
            f"scaled = {synced / (span / 60) / ceiling:.1%} of the ceiling")
    per_task = Counter(t["task_id"] for t in tasks)
    busy = sum(float(t.get("duration") or 0) for t in tasks)
    say(f"  Airflow task instances: {len(tasks)} in {len(runs)} run(s) ({len(tasks) / max(len(runs), 1):.1f} a run: "
        + ", ".join(f"{n} {task}" for task, n in sorted(per_task.items()))
        + f"); their durations add up to {busy:.0f} s")
    sync = [t for t in tasks if t["task_id"] == "sync_sales"]
    if sync:
        durations = sorted(float(t.get("duration") or 0) for t in sync)
        say(f"  sync_sales tasks: {len(sync)}, {durations[0]:.0f}-{durations[-1]:.0f} s each")
    if window == "realtime":
        limit = REALTIME_MINUTES * 60 / target.scale
        timed = sorted(((s, (e - s).total_seconds()) for s, e in zip(starts, ends, strict=True) if s and e))
        lengths = [length for _, length in timed]
        late = [length for length in lengths if length > limit]
        say(f"  real-time windows: every run within its window's length ({limit:.0f} s scaled)? "
            f"{'yes' if not late else 'NO'}: {len(lengths) - len(late)} of {len(lengths)} within; longest "
            f"{max(lengths):.0f} s, median {sorted(lengths)[len(lengths) // 2]:.0f} s; the first run (it also creates "
            f"the outlets' warehouses) {lengths[0]:.0f} s")


def realtime_windows(first_window: str, windows: int | None) -> tuple[datetime, datetime]:
    """The ends of the first and the last real-time window to backfill (outlet time)."""
    first = datetime.fromisoformat(f"{DAY}T{first_window}:00+07:00")
    day_end = datetime.fromisoformat(f"{NEXT_DAY}T00:00:00+07:00")
    last = day_end if windows is None else min(first + timedelta(minutes=REALTIME_MINUTES * (windows - 1)), day_end)
    return first, last


def main(argv: list[str] | None = None) -> int:
    """Run the chain through Airflow and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outlets", type=int, default=200)
    parser.add_argument("--orders", type=int, default=300, help="orders per outlet per day")
    parser.add_argument("--target", choices=("jurnal", "accurate", "both"), default="jurnal")
    parser.add_argument("--time-scale", type=float, default=20.0,
                        help="sandbox limits and connection pacing times this (20: Jurnal 600/min, 36,000/h)")
    parser.add_argument("--window", choices=("whole-day", "realtime"), default="whole-day",
                        help="one run for the whole day, or a run per 15-minute window of the day")
    parser.add_argument("--first-window", default="00:15",
                        help="realtime: the end of the first 15-minute window (outlet time, HH:MM)")
    parser.add_argument("--windows", type=int, default=None,
                        help="realtime: this many windows from --first-window (default: through the end of the day)")
    parser.add_argument("--timeout-minutes", type=float, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the folder (POS, ledger, logs, AIRFLOW_HOME)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench_chain: terminated"))  # stop what it started
    wall = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="possync-chain-"))
    names = ("jurnal", "accurate") if args.target == "both" else (args.target,)
    targets = [Target(name, args.time_scale) for name in names]
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
    say(f"bench_chain: {args.outlets} outlets x {args.orders} orders on {DAY}, target {args.target}, time scale "
        f"{args.time_scale:g}, window {args.window}; folder {folder}")
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
            {"integrations": [t.integration_config(outlets, args.window) for t in targets]}, sort_keys=False))
        run([BIN / "possync", "ledger", "init", "--ledger-url", f"sqlite:///{ledger_db}"], env, logs / "ledger.log")
        run([airflow, "db", "migrate"], env, logs / "db-migrate.log")
        from possync.config import load_config
        from possync.deploy import target_pools

        for pool, spec in target_pools(load_config()).items():
            run([airflow, "pools", "set", pool, str(spec["slots"]), "bench"], env, logs / f"pool-{pool}.log")
        run([airflow, "dags", "reserialize"], env, logs / "reserialize.log")
        for target in targets:
            run([airflow, "dags", "unpause", "--yes", target.dag_id], env, logs / f"unpause-{target.name}.log")
            first_at, last_at = realtime_windows(args.first_window, args.windows)
            last = last_at.isoformat() if args.window == "realtime" else f"{NEXT_DAY}T00:00:00+07:00"
            first = first_at.isoformat() if args.window == "realtime" else last
            run([airflow, "backfill", "create", "--dag-id", target.dag_id, "--from-date", first, "--to-date", last,
                 "--reprocess-behavior", "completed", "--max-active-runs", "1"],
                env, logs / f"backfill-{target.name}.log")
        say(f"  Airflow prepared: pools, DAGs, backfills ({time.monotonic() - started:.0f} s)")

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
        first_at, last_at = realtime_windows(args.first_window, args.windows)
        expected = 1 if args.window == "whole-day" else int((last_at - first_at).total_seconds()
                                                            // (REALTIME_MINUTES * 60)) + 1
        last_line = ""
        while True:
            runs = {t.name: [r for r in api.runs(t.dag_id) if r["run_type"] == "backfill"] for t in targets}
            line = " | ".join(
                f"{name}: {sum(r['state'] in FINISHED for r in rs)}/{expected} runs done"
                + (f", {sum(r['state'] == 'running' for r in rs)} running" if rs else "") for name, rs in runs.items())
            if line != last_line:
                say(f"  {time.monotonic() - started:5.0f} s  {line}")
                last_line = line
            if all(len(rs) >= expected and all(r["state"] in FINISHED for r in rs) for rs in runs.values()):
                break
            if time.monotonic() > deadline:
                sys.exit(f"bench_chain: not finished after {args.timeout_minutes:g} minutes; folder {folder}")
            time.sleep(3)
        for target in targets:
            run_ids = {r["dag_run_id"] for r in runs[target.name]}
            tasks = [t for t in api.task_instances(target.dag_id) if t["dag_run_id"] in run_ids]
            report(target, runs[target.name], tasks, ledger_db, args.window)
        sampler.stop.set()
        say(f"\npeak memory: Airflow's processes together {sampler.peak_total:,.0f} MiB, the largest one "
            f"{sampler.peak_single:,.0f} MiB (sampled each second); " + ", ".join(
                f"{t.name} sandbox {server_peak_rss_mib(t.process.pid) or 0:,.0f} MiB" for t in targets if t.process))
        say(f"bench_chain took {time.monotonic() - wall:.0f} s in all")
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
