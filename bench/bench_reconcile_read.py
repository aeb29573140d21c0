"""Benchmark the reconciliation's reads of Jurnal (the slower target): one day's invoices listed by date, at
Jurnal's real rate limit, and what a day of a 200-outlet chain costs.

    .venv/bin/python bench/bench_reconcile_read.py                       # 6,000 invoices of one day
    .venv/bin/python bench/bench_reconcile_read.py --invoices 20000

Starts the Jurnal sandbox in a child process (``bench_jurnal_load.Sandbox``), seeds its warehouses, products and
customers and ``--invoices`` invoices dated one day (the demo POS's sales, cycled with fresh numbers; seeding is
unthrottled and not measured). Then ``JurnalBooks.invoices`` (``GET /sales_invoices?start_date&end_date``, pages
of 100) reads the day back twice:

1. at Jurnal's documented limit (30 requests a minute and 1,800 an hour on the sandbox and on the connection):
   wall time, list calls, 429 replies, and the calls as a share of the hourly and daily allowance;
2. unthrottled: the time the sandbox and the client need per page, apart from the pacing.

Then the arithmetic for a day of a 200-outlet chain (about 60,000 documents: invoices, payments and returns are
each one list row, so the calls are documents / page size, plus one last page per kind): the calls, the time at
the sustained limit and the share of the allowance. That line is arithmetic from the measured calls per page,
not a measurement of 60,000 documents; the README says so.

Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import loadkit
from bench_jurnal_load import UNLIMITED, Sandbox, _connection, batches, prepare

DAY = date(2026, 11, 10)
PER_MINUTE, PER_HOUR = 30, 1800  # Jurnal's documented limits per API consumer
CHAIN_DOCUMENTS, CHAIN_KINDS = 60_000, 3


def read_day(url: str, conn_id: str, per_minute: int) -> tuple[int, float, object]:
    """(invoices read, seconds, the hook) of one read of the day through ``JurnalBooks``."""
    from possync.config import load_config
    from possync.targets.jurnal.books import JurnalBooks
    from possync.targets.jurnal.hook import JurnalHook

    integration = next(i for i in load_config().integrations if i.target == "jurnal")
    hook = JurnalHook(_connection(conn_id, url, per_minute))
    _ = hook.session, hook.pacer  # connection lookup and session set-up are not part of the run
    started = time.perf_counter()
    count = sum(1 for _ in JurnalBooks(hook, integration).invoices(DAY, DAY))
    return count, time.perf_counter() - started, hook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=6000, help="invoices dated the day (default 6,000)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (sandbox DB and log)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="possync-bench-reconcile-"))
    os.environ.setdefault("AIRFLOW_HOME", str(tmp / "airflow"))
    sandbox = None
    try:
        sandbox = Sandbox.start(loadkit.free_port(), tmp / "jurnal.db", tmp / "sandbox.log")
        workload = prepare(tmp, sandbox)
        from possync.targets.jurnal.hook import JurnalHook

        seeder = JurnalHook(_connection("bench_reconcile_seed", sandbox.url, UNLIMITED))
        started = time.perf_counter()
        for batch in batches(workload, args.invoices, 100, "R"):
            dated = [{**body, "transaction_date": DAY.isoformat(), "due_date": DAY.isoformat()} for body in batch]
            loadkit.created(seeder.batch_create("sales_invoices", dated), "invoices")
        print(f"seeded {args.invoices:,} invoices dated {DAY} in {time.perf_counter() - started:.0f} s "
              "(unthrottled, not part of the figures)", flush=True)

        sandbox.set_limits(PER_MINUTE)
        sandbox.reset_stats()
        read, seconds, hook = read_day(sandbox.url, "bench_reconcile_paced", PER_MINUTE)
        stats = sandbox.stats()
        calls = stats["requests"]
        print(f"\n1. at Jurnal's limit ({PER_MINUTE}/min, {PER_HOUR:,}/h): {read:,} invoices in {calls} list calls, "
              f"{seconds:.1f} s wall clock (the first {min(calls, PER_MINUTE)} calls fit the first minute's "
              f"allowance at once); 429 replies {stats['rate_limited']}; pacer waited "
              f"{hook.pacer.waited_seconds:.1f} s")  # type: ignore[attr-defined]
        print(f"   {calls / PER_HOUR:.1%} of an hour's allowance, {calls / (PER_HOUR * 24):.2%} of a day's")

        sandbox.set_limits(None)
        read_fast, fast, _hook = read_day(sandbox.url, "bench_reconcile_fast", UNLIMITED)
        assert read_fast == read
        print(f"\n2. unthrottled: {read_fast:,} invoices in {fast:.1f} s, {fast / max(calls, 1) * 1000:,.0f} ms per "
              "page of 100 (sandbox and client, without pacing)")

        chain_calls = math.ceil(CHAIN_DOCUMENTS / 100) + CHAIN_KINDS
        sustained = chain_calls * 60 / PER_MINUTE
        print(f"\narithmetic, not measured: a day of {CHAIN_DOCUMENTS:,} documents = about {chain_calls} list calls; "
              f"at the sustained {PER_MINUTE}/min that is {sustained / 60:.0f} min "
              f"(plus {chain_calls * fast / max(calls, 1) / 60:.1f} min of page time at the rate measured in 2.), "
              f"{chain_calls / (PER_HOUR * 24):.1%} of the day's {PER_HOUR * 24:,} calls; Accurate (8/s) "
              f"{chain_calls / 8:.0f} s")
        return 0
    finally:
        if sandbox is not None:
            sandbox.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
