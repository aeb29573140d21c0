"""Changes after sync: a POS sale edited or voided after its documents reached the target.

The ledger keeps, per record, the content hash of the version the target holds (``target_hash``). When the
content staged now hashes differently, or an order is voided at the till while its invoice is in the target,
the target's books no longer equal the POS. Each sales run looks for such records among what it staged,
before anything is loaded, and per integration (``changes_after_sync``):

- ``apply`` (the default): the target's documents are deleted, dependants first (the order's returns, then its
  payments, then its invoice), each deletion written to the ledger at once (a ``reversed`` version naming the
  document), and the records are posted again as they now are by the normal load that follows; a void posts
  nothing back. An edited payment or return is reversed alone; an edited or voided invoice takes its payments
  and returns with it, because both targets refuse to delete an invoice that is paid or returned against.
- ``report``: nothing is written to the target; each changed record fails with a reason saying what changed
  and which target document still holds the old version, run after run, until someone acts.

Why delete and post again: both targets document a delete for every sales document (Jurnal ``DELETE
/sales_invoices|receive_payments|sales_returns/{id}``, Accurate ``sales-invoice|sales-receipt|sales-return/
delete.do``), neither documents a void or credit note that a POS void maps onto, and an update in place needs
line matching that Jurnal documents only for lines it numbered itself (``PATCH`` matches lines by id; removing
one is undocumented). A delete and a repost under the same number leaves the target exactly as the POS for
every kind of edit (lines, total, customer, payment method), on both targets, through one code path.

A run killed between a deletion and the repost leaves the record ``pending`` without a target id, so the next
run posts it; one killed before the ledger heard of a deletion finds the change again, and the delete of a
document that is already gone counts as done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from possync.documents import Document, Payment, Rejection, SalesInvoice
from possync.ledger import LedgerRecord, RecordOutcome, Reversal, content_hash
from possync.money import rupiah
from possync.recordlog import log_record
from possync.targets.base.errors import RejectedError
from possync.targets.base.loader import FailedRecord, failed_records
from possync.transform.summary import is_summary_key

if TYPE_CHECKING:
    from possync.pipeline import SyncJob

#: the integration settings (``changes_after_sync``)
APPLY, REPORT = "apply", "report"


def void_hash(invoice_key: str) -> str:
    """The content hash a voided order's invoice stands at: not any version the target could hold."""
    return content_hash({"voided_at_the_till": invoice_key})


@dataclass
class OrderChange:
    """One order whose documents in the target no longer match the POS."""

    invoice_key: str
    void_reason: str | None = None  # set when the order was voided at the till
    invoice: LedgerRecord | None = None  # set when the invoice itself changed (or the order was voided)
    payments: list[LedgerRecord] = field(default_factory=list)  # the changed payments (all of them with the invoice)
    returns: list[LedgerRecord] = field(default_factory=list)  # the changed returns (all of them with the invoice)

    @property
    def whole(self) -> bool:
        return self.invoice is not None

    def records(self) -> list[LedgerRecord]:
        """What to reverse, dependants first."""
        return [*self.returns, *self.payments, *([self.invoice] if self.invoice else [])]


@dataclass
class ChangeSummary:
    """What applying or reporting the changes did; ``skipped`` and ``failed`` count staged documents held back."""

    skipped: int = 0
    reversed: int = 0
    reported: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    failed_records: list[FailedRecord] = field(default_factory=list)


def find_changes(job: SyncJob, documents: Sequence[Document], skipped: Sequence[Rejection]) -> list[OrderChange]:
    """The orders among what was staged whose target documents differ from the POS, oldest first."""
    from possync.pos.source import BuiltinSource

    ledger, name = job.ledger, job.integration.name
    hashes = {(d.record_type, d.key): content_hash(d) for d in documents}
    by_type: dict[str, list[str]] = {"invoice": [], "payment": [], "return": []}
    for document in documents:
        by_type.setdefault(document.record_type, []).append(document.key)
    voided = {r.key: r.reason for r in skipped if r.record_type == "invoice"}
    invoices = ledger.lookup(name, "invoice", [*by_type["invoice"], *voided])
    payments = ledger.lookup(name, "payment", by_type["payment"])
    returns = ledger.lookup(name, "return", by_type["return"])

    def changed(record: LedgerRecord | None, record_type: str) -> bool:
        return (record is not None and record.target_hash is not None
                and hashes.get((record_type, record.key)) != record.target_hash)

    changes: dict[str, OrderChange] = {}
    for key, record in invoices.items():
        if record.target_hash is not None and (key in voided or changed(record, "invoice")):
            changes[key] = OrderChange(key, void_reason=voided.get(key), invoice=record)
    invoice_of = {d.key: d.invoice_key for d in documents if d.record_type in ("payment", "return")}
    for records, attribute in ((payments, "payments"), (returns, "returns")):
        for key, record in records.items():
            owner = invoice_of[key]
            if owner not in changes and changed(record, record.record_type):
                changes.setdefault(owner, OrderChange(owner))
                getattr(changes[owner], attribute).append(record)

    whole = [change for change in changes.values() if change.whole]
    if whole:  # a whole order takes every payment and return the target holds for it, changed or not
        source = job.source or BuiltinSource(job.pos)
        refunds = source.refunds_of_orders([change.invoice_key for change in whole])
        for change in whole:
            change.payments = [r for r in ledger.with_key_prefix(name, "payment", change.invoice_key + "/P")
                               if r.target_hash is not None and r.key.rsplit("/P", 1)[0] == change.invoice_key]
            held = ledger.lookup(name, "return", refunds.get(change.invoice_key, []))
            if is_summary_key(change.invoice_key):  # a summary's returns are keyed under it (transform.summary)
                held.update((r.key, r) for r in ledger.with_key_prefix(name, "return", change.invoice_key + "/R"))
            change.returns = [r for r in held.values() if r.target_hash is not None]
    times = {d.key: getattr(d, "business_time", None) for d in documents if isinstance(d, SalesInvoice)}
    return sorted(changes.values(), key=lambda c: (str(times.get(c.invoice_key) or ""), c.invoice_key))


def _what_changed(change: OrderChange, record: LedgerRecord, documents: dict[tuple[str, str], Document],
                  target: str) -> str:
    held = f"{target} #{record.target_number or record.target_id}"
    if change.void_reason is not None:
        return f"{change.void_reason}, after it was synced ({held})"
    document = documents.get((record.record_type, record.key))
    if isinstance(document, SalesInvoice):
        now = f"now {len(document.lines)} line(s), total {rupiah(document.total)}"
    elif isinstance(document, Payment):
        now = f"now {rupiah(document.amount)} by {document.method}"
    elif document is not None:
        now = f"now {rupiah(getattr(document, 'total', 0))}"
    elif record.record_type == "invoice" or change.invoice is None:
        now = "no longer in the POS as it was"
    else:
        now = f"its invoice {change.invoice_key} changed"
    return f"changed in the POS after it was synced ({held} holds the old version; {now})"


def apply_changes(job: SyncJob, documents: list[Document], skipped: Sequence[Rejection]) -> tuple[
        list[Document], ChangeSummary]:
    """Find the changes after sync among what was staged and apply or report them (see the module docstring);
    return the documents still to load and what was done. The documents of a change that is reported, or that
    could not be applied, are held back (the target's old versions still stand) and fail with the reason."""
    summary = ChangeSummary()
    changes = find_changes(job, documents, skipped)
    if not changes:
        return documents, summary
    by_key = {(d.record_type, d.key): d for d in documents}
    held_back: set[tuple[str, str]] = set()
    for change in changes:
        done = _report(job, change, by_key, summary) if job.integration.changes_after_sync == REPORT else _apply(
            job, change, by_key, summary)
        if done:
            continue
        held_back.update((r.record_type, r.key) for r in change.records())
        if change.whole:  # nothing of the order goes while its invoice's old version stands
            waiting = [d for k, d in by_key.items() if k not in held_back
                       and getattr(d, "invoice_key", None) == change.invoice_key]
            _wait(job, change, waiting, summary)
            held_back.update((d.record_type, d.key) for d in waiting)
    return [d for d in documents if (d.record_type, d.key) not in held_back], summary


def _fail(job: SyncJob, record_type: str, key: str, reason: str, summary: ChangeSummary, *,
          outlet_code: str | None, business_time: Any, content: str | None = None) -> None:
    outcome = RecordOutcome(record_type, key, "sales", "failed", content_hash=content, outlet_code=outlet_code,
                            business_time=business_time, reason=reason)
    summary.failed_records.extend(failed_records([outcome], job.ledger.record(job.integration.name, [outcome],
                                                                               job.run)))
    log_record(job.logger, "FAILED", record_type, key, reason, outlet=outlet_code)
    summary.failed += 1
    summary.failures.append(f"{record_type} {key}: {reason}")


def _wait(job: SyncJob, change: OrderChange, waiting: list[Document], summary: ChangeSummary) -> None:
    """The order's other documents wait for its invoice: those the target holds as they are stay synced, the
    others fail with the reason."""
    known: dict[str, LedgerRecord] = {}
    for record_type in ("payment", "return"):
        known.update(job.ledger.lookup(job.integration.name, record_type,
                                       [d.key for d in waiting if d.record_type == record_type]))
    for document in waiting:
        record = known.get(document.key)
        if record is not None and record.target_hash == content_hash(document):
            log_record(job.logger, "SKIPPED", document.record_type, document.key,
                       f"already synced as {job.target.label} #{record.target_number or record.target_id}; its "
                       f"invoice {change.invoice_key} changed after sync")
            summary.skipped += 1
            continue
        _fail(job, document.record_type, document.key,
              f"its invoice {change.invoice_key} changed after sync and that change is not applied", summary,
              outlet_code=getattr(document, "outlet_code", None),
              business_time=getattr(document, "business_time", None) or getattr(document, "paid_at", None))


def _report(job: SyncJob, change: OrderChange, documents: dict[tuple[str, str], Document],
            summary: ChangeSummary) -> bool:
    """Fail the changed records with what changed; the target keeps the old version (``report`` mode). The
    invoice carries a whole order's change; its payments and returns still match it and stay synced."""
    for record in [change.invoice] if change.invoice else [*change.payments, *change.returns]:
        what = _what_changed(change, record, documents, job.target.label)
        _fail(job, record.record_type, record.key, f"{what}: not applied, because changes_after_sync is 'report'",
              summary, outlet_code=record.outlet_code, business_time=record.business_time,
              content=void_hash(record.key) if change.void_reason is not None else None)
        summary.reported += 1
    if change.whole:
        change.payments, change.returns = [], []  # unchanged: held back, but not failed
    return False


def _apply(job: SyncJob, change: OrderChange, documents: dict[tuple[str, str], Document],
           summary: ChangeSummary) -> bool:
    """Delete the order's changed documents in the target, dependants first, recording each deletion at once;
    False when the target refused one (what depends on it stays; the next run tries again)."""
    target = job.target.label
    for record in change.records():
        what = _what_changed(change, record, documents, target)
        sender: Any = job.senders[record.record_type]
        held = f"{target} #{record.target_number or record.target_id}"
        voided_invoice = change.void_reason is not None and record is change.invoice
        try:
            if record.target_id is None:
                gone = "had no document"
            else:
                gone = "deleted" if sender.delete_document(record.target_id) else "already gone"
        except RejectedError as error:
            _fail(job, record.record_type, record.key, f"{what}; {target} refused to delete {held}: {error.message}",
                  summary, outlet_code=record.outlet_code, business_time=record.business_time,
                  content=void_hash(record.key) if voided_invoice else None)
            return False
        document = documents.get((record.record_type, record.key))
        if change.void_reason is not None and record.record_type != "return":
            status, then = "skipped", "nothing to post back"
        elif document is None and record.record_type == "payment":
            status, then = "skipped", "it is no longer in the POS"
        else:
            status, then = "pending", "posted again as it now is" + ("" if document else " by a later run")
        reason = f"{what}: {held} {gone} in {target}; {then}"
        job.ledger.reverse(job.integration.name, [Reversal(
            record, status, reason,
            void_hash(record.key) if voided_invoice else (content_hash(document) if document else None))], job.run)
        log_record(job.logger, "REVERSED", record.record_type, record.key, reason)
        summary.reversed += 1
    return True
