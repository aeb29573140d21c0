"""The steps a sync task runs, as plain functions: testable without Airflow, called by the DAG tasks.

``stage_sales`` is the first half of a sales sync for one outlet and window (``stage_stock`` the same for
transfers and stock documents): extract from the POS, transform into documents, and record every record's
state in the ledger: ``failed`` with the reason for records that cannot become documents, ``skipped`` for
voided orders, ``pending`` for documents waiting to be loaded. Loading into the target is the target's
operator's job (targets/<name>/operators.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from sqlalchemy.engine import Engine

from possync.documents import Document, Rejection
from possync.ledger import RecordOutcome, RunRef, SyncLedger, content_hash
from possync.pos.extract import Window, WindowOn, extract_sales, extract_stock
from possync.recordlog import log_record
from possync.transform.sales import SalesBatch, transform_sales
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
    ledger: SyncLedger, integration: str, outlet_code: str, window: Window
) -> tuple[list[str], list[str]]:
    """POS numbers of this outlet's sales records from before the window that are still not synced:
    each run retries them, oldest first, so a repaired record or one whose prerequisite has since been
    synced goes through without anyone re-running its window."""
    orders: set[str] = set()
    refunds: set[str] = set()
    for record in ledger.unsynced(integration, "sales", outlet_code=outlet_code, until=window.start,
                                  limit=RETRY_LIMIT):
        if record.record_type == "invoice":
            orders.add(record.key)
        elif record.record_type == "payment":
            orders.add(record.key.rsplit("/P", 1)[0])
        elif record.record_type == "return":
            refunds.add(record.key)
    return sorted(orders), sorted(refunds)


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
    run: RunRef | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> tuple[StageSummary, list[Document]]:
    """Extract, transform and record one outlet's sales for ``window``; return the summary and documents."""
    logger = logger or log
    retry_orders, retry_refunds = (
        _earlier_unsynced(ledger, integration, outlet_code, window) if retry_failed else ([], [])
    )
    frames = extract_sales(
        pos, window, [outlet_code], lookback=lookback, window_on=window_on,
        retry_order_numbers=retry_orders, retry_refund_numbers=retry_refunds,
    )
    batch = transform_sales(frames)
    summary = StageSummary(outlet_code=outlet_code, window=window)
    documents = documents_in_load_order(batch)
    _record_staged(ledger, integration, "sales", summary, batch.rejections, batch.skipped, documents, run, logger)
    return summary, documents


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
    """Record what staging saw: ``failed`` with the reason, ``skipped``, and ``pending`` documents to load."""
    outcomes: list[RecordOutcome] = []
    for rejection in rejections:
        outcomes.append(_rejection_outcome(rejection, "failed", flow))
        summary.failed += 1
        summary.failures.append(f"{rejection.record_type} {rejection.key}: {rejection.reason}")
        log_record(logger, "FAILED", rejection.record_type, rejection.key, rejection.reason)
    for record in skipped:
        outcomes.append(_rejection_outcome(record, "skipped", flow))
        summary.skipped += 1
        log_record(logger, "SKIPPED", record.record_type, record.key, record.reason)
    for document in documents:
        outcomes.append(_outcome(document, "pending", flow))
        summary.staged += 1  # its line is logged when it is loaded
    ledger.record(integration, outcomes, run)
    logger.info(
        "outlet %s, window %s → %s: read %d = staged %d + skipped %d + failed %d",
        summary.outlet_code, summary.window.start.isoformat(), summary.window.end.isoformat(),
        summary.read, summary.staged, summary.skipped, summary.failed,
    )


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
    run: RunRef | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> tuple[StageSummary, list[Document]]:
    """Extract, transform and record the ``flow`` documents of ``outlet_codes`` in ``window``: transfers
    (transfer-outs at their source, transfer-ins at their destination), or stock (adjustments, stock takes).

    Every earlier transfer or stock record still not synced is read again by its number, whatever its
    time, so a repaired record (or one whose transfer-out has since synced) goes through on the next run.
    A transfer to or from an outlet the integration does not map fails with that reason.
    """
    logger = logger or log
    retry: set[str] = set()
    if retry_failed:
        retry.update(record.key for record in ledger.unsynced(integration, flow, limit=RETRY_LIMIT))
    frames = extract_stock(
        pos, window, outlet_codes, lookback=lookback,
        include_transfers=flow == "transfers", include_adjustments=flow == "stock",
        retry_transfer_numbers=retry, retry_adjustment_numbers=retry,
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
    return summary, documents


def failures_text(summaries: Iterable[StageSummary], limit: int = 5) -> str:
    failures = [line for summary in summaries for line in summary.failures]
    shown = "; ".join(failures[:limit])
    more = f" (and {len(failures) - limit} more, see the log)" if len(failures) > limit else ""
    return f"{len(failures)} record(s) failed: {shown}{more}"
