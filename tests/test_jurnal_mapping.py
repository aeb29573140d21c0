"""Jurnal request bodies: every demo invoice, read with Jurnal's documented arithmetic (quantity × rate per
line, an invoice-level Value discount, VAT inside tax-inclusive prices), totals the POS to the sen."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from possync.config import load_config
from possync.db import make_engine
from possync.pos.extract import Window, extract_sales
from possync.targets.base.hook import exact_json
from possync.targets.jurnal import mapping
from possync.transform.sales import transform_sales
from possync_devkit.demo_pos import DemoSpec, generate


@pytest.fixture(scope="module")
def demo_batch(tmp_path_factory: pytest.TempPathFactory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('pos') / 'pos.db'}")
    generate(engine, DemoSpec(start_date=date(2026, 11, 9), days=3, orders_per_day=40))
    window = Window(datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 13, tzinfo=UTC))
    return transform_sales(extract_sales(engine, window))


def jurnal_total(body: dict) -> Decimal:
    lines = sum(
        ((Decimal(str(line["quantity"])) * Decimal(str(line["rate"]))).quantize(Decimal("0.01"), ROUND_HALF_UP)
         for line in body["transaction_lines_attributes"]),
        Decimal("0.00"),
    )
    return lines - Decimal(str(body.get("discount_unit", 0)))


def test_every_invoice_totals_the_pos_to_the_sen(demo_batch) -> None:
    integration = load_config().integrations[0]
    assert demo_batch.invoices, "the demo window holds invoices"
    inclusive = exclusive = 0
    for invoice in demo_batch.invoices:
        body = mapping.invoice_body(invoice, warehouse="Kemang", customer_name="Pelanggan Umum",
                                    product_ids={}, bookkeeping=integration.bookkeeping)
        assert jurnal_total(body) == invoice.total, invoice.key
        assert all(Decimal(str(line["rate"])) >= 0 for line in body["transaction_lines_attributes"])
        assert Decimal(str(body.get("discount_unit", 0))) >= 0
        inclusive += invoice.tax_inclusive
        exclusive += not invoice.tax_inclusive
    assert inclusive and exclusive, "both pricing modes are covered"


def test_exclusive_tax_is_an_explicit_line_and_inclusive_tax_is_left_to_jurnal(demo_batch) -> None:
    bookkeeping = load_config().integrations[0].bookkeeping
    taxed_exclusive = next(i for i in demo_batch.invoices if not i.tax_inclusive and i.tax_total)
    body = mapping.invoice_body(taxed_exclusive, warehouse="W", customer_name="C", product_ids={},
                                bookkeeping=bookkeeping)
    vat = [line for line in body["transaction_lines_attributes"] if line["product_code"] == bookkeeping.output_vat_sku]
    assert [line["rate"] for line in vat] == [taxed_exclusive.tax_total]
    assert not any("line_tax_name" in line for line in body["transaction_lines_attributes"])

    inclusive = next(i for i in demo_batch.invoices if i.tax_inclusive and i.tax_total)
    body = mapping.invoice_body(inclusive, warehouse="W", customer_name="C", product_ids={}, bookkeeping=bookkeeping)
    assert body["use_tax_inclusive"] is True
    assert any(line.get("line_tax_name") == "PPN" for line in body["transaction_lines_attributes"])


def test_amounts_go_on_the_wire_as_exact_numbers(demo_batch) -> None:
    payment = demo_batch.payments[0]
    body = mapping.payment_body(payment, load_config().integrations[0].bookkeeping)
    assert f'"amount":{payment.amount}' in exact_json(body)
    assert body["custom_id"] == payment.key


def test_payment_accounts_follow_the_method() -> None:
    bookkeeping = load_config().integrations[0].bookkeeping
    assert bookkeeping.payment_accounts["cash"] == "Kas"
    assert set(bookkeeping.payment_accounts) == {"cash", "card", "qris", "ewallet", "bank_transfer"}


def test_return_references_its_invoice(demo_batch) -> None:
    sales_return = demo_batch.returns[0]
    body = mapping.return_body(sales_return, {})
    assert body["invoice_no"] == sales_return.invoice_key and body["transaction_no"] == sales_return.key
    assert sum(Decimal(str(line["return_quantity"])) for line in body["transaction_return_lines_attributes"]) == sum(
        line.quantity for line in sales_return.lines
    )
