"""Summarised posting in the sales sync (``posting: per_day | per_shift``): which periods a run summarises, and the
ledger's word on every order in a summary. The text below says "day"; ``per_shift`` is the same with a till shift
for the day (``Periods``): a shift is over once the POS has closed it (its ``closed_at`` at or before the clock
below; an open shift's summary waits as ``SUM/<outlet>/S<shift id>`` "waits for the close of shift ..."), it is
read whole by its close the way ``sales.mode: shift_close`` reads shifts, and its summaries are dated by its
opening. An order, payment or refund with no shift fails with the reason (nothing is left pending for ever), and so
does the summary of a shift still open ``open_shift_hours`` (24 by default) after it opened: someone has to close
it.

**When a day is posted.** A business day (outlet time, the integration's ``timezone``) is summarised once it is
over: its end (the next midnight) is at or before the run's window end or the run's clock (less
``COMMIT_SETTLE``), whichever is later, so a scheduled run posts yesterday's summary in its first window after
midnight and a backfill of a past day posts it at once. A day still open is not posted: its summary waits in the
ledger as a ``pending`` record (``SUM/<outlet>/<day>``), which brings the day back to every later run until it is
over and posted.

**Which days a run looks at.** Every day a staged document (an order, payment or refund the run read: new, late,
edited, voided or retried) falls on, plus every day with a summary document the ledger holds unsynced (waiting,
failed, or deleted by a change after sync and not posted again). Each such day is read from the POS whole
(``extract_sales`` of the day) and folded (``possync.transform.summary``), so a summary always sums the whole day,
never just what one run happened to read.

**Changes after posting** are the summaries' own content changing: the day summarised again hashes differently,
and ``possync.changes`` deletes the summary's documents in the target and posts them again (or reports it), exactly
as for a changed order. A day whose orders were all voided leaves a ``skipped`` summary, which deletes a posted one.

**A switch of ``posting``** never books an order twice: a period whose orders the target already holds one by one
(posted per order before the switch) is not summarised; its summary fails with the reason (``_posted_one_by_one``).

**The ledger** keeps the summaries as records of their own (invoice, payment, return under their ``SUM/`` keys),
and each order's records too: ``pending`` while its summary waits, ``synced`` with the summary's target id and
number (reason ``in summary SUM/...``) once it is posted, so Sync Status and the task log say of every order where
it went.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from possync.documents import Document, Rejection
from possync.ledger import LedgerRecord, RecordOutcome, Reversal, content_hash
from possync.recordlog import log_record
from possync.targets.base.loader import FailedRecord, failed_records
from possync.transform.sales import transform_sales
from possync.transform.summary import (
    PREFIX,
    Summaries,
    is_summary_key,
    no_shift,
    summarise,
    summary_key,
    summary_period,
)

if TYPE_CHECKING:
    from possync.pipeline import SyncJob
    from possync.pos.extract import Shift, Window
    from possync.pos.source import PosSource
    from possync.transform.sales import SalesBatch

PER_ORDER, PER_DAY, PER_SHIFT = "per_order", "per_day", "per_shift"
SALES_TYPES = ("invoice", "payment", "return")


@dataclass
class StagedSummaries:
    """What summarising one outlet's staged sales made: the summaries to load, the summaries whose day has no order
    left (for ``apply_changes``), and what each covers."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Rejection] = field(default_factory=list)
    covers: dict[tuple[str, str], list[Document]] = field(default_factory=dict)
    #: the orders (and their payments and refunds) voided at the till on the days summarised: out of the summaries
    left_out: list[Rejection] = field(default_factory=list)
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    failed_records: list[FailedRecord] = field(default_factory=list)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(day, time(), tzinfo=zone), datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


def _moment(item: Document | Rejection) -> datetime | None:
    return getattr(item, "business_time", None) or getattr(item, "paid_at", None)


def _order_of(item: Document | Rejection) -> tuple[str, str]:
    """(record type, key) of the order or refund whose shift an item is in: a payment's is its order's."""
    if item.record_type == "payment":
        return "invoice", getattr(item, "invoice_key", None) or item.key.rsplit("/P", 1)[0]
    return item.record_type, item.key


@dataclass(frozen=True)
class Periods:
    """How one integration cuts sales into summary periods: business days, or till shifts (``posting``)."""

    posting: str
    zone: ZoneInfo
    pos: Engine

    @property
    def per_shift(self) -> bool:
        return self.posting == PER_SHIFT

    def shifts_of(self, items: Sequence[Document | Rejection]) -> dict[tuple[str, Any], Shift]:
        """Per shift: the shifts of these orders, payments and refunds (their orders' shifts for payments)."""
        from possync.pos.extract import read_shifts

        if not self.per_shift or not items:
            return {}
        wanted = [_order_of(item) for item in items]
        return read_shifts(self.pos, order_numbers=[k for t, k in wanted if t == "invoice"],
                           refund_numbers=[k for t, k in wanted if t == "return"])

    def of(self, item: Document | Rejection, shifts: dict[tuple[str, Any], Shift]) -> str | None:
        """The period an item falls in (a day, or its shift's ``S<id>``); None if it has no time or no shift."""
        if self.per_shift:
            shift = shifts.get(_order_of(item))
            return None if shift is None else shift.period
        moment = _moment(item)
        return None if moment is None else moment.astimezone(self.zone).date().isoformat()

    def still_open(self, item: Document | Rejection, shifts: dict[tuple[str, Any], Shift], now: datetime) -> bool:
        """Whether the period an item falls in is not over at ``now``: its summary is not due yet."""
        if self.per_shift:
            shift = shifts.get(_order_of(item))
            return shift is not None and (shift.closed_at is None or shift.closed_at > now)
        moment = _moment(item)
        return moment is not None and day_bounds(moment.astimezone(self.zone).date(), self.zone)[1] > now

    def bounds(self, outlet_code: str, labels: set[str]) -> dict[str, tuple[datetime, datetime | None, str]]:
        """Per period: its start, its end (None for a shift still open) and how its wait reads."""
        from possync.pos.extract import read_shifts

        if not self.per_shift:
            return {label: (*day_bounds(date.fromisoformat(label), self.zone), f"the end of {label}")
                    for label in labels}
        found = read_shifts(self.pos, ids=[int(label.removeprefix("S")) for label in labels])
        return {shift.period: (shift.opened_at, shift.closed_at, f"the close of shift {shift.number}")
                for shift in found.values() if shift.outlet_code == outlet_code}

    def read(self, job: SyncJob, outlet_code: str, label: str, end: datetime) -> SalesBatch:
        """A closed period's sales, read from the POS whole: a day by business time; a shift by its close, the
        way ``sales.mode: shift_close`` reads shifts (``extract_sales(window_on="shift_close")``)."""
        from possync.pos.extract import Window
        from possync.pos.source import BuiltinSource

        if self.per_shift:
            frames = BuiltinSource(self.pos).extract_sales(Window(end, end + timedelta(microseconds=1)), [outlet_code],
                                                           window_on="shift_close")
        else:
            source = job.source or BuiltinSource(job.pos)
            frames = source.extract_sales(Window(*day_bounds(date.fromisoformat(label), self.zone)), [outlet_code])
        return transform_sales(frames)


def order_summaries(source: PosSource, order_numbers: Sequence[str], periods: Periods) -> dict[str, str]:
    """The summary each of these orders is in (its outlet and period), read from the POS by number: a refund of
    an order of an earlier period is returned against that period's summary."""
    from possync.pos.extract import Window

    if not order_numbers:
        return {}
    never = datetime(1970, 1, 1, tzinfo=UTC)  # the orders come by number; the window only has to hold none
    batch = transform_sales(source.extract_sales(Window(never, never + timedelta(microseconds=1)),
                                                 retry_order_numbers=list(order_numbers)))
    found: list[Document | Rejection] = [*batch.invoices, *(
        r for r in [*batch.skipped, *batch.rejections]
        if r.record_type == "invoice" and r.outlet_code and r.business_time is not None)]
    shifts = periods.shifts_of(found)
    labels = {item.key: (item.outlet_code, periods.of(item, shifts)) for item in found}
    return {key: summary_key(outlet, label) for key, (outlet, label) in labels.items() if outlet and label}


def summarise_periods(job: SyncJob, outlet_code: str, closed: dict[str, datetime], periods: Periods) -> Summaries:
    """The summaries of an outlet's ``closed`` periods (label → end), each read from the POS whole and folded."""
    from possync.pos.source import BuiltinSource

    source = job.source or BuiltinSource(job.pos)
    out = Summaries()
    for label, end in sorted(closed.items()):
        batch = periods.read(job, outlet_code, label, end)
        orders = {i.key for i in batch.invoices}
        unknown = sorted({r.invoice_key for r in batch.returns if r.invoice_key not in orders})
        shifts = periods.shifts_of([*batch.invoices, *batch.returns]) if periods.per_shift else None
        folded = summarise(batch.invoices, batch.payments, batch.returns, periods={outlet_code: [label]},
                           order_summaries=order_summaries(source, unknown, periods), shifts=shifts)
        refusal = _posted_one_by_one(job, outlet_code, label, sorted(orders))
        if refusal is not None:  # every summary document of the period fails with the reason, none is posted
            out.rejections += [Rejection(d.record_type, d.key, refusal, outlet_code, _moment(d))
                               for d in folded.documents()]
            continue
        out.invoices += folded.invoices
        out.payments += folded.payments
        out.returns += folded.returns
        out.skipped += folded.skipped
        out.rejections += folded.rejections
        out.covers.update(folded.covers)
    return out


def posted_alone(ledger: Any, integration: str, orders: Sequence[str]) -> list[LedgerRecord]:
    """The invoice records of these orders the target holds one by one, not in a summary (posted per order, e.g.
    before the integration's ``posting`` was switched), by key."""
    return sorted((record for record in ledger.lookup(integration, "invoice", orders).values()
                   if record.status == "synced" and not is_summary_key(record.target_number or "")),
                  key=lambda record: record.key)


def _posted_one_by_one(job: SyncJob, outlet_code: str, label: str, orders: list[str]) -> str | None:
    """Why a period is not summarised when the target already holds orders of it one by one (``posted_alone``):
    its summary would book them a second time."""
    posted = posted_alone(job.ledger, job.integration.name, orders)
    if not posted:
        return None
    first = posted[0]
    return (f"{len(posted)} of the period's {len(orders)} order(s) are already in the target one by one (e.g. "
            f"{first.key} as #{first.target_number or first.target_id}), posted before posting became "
            f"{job.integration.posting}: a summary would book them twice. Sync this period per order (posting: "
            "per_order, e.g. a backfill of it), or delete those invoices in the target first")


def _summarised_already(ledger: Any, integration: str, documents: Sequence[Document],
                        skipped: Sequence[Rejection]) -> set[tuple[str, str]]:
    """The staged records that change nothing: documents synced in a summary with the content they have now, and
    voided orders already taken out of theirs. A later window reads them again (the lookback sweep, a backfill);
    they need not bring their period back to be read whole and folded again. (Staging has just recorded them, but
    an unchanged document stays ``synced`` and a new void stays ``synced`` until its summary is posted without it.)"""
    said: set[tuple[str, str]] = set()
    for record_type in SALES_TYPES:
        staged = {d.key: d for d in documents if d.record_type == record_type}
        voided = {r.key for r in skipped if r.record_type == record_type} - set(staged)
        for key, record in ledger.lookup(integration, record_type, [*staged, *voided]).items():
            in_summary = record.status == "synced" and is_summary_key(record.target_number or "")
            if (key in staged and in_summary and record.content_hash == content_hash(staged[key])) or (
                    key in voided and record.status == "skipped"):
                said.add((record_type, key))
    return said


def stage_summaries(job: SyncJob, outlet_code: str, window: Window, documents: Sequence[Document],
                    skipped: Sequence[Rejection], now: datetime | None = None) -> StagedSummaries:
    """The summaries of the periods the staged ``documents`` and ``skipped`` records of ``outlet_code`` fall in,
    and of its periods with a summary unsynced in the ledger; the periods that are over (a day ended, a shift
    closed) are summarised and recorded ``pending``, the others wait (see the module docstring)."""
    from possync.pipeline import COMMIT_SETTLE, _outcome

    ledger, name, logger = job.ledger, job.integration.name, job.logger
    periods = Periods(job.integration.posting, ZoneInfo(job.integration.timezone), job.pos)
    said = _summarised_already(ledger, name, documents, skipped)
    documents = [d for d in documents if (d.record_type, d.key) not in said]
    items = [*documents, *(r for r in skipped if r.record_type in SALES_TYPES and (r.record_type, r.key) not in said)]
    shifts = periods.shifts_of(items)
    period_of = {(item.record_type, item.key): periods.of(item, shifts) for item in items}
    touched = {label for label in period_of.values() if label is not None}
    for record in ledger.unsynced(name, "sales", outlet_code=outlet_code, key_prefix=PREFIX):
        touched.add(summary_period(record.record_type, record.key))
    bounds = periods.bounds(outlet_code, touched)
    clock = max(window.end, (now or datetime.now(UTC)) - COMMIT_SETTLE)
    over = {label: end for label, (_, end, _) in bounds.items() if end is not None and end <= clock}
    waiting = sorted(set(bounds) - set(over))
    keys = {summary_key(outlet_code, label): label for label in touched}
    held = ledger.lookup(name, "invoice", keys)
    open_for = timedelta(hours=job.integration.open_shift_hours)

    staged = StagedSummaries()
    outcomes: list[RecordOutcome] = []
    refused: list[RecordOutcome] = []
    for label in waiting:
        key = summary_key(outlet_code, label)
        start, _, wait = bounds[label]
        overdue = periods.per_shift and start <= clock - open_for
        status = held[key].status if key in held else None
        if status in ("synced", "ignored") or (status == "pending" and not overdue):
            continue  # waiting already, or posted: a period can only be open again in a backfill of its own hours
        if overdue:
            reason = (f"still waits for {wait}, open since {start.astimezone(periods.zone):%Y-%m-%d %H:%M} (more than "
                      f"open_shift_hours {job.integration.open_shift_hours} h): close the shift in the POS; its sales "
                      "are posted in the run after it closes")
            refused.append(RecordOutcome("invoice", key, "sales", "failed", outlet_code=outlet_code,
                                         business_time=start, reason=reason))
            log_record(logger, "FAILED", "invoice", key, reason, outlet=outlet_code)
            staged.failures.append(f"invoice {key}: {reason}")
            continue
        reason = f"waits for {wait} ({job.integration.posting} posting sums the period once it is over)"
        outcomes.append(RecordOutcome("invoice", key, "sales", "pending", outlet_code=outlet_code,
                                      business_time=start, reason=reason))
        log_record(logger, "SKIPPED", "invoice", key, reason, outlet=outlet_code)
    folded = summarise_periods(job, outlet_code, over, periods) if over else Summaries()
    refused += [RecordOutcome(r.record_type, r.key, "sales", "failed", outlet_code=r.outlet_code,
                              business_time=r.business_time, reason=r.reason) for r in folded.rejections]
    for rejection in folded.rejections:
        log_record(logger, "FAILED", rejection.record_type, rejection.key, rejection.reason, outlet=outlet_code)
        staged.failures.append(f"{rejection.record_type} {rejection.key}: {rejection.reason}")
    if periods.per_shift:  # an order or refund with no shift is in no period: refused here, never left pending
        for item in documents:
            if period_of.get((item.record_type, item.key)) is None:
                reason = no_shift(item.record_type)
                refused.append(RecordOutcome(item.record_type, item.key, "sales", "failed", outlet_code=outlet_code,
                                             business_time=_moment(item), reason=reason))
                log_record(logger, "FAILED", item.record_type, item.key, reason, outlet=outlet_code)
                staged.failures.append(f"{item.record_type} {item.key}: {reason}")
    staged.failed = len(refused)
    staged.failed_records = failed_records(refused, ledger.record(name, refused, job.run))
    staged.documents = folded.documents()
    outcomes += [_outcome(document, "pending", "sales") for document in staged.documents]
    ledger.record(name, outcomes, job.run)
    staged.skipped = [s for s in folded.skipped if s.key in held]
    staged.covers = folded.covers
    staged.left_out = [r for r in skipped if r.record_type in SALES_TYPES
                       and period_of.get((r.record_type, r.key)) in over]
    return staged


def record_covered(job: SyncJob, covers: dict[tuple[str, str], list[Document]],
                   left_out: Sequence[Rejection] = ()) -> None:
    """Each order's records after its summaries were loaded: ``synced`` with the summary's target id and number
    when the summary is in the target, else ``pending`` with what the summary waits for. An order ``left_out``
    (voided at the till) that a summary held is reversed to ``skipped``: the summary no longer holds it."""
    ledger, name = job.ledger, job.integration.name
    reversals = []
    for record_type in SALES_TYPES:
        wanted = {r.key: r for r in left_out if r.record_type == record_type}
        for key, record in ledger.lookup(name, record_type, wanted).items():
            if record.status == "synced" and is_summary_key(record.target_number or ""):
                reason = f"{wanted[key].reason}: out of summary {record.target_number}, posted again without it"
                reversals.append(Reversal(record, "skipped", reason))
                log_record(job.logger, "REVERSED", record_type, key, reason)
    ledger.reverse(name, reversals, job.run)
    summaries = {}
    for record_type in SALES_TYPES:
        keys = [key for kind, key in covers if kind == record_type]
        summaries.update(((record_type, key), record) for key, record in ledger.lookup(name, record_type, keys).items())
    known: dict[tuple[str, str], LedgerRecord] = {}
    for record_type in SALES_TYPES:
        keys = [d.key for (kind, _), documents in covers.items() if kind == record_type for d in documents]
        known.update(((record_type, k), r) for k, r in ledger.lookup(name, record_type, keys).items())
    outcomes: list[RecordOutcome] = []
    for (record_type, key), documents in covers.items():
        summary = summaries.get((record_type, key))
        if summary is None:
            continue
        synced = summary.status == "synced"
        held = f"{job.target.label} #{summary.target_number or summary.target_id}"
        reason = f"in summary {key} ({held})" if synced else f"waits for its summary {key} ({summary.status}" + (
            f": {summary.reason})" if summary.reason else ")")
        for document in documents:
            record = known.get((document.record_type, document.key))
            if synced and record is not None and record.status == "synced" and record.target_number == key \
                    and record.target_id == summary.target_id and record.target_hash == content_hash(document):
                continue  # said already: a day summarised again by a later window of the same day
            outcomes.append(RecordOutcome(
                document.record_type, document.key, "sales", "synced" if synced else "pending",
                content_hash=content_hash(document), outlet_code=getattr(document, "outlet_code", None),
                business_time=_moment(document), target_id=summary.target_id if synced else None,
                target_number=key if synced else None, reason=reason))
            log_record(job.logger, "SYNCED" if synced else "SKIPPED", document.record_type, document.key, reason)
    ledger.record(name, outcomes, job.run)


__all__ = ["PER_DAY", "PER_ORDER", "PER_SHIFT", "Periods", "StagedSummaries", "is_summary_key", "record_covered",
           "stage_summaries"]
