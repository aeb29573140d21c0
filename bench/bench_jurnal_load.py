"""Benchmark the Jurnal client under load: paced throughput against the rate limit, and client overhead.

    .venv/bin/python bench/bench_jurnal_load.py                        # 2,000 invoices, about 1.5 minutes
    .venv/bin/python bench/bench_jurnal_load.py --invoices 5000 --per-minute 25
    .venv/bin/python bench/bench_jurnal_load.py --profile              # also cProfile the hook's requests

Starts the Jurnal sandbox (``python -m possync_devkit.sandbox.jurnal``) in a child process on a free port, so the
server does not share the client's interpreter lock, and seeds it with the demo POS's products, customers
and warehouses. The invoices are the demo POS's sales (``possync_devkit.demo_pos`` → extract → transform →
``mapping.invoice_body``), cycled to ``--invoices`` with a fresh ``transaction_no`` each, so every request
creates documents. Then three runs, each posting ``batch_create`` of ``--batch`` invoices:

1. Paced: the sandbox limits a consumer to ``--per-minute`` requests (default: half the requests, so the
   run spans two rate-limit windows, about a minute) and ``JurnalHook`` is told the same limit. Prints the
   documents per second as a fraction of the ceiling (limit × batch size / 60 s) and the 429 replies (the
   hook's count and the sandbox's). The first window's allowance goes out at once (the limit allows a burst),
   so the wall-clock rate of a two-window run overstates what a long backlog gets; the sustained rate is
   measured from the spacing of requests one limit apart (``L / median(t[k+L] - t[k])``).
2. and 3. Unthrottled (sandbox limits off, hook limit huge): the hook against a minimal loop over one
   keep-alive ``requests.Session`` that posts the same payload bytes (serialised beforehand), signs each
   request with an inline HMAC and parses the reply, and nothing else. The two alternate request by request
   so both see the same server state, over ``--rounds`` rounds of ``--invoices`` each (fresh numbers every
   round); the ratio is hook time / raw time, in wall time and in client CPU time (the server runs in
   another process, so the client's CPU time is the client's own work).

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
from email.utils import formatdate
from pathlib import Path
from typing import Any

import requests

import loadkit
from possync.config import Bookkeeping
from possync.db import make_engine
from possync.pos.extract import Window, extract_customers, extract_products, extract_sales
from possync.transform.sales import transform_customers, transform_products, transform_sales
from possync_devkit.demo_pos import DemoSpec, generate

API_PREFIX = "/public/jurnal/api/v1"
CLIENT_ID = "possync-demo"
CLIENT_SECRET = "possync-demo-secret"
INVOICES_PATH = f"{API_PREFIX}/sales_invoices/batch_create"
UNLIMITED = 1_000_000_000


# ------------------------------------------------------------------------------------------- sandbox


@dataclass
class Sandbox:
    """The Jurnal sandbox in a child process, with its admin endpoints."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    admin: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def start(cls, port: int, db_path: Path, log_path: Path) -> Sandbox:
        command = [
            sys.executable, "-m", "possync_devkit.sandbox.jurnal", "--host", "127.0.0.1", "--port", str(port),
            "--db", str(db_path), "--per-minute", "off", "--per-hour", "off", "--per-ip-minute", "off",
            "--per-ip-hour", "off", "--log-level", "warning",
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        sandbox = cls(f"http://127.0.0.1:{port}", process, log_path)
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the sandbox exited with {process.returncode}:\n{log_path.read_text()}")
            with contextlib.suppress(requests.ConnectionError):
                if sandbox.admin.get(f"{sandbox.url}/_sandbox/health", timeout=2).ok:
                    return sandbox
            if time.monotonic() > deadline:
                sandbox.stop()
                raise RuntimeError(f"the sandbox did not answer within 30 s:\n{log_path.read_text()}")
            time.sleep(0.1)

    def set_limits(self, per_minute: int | None) -> None:
        limits = {"per_minute": per_minute, "per_hour": None, "per_ip_minute": None, "per_ip_hour": None}
        self.admin.post(f"{self.url}/_sandbox/limits", json=limits, timeout=10).raise_for_status()

    def reset_stats(self) -> None:
        # set_limits already forgot the counted windows; this zeroes the counters only
        self.admin.post(f"{self.url}/_sandbox/stats/reset", timeout=10).raise_for_status()

    def stats(self) -> dict[str, Any]:
        reply = self.admin.get(f"{self.url}/_sandbox/stats", timeout=10)
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
    bodies: list[dict[str, Any]]  # one per invoice, cycled from the demo's; transaction_no set per run
    seeding_seconds: float
    demo_invoices: int


def _connection(conn_id: str, url: str, per_minute: int) -> str:
    """Register an Airflow connection through its environment variable; return its id."""
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({
        "conn_type": "jurnal", "host": url, "login": CLIENT_ID, "password": CLIENT_SECRET,
        "extra": {"requests_per_minute": per_minute, "requests_per_hour": max(per_minute * 60, 1800)},
    })
    return conn_id


def prepare(tmp: Path, sandbox: Sandbox) -> Workload:
    """The demo POS's sales as Jurnal invoice bodies, with everything they reference created in the sandbox."""
    from possync.targets.base.bookkeeping import WALK_IN_KEY, helper_items, walk_in_customer
    from possync.targets.jurnal import mapping
    from possync.targets.jurnal.hook import BATCH_LIMIT, JurnalHook

    engine = make_engine(f"sqlite:///{tmp / 'pos.db'}")
    spec = DemoSpec()
    generate(engine, spec)
    window = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    invoices = transform_sales(extract_sales(engine, window)).invoices
    items, _ = transform_products(extract_products(engine))
    customers, _ = transform_customers(extract_customers(engine))
    engine.dispose()
    bookkeeping = Bookkeeping()

    started = time.perf_counter()
    hook = JurnalHook(_connection("bench_jurnal_seed", sandbox.url, UNLIMITED))
    for code in sorted({invoice.outlet_code for invoice in invoices}):
        hook.create("warehouses", {"name": f"Outlet {code}", "code": code})
    product_ids: dict[str, str] = {}
    for chunk in loadkit.chunks([*items, *helper_items(bookkeeping)], BATCH_LIMIT):
        results = hook.batch_create("products", [mapping.product_body(item, bookkeeping) for item in chunk])
        loadkit.created(results, "products")
        product_ids.update({item.key: str(result.content["id"]) for item, result in zip(chunk, results, strict=True)})
    customer_names: dict[str, str] = {}
    everyone = [walk_in_customer(bookkeeping), *customers]
    for chunk in loadkit.chunks(everyone, BATCH_LIMIT):
        bodies = [mapping.customer_body(c, use_pos_customer_id=True, bookkeeping=bookkeeping) for c in chunk]
        results = hook.batch_create("customers", bodies)
        # the demo holds a customer whose name repeats another's: Jurnal refuses it, its sales go to walk-in
        customer_names.update(
            {c.key: r.content["display_name"] for c, r in zip(chunk, results, strict=True) if r.created}
        )
    seeding = time.perf_counter() - started

    bodies = [
        mapping.invoice_body(
            invoice,
            warehouse=f"Outlet {invoice.outlet_code}",
            customer_name=customer_names.get(invoice.customer_key or WALK_IN_KEY, customer_names[WALK_IN_KEY]),
            product_ids=product_ids,
            bookkeeping=bookkeeping,
        )
        for invoice in invoices
    ]
    return Workload(bodies, seeding, len(invoices))


def batches(workload: Workload, count: int, size: int, tag: str) -> list[list[dict[str, Any]]]:
    """``count`` invoices cut into batches, each invoice with a ``transaction_no`` unique to run ``tag``.

    Invoice ``i`` of every run is the same demo invoice with a number of the same length, so runs post
    payloads of the same size for the server to do the same work."""
    demo = workload.bodies
    numbered = [
        {**demo[i % len(demo)], "transaction_no": f"{demo[i % len(demo)]['transaction_no']}/{tag}{i:06d}"}
        for i in range(count)
    ]
    return [list(chunk) for chunk in loadkit.chunks(numbered, size)]


# ---------------------------------------------------------------------------------------------- runs


def _check_batch(results: Sequence[Any], size: int) -> int:
    created = sum(1 for result in results if result.created)
    if created != size:
        errors = [result.error for result in results if not result.created][:3]
        raise RuntimeError(f"only {created} of {size} invoices were created: {errors}")
    return created


def paced_run(sandbox: Sandbox, workload: Workload, invoices: int, size: int, per_minute: int) -> dict[str, Any]:
    from possync.targets.jurnal.hook import JurnalHook

    work = batches(workload, invoices, size, "P")
    sandbox.set_limits(per_minute)
    sandbox.reset_stats()
    hook = JurnalHook(_connection("bench_jurnal_paced", sandbox.url, per_minute))
    _ = hook.session, hook.pacer  # connection lookup and session set-up are not part of the run
    done: list[float] = []
    latencies: list[float] = []
    started = time.perf_counter()
    for batch in work:
        before, waited = time.perf_counter(), hook.pacer.waited_seconds
        _check_batch(hook.batch_create("sales_invoices", batch), len(batch))
        done.append(time.perf_counter())
        latencies.append(done[-1] - before - (hook.pacer.waited_seconds - waited))  # the request, not the wait
    elapsed = done[-1] - started
    stats = sandbox.stats()
    # The requests one limit apart: in a long backlog every L-th request waits for the window to move.
    gaps = [done[k + per_minute] - done[k] for k in range(len(done) - per_minute)]
    sustained = per_minute / statistics.median(gaps) * size if gaps else None
    hook.session.close()
    return {
        "requests": len(work), "elapsed": elapsed, "sustained": sustained, "gaps": gaps,
        "throttled": hook.throttled, "retried": hook.retried, "paced_wait": hook.pacer.waited_seconds,
        "server_429": stats["rate_limited"], "server_requests": stats["requests"],
        "latency_ms": statistics.mean(latencies) * 1000,
    }


def _raw_poster(url: str) -> tuple[requests.Session, Callable[[bytes], Any]]:
    """The minimal client: one keep-alive session, an inline HMAC per request, parse the reply. Nothing else."""
    session = requests.Session()
    secret = CLIENT_SECRET.encode()

    def post(payload: bytes) -> Any:
        date = formatdate(usegmt=True)
        signed = f"date: {date}\nPOST {INVOICES_PATH} HTTP/1.1".encode()
        signature = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
        headers = {
            "Date": date,
            "Authorization": f'hmac username="{CLIENT_ID}", algorithm="hmac-sha256", '
            f'headers="date request-line", signature="{signature}"',
            "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(payload).digest()).decode(),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        response = session.post(url + INVOICES_PATH, data=payload, headers=headers, timeout=60)
        response.raise_for_status()
        return response.json()

    return session, post


def overhead_runs(sandbox: Sandbox, workload: Workload, invoices: int, size: int, rounds: int) -> dict[str, Any]:
    from possync.targets.base.hook import exact_json
    from possync.targets.jurnal.hook import JurnalHook

    sandbox.set_limits(None)
    sandbox.reset_stats()
    setup_started = time.perf_counter()
    hook = JurnalHook(_connection("bench_jurnal_unthrottled", sandbox.url, UNLIMITED))
    _ = hook.session, hook.pacer
    setup = time.perf_counter() - setup_started
    session, raw_post = _raw_poster(sandbox.url)
    # Warm both connections (TCP connect, first-request paths) on a cheap read.
    hook.api("GET", "/warehouses", params={"page": 1, "page_size": 1})
    session.get(f"{sandbox.url}/_sandbox/health", timeout=10).raise_for_status()

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
        raw_payloads = [exact_json({"sales_invoices": [{"sales_invoice": b} for b in batch]}).encode()
                        for batch in raw_work]
        serialise_cpu += time.process_time() - serialise_started
        payload_bytes = len(raw_payloads[0])
        round_wall = {"hook": 0.0, "raw": 0.0}
        for index, (hook_batch, payload) in enumerate(zip(hook_work, raw_payloads, strict=True)):
            def hook_call(batch: list[dict[str, Any]] = hook_batch) -> None:
                _check_batch(hook.batch_create("sales_invoices", batch), len(batch))

            def raw_call(payload: bytes = payload, expected: int = len(hook_batch)) -> None:
                reply = raw_post(payload)["sales_invoices"]
                created = sum(1 for entry in reply if entry["sales_invoice"]["status"] == 201)
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
        "requests": len(wall["hook"]), "setup": setup, "serialise_cpu": serialise_cpu,
        "hook_wall": sum(wall["hook"]), "raw_wall": sum(wall["raw"]),
        "hook_cpu": sum(cpu["hook"]), "raw_cpu": sum(cpu["raw"]),
        "hook_wall_med": statistics.median(wall["hook"]), "raw_wall_med": statistics.median(wall["raw"]),
        "round_ratios": round_ratios, "server_429": stats["rate_limited"], "throttled": hook.throttled,
        "payload_kib": payload_bytes / 1024,
    }


def profile_hook(sandbox: Sandbox, workload: Workload, invoices: int, size: int, top: int) -> str:
    from possync.targets.jurnal.hook import JurnalHook

    hook = JurnalHook(_connection("bench_jurnal_profile", sandbox.url, UNLIMITED))
    hook.api("GET", "/warehouses", params={"page": 1, "page_size": 1})
    work = batches(workload, invoices, size, "X")
    profiler = cProfile.Profile()
    profiler.enable()
    for batch in work:
        _check_batch(hook.batch_create("sales_invoices", batch), len(batch))
    profiler.disable()
    hook.session.close()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=2000, help="invoices per run (default 2,000)")
    parser.add_argument("--batch", type=int, default=100, help="invoices per batch_create (1..100, default 100)")
    parser.add_argument(
        "--per-minute", type=int, default=None,
        help="the paced run's rate limit, requests per minute (default: half the requests, so ~1 minute)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="unthrottled hook-vs-raw rounds of --invoices each (default 3)"
    )
    parser.add_argument("--port", type=int, default=0, help="sandbox port (default: a free one)")
    parser.add_argument("--profile", action="store_true", help="also cProfile the hook over one more unthrottled run")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (sandbox DB and log)")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= 100:
        parser.error("--batch must be 1..100")
    requests_per_run = math.ceil(args.invoices / args.batch)
    per_minute = args.per_minute or max(1, math.ceil(requests_per_run / 2))

    tmp = Path(tempfile.mkdtemp(prefix="possync-bench-jurnal-"))
    # JurnalHook imports Airflow, which writes its config into AIRFLOW_HOME: keep that in the temp folder.
    os.environ.setdefault("AIRFLOW_HOME", str(tmp / "airflow"))
    sandbox = None
    try:
        sandbox = Sandbox.start(args.port or loadkit.free_port(), tmp / "jurnal.db", tmp / "sandbox.log")
        print(f"sandbox pid {sandbox.process.pid} at {sandbox.url} (db {tmp / 'jurnal.db'})", flush=True)
        workload = prepare(tmp, sandbox)
        print(
            f"seeded warehouses, products and customers in {workload.seeding_seconds:.1f} s; "
            f"{workload.demo_invoices:,} demo invoices cycled to {args.invoices:,} per run, "
            f"{requests_per_run} batch_create requests of up to {args.batch}",
            flush=True,
        )

        ceiling = per_minute / 60 * args.batch
        print(f"\n1. paced: limit {per_minute}/min on the sandbox and the connection; ceiling "
              f"{per_minute} x {args.batch} / 60 s = {ceiling:,.1f} invoices/s", flush=True)
        paced = paced_run(sandbox, workload, args.invoices, args.batch, per_minute)
        wall_rate = args.invoices / paced["elapsed"]
        print(f"   {args.invoices:,} invoices in {paced['elapsed']:.1f} s = {wall_rate:,.1f} invoices/s wall clock "
              f"({wall_rate / ceiling:.0%} of the ceiling: the first window's {min(per_minute, requests_per_run)} "
              f"requests go out at once); pacer waited {paced['paced_wait']:.1f} s; "
              f"mean request {paced['latency_ms']:,.0f} ms besides the wait")
        if paced["sustained"] is not None:
            gaps = paced["gaps"]
            print(f"   sustained {paced['sustained']:,.1f} invoices/s = {paced['sustained'] / ceiling:.1%} of the "
                  f"ceiling (requests {per_minute} apart are {statistics.median(gaps):.2f} s apart, median of "
                  f"{len(gaps)}, min {min(gaps):.2f} s, max {max(gaps):.2f} s)")
        else:
            print(f"   sustained: not measurable, all {requests_per_run} requests fit the first window "
                  "(raise --invoices or lower --per-minute)")
        print(f"   429 replies: {paced['throttled']} seen by the hook, {paced['server_429']} counted by the sandbox "
              f"({paced['server_requests']} requests reached it); retries {paced['retried']}", flush=True)

        print(f"\n2./3. unthrottled: JurnalHook vs a raw keep-alive loop, {args.rounds} x {requests_per_run} "
              "requests each, alternating", flush=True)
        over = overhead_runs(sandbox, workload, args.invoices, args.batch, args.rounds)
        n = over["requests"]
        print(f"   hook  {over['hook_wall']:6.2f} s wall ({over['hook_wall'] / n * 1000:,.0f} ms/request, median "
              f"{over['hook_wall_med'] * 1000:,.0f}), client CPU {over['hook_cpu'] / n * 1000:,.1f} ms/request")
        print(f"   raw   {over['raw_wall']:6.2f} s wall ({over['raw_wall'] / n * 1000:,.0f} ms/request, median "
              f"{over['raw_wall_med'] * 1000:,.0f}), client CPU {over['raw_cpu'] / n * 1000:,.1f} ms/request")
        print(f"   overhead ratio hook / raw: {over['hook_wall'] / over['raw_wall']:.3f} wall, "
              f"{over['hook_cpu'] / over['raw_cpu']:.2f} client CPU "
              f"(+{(over['hook_cpu'] - over['raw_cpu']) / n * 1000:,.1f} ms CPU/request; serialising a "
              f"{over['payload_kib']:,.0f} KiB payload alone takes {over['serialise_cpu'] / n * 1000:,.1f} ms, "
              f"which the raw loop did beforehand)")
        print("   wall ratio per round: " + ", ".join(f"{ratio:.3f}" for ratio in over["round_ratios"]))
        print(f"   hook set-up (Airflow connection, session) {over['setup'] * 1000:,.0f} ms once; "
              f"429 replies {over['throttled']} / {over['server_429']}", flush=True)

        if args.profile:
            print("\nprofile of the hook (one more unthrottled run), by own time:")
            print(profile_hook(sandbox, workload, args.invoices, args.batch, top=25))

        server_rss = sandbox.peak_rss_mib()
        print(f"\npeak RSS: client {loadkit.peak_rss_mib():,.0f} MiB, sandbox "
              + (f"{server_rss:,.0f} MiB" if server_rss is not None else "unknown"))
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
