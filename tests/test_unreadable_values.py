"""Issue 15, problems 9 and 4: a value that cannot be read (text in a money column, a number beyond 64 bits,
a NULL where one is required, a business time that is empty, unparseable or in the future) fails its own
record with a reason naming the column and the value; the rest of the batch goes on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from possync.db import make_engine
from possync.pos import schema
from possync.pos.extract import Window, extract_customers, extract_products, extract_sales, extract_stock
from possync.transform.sales import SalesBatch, transform_customers, transform_products, transform_sales
from possync.transform.stock import transform_stock
from support.pos_builder import T0, Line, Pos

DAY = Window(T0 - timedelta(hours=3), T0 + timedelta(hours=21))  # 9 Nov 2026, Jakarta


def _shop(engine: Engine) -> Pos:
    shop = Pos(engine)
    shop.outlet("OUT-01")
    shop.outlet("OUT-02")
    shop.product("Kopi Susu", 25000)
    shop.product("Es Kopi", 20000)
    return shop


@pytest.fixture
def pos(sqlite_url: str) -> Iterator[Pos]:
    engine = make_engine(sqlite_url)
    try:
        yield _shop(engine)
    finally:
        engine.dispose()


@pytest.fixture
def any_pos(db_engine: Engine) -> Pos:
    return _shop(db_engine)


def store(pos: Pos, sql: str, **params: Any) -> None:
    """Write a value the way another program could: SQLite keeps whatever it is given, in any column."""
    with pos.engine.begin() as conn:
        conn.execute(text(sql), params)


def run(pos: Pos, window: Window = DAY, **kwargs: Any) -> SalesBatch:
    return transform_sales(extract_sales(pos.engine, window, **kwargs))


def reasons(batch: SalesBatch) -> dict[tuple[str, str], str]:
    return {(r.record_type, r.key): r.reason for r in batch.rejections}


def three_orders(pos: Pos) -> None:
    pos.order("INV-1", [Line("Kopi Susu")], at=T0)
    pos.order("INV-2", [Line("Es Kopi"), Line("Kopi Susu")], at=T0 + timedelta(minutes=1))
    pos.order("INV-3", [Line("Es Kopi")], at=T0 + timedelta(minutes=2))


def assert_only_inv2_fails(batch: SalesBatch, reason: str) -> None:
    assert reasons(batch)["invoice", "INV-2"] == reason
    assert reasons(batch)["payment", "INV-2/P1"] == f"invoice INV-2 was rejected: {reason}"
    assert [invoice.key for invoice in batch.invoices] == ["INV-1", "INV-3"]
    assert [payment.invoice_key for payment in batch.payments] == ["INV-1", "INV-3"]


# ------------------------------------------------------------------------------------- money columns


def test_text_in_an_order_money_column_fails_that_order_alone(pos: Pos) -> None:
    three_orders(pos)
    store(pos, "UPDATE orders SET total_amount = 'abc' WHERE number = 'INV-2'")

    assert_only_inv2_fails(run(pos), "orders.total_amount = 'abc' is not an amount")


def test_a_number_beyond_64_bits_fails_that_order_alone(pos: Pos) -> None:
    three_orders(pos)
    # SQLite keeps an integer beyond 64 bits as a float: not an exact amount.
    store(pos, "UPDATE orders SET tax_amount = 1e25 WHERE number = 'INV-2'")

    assert_only_inv2_fails(run(pos), "orders.tax_amount = 1e+25 is not an amount")


def test_an_amount_too_large_to_work_with_fails_that_order_alone(pos: Pos) -> None:
    three_orders(pos)
    # An integer SQLite accepts (just under 2**63 sen) that overflows once it is added up with the rest.
    store(pos, "UPDATE orders SET service_charge_amount = 9223372036854775807 WHERE number = 'INV-2'")

    batch = run(pos)

    assert reasons(batch)["invoice", "INV-2"].startswith(
        "orders.service_charge_amount = 92233720368547758.07 is too large"
    )
    assert [invoice.key for invoice in batch.invoices] == ["INV-1", "INV-3"]


def test_an_unreadable_order_line_fails_its_invoice_naming_the_line(pos: Pos) -> None:
    three_orders(pos)
    store(pos, "UPDATE order_lines SET unit_price = '20.000,00' WHERE line_no = 2 AND order_id = "
               "(SELECT id FROM orders WHERE number = 'INV-2')")

    assert_only_inv2_fails(run(pos), "line 2 ('Kopi Susu'): order_lines.unit_price = '20.000,00' is not an amount")


def test_an_unreadable_line_quantity_fails_its_invoice(pos: Pos) -> None:
    three_orders(pos)
    store(pos, "UPDATE order_lines SET quantity = 'two' WHERE line_no = 1 AND order_id = "
               "(SELECT id FROM orders WHERE number = 'INV-2')")

    assert_only_inv2_fails(run(pos), "line 1 ('Es Kopi'): order_lines.quantity = 'two' is not a quantity")


def test_an_unreadable_payment_fails_its_invoice_and_itself(pos: Pos) -> None:
    three_orders(pos)
    store(pos, "UPDATE payments SET amount = 'lunas' WHERE order_id = (SELECT id FROM orders WHERE number = 'INV-2')")

    assert_only_inv2_fails(run(pos), "payment INV-2/P1: payments.amount = 'lunas' is not an amount")


def test_an_unreadable_tendered_amount_is_not_needed_and_fails_nothing(pos: Pos) -> None:
    three_orders(pos)
    store(pos, "UPDATE payments SET tendered = 'x' WHERE order_id = (SELECT id FROM orders WHERE number = 'INV-2')")

    batch = run(pos)

    assert not batch.rejections
    assert [invoice.key for invoice in batch.invoices] == ["INV-1", "INV-2", "INV-3"]


def test_a_null_where_an_amount_is_required_fails_that_order(pos: Pos) -> None:
    three_orders(pos)
    frames = extract_sales(pos.engine, DAY)
    # The POS schema forbids it; another POS's frames (or a schema without the constraint) may not.
    frames.orders.loc[frames.orders["number"] == "INV-2", "rounding_amount"] = None
    frames.lines.loc[frames.lines["line_no"] == 2, "tax_amount"] = None

    batch = transform_sales(frames)

    assert reasons(batch)["invoice", "INV-2"] == (
        "orders.rounding_amount is empty (NULL); line 2 ('Kopi Susu'): order_lines.tax_amount is empty (NULL)"
    )
    assert [invoice.key for invoice in batch.invoices] == ["INV-1", "INV-3"]


def test_unreadable_refunds_and_refund_lines_fail_their_return_alone(pos: Pos) -> None:
    orders = [pos.order(f"INV-{n}", [Line("Kopi Susu", 2)], at=T0 + timedelta(minutes=n)) for n in (1, 2, 3)]
    for n, order in enumerate(orders, 1):
        pos.refund(f"RF-{n}", order, [(1, 1)], at=T0 + timedelta(hours=1, minutes=n))
    store(pos, "UPDATE refunds SET total_amount = 'abc' WHERE number = 'RF-1'")
    store(pos, "UPDATE refund_lines SET amount = 'x' WHERE refund_id = (SELECT id FROM refunds WHERE number = 'RF-2')")

    batch = run(pos)

    assert reasons(batch) == {
        ("return", "RF-1"): "refunds.total_amount = 'abc' is not an amount",
        ("return", "RF-2"): "line 1 ('Kopi Susu'): refund_lines.amount = 'x' is not an amount",
    }
    assert [document.key for document in batch.returns] == ["RF-3"]
    assert len(batch.invoices) == 3


def test_an_overflowing_line_fails_its_order_on_every_database(any_pos: Pos) -> None:
    # Within NUMERIC(18, 3) × NUMERIC(18, 2), so PostgreSQL stores it; beyond 64 bits once multiplied.
    any_pos.product("Gedung", "1.00", tax_rate="0")
    any_pos.order("INV-1", [Line("Kopi Susu")], at=T0)
    any_pos.order("INV-2", [Line("Gedung")], at=T0 + timedelta(minutes=1))
    any_pos.order("INV-3", [Line("Es Kopi")], at=T0 + timedelta(minutes=2))
    # stored by another program: each value fits its column, their product does not fit any amount
    with any_pos.engine.begin() as conn:
        conn.execute(update(schema.order_lines)
                     .where(schema.order_lines.c.product_id == any_pos.products["Gedung"]["id"])
                     .values(quantity=Decimal("999999999999999"), unit_price=Decimal("9999999999999999.99")))

    batch = run(any_pos)

    assert reasons(batch)["invoice", "INV-2"].startswith(
        "line 1 ('Gedung'): order_lines.quantity × order_lines.unit_price = 999999999999999.000 × "
        "9999999999999999.99 is too large"
    )
    assert [invoice.key for invoice in batch.invoices] == ["INV-1", "INV-3"]


# ------------------------------------------------------------------------------------- business time


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        pytest.param("''", "order INV-2 has no business time", id="empty"),
        pytest.param("'kemarin'", "order INV-2 business time 'kemarin' is not a time", id="unparseable"),
    ],
)
def test_an_order_whose_business_time_cannot_be_read_fails_and_is_found(pos: Pos, stored: str, reason: str) -> None:
    three_orders(pos)
    store(pos, f"UPDATE orders SET business_time = {stored} WHERE number = 'INV-2'")

    batch = run(pos, lookback=timedelta(hours=24))

    assert reasons(batch)["invoice", "INV-2"] == reason
    assert reasons(batch)["payment", "INV-2/P1"] == f"invoice INV-2 was rejected: {reason}"
    assert [invoice.key for invoice in batch.invoices] == ["INV-1", "INV-3"]


def test_an_order_dated_in_the_future_fails_in_the_window_it_was_committed(any_pos: Pos) -> None:
    three_orders(any_pos)
    future = datetime(2031, 1, 1, 3, tzinfo=UTC)
    any_pos.order("INV-9", [Line("Es Kopi")], at=future, committed_at=T0 + timedelta(minutes=5))

    batch = run(any_pos, lookback=timedelta(hours=24))

    assert reasons(batch)["invoice", "INV-9"] == (
        "order INV-9 business time 2031-01-01 10:00 is in the future "
        "(it reached the POS server at 2026-11-09 10:05)"
    )
    assert [invoice.key for invoice in batch.invoices] == ["INV-1", "INV-2", "INV-3"]
    # Found once, by the window its commit falls in; not by the next one.
    after = run(any_pos, Window(DAY.end, DAY.end + timedelta(days=1)), lookback=timedelta(hours=1))
    assert not after.rejections and not after.invoices


def test_an_unreadable_refund_business_time_fails_the_return(pos: Pos) -> None:
    order = pos.order("INV-1", [Line("Kopi Susu", 2)], at=T0)
    pos.refund("RF-1", order, [(1, 1)], at=T0 + timedelta(hours=1))
    store(pos, "UPDATE refunds SET business_time = 'x' WHERE number = 'RF-1'")

    batch = run(pos, lookback=timedelta(hours=24))

    assert reasons(batch)["return", "RF-1"] == "refund RF-1 business time 'x' is not a time"


def test_an_unreadable_payment_time_fails_its_order(pos: Pos) -> None:
    three_orders(pos)
    store(pos, "UPDATE payments SET paid_at = 'x' WHERE order_id = (SELECT id FROM orders WHERE number = 'INV-2')")

    assert_only_inv2_fails(run(pos), "payment INV-2/P1: payments.paid_at = 'x' is not a time")


# ------------------------------------------------------------------------------------ master data


def test_unreadable_customers_and_products_fail_alone(pos: Pos) -> None:
    pos.customer("Budi", "C-1")
    pos.customer("Sari", "C-2")
    store(pos, "UPDATE customers SET updated_at = 'x' WHERE name = 'Budi'")
    store(pos, "UPDATE products SET price = 'mahal' WHERE name = 'Es Kopi'")

    customers, customer_rejections = transform_customers(extract_customers(pos.engine))
    items, item_rejections = transform_products(extract_products(pos.engine))

    assert [c.name for c in customers] == ["Sari"]
    assert [(r.key, r.reason) for r in customer_rejections] == [
        (f"CUST-{pos.customers['Budi']}", "customers.updated_at = 'x' is not a time")]
    assert [i.name for i in items] == ["Kopi Susu"]
    assert [r.reason for r in item_rejections] == ["products.price = 'mahal' is not an amount"]


# ------------------------------------------------------------------------------------------- stock


def stock_shop(pos: Pos) -> None:
    store(pos, "INSERT INTO transfers (id, number, from_outlet_id, to_outlet_id, status, sent_at, received_at, "
               "committed_at) VALUES (1, 'TO-1', :a, :b, 'received', :t, :t, :t), "
               "(2, 'TO-2', :a, :b, 'received', :t, :t, :t)",
          a=pos.outlets["OUT-01"]["id"], b=pos.outlets["OUT-02"]["id"], t="2026-11-09 04:00:00.000000")
    store(pos, "INSERT INTO transfer_lines (transfer_id, line_no, product_id, quantity_sent, quantity_received) "
               "VALUES (1, 1, :p, 2000, 2000), (2, 1, :p, 3000, 3000)", p=pos.products["Es Kopi"]["id"])
    store(pos, "INSERT INTO stock_adjustments (id, number, outlet_id, kind, business_time, committed_at) VALUES "
               "(1, 'ADJ-1', :a, 'adjustment', :t, :t), (2, 'ADJ-2', :a, 'adjustment', :t, :t), "
               "(3, 'ST-1', :a, 'stock_take', :t, :t)", a=pos.outlets["OUT-01"]["id"],
          t="2026-11-09 04:00:00.000000")
    store(pos, "INSERT INTO stock_adjustment_lines (adjustment_id, line_no, product_id, quantity_change, "
               "counted_quantity, expected_quantity) VALUES (1, 1, :p, -1000, NULL, NULL), "
               "(2, 1, :p, -1000, NULL, NULL), (3, 1, :p, -1000, 4000, 5000)", p=pos.products["Es Kopi"]["id"])


def stock_batch(pos: Pos):
    return transform_stock(extract_stock(pos.engine, DAY, ["OUT-01", "OUT-02"]), until=DAY.end)


def test_unreadable_stock_values_fail_their_document_alone(pos: Pos) -> None:
    stock_shop(pos)
    store(pos, "UPDATE transfer_lines SET quantity_sent = 'dua' WHERE transfer_id = 1")
    store(pos, "UPDATE stock_adjustment_lines SET quantity_change = 'x' WHERE adjustment_id = 1")
    store(pos, "UPDATE stock_adjustment_lines SET counted_quantity = 'x' WHERE adjustment_id = 3")

    batch = stock_batch(pos)

    assert {(r.record_type, r.key): r.reason for r in batch.rejections} == {
        ("transfer_out", "TO-1"): "line 1 ('Es Kopi'): transfer_lines.quantity_sent = 'dua' is not a quantity",
        ("transfer_in", "TO-1"): "line 1 ('Es Kopi'): transfer_lines.quantity_sent = 'dua' is not a quantity",
        ("adjustment", "ADJ-1"): "line 1 ('Es Kopi'): stock_adjustment_lines.quantity_change = 'x' is not a quantity",
        ("stock_take", "ST-1"): "line 1 ('Es Kopi'): stock_adjustment_lines.counted_quantity = 'x' is not a quantity",
    }
    assert [d.key for d in batch.transfer_outs] == ["TO-2"]
    assert [d.key for d in batch.adjustments] == ["ADJ-2"]


def test_unreadable_stock_times_fail_their_document(pos: Pos) -> None:
    stock_shop(pos)
    store(pos, "UPDATE transfers SET received_at = 'x' WHERE number = 'TO-1'")
    store(pos, "UPDATE stock_adjustments SET business_time = '' WHERE number = 'ADJ-1'")

    batch = transform_stock(extract_stock(pos.engine, DAY, ["OUT-01", "OUT-02"], lookback=timedelta(hours=24)),
                            until=DAY.end)

    assert {(r.record_type, r.key): r.reason for r in batch.rejections} == {
        ("transfer_in", "TO-1"): "transfer TO-1 received time 'x' is not a time",
        ("adjustment", "ADJ-1"): "adjustment ADJ-1 has no business time",
    }
    assert [d.key for d in batch.transfer_outs] == ["TO-1", "TO-2"]


def test_a_transfer_to_an_outlet_not_in_the_pos_fails_its_out_side(pos: Pos) -> None:
    stock_shop(pos)
    with pos.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql("UPDATE transfers SET to_outlet_id = 999 WHERE number = 'TO-1'")

    batch = stock_batch(pos)

    assert {(r.record_type, r.key): r.reason for r in batch.rejections} == {
        ("transfer_out", "TO-1"): "transfer TO-1 goes to outlet id 999, which is not in the POS",
    }
    assert [d.key for d in batch.transfer_outs] == ["TO-2"]


def test_a_transfer_from_an_outlet_not_in_the_pos_fails_its_in_side(pos: Pos) -> None:
    stock_shop(pos)
    with pos.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql("UPDATE transfers SET from_outlet_id = 998 WHERE number = 'TO-2'")

    batch = stock_batch(pos)

    assert {(r.record_type, r.key): r.reason for r in batch.rejections} == {
        ("transfer_in", "TO-2"): "transfer TO-2 comes from outlet id 998, which is not in the POS",
    }
    assert [d.key for d in batch.transfer_ins] == ["TO-1"]
    assert [d.key for d in batch.transfer_outs] == ["TO-1"]
