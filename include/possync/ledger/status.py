"""Reads behind the Sync Status page and ``possync status``: counts per flow and status, and pages of records.

A page is at most ``limit`` records, newest business time first (records without one, such as customers
and products, after those, newest first), filtered by integration, flow, status, outlet, business-time
range, business-key prefix or the task attempt that last wrote them. Pages are keyset-paged: the cursor is
the last record's (business time, id), so page 1,000 costs what page 1 costs, and every filter is served by
an index (``ledger/schema.py``), never a scan of the ledger.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from possync.ledger.schema import STATUSES, sync_records
from possync.ledger.store import LedgerRecord, SyncLedger, _aware

MAX_PAGE = 500


class BadQuery(ValueError):
    """A filter or cursor that cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class RecordQuery:
    integration: str | None = None
    flow: str | None = None
    status: str | None = None
    outlet: str | None = None
    since: datetime | None = None  # business time, inclusive
    until: datetime | None = None  # business time, exclusive
    key_prefix: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise BadQuery(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise BadQuery(f"{name} {value.isoformat()} is naive: give it a timezone")
        if self.since and self.until and self.since >= self.until:
            raise BadQuery(f"the date range is empty: {self.since.isoformat()} is not before {self.until.isoformat()}")


@dataclass(frozen=True, slots=True)
class Page:
    records: list[LedgerRecord]
    next_cursor: str | None  # pass it back for the next (older) page; None on the last page


def _encode(business_time: datetime | None, record_id: int) -> str:
    raw = json.dumps([business_time.isoformat() if business_time else None, record_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, record_id = json.loads(raw)
        return (datetime.fromisoformat(moment) if moment else None), int(record_id)
    except (ValueError, TypeError) as error:
        raise BadQuery(f"cursor {cursor!r} is not one this page handed out") from error


def _filters(query: RecordQuery) -> list[ColumnElement[bool]]:
    c = sync_records.c
    conditions: list[ColumnElement[bool]] = []
    for column, value in ((c.integration, query.integration), (c.flow, query.flow), (c.status, query.status),
                          (c.outlet_code, query.outlet), (c.dag_id, query.dag_id), (c.run_id, query.run_id),
                          (c.task_id, query.task_id), (c.map_index, query.map_index)):
        if value is not None:
            conditions.append(column == value)
    if query.since is not None:
        conditions.append(c.business_time >= _aware(query.since, "since"))
    if query.until is not None:
        conditions.append(c.business_time < _aware(query.until, "until"))
    if query.key_prefix:
        # a range on the key, not LIKE: it uses the key index on SQLite and PostgreSQL alike
        conditions.extend([c.business_key >= query.key_prefix, c.business_key < query.key_prefix + "\U0010ffff"])
    return conditions


def record_page(ledger: SyncLedger, query: RecordQuery, *, cursor: str | None = None, limit: int = 50) -> Page:
    """One page of records matching ``query``, newest business time first (see the module docstring)."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadQuery(f"limit must be 1 to {MAX_PAGE}, got {limit}")
    c = sync_records.c
    after_time, after_id = _decode(cursor) if cursor else (None, None)
    conditions = _filters(query)
    timed = query.since is not None or query.until is not None
    records: list[LedgerRecord] = []
    with ledger.engine.connect() as conn:
        if cursor is None or after_time is not None:  # phase 1: records with a business time
            where = [*conditions, c.business_time.is_not(None)]
            if after_time is not None:
                moment = _aware(after_time, "cursor")
                # "<=" first bounds the index range; the OR then only breaks ties on the cursor's own time
                where += [c.business_time <= moment, or_(c.business_time < moment, c.id < after_id)]
            stmt = (select(*ledger._record_columns, c.id).where(*where)
                    .order_by(c.business_time.desc(), c.id.desc()).limit(limit + 1))
            rows = conn.execute(stmt).all()
            records = [ledger._to_record(row) for row in rows[:limit]]
            if len(rows) > limit:
                last = rows[limit - 1]
                return Page(records, _encode(records[-1].business_time, last.id))
            after_id = None
        if timed:  # a business-time range excludes records without one
            return Page(records, None)
        room = limit - len(records)
        if room == 0:  # the timed records filled the page exactly: the untimed ones start the next
            return Page(records, _encode(None, 2**62))
        where = [*conditions, c.business_time.is_(None)]
        if after_id is not None:
            where.append(c.id < after_id)
        rows = conn.execute(select(*ledger._record_columns, c.id).where(*where)
                            .order_by(c.id.desc()).limit(room + 1)).all()
        records += [ledger._to_record(row) for row in rows[:room]]
        if len(rows) > room:
            return Page(records, _encode(None, rows[room - 1].id))
        return Page(records, None)


def flow_counts(ledger: SyncLedger, integration: str | None = None) -> dict[tuple[str, str], dict[str, int]]:
    """(integration, flow) → {status: records}, every status present (0 when none)."""
    c = sync_records.c
    stmt = select(c.integration, c.flow, c.status, func.count()).group_by(c.integration, c.flow, c.status)
    if integration is not None:
        stmt = stmt.where(c.integration == integration)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    with ledger.engine.connect() as conn:
        for name, flow, status, count in conn.execute(stmt):
            counts.setdefault((name, flow), dict.fromkeys(STATUSES, 0))[status] = count
    return dict(sorted(counts.items()))


def describe(record: LedgerRecord) -> dict[str, Any]:
    """A record as the JSON API and the page show it."""
    return {
        "integration": record.integration, "flow": record.flow, "record_type": record.record_type,
        "key": record.key, "outlet": record.outlet_code,
        "business_time": record.business_time.isoformat() if record.business_time else None,
        "status": record.status, "target_id": record.target_id, "target_number": record.target_number,
        "reason": record.reason, "attempts": record.attempts,
        "last_attempt_at": record.last_attempt_at.isoformat() if record.last_attempt_at else None,
        "failing_since": record.failing_since.isoformat() if record.failing_since and record.status == "failed"
        else None,
        "dag_id": record.dag_id, "run_id": record.run_id, "task_id": record.task_id,
        "map_index": record.map_index, "try_number": record.try_number,
        "ignored_by": record.ignored_by,
        "ignored_at": record.ignored_at.isoformat() if record.ignored_at else None,
        "ignored_reason": record.ignored_reason,
    }
