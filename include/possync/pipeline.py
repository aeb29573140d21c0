"""Every sync as a plain function, extract → transform → load: testable without Airflow, called by the
operators (``targets/base/operators.py``), which only resolve the integration, its target and hook.

``sync_customers``, ``sync_products``, ``sync_sales``, ``sync_transfers`` and ``sync_stock`` take a
``SyncJob`` (the integration, the POS and ledger databases, the target and its hook) and return a
``LoadSummary`` whose counts add up: ``read = synced + skipped + failed``.

Each windowed sync stages first (``stage_sales``, ``stage_stock``): extract from the POS, transform into
documents, and record every record's state in the ledger: ``failed`` with the reason for records that cannot
become documents, ``skipped`` for voided orders, ``pending`` for documents waiting to be loaded; sales a
chunk of orders at a time, so a window of any size holds one chunk's frames. The
``Loader`` then sends the documents through the target's senders, oldest first, each kind after the kinds it
depends on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Literal

from sqlalchemy.engine import Engine

from possync.changes import apply_changes
from possync.config import Integration
from possync.documents import Document, Rejection
from possync.i18n import language_of, stage_summary_line, with_language
from possync.ledger import LedgerRecord, RecordOutcome, RunRef, SyncLedger, content_hash
from possync.pos.extract import CHUNK_ORDERS, CatchUpPlan, Window, WindowOn
from possync.pos.source import BuiltinSource, PosSource, pos_source
from possync.recordlog import ignored_note, log_record
from possync.targets.base.loader import FailedRecord, Loader, LoadSummary, Sender, failed_records
from possync.targets.base.target import Target
from possync.transform.sales import SalesBatch, SalesMerge, transform_sales_stream
from possync.transform.stock import transform_stock

log = logging.getLogger(__name__)


@dataclass
class StageSummary:
    """What one staging step saw; ``read`` always equals ``staged + skipped + failed``."""

    outlet_code: str
    window: Window
    staged: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    failed_records: list[FailedRecord] = field(default_factory=list)
    skipped_records: list[Rejection] = field(default_factory=list)  # voided orders and their payments, ...

    @property
    def read(self) -> int:
        return self.staged + self.skipped + self.failed

    def as_dict(self) -> dict[str, object]:
        return {
            "outlet": self.outlet_code,
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
            "read": self.read,
            "staged": self.staged,
            "skipped": self.skipped,
            "failed": self.failed,
        }


def _outcome(document: Document, status: str, flow: str) -> RecordOutcome:
    return RecordOutcome(
        record_type=document.record_type,
        key=document.key,
        flow=flow,
        status=status,
        content_hash=content_hash(document),
        outlet_code=getattr(document, "outlet_code", None),
        business_time=getattr(document, "business_time", None) or getattr(document, "paid_at", None),
    )


def _rejection_outcome(rejection: Rejection, status: str, flow: str) -> RecordOutcome:
    return RecordOutcome(
        record_type=rejection.record_type,
        key=rejection.key,
        flow=flow,
        status=status,
        outlet_code=rejection.outlet_code,
        business_time=rejection.business_time,
        reason=rejection.reason,
    )


def documents_in_load_order(batch: SalesBatch) -> list[Document]:
    """Invoices before their payments and returns; within each kind, oldest first."""
    ordered: list[Document] = [*batch.invoices, *batch.payments, *batch.returns]
    return ordered


RETRY_LIMIT = 1000


def _earlier_unsynced(
    ledger: SyncLedger, integration: str, outlet_code: str, window: Window, posting: str = "per_order"
) -> tuple[list[str], list[str]]:
    """POS numbers of this outlet's sales records from before the window that are still not synced:
    each run retries them, oldest first, so a repaired record or one whose prerequisite has since been
    synced goes through without anyone re-running its window. Summarised (``posting: per_day | per_shift``), only
    the failed ones: an order pending waits for its day's (shift's) summary, which the summary's own record brings back
    (``possync.summaries``)."""
    from possync.transform.summary import is_summary_key

    orders: set[str] = set()
    refunds: set[str] = set()
    for record in ledger.unsynced(integration, "sales", outlet_code=outlet_code, until=window.start,
                                  limit=RETRY_LIMIT, statuses=("failed",) if posting != "per_order" else
                                  ("pending", "failed")):
        if is_summary_key(record.key):
            continue
        if record.record_type == "invoice":
            orders.add(record.key)
        elif record.record_type == "payment":
            orders.add(record.key.rsplit("/P", 1)[0])
        elif record.record_type == "return":
            refunds.add(record.key)
    return sorted(orders), sorted(refunds)


def watermark_name(outlet_code: str) -> str:
    """The watermark's name in ``sync_watermarks`` for one outlet: the POS commit time read up to."""
    return f"committed_at:{outlet_code}"


#: how long before "now" a commit must be to count as read: a POS transaction stamped a moment before it
#: commits is still invisible to the extract, so the watermark stays that far behind the clock
COMMIT_SETTLE = timedelta(minutes=2)


@dataclass(frozen=True)
class CatchUpSettings:
    """How a scheduled run catches up on everything due and not yet read (see ``stage_sales``).

    :param first_run_reach: how far back (in commit time, from the window end) the first run of an outlet
        reads, when no watermark is stored yet.
    :param limit: at most this many due records caught up per run and outlet, oldest commits first.
    :param now: the clock (tests pin it); the watermark never passes ``now - COMMIT_SETTLE``.
    """

    first_run_reach: timedelta = timedelta(days=7)
    limit: int | None = 20_000
    now: datetime | None = None

    def until(self) -> datetime:
        return (self.now or datetime.now(UTC)).astimezone(UTC) - COMMIT_SETTLE


def stage_sales(
    pos: Engine,
    ledger: SyncLedger,
    *,
    integration: str,
    outlet_code: str,
    window: Window,
    lookback: timedelta,
    window_on: WindowOn = "business_time",
    retry_failed: bool = True,
    catch_up: CatchUpSettings | None = None,
    run: RunRef | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
    source: PosSource | None = None,
    chunk_orders: int | None = CHUNK_ORDERS,
    posting: str = "per_order",
) -> tuple[StageSummary, list[Document]]:
    """Extract, transform and record one outlet's sales for ``window``; return the summary and documents.

    With ``catch_up`` (scheduled runs), the run also reads every record of the outlet committed after the
    outlet's commit-time watermark that is due by the window end (its business time, or its shift's close,
    before it), whatever window it belongs to: what an outage, a paused DAG, a late shift close or a killed
    task left unread. The watermark moves only once everything read is in the ledger, so a task killed
    before that reads it all again. Without it (a backfill, a manual window), exactly the window is read
    (plus the lookback sweep and earlier unsynced records) and the watermark stays where it is.

    The window is streamed ``chunk_orders`` orders at a time (``None``: read whole): each chunk is extracted,
    transformed and recorded in the ledger before the next is read, so a window of any size holds one chunk's
    frames besides its documents; the returns come last, once every order is known (a refund of an order
    rejected in any chunk fails with it). The documents, failures and skips are those of the window read whole,
    and the documents come back in the same order (``possync.transform.sales.SalesMerge``).

    ``source`` reads the POS (``possync.pos.source``: a source profile); by default the built-in extract
    of ``pos``.
    """
    logger = logger or log
    source = source or BuiltinSource(pos)
    retry_orders, retry_refunds = (
        _earlier_unsynced(ledger, integration, outlet_code, window, posting) if retry_failed else ([], [])
    )
    plan = None
    if catch_up is not None:
        plan = _plan_catch_up(source, ledger, integration, outlet_code, window, window_on, catch_up, logger)
    reading: dict[str, Any] = {
        "lookback": lookback, "window_on": window_on, "retry_order_numbers": retry_orders,
        "retry_refund_numbers": retry_refunds, "catch_up": None if plan is None else plan.catch_up,
    }
    chunks = (iter([source.extract_sales(window, [outlet_code], **reading)]) if chunk_orders is None
              else source.extract_sales_chunks(window, [outlet_code], chunk_orders=chunk_orders, **reading))
    summary = StageSummary(outlet_code=outlet_code, window=window)
    merged = SalesMerge()
    for part in transform_sales_stream(chunks):
        _record_staged(ledger, integration, "sales", summary, part.batch.rejections, part.batch.skipped,
                       documents_in_load_order(part.batch), run, logger)
        merged.add(part)
    _log_staged(summary, logger)
    if plan is not None:
        # only now: every record read is in the ledger (pending, skipped or failed), so later runs retry it
        ledger.advance_watermark(integration, "sales", watermark_name(outlet_code), plan.advance_to)
    return summary, documents_in_load_order(merged.batch())


def _plan_catch_up(
    source: PosSource, ledger: SyncLedger, integration: str, outlet_code: str, window: Window, window_on: WindowOn,
    settings: CatchUpSettings, logger: logging.Logger | logging.LoggerAdapter,
) -> CatchUpPlan:
    stored = ledger.watermark(integration, "sales", watermark_name(outlet_code))
    first = stored is None
    after = window.end - settings.first_run_reach if stored is None else stored
    until = settings.until()
    plan = source.plan_catch_up(
        outlet_code, after=after, until=until, due_before=window.end, window_on=window_on,
        limit=settings.limit, hold_since=until - max(settings.first_run_reach, timedelta(days=1)),
    )
    logger.info(
        "outlet %s: catching up on sales committed %s %s → %s and due by %s (%s): %d record(s)",
        outlet_code, "since" if not first else "in the first run's reach,", plan.catch_up.after.isoformat(),
        plan.catch_up.until.isoformat(), window.end.isoformat(),
        "watermark" if not first else "no watermark yet", plan.due,
    )
    if plan.left:
        logger.warning(
            "outlet %s: catch-up capped at %d record(s); %d more committed after %s are left for the next "
            "run(s), oldest first", outlet_code, settings.limit, plan.left, plan.catch_up.until.isoformat(),
        )
    if plan.held_by:
        logger.info("outlet %s: %d record(s) not due yet (sold after the window end or in a shift still open) "
                    "hold the watermark at %s", outlet_code, plan.held_by, plan.advance_to.isoformat())
    return plan


def _set_aside(ledger: SyncLedger, integration: str,
               rejections: Iterable[Rejection]) -> tuple[list[Rejection], list[LedgerRecord]]:
    """Split refused records into those to fail and the ledger records of those someone set aside (``ignored``,
    ``ledger/quarantine.py``): refused again, their content cannot have been repaired."""
    rejections = list(rejections)
    by_type: dict[str, list[str]] = {}
    for rejection in rejections:
        by_type.setdefault(rejection.record_type, []).append(rejection.key)
    ignored: dict[tuple[str, str], LedgerRecord] = {}
    for record_type, keys in by_type.items():
        ignored.update(((record_type, key), record) for key, record in ledger.lookup(integration, record_type, keys)
                       .items() if record.status == "ignored")
    return ([r for r in rejections if (r.record_type, r.key) not in ignored],
            [ignored[identity] for identity in dict.fromkeys((r.record_type, r.key) for r in rejections)
             if identity in ignored])


def _record_staged(
    ledger: SyncLedger,
    integration: str,
    flow: str,
    summary: StageSummary,
    rejections: Iterable[Rejection],
    skipped: Iterable[Rejection],
    documents: list[Document],
    run: RunRef | None,
    logger: logging.Logger | logging.LoggerAdapter,
) -> None:
    """Record what staging saw: ``failed`` with the reason, ``skipped``, and ``pending`` documents to load. A
    refused record someone set aside (``ignored``) stays so: skipped, not failed again."""
    outcomes: list[RecordOutcome] = []
    rejections, ignored = _set_aside(ledger, integration, rejections)
    for record in ignored:
        summary.skipped += 1
        log_record(logger, "SKIPPED", record.record_type, record.key, ignored_note(record))
    for rejection in rejections:
        outcomes.append(_rejection_outcome(rejection, "failed", flow))
        summary.failed += 1
        summary.failures.append(f"{rejection.record_type} {rejection.key}: {rejection.reason}")
        log_record(logger, "FAILED", rejection.record_type, rejection.key, rejection.reason,
                   outlet=rejection.outlet_code if flow == "sales" else None)
    for record in skipped:
        outcomes.append(_rejection_outcome(record, "skipped", flow))
        summary.skipped += 1
        summary.skipped_records.append(record)
        log_record(logger, "SKIPPED", record.record_type, record.key, record.reason,
                   outlet=record.outlet_code if flow == "sales" else None)
    for document in documents:
        outcomes.append(_outcome(document, "pending", flow))
        summary.staged += 1  # its line is logged when it is loaded
    summary.failed_records.extend(failed_records(outcomes, ledger.record(integration, outcomes, run)))


def _log_staged(summary: StageSummary, logger: logging.Logger | logging.LoggerAdapter) -> None:
    """The one line that sums up a staging step (``possync.i18n.stage_summary_line``)."""
    logger.info("%s", stage_summary_line(
        summary.outlet_code, summary.window.start.isoformat(), summary.window.end.isoformat(),
        summary.read, summary.staged, summary.skipped, summary.failed, language_of(logger),
    ))


def stage_stock(
    pos: Engine,
    ledger: SyncLedger,
    *,
    integration: str,
    flow: Literal["transfers", "stock"],
    outlet_codes: Sequence[str],
    mapped_outlets: Iterable[str],
    window: Window,
    lookback: timedelta,
    retry_failed: bool = True,
    catch_up: CatchUpSettings | None = None,
    run: RunRef | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
    source: PosSource | None = None,
) -> tuple[StageSummary, list[Document]]:
    """Extract, transform and record the ``flow`` documents of ``outlet_codes`` in ``window``: transfers
    (transfer-outs at their source, transfer-ins at their destination), or stock (adjustments, stock takes).

    Every earlier transfer or stock record still not synced is read again by its number, whatever its
    time, so a repaired record (or one whose transfer-out has since synced) goes through on the next run.
    A transfer to or from an outlet the integration does not map fails with that reason. With ``catch_up``
    (scheduled runs), also everything of the outlets due by the window end and committed after their
    watermarks, as ``stage_sales`` does; the watermarks move once it is all in the ledger. ``source``: as
    ``stage_sales``.
    """
    logger = logger or log
    source = source or BuiltinSource(pos)
    retry: set[str] = set()
    if retry_failed:
        retry.update(record.key for record in ledger.unsynced(integration, flow, limit=RETRY_LIMIT))
    plan = None
    if catch_up is not None:
        plan = _plan_stock_catch_up(source, ledger, integration, flow, outlet_codes, window, catch_up, logger)
    frames = source.extract_stock(
        window, outlet_codes, lookback=lookback,
        include_transfers=flow == "transfers", include_adjustments=flow == "stock",
        retry_transfer_numbers=retry, retry_adjustment_numbers=retry,
        catch_up=None if plan is None else plan.catch_up,
    )
    batch = transform_stock(frames, outlet_codes, until=window.end)
    mapped = set(mapped_outlets)
    for documents, other_side in ((batch.transfer_outs, "to_outlet_code"), (batch.transfer_ins, "from_outlet_code")):
        for document in list(documents):
            other = getattr(document, other_side)
            if other not in mapped:
                documents.remove(document)
                batch.rejections.append(Rejection(
                    document.record_type, document.key,
                    f"outlet {other} is not mapped to a warehouse of {integration} (integrations.yaml, outlets)",
                    document.outlet_code, document.business_time,
                ))
    summary = StageSummary(outlet_code=",".join(outlet_codes), window=window)
    documents = batch.documents()
    _record_staged(ledger, integration, flow, summary, batch.rejections, [], documents, run, logger)
    _log_staged(summary, logger)
    if plan is not None:  # only now: every record read is in the ledger
        for code in outlet_codes:
            ledger.advance_watermark(integration, flow, watermark_name(code), plan.advance_to)
    return summary, documents


def _plan_stock_catch_up(
    source: PosSource, ledger: SyncLedger, integration: str, flow: str, outlet_codes: Sequence[str], window: Window,
    settings: CatchUpSettings, logger: logging.Logger | logging.LoggerAdapter,
) -> CatchUpPlan:
    """One plan for all the outlets of the call, from the oldest of their watermarks (reading an outlet's
    records again is harmless: the ledger skips what is synced)."""
    stored = [ledger.watermark(integration, flow, watermark_name(code)) for code in outlet_codes]
    after = min(window.end - settings.first_run_reach if mark is None else mark for mark in stored)
    plan = source.plan_stock_catch_up(outlet_codes, transfers_flow=flow == "transfers", after=after,
                               until=settings.until(), due_before=window.end)
    logger.info("outlets %s: catching up on %s committed %s → %s and due by %s: %d record(s)%s",
                ",".join(outlet_codes), flow, plan.catch_up.after.isoformat(), plan.catch_up.until.isoformat(),
                window.end.isoformat(), plan.due,
                f"; {plan.held_by} not due yet hold the watermark at {plan.advance_to.isoformat()}"
                if plan.held_by else "")
    return plan


# --------------------------------------------------------------------------------------- the syncs, whole


Logger = logging.Logger | logging.LoggerAdapter

#: the record types of each windowed flow, in load order (a payment needs its invoice, an in its out)
LOAD_ORDER: dict[str, tuple[str, ...]] = {
    "sales": ("invoice", "payment", "return"),
    "transfers": ("transfer_out", "transfer_in"),
    "stock": ("adjustment", "stock_take"),
}


@dataclass
class SyncJob:
    """What one sync works with: the integration, its POS and ledger, its target and the target's hook."""

    integration: Integration
    pos: Engine
    ledger: SyncLedger
    target: Target
    hook: Any
    run: RunRef | None = None
    logger: Logger = log
    #: how the POS is read: the integration's source profile, or the built-in extract (``possync.pos.source``)
    source: PosSource | None = None

    def __post_init__(self) -> None:
        # every line the job's parts log (log_record) is in the integration's language
        self.logger = with_language(self.logger, self.integration.language)
        if self.source is None:
            self.source = pos_source(self.pos, getattr(self.integration, "profile", None))

    @classmethod
    def connect(cls, integration: Integration, target: Target, hook: Any, *, run: RunRef | None = None,
                logger: Logger = log, ensure_schema: bool = True) -> SyncJob:
        """A job on the integration's POS and ledger connections (the ledger's tables created if missing, unless
        ``ensure_schema`` is off: a dry run creates nothing)."""
        from possync.db import engine_for_conn

        ledger = SyncLedger(engine_for_conn(integration.ledger_conn_id))
        if ensure_schema:
            ledger.create_schema()
        return cls(integration, engine_for_conn(integration.pos_conn_id), ledger, target, hook, run, logger)

    @cached_property
    def loader(self) -> Loader:
        return Loader(self.ledger, self.integration.name, target=self.target.label, run=self.run,
                      logger=self.logger, batches_in_flight=self.integration.batches_in_flight)

    @cached_property
    def senders(self) -> dict[str, Sender]:
        return self.target.senders_by_type(self.hook, self.integration, self.ledger)

    def load_in_order(self, flow: str, documents: Sequence[Document], summary: LoadSummary) -> LoadSummary:
        for record_type in LOAD_ORDER[flow]:
            kind = [document for document in documents if document.record_type == record_type]
            summary.add(self.loader.load(self.senders[record_type], kind))
        return summary

    def reject(self, flow: str, rejections: Sequence[Rejection]) -> LoadSummary:
        """Fail the records the POS cannot turn into documents, with their reasons (ledger and log); one someone
        set aside (``ignored``) is skipped instead."""
        rejections, ignored = _set_aside(self.ledger, self.integration.name, rejections)
        for record in ignored:
            log_record(self.logger, "SKIPPED", record.record_type, record.key, ignored_note(record))
        outcomes = [_rejection_outcome(r, "failed", flow) for r in rejections]
        failing = self.ledger.record(self.integration.name, outcomes, self.run)
        for r in rejections:
            log_record(self.logger, "FAILED", r.record_type, r.key, r.reason)
        return LoadSummary(failed=len(rejections), skipped=len(ignored),
                           failures=[f"{r.record_type} {r.key}: {r.reason}" for r in rejections],
                           failed_records=failed_records(outcomes, failing))


def sync_customers(job: SyncJob) -> LoadSummary:
    """Every POS customer, plus the walk-in customer invoices without a customer are booked to."""
    from possync.targets.base.bookkeeping import walk_in_customer
    from possync.transform.sales import transform_customers

    customers, rejections = transform_customers((job.source or BuiltinSource(job.pos)).extract_customers())
    summary = job.reject("customers", rejections)
    summary.add(job.loader.load(job.senders["customer"],
                                [walk_in_customer(job.integration.bookkeeping), *customers]))
    return summary


def sync_products(job: SyncJob) -> LoadSummary:
    """The target's warehouses first (``Target.prepare``), then POS products matched by SKU (created when
    missing), plus the helper items invoices use; then, with ``opening_stock``, each product's opening stock per
    outlet not posted yet."""
    from possync.targets.base.bookkeeping import helper_items
    from possync.transform.sales import transform_products

    job.target.prepare(job.hook, job.integration, job.logger)
    items, rejections = transform_products((job.source or BuiltinSource(job.pos)).extract_products())
    summary = job.reject("products", rejections)
    summary.add(job.loader.load(job.senders["item"], [*helper_items(job.integration.bookkeeping), *items]))
    if job.integration.opening_stock:  # each product's stock per outlet at the start, once (possync.stocksync)
        from possync.stocksync import opening_stock_readable, sync_opening_stock

        if opening_stock_readable(job.integration):
            summary.add(sync_opening_stock(job))
        else:
            job.logger.warning("%s: opening stock is not posted: it reads the reference schema's stock levels, and "
                               "this integration reads the POS through source profile %s", job.integration.name,
                               job.integration.profile)
    return summary


def sales_catch_up(integration: Integration, now: datetime | None = None) -> CatchUpSettings:
    """The catch-up settings of an integration's sales (``sales.first_run_lookback_days``,
    ``sales.catch_up_limit``)."""
    return CatchUpSettings(first_run_reach=timedelta(days=integration.sales.first_run_lookback_days),
                           limit=integration.sales.catch_up_limit, now=now)


def unmapped_outlets(pos: Engine, mapped: Iterable[str], profile: str | None = None) -> list[str]:
    """Codes of the POS outlets that have sales (orders or refunds) but are not in ``mapped``; read through the
    integration's source ``profile`` when it has one (which cannot tell yet: then none)."""
    return pos_source(pos, profile).unmapped_outlets(mapped) or []


def unmapped_outlets_warning(pos: Engine, integration: Integration,
                             codes: Sequence[str] | None = None) -> str | None:
    """The warning line for outlets with sales but no mapping (``codes``, read from the POS when not given), or
    ``None`` when every such outlet is mapped."""
    codes = unmapped_outlets(pos, integration.outlets, integration.profile) if codes is None else codes
    if not codes:
        return None
    return (f"{integration.name}: POS outlet(s) {', '.join(codes)} have sales but no mapping in integrations.yaml "
            f"(integrations → {integration.name} → outlets): their sales are NOT synced")


UNMAPPED_OUTLET = "outlet"  # the ledger record type of the note an unmapped outlet leaves


def report_unmapped_outlets(pos: Engine, ledger: SyncLedger, integration: Integration, *,
                            run: RunRef | None = None, logger: Logger = log) -> list[str]:
    """Warn about outlets with sales but no mapping (log), and note each in the ledger as a failed
    ``outlet`` record of the sales flow so the Sync Status page shows it; an outlet mapped since has its note
    closed (``skipped``). Returns the unmapped codes."""
    codes = unmapped_outlets(pos, integration.outlets, integration.profile)
    warning = unmapped_outlets_warning(pos, integration, codes)
    if warning:
        logger.warning(warning)
    reason = ("has sales in the POS but no mapping in integrations.yaml (outlets): its sales are not synced; "
              "map it to a warehouse")
    outcomes = [RecordOutcome(UNMAPPED_OUTLET, code, "sales", "failed", outlet_code=code, reason=reason)
                for code in codes]
    noted = ledger.lookup(integration.name, UNMAPPED_OUTLET, integration.outlets)
    outcomes += [RecordOutcome(UNMAPPED_OUTLET, code, "sales", "skipped", outlet_code=code,
                               reason="mapped in integrations.yaml since; its sales are synced")
                 for code, record in noted.items() if record.status == "failed"]
    if outcomes:
        ledger.record(integration.name, outcomes, run)
    return codes


def outlet_groups(outlet_codes: Iterable[str], size: int) -> list[list[str]]:
    """The outlets in code order, cut into groups of at most ``size``: one ``sync_sales`` task each
    (``sales.outlets_per_task``)."""
    if size < 1:
        raise ValueError(f"outlets per task must be at least 1, not {size}")
    codes = sorted(dict.fromkeys(outlet_codes))
    return [codes[start:start + size] for start in range(0, len(codes), size)]


def outlets_label(outlet_codes: Sequence[str]) -> str:
    """How a task over ``outlet_codes`` is named in the grid: ``JKT01``, or ``BDG01…SBY01 (3 outlets)``."""
    codes = list(outlet_codes)
    if len(codes) == 1:
        return codes[0]
    if not codes:
        return "no outlets"
    return f"{codes[0]}…{codes[-1]} ({len(codes)} outlets)"


@dataclass
class _StagedOutlet:
    """One outlet of a sales task, staged: its counts, the documents to load and, summarised, what they cover."""

    code: str
    summary: LoadSummary
    documents: list[Document]
    covers: dict[tuple[str, str], list[Document]]
    left_out: list[Rejection]


def _stage_outlet(job: SyncJob, code: str, window: Window, catch_up: bool, now: datetime | None) -> _StagedOutlet:
    """Stage one outlet's sales (``stage_sales``), summarise them when the integration posts summaries, and apply
    what changed in the POS after sync (``possync.changes``)."""
    from possync.summaries import PER_ORDER, stage_summaries

    integration = job.integration
    staged, staged_documents = stage_sales(
        job.pos, job.ledger, integration=integration.name, outlet_code=code, window=window,
        lookback=timedelta(hours=integration.sales.lookback_hours),
        window_on="shift_close" if integration.sales.mode == "shift_close" else "business_time",
        catch_up=sales_catch_up(integration, now) if catch_up else None,
        run=job.run, logger=job.logger, source=job.source, posting=integration.posting,
    )
    skipped_records: list[Rejection] = staged.skipped_records
    covers: dict[tuple[str, str], list[Document]] = {}
    left_out: list[Rejection] = []
    if integration.posting != PER_ORDER:
        summaries = stage_summaries(job, code, window, staged_documents, staged.skipped_records, now)
        staged_documents, skipped_records = summaries.documents, summaries.skipped
        staged.failed += summaries.failed
        staged.failures += summaries.failures
        staged.failed_records += summaries.failed_records
        covers, left_out = summaries.covers, summaries.left_out
    loaded, changes = apply_changes(job, staged_documents, skipped_records)
    counts = LoadSummary(skipped=staged.skipped + changes.skipped, failed=staged.failed + changes.failed,
                         failures=[*staged.failures, *changes.failures],
                         failed_records=[*staged.failed_records, *changes.failed_records],
                         reversed=changes.reversed,
                         outlets={code: {"skipped": staged.skipped + changes.skipped,
                                         "failed": staged.failed + changes.failed}})
    return _StagedOutlet(code, counts, list(loaded), covers, left_out)


def full_batches(documents: Sequence[Document], senders: dict[str, Sender]) -> tuple[list[Document],
                                                                                     list[Document]]:
    """Split sales documents into those that fill whole batches of their kind and the rest, held for the next
    wave: a part-filled batch now would cost the target a request for less than a batch. A document whose
    prerequisite is held is held with it (a payment waits for its invoice's wave)."""
    sending: list[Document] = []
    held: list[Document] = []
    held_keys: set[tuple[str, str]] = set()
    for record_type in LOAD_ORDER["sales"]:
        sender = senders[record_type]
        kind = [d for d in documents if d.record_type == record_type]
        waiting = {id(d) for d in kind if any((p.record_type, p.key) in held_keys for p in sender.prerequisites(d))}
        ready = [d for d in kind if id(d) not in waiting]
        waiting.update(id(d) for d in ready[len(ready) - len(ready) % sender.batch_size:])
        sending += [d for d in kind if id(d) not in waiting]
        held += [d for d in kind if id(d) in waiting]  # in their order: oldest first
        held_keys.update((record_type, d.key) for d in kind if id(d) in waiting)
    return sending, held


def sync_sales(job: SyncJob, *, outlet_codes: Sequence[str], window: Window, catch_up: bool = False,
               now: datetime | None = None) -> LoadSummary:
    """The sales of a group of outlets for one window (plus late ones and earlier failures): invoices, payments,
    returns.

    Each outlet is staged on its own (``stage_sales``: its window, watermark and catch-up are the outlet's), and
    its sales changed or voided in the POS after they were synced are applied to the target (or reported) first,
    according to ``changes_after_sync`` (``possync.changes``). The outlets are staged in a thread ahead of the
    load (``possync.ahead``): each time the target has taken a wave, everything staged since loads together
    (``SyncJob.load_in_order``): its invoices, then its payments, then its returns, so the target's batches fill
    across outlets, and a payment still waits only for its own invoice. A wave sends only whole batches; the rest
    waits for the next wave (``full_batches``), and the last wave sends everything.

    ``catch_up`` (scheduled runs): also everything of each outlet due by the window end and committed after
    its watermark (``stage_sales``); off for backfills and manual windows, which sync exactly their range.

    Summarised (``posting: per_day | per_shift``), each outlet's staged sales are replaced by the summaries of the
    days (closed shifts) they fall in (``possync.summaries``), which go through the same changes and load;
    afterwards every order in a loaded summary is recorded with it.
    """
    from possync.ahead import Ahead
    from possync.summaries import record_covered

    codes = list(outlet_codes)
    if not codes:
        raise ValueError("sync_sales needs at least one outlet")

    def staged(stopping: Any) -> Any:
        for code in codes:
            if stopping():
                return
            yield _stage_outlet(job, code, window, catch_up, now)

    summary = LoadSummary()
    covers: dict[tuple[str, str], list[Document]] = {}
    left_out: list[Rejection] = []
    held: list[Document] = []
    for wave, last in Ahead(staged, name="stage-sales").waves():
        documents = list(held)
        for outlet in wave:
            summary.add(outlet.summary)
            documents.extend(outlet.documents)
            covers.update(outlet.covers)
            left_out += outlet.left_out
        sending, held = (documents, []) if last else full_batches(documents, job.senders)
        job.load_in_order("sales", sending, summary)
    if covers or left_out:
        record_covered(job, covers, left_out)
    return summary


def stock_catch_up(integration: Integration, now: datetime | None = None) -> CatchUpSettings:
    """The catch-up settings of an integration's transfers and stock (``transfers.first_run_lookback_days``)."""
    return CatchUpSettings(first_run_reach=timedelta(days=integration.transfers.first_run_lookback_days),
                           limit=None, now=now)


def _sync_stock_flow(job: SyncJob, flow: Literal["transfers", "stock"], outlet_codes: Sequence[str],
                     window: Window, catch_up: bool, now: datetime | None) -> LoadSummary:
    integration = job.integration
    staged, documents = stage_stock(
        job.pos, job.ledger, integration=integration.name, flow=flow, outlet_codes=outlet_codes,
        mapped_outlets=integration.outlets, window=window,
        lookback=timedelta(hours=integration.transfers.lookback_hours),
        catch_up=stock_catch_up(integration, now) if catch_up else None, run=job.run, logger=job.logger,
        source=job.source,
    )
    return job.load_in_order(flow, documents, LoadSummary(skipped=staged.skipped, failed=staged.failed,
                                                          failures=list(staged.failures),
                                                          failed_records=list(staged.failed_records)))


def sync_transfers(job: SyncJob, *, outlet_codes: Sequence[str], window: Window, catch_up: bool = False,
                   now: datetime | None = None) -> LoadSummary:
    """Every transfer sent or received at ``outlet_codes`` in the window: transfer-outs, then transfer-ins.

    All outlets in one call, because a transfer-in waits for another outlet's transfer-out: oldest first,
    the out is always loaded before the in that needs it. ``catch_up`` (scheduled runs): also every transfer
    side due by the window end and committed after the outlets' watermarks."""
    return _sync_stock_flow(job, "transfers", outlet_codes, window, catch_up, now)


def sync_stock(job: SyncJob, *, outlet_code: str, window: Window, catch_up: bool = False,
               now: datetime | None = None) -> LoadSummary:
    """One outlet's stock adjustments, then its stock takes, of the window (``catch_up``: as transfers)."""
    return _sync_stock_flow(job, "stock", [outlet_code], window, catch_up, now)


def process_webhooks(integration: Integration, target: Target, logger: Logger = log, run: str | None = None) -> Any:
    """The integration's pending webhook events, processed by its target's ``Inbound`` with a hook that paces
    to the integration's share of the target pool (the inbound task runs in that pool beside the syncs). ``run``:
    the DAG run processing them (``possync.ledger.reasons.run_key``), to which a failure it starts is new."""
    from possync.db import engine_for_conn
    from possync.ledger.webhooks import WebhookLog

    if target.inbound is None:
        raise ValueError(f"target {target.name!r} has no webhooks")
    webhook_log = WebhookLog(engine_for_conn(integration.ledger_conn_id), ensure_schema=True, run=run)
    return target.inbound.process_pending(webhook_log, target.hook(integration),
                                          engine_for_conn(integration.pos_conn_id), integration,
                                          with_language(logger, integration.language))
