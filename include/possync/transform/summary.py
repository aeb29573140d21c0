"""Summarised posting (``posting: per_day | per_shift``): an outlet's period folded into one summary per document kind.

The per-order documents of a day (``transform_sales``) become, per outlet and business day (outlet time):

* one **summary invoice** ``SUM/<outlet>/<yyyy-mm-dd>``: a line per product and tax rate (quantities, gross,
  discounts and till tax summed; the unit price the highest the product sold at that day, which the discounts bring
  down to what was charged), service charges and cash rounding summed, customer the walk-in customer. Its total is
  the sum of the orders' totals, its tax per rate the sum of the till's per-line taxes, so the targets' tax per rate
  is exact through the same ``targets/base/taxes.py`` planning as one order's;
* one **summary payment** per method, ``SUM/<outlet>/<day>/P<method>``, the day's payments of that method summed;
* one **summary return** per refund day, refund method and the summary its orders are in,
  ``SUM/<outlet>/<order day>/R<refund day>/<method>`` (``/<refund outlet>`` appended when refunded at another
  outlet), against that summary invoice (a return references one invoice): lines per product summed, its total
  what was paid back.

The keys are stable, so a day summarised again (a void, an edit or a late order after it was posted) is the same
document with new content: ``possync.changes`` deletes it and posts it again, as it does a changed order. A day
whose orders were all voided has no summary (``Summaries.skipped``), so a posted one is deleted. Every document
knows the per-order documents it covers (``Summaries.covers``), so the ledger can say of each order where it went.
Amounts stay ``Decimal`` sums of the per-order ones: exact to the sen by construction.

**Periods.** ``per_day`` folds per business day (the ``<yyyy-mm-dd>`` above). ``per_shift`` folds per till shift
(``possync.pos.extract.Shift``): the period is ``S<shift id>`` (``SUM/JKT01/S42``, returns
``SUM/JKT01/S42/RS57/cash``), an order and its payments count in the order's shift, a refund in the refund's shift,
and a shift's summaries are **dated by the shift's opening** (outlet time): a night shift's business belongs to the
day it opened, as a till's day report says, and a summary needs one date whatever time its orders were rung up at.
An order or refund with no shift cannot be in a shift summary: it is refused with the reason (never dropped).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from possync.documents import (
    Document,
    InvoiceLine,
    Payment,
    Rejection,
    ReturnLine,
    SalesInvoice,
    SalesReturn,
)

if TYPE_CHECKING:
    from possync.pos.extract import Shift

ZERO = Decimal("0.00")
PREFIX = "SUM/"


def summary_key(outlet_code: str, period: date | str) -> str:
    """The summary invoice of an outlet's period: a business day (``SUM/JKT01/2026-11-10``) or a shift's period
    (``SUM/JKT01/S42``)."""
    return f"{PREFIX}{outlet_code}/{period.isoformat() if isinstance(period, date) else period}"


def is_summary_key(key: str) -> bool:
    return key.startswith(PREFIX)


def summary_period(record_type: str, key: str) -> str:
    """The period a summary document is made in: its invoice's, a return's refund period."""
    parts = key.split("/")
    return parts[3].removeprefix("R") if record_type == "return" else parts[2]


def no_shift(record_type: str) -> str:
    """Why a record with no shift is in no ``per_shift`` summary."""
    whose = {"invoice": "the order has", "return": "the refund has"}.get(record_type, "its order has")
    return (f"{whose} no shift (shift_id is empty): per_shift posting sums closed shifts; give it a shift at the "
            "till or post this outlet per_day")


def summary_day(record_type: str, key: str) -> date:
    """The business day a ``per_day`` summary document is made in: its invoice's day, a return's refund day."""
    return date.fromisoformat(summary_period(record_type, key))


@dataclass
class Summaries:
    """The summary documents of some outlet-days, and what they cover."""

    invoices: list[SalesInvoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    returns: list[SalesReturn] = field(default_factory=list)
    #: summaries not made because their day has no completed order left (voided at the till)
    skipped: list[Rejection] = field(default_factory=list)
    #: per-order documents (or summaries) that cannot be summarised, with the reason
    rejections: list[Rejection] = field(default_factory=list)
    #: (record type, summary key) → the per-order documents it sums
    covers: dict[tuple[str, str], list[Document]] = field(default_factory=dict)

    def documents(self) -> list[Document]:
        """In load order: invoices, then payments, then returns."""
        return [*self.invoices, *self.payments, *self.returns]


def _invoice(key: str, invoices: list[SalesInvoice], dated: datetime | None) -> SalesInvoice:
    lines: dict[tuple[str, Decimal], list[InvoiceLine]] = defaultdict(list)
    for invoice in invoices:
        for line in invoice.lines:
            lines[line.sku, line.tax_rate].append(line)
    summed = tuple(InvoiceLine(
        line_no=number, sku=sku, product_name=group[0].product_name,
        quantity=sum((line.quantity for line in group), Decimal("0.000")),
        unit_price=max(line.unit_price for line in group),
        gross=sum((line.gross for line in group), ZERO), discount=sum((line.discount for line in group), ZERO),
        tax_rate=rate, tax=sum((line.tax for line in group), ZERO),
    ) for number, ((sku, rate), group) in enumerate(lines.items(), start=1))
    summary = SalesInvoice(
        key=key, outlet_code=invoices[0].outlet_code, business_time=dated or max(i.business_time for i in invoices),
        customer_key=None, tax_inclusive=invoices[0].tax_inclusive, lines=summed,
        service_charge=sum((i.service_charge for i in invoices), ZERO),
        rounding=sum((i.rounding for i in invoices), ZERO), total=sum((i.total for i in invoices), ZERO),
        note=f"summary of {len(invoices)} order(s)")
    summary.check_totals()
    return summary


def _return(key: str, invoice_key: str, refunds: list[SalesReturn], dated: datetime | None) -> SalesReturn:
    lines: dict[str, list[ReturnLine]] = defaultdict(list)
    for refund in refunds:
        for line in refund.lines:
            lines[line.sku].append(line)
    summed = tuple(ReturnLine(
        line_no=number, sku=sku, product_name=group[0].product_name,
        quantity=sum((line.quantity for line in group), Decimal("0.000")),
        unit_price=max(line.unit_price for line in group),
        net=sum((line.net for line in group), ZERO), tax=sum((line.tax for line in group), ZERO),
    ) for number, (sku, group) in enumerate(lines.items(), start=1))
    summary = SalesReturn(
        key=key, invoice_key=invoice_key, outlet_code=refunds[0].outlet_code,
        business_time=dated or max(r.business_time for r in refunds), tax_inclusive=refunds[0].tax_inclusive,
        method=refunds[0].method, lines=summed, total=sum((r.total for r in refunds), ZERO),
        reason=f"summary of {len(refunds)} refund(s)")
    summary.check_totals()
    return summary


def summarise(invoices: Iterable[SalesInvoice], payments: Iterable[Payment], returns: Iterable[SalesReturn], *,
              periods: Mapping[str, Iterable[date | str]] | None = None,
              order_summaries: Mapping[str, str] | None = None,
              shifts: Mapping[tuple[str, str], Shift] | None = None) -> Summaries:
    """Fold per-order documents into the summaries of their outlet periods: per business day, or per shift when
    ``shifts`` ((record type, key) → its shift, for the invoices and returns) is given. ``periods`` (outlet → days
    or shift periods) says which; every period the documents fall on when None. An invoice counts in its period, a
    payment with its order, a refund in the period it was given, against the summary its order is in
    (``order_summaries``: order number → summary invoice key, for orders not among ``invoices``; a refund whose
    order is in no known summary cannot be summarised).

    A period asked for in ``periods`` with no invoice left comes back in ``skipped`` (its orders were voided)."""
    invoices, payments, returns = list(invoices), list(payments), list(returns)
    wanted = None if periods is None else {
        (outlet, p.isoformat() if isinstance(p, date) else p) for outlet, chosen in periods.items() for p in chosen}
    out = Summaries()

    def period(document: SalesInvoice | SalesReturn) -> tuple[str | None, datetime]:
        """The document's period and the time its summary is dated (a shift's opening, outlet time)."""
        if shifts is None:
            return document.business_time.date().isoformat(), document.business_time
        shift = shifts.get((document.record_type, document.key))
        if shift is None:
            return None, document.business_time
        return shift.period, shift.opened_at.astimezone(document.business_time.tzinfo)

    summary_of = dict(order_summaries or {})
    by_period: dict[tuple[str, str], list[SalesInvoice]] = defaultdict(list)
    dated: dict[str, datetime] = {}
    for invoice in invoices:
        label, when = period(invoice)
        if label is None:
            out.rejections.append(Rejection("invoice", invoice.key, no_shift("invoice"), invoice.outlet_code,
                                            invoice.business_time))
            continue
        summary_of[invoice.key] = summary_key(invoice.outlet_code, label)
        if wanted is None or (invoice.outlet_code, label) in wanted:
            by_period[invoice.outlet_code, label].append(invoice)
            dated[summary_of[invoice.key]] = when
    made: set[str] = set()
    for (outlet, label), group in sorted(by_period.items()):
        key = summary_key(outlet, label)
        if len({i.tax_inclusive for i in group}) > 1:
            out.rejections.append(Rejection(
                "invoice", key, "the period's orders mix tax-inclusive and tax-exclusive prices; one summary invoice "
                "cannot carry both (post this outlet per_order)", outlet, group[-1].business_time))
            continue
        out.invoices.append(_invoice(key, group, dated[key] if shifts is not None else None))
        out.covers["invoice", key] = list(group)
        made.add(key)
    for outlet, label in sorted(wanted or ()):
        if summary_key(outlet, label) not in made and (outlet, label) not in by_period:
            out.skipped.append(Rejection("invoice", summary_key(outlet, label),
                                         "no completed order left in the period (voided at the till)", outlet))

    paid: dict[tuple[str, str], list[Payment]] = defaultdict(list)
    for payment in payments:
        invoice_key = summary_of.get(payment.invoice_key)
        if invoice_key in made:
            paid[invoice_key, payment.method].append(payment)
    for (invoice_key, method), group in sorted(paid.items()):
        key = f"{invoice_key}/P{method}"
        when = dated[invoice_key] if shifts is not None else max(p.paid_at for p in group)
        out.payments.append(Payment(key, invoice_key, group[0].outlet_code, when, group[0].method,
                                    sum((p.amount for p in group), ZERO)))
        out.covers["payment", key] = list(group)

    refunded: dict[tuple[str, str, str], list[SalesReturn]] = defaultdict(list)
    dated_returns: dict[str, datetime] = {}
    for refund in returns:
        given, when = period(refund)
        if given is None:
            out.rejections.append(Rejection("return", refund.key, no_shift("return"), refund.outlet_code,
                                            refund.business_time))
            continue
        if wanted is not None and (refund.outlet_code, given) not in wanted:
            continue
        invoice_key = summary_of.get(refund.invoice_key)
        if invoice_key is None:
            out.rejections.append(Rejection(
                "return", refund.key, f"its order {refund.invoice_key} is in no summary possync knows (summarised "
                "posting returns a refund against its order's summary); sync that period first", refund.outlet_code,
                refund.business_time))
            continue
        key = f"{invoice_key}/R{given}/{refund.method}"
        if invoice_key.split("/")[1] != refund.outlet_code:  # refunded at another outlet than it was sold
            key += f"/{refund.outlet_code}"
        refunded[invoice_key, key, refund.method].append(refund)
        dated_returns[key] = when
    for (invoice_key, key, _method), group in sorted(refunded.items()):
        out.returns.append(_return(key, invoice_key, group, dated_returns[key] if shifts is not None else None))
        out.covers["return", key] = list(group)
    return out
