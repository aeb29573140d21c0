"""The sync ledger: what every sync did to every record, and what the targets assigned.

Loaders ask the ledger which keys are already synced before they send, record one outcome per record
after, and the Sync Status page and the "sync refresh" read it back. Two Airflow runs can overlap (a
backfill next to the schedule, a retry next to a manual sync), so every write is one short
transaction whose merge rules live inside a single ``INSERT ... ON CONFLICT DO UPDATE`` statement: the
database applies them row by row against the latest committed row, so concurrent writers never lose
an update, never duplicate a record and never trip over each other's inserts.

Merge rules for ``SyncLedger.record`` (the row in the ledger is *old*, the outcome is *new*):

- ``attempts`` counts load attempts: +1 for every ``synced`` or ``failed`` outcome, +0 for
  ``pending`` and ``skipped``. Every load attempt counts, including one that does not change a synced
  record (below), so the figure is the true number of times a record was sent.
- A ``synced`` record is not downgraded by a ``failed``/``pending``/``skipped`` outcome for the same
  content (same ``content_hash``, or the outcome carries none): an overlapping run that saw "already
  exists" must not turn a success red. Status, target ids, reason, synced_at, run refs and
  last_attempt_at stay; only ``updated_at`` moves (and a missing target id is filled in).
- If the content changed (a different ``content_hash``) the new outcome replaces the status, so the
  record is re-synced; target ids are kept when the outcome brings none, so the loader knows which
  target document to update.
- ``synced`` clears ``reason`` and sets ``synced_at`` (kept from the first sync when the content is
  unchanged); other outcomes store their own ``reason``. ``first_seen_at`` is set on insert only;
  ``target_id``/``target_number`` are ``coalesce(new, old)``.
- ``failing_since`` is when the record first failed for its current reason, ``failure_key`` that reason without
  its volatile parts (``possync.ledger.reasons``). A ``failed`` outcome keeps the old ``failing_since`` when the
  record was already failing with the same key (and was at most staged again as ``pending`` since), and starts it
  at this write otherwise; ``pending`` keeps both; ``synced`` and ``skipped`` clear them. ``failing_run`` (the DAG
  run of the write that started the failure) goes with ``failing_since``. ``record`` returns each failed outcome's
  ``Failing``: since when, and whether the failure is new to this run (``possync.ledger.reasons``).
- ``target_hash`` (the content of the version the target holds) becomes the outcome's ``content_hash`` on
  ``synced`` and is kept otherwise: staging a changed record replaces its content and status but not what the
  target holds, so the change is found (``possync.changes``) until ``SyncLedger.reverse`` records that the
  target's document was deleted. Every ``synced`` outcome and every reversal also appends a row to
  ``sync_record_versions``.
- An ``ignored`` record (a failure someone set aside, ``ledger/quarantine.py``) stays ignored, like a synced
  one stays synced, for an outcome of the same content (same ``content_hash``, or none): a run that reads it
  again does not reopen it. An outcome of *different* content (the record was repaired in the POS: a record
  refused before it became a document has no hash, so its first document counts as different), or a
  ``synced`` one, reopens it: it takes the outcome's status, its ``ignored_*`` columns are cleared and a
  ``reopen`` row is added to ``record_quarantine``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Insert, and_, case, func, null, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, Row

from possync.ledger.reasons import Failing, failure_key, run_key
from possync.ledger.schema import (
    STATUSES,
    create_schema,
    record_quarantine,
    sync_id_maps,
    sync_record_versions,
    sync_records,
    sync_watermarks,
)

Status = Literal["pending", "synced", "failed", "skipped", "ignored"]  # the same as schema.STATUSES

LOAD_ATTEMPT_STATUSES: frozenset[str] = frozenset({"synced", "failed"})
UNSYNCED_STATUSES: tuple[Status, ...] = ("pending", "failed")

# Rows per INSERT statement: enough to amortise the round trip and the planning; bigger statements gained
# nothing in bench/bench_ledger.py. SQLite may cap it lower (its variable limit).
UPSERT_CHUNK_ROWS = 1000
# Keys per IN (...) list: well under SQLite's oldest variable limit (999) and short to plan.
LOOKUP_CHUNK_KEYS = 500


@dataclass(frozen=True, slots=True)
class RunRef:
    """The Airflow task attempt that wrote an outcome (``None`` in its place for CLI writes)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    try_number: int = 1

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> RunRef:
        """The run reference of the running task, from an Airflow task context."""
        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        return cls(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            map_index=-1 if map_index is None else int(map_index),
            try_number=int(getattr(ti, "try_number", 1) or 1),
        )


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What one sync step concluded about one record (see the module docstring for the merge rules).

    ``key`` is the business key (the POS number); ``business_time`` must be timezone-aware.
    """

    record_type: str
    key: str
    flow: str
    status: Status
    content_hash: str | None = None
    outlet_code: str | None = None
    business_time: datetime | None = None
    target_id: str | None = None
    target_number: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"{self.record_type} {self.key}: status {self.status!r} is not in {STATUSES}")
        if self.business_time is not None and self.business_time.tzinfo is None:
            raise ValueError(f"{self.record_type} {self.key}: business_time {self.business_time!r} is naive")


@dataclass(frozen=True, slots=True)
class RecordVersion:
    """One version of a record the target was given (``posted``), or its removal (``reversed``)."""

    event: str
    content_hash: str | None
    target_id: str | None
    target_number: str | None
    reason: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One record as the ledger holds it; every datetime is timezone-aware UTC."""

    integration: str
    record_type: str
    key: str
    flow: str
    status: Status
    outlet_code: str | None
    business_time: datetime | None
    content_hash: str | None
    target_id: str | None
    target_number: str | None
    reason: str | None
    attempts: int
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    map_index: int | None
    try_number: int | None
    first_seen_at: datetime
    last_attempt_at: datetime | None
    synced_at: datetime | None
    updated_at: datetime
    #: the content hash of the version the target holds, None when it holds none
    target_hash: str | None = None
    #: when the record first failed for its current reason; None unless it is failing (or staged again since)
    failing_since: datetime | None = None
    #: who set the record aside (status ``ignored``), when and why; None otherwise
    ignored_by: str | None = None
    ignored_at: datetime | None = None
    ignored_reason: str | None = None

    @property
    def changed_since_sync(self) -> bool:
        """The target holds a version of this record, and the POS content staged since differs from it."""
        return self.target_hash is not None and self.content_hash not in (None, self.target_hash)

    @property
    def run(self) -> RunRef | None:
        """The Airflow task attempt that last changed this record, if it was written by one."""
        if self.dag_id is None or self.run_id is None or self.task_id is None:
            return None
        return RunRef(
            self.dag_id,
            self.run_id,
            self.task_id,
            -1 if self.map_index is None else self.map_index,
            1 if self.try_number is None else self.try_number,
        )


@dataclass(frozen=True, slots=True)
class Reversal:
    """A record whose document the target no longer holds, and what it becomes: ``pending`` (to be posted
    again, as it now is in the POS) or ``skipped`` (nothing to post: voided), with the reason."""

    record: LedgerRecord
    status: Status
    reason: str
    content_hash: str | None = None  # the POS content now, when known


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Equal amounts hash equal whatever their scale ("10.0" and "10.00"); any change, even one
        # sen, changes the string.
        return "0" if value.is_zero() else format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        # The offset stays in: an outlet moved to another timezone changes its business dates.
        return value.isoformat()
    raise TypeError(f"cannot hash a {type(value).__name__} in a ledger document: {value!r}")


def content_hash(document: Any) -> str:
    """The sha256 hex digest of a document's canonical JSON: same content, same hash, in any process.

    ``document`` is a dataclass instance (a ``possync.documents`` document) or a mapping. Decimals are
    written as normalised strings, datetimes and dates in ISO format, keys sorted.
    """
    if is_dataclass(document) and not isinstance(document, type):
        data: Any = asdict(document)
    elif isinstance(document, Mapping):
        data = dict(document)
    else:
        raise TypeError(f"content_hash needs a dataclass or a mapping, not {type(document).__name__}")
    text = json.dumps(data, default=_canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{what} {value!r} is naive; pass a timezone-aware datetime")
    return value.astimezone(UTC)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SyncLedger:
    """Per-record sync status, id maps and watermarks of every integration, in one database.

    Thread- and process-safe: build one per process (``from_url``) or share an Engine; each method
    is one short transaction.
    """

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"the sync ledger runs on SQLite or PostgreSQL, not {engine.dialect.name}")
        self.engine = engine
        self._record_stmt = self._record_upsert()
        self._id_map_stmt = self._id_map_upsert()

    @classmethod
    def from_url(cls, url: str | URL, *, ensure_schema: bool = False) -> SyncLedger:
        """A ledger on a new engine for ``url`` (SQLite gets WAL and a busy timeout)."""
        from possync.db import make_engine

        ledger = cls(make_engine(url))
        if ensure_schema:
            ledger.create_schema()
        return ledger

    def create_schema(self) -> None:
        """Create the ledger tables if they are missing."""
        create_schema(self.engine)

    def dispose(self) -> None:
        """Close the engine's pooled connections."""
        self.engine.dispose()

    # -- writes -----------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Generator[Connection, None, None]:
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # Take the write lock up front (waiting on busy_timeout) rather than upgrading a read
                # snapshot later, which SQLite refuses at once with "database is locked" when another
                # writer committed in between.
                dbapi = conn.connection.dbapi_connection
                if dbapi is not None and not dbapi.in_transaction:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    def _insert(self) -> Callable[[Any], Any]:
        return postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    def _upsert(self, conn: Connection, stmt: Insert, rows: Sequence[Mapping[str, Any]],
                returning: Sequence[Any] = ()) -> list[Row[Any]]:
        """Run an upsert over ``rows``: one multi-row ``INSERT ... ON CONFLICT`` statement per chunk.

        The rows go to SQLAlchemy as an executemany of a statement built once; with RETURNING it
        renders each page as a single multi-row INSERT ("insertmanyvalues") on SQLite and PostgreSQL
        alike, and the statement is compiled once. A literal ``.values([...])`` per chunk would be
        recompiled on every call: about 0.7 s per 1000 rows. Returns the ``returning`` columns of every row.
        """
        max_rows = self._max_rows(conn, len(rows[0]))
        table = stmt.table
        batched = stmt.returning(*(returning or [table.c.id])).execution_options(insertmanyvalues_page_size=max_rows)
        returned: list[Row[Any]] = []
        for chunk in _chunks(rows, max_rows):
            result = conn.execute(batched, list(chunk))
            if returning:
                returned.extend(result.all())
        return returned

    def _max_rows(self, conn: Connection, columns: int) -> int:
        if conn.dialect.name != "sqlite":
            return UPSERT_CHUNK_ROWS
        dbapi = conn.connection.dbapi_connection
        try:
            limit = dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
        except AttributeError:  # Python < 3.11 has no getlimit: assume the historical minimum
            limit = 999
        return max(1, min(UPSERT_CHUNK_ROWS, limit // columns))

    def record(
        self, integration: str, outcomes: Iterable[RecordOutcome], run: RunRef | None = None
    ) -> dict[tuple[str, str], Failing | None]:
        """Upsert a batch of outcomes in one transaction (merge rules: see the module docstring).

        Returns, for each ``failed`` outcome's (record type, key), since when the record has been failing for
        this reason and whether that failure is new to ``run`` (started by this write or by an earlier write of
        the same DAG run), ``None`` when the failure was not stored (a synced or ignored record kept).

        Rows are written in key order so two PostgreSQL transactions over overlapping keys lock them
        in the same order and cannot deadlock. An outcome repeated for the same record in one batch
        is applied in a later statement, in the order given, as if recorded one after the other.
        """
        outcomes = list(outcomes)
        if not outcomes:
            return {}
        now = _utcnow()
        rounds: list[list[dict[str, Any]]] = []
        seen: dict[tuple[str, str], int] = {}
        for outcome in outcomes:
            identity = (outcome.record_type, outcome.key)
            occurrence = seen.get(identity, 0)
            seen[identity] = occurrence + 1
            if occurrence == len(rounds):
                rounds.append([])
            rounds[occurrence].append(self._record_row(integration, outcome, run, now))
        versions = [self._version_row(integration, "posted", outcome.record_type, outcome.key, outcome.content_hash,
                                      outcome.target_id, outcome.target_number, None, run, now)
                    for outcome in outcomes if outcome.status == "synced"]
        failed = {(outcome.record_type, outcome.key) for outcome in outcomes if outcome.status == "failed"}
        c = sync_records.c
        this_run = run_key(run.dag_id, run.run_id) if run else None
        failing: dict[tuple[str, str], Failing | None] = {}
        with self._write() as conn:
            reopened = self._reopened(conn, integration, outcomes, run, now)
            for rows in rounds:
                rows.sort(key=lambda row: (row["record_type"], row["business_key"]))
                returned = self._upsert(conn, self._record_stmt, rows, returning=(
                    c.record_type, c.business_key, c.status, c.failing_since, c.failing_run))
                for record_type, key, status, since, since_run in returned:
                    if (record_type, key) not in failed:
                        continue
                    failing[record_type, key] = None if status != "failed" or since is None else Failing(
                        since, new=since == now or (this_run is not None and since_run == this_run))
            if versions:
                conn.execute(sync_record_versions.insert(), versions)
            if reopened:
                conn.execute(record_quarantine.insert(), reopened)
        return failing

    @staticmethod
    def _reopened(conn: Connection, integration: str, outcomes: Sequence[RecordOutcome], run: RunRef | None,
                  now: datetime) -> list[dict[str, Any]]:
        """The ``reopen`` history rows of the ignored records these outcomes take out of quarantine (see the
        module docstring). Ignored records are few: one indexed read of them per batch."""
        c = sync_records.c
        ignored = {(t, k): h for t, k, h in conn.execute(
            select(c.record_type, c.business_key, c.content_hash).where(
                c.integration == integration, c.status == "ignored"))}
        rows: list[dict[str, Any]] = []
        if not ignored:
            return rows
        for outcome in outcomes:
            identity = (outcome.record_type, outcome.key)
            if identity not in ignored:
                continue
            old_hash = ignored[identity]
            if outcome.status == "synced":
                why = "synced"
            elif outcome.content_hash is not None and outcome.content_hash != old_hash:
                why = f"changed in the POS since it was ignored: {outcome.status} again"
            else:
                continue
            del ignored[identity]
            rows.append({"integration": integration, "record_type": outcome.record_type,
                         "business_key": outcome.key, "action": "reopen",
                         "actor": run.dag_id if run else "possync", "at": now, "reason": why,
                         "failure_reason": None, "content_hash": outcome.content_hash})
        return rows

    @staticmethod
    def _version_row(integration: str, event: str, record_type: str, key: str, content: str | None,
                     target_id: str | None, target_number: str | None, reason: str | None, run: RunRef | None,
                     now: datetime) -> dict[str, Any]:
        return {
            "integration": integration, "record_type": record_type, "business_key": key, "event": event,
            "content_hash": content, "target_id": target_id, "target_number": target_number, "reason": reason,
            "dag_id": run.dag_id if run else None, "run_id": run.run_id if run else None,
            "task_id": run.task_id if run else None, "at": now,
        }

    def reverse(self, integration: str, reversals: Iterable[Reversal], run: RunRef | None = None) -> None:
        """Record that the target no longer holds these records' documents (deleted there, because the POS
        changed or voided them after sync): each gets its new status and reason, loses its target id and
        target hash, and a ``reversed`` version naming the document that was removed."""
        reversals = list(reversals)
        if not reversals:
            return
        now = _utcnow()
        c = sync_records.c
        with self._write() as conn:
            for reversal in sorted(reversals, key=lambda r: (r.record.record_type, r.record.key)):
                record = reversal.record
                conn.execute(
                    sync_records.update()
                    .where(c.integration == integration, c.record_type == record.record_type,
                           c.business_key == record.key)
                    .values(
                        status=reversal.status, reason=reversal.reason, target_id=None, target_number=None,
                        target_hash=None, content_hash=func.coalesce(reversal.content_hash, c.content_hash),
                        synced_at=None, updated_at=now,
                        dag_id=run.dag_id if run else None, run_id=run.run_id if run else None,
                        task_id=run.task_id if run else None, map_index=run.map_index if run else None,
                        try_number=run.try_number if run else None,
                    )
                )
                conn.execute(sync_record_versions.insert(), [self._version_row(
                    integration, "reversed", record.record_type, record.key, record.target_hash, record.target_id,
                    record.target_number, reversal.reason, run, now)])

    def versions(self, integration: str, record_type: str, key: str) -> list[RecordVersion]:
        """Every version of a record the target was given or had removed, oldest first."""
        c = sync_record_versions.c
        query = (select(c.event, c.content_hash, c.target_id, c.target_number, c.reason, c.at)
                 .where(c.integration == integration, c.record_type == record_type, c.business_key == key)
                 .order_by(c.at, c.id))
        with self.engine.connect() as conn:
            return [RecordVersion(*row) for row in conn.execute(query)]

    @staticmethod
    def _record_row(
        integration: str, outcome: RecordOutcome, run: RunRef | None, now: datetime
    ) -> dict[str, Any]:
        attempted = outcome.status in LOAD_ATTEMPT_STATUSES
        synced = outcome.status == "synced"
        failed = outcome.status == "failed"
        return {
            "integration": integration,
            "record_type": outcome.record_type,
            "business_key": outcome.key,
            "flow": outcome.flow,
            "outlet_code": outcome.outlet_code,
            "business_time": outcome.business_time,
            "content_hash": outcome.content_hash,
            "target_hash": outcome.content_hash if synced else None,
            "status": outcome.status,
            "target_id": outcome.target_id,
            "target_number": outcome.target_number,
            "reason": None if synced else outcome.reason,
            "failing_since": now if failed else None,
            "failure_key": failure_key(outcome.reason) if failed else None,
            "failing_run": run_key(run.dag_id, run.run_id) if failed and run else None,
            "attempts": 1 if attempted else 0,
            "dag_id": run.dag_id if run else None,
            "run_id": run.run_id if run else None,
            "task_id": run.task_id if run else None,
            "map_index": run.map_index if run else None,
            "try_number": run.try_number if run else None,
            "first_seen_at": now,
            "last_attempt_at": now if attempted else None,
            "synced_at": now if synced else None,
            "updated_at": now,
        }

    def _record_upsert(self) -> Insert:
        stmt = self._insert()(sync_records)
        old, new = sync_records.c, stmt.excluded
        # An outcome without a hash says nothing about the content, so it cannot re-open a synced record.
        same_content = or_(
            new.content_hash.is_(None), old.content_hash.is_not_distinct_from(new.content_hash)
        )
        # a synced record stays synced, and an ignored one ignored, for an outcome of the same content
        keep = and_(or_(old.status == "synced", old.status == "ignored"), new.status != "synced", same_content)

        def unless_kept(value: ColumnElement[Any], column: str) -> ColumnElement[Any]:
            return case((keep, old[column]), else_=value)

        updates: dict[str, Any] = {
            "status": unless_kept(new.status, "status"),
            "flow": unless_kept(new.flow, "flow"),
            "outlet_code": unless_kept(func.coalesce(new.outlet_code, old.outlet_code), "outlet_code"),
            "business_time": unless_kept(
                func.coalesce(new.business_time, old.business_time), "business_time"
            ),
            "content_hash": unless_kept(func.coalesce(new.content_hash, old.content_hash), "content_hash"),
            "target_hash": case((new.status == "synced", new.target_hash), else_=old.target_hash),
            "target_id": case(
                (keep, func.coalesce(old.target_id, new.target_id)),
                else_=func.coalesce(new.target_id, old.target_id),
            ),
            "target_number": case(
                (keep, func.coalesce(old.target_number, new.target_number)),
                else_=func.coalesce(new.target_number, old.target_number),
            ),
            "reason": unless_kept(new.reason, "reason"),
            # failing since: kept while the same failure goes on (or the record waits, staged again, for its
            # retry), restarted by another reason, cleared when it syncs or is skipped
            "failing_since": case(
                (or_(keep, new.status == "pending"), old.failing_since),
                (and_(new.status == "failed", old.failing_since.is_not(None), old.failure_key == new.failure_key),
                 old.failing_since),
                (new.status == "failed", new.failing_since),
                else_=null(),
            ),
            "failure_key": case(
                (or_(keep, new.status == "pending"), old.failure_key),
                (new.status == "failed", new.failure_key),
                else_=null(),
            ),
            "failing_run": case(
                (or_(keep, new.status == "pending"), old.failing_run),
                (and_(new.status == "failed", old.failing_since.is_not(None), old.failure_key == new.failure_key),
                 old.failing_run),
                (new.status == "failed", new.failing_run),
                else_=null(),
            ),
            "attempts": old.attempts + new.attempts,
            "last_attempt_at": unless_kept(
                func.coalesce(new.last_attempt_at, old.last_attempt_at), "last_attempt_at"
            ),
            "synced_at": case(
                (and_(new.status == "synced", old.status == "synced", same_content), old.synced_at),
                (new.status == "synced", new.synced_at),
                else_=old.synced_at,
            ),
            "updated_at": new.updated_at,
        }
        for column in ("dag_id", "run_id", "task_id", "map_index", "try_number"):
            updates[column] = unless_kept(new[column], column)
        for column in ("ignored_by", "ignored_at", "ignored_reason"):  # NULL unless it stays ignored
            updates[column] = case((keep, old[column]), else_=null())
        return stmt.on_conflict_do_update(
            index_elements=["integration", "record_type", "business_key"], set_=updates
        )

    # -- record reads -----------------------------------------------------------------------------

    @staticmethod
    def _to_record(row: Row[Any]) -> LedgerRecord:
        m = row._mapping
        return LedgerRecord(
            integration=m["integration"],
            record_type=m["record_type"],
            key=m["business_key"],
            flow=m["flow"],
            status=m["status"],
            outlet_code=m["outlet_code"],
            business_time=m["business_time"],
            content_hash=m["content_hash"],
            target_id=m["target_id"],
            target_number=m["target_number"],
            reason=m["reason"],
            attempts=m["attempts"],
            dag_id=m["dag_id"],
            run_id=m["run_id"],
            task_id=m["task_id"],
            map_index=m["map_index"],
            try_number=m["try_number"],
            first_seen_at=m["first_seen_at"],
            last_attempt_at=m["last_attempt_at"],
            synced_at=m["synced_at"],
            updated_at=m["updated_at"],
            target_hash=m["target_hash"],
            failing_since=m["failing_since"],
            ignored_by=m["ignored_by"],
            ignored_at=m["ignored_at"],
            ignored_reason=m["ignored_reason"],
        )

    _record_columns = [c for c in sync_records.c if c.name != "id"]

    def get(self, integration: str, record_type: str, key: str) -> LedgerRecord | None:
        """One record, or ``None`` if the ledger has never seen it."""
        query = select(*self._record_columns).where(
            sync_records.c.integration == integration,
            sync_records.c.record_type == record_type,
            sync_records.c.business_key == key,
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else self._to_record(row)

    def lookup(self, integration: str, record_type: str, keys: Iterable[str]) -> dict[str, LedgerRecord]:
        """The records the ledger holds among ``keys``, by key (keys it has never seen are absent)."""
        wanted = sorted(set(keys))
        found: dict[str, LedgerRecord] = {}
        if not wanted:
            return found
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted, LOOKUP_CHUNK_KEYS):
                query = select(*self._record_columns).where(
                    sync_records.c.integration == integration,
                    sync_records.c.record_type == record_type,
                    sync_records.c.business_key.in_(chunk),
                )
                for row in conn.execute(query):
                    record = self._to_record(row)
                    found[record.key] = record
        return found

    def with_key_prefix(self, integration: str, record_type: str, prefix: str, *,
                        conn: Connection | None = None) -> list[LedgerRecord]:
        """The records whose key starts with ``prefix`` (an order's payments: ``"<order number>/P"``); read in
        ``conn``'s transaction when given."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        c = sync_records.c
        query = select(*self._record_columns).where(
            c.integration == integration, c.record_type == record_type,
            c.business_key.like(escaped + "%", escape="\\"),
        ).order_by(c.business_key)
        if conn is not None:
            return [self._to_record(row) for row in conn.execute(query)]
        with self.engine.connect() as own:
            return [self._to_record(row) for row in own.execute(query)]

    def unsynced(
        self,
        integration: str,
        flow: str,
        *,
        statuses: Iterable[Status] = UNSYNCED_STATUSES,
        record_types: Iterable[str] | None = None,
        outlet_code: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        key_prefix: str | None = None,
    ) -> list[LedgerRecord]:
        """Records of a flow still to sync, oldest first (business_time, then key), for the sync refresh; with
        ``key_prefix``, only those whose key starts with it (an outlet's day summaries: ``"SUM/JKT01/"``).

        Later records can depend on earlier ones (a payment on its invoice, a transfer-in on its
        transfer-out), so retries go oldest first; records without a business time (master data such
        as customers and items) come before all others. ``since`` is inclusive, ``until`` exclusive,
        like an Airflow data interval; with either set, records without a business time are left out.
        """
        statuses = tuple(statuses)
        unknown = set(statuses) - set(STATUSES)
        if unknown:
            raise ValueError(f"unknown statuses {sorted(unknown)}; expected some of {STATUSES}")
        c = sync_records.c
        query = select(*self._record_columns).where(
            c.integration == integration, c.flow == flow, c.status.in_(statuses)
        )
        if record_types is not None:
            query = query.where(c.record_type.in_(tuple(record_types)))
        if outlet_code is not None:
            query = query.where(c.outlet_code == outlet_code)
        if key_prefix is not None:
            escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(c.business_key.like(escaped + "%", escape="\\"))
        if since is not None:
            query = query.where(c.business_time >= _aware(since, "since"))
        if until is not None:
            query = query.where(c.business_time < _aware(until, "until"))
        query = query.order_by(c.business_time.asc().nulls_first(), c.business_key, c.record_type)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [self._to_record(row) for row in conn.execute(query)]

    def counts(self, integration: str, flow: str | None = None) -> dict[str, int]:
        """How many records are in each status (every status present, zero when none)."""
        c = sync_records.c
        query = select(c.status, func.count()).where(c.integration == integration).group_by(c.status)
        if flow is not None:
            query = query.where(c.flow == flow)
        result = dict.fromkeys(STATUSES, 0)
        with self.engine.connect() as conn:
            for status, count in conn.execute(query):
                result[status] = int(count)
        return result

    def breakdown(self, integration: str | None = None) -> list[tuple[str, str, str, str, int]]:
        """Record counts by (integration, flow, record type, status), for status reports."""
        c = sync_records.c
        query = (
            select(c.integration, c.flow, c.record_type, c.status, func.count())
            .group_by(c.integration, c.flow, c.record_type, c.status)
            .order_by(c.integration, c.flow, c.record_type, c.status)
        )
        if integration is not None:
            query = query.where(c.integration == integration)
        with self.engine.connect() as conn:
            return [(i, f, t, s, int(n)) for i, f, t, s, n in conn.execute(query)]

    # -- id maps ----------------------------------------------------------------------------------

    def set_id_maps(self, integration: str, kind: str, mapping: Mapping[str, tuple[str, str | None]]) -> None:
        """Remember (or replace) which target id and number each POS key of ``kind`` maps to."""
        if not mapping:
            return
        now = _utcnow()
        rows = [
            {
                "integration": integration,
                "kind": kind,
                "pos_key": pos_key,
                "target_id": target_id,
                "target_number": target_number,
                "updated_at": now,
            }
            for pos_key, (target_id, target_number) in sorted(mapping.items())
        ]
        with self._write() as conn:
            self._upsert(conn, self._id_map_stmt, rows)

    def _id_map_upsert(self) -> Insert:
        stmt = self._insert()(sync_id_maps)
        return stmt.on_conflict_do_update(
            index_elements=["integration", "kind", "pos_key"],
            set_={
                "target_id": stmt.excluded.target_id,
                "target_number": stmt.excluded.target_number,
                "updated_at": stmt.excluded.updated_at,
            },
        )

    def id_maps(
        self, integration: str, kind: str, pos_keys: Iterable[str] | None = None
    ) -> dict[str, tuple[str, str | None]]:
        """POS key -> (target id, target number) for ``kind``; all of them, or only ``pos_keys``."""
        c = sync_id_maps.c
        base = select(c.pos_key, c.target_id, c.target_number).where(
            c.integration == integration, c.kind == kind
        )
        result: dict[str, tuple[str, str | None]] = {}
        with self.engine.connect() as conn:
            if pos_keys is None:
                queries: Iterable[Any] = [base]
            else:
                wanted = sorted(set(pos_keys))
                queries = (base.where(c.pos_key.in_(chunk)) for chunk in _chunks(wanted, LOOKUP_CHUNK_KEYS))
            for query in queries:
                for pos_key, target_id, target_number in conn.execute(query):
                    result[pos_key] = (target_id, target_number)
        return result

    # -- watermarks -------------------------------------------------------------------------------

    def watermark(self, integration: str, flow: str, name: str) -> datetime | None:
        """The stored watermark, or ``None`` if it was never set."""
        c = sync_watermarks.c
        query = select(c.value).where(c.integration == integration, c.flow == flow, c.name == name)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def advance_watermark(self, integration: str, flow: str, name: str, value: datetime) -> datetime:
        """Move a watermark forward to ``value`` (never back) and return the value now stored.

        The max is taken in the statement itself, so two runs advancing at once end at the later one.
        """
        value = _aware(value, "watermark")
        stmt = self._insert()(sync_watermarks).values(
            integration=integration, flow=flow, name=name, value=value, updated_at=_utcnow()
        )
        old, new = sync_watermarks.c, stmt.excluded
        forward = new.value > old.value
        stmt = stmt.on_conflict_do_update(
            index_elements=["integration", "flow", "name"],
            set_={
                "value": case((forward, new.value), else_=old.value),
                "updated_at": case((forward, new.updated_at), else_=old.updated_at),
            },
        ).returning(sync_watermarks.c.value)
        with self._write() as conn:
            return conn.execute(stmt).scalar_one()
