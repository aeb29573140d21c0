"""Quarantine: a failed record (or inbound webhook event) someone sets aside with a reason, and takes back.

    from possync.ledger.quarantine import ignore, undo, history

    ignore(ledger, "jurnal_demo", "invoice", "INV-JKT01-20261110-0007", by="alice",
           reason="test sale on the training till; never to be booked")
    undo(ledger, "jurnal_demo", "invoice", "INV-JKT01-20261110-0007", by="alice")
    history(ledger, "jurnal_demo", "invoice", "INV-JKT01-20261110-0007")   # oldest first

Only a ``failed`` record can be ignored, and only with a reason (a non-empty one). An ignored record:

- is not retried: the sync refresh reads ``pending`` and ``failed`` records only (``SyncLedger.unsynced``), a run
  that reads it again leaves it ignored (the ledger's merge rules) and logs it ``SKIPPED ... ignored by ...``;
- is not open: it is counted under ``ignored``, not ``failed``, on Sync Status, in ``possync status`` and in the
  reconciliation, which explains a difference on it as "ignored by <who>: <why>";
- keeps its failure reason (``reason``); who set it aside, when and why are in ``ignored_by``, ``ignored_at``,
  ``ignored_reason``, and every ignore and undo is a row of ``record_quarantine``.

**Undo** puts it back to ``failed`` with the reason it failed with, so the next run retries it again.

An invoice takes its failed payments (``<invoice>/P<n>``, which fail because the invoice did) with it: they are
ignored with it, with the same reason, and its undo undoes them too (those ignored with it).

**A repaired record reopens by itself**: "ignored" was said about the content it had then. When a run reads it
again with different content (its content hash changed: edited in the POS; a record refused before it became a
document has no hash, so its first document counts as changed), it is staged and sent like any other record and
the history gets a ``reopen`` row (by the DAG, "changed in the POS since it was ignored"). The same happens if it
syncs. Its POS content unchanged, it stays ignored.

Webhook events (``webhook_events``) have a status ``ignored`` of their own (nothing to do for that event); a
failed event set aside by someone becomes ``ignored`` with the reason "ignored by <who>: <why>", and an undo
gives it back its failure reason and the ``failed`` status, so the inbound DAG retries it. Their history is kept
in ``record_quarantine`` under the record type ``webhook_event`` and the event's uuid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select, update

from possync.ledger.schema import WEBHOOK_RECORD_TYPE, record_quarantine, sync_records, webhook_events
from possync.ledger.store import LedgerRecord, SyncLedger

REASON_MAX = 2000
#: record type → (the record type of its dependants, the key suffix before their number): ignored with it
DEPENDANTS = {"invoice": ("payment", "/P")}


class QuarantineRefused(ValueError):
    """An ignore or undo that cannot be done: ``kind`` is ``bad`` (a missing reason), ``missing`` (no such
    record) or ``conflict`` (not in a status it applies to); the message says which and why."""

    def __init__(self, kind: Literal["bad", "missing", "conflict"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One ignore, undo or reopen of a record or webhook event."""

    integration: str
    record_type: str
    key: str
    action: str
    by: str
    at: datetime
    reason: str | None
    failure_reason: str | None


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise QuarantineRefused("bad", "a reason is required: say why this record is set aside")
    return text[:REASON_MAX]


def _entry(integration: str, record_type: str, key: str, action: str, by: str, at: datetime,
           reason: str | None, failure_reason: str | None, content: str | None = None) -> dict[str, Any]:
    return {"integration": integration, "record_type": record_type, "business_key": key, "action": action,
            "actor": by, "at": at, "reason": reason, "failure_reason": failure_reason, "content_hash": content}


def _refusal(found: LedgerRecord | None, integration: str, record_type: str, key: str, wanted: str,
             what: str) -> QuarantineRefused:
    if found is None:
        return QuarantineRefused("missing", f"{integration} has no {record_type} record {key!r}")
    return QuarantineRefused("conflict", f"{record_type} {key} is {found.status}: only a {wanted} record can be "
                                         f"{what}")


def ignore(ledger: SyncLedger, integration: str, record_type: str, key: str, *, by: str, reason: str | None,
           now: datetime | None = None) -> LedgerRecord:
    """Set a failed record aside: status ``ignored``, with who, when and why; the record as it now is."""
    why = _reason(reason)
    now = now or datetime.now(UTC)
    c = sync_records.c
    with ledger._write() as conn:
        row = conn.execute(select(c.reason, c.content_hash).where(
            c.integration == integration, c.record_type == record_type, c.business_key == key,
            c.status == "failed")).first()
        if row is not None:
            targets = [(record_type, key, row.reason, row.content_hash)]
            if record_type in DEPENDANTS:
                kind, suffix = DEPENDANTS[record_type]
                targets += [(kind, d.key, d.reason, d.content_hash) for d in
                            ledger.with_key_prefix(integration, kind, key + suffix, conn=conn) if d.status == "failed"]
            for kind, identity, _failure, _content in targets:
                conn.execute(update(sync_records).where(
                    c.integration == integration, c.record_type == kind, c.business_key == identity,
                    c.status == "failed").values(status="ignored", ignored_by=by, ignored_at=now,
                                                  ignored_reason=why, updated_at=now))
            conn.execute(record_quarantine.insert(), [_entry(integration, kind, identity, "ignore", by, now, why,
                                                             failure, content)
                                                      for kind, identity, failure, content in targets])
    record = ledger.get(integration, record_type, key)
    if row is None or record is None:
        raise _refusal(record, integration, record_type, key, "failed", "ignored")
    return record


def undo(ledger: SyncLedger, integration: str, record_type: str, key: str, *, by: str, reason: str | None = None,
         now: datetime | None = None) -> LedgerRecord:
    """Take an ignored record back: ``failed`` again, with the reason it failed with, so it is retried."""
    now = now or datetime.now(UTC)
    c = sync_records.c
    note = (reason or "").strip()[:REASON_MAX] or None
    with ledger._write() as conn:
        when = conn.execute(select(c.ignored_at).where(
            c.integration == integration, c.record_type == record_type, c.business_key == key,
            c.status == "ignored")).scalar()
        targets = [(record_type, key)]
        if when is not None and record_type in DEPENDANTS:  # the dependants ignored with it
            kind, suffix = DEPENDANTS[record_type]
            targets += [(kind, d.key) for d in ledger.with_key_prefix(integration, kind, key + suffix, conn=conn)
                        if d.status == "ignored" and d.ignored_at == when]
        done = 0
        for kind, identity in targets:
            done += conn.execute(update(sync_records).where(
                c.integration == integration, c.record_type == kind, c.business_key == identity,
                c.status == "ignored").values(status="failed", ignored_by=None, ignored_at=None,
                                               ignored_reason=None, updated_at=now)).rowcount
        if done:
            conn.execute(record_quarantine.insert(), [_entry(integration, kind, identity, "undo", by, now, note, None)
                                                      for kind, identity in targets])
    record = ledger.get(integration, record_type, key)
    if not done or record is None:
        raise _refusal(record, integration, record_type, key, "ignored", "taken back")
    return record


def history(ledger: SyncLedger, integration: str, record_type: str, key: str) -> list[QuarantineEntry]:
    """Every ignore, undo and reopen of a record (``webhook_event`` and a uuid: of a webhook event), oldest
    first."""
    q = record_quarantine.c
    query = (select(q.integration, q.record_type, q.business_key, q.action, q.actor, q.at, q.reason,
                    q.failure_reason)
             .where(q.integration == integration, q.record_type == record_type, q.business_key == key)
             .order_by(q.at, q.id))
    with ledger.engine.connect() as conn:
        return [QuarantineEntry(*row) for row in conn.execute(query)]


def describe_entry(entry: QuarantineEntry) -> dict[str, Any]:
    """An entry as the JSON API shows it."""
    return {"action": entry.action, "by": entry.by, "at": entry.at.isoformat(), "reason": entry.reason,
            "failure_reason": entry.failure_reason}


# ------------------------------------------------------------------------------------------- webhook events


def _webhook_state(conn: Any, integration: str, uuid: str) -> tuple[str, str | None] | None:
    w = webhook_events.c
    row = conn.execute(select(w.status, w.reason).where(w.integration == integration, w.uuid == uuid)).first()
    return None if row is None else (row.status, row.reason)


def ignore_webhook(ledger: SyncLedger, integration: str, uuid: str, *, by: str, reason: str | None,
                   now: datetime | None = None) -> str:
    """Set a failed webhook event aside: ``ignored``, its reason "ignored by <who>: <why>"; that reason."""
    why = _reason(reason)
    now = now or datetime.now(UTC)
    w = webhook_events.c
    shown = f"ignored by {by}: {why}"
    with ledger._write() as conn:
        state = _webhook_state(conn, integration, uuid)
        if state is None:
            raise QuarantineRefused("missing", f"{integration} has no webhook event {uuid!r}")
        if state[0] != "failed":
            raise QuarantineRefused("conflict", f"webhook event {uuid} is {state[0]}: only a failed event can be "
                                                "ignored")
        conn.execute(update(webhook_events).where(w.integration == integration, w.uuid == uuid, w.status == "failed")
                     .values(status="ignored", reason=shown, processed_at=now))
        conn.execute(record_quarantine.insert(), [_entry(integration, WEBHOOK_RECORD_TYPE, uuid, "ignore", by, now,
                                                         why, state[1])])
    return shown


def undo_webhook(ledger: SyncLedger, integration: str, uuid: str, *, by: str, reason: str | None = None,
                 now: datetime | None = None) -> str | None:
    """Take an ignored webhook event back: ``failed`` with its failure reason (returned), retried by the next
    inbound run. Only an event someone ignored: one possync found nothing to do for stays as it is."""
    now = now or datetime.now(UTC)
    w = webhook_events.c
    with ledger._write() as conn:
        state = _webhook_state(conn, integration, uuid)
        if state is None:
            raise QuarantineRefused("missing", f"{integration} has no webhook event {uuid!r}")
        last = _last_ignore(conn, integration, WEBHOOK_RECORD_TYPE, uuid) if state[0] == "ignored" else None
        if last is None:
            raise QuarantineRefused("conflict", f"webhook event {uuid} is {state[0]} and was not ignored by anyone: "
                                                "there is nothing to undo")
        conn.execute(update(webhook_events).where(w.integration == integration, w.uuid == uuid)
                     .values(status="failed", reason=last.failure_reason, processed_at=None))
        conn.execute(record_quarantine.insert(), [_entry(
            integration, WEBHOOK_RECORD_TYPE, uuid, "undo", by, now, (reason or "").strip()[:REASON_MAX] or None,
            None)])
    return last.failure_reason


def _last_ignore(conn: Any, integration: str, record_type: str, key: str) -> Any:
    """The latest history row of a key when it is an ``ignore`` (not undone since), else None."""
    q = record_quarantine.c
    row = conn.execute(select(q.action, q.failure_reason, q.actor, q.at, q.reason).where(
        q.integration == integration, q.record_type == record_type, q.business_key == key)
        .order_by(q.at.desc(), q.id.desc()).limit(1)).first()
    return row if row is not None and row.action == "ignore" else None


def ignored_webhooks(ledger: SyncLedger, integration: str, uuids: list[str]) -> dict[str, QuarantineEntry]:
    """Of these webhook events, the ones someone ignored (not undone since): uuid → that ignore."""
    found: dict[str, QuarantineEntry] = {}
    if not uuids:
        return found
    q = record_quarantine.c
    query = (select(q.integration, q.record_type, q.business_key, q.action, q.actor, q.at, q.reason,
                    q.failure_reason)
             .where(q.integration == integration, q.record_type == WEBHOOK_RECORD_TYPE, q.business_key.in_(uuids))
             .order_by(q.at, q.id))
    with ledger.engine.connect() as conn:
        for row in conn.execute(query):
            entry = QuarantineEntry(*row)
            if entry.action == "ignore":
                found[entry.key] = entry
            else:
                found.pop(entry.key, None)
    return found
