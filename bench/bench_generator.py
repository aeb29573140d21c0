"""Benchmark the demo POS generator: how fast it writes N order lines, and how much memory it takes.

    .venv/bin/python bench/bench_generator.py                       # 1,000,000 order lines into SQLite
    .venv/bin/python bench/bench_generator.py --order-lines 200000
    .venv/bin/python bench/bench_generator.py --pg-url postgresql+psycopg2://user@host/db   # also PostgreSQL

The SQLite file goes to a temporary folder that is removed afterwards (``--keep`` keeps it). On PostgreSQL
the POS tables in the given database are dropped and recreated. Peak memory is the process's maximum
resident set size, which includes the interpreter and SQLAlchemy (about 100 MB before any data).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import Engine

from possync.db import make_engine
from possync_devkit.demo_pos import DemoSpec, generate


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes; this benchmark targets Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(label: str, engine: Engine, spec: DemoSpec) -> dict[str, int]:
    started = time.perf_counter()
    counts = generate(engine, spec, replace=True)
    elapsed = time.perf_counter() - started
    rows = sum(counts.values())
    lines = counts["order_lines"]
    print(
        f"{label}: {lines:,} order lines, {rows:,} rows in {elapsed:.1f} s = "
        f"{rows / elapsed:,.0f} rows/s ({lines / elapsed:,.0f} order lines/s); "
        f"peak RSS so far {_peak_rss_mb():,.0f} MB"
    )
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--order-lines", type=int, default=1_000_000, help="about this many order lines")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--outlets", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--pg-url", default=None, help="also generate into this PostgreSQL database")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file and print its path")
    args = parser.parse_args(argv)

    spec = DemoSpec(seed=args.seed, days=args.days, outlets=args.outlets, target_order_lines=args.order_lines)
    print(
        f"spec: {spec.days} days x {spec.outlets} outlets x {spec.orders_per_outlet_day:,} orders/day "
        f"(target {args.order_lines:,} order lines); baseline RSS {_peak_rss_mb():,.0f} MB"
    )
    folder = Path(tempfile.mkdtemp(prefix="possync-bench-"))
    db_file = folder / "pos.db"
    engine = make_engine(f"sqlite:///{db_file}")
    try:
        counts = _run("sqlite", engine, spec)
        size_mb = db_file.stat().st_size / 2**20
        print(f"sqlite file: {size_mb:,.0f} MB" + (f" at {db_file}" if args.keep else ""))
    finally:
        engine.dispose()
        if not args.keep:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()
    if args.pg_url:
        pg = make_engine(args.pg_url)
        try:
            pg_counts = _run("postgresql", pg, spec)
        finally:
            pg.dispose()
        if pg_counts != counts:
            print("row counts differ between SQLite and PostgreSQL", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
