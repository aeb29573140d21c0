"""Tax per rate: what an invoice's lines post so that the target's own tax equals the POS's, rate by rate.

Both targets compute an invoice's tax themselves from its taxed lines. Their sandboxes round it **once per tax
per document** (Jurnal's ``amounts.py``; Accurate's ``_totals``) and neither vendor documents which; the till
rounds **per line**. Posting the POS's amounts as they are would let the target's tax drift from the till's by a
few sen on most receipts. So possync posts, per rate ``r``:

* every line of rate ``r`` at the amount the till charged for it (as priced: net of tax on a tax-exclusive
  receipt, net plus tax on an inclusive one), tagged with the configured tax of ``r``;
* except that lines (the largest first) move by a few sen where needed so that the target's arithmetic gives
  the till's tax both **per line** (``round_half_up(b x r / 100) = t``, or ``r / (100 + r)`` inclusive) and
  **per rate** over the invoice (the same for the sum): exact whichever way the target rounds, so possync need
  not know (the sandboxes' ``tax_rounding`` switch tries both). Such bases always exist: a line's window is
  100 / r sen wide, and the sums of the line windows span the invoice's window;
* the sum of those moves, the other way, is an untaxed **adjustment** (with the receipt's cash rounding), so the
  invoice total is the POS total to the sen: a line of the rounding item when positive, else an untaxed
  reduction (Jurnal: the invoice ``Value`` discount with ``tax_after_discount`` off; Accurate: an other charge,
  ``detailExpense``, on ``bookkeeping.rounding_account``).

A line of a rate with no configured tax cannot be posted (``unconfigured_rates``): its invoice fails with that
reason instead of being posted under a wrong tax.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from possync.config import Bookkeeping, TaxCode
from possync.documents import InvoiceLine, SalesInvoice
from possync.targets.base.loader import SendResult

ZERO = Decimal("0.00")
SEN = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class PostedLine:
    """One product line as posted: its amount as priced (tax included on an inclusive receipt) and its tax."""

    line: InvoiceLine
    amount: Decimal
    tax: TaxCode


@dataclass(frozen=True, slots=True)
class TaxPlan:
    lines: tuple[PostedLine, ...]
    #: untaxed amount besides the lines (cash rounding, plus the cents moved off the taxed lines): + / −
    adjustment: Decimal
    #: the till's tax per target tax name: what the target computes from the posted lines
    taxes: dict[str, Decimal]


def unconfigured_rates(invoice: SalesInvoice, bookkeeping: Bookkeeping) -> list[Decimal]:
    """The invoice's tax rates that have no tax configured (``bookkeeping.taxes``)."""
    return sorted({line.tax_rate for line in invoice.lines if bookkeeping.tax_for(line.tax_rate) is None})


def unconfigured_reason(rates: Sequence[Decimal], target_label: str) -> str:
    listed = ", ".join(f"{rate.normalize():f} %" for rate in rates)
    return (f"tax rate {listed} has no {target_label} tax configured (bookkeeping.taxes of the integration); "
            "add it, then retry")


def send_taxable(documents: Sequence[SalesInvoice], send: Callable[[Sequence[SalesInvoice]], list[SendResult]],
                 bookkeeping: Bookkeeping, target_label: str) -> list[SendResult]:
    """``send`` the invoices whose every rate has a tax configured; the others fail with the rates to configure."""
    refused = {d.key: rates for d in documents if (rates := unconfigured_rates(d, bookkeeping))}
    sent = iter(send([d for d in documents if d.key not in refused]) if len(refused) < len(documents) else [])
    return [SendResult(d.key, "failed", reason=unconfigured_reason(refused[d.key], target_label))
            if d.key in refused else next(sent) for d in documents]


def target_tax(base: Decimal, rate: Decimal, inclusive: bool) -> Decimal:
    """The tax a target computes on ``base`` of one rate, rounded once, half up."""
    divisor = HUNDRED + rate if inclusive else HUNDRED
    return (base * rate / divisor).quantize(SEN, rounding=ROUND_HALF_UP)


def window(tax: Decimal, rate: Decimal, inclusive: bool) -> tuple[Decimal, Decimal]:
    """The bases (whole sen, both ends included) on which a target's tax at ``rate`` comes to exactly ``tax``."""
    divisor = HUNDRED + rate if inclusive else HUNDRED
    # tax − ½ sen ≤ base × rate / divisor < tax + ½ sen
    low = ((tax - SEN / 2) * divisor / rate).quantize(SEN, rounding=ROUND_CEILING)
    high = ((tax + SEN / 2) * divisor / rate).quantize(SEN, rounding=ROUND_CEILING) - SEN
    while target_tax(low, rate, inclusive) < tax:  # guard the ends against any rounding of the divisions
        low += SEN
    while target_tax(high, rate, inclusive) > tax:
        high -= SEN
    if low > high:  # pragma: no cover - a window is wider than a sen for every rate below 100 %
        raise ValueError(f"no base carries a tax of {tax} at {rate} %")
    return low, high


def _bases(amounts: list[Decimal], taxes: list[Decimal], rate: Decimal, inclusive: bool) -> list[Decimal]:
    """Per line of one rate, the base nearest its amount whose tax is the line's own, and whose sum's tax is the
    lines' total: exact whether the target rounds per line or once per invoice. Such bases always exist: the
    sums of the line windows span the invoice's window (both are centred on Σ tax x divisor / rate)."""
    windows = [(max(low, ZERO), high) for low, high in (window(tax, rate, inclusive) for tax in taxes)]
    bases = [min(max(amount, low), high) for amount, (low, high) in zip(amounts, windows, strict=True)]
    low, high = window(sum(taxes, ZERO), rate, inclusive)
    order = sorted(range(len(bases)), key=lambda i: (-amounts[i], i))  # the largest lines move first
    for i in order:
        total = sum(bases, ZERO)
        if total < low:
            bases[i] = min(windows[i][1], bases[i] + (low - total))
        elif total > high:
            bases[i] = max(windows[i][0], bases[i] - (total - high))
    if not low <= sum(bases, ZERO) <= high:  # pragma: no cover - see above
        raise ValueError(f"no line bases carry a tax of {sum(taxes, ZERO)} at {rate} %")
    return bases


def plan_invoice(invoice: SalesInvoice, bookkeeping: Bookkeeping) -> TaxPlan:
    """The lines, their taxes and the untaxed adjustment that post ``invoice`` with the till's tax per rate."""
    inclusive = invoice.tax_inclusive
    codes: dict[Decimal, TaxCode] = {}
    for line in invoice.lines:
        code = bookkeeping.tax_for(line.tax_rate)
        if code is None:
            raise ValueError(unconfigured_reason([line.tax_rate], "target"))
        codes[line.tax_rate] = code
    amounts = [line.net + (line.tax if inclusive else ZERO) for line in invoice.lines]
    posted = list(amounts)
    taxes: dict[str, Decimal] = {}
    for rate, code in codes.items():
        if code.exempt or not rate:
            continue
        members = [i for i, line in enumerate(invoice.lines) if line.tax_rate == rate]
        line_taxes = [invoice.lines[i].tax for i in members]
        for i, base in zip(members, _bases([amounts[i] for i in members], line_taxes, rate, inclusive), strict=True):
            posted[i] = base
        assert code.name is not None
        taxes[code.name] = taxes.get(code.name, ZERO) + sum(line_taxes, ZERO)
    adjustment = invoice.rounding + sum(amounts, ZERO) - sum(posted, ZERO)
    lines = tuple(PostedLine(line, amount, codes[line.tax_rate])
                  for line, amount in zip(invoice.lines, posted, strict=True))
    return TaxPlan(lines, adjustment, taxes)


def unit_rate(amount: Decimal, quantity: Decimal) -> Decimal:
    """A unit price that a target (rounding quantity x price to the sen, half up) turns back into ``amount``
    exactly: to the sen where the quantity divides the amount, else to as many places as it takes (6 first, the
    precision Accurate documents for prices)."""
    if not quantity:
        return amount
    for places in (2, 6, 12):
        rate = (amount / quantity).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if (quantity * rate).quantize(SEN, rounding=ROUND_HALF_UP) == amount:
            return rate
    return amount / quantity
