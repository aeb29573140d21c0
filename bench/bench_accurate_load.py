"""Benchmark the Accurate Online client under load: paced throughput, a shared pool, and client overhead.

    .venv/bin/python bench/bench_accurate_load.py                      # 4,000 invoices, about 40 seconds
    .venv/bin/python bench/bench_accurate_load.py --invoices 8000 --workers 4
    .venv/bin/python bench/bench_accurate_load.py --profile            # also cProfile the hook's requests

Starts the Accurate sandbox (``python -m possync_devkit.sandbox.accurate``: account host and data host) in a child
process on two free ports, so the server does not share the client's interpreter lock, and creates in it
what the demo integration's invoices reference: the outlets' branches and warehouses (``accurate_demo`` in
``include/config/integrations.yaml``), the demo POS's products and the helper items, and its customers. The
invoices are the demo POS's sales (``possync_devkit.demo_pos`` → extract → transform → ``mapping.invoice_body``),
cycled to ``--invoices`` with a fresh ``number`` each, so every call creates documents. Then three runs,
each posting ``sales-invoice/bulk-save.do`` of ``--batch`` invoices:

1. Paced at Accurate's documented limit: the sandbox allows 8 calls a second and 8 in flight per token and
   one ``AccurateHook`` is told 8 a second. Prints the invoices per second as a fraction of the ceiling
   (8 calls/s × batch size), the over-limit replies (the hook's 429 count and the sandbox's refusals) and
   the most calls the sandbox ever had in flight. A hook is synchronous, so one task has one call in flight
   and goes no faster than one call per round trip: when the sandbox takes longer than 1/8 s to save a
   batch, its own speed is the limit, and the figures say so (``response.elapsed``: request sent → reply
   headers, the server's time plus loopback).
2. Pool sharing: ``--workers`` client processes (as the tasks of a ``--workers``-slot Airflow pool), each
   an ``AccurateHook`` with ``pacing_share=--workers``, start together on the same sandbox and token and
   share the run's batches. Prints the aggregate calls per second against the 8/s limit, the refused
   replies (pacing should leave none) and the most calls in flight.
3. Unthrottled (sandbox limits off, hook limit huge): the hook against a minimal loop over one keep-alive
   ``requests.Session`` that posts the same payload bytes (serialised beforehand), signs each call inline
   (WIB timestamp ``dd/MM/yyyy HH:mm:ss``, base64 HMAC-SHA256 of it) and parses the reply, and nothing else.
   The two alternate call by call so both see the same server state, over ``--rounds`` rounds of
   ``--invoices`` each (fresh numbers every round); the ratio is hook time / raw time, in wall time and in
   client CPU time (the server runs in another process, so the client's CPU time is the client's own work).

Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import hashlib
import hmac
import io
import json
import math
import multiprocessing
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

import loadkit
from possync.config import Integration, load_config
from possync.db import make_engine
from possync.pos.extract import Window, extract_customers, extract_products, extract_sales
from possync.transform.sales import transform_customers, transform_products, transform_sales
from possync_devkit.demo_pos import DemoSpec, generate

API_TOKEN = "aat.possync-demo-token"
SIGNATURE_SECRET = "possync-demo-signature-secret"
INTEGRATION = "accurate_demo"
INVOICES_PATH = "/accurate/api/sales-invoice/bulk-save.do"
LIMIT_PER_SECOND = 8  # accurate.id "Batasan Pemanggilan API": 8 calls a second and 8 in flight per token
LIMIT_IN_FLIGHT = 8
UNLIMITED = 1_000_000_000
WIB = ZoneInfo("Asia/Jakarta")


# ------------------------------------------------------------------------------------------- sandbox


@dataclass
class Sandbox:
    """The Accurate sandbox (account host + data host) in a child process, with its admin endpoints."""

    account_url: str
    data_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    admin: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def start(cls, account_port: int, data_port: int, db_path: Path, log_path: Path) -> Sandbox:
        command = [
            sys.executable, "-m", "possync_devkit.sandbox.accurate", "--host", "127.0.0.1",
            "--account-port", str(account_port), "--data-port", str(data_port), "--db", str(db_path),
            "--per-second", "off", "--in-flight", "off", "--log-level", "warning",
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        sandbox = cls(f"http://127.0.0.1:{account_port}", f"http://127.0.0.1:{data_port}", process, log_path)
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the sandbox exited with {process.returncode}:\n{log_path.read_text()}")
            with contextlib.suppress(requests.ConnectionError):
                # both hosts: the hook asks the account host for the data host first
                if all(sandbox.admin.get(f"{url}/_sandbox/health", timeout=2).ok
                       for url in (sandbox.account_url, sandbox.data_url)):
                    return sandbox
            if time.monotonic() > deadline:
                sandbox.stop()
                raise RuntimeError(f"the sandbox did not answer within 30 s:\n{log_path.read_text()}")
            time.sleep(0.1)

    def set_limits(self, per_second: int | None, in_flight: int | None) -> None:
        limits = {"per_second": per_second, "in_flight": in_flight}
        self.admin.post(f"{self.data_url}/_sandbox/limits", json=limits, timeout=10).raise_for_status()

    def reset_stats(self) -> None:
        self.admin.post(f"{self.data_url}/_sandbox/stats/reset", timeout=10).raise_for_status()

    def stats(self) -> dict[str, Any]:
        reply = self.admin.get(f"{self.data_url}/_sandbox/stats", timeout=10)
        reply.raise_for_status()
        return reply.json()

    def peak_rss_mib(self) -> float | None:
        return loadkit.server_peak_rss_mib(self.process.pid)

    def stop(self) -> None:
        self.admin.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------- data


@dataclass
class Workload:
    bodies: list[dict[str, Any]]  # one per invoice, cycled from the demo's; number set per run
    seeding_seconds: float
    demo_invoices: int
    created: dict[str, int]  # what was created in the sandbox before the runs


def _connection(conn_id: str, account_url: str, per_second: int) -> str:
    """Register an Airflow connection through its environment variable; return its id."""
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({
        "conn_type": "accurate", "host": account_url, "password": API_TOKEN,
        "extra": {"signature_secret": SIGNATURE_SECRET, "requests_per_second": per_second},
    })
    return conn_id


def _integration() -> Integration:
    for integration in load_config().integrations:
        if integration.name == INTEGRATION:
            return integration
    raise RuntimeError(f"no integration {INTEGRATION!r} in the integration settings")


def prepare(tmp: Path, sandbox: Sandbox) -> Workload:
    """The demo POS's sales as Accurate invoice bodies, with everything they reference created in the sandbox."""
    from possync.targets.accurate import mapping
    from possync.targets.accurate.hook import BULK_LIMIT, AccurateHook
    from possync.targets.base.bookkeeping import WALK_IN_KEY, helper_items, walk_in_customer

    integration = _integration()
    bookkeeping = integration.bookkeeping
    engine = make_engine(f"sqlite:///{tmp / 'pos.db'}")
    generate(engine, DemoSpec())
    window = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    invoices = transform_sales(extract_sales(engine, window)).invoices
    items, _ = transform_products(extract_products(engine))
    customers, _ = transform_customers(extract_customers(engine))
    engine.dispose()
    unmapped = sorted({invoice.outlet_code for invoice in invoices} - set(integration.outlets))
    if unmapped:
        raise RuntimeError(f"{INTEGRATION} maps no branch/warehouse for outlets {unmapped}")

    started = time.perf_counter()
    hook = AccurateHook(_connection("bench_accurate_seed", sandbox.account_url, UNLIMITED))
    created = {"branch": 0, "warehouse": 0, "item": 0, "customer": 0}
    # as the operators' prepare_target does: the outlets' branches and warehouses the sandbox lacks
    wanted = {
        "branch": {outlet.branch for outlet in integration.outlets.values() if outlet.branch},
        "warehouse": {outlet.warehouse for outlet in integration.outlets.values()},
    }
    for module, names in wanted.items():
        existing = {str(record.get("name", "")).casefold() for record in hook.iterate(module, fields=["id", "name"])}
        for name in sorted(names):
            if name.casefold() not in existing:
                hook.save(module, {"name": name})
                created[module] += 1
    for chunk in loadkit.chunks([*items, *helper_items(bookkeeping)], BULK_LIMIT):
        loadkit.created(hook.bulk_save("item", [mapping.item_body(item) for item in chunk]), "items")
        created["item"] += len(chunk)
    customer_numbers: dict[str, str] = {}
    everyone = [walk_in_customer(bookkeeping), *customers]
    for chunk in loadkit.chunks(everyone, BULK_LIMIT):
        bodies = [
            mapping.customer_body(c, use_pos_customer_id=integration.use_pos_customer_id, since=integration.start_date)
            for c in chunk
        ]
        results = hook.bulk_save("customer", bodies)
        loadkit.created(results, "customers")
        customer_numbers.update({c.key: str(r.content["customerNo"]) for c, r in zip(chunk, results, strict=True)})
        created["customer"] += len(chunk)
    hook.session.close()
    seeding = time.perf_counter() - started

    bodies = [
        mapping.invoice_body(
            invoice,
            customer_no=customer_numbers.get(invoice.customer_key or WALK_IN_KEY, customer_numbers[WALK_IN_KEY]),
            outlet=integration.outlets[invoice.outlet_code],
            bookkeeping=bookkeeping,
        )
        for invoice in invoices
    ]
    return Workload(bodies, seeding, len(invoices), created)


def batches(workload: Workload, count: int, size: int, tag: str) -> list[list[dict[str, Any]]]:
    """``count`` invoices cut into batches, each invoice with a ``number`` unique to run ``tag``.

    Invoice ``i`` of every run is the same demo invoice with a number of the same length, so runs post
    payloads of the same size for the server to do the same work."""
    demo = workload.bodies
    numbered = [
        {**demo[i % len(demo)], "number": f"{demo[i % len(demo)]['number']}/{tag}{i:06d}"} for i in range(count)
    ]
    return [list(chunk) for chunk in loadkit.chunks(numbered, size)]


# ---------------------------------------------------------------------------------------------- runs


def _check_batch(results: Sequence[Any], size: int) -> int:
    created = sum(1 for result in results if result.created)
    if created != size:
        errors = [result.error for result in results if not result.created][:3]
        raise RuntimeError(f"only {created} of {size} invoices were created: {errors}")
    return created


def _server_times(hook: Any) -> list[float]:
    """Collects ``response.elapsed`` (request sent → reply headers parsed) of every reply the hook gets."""
    seconds: list[float] = []
    hook.session.hooks["response"].append(lambda response, *args, **kwargs: seconds.append(
        response.elapsed.total_seconds()))
    return seconds


def _post_all(hook: Any, work: Sequence[list[dict[str, Any]]]) -> tuple[list[float], list[float], list[float]]:
    """Post the batches in order: (start, end) of each call and its time besides the pacer's wait."""
    starts: list[float] = []
    ends: list[float] = []
    busy: list[float] = []
    for batch in work:
        before, waited = time.perf_counter(), hook.pacer.waited_seconds
        _check_batch(hook.bulk_save("sales-invoice", batch), len(batch))
        ends.append(time.perf_counter())
        paced = hook.pacer.waited_seconds - waited
        starts.append(before + paced)
        busy.append(ends[-1] - before - paced)  # the call, not the wait
    return starts, ends, busy


def _sustained(starts: Sequence[float]) -> dict[str, Any]:
    """Calls per second over a long backlog, from the spacing of calls one limit apart: the first window's
    allowance goes out at once, so a short run's wall-clock rate overstates what a backlog gets."""
    starts = sorted(starts)
    gaps = [starts[k + LIMIT_PER_SECOND] - starts[k] for k in range(len(starts) - LIMIT_PER_SECOND)]
    return {"gaps": gaps, "sustained": LIMIT_PER_SECOND / statistics.median(gaps) if gaps else None}


def paced_run(sandbox: Sandbox, workload: Workload, invoices: int, size: int) -> dict[str, Any]:
    from possync.targets.accurate.hook import AccurateHook

    work = batches(workload, invoices, size, "P")
    sandbox.set_limits(LIMIT_PER_SECOND, LIMIT_IN_FLIGHT)
    hook = AccurateHook(_connection("bench_accurate_paced", sandbox.account_url, LIMIT_PER_SECOND))
    _ = hook.session, hook.pacer, hook.data_host  # connection lookup, session, api-token.do: not part of the run
    server = _server_times(hook)
    sandbox.reset_stats()
    started = time.perf_counter()
    cpu_started = time.process_time()
    starts, ends, busy = _post_all(hook, work)
    cpu = time.process_time() - cpu_started
    elapsed = ends[-1] - started
    stats = sandbox.stats()
    hook.session.close()
    return {
        "calls": len(work), "elapsed": elapsed, "throttled": hook.throttled, "retried": hook.retried,
        "paced_wait": hook.pacer.waited_seconds, "busy_ms": statistics.mean(busy) * 1000,
        "server_ms": statistics.median(server) * 1000, "client_cpu_ms": cpu / len(work) * 1000, "stats": stats,
        "margin": hook.pacer.margin_for(hook.pacer.limits[0]), **_sustained(starts),
    }


def _pool_worker(conn_env: dict[str, str], conn_id: str, share: int, work: list[list[dict[str, Any]]],
                 ready: Any, go: Any) -> dict[str, Any]:
    """One task of the pool, in its own process: set up, wait for the others, post its batches."""
    os.environ.update(conn_env)
    from possync.targets.accurate.hook import AccurateHook

    hook = AccurateHook(conn_id, pacing_share=share)
    _ = hook.session, hook.pacer, hook.data_host
    ready.wait()
    go.wait()
    starts, ends, busy = _post_all(hook, work)
    hook.session.close()
    return {
        "starts": starts, "ends": ends, "busy": busy, "throttled": hook.throttled,
        "paced_wait": hook.pacer.waited_seconds, "rss_mib": loadkit.peak_rss_mib(),
    }


def pool_run(sandbox: Sandbox, workload: Workload, invoices: int, size: int, workers: int) -> dict[str, Any]:
    work = batches(workload, invoices, size, "S")
    conn_id = _connection("bench_accurate_pool", sandbox.account_url, LIMIT_PER_SECOND)
    conn_env = {key: value for key, value in os.environ.items() if key.startswith("AIRFLOW")}
    sandbox.set_limits(LIMIT_PER_SECOND, LIMIT_IN_FLIGHT)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        ready, go = manager.Barrier(workers + 1), manager.Event()
        with context.Pool(workers) as pool:
            pending = [
                pool.apply_async(_pool_worker, (conn_env, conn_id, workers, work[index::workers], ready, go))
                for index in range(workers)
            ]
            ready.wait(timeout=120)  # every worker set up (Airflow imported, api-token.do answered)
            sandbox.reset_stats()
            go.set()
            results = [result.get(timeout=600) for result in pending]
    stats = sandbox.stats()
    first = min(min(result["starts"]) for result in results if result["starts"])
    last = max(max(result["ends"]) for result in results if result["ends"])
    # calls that started within any 1 s window, from the clients' clocks (perf_counter is system-wide)
    starts = sorted(start for result in results for start in result["starts"])
    busiest = max(sum(1 for other in starts[index:] if other < start + 1.0) for index, start in enumerate(starts))
    return {
        "calls": len(work), "elapsed": last - first, "throttled": sum(result["throttled"] for result in results),
        "busy_ms": statistics.mean(b for result in results for b in result["busy"]) * 1000,
        "paced_wait": [result["paced_wait"] for result in results], "busiest_second": busiest,
        "rss_mib": max(result["rss_mib"] for result in results), "stats": stats, **_sustained(starts),
    }


def _raw_poster(data_url: str) -> tuple[requests.Session, Callable[[bytes], Any]]:
    """The minimal client: one keep-alive session, inline signing per call, parse the reply. Nothing else."""
    session = requests.Session()
    secret = SIGNATURE_SECRET.encode()
    url = data_url + INVOICES_PATH

    def post(payload: bytes) -> Any:
        timestamp = datetime.now(WIB).strftime("%d/%m/%Y %H:%M:%S")
        headers = {
            "Authorization": f"Bearer {API_TOKEN}",
            "X-Api-Timestamp": timestamp,
            "X-Api-Signature": base64.b64encode(hmac.new(secret, timestamp.encode(), hashlib.sha256).digest()).decode(),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        response = session.post(url, data=payload, headers=headers, timeout=60)
        response.raise_for_status()
        return response.json()

    return session, post


def overhead_runs(sandbox: Sandbox, workload: Workload, invoices: int, size: int, rounds: int) -> dict[str, Any]:
    from possync.targets.accurate.hook import AccurateHook
    from possync.targets.base.hook import exact_json

    sandbox.set_limits(None, None)
    setup_started = time.perf_counter()
    hook = AccurateHook(_connection("bench_accurate_unthrottled", sandbox.account_url, UNLIMITED))
    _ = hook.session, hook.pacer, hook.data_host
    setup = time.perf_counter() - setup_started
    session, raw_post = _raw_poster(hook.data_host)
    # Warm both connections (TCP connect, first-request paths) on a cheap read.
    hook.api("glaccount", "list", params={"sp.pageSize": 1})
    session.get(f"{hook.data_host}/_sandbox/health", timeout=10).raise_for_status()
    sandbox.reset_stats()

    def timed(call: Callable[[], Any]) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        return time.perf_counter() - wall, time.process_time() - cpu

    wall: dict[str, list[float]] = {"hook": [], "raw": []}
    cpu: dict[str, list[float]] = {"hook": [], "raw": []}
    round_ratios = []
    serialise_cpu = 0.0
    payload_bytes = 0
    for number in range(1, rounds + 1):
        hook_work = batches(workload, invoices, size, f"H{number:02d}")
        raw_work = batches(workload, invoices, size, f"R{number:02d}")
        # The raw loop posts bytes serialised beforehand; how long serialising takes is timed here, apart.
        serialise_started = time.process_time()
        raw_payloads = [exact_json({"data": batch}).encode() for batch in raw_work]
        serialise_cpu += time.process_time() - serialise_started
        payload_bytes = len(raw_payloads[0])
        round_wall = {"hook": 0.0, "raw": 0.0}
        for index, (hook_batch, payload) in enumerate(zip(hook_work, raw_payloads, strict=True)):
            def hook_call(batch: list[dict[str, Any]] = hook_batch) -> None:
                _check_batch(hook.bulk_save("sales-invoice", batch), len(batch))

            def raw_call(payload: bytes = payload, expected: int = len(hook_batch)) -> None:
                created = sum(1 for entry in raw_post(payload)["d"] if entry["s"] is True)
                if created != expected:
                    raise RuntimeError(f"the raw loop created {created} of {expected} invoices")

            # alternate which goes first, so neither always meets the server right after the other's write
            calls = [("hook", hook_call), ("raw", raw_call)]
            for name, call in calls if index % 2 == 0 else reversed(calls):
                seconds, cpu_seconds = timed(call)
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
                round_wall[name] += seconds
        round_ratios.append(round_wall["hook"] / round_wall["raw"])
    stats = sandbox.stats()
    hook.session.close()
    session.close()
    return {
        "calls": len(wall["hook"]), "setup": setup, "serialise_cpu": serialise_cpu,
        "hook_wall": sum(wall["hook"]), "raw_wall": sum(wall["raw"]),
        "hook_cpu": sum(cpu["hook"]), "raw_cpu": sum(cpu["raw"]),
        "hook_wall_med": statistics.median(wall["hook"]), "raw_wall_med": statistics.median(wall["raw"]),
        "round_ratios": round_ratios, "throttled": hook.throttled, "payload_kib": payload_bytes / 1024,
        "stats": stats,
    }


def profile_hook(sandbox: Sandbox, workload: Workload, invoices: int, size: int, top: int) -> str:
    from possync.targets.accurate.hook import AccurateHook

    sandbox.set_limits(None, None)
    hook = AccurateHook(_connection("bench_accurate_profile", sandbox.account_url, UNLIMITED))
    hook.api("glaccount", "list", params={"sp.pageSize": 1})
    work = batches(workload, invoices, size, "X")
    profiler = cProfile.Profile()
    profiler.enable()
    for batch in work:
        _check_batch(hook.bulk_save("sales-invoice", batch), len(batch))
    profiler.disable()
    hook.session.close()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- main


def _print_sustained(run: dict[str, Any], batch: int, calls: int) -> None:
    if run["sustained"] is None:
        print(f"   sustained: not measurable, all {calls} calls fit one window (raise --invoices)")
        return
    gaps = run["gaps"]
    print(f"   sustained {run['sustained']:.2f} calls/s = {run['sustained'] * batch:,.0f} invoices/s = "
          f"{run['sustained'] / LIMIT_PER_SECOND:.1%} of the ceiling (calls {LIMIT_PER_SECOND} apart are "
          f"{statistics.median(gaps):.3f} s apart, median of {len(gaps)}, min {min(gaps):.3f} s, "
          f"max {max(gaps):.3f} s)")


def _refusals(stats: dict[str, Any]) -> str:
    return (f"{stats['refused_rate'] + stats['refused_in_flight']} refused by the sandbox ({stats['refused_rate']} "
            f"over 8/s, {stats['refused_in_flight']} over 8 in flight; {stats['accepted']} calls accepted)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=4000, help="invoices per run (default 4,000)")
    parser.add_argument("--batch", type=int, default=100, help="invoices per bulk-save.do (1..100, default 100)")
    parser.add_argument("--workers", type=int, default=2,
                        help="client processes sharing the limit in run 2, the pool's slots (1..8, default 2)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="unthrottled hook-vs-raw rounds of --invoices each (default 5)"
    )
    parser.add_argument("--port", type=int, default=0, help="sandbox account-host port; data host +1 (default: free)")
    parser.add_argument("--profile", action="store_true", help="also cProfile the hook over one more unthrottled run")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (sandbox DB and log)")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= 100:
        parser.error("--batch must be 1..100")
    if not 1 <= args.workers <= LIMIT_IN_FLIGHT:
        parser.error(f"--workers must be 1..{LIMIT_IN_FLIGHT}")
    calls_per_run = math.ceil(args.invoices / args.batch)
    ceiling = LIMIT_PER_SECOND * args.batch

    tmp = Path(tempfile.mkdtemp(prefix="possync-bench-accurate-"))
    # AccurateHook imports Airflow, which writes its config into AIRFLOW_HOME: keep that in the temp folder.
    os.environ.setdefault("AIRFLOW_HOME", str(tmp / "airflow"))
    sandbox = None
    try:
        ports = (args.port, args.port + 1) if args.port else (loadkit.free_port(), loadkit.free_port())
        sandbox = Sandbox.start(*ports, tmp / "accurate.db", tmp / "sandbox.log")
        print(f"sandbox pid {sandbox.process.pid}: account host {sandbox.account_url}, data host {sandbox.data_url} "
              f"(db {tmp / 'accurate.db'})", flush=True)
        workload = prepare(tmp, sandbox)
        made = workload.created
        print(
            f"seeded {made['branch']} branches, {made['warehouse']} warehouses, {made['item']} items and "
            f"{made['customer']} customers in {workload.seeding_seconds:.1f} s; {workload.demo_invoices:,} demo "
            f"invoices cycled to {args.invoices:,} per run, {calls_per_run} bulk-save calls of up to {args.batch}",
            flush=True,
        )

        print(f"\n1. paced: sandbox {LIMIT_PER_SECOND}/s and {LIMIT_IN_FLIGHT} in flight, hook "
              f"requests_per_second {LIMIT_PER_SECOND}; ceiling {LIMIT_PER_SECOND} calls/s x {args.batch} = "
              f"{ceiling:,} invoices/s", flush=True)
        paced = paced_run(sandbox, workload, args.invoices, args.batch)
        rate = args.invoices / paced["elapsed"]
        calls_rate = paced["calls"] / paced["elapsed"]
        print(f"   {args.invoices:,} invoices in {paced['elapsed']:.1f} s = {rate:,.1f} invoices/s "
              f"({calls_rate:.2f} calls/s) = {rate / ceiling:.1%} of the ceiling; pacer waited "
              f"{paced['paced_wait']:.2f} s in all")
        server_rate = 1000 / paced["server_ms"]
        limiter = (
            "the sandbox's own speed, not the rate limit, is what limits it"
            if server_rate < LIMIT_PER_SECOND else "the rate limit, not the sandbox, is what limits it"
        )
        _print_sustained(paced, args.batch, calls_per_run)
        print(f"   a call takes {paced['busy_ms']:,.0f} ms besides the wait, of which the server "
              f"{paced['server_ms']:,.0f} ms (median request sent -> reply headers) and the client "
              f"{paced['client_cpu_ms']:,.1f} ms CPU; one call at a time, the server's speed allows "
              f"{server_rate:.1f} calls/s = {min(1.0, server_rate / LIMIT_PER_SECOND):.0%} of the ceiling: {limiter}")
        pacer_bound = LIMIT_PER_SECOND / (1 + paced["margin"])
        print(f"   the pacer keeps {LIMIT_PER_SECOND} calls in any {1 + paced['margin']:.2f} s (a "
              f"{paced['margin']:.2f} s margin for jitter between send and arrival), so a backlog gets at most "
              f"{pacer_bound:.1f} calls/s = {pacer_bound / LIMIT_PER_SECOND:.0%} of the ceiling")
        print(f"   over-limit replies: {paced['throttled']} 429s seen by the hook, {_refusals(paced['stats'])}; "
              f"retries {paced['retried']}; most calls in flight {paced['stats']['max_in_flight_seen']}", flush=True)

        share = max(1, LIMIT_PER_SECOND // args.workers)
        print(f"\n2. pool sharing: {args.workers} client processes, each AccurateHook(pacing_share={args.workers}) "
              f"= {share}/s each, {calls_per_run} calls between them; together at most {share * args.workers} calls "
              f"in any {1 + paced['margin']:.2f} s = {share * args.workers / (1 + paced['margin']):.1f} calls/s",
              flush=True)
        pool = pool_run(sandbox, workload, args.invoices, args.batch, args.workers)
        pool_calls = pool["calls"] / pool["elapsed"]
        print(f"   {args.invoices:,} invoices in {pool['elapsed']:.1f} s = {pool_calls:.2f} calls/s together "
              f"= {pool_calls / LIMIT_PER_SECOND:.1%} of {LIMIT_PER_SECOND}/s ({args.invoices / pool['elapsed']:,.1f} "
              f"invoices/s = {args.invoices / pool['elapsed'] / ceiling:.1%} of the ceiling); mean call "
              f"{pool['busy_ms']:,.0f} ms besides the wait; pacers waited "
              + ", ".join(f"{seconds:.2f}" for seconds in pool["paced_wait"]) + " s")
        _print_sustained(pool, args.batch, calls_per_run)
        print(f"   over-limit replies: {pool['throttled']} 429s seen by the hooks, {_refusals(pool['stats'])}; "
              f"most calls in flight {pool['stats']['max_in_flight_seen']}; most calls started in any 1 s "
              f"{pool['busiest_second']}", flush=True)

        print(f"\n3. unthrottled: AccurateHook vs a raw keep-alive loop, {args.rounds} x {calls_per_run} calls each, "
              "alternating", flush=True)
        over = overhead_runs(sandbox, workload, args.invoices, args.batch, args.rounds)
        n = over["calls"]
        print(f"   hook  {over['hook_wall']:6.2f} s wall ({over['hook_wall'] / n * 1000:,.0f} ms/call, median "
              f"{over['hook_wall_med'] * 1000:,.0f}), client CPU {over['hook_cpu'] / n * 1000:,.1f} ms/call")
        print(f"   raw   {over['raw_wall']:6.2f} s wall ({over['raw_wall'] / n * 1000:,.0f} ms/call, median "
              f"{over['raw_wall_med'] * 1000:,.0f}), client CPU {over['raw_cpu'] / n * 1000:,.1f} ms/call")
        print(f"   overhead ratio hook / raw: {over['hook_wall'] / over['raw_wall']:.3f} wall, "
              f"{over['hook_cpu'] / over['raw_cpu']:.2f} client CPU "
              f"(+{(over['hook_cpu'] - over['raw_cpu']) / n * 1000:,.1f} ms CPU/call; serialising a "
              f"{over['payload_kib']:,.0f} KiB payload alone takes {over['serialise_cpu'] / n * 1000:,.1f} ms, "
              f"which the raw loop did beforehand)")
        print("   wall ratio per round: " + ", ".join(f"{ratio:.3f}" for ratio in over["round_ratios"]))
        print(f"   hook set-up (Airflow connection, session, api-token.do) {over['setup'] * 1000:,.0f} ms once; "
              f"429 replies {over['throttled']} / {over['stats']['refused_rate'] + over['stats']['refused_in_flight']}",
              flush=True)

        if args.profile:
            print("\nprofile of the hook (one more unthrottled run), by own time:")
            print(profile_hook(sandbox, workload, args.invoices, args.batch, top=25))

        server_rss = sandbox.peak_rss_mib()
        client_rss = loadkit.peak_rss_mib()
        print(f"\npeak RSS: client {client_rss:,.0f} MiB (each pool worker up to {pool['rss_mib']:,.0f} MiB), "
              "sandbox " + (f"{server_rss:,.0f} MiB" if server_rss is not None else "unknown"))
    finally:
        if sandbox is not None:
            sandbox.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
