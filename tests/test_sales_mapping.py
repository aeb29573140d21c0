"""Request bodies, the same facts for every target, each read with the target's documented arithmetic: every
demo invoice totals the POS to the sen with no negative price or discount, VAT is an explicit line when
prices exclude it and left to the target when they include it, amounts go on the wire as exact numbers and
a return names its invoice. Vendor-specific fields: test_jurnal_mapping.py, test_accurate_mapping.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from possync.config import Integration, load_config
from possync.targets.accurate import mapping as accurate_mapping
from possync.targets.base.hook import exact_json
from possync.targets.jurnal import mapping as jurnal_mapping
from support.demo_week import transformed_demo_sales

Body = dict[str, Any]


def _sen(value: Any) -> Decimal:
    return Decimal(str(value))


def _line_amount(quantity: Any, price: Any) -> Decimal:
    return (_sen(quantity) * _sen(price)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Reading:
    """How one target's bodies are built and read (field names and arithmetic from its API documentation)."""

    integration: Integration
    invoice_body: Callable[[Any], Body]
    total: Callable[[Body], Decimal]  # what the target computes the invoice's total to be
    never_negative: Callable[[Body], Iterable[Decimal]]  # prices and discounts the target refuses below zero
    vat_line_prices: Callable[[Body, str], list[Any]]  # the prices of lines of the output-VAT SKU
    target_computes_tax: Callable[[Body], bool]  # the body asks the target to take VAT out of the prices
    lines_taxed_by_target: Callable[[Body], bool]
    payment_body: Callable[[Any], Body]
    payment_key: Callable[[Body], str]
    amount_field: str
    return_body: Callable[[Any], Body]
    return_refs: Callable[[Body], tuple[str, str]]  # (invoice number, return number)
    returned_quantity: Callable[[Body], Decimal]


def _jurnal() -> Reading:
    integration = next(i for i in load_config().integrations if i.target == "jurnal")
    bookkeeping = integration.bookkeeping
    lines = "transaction_lines_attributes"
    return Reading(
        integration=integration,
        invoice_body=lambda invoice: jurnal_mapping.invoice_body(
            invoice, warehouse="Kemang", customer_name="Pelanggan Umum", product_ids={}, bookkeeping=bookkeeping),
        # quantity × rate per line, less the invoice-level Value discount
        total=lambda body: sum((_line_amount(line["quantity"], line["rate"]) for line in body[lines]),
                               Decimal("0.00")) - _sen(body.get("discount_unit", 0)),
        never_negative=lambda body: [*(_sen(line["rate"]) for line in body[lines]), _sen(body.get("discount_unit", 0))],
        vat_line_prices=lambda body, sku: [line["rate"] for line in body[lines] if line["product_code"] == sku],
        target_computes_tax=lambda body: body["use_tax_inclusive"] is True,
        lines_taxed_by_target=lambda body: any(line.get("line_tax_name") == "PPN" for line in body[lines]),
        payment_body=lambda payment: jurnal_mapping.payment_body(payment, bookkeeping),
        payment_key=lambda body: body["custom_id"],
        amount_field="amount",
        return_body=lambda sales_return: jurnal_mapping.return_body(sales_return, {}),
        return_refs=lambda body: (body["invoice_no"], body["transaction_no"]),
        returned_quantity=lambda body: sum(_sen(line["return_quantity"])
                                           for line in body["transaction_return_lines_attributes"]),
    )


def _accurate() -> Reading:
    integration = next(i for i in load_config().integrations if i.target == "accurate")
    bookkeeping, outlet = integration.bookkeeping, integration.outlets["JKT01"]
    return Reading(
        integration=integration,
        invoice_body=lambda invoice: accurate_mapping.invoice_body(invoice, customer_no="C-1", outlet=outlet,
                                                                   bookkeeping=bookkeeping),
        # quantity × unit price less the line's cash discount, less the invoice's cash discount
        total=lambda body: sum((_line_amount(line["quantity"], line["unitPrice"])
                                - _sen(line.get("itemCashDiscount", 0)) for line in body["detailItem"]),
                               Decimal("0.00")) - _sen(body.get("cashDiscount", 0)),
        never_negative=lambda body: [*(_sen(line.get("itemCashDiscount", 0)) for line in body["detailItem"]),
                                     _sen(body.get("cashDiscount", 0))],
        vat_line_prices=lambda body, sku: [line["unitPrice"] for line in body["detailItem"] if line["itemNo"] == sku],
        target_computes_tax=lambda body: body["taxable"] is True and body.get("inclusiveTax") is True,
        lines_taxed_by_target=lambda body: any(line.get("useTax1") for line in body["detailItem"]),
        payment_body=lambda payment: accurate_mapping.receipt_body(payment, customer_no="C-9", outlet=outlet,
                                                                   bookkeeping=bookkeeping),
        payment_key=lambda body: body["number"],
        amount_field="chequeAmount",
        return_body=lambda sales_return: accurate_mapping.return_body(sales_return, customer_no="C", outlet=outlet,
                                                                       bookkeeping=bookkeeping),
        return_refs=lambda body: (body["invoiceNumber"], body["number"]),
        returned_quantity=lambda body: sum(_sen(line["quantity"]) for line in body["detailItem"]),
    )


@pytest.fixture(scope="module")
def demo_batch(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return transformed_demo_sales(tmp_path_factory.mktemp("pos"))


@pytest.fixture(params=["jurnal", "accurate"])
def reading(request: pytest.FixtureRequest) -> Reading:
    return {"jurnal": _jurnal, "accurate": _accurate}[request.param]()


def test_every_invoice_totals_the_pos_to_the_sen(demo_batch, reading: Reading) -> None:
    assert demo_batch.invoices, "the demo window holds invoices"
    modes = set()
    for invoice in demo_batch.invoices:
        body = reading.invoice_body(invoice)
        assert reading.total(body) == invoice.total, invoice.key
        assert all(amount >= 0 for amount in reading.never_negative(body)), invoice.key
        modes.add(invoice.tax_inclusive)
    assert modes == {True, False}, "both pricing modes are covered"


def test_exclusive_tax_is_an_explicit_line_and_inclusive_tax_is_left_to_the_target(demo_batch,
                                                                                    reading: Reading) -> None:
    vat_sku = reading.integration.bookkeeping.output_vat_sku
    exclusive = next(i for i in demo_batch.invoices if not i.tax_inclusive and i.tax_total)
    body = reading.invoice_body(exclusive)
    assert reading.vat_line_prices(body, vat_sku) == [exclusive.tax_total]
    assert not reading.target_computes_tax(body) and not reading.lines_taxed_by_target(body)

    inclusive = next(i for i in demo_batch.invoices if i.tax_inclusive and i.tax_total)
    body = reading.invoice_body(inclusive)
    assert reading.target_computes_tax(body) and reading.lines_taxed_by_target(body)


def test_payment_amounts_go_on_the_wire_as_exact_numbers(demo_batch, reading: Reading) -> None:
    payment = demo_batch.payments[0]
    body = reading.payment_body(payment)
    assert f'"{reading.amount_field}":{payment.amount}' in exact_json(body)
    assert reading.payment_key(body) == payment.key


def test_return_references_its_invoice(demo_batch, reading: Reading) -> None:
    sales_return = demo_batch.returns[0]
    body = reading.return_body(sales_return)
    assert reading.return_refs(body) == (sales_return.invoice_key, sales_return.key)
    assert reading.returned_quantity(body) == sum(line.quantity for line in sales_return.lines)
