"""Streamed sales: a window read and transformed a few orders at a time gives exactly the documents,
rejections and skips of the whole window at once, in the same order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from possync.pos.extract import Window, extract_sales, extract_sales_chunks
from possync.transform.sales import SalesBatch, split_sales, transform_sales, transform_sales_chunks
from possync_devkit.demo_pos import DemoSpec, generate

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
