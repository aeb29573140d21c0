"""Benchmark the sales extract and transform at production size, the way the pipeline stages a window.

    .venv/bin/python bench/bench_transform.py                        # ~1,000,000 order lines, SQLite, streamed
    .venv/bin/python bench/bench_transform.py --lines 200000
    .venv/bin/python bench/bench_transform.py --pos-url postgresql+psycopg2://user:pw@host/pos_bench
    .venv/bin/python bench/bench_transform.py --chunk-orders 20000   # another chunk size
    .venv/bin/python bench/bench_transform.py --whole [--chunk-orders 0]   # the window read whole

Generates the demo POS (``possync_devkit.demo_pos``) scaled to ``--lines`` order lines, or reuses the database
when it already holds that many (``--regenerate`` forces a fresh one). Generation runs in a child process,
so the memory figures below are the extract's and the transform's own (``ru_maxrss`` of this process). Then
it reads the whole week as one window the way ``possync.pipeline.stage_sales`` does: ``extract_sales_chunks``
``--chunk-orders`` orders at a time (default 10,000, the pipeline's), each chunk transformed
(``transform_sales_stream``) before the next is read, the parts merged oldest first (``SalesMerge``); extract
and transform are timed apart inside the one pass. ``--whole`` reads the window with ``extract_sales`` and
transforms it with ``transform_sales`` instead. Each mode's peak memory is its own process's, so run them
separately. It prints rows per second, the peak resident memory and the load average. Not a test: numbers
depend on the machine.

After the extract it fetches the same rows on a raw DBAPI cursor (plain ``sqlite3`` / ``psycopg``), fetching
every row and keeping none, in the same run, twice:

* the very statements the extract ran (caught with SQLAlchemy's ``before_cursor_execute``, same SQL, same
  parameters): the driver's own cost of what the extract asked for;
* the window's rows one statement a table (the statements ``extract_sales`` runs for the window whole): the
  plain fetch of the same rows, which pays no chunking.

and the extract's ratio to each (the goal, issue 20: at most 1.5x the plain fetch). ``--rounds`` (3) times
over, the extract read again (frames dropped) and both fetches in turn, so each ratio is taken between
neighbours on a machine other work shares; the medians are printed, of wall-clock and of CPU seconds (on
SQLite the database works inside this process, so CPU seconds hold steady however busy the machine is; on
PostgreSQL the server's work is not in them: quote the wall clock).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import event, func, inspect, select
from sqlalchemy.engine import Engine, make_url

from possync.db import make_engine
from possync.pos import extract
from possync.pos.extract import CHUNK_ORDERS, SalesFrames, Window, extract_sales, extract_sales_chunks
from possync.pos.schema import order_lines, orders
from possync.transform.sales import SalesMerge, transform_sales, transform_sales_stream
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


def _load() -> str:
    return "load average " + " ".join(f"{figure:.2f}" for figure in os.getloadavg())


def _streamed(engine: Engine, window: Window, chunk_orders: int) -> tuple[float, float, dict[str, int], object]:
    """One pass of the streamed extract and transform, as ``stage_sales`` makes it (less the ledger): each chunk
    transformed before the next is read. The time spent inside the extract's iterator is the extract's, the
    rest the transform's."""
    counts = dict.fromkeys(("orders", "lines", "payments", "refunds", "refund_lines"), 0)
    reading = reading_cpu = 0.0

    def timed(chunks: Iterator[SalesFrames]) -> Iterator[SalesFrames]:
        nonlocal reading, reading_cpu
        while True:
            started, cpu = time.perf_counter(), time.process_time()
            chunk = next(chunks, None)
            reading += time.perf_counter() - started
            reading_cpu += time.process_time() - cpu
            if chunk is None:
                return
            for name, count in chunk.counts().items():
                counts[name] += count
            yield chunk

    started, cpu = time.perf_counter(), time.process_time()
    merged = SalesMerge()
    for part in transform_sales_stream(timed(extract_sales_chunks(engine, window, chunk_orders=chunk_orders))):
        merged.add(part)
    batch = merged.batch()
    total = time.perf_counter() - started
    print(f"          CPU seconds: extract {reading_cpu:.2f}, transform {time.process_time() - cpu - reading_cpu:.2f}")
    return reading, total - reading, counts, batch


def _extract_only(engine: Engine, window: Window, chunk_orders: int | None) -> tuple[float, float]:
    """One more read of the window (streamed, or whole with ``None``), every frame dropped: its wall-clock and
    CPU seconds."""
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    if chunk_orders is None:
        extract_sales(engine, window)
    else:
        for _chunk in extract_sales_chunks(engine, window, chunk_orders=chunk_orders):
            pass
    return time.perf_counter() - started, time.process_time() - cpu


def _whole_window_statements(engine: Engine, window: Window) -> list[tuple[str, Any]]:
    """The statements ``extract_sales`` runs for the window whole (one a table), with their parameters, caught
    as the driver is given them; each is run but none of its rows is read (the extract's frames come out
    empty)."""
    caught: list[tuple[str, Any]] = []

    def catch(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        caught.append((statement, parameters))

    def run_only(conn, stmt):  # stands in for extract._rows: no rows
        conn.execute(stmt).close()
        return iter(())

    event.listen(engine, "before_cursor_execute", catch)
    try:
        with mock.patch.object(extract, "_rows", run_only):
            extract_sales(engine, window)
    finally:
        event.remove(engine, "before_cursor_execute", catch)
    return caught


def _raw_fetch(engine: Engine, statements: list[tuple[str, object]]) -> tuple[int, tuple[float, float]]:
    """Run the statements on a raw DBAPI cursor and fetch every row (kept nowhere): the driver's cost."""
    raw = engine.raw_connection()
    try:
        rows = 0
        started, cpu = time.perf_counter(), time.process_time()
        for statement, parameters in statements:
            cursor = raw.cursor()
            cursor.execute(statement, parameters)
            while batch := cursor.fetchmany(50_000):
                rows += len(batch)
            cursor.close()
        return rows, (time.perf_counter() - started, time.process_time() - cpu)
    finally:
        raw.close()


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
    parser.add_argument("--whole", action="store_true",
                        help="extract the window whole (extract_sales), then transform it (transform_sales)")
    parser.add_argument("--stream", action="store_true", help=argparse.SUPPRESS)  # the default now
    parser.add_argument("--chunk-orders", type=int, default=CHUNK_ORDERS,
                        help=f"orders a chunk (default {CHUNK_ORDERS:,}); with --whole, orders a transform chunk, "
                             "0 for the extract transformed at once")
    parser.add_argument("--rounds", type=int, default=3,
                        help="extract and raw fetches, in turn, for the ratios (default 3; medians printed)")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.stream = not args.whole
    if not args.chunk_orders:
        if args.stream:
            parser.error("a streamed pass needs --chunk-orders of at least 1 (or --whole)")
        args.chunk_orders = None

    url = args.pos_url or f"sqlite:///{Path(tempfile.gettempdir()) / f'possync-bench-pos-{args.lines}.db'}"
    if args.generate_only:
        _generate(url, args.lines, args.seed)
        return 0
    _ensure_data(url, args.lines, args.seed, args.regenerate)

    engine = make_engine(url)
    window = _window(engine)
    gc.collect()
    baseline = _peak_rss_mib()
    if args.stream:
        mode = f"streamed, {args.chunk_orders:,} orders a chunk"
    elif args.chunk_orders:
        mode = f"extracted whole, transformed {args.chunk_orders:,} orders a chunk"
    else:
        mode = "extracted and transformed whole"
    print(f"window {window}; {mode}; process baseline {baseline:,.0f} MiB; {_load()}")

    statements: list[tuple[str, object]] = []

    def caught(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", caught)
    if args.stream:
        extract_seconds, transform_seconds, counts, batch = _streamed(engine, window, args.chunk_orders)
        extract_peak = transform_peak = _peak_rss_mib()
    else:
        started = time.perf_counter()
        frames = extract_sales(engine, window)
        extract_seconds = time.perf_counter() - started
        extract_peak = _peak_rss_mib()
        counts = frames.counts()
        started = time.perf_counter()
        batch = transform_sales(frames, chunk_orders=args.chunk_orders)
        transform_seconds = time.perf_counter() - started
        transform_peak = _peak_rss_mib()
        del frames
    event.remove(engine, "before_cursor_execute", caught)
    print(
        f"extract   {extract_seconds:7.2f} s  {counts['lines'] / extract_seconds:>10,.0f} lines/s  "
        f"{counts['orders'] / extract_seconds:>9,.0f} orders/s  peak RSS {extract_peak:,.0f} MiB "
        f"(+{extract_peak - baseline:,.0f})  {counts}"
    )
    print(
        f"transform {transform_seconds:7.2f} s  {counts['lines'] / transform_seconds:>10,.0f} lines/s  "
        f"{counts['orders'] / transform_seconds:>9,.0f} orders/s  peak RSS {transform_peak:,.0f} MiB  "
        f"{batch.counts()}"
    )
    total = extract_seconds + transform_seconds
    print(f"total     {total:7.2f} s  {counts['lines'] / total:>10,.0f} lines/s end to end; "
          f"peak RSS {_peak_rss_mib():,.0f} MiB (+{_peak_rss_mib() - baseline:,.0f} over the baseline)")
    del batch
    gc.collect()
    plain = _whole_window_statements(engine, window)
    extracts, raws, plains = [], [], []
    for round_ in range(1, args.rounds + 1):
        # the extract (frames dropped) and both raw fetches in turn: on a shared machine each ratio is taken
        # between neighbours, and the medians are quoted; CPU seconds (SQLite works inside this process) are
        # the steadier figure when other work takes turns on the cores
        extracts.append(_extract_only(engine, window, args.chunk_orders if args.stream else None))
        raw_rows, raw = _raw_fetch(engine, statements)
        plain_rows, plain_time = _raw_fetch(engine, plain)
        raws.append(raw)
        plains.append(plain_time)
        print(f"round {round_}: extract {extracts[-1][0]:6.2f} s (CPU {extracts[-1][1]:6.2f} s); raw fetch of its own "
              f"{len(statements)} statements {raw[0]:6.2f} s (CPU {raw[1]:6.2f} s); plain fetch of the window "
              f"{plain_time[0]:6.2f} s (CPU {plain_time[1]:6.2f} s); {_load()}", flush=True)

    def ratios(fetches: list[tuple[float, float]], which: int) -> str:
        return f"{statistics.median(e[which] / f[which] for e, f in zip(extracts, fetches, strict=True)):.2f}x"

    def seconds(times: list[tuple[float, float]], which: int) -> str:
        return f"{statistics.median(t[which] for t in times):.2f} s"

    print(f"extract   {seconds(extracts, 0)} wall, {seconds(extracts, 1)} CPU (medians of {args.rounds} reads, "
          f"{'streamed' if args.stream else 'whole'})")
    print(f"raw fetch {seconds(raws, 0)} wall, {seconds(raws, 1)} CPU: {raw_rows:,} rows of the extract's "
          f"{len(statements)} statements on a raw DBAPI cursor; the extract takes {ratios(raws, 0)} that "
          f"({ratios(raws, 1)} in CPU)")
    print(f"raw fetch {seconds(plains, 0)} wall, {seconds(plains, 1)} CPU: {plain_rows:,} rows of the window, one "
          f"statement a table ({len(plain)}), on a raw DBAPI cursor; the extract takes {ratios(plains, 0)} that "
          f"({ratios(plains, 1)} in CPU; the goal: at most 1.5x); {_load()}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
