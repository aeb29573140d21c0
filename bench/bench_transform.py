"""Benchmark the sales extract and transform at production size.

    .venv/bin/python bench/bench_transform.py                        # ~1,000,000 order lines, SQLite
    .venv/bin/python bench/bench_transform.py --lines 200000
    .venv/bin/python bench/bench_transform.py --pos-url postgresql+psycopg2://user:pw@host/pos_bench

Generates the demo POS (``possync_devkit.demo_pos``) scaled to ``--lines`` order lines, or reuses the database
when it already holds that many (``--regenerate`` forces a fresh one). Generation runs in a child process,
so the memory figures below are the extract's and the transform's own. Then it extracts the whole week
in one window and transforms it, timing each separately, and prints rows per second and the peak resident
memory of each stage. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine, make_url

from possync.db import make_engine
from possync.pos.extract import Window, extract_sales
from possync.pos.schema import order_lines, orders
from possync.transform.sales import transform_sales
from possync_devkit.demo_pos import DemoSpec, generate

DAYS = 7
OUTLETS = 3


def _spec(lines: int, seed: int) -> DemoSpec:
    return DemoSpec(seed=seed, days=DAYS, outlets=OUTLETS, target_order_lines=lines)


def _line_count(engine: Engine) -> int | None:
    if "order_lines" not in inspect(engine).get_table_names():
        return None
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(order_lines)).scalar_one()


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux: the high-water mark of this process so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _generate(url: str, lines: int, seed: int) -> None:
    engine = make_engine(url)
    started = time.perf_counter()
    stats = generate(engine, _spec(lines, seed), replace=True)
    seconds = time.perf_counter() - started
    print(
        f"generated {stats['orders']:,} orders, {stats['order_lines']:,} lines, "
        f"{stats['payments']:,} payments, {stats['refunds']:,} refunds in {seconds:.1f} s",
        flush=True,
    )
    engine.dispose()


def _ensure_data(url: str, lines: int, seed: int, regenerate: bool) -> None:
    engine = make_engine(url)
    present = _line_count(engine)
    engine.dispose()
    # The demo scales orders per day, so the count lands near the target, not on it.
    if not regenerate and present and abs(present - lines) <= lines * 0.1:
        print(f"reusing {make_url(url).render_as_string(hide_password=True)}: {present:,} order lines")
        return
    print(f"generating ~{lines:,} order lines into {make_url(url).render_as_string(hide_password=True)} ...")
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--generate-only",
            "--pos-url",
            url,
            "--lines",
            str(lines),
            "--seed",
            str(seed),
        ],
        check=True,
    )


def _window(engine: Engine) -> Window:
    with engine.connect() as conn:
        first, last = conn.execute(
            select(func.min(orders.c.business_time), func.max(orders.c.business_time))
        ).one()
    return Window(first, last + timedelta(microseconds=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--lines", type=int, default=1_000_000, help="order lines to generate (default 1,000,000)"
    )
    parser.add_argument(
        "--pos-url", default=None, help="POS database URL (default: a SQLite file in the temp dir)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--regenerate", action="store_true", help="generate afresh even if the data is there")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    url = args.pos_url or f"sqlite:///{Path(tempfile.gettempdir()) / f'possync-bench-pos-{args.lines}.db'}"
    if args.generate_only:
        _generate(url, args.lines, args.seed)
        return 0
    _ensure_data(url, args.lines, args.seed, args.regenerate)

    engine = make_engine(url)
    window = _window(engine)
    gc.collect()
    baseline = _peak_rss_mib()
    print(f"window {window}; process baseline {baseline:,.0f} MiB")

    started = time.perf_counter()
    frames = extract_sales(engine, window)
    extract_seconds = time.perf_counter() - started
    extract_peak = _peak_rss_mib()
    counts = frames.counts()
    print(
        f"extract   {extract_seconds:7.2f} s  {counts['lines'] / extract_seconds:>10,.0f} lines/s  "
        f"{counts['orders'] / extract_seconds:>9,.0f} orders/s  peak RSS {extract_peak:,.0f} MiB "
        f"(+{extract_peak - baseline:,.0f})  {counts}"
    )

    started = time.perf_counter()
    batch = transform_sales(frames)
    transform_seconds = time.perf_counter() - started
    transform_peak = _peak_rss_mib()
    print(
        f"transform {transform_seconds:7.2f} s  {counts['lines'] / transform_seconds:>10,.0f} lines/s  "
        f"{counts['orders'] / transform_seconds:>9,.0f} orders/s  peak RSS {transform_peak:,.0f} MiB "
        f"(+{transform_peak - extract_peak:,.0f} over the extract's peak)  {batch.counts()}"
    )
    total = extract_seconds + transform_seconds
    print(f"total     {total:7.2f} s  {counts['lines'] / total:>10,.0f} lines/s end to end")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
