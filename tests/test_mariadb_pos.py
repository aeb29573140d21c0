"""The reference POS schema on a real MariaDB server (Debian's mariadb-server, started by conftest): the demo
week loaded there reads back as the very same frames as from SQLite: sales, refunds, stock moves, customers
and products, exact to the sen and the microsecond.

Never skipped: a machine without the server fails here, naming the package (tests/mariadb_cluster.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

from possync.db import make_engine
from possync.pos.extract import (
    CatchUp,
    Window,
    extract_customers,
    extract_products,
    extract_sales,
    extract_stock,
    plan_catch_up,
)
from possync_devkit.demo_pos import DemoSpec, generate, summarize

SPEC = DemoSpec()
WEEK = Window(datetime(2026, 11, 8, 17, tzinfo=UTC), datetime(2026, 11, 15, 17, tzinfo=UTC))
DAYS = [Window(WEEK.start + timedelta(days=n), WEEK.start + timedelta(days=n + 1)) for n in range(7)]


@pytest.fixture(scope="module")
def sqlite_pos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{Path(tmp_path_factory.mktemp('pos')) / 'pos.db'}")
    generate(engine, SPEC)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def mariadb_pos(mariadb_server: str) -> Iterator[Engine]:
    name = f"pos_{uuid.uuid4().hex[:10]}"
    admin = make_engine(mariadb_server)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    engine = make_engine(make_url(mariadb_server).set(database=name))
    generate(engine, SPEC)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP DATABASE `{name}`"))
    admin.dispose()


def same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Equal frames, dtypes included: Decimals stay Decimals (object), times ``datetime64[us, UTC]``."""
    assert list(left.columns) == list(right.columns)
    assert_frame_equal(left, right, check_exact=True)


def test_the_server_is_mariadb_and_the_schema_is_exact(mariadb_pos: Engine) -> None:
    with mariadb_pos.connect() as conn:
        assert "MariaDB" in conn.execute(text("SELECT VERSION()")).scalar()
    columns = {c["name"]: c["type"] for c in inspect(mariadb_pos).get_columns("orders")}
    assert columns["business_time"].fsp == 6, "DATETIME(6): microseconds kept"
    assert str(columns["total_amount"]) == "DECIMAL(18, 2)"
    with mariadb_pos.connect() as conn:
        collations = set(conn.execute(text(
            "SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")).scalars())
    assert collations == {"utf8mb4_nopad_bin"}, "text compares as on SQLite and PostgreSQL"


def test_the_demo_week_summarises_the_same(sqlite_pos: Engine, mariadb_pos: Engine) -> None:
    on_sqlite, on_mariadb = summarize(sqlite_pos), summarize(mariadb_pos)
    assert on_mariadb == on_sqlite
    assert on_mariadb["counts"]["orders"] > 1000 and on_mariadb["broken_records"]


@pytest.mark.parametrize("day", range(7))
def test_each_day_of_sales_reads_the_same(sqlite_pos: Engine, mariadb_pos: Engine, day: int) -> None:
    kwargs = {"lookback": timedelta(hours=18)}
    left = extract_sales(sqlite_pos, DAYS[day], **kwargs)
    right = extract_sales(mariadb_pos, DAYS[day], **kwargs)
    assert left.counts()["orders"] > 0
    for name in ("orders", "lines", "payments", "refunds", "refund_lines"):
        same(getattr(left, name), getattr(right, name))


def test_the_week_by_outlet_by_shift_close_and_retry_reads_the_same(sqlite_pos: Engine, mariadb_pos: Engine) -> None:
    variants = [
        {"outlet_codes": ["JKT01", "SBY01"]},
        {"window_on": "shift_close"},
        {"retry_order_numbers": ["INV-JKT01-20261111-0017"], "retry_refund_numbers": ["RF-JKT01-0001"]},
    ]
    for kwargs in variants:
        window = DAYS[3] if "retry_order_numbers" in kwargs else WEEK
        left, right = extract_sales(sqlite_pos, window, **kwargs), extract_sales(mariadb_pos, window, **kwargs)
        assert left.counts()["orders"] > 0, kwargs
        for name in ("orders", "lines", "payments", "refunds", "refund_lines"):
            same(getattr(left, name), getattr(right, name))


def test_catch_up_plans_and_reads_agree(sqlite_pos: Engine, mariadb_pos: Engine) -> None:
    for outlet in ("JKT01", "BDG01", "SBY01"):
        for window_on in ("business_time", "shift_close"):
            kwargs = {"after": WEEK.start, "until": WEEK.end, "due_before": DAYS[5].end, "window_on": window_on,
                      "limit": 150}
            left, right = plan_catch_up(sqlite_pos, outlet, **kwargs), plan_catch_up(mariadb_pos, outlet, **kwargs)
            assert left == right and left.due > 0
    catch_up = CatchUp(WEEK.start, DAYS[4].end)
    left = extract_sales(sqlite_pos, DAYS[4], catch_up=catch_up)
    right = extract_sales(mariadb_pos, DAYS[4], catch_up=catch_up)
    same(left.orders, right.orders)
    same(left.refund_lines, right.refund_lines)


def test_stock_moves_read_the_same(sqlite_pos: Engine, mariadb_pos: Engine) -> None:
    for window in (WEEK, *DAYS):
        left, right = extract_stock(sqlite_pos, window), extract_stock(mariadb_pos, window)
        for name in ("transfers", "transfer_lines", "adjustments", "adjustment_lines"):
            same(getattr(left, name), getattr(right, name))
    week = extract_stock(mariadb_pos, WEEK, ["JKT01"], lookback=timedelta(hours=6))
    assert len(week.transfers) and len(week.adjustments)
    same(week.transfers, extract_stock(sqlite_pos, WEEK, ["JKT01"], lookback=timedelta(hours=6)).transfers)


def test_customers_and_products_read_the_same(sqlite_pos: Engine, mariadb_pos: Engine) -> None:
    same(extract_customers(sqlite_pos), extract_customers(mariadb_pos))
    same(extract_products(sqlite_pos), extract_products(mariadb_pos))
    since = WEEK.start - timedelta(days=30)
    same(extract_customers(sqlite_pos, since), extract_customers(mariadb_pos, since))
    # the duplicate customer code is found on MariaDB too (its first owner named on both customers)
    customers = extract_customers(mariadb_pos)
    owners = customers.loc[customers["customer_code"] == "C-0007", "code_owner_id"].tolist()
    assert len(owners) == 2 and len(set(owners)) == 1


def test_goods_receipts_are_written_once_on_mariadb_even_by_writers_racing(mariadb_url: str) -> None:
    """The inbound side writes the POS too: no ON CONFLICT on MariaDB, so the unique key decides the race."""
    import threading
    from decimal import Decimal

    from possync.pos.receiving import GoodsReceipt, ReceiptLine, record_goods_receipt, stock_level
    from support.pos_builder import Pos

    engine = make_engine(mariadb_url)
    shop = Pos(engine)
    shop.outlet("JKT01")
    shop.product("Kopi Toraja 250g", 85000, sku="KOP-001")
    receipt = GoodsReceipt(source="accurate", source_number="RI.1", integration="acc", outlet_code="JKT01",
                           received_at=datetime(2026, 12, 1, 3, tzinfo=UTC),
                           lines=[ReceiptLine("KOP-001", Decimal("5.000")), ReceiptLine("KOP-001", Decimal("1.500"))])
    results: list[bool] = []
    start = threading.Barrier(4)

    def write() -> None:
        start.wait()
        results.append(record_goods_receipt(engine, receipt))

    writers = [threading.Thread(target=write) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert sorted(results) == [False, False, False, True]
    assert stock_level(engine, "JKT01", "KOP-001") == Decimal("6.500")
    assert record_goods_receipt(engine, receipt) is False
    second = GoodsReceipt(source="accurate", source_number="RI.2", integration="acc", outlet_code="JKT01",
                          received_at=datetime(2026, 12, 2, 3, tzinfo=UTC), lines=[ReceiptLine("KOP-001", Decimal(2))])
    assert record_goods_receipt(engine, second) is True
    assert stock_level(engine, "JKT01", "KOP-001") == Decimal("8.500")
    engine.dispose()


def test_the_pipeline_stages_the_same_documents_and_failures_from_mariadb(
        sqlite_pos: Engine, mariadb_pos: Engine, tmp_path: Path) -> None:
    """Past the frames: sales, transfers and stock staged from each POS into a ledger of its own give equal
    documents (content and order) and the same failures with the same reasons."""
    from possync.ledger import SyncLedger
    from possync.pipeline import stage_sales, stage_stock
    from possync.transform.sales import transform_customers, transform_products

    outlets = ["JKT01", "BDG01", "SBY01"]
    staged: dict[str, list[Any]] = {}
    for name, pos in (("sqlite", sqlite_pos), ("mariadb", mariadb_pos)):
        ledger = SyncLedger.from_url(f"sqlite:///{tmp_path / f'{name}-ledger.db'}", ensure_schema=True)
        results = []
        for outlet in outlets:
            for day in DAYS:
                results.append(stage_sales(pos, ledger, integration="t", outlet_code=outlet, window=day,
                                           lookback=timedelta(hours=18)))
        for flow in ("transfers", "stock"):
            results.append(stage_stock(pos, ledger, integration="t", flow=flow, outlet_codes=[*outlets, "WH01"],
                                       mapped_outlets=[*outlets, "WH01"], window=WEEK, lookback=timedelta(0)))
        results.append(transform_customers(extract_customers(pos)))
        results.append(transform_products(extract_products(pos)))
        staged[name] = results

    def comparable(result: Any) -> Any:
        summary, documents = result
        if not hasattr(summary, "failed_records"):
            return result  # customers and products: (documents, rejections)
        failed = [(r.record_type, r.key, r.reason) for r in summary.failed_records]  # not when it began failing
        return (summary.staged, summary.skipped, summary.failed, summary.failures, failed, summary.skipped_records,
                documents)

    assert [comparable(r) for r in staged["mariadb"]] == [comparable(r) for r in staged["sqlite"]]
    documents = [d for summary, docs in staged["mariadb"][:-2] for d in docs]
    failures = [f for summary, _ in staged["mariadb"][:-2] for f in summary.failures]
    assert len(documents) > 2000
    assert {d.record_type for d in documents} >= {"invoice", "payment", "return", "transfer_out", "transfer_in"}
    assert any("has no SKU" in failure for failure in failures), failures


def test_a_machine_without_the_server_is_told_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    """No skip: without mariadb-server the fixture fails, naming the package and the way around it."""
    import mariadb_cluster

    monkeypatch.setattr(mariadb_cluster.shutil, "which", lambda _name: None)
    monkeypatch.setattr(mariadb_cluster.os, "access", lambda _path, _mode: False)
    with pytest.raises(RuntimeError, match=r"mariadb-install-db was not found: install the server \(apt-get install "
                                           r"mariadb-server.*POSSYNC_TEST_MARIADB_URL"):
        mariadb_cluster.start(tmp_path / "server")
