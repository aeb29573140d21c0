"""Sales transform: POS orders and refunds become exact invoices, payments and returns; broken records are
rejected one at a time with a reason an operator can act on."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from possync.db import make_engine
from possync.pos.extract import SalesFrames, Window, extract_customers, extract_products, extract_sales
from possync.transform.sales import (
    SalesBatch,
    format_quantity,
    format_rupiah,
    from_minor,
    to_minor,
    transform_customers,
    transform_products,
    transform_sales,
)
from possync_devkit.demo_pos import BROKEN_RECORDS, DemoSpec, expected_broken_records, generate
from support.pos_builder import T0, D, Line, Pos, allocate

DAY = Window(T0 - timedelta(hours=3), T0 + timedelta(hours=21))  # 9 Nov 2026, Jakarta


@pytest.fixture
def pos(sqlite_url: str) -> Iterator[Pos]:
    engine = make_engine(sqlite_url)
    shop = Pos(engine)
    shop.outlet("OUT-01")
    shop.product("Kopi Susu", 25000)
    shop.product("Es Kopi", 20000)
    shop.product("Roti", 15500)
    shop.product("Es Teh", 10000)
    shop.product("Nasi Goreng", 35150)
    try:
        yield shop
    finally:
        engine.dispose()


def frames(pos: Pos, window: Window = DAY) -> SalesFrames:
    return extract_sales(pos.engine, window)


def run(pos: Pos, window: Window = DAY) -> SalesBatch:
    return transform_sales(frames(pos, window))


def only_invoice(batch: SalesBatch):
    assert not batch.rejections, batch.rejections
    assert len(batch.invoices) == 1
    return batch.invoices[0]


def reasons(batch: SalesBatch) -> dict[tuple[str, str], str]:
    return {(r.record_type, r.key): r.reason for r in batch.rejections}


# ------------------------------------------------------------------------------------------ formats


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0", "Rp 0"),
        ("52000.00", "Rp 52.000"),
        ("1234567", "Rp 1.234.567"),
        ("1234.5", "Rp 1.234,50"),
        ("0.05", "Rp 0,05"),
        ("999.99", "Rp 999,99"),
        ("-5000", "-Rp 5.000"),
        ("-0.50", "-Rp 0,50"),
    ],
)
def test_rupiah_is_written_the_indonesian_way(amount: str, text: str) -> None:
    assert format_rupiah(Decimal(amount)) == text


@pytest.mark.parametrize(
    ("quantity", "text"), [("2.000", "2"), ("1.500", "1,5"), ("0.250", "0,25"), ("1200", "1.200")]
)
def test_quantities_are_written_without_trailing_zeros(quantity: str, text: str) -> None:
    assert format_quantity(Decimal(quantity)) == text


def test_minor_units_round_trip_exactly_and_refuse_what_is_not_exact() -> None:
    values = [Decimal("0.01"), Decimal("-12.34"), Decimal("99999999999999.99"), Decimal("0.00")]
    minor = to_minor(values, 2)
    assert minor.dtype.name == "int64"
    assert minor.tolist() == [1, -1234, 9999999999999999, 0]
    back = from_minor(minor)
    assert back == values
    assert [value.as_tuple().exponent for value in back] == [-2, -2, -2, -2]
    with pytest.raises(ValueError, match="not exact"):
        to_minor([Decimal("1.005")], 2)
    with pytest.raises(ValueError, match="found float"):
        to_minor([1.5], 2)  # a float is refused, even one that looks exact
    with pytest.raises(ValueError):
        to_minor([None], 2)


# ------------------------------------------------------------------------------------ valid orders


def test_tax_exclusive_order_adds_tax_on_top(pos: Pos) -> None:
    pos.customer("Budi Santoso", "C-0007")
    pos.order("INV-1", [Line("Kopi Susu", 2), Line("Roti", 1)], customer="Budi Santoso")

    invoice = only_invoice(run(pos))

    assert invoice.key == "INV-1"
    assert invoice.tax_inclusive is False
    assert invoice.customer_key == f"CUST-{pos.customers['Budi Santoso']}"
    assert invoice.outlet_code == "OUT-01"
    assert invoice.shift_number == "OUT-01-S1"
    assert invoice.business_time.tzinfo == ZoneInfo("Asia/Jakarta")
    assert invoice.business_time.hour == 10
    assert invoice.business_time == T0
    assert [(line.sku, line.gross, line.discount, line.tax) for line in invoice.lines] == [
        ("SKU-001", D("50000.00"), D("0.00"), D("5500.00")),
        ("SKU-003", D("15500.00"), D("0.00"), D("1705.00")),
    ]
    assert invoice.total == D("72705.00")
    invoice.check_totals()


def test_tax_inclusive_order_splits_prices_into_net_and_tax(pos: Pos) -> None:
    pos.order("INV-2", [Line("Kopi Susu", 2, price=27750), Line("Es Teh", 1)], inclusive=True)

    invoice = only_invoice(run(pos))

    assert invoice.tax_inclusive is True
    first, second = invoice.lines
    # 2 × 27.750 includes 11 %: 55.500 = 50.000 + 5.500.
    assert (first.unit_price, first.gross, first.discount, first.tax) == (
        D("27750.00"),
        D("50000.00"),
        D("0.00"),
        D("5500.00"),
    )
    # 10.000 × 11/111 = 990,99 tax; the rest is net.
    assert (second.gross, second.tax) == (D("9009.01"), D("990.99"))
    assert invoice.total == D("65500.00")
    assert invoice.gross_total - invoice.discount_total + invoice.tax_total == invoice.total


def test_line_and_order_discounts_are_allocated_to_the_sen_exclusive(pos: Pos) -> None:
    # Bases 10.000 / 10.000 / 10.000 share a Rp 1.000 order discount: 333,33 each and the last sen goes to
    # the earlier line of the tie.
    pos.order(
        "INV-3",
        [
            Line("Kopi Susu", 1, price=10000),
            Line("Roti", 1, price=12000, discount=2000),
            Line("Es Teh", 2, price=5000),
        ],
        discount=1000,
    )

    invoice = only_invoice(run(pos))

    assert [(line.gross, line.discount, line.tax) for line in invoice.lines] == [
        (D("10000.00"), D("333.34"), D("1063.33")),
        (D("12000.00"), D("2333.33"), D("1063.33")),
        (D("10000.00"), D("333.33"), D("1063.33")),
    ]
    assert invoice.discount_total == D("3000.00")  # 2.000 on the line + the 1.000 order discount
    assert invoice.total == D("32189.99")
    invoice.check_totals()


def test_line_and_order_discounts_are_allocated_to_the_sen_inclusive(pos: Pos) -> None:
    pos.order(
        "INV-4",
        [
            Line("Kopi Susu", 1, price=10000),
            Line("Roti", 1, price=12000, discount=2000),
            Line("Es Teh", 2, price=5000),
        ],
        discount=1000,
        inclusive=True,
    )

    invoice = only_invoice(run(pos))

    assert [(line.gross, line.discount, line.tax) for line in invoice.lines] == [
        (D("9009.01"), D("300.31"), D("957.96")),
        (D("10810.81"), D("2102.10"), D("957.96")),
        (D("9009.01"), D("300.30"), D("957.96")),
    ]
    # Each line: net + tax is what the customer paid for it after discounts.
    assert [line.net + line.tax for line in invoice.lines] == [D("9666.66"), D("9666.67"), D("9666.67")]
    assert invoice.total == D("29000.00")
    invoice.check_totals()


def test_service_charge_and_cash_rounding_are_carried_to_the_invoice(pos: Pos) -> None:
    pos.order("INV-5", [Line("Nasi Goreng", 1)], service_rate=5, round_to=100)

    invoice = only_invoice(run(pos))

    assert invoice.lines[0].tax == D("3866.50")
    assert invoice.service_charge == D("1757.50")
    assert invoice.rounding == D("26.00")  # 40.774 rounds to 40.800 at the till
    assert invoice.total == D("40800.00")
    invoice.check_totals()


def test_split_payments_become_one_payment_per_tender(pos: Pos) -> None:
    order = pos.order(
        "INV-6", [Line("Kopi Susu", 2)], payments=[("card", 30000), ("qris", 20000), ("cash", None)]
    )

    batch = run(pos)

    assert [(p.key, p.invoice_key, p.method, p.amount) for p in batch.payments] == [
        ("INV-6/P1", "INV-6", "card", D("30000.00")),
        ("INV-6/P2", "INV-6", "qris", D("20000.00")),
        ("INV-6/P3", "INV-6", "cash", D("5500.00")),
    ]
    assert sum(p.amount for p in batch.payments) == order.total
    assert batch.payments[0].reference == "REF-INV-6-1"
    assert batch.payments[2].reference is None
    assert batch.payments[0].paid_at.tzinfo == ZoneInfo("Asia/Jakarta")


def test_partial_refunds_become_returns_net_of_tax(pos: Pos) -> None:
    inclusive = pos.order("INV-7", [Line("Es Kopi", 3), Line("Roti", 1)], inclusive=True)
    exclusive = pos.order("INV-8", [Line("Es Kopi", 2)], at=T0 + timedelta(minutes=5))
    pos.refund("RF-1", inclusive, [(1, 1)])
    pos.refund("RF-2", exclusive, [(1, 1)], at=T0 + timedelta(hours=3))

    batch = run(pos)

    assert not batch.rejections
    first, second = batch.returns
    assert (first.key, first.invoice_key, first.tax_inclusive) == ("RF-1", "INV-7", True)
    # 20.000 paid including 11 % tax: 18.018,02 net + 1.981,98 tax.
    assert [(line.line_no, line.sku, line.quantity, line.net, line.tax) for line in first.lines] == [
        (1, "SKU-002", D("1.000"), D("18018.02"), D("1981.98"))
    ]
    assert first.total == D("20000.00")
    assert (second.key, second.tax_inclusive) == ("RF-2", False)
    assert [(line.net, line.tax) for line in second.lines] == [(D("20000.00"), D("2200.00"))]
    assert second.total == D("22200.00")
    for document in batch.returns:
        document.check_totals()
        assert document.business_time.tzinfo == ZoneInfo("Asia/Jakarta")


def test_a_second_refund_of_the_same_line_counts_what_was_already_returned(pos: Pos) -> None:
    order = pos.order("INV-9", [Line("Es Kopi", 2)])
    pos.refund("RF-1", order, [(1, 1)])
    pos.refund("RF-2", order, [(1, 1)], at=T0 + timedelta(hours=4))
    pos.refund("RF-3", order, [(1, 1)], at=T0 + timedelta(hours=5))

    batch = run(pos)

    assert [document.key for document in batch.returns] == ["RF-1", "RF-2"]
    assert reasons(batch) == {
        ("return", "RF-3"): "refund RF-3 returns 1 × 'Es Kopi' but only 2 were sold and 2 already returned"
    }


def _overpay(pos: Pos, number: str, amount: str) -> None:
    """The till paid back ``amount`` on the refund's one line (and in its total), whatever it returned."""
    from sqlalchemy import select, update

    from possync.pos import schema

    with pos.engine.begin() as conn:
        refund_id = conn.execute(select(schema.refunds.c.id).where(schema.refunds.c.number == number)).scalar_one()
        conn.execute(update(schema.refund_lines).where(schema.refund_lines.c.refund_id == refund_id)
                     .values(amount=D(amount), tax_amount=D("0.00")))
        conn.execute(update(schema.refunds).where(schema.refunds.c.id == refund_id).values(total_amount=D(amount)))


def test_a_refund_paying_back_more_than_its_order_charged_fails_with_the_amounts(pos: Pos) -> None:
    order = pos.order("INV-20", [Line("Es Kopi", 1)], service_rate=5)
    pos.refund("RF-20", order, [(1, 1)])
    _overpay(pos, "RF-20", "99000.00")

    batch = run(pos)

    assert [document.key for document in batch.invoices] == ["INV-20"] and batch.returns == []
    (reason,) = reasons(batch).values()
    assert reason.startswith("refund RF-20 pays back Rp 99.000 but only Rp ")
    assert "of order INV-20 remains refundable (it charged Rp " in reason


def test_refunds_together_may_not_pay_back_more_than_the_order_charged_for_goods(pos: Pos) -> None:
    order = pos.order("INV-21", [Line("Es Kopi", 2)], service_rate=5)
    first = pos.refund("RF-21", order, [(1, 1)])
    pos.refund("RF-22", order, [(1, 1)], at=T0 + timedelta(hours=3))
    _overpay(pos, "RF-22", str(first + D("0.01") + first))  # one sen more than what is left

    batch = run(pos)

    assert [document.key for document in batch.returns] == ["RF-21"]
    reason = reasons(batch)["return", "RF-22"]
    assert "remains refundable" in reason and "earlier refunds paid back" in reason


def test_voided_orders_are_skipped_not_failed(pos: Pos) -> None:
    pos.order("INV-10", [Line("Kopi Susu", 1)], status="voided", void_reason="customer changed their mind")
    pos.order("INV-11", [Line("Kopi Susu", 1)], status="voided")
    pos.order("INV-12", [Line("Kopi Susu", 1)])

    batch = run(pos)

    assert [invoice.key for invoice in batch.invoices] == ["INV-12"]
    assert batch.rejections == []
    skipped = {(s.record_type, s.key): s.reason for s in batch.skipped}
    assert skipped == {
        ("invoice", "INV-10"): "voided at the till: customer changed their mind",
        ("invoice", "INV-11"): "voided at the till: no reason given",
        ("payment", "INV-10/P1"): "invoice INV-10 was voided at the till",
        ("payment", "INV-11/P1"): "invoice INV-11 was voided at the till",
    }
    assert [p.key for p in batch.payments] == ["INV-12/P1"]


def test_documents_come_oldest_first(pos: Pos) -> None:
    pos.order("INV-B", [Line("Roti", 1)], at=T0 + timedelta(hours=2))
    pos.order("INV-C", [Line("Roti", 1)], at=T0)
    pos.order("INV-A", [Line("Roti", 1)], at=T0 + timedelta(hours=2))
    pos.order("INV-D", [Line("Roti", 1)], at=T0 - timedelta(hours=1))

    batch = run(pos)

    assert [invoice.key for invoice in batch.invoices] == ["INV-D", "INV-C", "INV-A", "INV-B"]
    assert [payment.invoice_key for payment in batch.payments] == ["INV-D", "INV-C", "INV-A", "INV-B"]


def test_amounts_are_exact_decimals_with_two_places(pos: Pos) -> None:
    pos.order("INV-13", [Line("Es Teh", "0.333", price="12345.67")], inclusive=True, discount="0.01")

    invoice = only_invoice(run(pos))

    line = invoice.lines[0]
    for value in (
        invoice.total,
        invoice.service_charge,
        invoice.rounding,
        line.gross,
        line.discount,
        line.tax,
    ):
        assert type(value) is Decimal
        assert value.as_tuple().exponent == -2
    assert invoice.lines[0].quantity == D("0.333")


def test_huge_amounts_stay_exact_beyond_int64_products(pos: Pos) -> None:
    # 5.000 × Rp 900.000.000.000: the product in thousandths × sen overflows int64, the result does not.
    pos.product("Gedung", "900000000000.00", tax_rate="0")
    pos.order("INV-14", [Line("Gedung", "5000")], discount="1000000.01")

    invoice = only_invoice(run(pos))

    assert invoice.lines[0].gross == D("4500000000000000.00")
    assert invoice.total == D("4499999998999999.99")


def test_random_orders_reconcile_to_the_sen(pos: Pos) -> None:
    """Independent arithmetic (the test till, in Decimal) against the transform's (int64), many shapes."""
    rng = random.Random(20261109)
    pos.product("Beras (kg)", "13999.99", tax_rate="0", unit="kg")
    pos.product("Pulsa", "10000", tax_rate="12")
    names = ["Kopi Susu", "Es Kopi", "Roti", "Es Teh", "Nasi Goreng", "Beras (kg)", "Pulsa"]
    sold = {}
    for n in range(150):
        lines = [
            Line(
                rng.choice(names),
                rng.choice(["1", "2", "3", "0.25", "1.337", "12"]),
                price=rng.choice([None, "999.99", "12345.50", "7"]),
                discount=rng.choice(["0", "0", "1.00", "0.50"]),
            )
            for _ in range(rng.randint(1, 6))
        ]
        number = f"INV-R{n:03d}"
        sold[number] = pos.order(
            number,
            lines,
            at=T0 + timedelta(minutes=n),
            inclusive=rng.random() < 0.5,
            discount=rng.choice(["0", "0.01", "0.02", "1.99", "500", "1234.56"]),
            service_rate=rng.choice(["0", "5", "7.5"]),
            round_to=rng.choice([None, "100", "500"]),
        )

    batch = run(pos)

    rejected = {r.key for r in batch.rejections if r.record_type == "invoice"}
    # Only orders whose discount exceeds their lines may be refused, and with that reason.
    for rejection in batch.rejections:
        assert "is more than its lines" in rejection.reason, rejection
    assert len(batch.invoices) + len(rejected) == 150
    assert len(batch.invoices) > 120
    for invoice in batch.invoices:
        order = sold[invoice.key]
        invoice.check_totals()
        assert invoice.total == order.total
        assert invoice.tax_total == order.tax
        assert sum((line.share for line in order.lines), D("0.00")) == order.discount
        for line, till in zip(invoice.lines, order.lines, strict=True):
            assert line.tax == till.tax
            if order.tax_inclusive:
                # What the customer paid for the line after discounts, split into net and tax.
                assert line.net + line.tax == till.taxable
            else:
                assert (line.gross, line.discount) == (till.gross, till.discount + till.share)


def test_allocation_helper_matches_the_documented_rule() -> None:
    # The test till's own rule, pinned: ties go to the earlier line, shares sum exactly.
    assert allocate(D("0.02"), [D("1"), D("1"), D("1")]) == [D("0.01"), D("0.01"), D("0.00")]
    assert sum(allocate(D("1000"), [D("27750"), D("10000"), D("45500")])) == D("1000")


# ----------------------------------------------------------------------------------- broken orders


def test_product_without_sku_rejects_the_order_and_its_payments(pos: Pos) -> None:
    pos.product("Kopi Susu Gula Aren", 28000, sku=None)
    pos.order(
        "INV-20",
        [Line("Roti", 1), Line("Kopi Susu Gula Aren", 1)],
        payments=[("card", 10000), ("cash", None)],
    )

    batch = run(pos)

    assert batch.invoices == [] and batch.payments == []
    assert reasons(batch) == {
        ("invoice", "INV-20"): "product 'Kopi Susu Gula Aren' has no SKU",
        ("payment", "INV-20/P1"): "invoice INV-20 was rejected: product 'Kopi Susu Gula Aren' has no SKU",
        ("payment", "INV-20/P2"): "invoice INV-20 was rejected: product 'Kopi Susu Gula Aren' has no SKU",
    }
    rejection = batch.rejections[0]
    assert rejection.outlet_code == "OUT-01"
    assert rejection.business_time == T0
    assert rejection.business_time.tzinfo == ZoneInfo("Asia/Jakarta")


def test_blank_sku_is_no_sku(pos: Pos) -> None:
    pos.product("Kopi Susu Blank", 28000, sku="   ")
    pos.order("INV-21", [Line("Kopi Susu Blank", 1)])

    assert reasons(run(pos))["invoice", "INV-21"] == "product 'Kopi Susu Blank' has no SKU"


@pytest.mark.parametrize(
    ("lines", "stored", "payments", "reason"),
    [
        pytest.param([], {"total_amount": 0}, [], "order has no lines", id="no lines"),
        pytest.param(
            [Line("Es Kopi", 0)],
            {},
            None,
            "line 1 ('Es Kopi') has quantity 0, not a positive number",
            id="zero quantity",
        ),
        pytest.param(
            [Line("Roti", 1), Line("Es Kopi", -1)],
            {},
            None,
            "line 2 ('Es Kopi') has quantity -1, not a positive number",
            id="negative quantity",
        ),
        pytest.param(
            [Line("Es Kopi", 1, price=-5000)],
            {},
            [("cash", 1)],
            "line 1 ('Es Kopi') has a negative price (-Rp 5.000)",
            id="negative price",
        ),
        pytest.param(
            [Line("Es Kopi", 1, discount=25000)],
            {},
            [("cash", 1)],
            "line 1 ('Es Kopi') discount Rp 25.000 is more than the line's Rp 20.000",
            id="line discount above its amount",
        ),
        pytest.param(
            [Line("Es Kopi", 1, price=45946, discount="5946")],
            {"total_amount": 52000},
            None,
            "order total Rp 52.000 does not match its lines (Rp 44.400)",
            id="total does not reconcile",
        ),
        pytest.param(
            [Line("Es Kopi", 1, price="45945.95")],
            {"tax_amount": 5000},
            None,
            "order tax Rp 5.000 does not match its lines' tax (Rp 5.054,05)",
            id="tax does not reconcile",
        ),
        pytest.param(
            [Line("Es Kopi", 2, price="23423.42")],
            {},
            [("card", 40000), ("cash", 7000)],
            "payments add up to Rp 47.000 but the order total is Rp 51.999,99",
            id="payments short",
        ),
        pytest.param(
            [Line("Es Kopi", 1)],
            {"discount_amount": -100, "total_amount": 22300},
            None,
            "order discount is negative (-Rp 100)",
            id="negative order discount",
        ),
    ],
)
def test_broken_order_is_rejected_with_a_plain_reason(
    pos: Pos, lines: list[Line], stored: dict, payments: list | None, reason: str
) -> None:
    pos.order("INV-OK1", [Line("Roti", 1)], at=T0 - timedelta(minutes=1))
    pos.order("INV-30", lines, payments=payments, **stored)
    pos.order("INV-OK2", [Line("Kopi Susu", 1)], at=T0 + timedelta(minutes=1))

    batch = run(pos)

    assert reasons(batch)["invoice", "INV-30"] == reason
    assert {r.key for r in batch.rejections if r.record_type == "invoice"} == {"INV-30"}
    # One broken order never holds up the others.
    assert [invoice.key for invoice in batch.invoices] == ["INV-OK1", "INV-OK2"]
    assert [payment.invoice_key for payment in batch.payments] == ["INV-OK1", "INV-OK2"]
    assert all(
        r.reason == f"invoice INV-30 was rejected: {reason}"
        for r in batch.rejections
        if r.record_type == "payment"
    )


def test_the_reconciliation_examples_read_as_documented(pos: Pos) -> None:
    pos.product("Paket", 51000, tax_rate="0")
    pos.order("INV-40", [Line("Paket", 1)], total_amount=52000)
    pos.order(
        "INV-41", [Line("Paket", 1)], payments=[("cash", 47000)], total_amount=52000, rounding_amount=1000
    )

    assert reasons(run(pos)) == {
        ("invoice", "INV-40"): "order total Rp 52.000 does not match its lines (Rp 51.000)",
        (
            "payment",
            "INV-40/P1",
        ): "invoice INV-40 was rejected: order total Rp 52.000 does not match its lines (Rp 51.000)",
        ("invoice", "INV-41"): "payments add up to Rp 47.000 but the order total is Rp 52.000",
        ("payment", "INV-41/P1"): "invoice INV-41 was rejected: payments add up to Rp 47.000 but the order "
        "total is Rp 52.000",
    }


def test_several_problems_are_reported_together(pos: Pos) -> None:
    pos.product("Kopi Tanpa SKU", 18000, sku=None)
    pos.order("INV-42", [Line("Kopi Tanpa SKU", 1)], payments=[("cash", 10000)])

    assert reasons(run(pos))["invoice", "INV-42"] == (
        "product 'Kopi Tanpa SKU' has no SKU; payments add up to Rp 10.000 but the order total is Rp 19.980"
    )


def test_sale_at_a_warehouse_is_rejected(pos: Pos) -> None:
    pos.outlet("WH-01", kind="warehouse")
    pos.order("INV-43", [Line("Roti", 1)], outlet="WH-01")

    assert reasons(run(pos))["invoice", "INV-43"] == (
        "outlet WH-01 is a warehouse, and sales are only taken at outlets"
    )


def test_unknown_timezone_is_rejected_not_guessed(pos: Pos) -> None:
    pos.outlet("OUT-XX", timezone="Asia/Jakrta")
    pos.order("INV-44", [Line("Roti", 1)], outlet="OUT-XX")
    pos.order("INV-45", [Line("Roti", 1)])

    batch = run(pos)

    assert reasons(batch)["invoice", "INV-44"] == "outlet OUT-XX has an unknown timezone 'Asia/Jakrta'"
    assert [invoice.key for invoice in batch.invoices] == ["INV-45"]


def test_unknown_payment_method_rejects_the_order(pos: Pos) -> None:
    # The reference schema refuses unknown methods; a retailer's own POS database may not.
    pos.order("INV-46", [Line("Roti", 1)], payments=[("card", 10000), ("cash", None)])
    pos.order("INV-47", [Line("Roti", 1)])
    extracted = frames(pos)
    order_id = extracted.orders.loc[extracted.orders["number"] == "INV-46", "order_id"].item()
    payments = extracted.payments
    payments.loc[(payments["order_id"] == order_id) & (payments["seq"] == 1), "method"] = "gopay"

    batch = transform_sales(extracted)

    assert reasons(batch)["invoice", "INV-46"] == "payment INV-46/P1 uses an unknown payment method 'gopay'"
    assert [invoice.key for invoice in batch.invoices] == ["INV-47"]


# ---------------------------------------------------------------------------------- broken refunds


def test_refund_of_more_than_was_sold_is_rejected(pos: Pos) -> None:
    order = pos.order("INV-50", [Line("Roti", 1), Line("Es Kopi", 2)])
    pos.refund("RF-50", order, [(2, 3)])

    batch = run(pos)

    assert reasons(batch) == {("return", "RF-50"): "refund RF-50 returns 3 × 'Es Kopi' but only 2 were sold"}
    assert [invoice.key for invoice in batch.invoices] == ["INV-50"]


def test_refund_of_a_voided_order_is_rejected(pos: Pos) -> None:
    order = pos.order("INV-51", [Line("Es Kopi", 1)], status="voided", void_reason="wrong table")
    pos.refund("RF-51", order, [(1, 1)])

    batch = run(pos)

    assert reasons(batch) == {
        ("return", "RF-51"): "refund RF-51 is for order INV-51, which was voided at the till"
    }
    assert {s.key for s in batch.skipped} == {"INV-51", "INV-51/P1"}


def test_refund_whose_total_does_not_match_its_lines_is_rejected(pos: Pos) -> None:
    order = pos.order("INV-52", [Line("Es Kopi", 2)], inclusive=True)
    pos.refund("RF-52", order, [(1, 1)], total_amount=18000)

    assert reasons(run(pos)) == {
        ("return", "RF-52"): "refund total Rp 18.000 does not match its lines (Rp 20.000)"
    }


def test_refund_of_a_product_without_sku_is_rejected(pos: Pos) -> None:
    pos.product("Kue Tanpa SKU", 12000, sku=None)
    order = pos.order("INV-53", [Line("Kue Tanpa SKU", 1)], at=T0 - timedelta(days=1))
    pos.refund("RF-53", order, [(1, 1)])

    assert reasons(run(pos)) == {("return", "RF-53"): "product 'Kue Tanpa SKU' has no SKU"}


def test_refund_of_an_order_rejected_in_the_same_batch_names_the_order(pos: Pos) -> None:
    order = pos.order("INV-54", [Line("Es Kopi", 1)], payments=[("cash", 1000)])
    pos.refund("RF-54", order, [(1, 1)])

    assert reasons(run(pos))["return", "RF-54"] == (
        "invoice INV-54 was rejected: payments add up to Rp 1.000 but the order total is Rp 22.200"
    )


def test_refund_of_an_order_from_an_earlier_window_becomes_a_return(pos: Pos) -> None:
    order = pos.order("INV-55", [Line("Es Kopi", 2)], at=T0 - timedelta(days=2))
    pos.refund("RF-55", order, [(1, 1)])

    batch = run(pos)

    assert batch.invoices == []
    assert [(r.key, r.invoice_key, r.total) for r in batch.returns] == [("RF-55", "INV-55", D("22200.00"))]


# ------------------------------------------------------------------------------------------ masters


def test_customers_keep_the_first_owner_of_a_customer_id(pos: Pos) -> None:
    budi = pos.customer("Budi Santoso", "C-0007")
    siti = pos.customer("Siti Aminah", "C-0007 ")
    walk = pos.customer("Tanpa Kode", "  ")
    ani = pos.customer("Ani", "C-0008")

    customers, rejections = transform_customers(extract_customers(pos.engine))

    assert [(c.key, c.name, c.customer_code) for c in customers] == [
        (f"CUST-{budi}", "Budi Santoso", "C-0007"),
        (f"CUST-{walk}", "Tanpa Kode", None),
        (f"CUST-{ani}", "Ani", "C-0008"),
    ]
    assert [(r.record_type, r.key, r.reason) for r in rejections] == [
        ("customer", f"CUST-{siti}", "customer ID C-0007 is already used by customer 'Budi Santoso'")
    ]


def test_customer_id_collision_is_found_even_when_only_the_newcomer_changed(pos: Pos) -> None:
    pos.customer("Budi Santoso", "C-0007", updated_at=T0 - timedelta(days=400))
    pos.customer("Siti Aminah", "C-0007", updated_at=T0 + timedelta(hours=1))

    customers, rejections = transform_customers(extract_customers(pos.engine, updated_since=T0))

    assert customers == []
    assert [r.reason for r in rejections] == ["customer ID C-0007 is already used by customer 'Budi Santoso'"]


def test_products_without_sku_are_rejected(pos: Pos) -> None:
    pos.product("Kopi Susu Gula Aren", 28000, sku=None)

    items, rejections = transform_products(extract_products(pos.engine))

    assert [item.key for item in items] == ["SKU-001", "SKU-002", "SKU-003", "SKU-004", "SKU-005"]
    assert (
        items[0].name == "Kopi Susu" and items[0].price == D("25000.00") and items[0].tax_rate == D("11.00")
    )
    assert [(r.record_type, r.reason) for r in rejections] == [
        ("item", "product 'Kopi Susu Gula Aren' has no SKU")
    ]


def test_empty_extract_gives_an_empty_batch(pos: Pos) -> None:
    batch = run(pos)

    assert batch.counts() == {"invoices": 0, "payments": 0, "returns": 0, "rejected": 0, "skipped": 0}


def test_negative_payment_on_a_sound_order_is_rejected(pos: Pos) -> None:
    pos.order("INV-56", [Line("Es Kopi", 1)], payments=[("card", 30000), ("cash", -7800)])

    assert reasons(run(pos))["invoice", "INV-56"] == "payment INV-56/P2 is for -Rp 7.800, a negative amount"


def test_zero_payment_is_skipped_and_the_order_still_syncs(pos: Pos) -> None:
    pos.order("INV-57", [Line("Es Kopi", 1)], payments=[("card", None), ("cash", 0)])

    batch = run(pos)

    assert [invoice.key for invoice in batch.invoices] == ["INV-57"]
    assert [payment.key for payment in batch.payments] == ["INV-57/P1"]
    assert [(s.key, s.reason) for s in batch.skipped] == [("INV-57/P2", "payment of Rp 0: nothing to record")]


# ------------------------------------------------------------------------------------ the demo week

DEMO_RANGE = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
SALES_KINDS = {
    "order_product_without_sku": "invoice",
    "payment_mismatch": "invoice",
    "order_total_mismatch": "invoice",
    "refund_product_without_sku": "return",
    "refund_exceeds_sold": "return",
}


def rupiah(text: str) -> Decimal:
    return Decimal(text.removeprefix("Rp ").replace(".", "").replace(",", "."))


def test_demo_week_reconciles_and_rejects_exactly_the_broken_sales(db_engine) -> None:
    spec = DemoSpec()
    generate(db_engine, spec)

    frames = extract_sales(db_engine, DEMO_RANGE)
    batch = transform_sales(frames)

    orders = frames.orders
    completed = dict(
        zip(
            orders.loc[orders["status"] == "completed", "number"],
            orders.loc[orders["status"] == "completed", "total_amount"],
            strict=True,
        )
    )
    voided = set(orders.loc[orders["status"] == "voided", "number"])
    invoices = {invoice.key: invoice for invoice in batch.invoices}
    rejected = {r.key: r.reason for r in batch.rejections if r.record_type == "invoice"}

    # Every completed order is an invoice or a rejection, never both, never neither; voids are skipped.
    assert invoices.keys() | rejected.keys() == completed.keys()
    assert not invoices.keys() & rejected.keys()
    assert {s.key for s in batch.skipped if s.record_type == "invoice"} == voided
    for invoice in batch.invoices:
        invoice.check_totals()
        assert invoice.total == completed[invoice.key]
    assert sum(i.total for i in batch.invoices) + sum(completed[k] for k in rejected) == sum(
        completed.values()
    )

    # The rejections are exactly the documented broken sales records, with reasons an operator can act on.
    expected = {
        (SALES_KINDS[kind], key) for kind, key, _ in expected_broken_records(spec) if kind in SALES_KINDS
    }
    assert {(r.record_type, r.key) for r in batch.rejections if r.record_type != "payment"} == expected
    kinds = {key: kind for kind, key, _ in BROKEN_RECORDS}
    for key, reason in rejected.items():
        if kinds[key] == "order_product_without_sku":
            assert reason == "product 'Kopi Susu Gula Aren Seasonal 1L' has no SKU"
        elif kinds[key] == "payment_mismatch":
            paid, total = re.fullmatch(
                r"payments add up to (Rp [\d.,]+) but the order total is (Rp [\d.,]+)", reason
            ).groups()
            assert rupiah(total) - rupiah(paid) == Decimal("5000")
        else:
            assert kinds[key] == "order_total_mismatch"
            stored, lines = re.fullmatch(
                r"order total (Rp [\d.,]+) does not match its lines \((Rp [\d.,]+)\)", reason
            ).groups()
            assert rupiah(stored) - rupiah(lines) == Decimal("1000")
    assert {(r.key, r.reason) for r in batch.rejections if r.record_type == "return"} == {
        ("RF-JKT01-0001", "refund RF-JKT01-0001 returns 2 × 'Croissant Butter' but only 1 was sold")
    }

    # Payments follow their order; returns cover every other refund.
    payment_keys = {
        f"{number}/P{seq}"
        for number, seq in zip(
            frames.payments["order_id"].map(orders.set_index("order_id")["number"]),
            frames.payments["seq"],
            strict=True,
        )
    }
    rejected_payments = {r.key for r in batch.rejections if r.record_type == "payment"}
    assert {p.key for p in batch.payments} | rejected_payments == payment_keys
    assert {key.split("/")[0] for key in rejected_payments} == rejected.keys()
    assert len(batch.returns) + 1 == len(frames.refunds)
    for document in batch.returns:
        document.check_totals()
        assert document.invoice_key in completed

    # And the master data: the product without SKU and the customer whose ID is taken.
    _, product_rejections = transform_products(extract_products(db_engine))
    _, customer_rejections = transform_customers(extract_customers(db_engine))
    assert {(r.key) for r in product_rejections + customer_rejections} == {
        key for kind, key, _ in BROKEN_RECORDS if kind in ("product_without_sku", "duplicate_customer_code")
    }


def test_demo_week_synced_day_by_day_with_a_lookback_reads_every_sale(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    generate(engine, DemoSpec())
    jakarta = ZoneInfo("Asia/Jakarta")
    days = [datetime(2026, 11, 9, tzinfo=jakarta) + timedelta(days=n) for n in range(8)]

    whole = transform_sales(extract_sales(engine, DEMO_RANGE))
    seen: dict[str, int] = {}
    for start, end in itertools.pairwise(days):
        daily = transform_sales(extract_sales(engine, Window(start, end), lookback=timedelta(days=1)))
        for invoice in daily.invoices:
            seen[invoice.key] = seen.get(invoice.key, 0) + 1

    assert seen.keys() == {invoice.key for invoice in whole.invoices}
    # Only orders committed after their day was over come twice (the ledger skips the second).
    late = extract_sales(engine, DEMO_RANGE).orders
    late = set(
        late.loc[
            late["committed_at"].dt.tz_convert(jakarta).dt.date
            > late["business_time"].dt.tz_convert(jakarta).dt.date,
            "number",
        ]
    )
    assert late, "the demo week has orders from offline tills"
    assert {key for key, count in seen.items() if count > 1} == late & seen.keys()
    engine.dispose()
