"""Streamed sales: a window read and transformed a few orders at a time gives exactly the documents,
rejections and skips of the whole window at once, in the same order; and the pipeline's staging
(``stage_sales``), streamed chunk by chunk into the ledger, records exactly what staging the window whole does,
through the built-in extract and through a source profile (kasir)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from possync.db import make_engine
from possync.ledger import SyncLedger
from possync.ledger.quarantine import ignore
from possync.ledger.schema import sync_records
from possync.pipeline import CatchUpSettings, stage_sales
from possync.pos.extract import Window, extract_sales, extract_sales_chunks
from possync.pos.source import pos_source
from possync.transform.sales import SalesBatch, split_sales, transform_sales, transform_sales_chunks
from possync_devkit.demo_pos import DemoSpec, generate
from possync_devkit.kasir_pos import load_kasir

DEMO_RANGE = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
SEVEN = 7  # orders a chunk: chunks end mid-day and mid-outlet


def assert_same(chunked: SalesBatch, whole: SalesBatch) -> None:
    assert chunked.counts() == whole.counts()
    assert chunked.invoices == whole.invoices
    assert chunked.payments == whole.payments
    assert chunked.returns == whole.returns
    assert chunked.rejections == whole.rejections
    assert chunked.skipped == whole.skipped


@pytest.fixture
def demo_week(pos_engine):
    generate(pos_engine, DemoSpec())
    return pos_engine


def test_chunks_of_seven_orders_give_the_documents_of_the_whole_window(demo_week) -> None:
    frames = extract_sales(demo_week, DEMO_RANGE)
    whole = transform_sales(frames, chunk_orders=None)
    assert whole.invoices and whole.payments and whole.returns and whole.rejections and whole.skipped

    chunks = list(split_sales(frames, SEVEN))
    assert len(chunks) == -(-len(frames.orders) // SEVEN)
    # The chunks cut through days and outlets, and refunds are transformed apart from their orders' chunks.
    first = chunks[0].orders
    assert first["outlet_code"].nunique() > 1 or len({*chunks[0].orders["outlet_code"], *chunks[1].orders[
        "outlet_code"]}) > 1
    refunded_orders = set(frames.refunds["order_id"])
    assert refunded_orders - set(first["order_id"]), "some refunds' orders are in later chunks"
    rejected_numbers = {rejection.key for rejection in whole.rejections if rejection.record_type == "invoice"}
    later = {number for chunk in chunks[1:] for number in chunk.orders["number"]}
    assert rejected_numbers & later, "rejected orders outside the refunds' chunk"

    assert_same(transform_sales(frames, chunk_orders=SEVEN), whole)
    assert_same(transform_sales(frames), whole)  # the default chunk size


def test_streamed_extract_reads_what_the_whole_window_reads(demo_week) -> None:
    whole = transform_sales(extract_sales(demo_week, DEMO_RANGE), chunk_orders=None)

    chunks = list(extract_sales_chunks(demo_week, DEMO_RANGE, chunk_orders=SEVEN))

    assert len(chunks) > 100
    assert all(len(chunk.orders) <= SEVEN for chunk in chunks)
    assert sum(len(chunk.refunds) for chunk in chunks) == len(chunks[0].refunds) > 0
    assert_same(transform_sales_chunks(chunks), whole)
    # Orders handed over in any order of chunks still come out oldest first.
    assert_same(transform_sales_chunks(reversed(chunks)), whole)


def test_a_window_without_sales_is_one_empty_chunk(demo_week) -> None:
    empty = Window(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC))

    chunks = list(extract_sales_chunks(demo_week, empty, chunk_orders=SEVEN))

    assert len(chunks) == 1 and chunks[0].counts() == dict.fromkeys(chunks[0].counts(), 0)
    assert transform_sales_chunks(chunks).counts() == transform_sales(extract_sales(demo_week, empty)).counts()


# ------------------------------------------------------------------- the pipeline's staging, streamed


@pytest.fixture(scope="module")
def kasir_sqlite(reference: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The demo week loaded into a kasir database (SQLite), read through the shipped ``kasir`` profile."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('kasir') / 'kasir.db'}")
    load_kasir(reference, engine)
    return engine


def _ledger_rows(ledger: SyncLedger) -> list[tuple[object, ...]]:
    c = sync_records.c
    with ledger.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(c.record_type, c.business_key, c.status, c.reason, c.content_hash, c.outlet_code,
                   c.business_time, c.ignored_by).order_by(c.record_type, c.business_key))]


def _stage_two_windows(pos: Engine, profile: str | None, ledger_url: str, chunk_orders: int | None
                       ) -> tuple[list[object], list[tuple[object, ...]]]:
    """Stage JKT01's first three demo days, set one failed invoice aside, then the rest of the week as a
    scheduled run (catch-up on); what each staging returned and the ledger at the end."""
    ledger = SyncLedger(make_engine(ledger_url))
    ledger.create_schema()
    source = pos_source(pos, profile)
    staged: list[object] = []
    for window, catch_up in ((FIRST_DAYS, None), (LATER_DAYS, CatchUpSettings(now=LATER_DAYS.end))):
        summary, documents = stage_sales(pos, ledger, integration="demo", outlet_code="JKT01", window=window,
                                         lookback=timedelta(hours=48), catch_up=catch_up, source=source,
                                         chunk_orders=chunk_orders)
        staged.append((summary.as_dict(), sorted(summary.failures), documents))
        if window is FIRST_DAYS:
            failed = sorted(record.key for record in ledger.unsynced("demo", "sales", outlet_code="JKT01")
                            if record.record_type == "invoice" and record.status == "failed")
            ignore(ledger, "demo", "invoice", failed[0], by="ops", reason="test: set aside", now=LATER_DAYS.start)
    staged.append(ledger.watermark("demo", "sales", "committed_at:JKT01"))
    return staged, _ledger_rows(ledger)


FIRST_DAYS = Window(datetime(2026, 11, 8, 17, tzinfo=UTC), datetime(2026, 11, 11, 17, tzinfo=UTC))
LATER_DAYS = Window(FIRST_DAYS.end, datetime(2026, 11, 15, 17, tzinfo=UTC))


@pytest.mark.parametrize("profile", [None, "kasir"])
def test_staging_in_chunks_of_seven_records_what_staging_whole_records(
        profile: str | None, reference: Engine, kasir_sqlite: Engine, tmp_path: Path) -> None:
    pos = reference if profile is None else kasir_sqlite

    whole, whole_ledger = _stage_two_windows(pos, profile, f"sqlite:///{tmp_path / 'whole.db'}", None)
    chunked, chunked_ledger = _stage_two_windows(pos, profile, f"sqlite:///{tmp_path / 'chunked.db'}", SEVEN)

    # the same documents in the same order, the same counts and reasons, the same ledger and watermark
    assert chunked == whole
    assert chunked_ledger == whole_ledger
    # and the windows hold what makes streaming hard: many chunks, returns, failures, skips, a record set aside
    (first, _, first_documents), (later, _, later_documents), watermark = whole
    assert first["read"] + later["read"] > 40 * SEVEN
    kinds = {document.record_type for document in [*first_documents, *later_documents]}
    assert kinds == {"invoice", "payment", "return"}
    assert first["failed"] and later["failed"] and first["skipped"] and later["skipped"]
    assert watermark is not None
    statuses = {row[2] for row in whole_ledger}
    assert {"pending", "failed", "skipped", "ignored"} <= statuses
