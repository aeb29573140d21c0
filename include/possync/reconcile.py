"""The daily reconciliation: per outlet and business day, the POS against the ledger against the target.

The ledger records what possync believes it did; the target can still differ (a document deleted or edited by
an accountant in the target's own UI, a change after sync not applied yet, a window never read, a bug). This
module proves, per outlet and day, that the books equal the POS, and names every difference.

Three sides, for a range of days and a set of outlets:

- **POS**: the documents the transform makes of those days (``extract_sales`` + ``transform_sales``, exactly as a
  sync stages them): completed orders → invoices, their payments, refunds → returns; the records the POS cannot
  turn into documents (``rejected``, with the reason) and voided orders (which the target must not hold). And
  its stock moves (``extract_stock`` + ``transform_stock``, as the transfers and stock syncs stage them): each
  transfer-out at its source on the day it was sent, each transfer-in at its destination on the day it arrived,
  adjustments and stock takes, as the documents the target holds for them (``TargetBooks.expected_stock``:
  Jurnal books a transfer's loss on the road as a stock adjustment ``<transfer>/IN`` of the transit warehouse,
  record type ``transit_loss`` under the ledger's ``transfer_in``; Accurate posts a stock take as an item
  adjustment of its differences, and nothing when the count matched the till).
- **Ledger**: the record of every one of those keys (and of every document found in the target).
- **Target**: its invoices, payments and returns of those days, and its warehouse / item transfers and stock /
  item adjustments with their per-product quantities, read through the target's list endpoints with date
  filters (or, where a vendor documents none, its paged list filtered here) and large pages (``Target.reader``,
  ``targets/<name>/books.py``), paced by its hook. A transfer side is matched by the POS number without its
  ``/OUT`` / ``/IN``.

Totals per outlet and day: invoices, payments per method, returns, refunds paid back; transfers out and in (count
and quantity) and adjustments (count and net quantity; stock takes and losses on the road among them), the
quantities in the target's terms (an adjustment's differences; Jurnal keeps a stock take's counted quantities).

Documents are matched by number (possync posts the POS key as the target's number) across the whole range, so a
document the target dates on another day of the range is still found. The target is read for exactly the range
(reading a day around it would triple the calls of a daily run), so a document it dates outside the range shows as
``missing`` on the POS's day, and as ``extra`` when its own day is reconciled. Per document, a difference is one
of:

``missing``            the POS has it, the target does not (and the ledger does not say it is synced); a
                       ``refund`` is the money a return paid back, which both targets book as a document of
                       its own (Jurnal bank withdrawal, Accurate other payment) under the refund's number
``synced_but_absent``  the ledger says synced, the target does not hold it (deleted there by hand?)
``extra``              the target holds it, the POS has no such document (added there by hand?)
``voided_but_present`` voided at the till, still in the target
``amount_differs``     invoice total / payment amount differ (types the target prices as the POS does)
``tax_differs``        the tax the target books for an invoice (all rates) is not the POS's; never explained: possync
                       posts lines on which the target's own tax is the till's per rate
``method_differs``     a payment's method differs
``quantity_differs``   an invoice's products or quantities, or a transfer side's or adjustment's quantities per
                       product (SKU), differ
``present_while_unsynced`` the target holds it while the ledger says failed or pending (or never heard of it)
``duplicated``         the target holds the number more than once

Each is **explained** when the ledger accounts for it: the record failed with a reason, is pending (the next
sales, transfers or stock run posts it), or changed in the POS after sync and the change is waiting
(``changes_after_sync``), or the sale is not due yet (sold after the day's last sales window, before the next
one ran). Anything else is **unexplained**: the reconcile task fails on those, naming them.

Money is ``Decimal`` throughout; results are kept in the ledger's ``reconciliations`` table
(``ReconciliationLog``) with their history, one row per outlet, day and run.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from possync.ledger.schema import reconciliations
from possync.money import rupiah
from possync.targets.base.books import STOCK_TYPES, quantities

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from possync.config import Integration
    from possync.ledger import LedgerRecord, RunRef, SyncLedger
    from possync.pos.source import PosSource
    from possync.targets.base.books import BookDocument, TargetBooks
    from possync.transform.sales import SalesBatch

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
QZERO = Decimal("0.000")  # quantities: three places, like the POS
SALES_TYPES = ("invoice", "payment", "return")
#: the ledger record a document belongs to, where it is not its own: a refund's money is its return's record
LEDGER_TYPES = {"refund": "return", "transit_loss": "transfer_in"}
#: an outlet code for target documents whose outlet cannot be told (no mapped warehouse, no known invoice)
UNKNOWN_OUTLET = "?"

KINDS = ("missing", "synced_but_absent", "extra", "voided_but_present", "amount_differs", "tax_differs",
         "method_differs", "quantity_differs", "present_while_unsynced", "duplicated")


@dataclass(frozen=True, slots=True)
class Difference:
    """One document on which the POS, the ledger and the target disagree; ``explanation`` is None when
    nothing accounts for it (unexplained)."""

    kind: str
    record_type: str
    key: str
    detail: str
    explanation: str | None = None
    pos: str | None = None  # the POS's amount / method, as text (Decimal strings)
    target: str | None = None  # the target's
    target_id: str | None = None
    ledger_status: str | None = None

    @property
    def explained(self) -> bool:
        return self.explanation is not None

    def line(self) -> str:
        """One readable line, as the task log and the CLI print it."""
        why = f" (explained: {self.explanation})" if self.explained else " (UNEXPLAINED)"
        return f"{self.kind:<22} {self.record_type:<8} {self.key}: {self.detail}{why}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "record_type": self.record_type, "key": self.key, "detail": self.detail,
                "explained": self.explained, "explanation": self.explanation, "pos": self.pos,
                "target": self.target, "target_id": self.target_id, "ledger_status": self.ledger_status}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Difference:
        return cls(data["kind"], data["record_type"], data["key"], data["detail"], data.get("explanation"),
                   data.get("pos"), data.get("target"), data.get("target_id"), data.get("ledger_status"))


@dataclass
class Totals:
    """One side's totals of an outlet's day. ``tax`` is None where the side shows none comparable."""

    invoices: int = 0
    invoice_total: Decimal = ZERO
    tax: Decimal | None = None
    payment_count: int = 0
    payments: dict[str, Decimal] = field(default_factory=dict)  # per method
    returns: int = 0
    return_total: Decimal = ZERO
    rejected: int = 0  # POS side: records the POS holds but cannot turn into documents (each a difference)
    refunds: int = 0  # the money returns paid back (the POS: every refund; a target: its refund documents)
    refund_total: Decimal = ZERO
    # stock moves, quantities in the target's terms (``TargetBooks.expected_stock``): transfer sides sent at the
    # outlet on their day / received there on theirs; adjustments (stock takes and Jurnal's losses on the road
    # among them) by count and net quantity
    transfers_out: int = 0
    transfer_out_quantity: Decimal = QZERO
    transfers_in: int = 0
    transfer_in_quantity: Decimal = QZERO
    adjustments: int = 0
    adjustment_quantity: Decimal = QZERO

    def add(self, record_type: str, amount: Decimal | None, method: str | None = None,
            tax: Decimal | None = None) -> None:
        amount = amount if amount is not None else ZERO
        if record_type == "invoice":
            self.invoices += 1
            self.invoice_total += amount
            if tax is not None:
                self.tax = (self.tax or ZERO) + tax
        elif record_type == "payment":
            self.payment_count += 1
            name = method or "unknown"
            self.payments[name] = self.payments.get(name, ZERO) + amount
        elif record_type == "return":
            self.returns += 1
            self.return_total += amount
        elif record_type == "refund":
            self.refunds += 1
            self.refund_total += amount
        elif record_type == "transfer_out":
            self.transfers_out += 1
            self.transfer_out_quantity += amount
        elif record_type == "transfer_in":
            self.transfers_in += 1
            self.transfer_in_quantity += amount
        elif record_type in ("adjustment", "stock_take", "transit_loss"):
            self.adjustments += 1
            self.adjustment_quantity += amount

    def as_dict(self) -> dict[str, Any]:
        return {"invoices": self.invoices, "invoice_total": str(self.invoice_total),
                "tax": None if self.tax is None else str(self.tax), "payment_count": self.payment_count,
                "payments": {m: str(a) for m, a in sorted(self.payments.items())}, "returns": self.returns,
                "return_total": str(self.return_total), "rejected": self.rejected, "refunds": self.refunds,
                "refund_total": str(self.refund_total), "transfers_out": self.transfers_out,
                "transfer_out_quantity": str(self.transfer_out_quantity), "transfers_in": self.transfers_in,
                "transfer_in_quantity": str(self.transfer_in_quantity), "adjustments": self.adjustments,
                "adjustment_quantity": str(self.adjustment_quantity)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Totals:
        return cls(int(data["invoices"]), Decimal(data["invoice_total"]),
                   None if data.get("tax") is None else Decimal(data["tax"]), int(data["payment_count"]),
                   {m: Decimal(a) for m, a in data["payments"].items()}, int(data["returns"]),
                   Decimal(data["return_total"]), int(data.get("rejected") or 0), int(data.get("refunds") or 0),
                   Decimal(data.get("refund_total") or "0.00"),  # rows kept before stock was reconciled: zeros
                   int(data.get("transfers_out") or 0), Decimal(data.get("transfer_out_quantity") or "0.000"),
                   int(data.get("transfers_in") or 0), Decimal(data.get("transfer_in_quantity") or "0.000"),
                   int(data.get("adjustments") or 0), Decimal(data.get("adjustment_quantity") or "0.000"))


@dataclass
class DayResult:
    """One outlet's business day: both sides' totals, the ledger's counts, and every difference."""

    integration: str
    business_date: date
    outlet_code: str
    run_at: datetime
    pos: Totals = field(default_factory=Totals)
    target: Totals = field(default_factory=Totals)
    ledger: Counter[str] = field(default_factory=Counter)  # status (or "not in ledger") → POS documents
    differences: list[Difference] = field(default_factory=list)

    @property
    def unexplained(self) -> list[Difference]:
        return [d for d in self.differences if not d.explained]

    @property
    def explained(self) -> list[Difference]:
        return [d for d in self.differences if d.explained]

    @property
    def outcome(self) -> str:
        """``equal``, ``explained`` (every difference is accounted for) or ``unexplained``."""
        if self.unexplained:
            return "unexplained"
        return "explained" if self.differences else "equal"

    def as_dict(self) -> dict[str, Any]:
        return {"integration": self.integration, "business_date": self.business_date.isoformat(),
                "outlet": self.outlet_code, "run_at": self.run_at.isoformat(), "outcome": self.outcome,
                "pos": self.pos.as_dict(), "target": self.target.as_dict(), "ledger": dict(sorted(self.ledger.items())),
                "differences": [d.as_dict() for d in self.differences]}

    def summary(self) -> str:
        return (f"{self.business_date} {self.outlet_code}: {self.outcome}; invoices POS {self.pos.invoices} "
                f"({rupiah(self.pos.invoice_total)}) / target {self.target.invoices} "
                f"({rupiah(self.target.invoice_total)}); "
                f"VAT POS {rupiah(self.pos.tax or ZERO)} / target {rupiah(self.target.tax or ZERO)}; "
                f"transfers out {self.pos.transfers_out}/{self.target.transfers_out}, in "
                f"{self.pos.transfers_in}/{self.target.transfers_in}, adjustments "
                f"{self.pos.adjustments}/{self.target.adjustments}; "
                f"{len(self.explained)} explained, {len(self.unexplained)} unexplained difference(s)")


# ------------------------------------------------------------------------------------------------- the POS side


@dataclass(frozen=True, slots=True)
class PosDocument:
    """What the POS says one document is (``amount`` None for a record the POS cannot turn into a document)."""

    record_type: str
    key: str
    day: date
    outlet_code: str
    amount: Decimal | None = None
    method: str | None = None
    tax: Decimal | None = None
    invoice_key: str | None = None
    business_time: datetime | None = None
    rejected: str | None = None  # why the POS record cannot become a document
    voided: str | None = None  # voided at the till: the target must not hold it
    #: invoices: SKU → quantity of its products; stock documents: SKU → quantity, in the target's terms
    lines: tuple[tuple[str, Decimal], ...] = ()
    tax_inclusive: bool = False  # invoices: priced with tax included


def pos_documents(pos: Engine, integration: Integration, outlet_codes: Sequence[str], first: date,
                  last: date, ledger: SyncLedger | None = None) -> list[PosDocument]:
    """The POS's sales documents of the outlets dated ``first`` to ``last`` (outlet time), and a day around them
    (so a document the target dates a day off is still matched), as the sales sync's transform makes them; with
    summarised posting (``per_day`` / ``per_shift``), as the sync summarises them (``possync.transform.summary``:
    the summary documents, the orders' own records left only where the POS cannot make documents of them)."""
    from possync.pos.extract import Window
    from possync.pos.source import pos_source
    from possync.transform.sales import transform_sales

    zone = ZoneInfo(integration.timezone)
    window = Window(datetime.combine(first - timedelta(days=1), time(), tzinfo=zone),
                    datetime.combine(last + timedelta(days=2), time(), tzinfo=zone))
    source = pos_source(pos, getattr(integration, "profile", None))  # the integration's source profile, if any
    batch = transform_sales(source.extract_sales(window, list(outlet_codes)))
    found: list[PosDocument] = []
    if integration.posting != "per_order":
        batch = _summarised(batch, integration, source, pos, ledger)
    for invoice in batch.invoices:
        found.append(PosDocument("invoice", invoice.key, invoice.business_time.date(), invoice.outlet_code,
                                 invoice.total, tax=invoice.tax_total, business_time=invoice.business_time,
                                 lines=quantities((line.sku, line.quantity) for line in invoice.lines),
                                 tax_inclusive=invoice.tax_inclusive))
    for payment in batch.payments:
        found.append(PosDocument("payment", payment.key, payment.paid_at.date(), payment.outlet_code, payment.amount,
                                 method=payment.method, invoice_key=payment.invoice_key,
                                 business_time=payment.paid_at))
    for sales_return in batch.returns:
        for record_type in ("return", "refund"):  # the goods back, and the money paid back
            found.append(PosDocument(record_type, sales_return.key, sales_return.business_time.date(),
                                     sales_return.outlet_code, sales_return.total, invoice_key=sales_return.invoice_key,
                                     business_time=sales_return.business_time))
    for rejection, attribute in [*((r, "rejected") for r in batch.rejections),
                                 *((r, "voided") for r in batch.skipped)]:
        if rejection.record_type not in SALES_TYPES or rejection.business_time is None:
            continue
        for record_type in (rejection.record_type, *(("refund",) if rejection.record_type == "return" else ())):
            found.append(PosDocument(record_type, rejection.key, rejection.business_time.date(),
                                     rejection.outlet_code or UNKNOWN_OUTLET, business_time=rejection.business_time,
                                     **{attribute: rejection.reason}))
    return found


def _summarised(batch: SalesBatch, integration: Integration, source: PosSource, pos: Engine,
                ledger: SyncLedger | None = None) -> SalesBatch:
    """The batch as summarised posting (``per_day`` / ``per_shift``) posts it: its periods that are over summarised
    (a shift's summaries dated by its opening, as the sync dates them), the records refused (the orders' and the
    summaries') and the voided orders kept. The orders of a period not over yet (a shift still open) stay as they
    are: the sync holds them ``pending`` until their summary is due, and that is what explains them. So do those of
    a period the target holds orders of one by one (posted per order before ``posting`` was switched): the sync
    refuses its summary rather than book them twice, so the target has that period order by order."""
    from possync.summaries import Periods, order_summaries, posted_alone
    from possync.transform.sales import SalesBatch
    from possync.transform.summary import summarise

    periods = Periods(integration.posting, ZoneInfo(integration.timezone), pos)
    shifts = periods.shifts_of([*batch.invoices, *batch.returns])
    now = datetime.now(UTC)
    alone_in: set[str | None] = set()  # the periods the target holds orders of one by one
    if ledger is not None:
        alone = {r.key for r in posted_alone(ledger, integration.name, [i.key for i in batch.invoices])}
        alone_in = {periods.of(invoice, shifts) for invoice in batch.invoices if invoice.key in alone}
    due: list[list[Any]] = [[], [], []]
    waiting: list[list[Any]] = [[], [], []]
    for kind, documents in enumerate((batch.invoices, batch.payments, batch.returns)):
        for document in documents:
            as_they_are = periods.still_open(document, shifts, now) or (
                alone_in and periods.of(document, shifts) in alone_in)
            (waiting if as_they_are else due)[kind].append(document)
    invoices, payments, returns = due
    orders = {invoice.key for invoice in invoices}
    unknown = sorted({r.invoice_key for r in returns if r.invoice_key not in orders})
    known = order_summaries(source, unknown, periods)
    folded = summarise(invoices, payments, returns, order_summaries=known,
                       shifts=shifts if periods.per_shift else None)
    return SalesBatch([*folded.invoices, *waiting[0]], [*folded.payments, *waiting[1]],
                      [*folded.returns, *waiting[2]], [*batch.rejections, *folded.rejections], batch.skipped)


def pos_stock_documents(pos: Engine, integration: Integration, books: TargetBooks, outlet_codes: Sequence[str],
                        first: date, last: date) -> list[PosDocument]:
    """The POS's stock documents of the outlets around ``first`` to ``last`` (a day either side, as
    ``pos_documents``), as the stock syncs make them (``extract_stock`` + ``transform_stock``): a transfer-out at
    its source on the day it was sent, a transfer-in at its destination on the day it arrived, adjustments and
    stock takes; each as the documents the target holds for it (``TargetBooks.expected_stock``: Jurnal's loss on
    the road is a ``transit_loss`` of its own, Accurate posts nothing for a count that matched the till), with its
    lines in the target's terms. Records the POS cannot make documents of (a transfer never recorded as sent, a
    product without SKU, a transfer from or to an outlet the integration does not map) come with the reason."""
    from possync.pos.extract import Window
    from possync.pos.source import pos_source
    from possync.transform.stock import transform_stock

    zone = ZoneInfo(integration.timezone)
    window = Window(datetime.combine(first - timedelta(days=1), time(), tzinfo=zone),
                    datetime.combine(last + timedelta(days=2), time(), tzinfo=zone))
    source = pos_source(pos, getattr(integration, "profile", None))
    batch = transform_stock(source.extract_stock(window, list(outlet_codes)), outlet_codes, until=window.end)
    found: list[PosDocument] = []
    mapped = set(integration.outlets)
    for document in batch.documents():
        other = getattr(document, "to_outlet_code", None) or getattr(document, "from_outlet_code", None)
        moment = document.business_time
        if other is not None and other not in mapped:  # as the stock sync's staging rejects it
            found.append(PosDocument(document.record_type, document.key, moment.date(), document.outlet_code,
                                     rejected=f"outlet {other} is not mapped to a warehouse of {integration.name} "
                                              "(integrations.yaml, outlets)"))
            continue
        for record_type, lines in books.expected_stock(document):
            found.append(PosDocument(record_type, document.key, moment.date(), document.outlet_code,
                                     sum((q for _sku, q in lines), QZERO), business_time=moment, lines=lines))
    for rejection in batch.rejections:
        if rejection.business_time is None:
            continue
        found.append(PosDocument(rejection.record_type, rejection.key, rejection.business_time.date(),
                                 rejection.outlet_code or UNKNOWN_OUTLET, rejected=rejection.reason))
    return found


# ---------------------------------------------------------------------------------------------- the comparison


def _explanation(record: LedgerRecord | None) -> str | None:
    """What in the ledger accounts for a difference on this record, or None."""
    if record is None:
        return None
    if record.changed_since_sync:
        return "changed in the POS after sync; the change waits for the next sales run (changes_after_sync)" + (
            f": {record.reason}" if record.status == "failed" and record.reason else "")
    if record.status == "ignored":
        return f"ignored by {record.ignored_by}: {record.ignored_reason}"
    if record.status == "failed" and record.reason:
        return f"failed in the ledger: {record.reason}"
    if record.status == "pending":
        return ("pending in the ledger: the next sales run posts it" if record.flow == "sales" else
                "pending in the ledger: the next transfers run (transfers, adjustments, stock takes) posts it")
    return None


def not_due_before(integration: Integration, day: date) -> datetime:
    """When the day's last sales window ends: a sale after it is synced by the next day's first window."""
    zone = ZoneInfo(integration.timezone)
    sales = integration.sales
    if sales.mode == "scheduled" and sales.hours:
        return datetime.combine(day, max(sales.hours), tzinfo=zone)
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone) - timedelta(minutes=sales.every_minutes)


def next_window_end(integration: Integration, day: date) -> datetime:
    """When the window that syncs the day's last sales (those after ``not_due_before``) ends."""
    zone = ZoneInfo(integration.timezone)
    sales = integration.sales
    if sales.mode == "scheduled" and sales.hours:
        return datetime.combine(day + timedelta(days=1), min(sales.hours), tzinfo=zone)
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone) + timedelta(minutes=sales.every_minutes)


#: how long after a scheduled transfers window ends its run may still be posting it: the daily reconciliation runs
#: about when the demo's last transfers window ends (both 23:45), so a stock move of that window is not due until then
STOCK_RUN_GRACE = timedelta(minutes=30)
#: how long a stock move may wait for ops to sync it by hand (``transfers.mode: manual``) before it is unexplained:
#: past that it is a move nobody synced, not one waiting for its run
MANUAL_SYNC_GRACE = timedelta(days=7)


#: possync's own stock documents, not POS moves (possync.stocksync): ledger record type by number prefix
OWN_STOCK = {"OS/": "opening_stock", "SC/": "stock_correction"}


def own_stock_set_aside(documents: list[BookDocument], ledger: SyncLedger, integration: str) -> list[BookDocument]:
    """The target's stock documents without possync's own opening stock and stock corrections (the ledger holds
    each under ``opening_stock`` / ``stock_correction``): they move no POS record, the stock comparison
    (``possync stock compare``) checks what they leave. One numbered like them the ledger does not know stays."""
    own: dict[str, set[str]] = defaultdict(set)
    for document in documents:
        prefix = next((p for p in OWN_STOCK if document.number.startswith(p)), None)
        if prefix and document.record_type in ("adjustment", "stock_take"):
            own[OWN_STOCK[prefix]].add(document.number)
    known = {(record_type, key) for record_type, keys in own.items()
             for key in ledger.lookup(integration, record_type, keys)}
    return [d for d in documents if not any((t, d.number) in known for t in OWN_STOCK.values())]


def inbound_set_aside(documents: list[BookDocument], pos: Engine, integration: str) -> list[BookDocument]:
    """The target's stock documents without the transfers entered in the target itself and written into the POS by
    the inbound (``possync.pos.incoming``): the POS holds them as its own transfers, never synced out, so they are
    no difference (``possync stock compare`` still sees the stock they moved on both sides)."""
    from possync.pos.incoming import inbound_transfer_numbers

    inbound = inbound_transfer_numbers(pos, integration)
    return [d for d in documents if not (d.record_type in ("transfer_out", "transfer_in") and d.number in inbound)]


def stock_not_due(integration: Integration, moment: datetime | None, now: datetime) -> str | None:
    """Why a transfer side, adjustment or stock take no sync has read yet is not due: transfers synced by hand
    (``transfers.mode: manual``: ops have not synced its day yet), or the scheduled transfers window that syncs it
    has not ended (with ``STOCK_RUN_GRACE`` for its run to post it); None when it is due (for a manual sync,
    ``MANUAL_SYNC_GRACE`` after the move)."""
    if moment is None:
        return None
    transfers = integration.transfers
    if transfers.mode != "automatic":  # manual; realtime syncs only transfer sides on its own (``not_due``)
        if now >= moment + MANUAL_SYNC_GRACE:
            return None
        return (f"transfers and stock are synced by hand (transfers.mode: {transfers.mode}) and no run has read it yet"
                f" (unexplained from {(moment + MANUAL_SYNC_GRACE).date()} on)")
    zone = ZoneInfo(integration.timezone)
    local = moment.astimezone(zone)
    ends = sorted(datetime.combine(local.date() + timedelta(days=days), hour, tzinfo=zone)
                  for days in (0, 1) for hour in transfers.hours)
    end = next((e for e in ends if e > local), None)
    if end is None or now >= end + STOCK_RUN_GRACE:
        return None
    return f"not due yet: the transfers window ending {end:%Y-%m-%d %H:%M} syncs it"


def _text(value: Decimal | str | None) -> str | None:
    return None if value is None else str(value)


def _lines_text(lines: Sequence[tuple[str, Decimal]]) -> str:
    """A stock document's quantities, as differences show them: ``SKU-1 ×5.000, SKU-2 ×-1.000``."""
    return ", ".join(f"{sku} ×{quantity}" for sku, quantity in lines) or "no quantities"


class _Comparison:
    """Matches the three sides of one range and files totals and differences per (day, outlet)."""

    def __init__(self, integration: Integration, books: TargetBooks, pos_docs: list[PosDocument],
                 target_docs: list[BookDocument], ledger: SyncLedger, first: date, last: date,
                 outlets: Sequence[str], now: datetime) -> None:
        self.integration, self.first, self.last, self.now = integration, first, last, now
        self.outlets = set(outlets)
        self.comparable = books.comparable_amounts
        self.pos = {(d.record_type, d.key): d for d in pos_docs}
        self.target: dict[tuple[str, str], list[BookDocument]] = defaultdict(list)
        target_docs = self.stock_takes_told(target_docs, ledger)
        for document in target_docs:
            self.target[document.record_type, document.number].append(document)
        keys: dict[str, set[str]] = defaultdict(set)
        for record_type, key in [*self.pos, *self.target]:
            keys[record_type].add(key)
        self.records: dict[tuple[str, str], LedgerRecord] = {}
        for record_type, wanted in keys.items():
            for key, record in ledger.lookup(integration.name, LEDGER_TYPES.get(record_type, record_type),
                                             wanted).items():
                self.records[record_type, key] = record
        self.results: dict[tuple[date, str], DayResult] = {}

    def stock_takes_told(self, target_docs: list[BookDocument], ledger: SyncLedger) -> list[BookDocument]:
        """A target whose item adjustment does not say it was a stock take (Accurate): the POS's word for the
        number, else the ledger's."""
        import dataclasses

        unsure = {d.number for d in target_docs if d.record_type == "adjustment"}
        counts = {key for record_type, key in self.pos if record_type == "stock_take" and key in unsure}
        counts |= set(ledger.lookup(self.integration.name, "stock_take", unsure - counts)) if unsure - counts else set()
        if not counts:
            return target_docs
        return [dataclasses.replace(d, record_type="stock_take")
                if d.record_type == "adjustment" and d.number in counts and ("adjustment", d.number) not in self.pos
                else d for d in target_docs]

    def result(self, day: date, outlet: str) -> DayResult:
        if (day, outlet) not in self.results:
            self.results[day, outlet] = DayResult(self.integration.name, day, outlet, self.now)
        return self.results[day, outlet]

    def in_range(self, day: date, outlet: str | None) -> bool:
        return self.first <= day <= self.last and (outlet in self.outlets or outlet == UNKNOWN_OUTLET)

    def outlet_of_target(self, document: BookDocument) -> str:
        """The outlet a target document belongs to: the ledger's or the POS's for a key possync knows, else its
        own warehouse/branch, else (payments, returns) its invoice's."""
        known = self.records.get((document.record_type, document.number))
        pos = self.pos.get((document.record_type, document.number))
        if known is not None and known.outlet_code:
            return known.outlet_code
        if pos is not None:
            return pos.outlet_code
        if document.outlet_code:
            return document.outlet_code
        if document.invoice_number:
            invoice = self.records.get(("invoice", document.invoice_number)) or self.pos.get(
                ("invoice", document.invoice_number))
            outlet = getattr(invoice, "outlet_code", None)
            if outlet:
                return outlet
            found = self.target.get(("invoice", document.invoice_number))
            if found and found[0].outlet_code:
                return found[0].outlet_code
        return UNKNOWN_OUTLET

    def run(self) -> list[DayResult]:
        zone = ZoneInfo(self.integration.timezone)
        for day in _days(self.first, self.last):  # every outlet-day gets a result, an empty one too
            for outlet in self.outlets:
                self.result(day, outlet)
        for (record_type, key), document in self.pos.items():
            if not self.in_range(document.day, document.outlet_code):
                continue
            result = self.result(document.day, document.outlet_code)
            record = self.records.get((record_type, key))
            held = self.target.get((record_type, key), [])
            if document.voided is None:
                result.ledger[record.status if record else "not in ledger"] += 1
            if document.rejected is None and document.voided is None:
                result.pos.add(record_type, document.amount, document.method, document.tax)
            elif document.rejected is not None:
                result.pos.rejected += 1
            for copy in held:
                result.target.add(record_type, copy.amount, copy.method, copy.tax)
            result.differences += self.compare(document, record, held, zone)
        for (record_type, number), held in self.target.items():
            if (record_type, number) in self.pos:
                continue
            document = held[0]
            outlet = self.outlet_of_target(document)
            if not self.in_range(document.day, outlet):
                continue
            result = self.result(document.day, outlet)
            for copy in held:
                result.target.add(record_type, copy.amount, copy.method, copy.tax)
            record = self.records.get((record_type, number))
            status = record.status if record else None
            result.differences.append(Difference(
                "extra", record_type, number,
                f"{self.label(document)} is in the target but not among the POS's documents of the day"
                + (f" (ledger: {status})" if status else " (the ledger never heard of it)"),
                None, None, _text(document.amount), document.target_id, status))
        return [self.results[k] for k in sorted(self.results)]

    @staticmethod
    def label(document: BookDocument) -> str:
        if document.record_type in STOCK_TYPES:
            return f"#{document.target_id} dated {document.day}, {_lines_text(document.lines)}"
        return f"#{document.target_id} dated {document.day}, {rupiah(document.amount)}" + (
            f" by {document.method}" if document.method else "")

    def compare(self, document: PosDocument, record: LedgerRecord | None, held: list[BookDocument],
                zone: ZoneInfo) -> list[Difference]:
        record_type, key = document.record_type, document.key
        status = record.status if record else None
        why = _explanation(record)
        found: list[Difference] = []
        if document.voided is not None:
            if held:
                waiting = ("voided at the till after sync; the next sales run deletes it"
                           if record is not None and record.target_hash is not None else None)
                found.append(Difference("voided_but_present", record_type, key,
                                        f"{document.voided}, but the target holds {self.label(held[0])}",
                                        waiting, "voided", _text(held[0].amount), held[0].target_id, status))
            return found
        if not held:
            if status == "synced":
                found.append(Difference(
                    "synced_but_absent", record_type, key,
                    f"the ledger says synced as #{record.target_id if record else '?'}, the target does not hold it",
                    None, _text(document.amount), None, record.target_id if record else None, status))
                return found
            if record is None:
                why = self.not_due(document)
            detail = (f"the POS cannot make it a document: {document.rejected}" if document.rejected else
                      "in the POS, not in the target" + ("" if record else "; no sync has read it"))
            found.append(Difference("missing", record_type, key, detail, why, _text(document.amount), None, None,
                                    status))
            return found
        target = held[0]
        if len(held) > 1:
            found.append(Difference("duplicated", record_type, key,
                                    f"the target holds it {len(held)} times: "
                                    + ", ".join(f"#{copy.target_id}" for copy in held),
                                    None, _text(document.amount), _text(target.amount), target.target_id, status))
        if document.rejected is not None or status != "synced":
            found.append(Difference(
                "present_while_unsynced", record_type, key,
                f"the target holds {self.label(target)} while the ledger says {status or 'nothing'}",
                why, _text(document.amount), _text(target.amount), target.target_id, status))
        if document.rejected is not None:
            return found
        if record_type in self.comparable and document.amount is not None and target.amount != document.amount:
            found.append(Difference("amount_differs", record_type, key,
                                    f"POS {rupiah(document.amount)}, target {rupiah(target.amount)}", why,
                                    _text(document.amount), _text(target.amount), target.target_id, status))
        if record_type == "invoice" and document.tax is not None and target.tax is not None \
                and target.tax != document.tax:
            found.append(Difference("tax_differs", record_type, key,
                                    f"VAT: POS {rupiah(document.tax)}, target {rupiah(target.tax)}",
                                    why, _text(document.tax), _text(target.tax),
                                    target.target_id, status))
        if (record_type in STOCK_TYPES or (record_type == "invoice" and target.lines is not None)) \
                and target.lines != document.lines:
            found.append(Difference("quantity_differs", record_type, key,
                                    f"POS {_lines_text(document.lines)}; target {_lines_text(target.lines)}", why,
                                    _lines_text(document.lines), _lines_text(target.lines), target.target_id, status))
        if record_type == "payment" and target.method != document.method:
            found.append(Difference("method_differs", record_type, key,
                                    f"POS {document.method}, target {target.method}", why, document.method,
                                    target.method, target.target_id, status))
        return found

    def not_due(self, document: PosDocument) -> str | None:
        """A sale no sync has read yet, because it was made after the day's last sales window and the window
        that syncs it has not ended: not due yet. A stock move: see ``stock_not_due``."""
        realtime_side = (self.integration.transfers.mode == "realtime"
                         and document.record_type in ("transfer_out", "transfer_in"))
        if document.record_type in STOCK_TYPES and not realtime_side:  # a realtime side is due like a sale
            return stock_not_due(self.integration, document.business_time, self.now)
        moment = document.business_time
        if moment is None or moment < not_due_before(self.integration, document.day):
            return None
        if self.now >= next_window_end(self.integration, document.day):
            return None
        return (f"sold after the day's last sales window ({not_due_before(self.integration, document.day):%H:%M}); "
                "the next window syncs it")


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def reconcile(integration: Integration, books: TargetBooks, pos: Engine, ledger: SyncLedger, first: date,
              last: date, *, outlets: Sequence[str] | None = None, now: datetime | None = None,
              logger: logging.Logger | logging.LoggerAdapter | None = None) -> list[DayResult]:
    """Compare the POS, the ledger and the target for the days ``first`` to ``last`` (outlet time, both
    included) and the outlets (all the integration maps when None); one ``DayResult`` per outlet and day. Target
    documents whose outlet cannot be told are filed under outlet ``?``."""
    logger = logger or log
    if last < first:
        raise ValueError(f"to date {last} is before from date {first}")
    chosen = sorted(outlets or integration.outlets)
    unknown = set(chosen) - set(integration.outlets)
    if unknown:
        raise ValueError(f"outlet(s) {', '.join(sorted(unknown))} are not mapped in {integration.name}")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    pos_docs = pos_documents(pos, integration, chosen, first, last, ledger)
    pos_docs += pos_stock_documents(pos, integration, books, chosen, first, last)
    target_docs = list(books.documents(first, last)) + inbound_set_aside(own_stock_set_aside(
        list(books.stock_documents(first, last)), ledger, integration.name), pos, integration.name)
    logger.info("%s: %d POS record(s) around %s → %s, %d target document(s) dated in it", integration.name,
                len(pos_docs), first, last, len(target_docs))
    results = _Comparison(integration, books, pos_docs, target_docs, ledger, first, last, chosen, now).run()
    if outlets:  # documents of unknown outlet count only when every outlet is reconciled
        results = [r for r in results if r.outlet_code != UNKNOWN_OUTLET]
    return results


# ---------------------------------------------------------------------------------------------- repair


def resync_missing(ledger: SyncLedger, integration: str, results: Iterable[DayResult], *,
                   run: RunRef | None = None, logger: logging.Logger | logging.LoggerAdapter | None = None
                   ) -> list[tuple[str, str]]:
    """**Re-sync missing**: the records the ledger says are synced but the target does not hold
    (``synced_but_absent``) become ``pending`` without a target id, with the reason, so the normal sales sync
    (its earlier-unsynced retry, or a run over their window) posts them again through the ledger, the log
    lines and the pool. Returns (record type, key) of each record reset. Nothing else is touched: an extra or
    differing document needs a person (possync never deletes what it did not post)."""
    from possync.ledger import Reversal
    from possync.recordlog import log_record

    logger = logger or log
    wanted: dict[str, list[tuple[Difference, DayResult]]] = defaultdict(list)
    for result in results:
        for difference in result.differences:
            if difference.kind == "synced_but_absent":  # a refund's money goes again with its return's record
                wanted[LEDGER_TYPES.get(difference.record_type, difference.record_type)].append((difference, result))
    reset: list[tuple[str, str]] = []
    for record_type, items in wanted.items():
        records = ledger.lookup(integration, record_type, [d.key for d, _ in items])
        reversals = []
        done: set[str] = set()
        for difference, result in items:
            record = records.get(difference.key)
            if record is None or record.status != "synced" or difference.key in done:
                continue  # changed since the reconciliation (the next one looks again), or reset already
            done.add(difference.key)
            reason = (f"absent from the target at the reconciliation of {result.business_date} "
                      f"({result.run_at:%Y-%m-%d %H:%M} UTC) although synced as #{record.target_id}; re-sync missing: "
                      "the next sales run posts it again")
            reversals.append(Reversal(record, "pending", reason))
            log_record(logger, "REVERSED", record_type, difference.key, reason)
            reset.append((record_type, difference.key))
        ledger.reverse(integration, reversals, run)
    return reset


# ---------------------------------------------------------------------------------------------- kept results


class ReconciliationLog:
    """The reconciliation results in the ledger database (table ``reconciliations``): one row per outlet, day
    and run; the newest row of an outlet's day is its standing, the older ones its history."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, results: Iterable[DayResult], run: RunRef | None = None) -> int:
        rows = [{
            "integration": r.integration, "business_date": r.business_date.isoformat(), "outlet_code": r.outlet_code,
            "run_at": r.run_at, "outcome": r.outcome, "explained": len(r.explained),
            "unexplained": len(r.unexplained), "pos_totals": json.dumps(r.pos.as_dict()),
            "target_totals": json.dumps(r.target.as_dict()), "ledger_totals": json.dumps(dict(r.ledger)),
            "differences": json.dumps([d.as_dict() for d in r.differences]),
            "dag_id": run.dag_id if run else None, "run_id": run.run_id if run else None,
            "task_id": run.task_id if run else None,
        } for r in results]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(reconciliations.insert(), rows)
        return len(rows)

    def newest_day(self, integration: str) -> date | None:
        """The newest business day with a kept result, or None."""
        from sqlalchemy import func

        c = reconciliations.c
        with self.engine.connect() as conn:
            day = conn.execute(select(func.max(c.business_date)).where(c.integration == integration)).scalar()
        return None if day is None else date.fromisoformat(day)

    def history(self, integration: str, first: date, last: date, *, outlets: Sequence[str] | None = None,
                latest_only: bool = False) -> list[DayResult]:
        """The kept results of the days ``first`` to ``last``, by day, outlet and run time (newest last); with
        ``latest_only``, only each outlet-day's newest."""
        c = reconciliations.c
        query = (select(c.integration, c.business_date, c.outlet_code, c.run_at, c.pos_totals, c.target_totals,
                        c.ledger_totals, c.differences)
                 .where(c.integration == integration, c.business_date >= first.isoformat(),
                        c.business_date <= last.isoformat())
                 .order_by(c.business_date, c.outlet_code, c.run_at, c.id))
        if outlets:
            query = query.where(c.outlet_code.in_(list(outlets)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        results = [DayResult(name, date.fromisoformat(day), outlet, run_at, Totals.from_dict(json.loads(pos)),
                             Totals.from_dict(json.loads(target)), Counter(json.loads(ledger)),
                             [Difference.from_dict(d) for d in json.loads(differences)])
                   for name, day, outlet, run_at, pos, target, ledger, differences in rows]
        if latest_only:
            newest = {(r.business_date, r.outlet_code): r for r in results}
            results = [newest[k] for k in sorted(newest)]
        return results


def failure_message(results: Sequence[DayResult], limit: int = 20) -> str | None:
    """The reconcile task's failure, naming the unexplained differences; None when there are none."""
    lines = [f"{r.business_date} {r.outlet_code} {d.line()}" for r in results for d in r.unexplained]
    if not lines:
        return None
    more = f"\n… and {len(lines) - limit} more (possync reconcile --json)" if len(lines) > limit else ""
    return f"{len(lines)} unexplained difference(s) between the POS and the target:\n" + "\n".join(
        lines[:limit]) + more


def run_reconciliation(integration: Integration, first: date, last: date, *, outlets: Sequence[str] | None = None,
                       run: RunRef | None = None, now: datetime | None = None,
                       logger: logging.Logger | logging.LoggerAdapter | None = None) -> list[DayResult]:
    """Reconcile through the integration's connections (POS, ledger, target hook, paced to its pool share) and
    keep the results: what the DAG's task and ``possync reconcile --run`` call."""
    from possync.db import engine_for_conn
    from possync.ledger import SyncLedger
    from possync.targets.base.registry import get_target

    logger = logger or log
    target = get_target(integration.target)
    ledger = SyncLedger(engine_for_conn(integration.ledger_conn_id))
    ledger.create_schema()
    books = target.reader(target.hook(integration), integration)
    results = reconcile(integration, books, engine_for_conn(integration.pos_conn_id), ledger, first, last,
                        outlets=outlets, now=now, logger=logger)
    ReconciliationLog(ledger.engine).save(results, run)
    for result in results:
        logger.info("%s", result.summary())
        for difference in result.differences:
            logger.info("  %s", difference.line())
    return results
