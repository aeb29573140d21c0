"""The reference POS schema on SQLite, PostgreSQL and MariaDB: exact amounts, UTC times, the constraints it
keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError

from possync.pos import schema
from possync.pos.schema import (
    create_schema,
    order_lines,
    orders,
    outlets,
    payments,
    products,
    registers,
    stock_adjustments,
    transfers,
)

NOW = datetime(2026, 11, 9, 3, 15, tzinfo=UTC)


@pytest.fixture
def pos(pos_engine: Engine) -> Engine:
    create_schema(pos_engine)
    with pos_engine.begin() as conn:
        conn.execute(outlets.insert(), [{"id": 1, "code": "JKT01", "name": "Kemang"}])
        conn.execute(registers.insert(), [{"id": 1, "outlet_id": 1, "code": "R1", "name": "Kasir 1"}])
        conn.execute(products.insert(), [_product(1, "KOP-001")])
    return pos_engine


def _product(pid: int, sku: str | None, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": pid,
        "sku": sku,
        "name": f"Product {pid}",
        "price": Decimal("25000.00"),
        "cost": Decimal("9000.00"),
        "tax_rate": Decimal("11.00"),
        "updated_at": NOW,
    }
    return row | overrides


def _order(oid: int, number: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": oid,
        "number": number,
        "outlet_id": 1,
        "register_id": 1,
        "status": "completed",
        "business_time": NOW,
        "committed_at": NOW,
        "tax_inclusive": False,
        "total_amount": Decimal("27750.00"),
    }
    return row | overrides


def test_schema_creates_every_table_and_is_idempotent(pos_engine: Engine) -> None:
    create_schema(pos_engine)
    create_schema(pos_engine)
    assert set(inspect(pos_engine).get_table_names()) >= set(schema.metadata.tables)


def test_money_and_quantity_round_trip_exactly(pos: Engine) -> None:
    price = Decimal("12345678.91")
    largest = Decimal("9999999999999999.99")  # Money is NUMERIC(18, 2): 16 digits before the point
    with pos.begin() as conn:
        conn.execute(products.insert(), [_product(2, "BIG-001", price=price, cost=largest)])
        conn.execute(orders.insert(), [_order(1, "INV-1")])
        conn.execute(
            order_lines.insert(),
            [
                {
                    "id": 1,
                    "order_id": 1,
                    "line_no": 1,
                    "product_id": 2,
                    "product_name": "Big",
                    "quantity": Decimal("1234.567"),
                    "unit_price": Decimal("0.01"),
                    "tax_rate": Decimal("11.00"),
                    "tax_amount": Decimal("1.37"),
                }
            ],
        )
    with pos.connect() as conn:
        got_price, got_cost = conn.execute(
            select(products.c.price, products.c.cost).where(products.c.id == 2)
        ).one()
        quantity, unit_price = conn.execute(select(order_lines.c.quantity, order_lines.c.unit_price)).one()
    assert (got_price, got_cost, quantity, unit_price) == (
        price,
        largest,
        Decimal("1234.567"),
        Decimal("0.01"),
    )
    assert all(type(v) is Decimal for v in (got_price, got_cost, quantity, unit_price))
    assert str(quantity) == "1234.567" and str(unit_price) == "0.01"


@pytest.mark.parametrize(
    ("value", "error"),
    [(25000.5, "refusing float"), (Decimal("1.005"), "more than 2 decimal places")],
)
def test_inexact_money_is_refused(pos: Engine, value: Any, error: str) -> None:
    with pytest.raises(StatementError, match=error), pos.begin() as conn:
        conn.execute(products.insert(), [_product(2, "BAD-001", price=value)])


def test_naive_datetime_is_refused(pos: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"), pos.begin() as conn:
        conn.execute(orders.insert(), [_order(1, "INV-1", business_time=datetime(2026, 11, 9, 10, 15))])


def test_local_times_are_stored_as_the_same_utc_instant(pos: Engine) -> None:
    jakarta = timezone(timedelta(hours=7))
    local = datetime(2026, 11, 9, 10, 15, 30, tzinfo=jakarta)
    with pos.begin() as conn:
        conn.execute(orders.insert(), [_order(1, "INV-1", business_time=local)])
    with pos.connect() as conn:
        stored = conn.execute(select(orders.c.business_time)).scalar_one()
    assert stored == local
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 3


def test_order_numbers_are_unique(pos: Engine) -> None:
    with pos.begin() as conn:
        conn.execute(orders.insert(), [_order(1, "INV-JKT01-20261109-0001")])
    with pytest.raises(IntegrityError), pos.begin() as conn:
        conn.execute(orders.insert(), [_order(2, "INV-JKT01-20261109-0001")])


def test_skus_may_be_missing_but_not_repeated(pos: Engine) -> None:
    with pos.begin() as conn:
        conn.execute(products.insert(), [_product(2, None), _product(3, None)])
    with pytest.raises(IntegrityError), pos.begin() as conn:
        conn.execute(products.insert(), [_product(4, "KOP-001")])


def test_text_compares_exactly_on_every_database(pos: Engine) -> None:
    # MariaDB's default collation ignores case and trailing spaces: 'kop-001' would be the same SKU as
    # 'KOP-001' there and not on SQLite or PostgreSQL. The reference schema's tables compare text as bytes.
    with pos.begin() as conn:
        conn.execute(products.insert(), [_product(2, "kop-001"), _product(3, "KOP-001 ")])
    with pos.connect() as conn:
        found = conn.execute(select(products.c.id).where(products.c.sku == "kop-001")).scalars().all()
        assert found == [2]
        ordered = conn.execute(select(products.c.sku).order_by(products.c.sku)).scalars().all()
        assert ordered == ["KOP-001", "KOP-001 ", "kop-001"]


def test_foreign_keys_are_enforced(pos: Engine) -> None:
    # SQLite only checks them with PRAGMA foreign_keys=ON, which make_engine sets.
    with pytest.raises(IntegrityError), pos.begin() as conn:
        conn.execute(orders.insert(), [_order(1, "INV-1", outlet_id=99)])


@pytest.mark.parametrize(
    ("table", "row"),
    [
        (outlets, {"id": 2, "code": "KIOSK1", "name": "Kiosk", "kind": "kiosk"}),
        (orders, _order(1, "INV-1", status="refunded")),
        (
            payments,
            {
                "id": 1,
                "order_id": 1,
                "seq": 1,
                "method": "bitcoin",
                "amount": Decimal("1.00"),
                "paid_at": NOW,
            },
        ),
        (
            transfers,
            {
                "id": 1,
                "number": "TO-1",
                "from_outlet_id": 1,
                "to_outlet_id": 1,
                "status": "lost",
                "committed_at": NOW,
            },
        ),
        (
            stock_adjustments,
            {
                "id": 1,
                "number": "ADJ-1",
                "outlet_id": 1,
                "kind": "theft",
                "business_time": NOW,
                "committed_at": NOW,
            },
        ),
    ],
    ids=["outlet kind", "order status", "payment method", "transfer status", "adjustment kind"],
)
def test_check_constraints_refuse_unknown_values(pos: Engine, table: Any, row: dict[str, Any]) -> None:
    if table is payments:
        with pos.begin() as conn:
            conn.execute(orders.insert(), [_order(1, "INV-1")])
    # MariaDB names the constraint ("CONSTRAINT `ck_orders_status` failed"), the others say "check"
    with pytest.raises(IntegrityError, match=r"(?i)check|CONSTRAINT `ck_"), pos.begin() as conn:
        conn.execute(table.insert(), [row])
