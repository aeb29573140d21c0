"""Request bodies, the same facts for every target, each read with the target's documented arithmetic (tax
rounded once per tax per invoice, as both sandboxes do, or per line, the other reading): every demo invoice
totals the POS to the sen with no negative price or discount, each line carries the tax of its rate and the
tax the target computes per rate is the till's to the sen, whether prices include tax or not; amounts go on the
wire as exact numbers and a return names its invoice. Vendor-specific fields: test_jurnal_mapping.py,
test_accurate_mapping.py."""

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


def _tax(amounts: Iterable[Decimal], rate: Decimal, inclusive: bool, per_line: bool) -> Decimal:
    factor = rate / (100 + rate) if inclusive else rate / 100
    amounts = list(amounts)
    if per_line:
        return sum(((a * factor).quantize(Decimal("0.01"), ROUND_HALF_UP) for a in amounts), Decimal("0.00"))
    return (sum(amounts, Decimal("0.00")) * factor).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Reading:
    """How one target's bodies are built and read (field names and arithmetic from its API documentation)."""

    integration: Integration
    invoice_body: Callable[[Any], Body]
    #: (tax name, line amount) per taxed line, whether the prices include the tax, and the untaxed rest
    taxed_lines: Callable[[Body], list[tuple[str, Decimal]]]
    inclusive: Callable[[Body], bool]
    subtotal: Callable[[Body], Decimal]  # the lines less the invoice discount, plus other charges
    never_negative: Callable[[Body], Iterable[Decimal]]  # prices and discounts the target refuses below zero
    payment_body: Callable[[Any], Body]
    payment_key: Callable[[Body], str]
    amount_field: str
    return_body: Callable[[Any], Body]
    return_refs: Callable[[Body], tuple[str, str]]  # (invoice number, return number)
    returned_quantity: Callable[[Body], Decimal]

    def taxes(self, body: Body, *, per_line: bool = False) -> dict[str, Decimal]:
        """The tax the target computes per tax name: once per tax over its lines, or per line."""
        rates = {code.name: code.rate for code in self.integration.bookkeeping.taxes if code.name}
        names = {name for name, _ in self.taxed_lines(body)}
        return {name: _tax((a for n, a in self.taxed_lines(body) if n == name), rates[name], self.inclusive(body),
                           per_line) for name in names}

    def total(self, body: Body) -> Decimal:
        """What the target computes the invoice's total to be."""
        return self.subtotal(body) + (Decimal("0.00") if self.inclusive(body) else sum(self.taxes(body).values(),
                                                                                        Decimal("0.00")))


def _jurnal() -> Reading:
    integration = next(i for i in load_config().integrations if i.target == "jurnal")
    bookkeeping = integration.bookkeeping
    lines = "transaction_lines_attributes"
    return Reading(
        integration=integration,
        invoice_body=lambda invoice: jurnal_mapping.invoice_body(
            invoice, warehouse="Kemang", customer_name="Pelanggan Umum", product_ids={}, bookkeeping=bookkeeping),
        # tax_after_discount false: each tax on its lines' amounts (quantity × rate)
        taxed_lines=lambda body: [(line["line_tax_name"], _line_amount(line["quantity"], line["rate"]))
                                  for line in body[lines] if line.get("line_tax_name")],
        inclusive=lambda body: body["use_tax_inclusive"] is True,
        # quantity × rate per line, less the invoice-level Value discount
        subtotal=lambda body: sum((_line_amount(line["quantity"], line["rate"]) for line in body[lines]),
                                  Decimal("0.00")) - _sen(body.get("discount_unit", 0)),
        never_negative=lambda body: [*(_sen(line["rate"]) for line in body[lines]), _sen(body.get("discount_unit", 0))],
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
    # Accurate takes a line's tax from its item (tax1Name, set from the item's rate); the demo item's rate is the
    # line's
    item_tax = {}

    def body_of(invoice: Any) -> Body:
        for line in invoice.lines:
            code = bookkeeping.tax_for(line.tax_rate)
            item_tax[line.sku] = code.name if code and not code.exempt else None
        return accurate_mapping.invoice_body(invoice, customer_no="C-1", outlet=outlet, bookkeeping=bookkeeping)

    def amount(line: Body) -> Decimal:
        return _line_amount(line["quantity"], line["unitPrice"]) - _sen(line.get("itemCashDiscount", 0))

    return Reading(
        integration=integration,
        invoice_body=body_of,
        taxed_lines=lambda body: [(item_tax[line["itemNo"]], amount(line)) for line in body["detailItem"]
                                  if body["taxable"] and line.get("useTax1")],
        inclusive=lambda body: body["inclusiveTax"] is True,
        # quantity × unit price less the line's cash discount, less the invoice's cash discount, plus other charges;
        # no cash discount, so no tax base is spread over
        subtotal=lambda body: sum((amount(line) for line in body["detailItem"]), Decimal("0.00"))
        - _sen(body.get("cashDiscount", 0)) + sum((_sen(e["expenseAmount"]) for e in body.get("detailExpense", [])),
                                                   Decimal("0.00")),
        never_negative=lambda body: [*(_sen(line.get("itemCashDiscount", 0)) for line in body["detailItem"]),
                                     *(_sen(line["unitPrice"]) for line in body["detailItem"]),
                                     _sen(body.get("cashDiscount", 0))],
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


def _pos_taxes(invoice: Any, reading: Reading) -> dict[str, Decimal]:
    taxes: dict[str, Decimal] = {}
    for line in invoice.lines:
        code = reading.integration.bookkeeping.tax_for(line.tax_rate)
        if code is not None and code.name:
            taxes[code.name] = taxes.get(code.name, Decimal("0.00")) + line.tax
    return taxes


def test_the_target_computes_the_tills_tax_per_rate_per_line_or_per_invoice(demo_batch, reading: Reading) -> None:
    """Every line carries the tax of its rate (PPN 11 %, PB1 10 %; none for exempt), and the tax the target
    computes from the posted lines is the till's per rate to the sen, whether the target rounds once per tax per
    invoice or per line, and whether the receipt priced tax in or not: no output-VAT line any more."""
    vat_sku = reading.integration.bookkeeping.output_vat_sku
    mixed = {True: 0, False: 0}
    for invoice in demo_batch.invoices:
        body = reading.invoice_body(invoice)
        assert not reading.taxed_lines(body) or reading.inclusive(body) == invoice.tax_inclusive, invoice.key
        expected = _pos_taxes(invoice, reading)
        assert reading.taxes(body) == expected, invoice.key
        assert reading.taxes(body, per_line=True) == expected, invoice.key
        assert vat_sku not in exact_json(body), invoice.key
        if {"PPN", "PB1"} <= set(expected):
            mixed[invoice.tax_inclusive] += 1
    assert mixed[True] and mixed[False], f"the demo has mixed-tax invoices priced both ways: {mixed}"


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
