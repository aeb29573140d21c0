"""Loading documents into a target, the same way for every target.

The ``Loader`` owns what does not depend on the target: documents go oldest first; one already synced
with the same content is skipped; one whose prerequisite (its customer, its products, its invoice) is not
synced fails with a reason naming it, and is retried on a later run once the prerequisite is synced;
a key with leading or trailing spaces (the document's or the till's customer ID) fails with that reason,
since a target that trims keys would take it for another record's; the rest go to the target in batches;
every outcome is written to the ledger after each batch (so a crash loses at most the bookkeeping of the
batches in flight, which the target's uniqueness rules then recover) and logged as one line per record; the
summary always adds up (read = synced + skipped + failed).

Up to ``batches_in_flight`` batches of one record type are sent at once when the sender allows it
(``concurrent_batches``: its batches do not depend on each other; each goes through its own ``worker()`` copy,
so per-batch state is not shared), so the next batch's request is on its way while one's answer is awaited: a
target a request at a time leaves part of its allowance unused. The connection's pacer still admits every
request (it is shared by the threads as by the tasks), record types still load one after the other (all
invoices answered before the first payment is sent), and outcomes are recorded and logged in batch order. A
batch that fails stops new ones being sent; those already in flight are awaited and recorded, then the first
failure is raised, so nothing they created is forgotten.

A target supplies a ``Sender`` per record type: how a batch of documents is sent, and what each needs
first. A transient failure (``TransientTargetError``) stops the load after recording what is known: the
task is retried by Airflow and resumes where it stopped, because synced records are skipped.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from possync.documents import Document
from possync.recordlog import ignored_note, log_record

if TYPE_CHECKING:  # the ledger (SQLAlchemy) is imported when a task runs, not when DAGs are parsed
    from possync.ledger import RecordOutcome, RunRef, SyncLedger
    from possync.ledger.reasons import Failing


#: the record types of the sales flow, loaded by a task for a group of outlets together
SALES_RECORD_TYPES = frozenset({"invoice", "payment", "return"})


@dataclass(frozen=True)
class SendResult:
    """What the target said about one document."""

    key: str
    status: Literal["synced", "failed"]
    target_id: str | None = None
    target_number: str | None = None
    reason: str | None = None
    note: str | None = None  # e.g. "already in the target (reply was lost); not created twice"


@dataclass(frozen=True)
class Prerequisite:
    record_type: str
    key: str
    label: str  # how the reason names it: "customer CUST-7", "product 'Kopi Susu' (KOP-001)"


class Sender(Protocol):
    record_type: str
    flow: str
    batch_size: int

    def prerequisites(self, document: Any) -> list[Prerequisite]: ...

    def send(self, documents: Sequence[Any]) -> list[SendResult]: ...


def sends_concurrently(sender: Sender) -> bool:
    """Whether the sender's batches may be sent beside each other (``concurrent_batches`` and ``worker()``,
    ``TargetSender``); a sender without them sends one batch at a time."""
    return bool(getattr(sender, "concurrent_batches", False))


@dataclass(frozen=True)
class FailedRecord:
    """A record that failed, and what the ledger write that recorded it answered (``SyncLedger.record``): since
    when it has been failing for this reason, and whether that is new to this DAG run. ``None``: the failure was
    not stored as the record's state."""

    record_type: str
    key: str
    reason: str
    failing: Failing | None

    @property
    def is_new(self) -> bool:
        """Whether this run reports the failure (turns red): it began in this run, or was not stored at all."""
        return self.failing is None or self.failing.new

    @property
    def failing_since(self) -> datetime | None:
        return self.failing.since if self.failing else None

    def __str__(self) -> str:
        return f"{self.record_type} {self.key}: {self.reason}"


def failed_records(outcomes: Iterable[RecordOutcome],
                   failing: Mapping[tuple[str, str], Failing | None]) -> list[FailedRecord]:
    """The failed ``outcomes`` with what the ledger answered when they were recorded."""
    return [FailedRecord(o.record_type, o.key, o.reason or "", failing.get((o.record_type, o.key)))
            for o in outcomes if o.status == "failed"]


@dataclass
class LoadSummary:
    synced: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    #: the same failures with since when each has been failing (what decides whether the task turns red)
    failed_records: list[FailedRecord] = field(default_factory=list)
    created: list[tuple[str, str, str | None]] = field(default_factory=list)  # (type, target id, number)
    #: target documents deleted because the POS changed or voided them after sync (``possync.changes``); not part
    #: of ``read``: each reversed record is also counted as whatever it then became
    reversed: int = 0
    #: the same counts per outlet ({outlet: {"synced": n, "skipped": n, "failed": n}}), for records of an outlet
    outlets: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def read(self) -> int:
        return self.synced + self.skipped + self.failed

    def count(self, document: Any, outcome: Literal["synced", "skipped", "failed"]) -> None:
        """Count one outcome for the document's outlet (documents without an outlet are not counted per outlet)."""
        outlet = getattr(document, "outlet_code", None)
        if outlet:
            counts = self.outlets.setdefault(str(outlet), {})
            counts[outcome] = counts.get(outcome, 0) + 1

    def add(self, other: LoadSummary) -> None:
        self.synced += other.synced
        self.skipped += other.skipped
        self.failed += other.failed
        self.failures.extend(other.failures)
        self.failed_records.extend(other.failed_records)
        self.created.extend(other.created)
        self.reversed += other.reversed
        for outlet, counts in other.outlets.items():
            mine = self.outlets.setdefault(outlet, {})
            for outcome, count in counts.items():
                mine[outcome] = mine.get(outcome, 0) + count

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, "synced": self.synced, "skipped": self.skipped, "failed": self.failed,
                "reversed": self.reversed}


def key_problem(document: Any) -> str | None:
    """Why a document's business key cannot be sent as it is: spaces around it. Keys are compared exactly,
    and a target that trims them would match (or refuse) it as the record holding the trimmed key."""
    for label, value in (("key", document.key), ("till customer ID", getattr(document, "customer_code", None))):
        if isinstance(value, str) and value != value.strip():
            return (f"its {label} {value!r} has leading or trailing spaces: a target that trims keys would take it"
                    f" for {value.strip()!r}; fix it in the POS")
    return None


class Loader:
    def __init__(
        self,
        ledger: SyncLedger,
        integration: str,
        *,
        target: str,
        run: RunRef | None = None,
        logger: logging.Logger | logging.LoggerAdapter | None = None,
        batches_in_flight: int = 1,
    ) -> None:
        self.ledger = ledger
        self.integration = integration
        self.target = target
        self.run = run
        self.log = logger or logging.getLogger(__name__)
        self.batches_in_flight = max(1, batches_in_flight)

    def _line(self, outcome: str, record_type: str, key: str, detail: str, document: Any = None) -> None:
        """One record's line; a sales document's names its outlet when its key does not (a sales task loads a group
        of outlets together)."""
        sales = getattr(document, "record_type", None) in SALES_RECORD_TYPES
        log_record(self.log, outcome, record_type, key, detail,
                   outlet=getattr(document, "outlet_code", None) if sales else None)

    def _unmet(
        self, sender: Sender, documents: Sequence[Any]
    ) -> tuple[dict[str, list[Prerequisite]], set[tuple[str, str]]]:
        """Each document's prerequisites not synced yet, and which of those failed (they need a repair)."""
        needed: dict[str, set[str]] = {}
        for document in documents:
            for prerequisite in sender.prerequisites(document):
                needed.setdefault(prerequisite.record_type, set()).add(prerequisite.key)
        synced: dict[str, set[str]] = {}
        failed: set[tuple[str, str]] = set()
        for record_type, keys in needed.items():
            found = self.ledger.lookup(self.integration, record_type, keys)
            synced[record_type] = {key for key, record in found.items() if record.status == "synced"}
            failed.update((record_type, key) for key, record in found.items()
                          if record.status in ("failed", "ignored"))
        unmet = {
            document.key: [
                p for p in sender.prerequisites(document) if p.key not in synced.get(p.record_type, set())
            ]
            for document in documents
        }
        return unmet, failed

    @staticmethod
    def _waiting_reason(unmet: list[Prerequisite], failed: set[tuple[str, str]]) -> str:
        """E.g. "transfer-out TO-0042 has not been synced yet; repair it first" when the prerequisite failed."""
        missing = ", ".join(p.label for p in unmet)
        verb = "has" if len(unmet) == 1 else "have"
        if any((p.record_type, p.key) in failed for p in unmet):
            return f"{missing} {verb} not been synced yet; repair {'it' if len(unmet) == 1 else 'them'} first"
        return f"{missing} {verb} not been synced yet; it is retried once synced"

    def load(self, sender: Sender, documents: Sequence[Document]) -> LoadSummary:
        """Load ``documents`` (already oldest first) of one record type; see the module docstring."""
        from possync.ledger import content_hash

        summary = LoadSummary()
        if not documents:
            return summary
        hashes = {document.key: content_hash(document) for document in documents}
        known = self.ledger.lookup(self.integration, sender.record_type, hashes)
        unmet, failed_prerequisites = self._unmet(sender, documents)

        outcomes: list[RecordOutcome] = []
        to_send: list[Document] = []
        for document in documents:
            record = known.get(document.key)
            if record is not None and record.status == "ignored" and record.content_hash == hashes[document.key]:
                # set aside by someone, its content unchanged since: not retried (ledger/quarantine.py); changed
                # (or refused before it was a document, so no hash), it is sent and the ledger reopens it
                summary.skipped += 1
                summary.count(document, "skipped")
                self._line("SKIPPED", sender.record_type, document.key, ignored_note(record), document)
                continue
            if record is not None and record.status == "synced":
                summary.skipped += 1
                summary.count(document, "skipped")
                changed = record.content_hash not in (None, hashes[document.key])
                detail = f"already synced as {self.target} #{record.target_number or record.target_id}"
                self._line("SKIPPED", sender.record_type, document.key,
                           detail + ("; changed in the POS since, not pushed again" if changed else ""), document)
                continue
            problem = key_problem(document)
            if unmet[document.key] or problem:
                reason = problem or self._waiting_reason(unmet[document.key], failed_prerequisites)
                outcomes.append(self._outcome(sender, document, hashes, "failed", reason=reason))
                summary.failed += 1
                summary.count(document, "failed")
                summary.failures.append(f"{sender.record_type} {document.key}: {reason}")
                self._line("FAILED", sender.record_type, document.key, reason, document)
                continue
            to_send.append(document)
        summary.failed_records.extend(failed_records(outcomes, self.ledger.record(self.integration, outcomes,
                                                                                  self.run)))

        batches = [to_send[start:start + sender.batch_size] for start in range(0, len(to_send), sender.batch_size)]
        for batch, sent in self._sent(sender, batches):
            results = {result.key: result for result in sent}
            outcomes = []
            for document in batch:
                result = results.get(document.key) or SendResult(
                    document.key, "failed", reason=f"{self.target} gave no result for it"
                )
                outcomes.append(self._outcome(sender, document, hashes, result.status, result=result))
                if result.status == "synced":
                    summary.synced += 1
                    summary.count(document, "synced")
                    if result.target_id:
                        summary.created.append((sender.record_type, str(result.target_id), result.target_number))
                    number = f" ({result.target_number})" if result.target_number else ""
                    where = f"→ {self.target} #{result.target_id}{number}" if result.target_id else "→ nothing to post"
                    self._line("SYNCED", sender.record_type, document.key,
                               where + (f"; {result.note}" if result.note else ""), document)
                else:
                    summary.failed += 1
                    summary.count(document, "failed")
                    summary.failures.append(f"{sender.record_type} {document.key}: {result.reason}")
                    self._line("FAILED", sender.record_type, document.key, str(result.reason), document)
            summary.failed_records.extend(failed_records(outcomes, self.ledger.record(self.integration, outcomes,
                                                                                      self.run)))
        return summary

    def _sent(self, sender: Sender, batches: list[list[Document]]) -> Iterator[tuple[list[Document],
                                                                                  list[SendResult]]]:
        """Each batch with the target's results, in batch order; up to ``batches_in_flight`` sent at once (see
        the module docstring). A failure is raised after every batch already sent has been answered and yielded."""
        if self.batches_in_flight == 1 or len(batches) < 2 or not sends_concurrently(sender):
            for batch in batches:
                yield batch, sender.send(batch)
            return
        pending: deque[tuple[list[Document], Future[list[SendResult]]]] = deque()
        upcoming = iter(batches)
        failure: Exception | None = None
        with ThreadPoolExecutor(self.batches_in_flight, thread_name_prefix=f"send-{sender.record_type}") as pool:

            def fill() -> None:
                while failure is None and len(pending) < self.batches_in_flight:
                    batch = next(upcoming, None)
                    if batch is None:
                        return
                    worker = sender.worker()  # type: ignore[attr-defined]  # a copy: its own per-batch state
                    pending.append((batch, pool.submit(worker.send, batch)))

            try:
                fill()
                while pending:
                    batch, future = pending.popleft()
                    try:
                        sent = future.result()
                    except Exception as error:  # raised below, once the batches in flight are answered
                        failure = failure or error
                        continue
                    fill()  # the next batch on its way while this one is recorded
                    yield batch, sent
            finally:
                for _batch, future in pending:  # the caller stopped early: what was sent still finishes
                    future.cancel()
        if failure is not None:
            raise failure

    def _outcome(
        self,
        sender: Sender,
        document: Any,
        hashes: dict[str, str],
        status: Literal["synced", "failed"],
        *,
        reason: str | None = None,
        result: SendResult | None = None,
    ) -> RecordOutcome:
        from possync.ledger import RecordOutcome

        return RecordOutcome(
            record_type=sender.record_type,
            key=document.key,
            flow=sender.flow,
            status=status,
            content_hash=hashes[document.key],
            outlet_code=getattr(document, "outlet_code", None),
            business_time=getattr(document, "business_time", None) or getattr(document, "paid_at", None),
            target_id=str(result.target_id) if result and result.target_id is not None else None,
            target_number=result.target_number if result else None,
            reason=(result.reason if result else reason) if status == "failed" else None,
        )
