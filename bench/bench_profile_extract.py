"""Benchmark the source-profile path against the built-in extract on the same data (issue 17, item 6).

    .venv/bin/python bench/bench_profile_extract.py                      # ~1,000,000 order lines, SQLite
    .venv/bin/python bench/bench_profile_extract.py --lines 200000
    .venv/bin/python bench/bench_profile_extract.py --pos-url postgresql+psycopg2://user:pw@host/pos_bench
    .venv/bin/python bench/bench_profile_extract.py --rounds 3 --chunk-orders 10000

Generates the demo POS (``possync_devkit.demo_pos``) scaled to ``--lines`` order lines, or reuses the database
when it already holds that many (the same file ``bench_transform.py`` uses; ``--regenerate`` forces a fresh
one). Then, in one process and alternating so neither path profits from a warmer cache, it reads the whole
window ``--rounds`` times each way:

* ``whole``: ``possync.pos.extract.extract_sales`` against ``ProfileReader(engine, reference).extract_sales``
  (the shipped ``reference`` profile: the same schema, read through its queries);
* ``streamed``: ``extract_sales_chunks`` against ``ProfileReader.extract_sales_chunks`` (``--chunk-orders``
  orders a chunk), every chunk read and dropped.

It prints each read's time, the best and the median of each path and the profile path's ratio to the
built-in (the goal: within 1.2x; on a machine shared with other work the median is the steadier figure),
and checks once that both paths gave the same frames. Not a test: the numbers depend on the machine; no test
holds a threshold.

``--kasir-url sqlite:////tmp/kasir.db`` also loads the same facts into a kasir database
(``possync_devkit.kasir_pos``, once: a database that holds tickets is reused) and reads them whole through the
shipped ``kasir`` profile (text ids, joins through tills, receipt prices worked out, transfers rebuilt from
stock moves): a POS built differently, so its figure says what such a profile costs, beside the built-in's.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy.engine import Engine

import bench_transform
from possync.db import make_engine
from possync.pos.extract import CHUNK_ORDERS, SalesFrames, Window, extract_sales, extract_sales_chunks
from possync.pos.profiles import ProfileReader, load_profile

GOAL = 1.2


def _timed(read: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    started = time.perf_counter()
    result = read()
    return time.perf_counter() - started, result


def _drain(chunks: object) -> dict[str, int]:
    """Read every chunk, keeping only the counts."""
    counts: dict[str, int] = {}
    for chunk in chunks:  # type: ignore[attr-defined]
        for name, count in chunk.counts().items():
            counts[name] = counts.get(name, 0) + count
    return counts


def _same(builtin: SalesFrames, profiled: SalesFrames) -> bool:
    return all(getattr(builtin, name).equals(getattr(profiled, name)) for name in builtin.__dataclass_fields__)


def _kasir_reads(engine: Engine, url: str, window: Window, builtin: Callable[[], object]
                 ) -> dict[str, Callable[[], object]]:
    """The built-in read of the reference database and the kasir profile's read of the same facts in kasir."""
    from sqlalchemy import func, inspect, select

    from possync_devkit.kasir_pos import load_kasir, tickets

    kasir = make_engine(url)
    held = 0
    if "tickets" in inspect(kasir).get_table_names():
        with kasir.connect() as conn:
            held = conn.execute(select(func.count()).select_from(tickets)).scalar_one()
    if not held:
        started = time.perf_counter()
        written = load_kasir(engine, kasir)
        print(f"loaded kasir in {time.perf_counter() - started:.1f} s: {written}", flush=True)
    reader = ProfileReader(kasir, load_profile("kasir"))
    return {"built-in": builtin, "profile": lambda: reader.extract_sales(window)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines to generate (default 1,000,000)")
    parser.add_argument("--pos-url", default=None, help="POS database URL (default: a SQLite file in the temp dir)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--regenerate", action="store_true", help="generate afresh even if the data is there")
    parser.add_argument("--rounds", type=int, default=2, help="reads of each path and mode (default 2)")
    parser.add_argument("--kasir-url", default=None, help="also read the same facts from this kasir database")
    parser.add_argument("--chunk-orders", type=int, default=CHUNK_ORDERS,
                        help=f"orders a chunk in the streamed mode (default {CHUNK_ORDERS:,})")
    args = parser.parse_args(argv)

    url = args.pos_url or f"sqlite:///{Path(tempfile.gettempdir()) / f'possync-bench-pos-{args.lines}.db'}"
    bench_transform._ensure_data(url, args.lines, args.seed, args.regenerate)
    engine = make_engine(url)
    window: Window = bench_transform._window(engine)
    reader = ProfileReader(engine, load_profile("reference"))
    print(f"{engine.dialect.name}, window {window}, {args.rounds} rounds, "
          f"streamed {args.chunk_orders:,} orders a chunk")

    paths: dict[str, dict[str, Callable[[], object]]] = {
        "whole": {"built-in": lambda: extract_sales(engine, window), "profile": lambda: reader.extract_sales(window)},
        "streamed": {
            "built-in": lambda: _drain(extract_sales_chunks(engine, window, chunk_orders=args.chunk_orders)),
            "profile": lambda: _drain(reader.extract_sales_chunks(window, chunk_orders=args.chunk_orders)),
        },
    }
    if args.kasir_url:
        paths["kasir"] = _kasir_reads(engine, args.kasir_url, window, paths["whole"]["built-in"])
    times: dict[tuple[str, str], list[float]] = {}
    for mode, reads in paths.items():
        for round_ in range(1, args.rounds + 1):
            kept: dict[str, object] = {}
            for path, read in reads.items():
                seconds, result = _timed(read)
                times.setdefault((mode, path), []).append(seconds)
                counts = result.counts() if isinstance(result, SalesFrames) else result
                print(f"{mode:8} {path:8} round {round_}: {seconds:7.2f} s  {counts}", flush=True)
                if mode == "whole" and round_ == 1:
                    kept[path] = result
            if kept:
                same = _same(kept["built-in"], kept["profile"])  # type: ignore[arg-type]
                print(f"{mode:8} the profile's frames are the built-in's: {same}", flush=True)
                if not same:
                    return 1
            kept.clear()
    print()
    for mode in paths:
        for label, pick in (("best", min), ("median", statistics.median)):
            builtin, profile = pick(times[mode, "built-in"]), pick(times[mode, "profile"])
            ratio = profile / builtin
            verdict = "within" if ratio <= GOAL else "OVER"
            print(f"{mode:8} {label:6} built-in {builtin:7.2f} s  profile {profile:7.2f} s  ratio {ratio:.2f}x "
                  f"({verdict} the {GOAL}x goal)")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
