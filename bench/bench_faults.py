"""Benchmark the fault test at scale: a large POS synced under faults, the sync SIGKILLed mid-load round after
round, then every document read back and compared with the POS and the ledger.

    .venv/bin/python bench/bench_faults.py --target jurnal                 # 5,000 orders, 6 killed rounds
    .venv/bin/python bench/bench_faults.py --target accurate --orders 8000 --rounds 8 --error-rate 0.1

What ``tests/test_fault_rounds.py`` does with the demo week, at ``--orders`` orders (a generated demo POS of
``--days`` days and three outlets): the target's sandbox on a free port (limits as in the tests: Jurnal's out of
the way, Accurate's documented 8 calls/s), faults on (``--error-rate`` of calls answered 500/502/503/429 before
any work, ``--drop-rate`` of committed writes whose connection is dropped before the reply, ``--latency-ms``;
Accurate's limit lowered to ``--throttle`` calls/s, below the hook's pace), and ``--rounds`` runs of every sync
task (``support.sync_runner``, a process of its own), each SIGKILLed a few calls into a task spread over the
whole run (customers, products, the sales of each day and outlet, transfers, stock). The rounds go through the
week as a schedule does: one runs every day's sales window again (Airflow retrying every task), the next only
from the window the last kill hit (retrying it), the next past it (its retries exhausted). Then one run with the
faults off, of the day after the week only, which must find what the kills left by catching up and retrying;
and the books read back (``support.reconcile``).

Prints, per kind of document, how many the POS expects, how many the target holds, and how many are missing,
twice, of a wrong total or where the ledger and the target disagree; stock levels that differ; the records
failed by design; the kills (round, task, calls answered, seconds) and the faults the sandbox injected; and the
elapsed time. Exits 1 when anything disagrees.

Not a test: the times depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tests"))
os.environ.setdefault("POSSYNC_CONFIG", str(PROJECT / "include" / "config" / "integrations.yaml"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
OUTLETS = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=("jurnal", "accurate"), required=True)
    parser.add_argument("--orders", type=int, default=5000, help="POS orders in all (default 5,000)")
    parser.add_argument("--days", type=int, default=7, help="business days they are spread over (default 7)")
    parser.add_argument("--rounds", type=int, default=6, help="faulted rounds, each killed mid-load (default 6)")
    parser.add_argument("--error-rate", type=float, default=0.05, help="share of calls answered 5xx/429 (0.05)")
    parser.add_argument("--drop-rate", type=float, default=0.05, help="share of committed writes dropped (0.05)")
    parser.add_argument("--latency-ms", type=int, default=5, help="added to every call (default 5)")
    parser.add_argument("--throttle", type=int, default=3, help="Accurate's calls/s in the faulted rounds (3)")
    parser.add_argument("--kill-after", type=int, default=5, help="the most calls into a task before a kill (5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault dice and the kill points")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (POS, ledger, sandbox, logs)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix=f"possync-bench-faults-{args.target}-"))
    os.environ.setdefault("AIRFLOW_HOME", str(tmp / "airflow"))  # the hooks import Airflow, which writes there
    import pytest

    from possync.db import make_engine
    from possync_devkit.demo_pos import DemoSpec, expected_broken_records, generate
    from support.books import Books, integration_of
    from support.reconcile import reconcile, stock_compared
    from support.worlds import accurate_world, jurnal_world

    started = time.perf_counter()
    spec = DemoSpec(start_date=date(2026, 11, 9), days=args.days, outlets=OUTLETS,
                    orders_per_day=math.ceil(args.orders / (args.days * OUTLETS)))
    pos_path = tmp / "bench_pos.db"
    generate(make_engine(f"sqlite:///{pos_path}"), spec)
    pos = make_engine(f"sqlite:///{pos_path}")
    generated = time.perf_counter() - started
    rng = random.Random(args.seed)
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            worlds = {"jurnal": jurnal_world, "accurate": accurate_world}[args.target](tmp, monkeypatch)
            world = next(worlds)
            try:
                # the world's own POS is the demo week; this bench's is larger: the runner reads it instead
                monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_POS",
                                   json.dumps({"conn_type": "sqlite", "host": str(pos_path)}))
                world = {**world, "pos": pos}
                with pos.connect() as conn:
                    orders = conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()
                print(f"{args.target}: {orders:,} POS orders over {args.days} days at {OUTLETS} outlets (generated in "
                      f"{generated:.1f} s); {args.rounds} faulted rounds, each to be killed, then a clean run",
                      flush=True)
                code = faulted_rounds(args, world, spec, rng, tmp)
                books = Books.for_world(world)
                integration = integration_of(world)
                broken = {key: kind for kind, key, _ in expected_broken_records(spec)}
                read_started = time.perf_counter()
                stock = stock_compared(pos, world["ledger"], books, integration)
                report = reconcile(pos, world["ledger"], books, integration, broken, stock)
                print(f"\nread back and compared in {time.perf_counter() - read_started:.1f} s:\n{report.table()}")
                problems = report.problems()
                for line in problems[:30]:
                    print(f"  PROBLEM {line}")
                print(f"\n{'OK' if not problems and not code else 'FAILED'}: {len(problems)} disagreement(s); "
                      f"elapsed {time.perf_counter() - started:.1f} s in all")
                return 1 if problems or code else 0
            finally:
                worlds.close()
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def faulted_rounds(args: argparse.Namespace, world: dict[str, Any], spec: Any, rng: random.Random, tmp: Path) -> int:
    """The faulted, killed rounds and the clean run; prints each round; 1 when a round ended wrongly."""
    from support.books import integration_of
    from support.fault_rounds import KillAt, run_round
    from support.sync_runner import task_labels

    admin = world["admin"]
    outlets = list(integration_of(world).outlets)
    admin.reset_stats()
    loaded = time.perf_counter()
    killed_day, kills = 0, 0
    for number in range(1, args.rounds + 1):
        # as a schedule goes: every window again (Airflow retrying all), from the killed one (retrying it), or
        # past it (its retries exhausted: later windows must catch up what it left)
        mode = ("every window", "from the killed window", "past the killed window")[(number - 1) % 3]
        first = {"every window": 0, "from the killed window": killed_day}.get(mode, killed_day + 1)
        sales_days = range(first, spec.days) if first < spec.days else range(spec.days, spec.days + 1)
        labels = task_labels(outlets, spec.start_date, spec.days, sales_days)
        # kill points spread over the run, each a few calls into its task, the last short of the end (so the clean
        # run has work left, and a last task with no calls of its own is not aimed at)
        aim = labels[min(len(labels) - 2, int((number - 1 + rng.random()) * len(labels) / (args.rounds + 1)))]
        admin.faults({"error_rate": args.error_rate, "error_status": [500, 502, 503, 429],
                      "drop_after_commit_rate": args.drop_rate, "latency_ms": args.latency_ms,
                      "seed": args.seed * 1000 + number})
        if world["target"] == "accurate":
            admin.limits({"per_second": args.throttle, "in_flight": 8})
        kill_at = KillAt(aim, rng.randint(1, args.kill_after))
        result = run_round(admin, world["integration"], spec.start_date, spec.days, tmp / f"round{number}.log",
                           kill_at=kill_at, sales_days=sales_days, timeout=3600)
        what = f"killed in '{result.task}' after {kill_at.after} call(s)" if result.killed else (
            f"not killed (aimed at '{aim}'), exit {result.returncode}")
        print(f"round {number} (sales of days {sales_days.start}-{sales_days.stop - 1}, {mode}): {what}; "
              f"{result.calls:,} calls in {result.seconds:.1f} s", flush=True)
        if not result.killed and result.returncode != 0:
            print(result.log[-3000:])
            return 1
        if result.killed:
            kills += 1
            if result.task.startswith("sales "):
                killed_day = (date.fromisoformat(result.task.split()[2]) - spec.start_date).days
    stats = admin.stats()
    admin.reset({"data": False, "stats": False})  # faults off, the vendor's limits back
    final = run_round(admin, world["integration"], spec.start_date, spec.days, tmp / "final.log",
                      sales_days=range(spec.days, spec.days + 1), timeout=3600)
    print(f"{kills} of {args.rounds} rounds killed mid-load")
    print(f"clean run (the next day's window: it catches up and retries what the kills left): exit "
          f"{final.returncode}, {final.calls:,} calls in {final.seconds:.1f} s; "
          f"{final.log.splitlines()[-1] if final.log else ''}")
    print(f"sandbox over the faulted rounds: {stats['requests']:,} calls, {stats['faults_injected']:,} answered "
          f"with an injected error, {stats['drops']:,} committed and dropped, {stats['rate_limited']:,} answered 429; "
          f"load time (rounds and clean run) {time.perf_counter() - loaded:.1f} s", flush=True)
    return 0 if final.returncode == 0 and "DONE transient=0" in final.log else 1


if __name__ == "__main__":
    sys.exit(main())
