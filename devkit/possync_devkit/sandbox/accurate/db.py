"""SQLite persistence: JSON documents with a unique natural key per module, stock per item and warehouse.

Money and quantities are stored as decimal strings (exact; never floats). One connection behind a lock; every
write runs in ``BEGIN IMMEDIATE`` ... ``COMMIT``, which also makes the uniqueness checks race-free.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..storage import SqliteStore
from .wire import dumps as wire_dumps

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL,
    key       TEXT,           -- customerNo, item no, number, lower-cased warehouse/branch name, ...
    data      TEXT NOT NULL,
    created_at TEXT           -- when the sandbox committed it (ISO 8601 UTC): what a benchmark's lag is measured to
);
CREATE UNIQUE INDEX IF NOT EXISTS records_key ON records (kind, key) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_kind ON records (kind, id);
CREATE TABLE IF NOT EXISTS stock (
    item_id       INTEGER NOT NULL,
    warehouse_id  INTEGER NOT NULL,
    quantity      TEXT NOT NULL,
    PRIMARY KEY (item_id, warehouse_id)
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

FIRST_ID = 100


def dumps(data: Any) -> str:
    """Decimals become exact JSON numbers (see wire.dumps); loads() reads them back as Decimals."""
    return wire_dumps(data).decode()


def loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


class Repo:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def counter(self, name: str, first: int = 1) -> int:
        row = self.conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        value = first if row is None else row[0]
        self.conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value + 1),
        )
        return value

    def counter_value(self, name: str) -> int | None:
        """A counter's next value, or None when it was never used."""
        row = self.conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def insert(self, kind: str, key: str | None, data: dict[str, Any]) -> int:
        record_id = self.counter("id", FIRST_ID)
        data["id"] = record_id
        self.conn.execute("INSERT INTO records (id, kind, key, data, created_at) VALUES (?, ?, ?, ?, ?)",
                          (record_id, kind, key, dumps(data), datetime.now(UTC).isoformat(timespec="milliseconds")))
        return record_id

    def update(self, record_id: int, key: str | None, data: dict[str, Any]) -> None:
        self.conn.execute("UPDATE records SET key = ?, data = ? WHERE id = ?", (key, dumps(data), record_id))

    def delete(self, record_id: int) -> None:
        self.conn.execute("DELETE FROM records WHERE id = ?", (record_id,))

    def by_id(self, kind: str, record_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM records WHERE kind = ? AND id = ?", (kind, record_id)).fetchone()
        return loads(row[0]) if row else None

    def by_key(self, kind: str, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM records WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return loads(row[0]) if row else None

    def all(self, kind: str) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT data FROM records WHERE kind = ? ORDER BY id", (kind,)).fetchall()
        return [loads(row[0]) for row in rows]

    def count(self, kind: str) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM records WHERE kind = ?", (kind,)).fetchone()[0]

    def add_stock(self, item_id: int, warehouse_id: int, delta: Decimal) -> None:
        row = self.conn.execute(
            "SELECT quantity FROM stock WHERE item_id = ? AND warehouse_id = ?", (item_id, warehouse_id)
        ).fetchone()
        quantity = (Decimal(row[0]) if row else Decimal(0)) + delta
        self.conn.execute(
            "INSERT INTO stock (item_id, warehouse_id, quantity) VALUES (?, ?, ?)"
            " ON CONFLICT (item_id, warehouse_id) DO UPDATE SET quantity = excluded.quantity",
            (item_id, warehouse_id, str(quantity)),
        )

    def stock(self, item_id: int) -> dict[int, Decimal]:
        rows = self.conn.execute("SELECT warehouse_id, quantity FROM stock WHERE item_id = ?", (item_id,)).fetchall()
        return {row[0]: Decimal(row[1]) for row in rows}

    def get_meta(self, name: str) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return loads(row[0]) if row else None

    def set_meta(self, name: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, dumps(value)),
        )


class Database(SqliteStore[Repo]):
    def __init__(self, path: str) -> None:
        super().__init__(path, schema=SCHEMA, repo=Repo, tables=("records", "stock", "counters", "meta"))
        with self.lock:  # a sandbox file from before records were timestamped
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(records)")}
            if "created_at" not in columns:
                self._conn.execute("ALTER TABLE records ADD COLUMN created_at TEXT")
