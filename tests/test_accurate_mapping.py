"""Accurate request bodies: every demo invoice, read with Accurate's arithmetic (quantity × unit price less
the line's cash discount, less the invoice's cash discount, VAT inside tax-inclusive prices), totals the
POS to the sen; receipts and returns name their invoice, its customer and the configured accounts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from possync.config import load_config
from possync.db import make_engine
from possync.pos.extract import Window, extract_sales
from possync.targets.accurate import mapping
from possync.targets.base.hook import exact_json
from possync.transform.sales import transform_sales
from possync_devkit.demo_pos import DemoSpec, generate


@pytest.fixture(scope="module")
def demo_batch(tmp_path_factory: pytest.TempPathFactory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('pos') / 'pos.db'}")
    generate(engine, DemoSpec(start_date=date(2026, 11, 9), days=3, orders_per_day=40))
    window = Window(datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 13, tzinfo=UTC))
    return transform_sales(extract_sales(engine, window))


@pytest.fixture(scope="module")
def accurate():
    return next(i for i in load_config().integrations if i.target == "accurate")


def accurate_total(body: dict) -> Decimal:
    lines = sum(
        ((Decimal(str(line["quantity"])) * Decimal(str(line["unitPrice"]))).quantize(Decimal("0.01"), ROUND_HALF_UP)
         - Decimal(str(line.get("itemCashDiscount", 0))) for line in body["detailItem"]),
        Decimal("0.00"),
    )
    return lines - Decimal(str(body.get("cashDiscount", 0)))


def test_every_invoice_totals_the_pos_to_the_sen(demo_batch, accurate) -> None:
    assert demo_batch.invoices, "the demo window holds invoices"
    outlet = accurate.outlets["JKT01"]
    modes = set()
    for invoice in demo_batch.invoices:
        body = mapping.invoice_body(invoice, customer_no="C-1", outlet=outlet, bookkeeping=accurate.bookkeeping)
        assert accurate_total(body) == invoice.total, invoice.key
        assert body["number"] == invoice.key and body["branchName"] == "Jakarta"
        assert all(line["warehouseName"] == "Kemang" for line in body["detailItem"])
        assert all(Decimal(str(line.get("itemCashDiscount", 0))) >= 0 for line in body["detailItem"])
        assert Decimal(str(body.get("cashDiscount", 0))) >= 0
        assert body["transDate"] == invoice.business_time.strftime("%d/%m/%Y")
        modes.add(invoice.tax_inclusive)
    assert modes == {True, False}, "both pricing modes are covered"


def test_exclusive_tax_is_a_line_and_inclusive_tax_is_left_to_accurate(demo_batch, accurate) -> None:
    bookkeeping, outlet = accurate.bookkeeping, accurate.outlets["JKT01"]
    exclusive = next(i for i in demo_batch.invoices if not i.tax_inclusive and i.tax_total)
    body = mapping.invoice_body(exclusive, customer_no="C", outlet=outlet, bookkeeping=bookkeeping)
    assert body["taxable"] is False
    assert [line["unitPrice"] for line in body["detailItem"] if line["itemNo"] == bookkeeping.output_vat_sku] == [
        exclusive.tax_total
    ]
    inclusive = next(i for i in demo_batch.invoices if i.tax_inclusive and i.tax_total)
    body = mapping.invoice_body(inclusive, customer_no="C", outlet=outlet, bookkeeping=bookkeeping)
    assert body["taxable"] is True and body["inclusiveTax"] is True
    assert any(line.get("useTax1") for line in body["detailItem"])


def test_receipt_pays_its_invoice_into_the_method_account(demo_batch, accurate) -> None:
    payment = next(p for p in demo_batch.payments if p.method == "cash")
    body = mapping.receipt_body(payment, customer_no="C-9", outlet=accurate.outlets["JKT01"],
                                bookkeeping=accurate.bookkeeping)
    assert body["bankNo"] == "1101.001" and body["paymentMethod"] == "CASH_OTHER"
    assert body["detailInvoice"] == [{"invoiceNo": payment.invoice_key, "paymentAmount": payment.amount}]
    assert body["chequeAmount"] == payment.amount and body["customerNo"] == "C-9"
    assert f'"chequeAmount":{payment.amount}' in exact_json(body)


def test_customer_number_follows_the_switch(accurate) -> None:
    from possync.documents import Customer

    customer = Customer(key="CUST-1", name=" Sari ", customer_code="M-001", email="s@x.id")
    assert mapping.customer_body(customer, use_pos_customer_id=True, since=date(2026, 11, 9)) == {
        "name": "Sari", "transDate": "09/11/2026", "customerNo": "M-001", "email": "s@x.id",
        "notes": "possync POS customer [CUST-1]",  # how a customer whose create reply was lost is found again
    }
    assert "customerNo" not in mapping.customer_body(customer, use_pos_customer_id=False, since=date(2026, 11, 9))


def test_return_references_its_invoice(demo_batch, accurate) -> None:
    sales_return = demo_batch.returns[0]
    body = mapping.return_body(sales_return, customer_no="C", outlet=accurate.outlets["JKT01"])
    assert body["invoiceNumber"] == sales_return.invoice_key and body["number"] == sales_return.key
    assert body["returnType"] == "INVOICE"
    assert sum(Decimal(str(line["quantity"])) for line in body["detailItem"]) == sum(
        line.quantity for line in sales_return.lines
    )
