"""How Jurnal totals an invoice and a sales return, reconstructed from the swagger's worked examples.

POST /sales_invoices example: one line, quantity 1, rate 12,000,000, discount 10 (%) -> line ``amount``
10,800,000; ``discount_type_name`` Percent, ``discount_unit`` 10 -> ``discount_price`` 1,080,000; PPN 10 %
with ``tax_after_discount`` -> ``tax_amount`` 972,000 on 9,720,000; ``original_amount`` 10,692,000; witholding
10 % -> ``witholding_amount`` 972,000; deposit 30,000 -> ``remaining`` 9,690,000. ``subtotal`` is the sum of
quantity x rate *before* line discounts (12,000,000) and ``discount_per_lines`` the line discounts
(1,200,000). The batch example adds ``shipping_price`` 10,000 -> ``original_amount`` 10,702,000.
POST /sales_returns example: returning that line gives ``discount_lines`` 1,200,000, ``discount_whole``
1,080,000, ``returned_witholding_amount`` 972,000, ``return_amount`` 8,748,000.

Sandbox choices where the examples are silent (documented in the package docstring):
- every computed amount is rounded to cents, half up; tax is rounded once per tax, not per line (the
  ``tax_rounding`` switch: ``line`` rounds each line's tax, then sums);
- an invoice ``Value`` discount is spread over lines in proportion to their amounts to find each tax base;
- with ``use_tax_inclusive`` line amounts already contain the tax: the tax is extracted as
  base x rate / (100 + rate) and not added again to ``original_amount``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .money import HUNDRED, ZERO, q2

PERCENT = "Percent"
VALUE = "Value"


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    rate: Decimal
    discount: Decimal  # percent
    tax_id: int | None = None
    tax_rate: Decimal | None = None


@dataclass
class TaxTotal:
    tax_id: int
    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass
class InvoiceTotals:
    line_gross: list[Decimal]
    line_amounts: list[Decimal]
    subtotal: Decimal
    discount_per_lines: Decimal
    line_total: Decimal
    discount_price: Decimal
    taxes: list[TaxTotal]
    tax_amount: Decimal
    shipping_price: Decimal
    original_amount: Decimal
    witholding_amount: Decimal


@dataclass
class ReturnTotals:
    line_amounts: list[Decimal]
    discount_lines: Decimal
    discount_whole: Decimal
    taxes: list[TaxTotal] = field(default_factory=list)
    returned_tax: Decimal = ZERO
    returned_witholding_amount: Decimal = ZERO
    return_amount: Decimal = ZERO


def line_amount(quantity: Decimal, rate: Decimal, discount: Decimal) -> tuple[Decimal, Decimal]:
    """(gross, amount): quantity x rate, then less the line's discount percent."""
    gross = quantity * rate
    return q2(gross), q2(gross * (HUNDRED - discount) / HUNDRED)


def _taxes(lines: list[LineInput], bases: list[Decimal], tax_inclusive: bool,
           per_line: bool = False) -> tuple[list[TaxTotal], Decimal]:
    """Tax per tax: rounded once over its lines' bases, or (``per_line``) each line rounded, then summed."""
    grouped: dict[int, TaxTotal] = {}
    for line, base in zip(lines, bases, strict=True):
        if line.tax_id is None or line.tax_rate is None:
            continue
        total = grouped.setdefault(line.tax_id, TaxTotal(line.tax_id, line.tax_rate, ZERO, ZERO))
        total.base += base
        if per_line:
            total.amount += q2(base * total.rate / (HUNDRED + total.rate if tax_inclusive else HUNDRED))
    for total in grouped.values():
        divisor = HUNDRED + total.rate if tax_inclusive else HUNDRED
        if not per_line:
            total.amount = q2(total.base * total.rate / divisor)
        total.base = q2(total.base)
    taxes = list(grouped.values())
    return taxes, sum((t.amount for t in taxes), ZERO)


def _discount_shares(amounts: list[Decimal], discount: Decimal, line_total: Decimal) -> list[Decimal]:
    if line_total == 0 or discount == 0:
        return [ZERO] * len(amounts)
    return [discount * amount / line_total for amount in amounts]


def invoice_totals(
    lines: list[LineInput],
    *,
    discount_type: str,
    discount_unit: Decimal,
    tax_after_discount: bool,
    tax_inclusive: bool,
    shipping_price: Decimal,
    witholding_type: str | None,
    witholding_value: Decimal,
    per_line_tax: bool = False,
) -> InvoiceTotals:
    pairs = [line_amount(line.quantity, line.rate, line.discount) for line in lines]
    gross = [g for g, _ in pairs]
    amounts = [a for _, a in pairs]
    subtotal = sum(gross, ZERO)
    line_total = sum(amounts, ZERO)
    discount_price = q2(line_total * discount_unit / HUNDRED) if discount_type == PERCENT else q2(discount_unit)
    shares = _discount_shares(amounts, discount_price, line_total)
    bases = [a - s for a, s in zip(amounts, shares, strict=True)] if tax_after_discount else amounts
    taxes, tax_amount = _taxes(lines, bases, tax_inclusive, per_line_tax)
    net = line_total - discount_price
    original = net + shipping_price + (ZERO if tax_inclusive else tax_amount)
    witholding_base = net - tax_amount if tax_inclusive else net
    if witholding_type == PERCENT:
        witholding = q2(witholding_base * witholding_value / HUNDRED)
    elif witholding_type == VALUE:
        witholding = q2(witholding_value)
    else:
        witholding = ZERO
    return InvoiceTotals(
        line_gross=gross,
        line_amounts=amounts,
        subtotal=subtotal,
        discount_per_lines=subtotal - line_total,
        line_total=line_total,
        discount_price=discount_price,
        taxes=taxes,
        tax_amount=tax_amount,
        shipping_price=shipping_price,
        original_amount=original,
        witholding_amount=witholding,
    )


def return_totals(
    returned: list[tuple[LineInput, Decimal]],
    *,
    invoice_line_total: Decimal,
    discount_type: str,
    discount_unit: Decimal,
    discount_price: Decimal,
    tax_after_discount: bool,
    tax_inclusive: bool,
    witholding_type: str | None,
    witholding_value: Decimal,
    witholding_amount: Decimal,
    per_line_tax: bool = False,
) -> ReturnTotals:
    """Totals of returning ``quantity`` of each invoice line: the invoice's own rules, pro rata."""
    lines = [line for line, _ in returned]
    pairs = [line_amount(qty, line.rate, line.discount) for line, qty in returned]
    gross = [g for g, _ in pairs]
    amounts = [a for _, a in pairs]
    returned_total = sum(amounts, ZERO)
    if discount_type == PERCENT:
        shares = [a * discount_unit / HUNDRED for a in amounts]
    elif invoice_line_total:
        # A Value discount goes back in proportion to the share of the invoice's lines being returned.
        returned_discount = discount_price * returned_total / invoice_line_total
        shares = _discount_shares(amounts, returned_discount, returned_total)
    else:
        shares = [ZERO] * len(amounts)
    discount_whole = q2(sum(shares, ZERO))
    bases = [a - s for a, s in zip(amounts, shares, strict=True)] if tax_after_discount else amounts
    taxes, returned_tax = _taxes(lines, bases, tax_inclusive, per_line_tax)
    net = returned_total - discount_whole
    if witholding_type == PERCENT:
        witholding = q2((net - returned_tax if tax_inclusive else net) * witholding_value / HUNDRED)
    elif witholding_type == VALUE and invoice_line_total:
        witholding = q2(witholding_amount * returned_total / invoice_line_total)
    else:
        witholding = ZERO
    return ReturnTotals(
        line_amounts=amounts,
        discount_lines=sum(gross, ZERO) - returned_total,
        discount_whole=discount_whole,
        taxes=taxes,
        returned_tax=returned_tax,
        returned_witholding_amount=witholding,
        return_amount=net + (ZERO if tax_inclusive else returned_tax) - witholding,
    )
