"""Dry run: what a sync would post now, with the exact request bodies, writing nothing anywhere.

A dry run is the real sync, not a second implementation of it. ``dry_run(job, flow, sync)`` runs the flow's own
function (``possync.pipeline.sync_<flow>``, as the operator calls it) on a job whose

- **ledger** is a ``PreviewLedger``: every read goes to the real ledger, every write (record outcomes, versions,
  reversals, id maps, watermarks) stays in memory, on top of what it read, so later steps of the same run see
  what earlier ones would have written (an invoice "synced" before its payments, a reversed record pending);
- **senders** create and delete nothing: where a sender would call the target to create documents (the one place
  every create goes through, ``TargetSender._create_recovering``), the ``Recorder`` keeps the request with the
  body the sender built (``sender.body(document)``, the same code a real send uses) and answers with a
  placeholder record (``<id of invoice INV-1 once created>``); a deletion (a change after sync) is recorded too;
- **hook** is a ``ReadOnlyHook``: reads (SKU matching, adopting customers, finding lost replies) go to the
  target, anything that could write raises, and a read by a placeholder id answers "not found";
- **target** does not ``prepare`` (the warehouses a products sync creates are not previewed).

The one thing a dry run leaves behind is what any caller of the target leaves: its reads are paced like every
request, so they take their share of the API consumer's allowance (``SharedPacer``'s rows beside the ledger).

Everything the sync logs per record (``SYNCED``, ``SKIPPED``, ``FAILED``, ``REVERSED``) goes to the task log
prefixed ``[dry run]`` and becomes the preview's record list: "would post" (with its bodies), "would match"
(already in the target: matched by SKU, adopted), "skip" (already synced), "would fail" (with the reason) and
"would reverse" (the deletion of a document changed after sync, then its repost).

Windowed flows first preview the master data their DAG syncs before them (customers for sales; products for
sales, transfers and stock), so an invoice whose customer is not in the target yet shows "would first create
customer X" and carries a placeholder where the target's id will go.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from possync.ledger import LedgerRecord, RecordOutcome, Reversal, RunRef, SyncLedger
from possync.ledger.reasons import Failing
from possync.recordlog import OUTCOMES
from possync.targets.base.loader import LoadSummary, SendResult

log = logging.getLogger(__name__)

#: the XCom key a dry-run task pushes its preview under (read by the Sync Status preview page)
PREVIEW_XCOM = "dry_run_preview"
#: records shown per record type in a preview kept in XCom (the counts always cover every record)
PREVIEW_LIMIT = 50
#: hook methods that only read (everything else on a hook raises in a dry run)
READ_METHODS = frozenset({"get", "detail", "iterate", "stock_per_warehouse", "web_url", "document_url",
                          "max_attempts", "pause_before_retry", "database", "data_host", "log"})
#: the flows whose DAG syncs master data first, and which
PREREQUISITE_FLOWS: dict[str, tuple[str, ...]] = {
    "sales": ("customers", "products"), "transfers": ("products",), "stock": ("products",),
}
OUTCOME_WORDS = {"SYNCED": "would post", "SKIPPED": "skip", "FAILED": "would fail", "REVERSED": "would reverse"}


def placeholder(what: str) -> str:
    """What a body shows where the target's id of something not created yet will go."""
    return f"<id of {what} once created>"


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("<") and value.endswith(">")


def _has_placeholder(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_has_placeholder(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_placeholder(v) for v in value)
    return is_placeholder(value)


def jsonable(value: Any) -> Any:
    """``value`` with exact amounts as strings (Decimal → "12500.00"), dates as ISO strings."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def pretty(body: Any) -> str:
    return json.dumps(jsonable(body), indent=2, ensure_ascii=False)


# ------------------------------------------------------------------------------------------- the ledger


class PreviewLedger:
    """The ledger as a dry run sees it: the real ledger's content with this run's writes on top, kept in memory.

    Nothing is ever written to the real ledger; what is not one of the methods below is refused."""

    def __init__(self, real: SyncLedger) -> None:
        from sqlalchemy import inspect

        if not inspect(real.engine).has_table("sync_records"):
            # a ledger no sync has written yet (its tables are created by the first real run): nothing is synced.
            # One in-memory database for every thread (a sales sync stages in a thread of its own, possync.ahead):
            # by default each thread would open an empty one of its own
            from sqlalchemy.pool import StaticPool

            from possync.db import make_engine

            real = SyncLedger(make_engine("sqlite://", poolclass=StaticPool,
                                          connect_args={"check_same_thread": False}))
            real.create_schema()
        self.real = real
        self._records: dict[tuple[str, str, str], LedgerRecord] = {}
        self._id_maps: dict[tuple[str, str], dict[str, tuple[str, str | None]]] = {}
        self._watermarks: dict[tuple[str, str, str], datetime] = {}

    def create_schema(self) -> None:
        """Nothing: a dry run creates no table."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"a dry run's ledger has no {name!r} (it only reads, and writes nowhere)")

    # -- reads: the real ledger, then this run's writes -----------------------------------------------------

    def get(self, integration: str, record_type: str, key: str) -> LedgerRecord | None:
        return self._records.get((integration, record_type, key)) or self.real.get(integration, record_type, key)

    def lookup(self, integration: str, record_type: str, keys: Any) -> dict[str, LedgerRecord]:
        keys = list(keys)
        found = self.real.lookup(integration, record_type, keys)
        for key in keys:
            mine = self._records.get((integration, record_type, key))
            if mine is not None:
                found[key] = mine
        return found

    def with_key_prefix(self, integration: str, record_type: str, prefix: str) -> list[LedgerRecord]:
        found = {r.key: r for r in self.real.with_key_prefix(integration, record_type, prefix)}
        found.update({k: r for (i, t, k), r in self._records.items()
                      if i == integration and t == record_type and k.startswith(prefix)})
        return [found[key] for key in sorted(found)]

    def unsynced(self, integration: str, flow: str, **kwargs: Any) -> list[LedgerRecord]:
        return self.real.unsynced(integration, flow, **kwargs)

    def id_maps(self, integration: str, kind: str, pos_keys: Any = None) -> dict[str, tuple[str, str | None]]:
        wanted = None if pos_keys is None else list(pos_keys)
        found = self.real.id_maps(integration, kind, wanted)
        mine = self._id_maps.get((integration, kind), {})
        found.update(mine if wanted is None else {k: v for k, v in mine.items() if k in set(wanted)})
        return found

    def watermark(self, integration: str, flow: str, name: str) -> datetime | None:
        return self._watermarks.get((integration, flow, name)) or self.real.watermark(integration, flow, name)

    # -- writes: kept here -------------------------------------------------------------------------------

    def record(self, integration: str, outcomes: Any, run: RunRef | None = None
               ) -> dict[tuple[str, str], Failing | None]:
        """Merge like ``SyncLedger.record``: a synced (or ignored) record stays so when an outcome without new
        content says otherwise; otherwise the latest outcome wins. Returns, as it does, since when each failed
        record has been failing (the real ledger's time when it was failing for the same reason, else now) and
        whether that is new (a preview reports every failure it would start as new)."""
        now = datetime.now(UTC)
        failing: dict[tuple[str, str], Failing | None] = {}
        for outcome in outcomes:
            before = self.get(integration, outcome.record_type, outcome.key)
            merged = self._merged(integration, outcome, run, now)
            self._records[integration, outcome.record_type, outcome.key] = merged
            if outcome.status == "failed":
                same = (before is not None and before.status == "failed" and before.reason == outcome.reason
                        and getattr(before, "failing_since", None) is not None)
                failing[outcome.record_type, outcome.key] = (
                    Failing(before.failing_since, new=False) if same and before and before.failing_since
                    else Failing(now, new=True)) if merged.status == "failed" else None
        return failing

    def _merged(self, integration: str, outcome: RecordOutcome, run: RunRef | None, now: datetime) -> LedgerRecord:
        old = self.get(integration, outcome.record_type, outcome.key)
        synced = outcome.status == "synced"
        if old is not None and old.status in ("synced", "ignored") and not synced and outcome.content_hash in (
                None, old.content_hash):
            return old
        return LedgerRecord(
            integration=integration, record_type=outcome.record_type, key=outcome.key, flow=outcome.flow,
            status=outcome.status, outlet_code=outcome.outlet_code or (old.outlet_code if old else None),
            business_time=outcome.business_time or (old.business_time if old else None),
            content_hash=outcome.content_hash or (old.content_hash if old else None),
            target_id=outcome.target_id or (old.target_id if old else None),
            target_number=outcome.target_number or (old.target_number if old else None),
            reason=None if synced else outcome.reason, attempts=(old.attempts if old else 0) + 1,
            dag_id=run.dag_id if run else None, run_id=run.run_id if run else None,
            task_id=run.task_id if run else None, map_index=run.map_index if run else None,
            try_number=run.try_number if run else None, first_seen_at=old.first_seen_at if old else now,
            last_attempt_at=now, synced_at=now if synced else (old.synced_at if old else None), updated_at=now,
            target_hash=outcome.content_hash if synced else (old.target_hash if old else None),
        )

    def reverse(self, integration: str, reversals: Sequence[Reversal], run: RunRef | None = None) -> None:
        for reversal in reversals:
            record = reversal.record
            self._records[integration, record.record_type, record.key] = replace(
                record, status=reversal.status, reason=reversal.reason, target_id=None, target_number=None,
                target_hash=None, content_hash=reversal.content_hash or record.content_hash, synced_at=None)

    def set_id_maps(self, integration: str, kind: str, mapping: Mapping[str, tuple[str, str | None]]) -> None:
        self._id_maps.setdefault((integration, kind), {}).update(mapping)

    def advance_watermark(self, integration: str, flow: str, name: str, value: datetime) -> datetime:
        current = self.watermark(integration, flow, name)
        self._watermarks[integration, flow, name] = max(value, current) if current else value
        return self._watermarks[integration, flow, name]


# ------------------------------------------------------------------------------------- the target side


class ReadOnlyHook:
    """The target's hook for a dry run: reads go through, a read by a placeholder id finds nothing, anything
    else (create, save, delete, a raw call) raises."""

    def __init__(self, hook: Any) -> None:
        self._hook = hook

    def __getattr__(self, name: str) -> Any:
        if name not in READ_METHODS:
            raise PermissionError(f"a dry run does not call the target's {name!r}: it writes nothing")
        value = getattr(self._hook, name)
        if not callable(value):
            return value

        def read(*args: Any, **kwargs: Any) -> Any:
            if any(is_placeholder(a) for a in [*args, *kwargs.values()]):
                return None  # a document this run would create first: the target has none yet
            return value(*args, **kwargs)

        return read


class Unanswered(dict[str, Any]):
    """The placeholder reply to a create a dry run did not send: the body it echoes, with placeholder ids. A
    field the target would have computed and the reply lacks (Jurnal's return_amount) is noted as asked for,
    so a body built from it is marked as depending on the target's reply."""

    def __init__(self, content: dict[str, Any], recorder: Recorder) -> None:
        super().__init__(content)
        self._recorder = recorder

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self._recorder.asked.add(key)
        return super().get(key, default)


@dataclass
class Request:
    """One call a real run would make to the target: a create with its body, or a delete."""

    record_type: str
    key: str
    action: str  # "create" or "delete"
    what: str  # the target's resource or module (sales_invoices, sales-invoice, ...)
    body: dict[str, Any] | None = None
    target_id: str | None = None
    #: fields of an earlier reply the body was built from, which only the target knows (shown as 0 or absent)
    depends_on_reply: list[str] = field(default_factory=list)
    #: the document's prerequisites (record type, key)
    needs: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        found = {"action": self.action, "what": self.what}
        if self.body is not None:
            found["body"] = jsonable(self.body)
        if self.target_id is not None:
            found["target_id"] = self.target_id
        if self.depends_on_reply:
            found["depends_on_reply"] = list(self.depends_on_reply)
        if self.body is not None and _has_placeholder(self.body):
            found["placeholders"] = True
        return found


class Recorder:
    """What the dry senders would have sent, in order."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.requests: list[Request] = []
        self.asked: set[str] = set()

    def creates(self, sender: Any, documents: Sequence[Any]) -> list[SendResult]:
        results = []
        for document in documents:
            self.asked = set()
            body = sender.body(document)
            what = getattr(sender, "resource", "") or getattr(sender, "module", "")
            needs = [(p.record_type, p.key) for p in sender.prerequisites(document)]
            self.requests.append(Request(sender.record_type, document.key, "create", what, body,
                                         depends_on_reply=sorted(self.asked), needs=needs))
            results.append(sender.result(document, self._reply(sender, document, body)))
        return results

    def _reply(self, sender: Any, document: Any, body: dict[str, Any]) -> Unanswered:
        kind = {"item": "product"}.get(sender.record_type, sender.record_type).replace("_", "-")
        reply = {**body, "id": placeholder(f"{kind} {document.key}")}
        number_field = getattr(sender, "number_field", None)
        if isinstance(number_field, str) and not reply.get(number_field):
            reply[number_field] = f"<{number_field} {self.label} gives {kind} {document.key}>"
        return Unanswered(reply, self)

    def delete(self, sender: Any, target_id: str) -> bool:
        """A deletion (a change after sync); its record's key is filled in by the ``REVERSED`` line that follows
        it (``DryRunLogger``)."""
        what = getattr(sender, "resource", "") or getattr(sender, "module", "")
        self.requests.append(Request(sender.record_type, "", "delete", what, target_id=str(target_id)))
        return True

    def reversed(self, record_type: str, key: str) -> None:
        for request in self.requests:
            if request.action == "delete" and not request.key and request.record_type == record_type:
                request.key = key


def _dry(sender: Any, recorder: Recorder, seen: set[int] | None = None) -> Any:
    """Make ``sender`` (and the senders it holds, e.g. a return's money-back sender) record its creates and
    deletes instead of sending them; its bodies are built by its own ``body``."""
    from possync.targets.base.senders import TargetSender

    seen = set() if seen is None else seen
    if id(sender) in seen or not isinstance(sender, TargetSender):
        return sender
    seen.add(id(sender))
    sender._create_recovering = lambda documents, create: recorder.creates(sender, documents)
    sender.delete_document = lambda target_id: recorder.delete(sender, target_id)
    for value in list(vars(sender).values()):
        _dry(value, recorder, seen)
    return sender


class _DryTarget:
    """The target, except that ``prepare`` (creating missing warehouses) is not run."""

    def __init__(self, target: Any, logger: Any) -> None:
        self._target = target
        self._logger = logger

    def prepare(self, hook: Any, integration: Any, logger: Any) -> None:
        self._logger.info("not previewed: %s's preparation (warehouses and branches it lacks are created by a "
                          "real run before products)", self._target.label)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


# -------------------------------------------------------------------------------------------- the log


@dataclass
class Event:
    outcome: str  # SYNCED, SKIPPED, FAILED, REVERSED
    record_type: str
    key: str
    detail: str


class DryRunLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The sync's own log lines, prefixed ``[dry run]`` and with the outcome as a preview says it (``WOULD POST``,
    ``WOULD FAIL``, never ``SYNCED``); each per-record line is also kept as an ``Event``."""

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter,  # type: ignore[type-arg]
                 recorder: Recorder | None = None) -> None:
        super().__init__(logger, {})
        self.events: list[Event] = []
        self.recorder = recorder

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if len(args) == 4 and args[0] in OUTCOMES:
            self.events.append(Event(*(str(a) for a in args)))
            if args[0] == "REVERSED" and self.recorder is not None:
                self.recorder.reversed(str(args[1]), str(args[2]))
            # a dry run's log never says SYNCED: ops grep for it
            args = (OUTCOME_WORDS.get(str(args[0]), str(args[0])).upper(), *args[1:])
        self.logger.log(level, f"[dry run] {msg}", *args, **kwargs)


# ---------------------------------------------------------------------------------------------- preview


@dataclass
class PreviewRecord:
    record_type: str
    key: str
    outcome: str  # would post, would match, skip, would fail, would reverse
    detail: str
    requests: list[Request] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)  # "would first create customer X"

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"record_type": self.record_type, "key": self.key, "outcome": self.outcome,
                                 "detail": self.detail, "requests": [r.as_dict() for r in self.requests]}
        if self.needs:
            found["needs"] = list(self.needs)
        return found


@dataclass
class Preview:
    """What a sync would do now; nothing of it was written."""

    integration: str
    target: str
    flow: str
    scope: dict[str, Any]
    records: list[PreviewRecord]
    #: master data the flow's DAG would create first (customers, products), by record type: how many
    first_created: dict[str, int] = field(default_factory=dict)
    #: the sync's own summary, as a dry run says it: read = would_sync + skipped + would_fail
    summary: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        """Record type → outcome → how many."""
        counts: dict[str, dict[str, int]] = {}
        for record in self.records:
            per = counts.setdefault(record.record_type, {})
            per[record.outcome] = per.get(record.outcome, 0) + 1
        return counts

    def bodies(self) -> Iterator[tuple[PreviewRecord, Request]]:
        for record in self.records:
            for request in record.requests:
                yield record, request

    def as_dict(self, limit: int | None = PREVIEW_LIMIT) -> dict[str, Any]:
        """JSON-able (amounts as strings); at most ``limit`` records per record type, the counts whole."""
        shown: list[dict[str, Any]] = []
        per_type: dict[str, int] = {}
        for record in self.records:
            per_type[record.record_type] = per_type.get(record.record_type, 0) + 1
            if limit is None or per_type[record.record_type] <= limit:
                shown.append(record.as_dict())
        left_out = {t: n - limit for t, n in per_type.items() if limit is not None and n > limit}
        return {"dry_run": True, "integration": self.integration, "target": self.target, "flow": self.flow,
                "scope": jsonable(self.scope), "summary": dict(self.summary), "counts": self.counts(),
                "first_created": dict(self.first_created), "records": shown, "limit_per_type": limit,
                "left_out": left_out}

    def lines(self, *, bodies: bool = True) -> list[str]:
        """The preview as text (task log, CLI)."""
        return render_lines(self.as_dict(limit=None), bodies=bodies)


def render_lines(preview: Mapping[str, Any], *, bodies: bool = True) -> list[str]:
    """A preview (``Preview.as_dict``) as text lines."""
    scope = ", ".join(f"{k}={v}" for k, v in preview.get("scope", {}).items() if v not in (None, [], ""))
    out = [f"DRY RUN {preview['integration']} {preview['flow']} → {preview['target']}"
           f"{f' ({scope})' if scope else ''}: nothing was written to the target or the ledger"]
    for kind, count in (preview.get("first_created") or {}).items():
        out.append(f"  first, the {kind}s sync would create {count} {kind}(s) the documents need")
    for record in preview.get("records", []):
        out.append(f"{record['outcome'].upper():<14} {record['record_type']:<12} {record['key']:<28} "
                   f"{record['detail']}")
        for need in record.get("needs", []):
            out.append(f"{'':14} needs: {need}")
        for request in record.get("requests", []):
            if request["action"] == "delete":
                out.append(f"{'':14} DELETE {request['what']} #{request['target_id']}")
            elif bodies:
                note = (f" (built from {', '.join(request['depends_on_reply'])} of {preview['target']}'s reply, "
                        "unknown before the real run)") if request.get("depends_on_reply") else ""
                out.append(f"{'':14} POST {request['what']}{note}:")
                out.extend(f"{'':16}{line}" for line in json.dumps(request["body"], indent=2,
                                                                  ensure_ascii=False).splitlines())
    for kind, left in (preview.get("left_out") or {}).items():
        out.append(f"... and {left} more {kind} record(s) not shown (the counts include them)")
    counts = "; ".join(f"{kind}: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(per.items()))
                       for kind, per in sorted((preview.get("counts") or {}).items()))
    out.append(f"DRY RUN summary: {counts or 'nothing to do'}")
    return out


def dry_job(job: Any, logger: logging.Logger | logging.LoggerAdapter | None = None) -> tuple[Any, Recorder,  # type: ignore[type-arg]
                                                                                            DryRunLogger]:
    """A copy of ``job`` that reads the ledger and the target and writes to neither."""
    recorder = Recorder(job.target.label)
    dry_logger = DryRunLogger(logger or job.logger, recorder)
    ledger = PreviewLedger(job.ledger.real if isinstance(job.ledger, PreviewLedger) else job.ledger)
    dry = replace(job, ledger=ledger, hook=ReadOnlyHook(job.hook), target=_DryTarget(job.target, dry_logger),
                  logger=dry_logger)
    for sender in dry.senders.values():
        _dry(sender, recorder)
    return dry, recorder, dry_logger


_QUIET = logging.getLogger("possync.preview.prerequisites")
_QUIET.setLevel(logging.WARNING)


def _prerequisite_runs(flow: str) -> list[tuple[str, Callable[[Any], LoadSummary]]]:
    from possync.pipeline import sync_customers, sync_products

    runs = {"customers": sync_customers, "products": sync_products}
    return [(name, runs[name]) for name in PREREQUISITE_FLOWS.get(flow, ())]


def dry_run(job: Any, flow: str, sync: Callable[[Any], LoadSummary], *, scope: Mapping[str, Any] | None = None,
            prerequisites: bool = True) -> Preview:
    """Run ``sync`` (the flow's pipeline function on a job) as a dry run of ``job``; the preview of what it
    would do. With ``prerequisites``, the master data the flow's DAG syncs first is previewed before it (quietly:
    only what it would create shows, as the needs of the documents)."""
    dry, recorder, dry_logger = dry_job(job)
    first: dict[tuple[str, str], str] = {}
    if prerequisites:
        dry.logger = DryRunLogger(_QUIET, recorder)
        for _name, run in _prerequisite_runs(flow):
            run(dry)
        for request in recorder.requests:
            if request.action == "create":
                label = "product" if request.record_type == "item" else request.record_type
                first[request.record_type, request.key] = f"would first create {label} {request.key}"
        recorder.requests.clear()
        dry.logger = dry_logger
        vars(dry).pop("loader", None)  # built with the quiet logger
    summary = sync(dry)
    return _preview(job, flow, scope or {}, dry_logger.events, recorder.requests, first, summary)


def _preview(job: Any, flow: str, scope: Mapping[str, Any], events: list[Event], requests: list[Request],
             first: dict[tuple[str, str], str], summary: LoadSummary) -> Preview:
    by_record: dict[tuple[str, str], PreviewRecord] = {}
    for event in events:
        identity = (event.record_type, event.key)
        outcome = OUTCOME_WORDS.get(event.outcome, event.outcome.lower())
        detail = _PLACEHOLDER_ID.sub("", event.detail)
        record = by_record.get(identity)
        if record is None:
            by_record[identity] = PreviewRecord(event.record_type, event.key, outcome, detail)
        else:  # e.g. staged as voided, then reversed; or reversed (a change after sync), then posted again
            if record.outcome.startswith("would reverse") and outcome != "would reverse":
                record.outcome = f"would reverse, then {outcome.removeprefix('would ')}"
            else:
                record.outcome = outcome
            record.detail = f"{record.detail}; then {detail}"
    for request in requests:
        identity = (request.record_type, request.key)
        record = by_record.get(identity)
        if record is None:
            record = by_record[identity] = PreviewRecord(request.record_type, request.key, "would post", "")
        record.requests.append(request)
        record.needs.extend(first[need] for need in request.needs if need in first and first[need] not in record.needs)
    for record in by_record.values():
        if record.outcome.endswith("post") and not any(r.action == "create" for r in record.requests):
            # synced without a create: found in the target (matched by SKU, adopted, a count with nothing to post)
            record.outcome = record.outcome.removesuffix("would post").removesuffix("post") + (
                "would match" if record.outcome == "would post" else "match")
    first_created: dict[str, int] = {}
    for record_type, _key in first:
        kind = "product" if record_type == "item" else record_type
        first_created[kind] = first_created.get(kind, 0) + 1
    counts = {"read": summary.read, "would_sync": summary.synced, "skipped": summary.skipped,
              "would_fail": summary.failed, "would_reverse": summary.reversed}
    return Preview(job.integration.name, job.target.label, flow, dict(scope), list(by_record.values()),
                   first_created, counts)


_PLACEHOLDER_ID = re.compile(r" #<id of [^>]*>")


# ------------------------------------------------------------------------------------- from the shell

FLOWS = ("sales", "transfers", "stock", "customers", "products")


def day_window(first: date, last: date, timezone: str) -> Any:
    """The window of the days ``first`` to ``last`` (both whole, in ``timezone``), as a DAG's date range."""
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    from possync.pos.extract import Window

    if first > last:
        raise ValueError(f"--from {first} is after --to {last}")
    zone = ZoneInfo(timezone)
    return Window(datetime.combine(first, time(), tzinfo=zone), datetime.combine(last + timedelta(days=1), time(),
                                                                                 tzinfo=zone))


def preview_range(job: Any, flow: str, first: date, last: date, outlets: Sequence[str] | None = None) -> Preview:
    """The dry run of ``flow`` over the days ``first`` to ``last`` (outlet time) for ``outlets`` (default: every
    mapped outlet), as a run of the flow's DAG for that date range would sync them (no catch-up)."""
    from possync.pipeline import outlet_groups, sync_customers, sync_products, sync_sales, sync_stock, sync_transfers

    if flow not in FLOWS:
        raise ValueError(f"flow {flow!r} is not one of {', '.join(FLOWS)}")
    integration = job.integration
    unknown = sorted(set(outlets or ()) - set(integration.outlets))
    if unknown:
        raise ValueError(f"outlet(s) {', '.join(unknown)} are not mapped in {integration.name} "
                         f"(mapped: {', '.join(sorted(integration.outlets))})")
    window = day_window(first, last, integration.timezone)
    chosen = list(outlets or sorted(integration.outlets))

    def run(dry: Any) -> LoadSummary:
        if flow == "customers":
            return sync_customers(dry)
        if flow == "products":
            return sync_products(dry)
        if flow == "transfers":
            return sync_transfers(dry, outlet_codes=chosen, window=window)
        summary = LoadSummary()
        if flow == "sales":  # grouped as the sales DAG's tasks are (sales.outlets_per_task)
            for group in outlet_groups(chosen, integration.sales.outlets_per_task):
                summary.add(sync_sales(dry, outlet_codes=group, window=window))
            return summary
        for code in chosen:
            summary.add(sync_stock(dry, outlet_code=code, window=window))
        return summary

    scope: dict[str, Any] = {"from": first.isoformat(), "to": last.isoformat()}
    if flow not in ("customers", "products"):
        scope["outlets"] = chosen
    return dry_run(job, flow, run, scope=scope)
