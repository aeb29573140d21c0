"""Overlapping Airflow runs write the ledger at once: separate OS processes, same keys, same moment.

Each worker is a spawned process with its own engine, as two Celery workers would be. They start
together on a database without tables (so ``create_schema`` races too), then write overlapping batches in
shuffled order. Whatever the interleaving, the ledger must end with one row per key, every load
attempt counted, no synced record downgraded, and no worker failing on a lock or a unique violation.
"""

from __future__ import annotations

import multiprocessing
import random
import traceback
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from possync.ledger import RecordOutcome, RunRef, SyncLedger
from possync.ledger.schema import sync_records

INTEGRATION = "jurnal_demo"
WORKERS = 3
BATCHES = 20
SHARED_PER_BATCH = 100  # half of every batch is drawn from keys all workers write
OWN_PER_BATCH = 100
SHARED_POOL = 600
OWN_POOL = 600
STATUS_WEIGHTS = {"synced": 3, "failed": 3, "pending": 2, "skipped": 1}
WATERMARK_STEPS = 60
T0 = datetime(2026, 11, 9, tzinfo=UTC)
JOIN_TIMEOUT_S = 120


def _plan(worker: int) -> list[list[RecordOutcome]]:
    """The batches one worker writes; deterministic, so the parent can compute what to expect."""
    rng = random.Random(1000 + worker)
    statuses, weights = zip(*STATUS_WEIGHTS.items(), strict=True)
    batches = []
    for _ in range(BATCHES):
        keys = [f"INV-S{n:04d}" for n in rng.sample(range(SHARED_POOL), SHARED_PER_BATCH)]
        keys += [f"INV-W{worker}-{n:04d}" for n in rng.sample(range(OWN_POOL), OWN_PER_BATCH)]
        rng.shuffle(keys)  # callers give no order; the ledger must still not deadlock on PostgreSQL
        batch = []
        for key in keys:
            status = rng.choices(statuses, weights)[0]
            batch.append(
                RecordOutcome(
                    "invoice",
                    key,
                    "sales",
                    status,
                    content_hash=f"hash-of-{key}",  # one content per key: a synced record must stay synced
                    outlet_code="JKT01",
                    business_time=T0 + timedelta(seconds=int(key[-4:])),
                    target_id=f"T-{key}" if status == "synced" else None,
                    reason="target said no" if status == "failed" else None,
                )
            )
        batches.append(batch)
    return batches


def _watermark_values(worker: int) -> list[datetime]:
    values = [T0 + timedelta(minutes=n, microseconds=worker) for n in range(WATERMARK_STEPS)]
    random.Random(2000 + worker).shuffle(values)
    return values


def _worker(url: str, worker: int, barrier: Any, results: Any) -> None:
    try:
        ledger = SyncLedger.from_url(url)
        barrier.wait(timeout=60)
        ledger.create_schema()
        run = RunRef(f"{INTEGRATION}__sales", f"run-{worker}", "load_invoices", worker, 1)
        for batch in _plan(worker):
            ledger.record(INTEGRATION, batch, run)
        seen = [
            ledger.advance_watermark(INTEGRATION, "sales", "committed_at", value)
            for value in _watermark_values(worker)
        ]
        ledger.dispose()
        results.put((worker, None, seen))
    except BaseException:
        results.put((worker, traceback.format_exc(), []))


def _run_workers(url: str) -> dict[int, list[datetime]]:
    # Open the database once first: switching a brand-new SQLite file to WAL needs an exclusive lock
    # that SQLite does not wait for, so processes that all open a file that does not exist yet can
    # fail in make_engine's PRAGMA. Deployments run `possync ledger init` before any worker starts.
    # The tables are not created here: the workers race create_schema themselves.
    first = SyncLedger.from_url(url)
    with first.engine.connect():
        pass
    first.dispose()

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, w, barrier, results)) for w in range(WORKERS)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=JOIN_TIMEOUT_S) for _ in procs]
    for proc in procs:
        proc.join(JOIN_TIMEOUT_S)
    errors = {worker: error for worker, error, _ in outcomes if error}
    assert not errors, "\n".join(f"worker {w}:\n{e}" for w, e in errors.items())
    assert [proc.exitcode for proc in procs] == [0] * WORKERS
    return {worker: seen for worker, _, seen in outcomes}


def test_overlapping_writers_lose_no_update(db_url: str) -> None:
    watermarks_seen = _run_workers(db_url)

    attempts: Counter[str] = Counter()
    statuses: defaultdict[str, set[str]] = defaultdict(set)
    for worker in range(WORKERS):
        for batch in _plan(worker):
            for outcome in batch:
                attempts[outcome.key] += outcome.status in ("synced", "failed")
                statuses[outcome.key].add(outcome.status)
    shared = [key for key in statuses if key.startswith("INV-S")]
    assert len(shared) > SHARED_PER_BATCH * 2, "the plan must make workers collide on shared keys"

    ledger = SyncLedger.from_url(db_url)
    try:
        with ledger.engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(sync_records)).scalar_one()
        assert rows == len(statuses)
        stored = ledger.lookup(INTEGRATION, "invoice", statuses)
        assert set(stored) == set(statuses)
        wrong_attempts = {
            k: (r.attempts, attempts[k]) for k, r in stored.items() if r.attempts != attempts[k]
        }
        assert not wrong_attempts, (
            f"{len(wrong_attempts)} keys lost attempts, e.g. {list(wrong_attempts.items())[:5]}"
        )
        for key, rec in stored.items():
            if "synced" in statuses[key]:
                assert (rec.status, rec.target_id, rec.reason) == ("synced", f"T-{key}", None), key
                assert rec.synced_at is not None
            else:
                assert rec.status in statuses[key], key
        assert sum(ledger.counts(INTEGRATION, "sales").values()) == len(statuses)

        highest = max(max(_watermark_values(w)) for w in range(WORKERS))
        assert ledger.watermark(INTEGRATION, "sales", "committed_at") == highest
        for worker, seen in watermarks_seen.items():
            # each worker only ever saw the watermark stand still or move forward, never back
            assert seen == sorted(seen), worker
            assert all(got >= asked for got, asked in zip(seen, _watermark_values(worker), strict=True))
    finally:
        ledger.dispose()
