"""The webhook log: every event a target pushed to us, its status and why.

    log = WebhookLog(engine)                                  # the sync ledger's engine
    new, duplicates = log.receive("accurate_demo", envelopes)  # the endpoint, once per delivery
    for event in log.pending("accurate_demo", limit=100):      # the inbound DAG: received + failed, oldest first
        ...; log.mark_processed(event.id) / log.mark_failed(event.id, reason) / log.mark_ignored(event.id, reason)
    log.events("accurate_demo", status="failed")               # the Sync Status page

Events are keyed by the sender's ``uuid`` per integration: a redelivery (Accurate retries until it gets a
2xx) is acknowledged and counted as a duplicate, never recorded twice. A failed event stays pending, so
every later run retries it ("sync refresh" once the cause is repaired). ``processed`` is final: a late
``mark_failed`` from an overlapping run never turns it red again, nor an ``ignored`` event (``quarantine.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import and_, case, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, Row

from possync.ledger.reasons import Failing, failure_key
from possync.ledger.schema import WEBHOOK_STATUSES, create_schema, webhook_events

WebhookStatus = Literal["received", "processed", "failed", "ignored"]
PENDING_STATUSES: tuple[WebhookStatus, ...] = ("received", "failed")
REASON_MAX = 2000


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: int
    integration: str
    uuid: str
    event_type: str
    database_id: str | None
    received_at: datetime
    status: WebhookStatus
    reason: str | None
    document_numbers: str | None
    attempts: int
    last_attempt_at: datetime | None
    processed_at: datetime | None
    payload: dict[str, Any]
    #: since when it has been failing for its current reason (None unless failed)
    failing_since: datetime | None = None

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The envelope's ``data`` entries (Accurate sends one or more per event)."""
        data = self.payload.get("data")
        if isinstance(data, list):
            return [entry for entry in data if isinstance(entry, dict)]
        return [data] if isinstance(data, dict) else []


def _document_numbers(envelope: Mapping[str, Any]) -> str | None:
    """Document numbers named in the entries: Accurate's ``<module>No`` fields (``receiveItemNo``)."""
    data = envelope.get("data")
    entries = data if isinstance(data, list) else [data]
    numbers: list[str] = []
    for entry in entries:
        if isinstance(entry, Mapping):
            for key, value in entry.items():
                if key.endswith("No") and value not in (None, "") and str(value) not in numbers:
                    numbers.append(str(value))
    return ", ".join(numbers) or None


def _event(row: Row[Any]) -> WebhookEvent:
    m = row._mapping
    try:
        payload = json.loads(m["payload"])
    except ValueError:
        payload = {}
    return WebhookEvent(
        id=m["id"],
        integration=m["integration"],
        uuid=m["uuid"],
        event_type=m["event_type"],
        database_id=m["database_id"],
        received_at=m["received_at"],
        status=m["status"],
        reason=m["reason"],
        document_numbers=m["document_numbers"],
        attempts=m["attempts"],
        last_attempt_at=m["last_attempt_at"],
        processed_at=m["processed_at"],
        payload=payload if isinstance(payload, dict) else {"data": payload},
        failing_since=m["failing_since"],
    )


class WebhookLog:
    """Webhook events of every integration, in the sync ledger database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, *, ensure_schema: bool = False, run: str | None = None) -> None:
        """``run``: the DAG run processing events (``possync.ledger.reasons.run_key``), whose failures are new to
        it when it started them (``mark_failed``)."""
        self.engine = engine
        self.run = run
        if ensure_schema:
            create_schema(engine)

    def _insert(self) -> Any:
        return postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    def receive(
        self, integration: str, envelopes: Iterable[Mapping[str, Any]], *, now: datetime | None = None
    ) -> tuple[int, int]:
        """Record the envelopes of one delivery; returns (new, duplicates). Each needs ``uuid`` and ``type``."""
        now = now or datetime.now(UTC)
        new = duplicates = 0
        insert = self._insert()
        seen: set[str] = set()
        with self.engine.begin() as conn:
            for envelope in envelopes:
                uuid = str(envelope["uuid"])
                if uuid in seen:
                    duplicates += 1
                    continue
                seen.add(uuid)
                database_id = envelope.get("databaseId")
                stmt = (
                    insert(webhook_events)
                    .values(
                        integration=integration,
                        uuid=uuid,
                        event_type=str(envelope["type"]),
                        database_id=None if database_id is None else str(database_id),
                        received_at=now,
                        status="received",
                        document_numbers=_document_numbers(envelope),
                        attempts=0,
                        payload=json.dumps(envelope, sort_keys=True, default=str),
                    )
                    .on_conflict_do_nothing(index_elements=["integration", "uuid"])
                    .returning(webhook_events.c.id)
                )
                if conn.execute(stmt).scalar() is None:
                    duplicates += 1
                else:
                    new += 1
        return new, duplicates

    def pending(self, integration: str, limit: int = 100) -> list[WebhookEvent]:
        """Events still to process (received, or failed and to be retried), oldest first."""
        query = (
            select(webhook_events)
            .where(webhook_events.c.integration == integration, webhook_events.c.status.in_(PENDING_STATUSES))
            .order_by(webhook_events.c.received_at, webhook_events.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(query)]

    def _mark(self, event_id: int, status: WebhookStatus, reason: str | None, now: datetime | None
              ) -> Failing | None:
        now = now or datetime.now(UTC)
        c = webhook_events.c
        values: dict[str, Any] = {
            "status": status,
            "reason": reason[:REASON_MAX] if reason else None,
            "attempts": c.attempts + 1,
            "last_attempt_at": now,
            "failing_since": None,
            "failure_key": None,
            "failing_run": None,
        }
        if status in ("processed", "ignored"):
            values["processed_at"] = now
        if status == "failed":  # the same failure goes on since it started; another reason starts anew
            key = failure_key(reason)
            values["failure_key"] = key
            going_on = and_(c.status == "failed", c.failing_since.is_not(None), c.failure_key == key)
            values["failing_since"] = case((going_on, c.failing_since), else_=literal(now, c.failing_since.type))
            values["failing_run"] = case((going_on, c.failing_run), else_=literal(self.run, c.failing_run.type))
        # processed is final; so is an event someone set aside (ignored) for a late failure of an overlapping run
        final = ("processed", "ignored") if status == "failed" else ("processed",)
        stmt = (
            update(webhook_events)
            .where(c.id == event_id, c.status.not_in(final))
            .values(**values)
            .returning(c.failing_since, c.failing_run)
        )
        with self.engine.begin() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None or row.failing_since is None:
            return None
        return Failing(row.failing_since, new=row.failing_since == now
                       or (self.run is not None and row.failing_run == self.run))

    def mark_processed(self, event_id: int, *, reason: str | None = None, now: datetime | None = None) -> None:
        """Done; ``reason`` may say what it did when that is not obvious (e.g. "already in the POS")."""
        self._mark(event_id, "processed", reason, now)

    def mark_failed(self, event_id: int, reason: str, *, now: datetime | None = None) -> Failing | None:
        """Could not be processed; stays pending and is retried by every later run. Returns since when the event
        has been failing for this reason and whether that is new to this log's run (None when it was processed or
        set aside meanwhile)."""
        return self._mark(event_id, "failed", reason, now)

    def mark_ignored(self, event_id: int, reason: str, *, now: datetime | None = None) -> None:
        """Nothing to do for this event (another event type, a delete); logged with why."""
        self._mark(event_id, "ignored", reason, now)

    def get(self, integration: str, uuid: str) -> WebhookEvent | None:
        query = select(webhook_events).where(
            webhook_events.c.integration == integration, webhook_events.c.uuid == uuid
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _event(row) if row is not None else None

    def events(
        self, integration: str, status: WebhookStatus | Sequence[WebhookStatus] | None = None, limit: int = 50,
        offset: int = 0,
    ) -> list[WebhookEvent]:
        """The log, newest first, optionally only some statuses (for the Sync Status page)."""
        query = select(webhook_events).where(webhook_events.c.integration == integration)
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            unknown = set(statuses) - set(WEBHOOK_STATUSES)
            if unknown:
                raise ValueError(f"unknown webhook status {sorted(unknown)}; use one of {WEBHOOK_STATUSES}")
            query = query.where(webhook_events.c.status.in_(statuses))
        query = query.order_by(webhook_events.c.received_at.desc(), webhook_events.c.id.desc())
        with self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(query.limit(limit).offset(offset))]

    def counts(self, integration: str) -> dict[str, int]:
        """Events per status (every status present, zero when none)."""
        query = (
            select(webhook_events.c.status, func.count())
            .where(webhook_events.c.integration == integration)
            .group_by(webhook_events.c.status)
        )
        with self.engine.connect() as conn:
            found = dict(conn.execute(query).all())
        return {status: int(found.get(status, 0)) for status in WEBHOOK_STATUSES}
