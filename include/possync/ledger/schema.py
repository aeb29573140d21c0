"""The sync ledger's tables: per-record sync status, id maps, watermarks, reconciliation results.

The ledger lives in its own database (SQLite in the demo and tests, PostgreSQL in production), so
these tables know nothing of the POS schema. Every time column is a UTC instant (``UTCDateTime``):
timezone-aware on PostgreSQL, naive-UTC text on SQLite, aware ``datetime`` in Python on both.

``sync_records`` is the table a Sync Status page reads over millions of rows; its indexes follow the
queries that page and the loaders run:

- ``uq_sync_records_key`` (integration, record_type, business_key): the upsert target and the
  loader's "which of these keys are already synced" lookup.
- ``ix_sync_records_flow_status_time`` (integration, flow, status, business_time): counts per flow
  and the oldest-first list of unsynced records ("sync refresh").
- ``ix_sync_records_status_attempt`` (integration, status, last_attempt_at): counts per integration
  and "what failed most recently".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.types import TypeDecorator

# ``ignored``: a failed record someone set aside with a reason (``ledger/quarantine.py``): not retried, not open
STATUSES = ("pending", "synced", "failed", "skipped", "ignored")
# Arbitrary but fixed: every process creating the ledger schema must take the same advisory lock.
_SCHEMA_LOCK_ID = 0x5059_4E43_4C45_4447 & 0x7FFF_FFFF_FFFF_FFFF

metadata = MetaData()


class UTCDateTime(TypeDecorator):
    """A UTC instant; naive datetimes are refused so no local time is stored unlabelled.

    SQLite has no timezone type: values are stored as naive UTC in SQLAlchemy's fixed-width text
    format, which sorts and compares chronologically, so ``max()``-style comparisons in SQL work.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: ledger times must carry a timezone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-numbers an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity for big ledgers.
_Id = BigInteger().with_variant(Integer(), "sqlite")

sync_records = Table(
    "sync_records",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("record_type", String(50), nullable=False),
    Column("business_key", String(200), nullable=False),
    Column("flow", String(50), nullable=False),
    Column("outlet_code", String(50)),
    Column("business_time", UTCDateTime()),
    Column("content_hash", String(64)),
    # the content hash of the version the target holds (NULL: it holds none): a record whose POS content no
    # longer hashes to it changed after sync, and the change still has to reach the target
    Column("target_hash", String(64)),
    Column("status", String(10), nullable=False),
    Column("target_id", String(100)),
    Column("target_number", String(100)),
    Column("reason", Text),
    # when the record first failed for its current reason (NULL unless it is failing; kept while it is staged
    # again as pending), and that reason without its volatile parts (``possync.ledger.reasons.failure_key``):
    # a failure with another key is a new failure, reported again
    Column("failing_since", UTCDateTime()),
    Column("failure_key", String(64)),
    # the DAG run (``dag_id/run_id``) whose write started the current failure: that run reports it (turns red),
    # later runs retry it quietly (``possync.ledger.reasons.Failing``); NULL for a failure begun outside a run
    Column("failing_run", String(500)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("dag_id", String(250)),
    Column("run_id", String(250)),
    Column("task_id", String(250)),
    Column("map_index", Integer),
    Column("try_number", Integer),
    Column("first_seen_at", UTCDateTime(), nullable=False),
    Column("last_attempt_at", UTCDateTime()),
    Column("synced_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
    # who set the record aside (status ``ignored``), when and why; NULL otherwise (the history: record_quarantine)
    Column("ignored_by", String(250)),
    Column("ignored_at", UTCDateTime()),
    Column("ignored_reason", Text),
    UniqueConstraint("integration", "record_type", "business_key", name="uq_sync_records_key"),
    CheckConstraint(f"status IN {STATUSES!r}", name="ck_sync_records_status"),
    CheckConstraint("attempts >= 0", name="ck_sync_records_attempts"),
    Index("ix_sync_records_flow_status_time", "integration", "flow", "status", "business_time"),
    Index("ix_sync_records_status_attempt", "integration", "status", "last_attempt_at"),
    # the Sync Status page: a flow's records by time whatever their status, a key prefix, what a task wrote
    Index("ix_sync_records_time", "integration", "business_time"),
    Index("ix_sync_records_flow_time", "integration", "flow", "business_time"),
    Index("ix_sync_records_key_prefix", "integration", "business_key"),
    Index("ix_sync_records_run", "dag_id", "run_id", "task_id", "map_index", "business_time"),
)

sync_id_maps = Table(
    "sync_id_maps",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("pos_key", String(200), nullable=False),
    Column("target_id", String(100), nullable=False),
    Column("target_number", String(100)),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("integration", "kind", "pos_key", name="uq_sync_id_maps_key"),
)

sync_watermarks = Table(
    "sync_watermarks",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("flow", String(50), nullable=False),
    Column("name", String(100), nullable=False),
    Column("value", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("integration", "flow", "name", name="uq_sync_watermarks_key"),
)


VERSION_EVENTS = ("posted", "reversed")

# Every version of a record the target was given, and every reversal of one: what the books held when. Append
# only; ``sync_records`` keeps the current state.
sync_record_versions = Table(
    "sync_record_versions",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("record_type", String(50), nullable=False),
    Column("business_key", String(200), nullable=False),
    Column("event", String(10), nullable=False),
    Column("content_hash", String(64)),
    Column("target_id", String(100)),
    Column("target_number", String(100)),
    Column("reason", Text),
    Column("dag_id", String(250)),
    Column("run_id", String(250)),
    Column("task_id", String(250)),
    Column("at", UTCDateTime(), nullable=False),
    CheckConstraint(f"event IN {VERSION_EVENTS!r}", name="ck_sync_record_versions_event"),
    Index("ix_sync_record_versions_key", "integration", "record_type", "business_key", "at"),
)


WEBHOOK_STATUSES = ("received", "processed", "failed", "ignored")

# Every webhook delivery event a target sent us (Accurate's envelopes), once per uuid: the webhook log ops
# read on the Sync Status page, and the queue the inbound DAG works through (received + failed, oldest first).
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("uuid", String(64), nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("database_id", String(40)),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("status", String(10), nullable=False),
    Column("reason", Text),
    # the document number(s) the event names, comma-separated (e.g. "RI.2026.12.00001")
    Column("document_numbers", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_attempt_at", UTCDateTime()),
    # as in sync_records: since when the event has been failing for its current reason, and that reason's key
    Column("failing_since", UTCDateTime()),
    Column("failure_key", String(64)),
    Column("failing_run", String(500)),
    Column("processed_at", UTCDateTime()),
    Column("payload", Text, nullable=False),
    UniqueConstraint("integration", "uuid", name="uq_webhook_events_uuid"),
    CheckConstraint(f"status IN {WEBHOOK_STATUSES!r}", name="ck_webhook_events_status"),
    CheckConstraint("attempts >= 0", name="ck_webhook_events_attempts"),
    Index("ix_webhook_events_status_time", "integration", "status", "received_at"),
)


QUARANTINE_ACTIONS = ("ignore", "undo", "reopen")
#: the record type under which the quarantine history keeps webhook events (their key: the event's uuid)
WEBHOOK_RECORD_TYPE = "webhook_event"

# Every time someone set a failed record (or webhook event) aside ("ignore"), took it back ("undo"), or the sync
# reopened it because its POS content changed or it synced ("reopen"): who, when, why. Append only.
# ``failure_reason`` is the record's failure reason when it was ignored, which an undo gives back.
record_quarantine = Table(
    "record_quarantine",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("record_type", String(50), nullable=False),
    Column("business_key", String(200), nullable=False),
    Column("action", String(10), nullable=False),
    Column("actor", String(250), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("reason", Text),
    Column("failure_reason", Text),
    Column("content_hash", String(64)),
    CheckConstraint(f"action IN {QUARANTINE_ACTIONS!r}", name="ck_record_quarantine_action"),
    Index("ix_record_quarantine_key", "integration", "record_type", "business_key", "at"),
)


RECONCILIATION_OUTCOMES = ("equal", "explained", "unexplained")

# Every reconciliation of an outlet's business day against the target (``possync.reconcile``), one row per run:
# the newest row of (integration, business_date, outlet_code) is the day's standing, the older ones its history.
# Totals and differences are JSON text (amounts as Decimal strings), read by the CLI and the Sync Status page.
reconciliations = Table(
    "reconciliations",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("business_date", String(10), nullable=False),  # ISO yyyy-mm-dd, the outlet's business day
    Column("outlet_code", String(50), nullable=False),
    Column("run_at", UTCDateTime(), nullable=False),
    Column("outcome", String(12), nullable=False),
    Column("explained", Integer, nullable=False, server_default="0"),
    Column("unexplained", Integer, nullable=False, server_default="0"),
    Column("pos_totals", Text, nullable=False),
    Column("target_totals", Text, nullable=False),
    Column("ledger_totals", Text, nullable=False),
    Column("differences", Text, nullable=False),
    Column("dag_id", String(250)),
    Column("run_id", String(250)),
    Column("task_id", String(250)),
    CheckConstraint(f"outcome IN {RECONCILIATION_OUTCOMES!r}", name="ck_reconciliations_outcome"),
    Index("ix_reconciliations_day", "integration", "business_date", "outlet_code", "run_at"),
)

# The rate-limit allowance of each API consumer, shared by every task, process and worker that calls it
# (``targets.base.pacing.SharedPacer``): one row per request in flight or answered within the longest window
# (seconds since the epoch on the database's clock), and one row per consumer that serialises the check-and-send
# and keeps a Retry-After.
pacing_consumers = Table(
    "pacing_consumers",
    metadata,
    Column("consumer", String(128), primary_key=True),
    Column("paused_until", Float, nullable=False, server_default="0"),
)
pacing_requests = Table(
    "pacing_requests",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("consumer", String(128), nullable=False),
    Column("sent_at", Float, nullable=False),
    # when its answer came (NULL: still in flight); it counts in the consumer's windows until a period after
    Column("answered_at", Float),
    Index("ix_pacing_requests_consumer_sent", "consumer", "sent_at"),
)


def create_schema(engine: Engine, tables: list[Table] | None = None) -> None:
    """Create the ledger tables (or only ``tables``) and indexes that do not exist yet; safe to run again.

    Two workers may start on a fresh ledger at the same moment, and ``create_all`` checks before it
    creates, so the check and the DDL run under a lock: a transaction-scoped advisory lock on
    PostgreSQL, the database write lock (``BEGIN IMMEDIATE``) on SQLite.
    """
    chosen = tables or metadata.sorted_tables
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK_ID)))
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        if tables is None:
            _add_missing_columns(conn)
            _widen_status_check(conn)
        _add_answered_at(conn)
        metadata.create_all(conn, tables=chosen, checkfirst=True)
        for table in chosen:  # indexes added since a ledger was created
            for index in table.indexes:
                index.create(conn, checkfirst=True)


def _add_answered_at(conn: Connection) -> None:
    """``pacing_requests.answered_at`` for a ledger whose shared pacer counted requests from their sending only:
    those rows (the last hour's at most) count as answered when sent."""
    if not inspect(conn).has_table("pacing_requests"):
        return
    if "answered_at" not in {column["name"] for column in inspect(conn).get_columns("pacing_requests")}:
        conn.exec_driver_sql("ALTER TABLE pacing_requests ADD COLUMN answered_at FLOAT")
        conn.exec_driver_sql("UPDATE pacing_requests SET answered_at = sent_at")


def _add_missing_columns(conn: Connection) -> None:
    """Columns added since a ledger was created (``create_all`` only adds tables)."""
    if inspect(conn).has_table("webhook_events"):
        _add_failing_since_to(conn, webhook_events)
    if not inspect(conn).has_table("sync_records"):
        return
    columns = {column["name"] for column in inspect(conn).get_columns("sync_records")}
    if "target_hash" not in columns:
        conn.exec_driver_sql("ALTER TABLE sync_records ADD COLUMN target_hash VARCHAR(64)")
        # what was synced before the column existed is in the target as the ledger hashed it
        conn.exec_driver_sql("UPDATE sync_records SET target_hash = content_hash WHERE status = 'synced'")
    for name, sql_type in (("ignored_by", "VARCHAR(250)"), ("ignored_at", "TIMESTAMP"), ("ignored_reason", "TEXT")):
        if name not in columns:
            if name == "ignored_at" and conn.dialect.name == "postgresql":
                sql_type = "TIMESTAMP WITH TIME ZONE"
            conn.exec_driver_sql(f"ALTER TABLE sync_records ADD COLUMN {name} {sql_type}")
    _add_failing_since_to(conn, sync_records)


def _add_failing_since_to(conn: Connection, table: Table) -> None:
    """``failing_since``, ``failure_key`` and ``failing_run`` for a table that lacks them: a record (or webhook event)
    that failed before was already reported (its task went red then), so it counts as failing since its last
    attempt, for its stored reason, begun in no run of today's."""
    from possync.ledger.reasons import failure_key

    columns = {column["name"] for column in inspect(conn).get_columns(table.name)}
    if "failing_run" not in columns:  # NULL: a failure begun before runs were kept, reported then
        conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN failing_run VARCHAR(500)")
    if "failing_since" in columns:
        return
    column_type = table.c.failing_since.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN failing_since {column_type}")
    conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN failure_key VARCHAR(64)")
    c = table.c
    failed = conn.execute(select(c.id, c.reason, c.last_attempt_at).where(c.status == "failed")).all()
    for row in failed:
        conn.execute(table.update().where(c.id == row.id).values(
            failing_since=row.last_attempt_at or datetime.now(UTC), failure_key=failure_key(row.reason)))


def _widen_status_check(conn: Connection) -> None:
    """A ledger created before a status was added (``ignored``) refuses it in its CHECK constraint: replace the
    constraint. PostgreSQL alters it in place; SQLite cannot alter a constraint, so the table is rebuilt (in the
    schema lock's transaction, rows and indexes as they were)."""
    inspector = inspect(conn)
    if not inspector.has_table("sync_records"):
        return
    checks = {c["name"]: c.get("sqltext", "") for c in inspector.get_check_constraints("sync_records")}
    current = checks.get("ck_sync_records_status")
    if current is None or all(f"'{status}'" in current for status in STATUSES):
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE sync_records DROP CONSTRAINT ck_sync_records_status")
        conn.exec_driver_sql(f"ALTER TABLE sync_records ADD CONSTRAINT ck_sync_records_status "
                             f"CHECK (status IN {STATUSES!r})")
        return
    old_columns = [c["name"] for c in inspector.get_columns("sync_records")]
    for index in inspector.get_indexes("sync_records"):
        if index["name"]:
            conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{index["name"]}"')
    conn.exec_driver_sql("ALTER TABLE sync_records RENAME TO _sync_records_before_ignored")
    sync_records.create(conn)
    kept = ", ".join(f'"{name}"' for name in old_columns if name in sync_records.c)
    conn.exec_driver_sql(f"INSERT INTO sync_records ({kept}) SELECT {kept} FROM _sync_records_before_ignored")
    conn.exec_driver_sql("DROP TABLE _sync_records_before_ignored")


def drop_schema(engine: Engine) -> None:
    """Drop the ledger tables (tests and ``--replace`` style resets only)."""
    metadata.drop_all(engine, checkfirst=True)
