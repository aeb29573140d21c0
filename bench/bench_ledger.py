"""Benchmark the sync ledger at production size: upsert throughput and the Sync Status page and its queries.

    .venv/bin/python bench/bench_ledger.py                      # 1,000,000 records, temp SQLite file
    .venv/bin/python bench/bench_ledger.py --records 200000
    .venv/bin/python bench/bench_ledger.py --url postgresql+psycopg2://user:pw@host/ledger_bench

Fills the ledger the way loaders do (batches of ``--batch`` outcomes per ``record()`` call, over a year
of business time, 20 outlets, a few percent failed), re-records a tenth of them (a sync refresh turning
failures into successes: the ON CONFLICT path), then times the queries a Sync Status page runs.
Only ``record()`` calls are timed, not building the outcomes. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from possync.ledger import LedgerRecord, RecordOutcome, RunRef, SyncLedger

INTEGRATION = "bench_jurnal"
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
OUTLETS = [f"OUT{n:02d}" for n in range(1, 21)]
# (record_type, flow, share of records)
MIX = [
    ("invoice", "sales", 0.55),
    ("payment", "sales", 0.30),
    ("return", "sales", 0.02),
    ("transfer_out", "transfers", 0.04),
    ("transfer_in", "transfers", 0.04),
    ("stock_adjustment", "stock", 0.02),
    ("customer", "customers", 0.03),
]
FAILED_SHARE = 0.02
PENDING_SHARE = 0.005
SKIPPED_SHARE = 0.005


def _kind(n: int) -> tuple[str, str]:
    """Record type and flow of key ``n``: fixed per key, so a later pass can update the same rows."""
    pick = ((n * 2_654_435_761) % 2**32) / 2**32 * sum(share for _, _, share in MIX)
    for record_type, flow, share in MIX:
        if pick < share:
            return record_type, flow
        pick -= share
    return MIX[-1][0], MIX[-1][1]


def _outcome(n: int, records: int, rng: random.Random, status: str | None = None) -> RecordOutcome:
    record_type, flow = _kind(n)
    reason = None
    if status is None:
        roll = rng.random()
        if roll < FAILED_SHARE:
            status, reason = "failed", f"product 'Item {n % 997}' has no SKU"
        elif roll < FAILED_SHARE + PENDING_SHARE:
            status = "pending"
        elif roll < FAILED_SHARE + PENDING_SHARE + SKIPPED_SHARE:
            status, reason = "skipped", "zero-amount order"
        else:
            status = "synced"
    # keys ascend with business time, as POS numbers do
    business_time = YEAR_START + timedelta(seconds=n * (365 * 24 * 3600) // max(records, 1))
    return RecordOutcome(
        record_type,
        f"K{n:09d}",
        flow,
        status,  # type: ignore[arg-type]
        content_hash=f"{n:064x}",
        outlet_code=OUTLETS[rng.randrange(len(OUTLETS))],
        business_time=None if flow == "customers" else business_time,
        target_id=str(100_000 + n) if status == "synced" else None,
        target_number=f"SI/{n:07d}" if status == "synced" else None,
        reason=reason,
    )


def _fill(ledger: SyncLedger, label: str, keys: range, records: int, batch: int, status: str | None) -> None:
    """Record outcomes for ``keys`` in loader-sized batches; time only the record() calls."""
    rng = random.Random(f"{label}-{records}")
    run = RunRef(f"{INTEGRATION}__sales", f"bench__{label}", "load", -1, 1)
    spent = 0.0
    done = 0
    last_report = time.perf_counter()
    for start in range(0, len(keys), batch):
        outcomes = [_outcome(n, records, rng, status) for n in keys[start : start + batch]]
        began = time.perf_counter()
        ledger.record(INTEGRATION, outcomes, run)
        spent += time.perf_counter() - began
        done += len(outcomes)
        if time.perf_counter() - last_report > 15:
            last_report = time.perf_counter()
            print(f"  {label}: {done:,} / {len(keys):,} rows, {done / spent:,.0f} rows/s", flush=True)
    print(f"{label:<28} {done:>10,} rows in {spent:7.2f} s = {done / spent:>8,.0f} rows/s")


def _time(label: str, call: Callable[[], Any], repeat: int = 5) -> None:
    """Run ``call`` a few times; the first run is the cold one a page load after a while would see."""
    timings = []
    result: Any = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = call()
        timings.append((time.perf_counter() - began) * 1000)
    shown: Any = result
    if isinstance(result, list):
        shown = f"{len(result)} rows"
    elif isinstance(result, LedgerRecord):
        shown = f"{result.record_type} {result.key} {result.status}"
    elif isinstance(result, dict) and len(result) > 4:
        shown = f"{len(result)} keys"
    print(
        f"{label:<56} first {timings[0]:8.2f} ms  median {statistics.median(timings):8.2f} ms"
        f"  min {min(timings):8.2f} ms  -> {shown}"
    )


def _time_status_page(ledger: SyncLedger, records: int) -> None:
    """The Sync Status page's own queries (``possync.ledger.status``) and the whole page, built as the API server
    builds it (HTML, every filter, links), minus HTTP."""
    from types import SimpleNamespace

    from sqlalchemy import select

    from possync import status_app
    from possync.ledger.schema import sync_records
    from possync.ledger.status import RecordQuery, _encode, flow_counts, record_page

    c = sync_records.c
    with ledger.engine.connect() as conn:
        middle = conn.execute(select(c.business_time, c.id).where(
            c.flow == "sales", c.business_key >= f"K{records // 2:09d}").order_by(c.business_key).limit(1)).one()
    deep = _encode(middle.business_time, middle.id)
    run = {"dag_id": f"{INTEGRATION}__sales", "run_id": "bench__upsert (existing keys)", "task_id": "load",
           "map_index": -1}
    pages: list[tuple[str, RecordQuery, str | None]] = [
        ("page: all records, newest", RecordQuery(INTEGRATION), None),
        ("page: sales, failed", RecordQuery(INTEGRATION, flow="sales", status="failed"), None),
        ("page: sales, any status, half-way down (cursor)", RecordQuery(INTEGRATION, flow="sales"), deep),
        ("page: sales, OUT07, June", RecordQuery(INTEGRATION, flow="sales", outlet="OUT07",
                                                  since=datetime(2026, 6, 1, tzinfo=UTC),
                                                  until=datetime(2026, 7, 1, tzinfo=UTC)), None),
        # a number typed in part: 1,000 matches at a million records (like "INV-JKT01-202611" for a month)
        ("page: number starts with K000500", RecordQuery(INTEGRATION, key_prefix="K000500"), None),
        ("page: what one task attempt wrote", RecordQuery(INTEGRATION, **run), None),
        ("page: customers (no business time)", RecordQuery(INTEGRATION, flow="customers"), None),
    ]
    _time("flow_counts(integration)", lambda: flow_counts(ledger, INTEGRATION))
    for label, query, cursor in pages:
        _time(label, lambda q=query, k=cursor: record_page(ledger, q, cursor=k).records)

    integration = SimpleNamespace(name=INTEGRATION, target="jurnal", timezone="Asia/Jakarta", conn_id="bench_none",
                                  ledger_conn_id="bench_ledger", outlets={})
    status_app._ledger = lambda _integration: ledger  # type: ignore[assignment]  # no Airflow connection here
    status_app._document_links = lambda _integration: (lambda _t, _i: None)  # type: ignore[assignment]
    status_app._ui_base = lambda: ""  # type: ignore[assignment]
    for label, params in (("whole page: sales, failed", {"flow": "sales", "status": "failed"}),
                          ("whole page: everything, newest 50", {})):
        _time(label, lambda p=params: len(status_app._records_page({INTEGRATION: integration}, p, None, False).body))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records to fill (default 1,000,000)")
    parser.add_argument("--url", default=None, help="ledger database URL (default: a temp SQLite file)")
    parser.add_argument("--batch", type=int, default=1000, help="outcomes per record() call (default 1000)")
    args = parser.parse_args(argv)

    tmp = None
    url = args.url
    if url is None:
        tmp = tempfile.TemporaryDirectory(prefix="possync-bench-")
        url = f"sqlite:///{Path(tmp.name) / 'ledger.db'}"
    ledger = SyncLedger.from_url(url, ensure_schema=True)
    dialect = ledger.engine.dialect.name
    print(f"ledger: {make_url(url).render_as_string(hide_password=True)} ({dialect})")
    with ledger.engine.begin() as conn:
        existing = conn.execute(
            text("SELECT count(*) FROM sync_records WHERE integration = :i"), {"i": INTEGRATION}
        ).scalar_one()
    if existing:
        print(f"{INTEGRATION} already has {existing:,} records here; use an empty database", file=sys.stderr)
        return 2

    print(f"record() in batches of {args.batch}:")
    _fill(ledger, "insert (new keys)", range(args.records), args.records, args.batch, None)
    # a sync refresh: every tenth record re-recorded as synced, the ON CONFLICT DO UPDATE path
    _fill(ledger, "upsert (existing keys)", range(0, args.records, 10), args.records, args.batch, "synced")

    # Fresh statistics (and, on PostgreSQL, the visibility map that index-only scans need), as
    # autovacuum would have them on a ledger that filled up over months.
    with ledger.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE sync_records" if dialect == "postgresql" else "ANALYZE")
    if dialect == "sqlite":
        size = Path(make_url(url).database or "").stat().st_size
        print(f"database file: {size / 1e6:,.0f} MB")

    june, july = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    keys = [f"K{n:09d}" for n in range(args.records // 2, args.records // 2 + 500)]
    print()
    _time("counts(integration)", lambda: ledger.counts(INTEGRATION))
    _time("counts(integration, 'sales')", lambda: ledger.counts(INTEGRATION, "sales"))
    _time("unsynced(sales, limit=50)", lambda: ledger.unsynced(INTEGRATION, "sales", limit=50))
    _time(
        "unsynced(sales, failed, invoice, OUT07, June, limit=50)",
        lambda: ledger.unsynced(
            INTEGRATION,
            "sales",
            statuses=("failed",),
            record_types=("invoice",),
            outlet_code="OUT07",
            since=june,
            until=july,
            limit=50,
        ),
    )
    _time(
        "unsynced(transfers, June, limit=50)",
        lambda: ledger.unsynced(INTEGRATION, "transfers", since=june, until=july, limit=50),
    )
    _time("lookup(invoice, 500 keys)", lambda: ledger.lookup(INTEGRATION, "invoice", keys))
    known = min(ledger.lookup(INTEGRATION, "invoice", keys))
    _time("get(invoice, one key)", lambda: ledger.get(INTEGRATION, "invoice", known))
    print()
    _time_status_page(ledger, args.records)

    ledger.dispose()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
