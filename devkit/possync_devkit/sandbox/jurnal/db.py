"""SQLite persistence: one table of JSON documents with their lookup keys, one of invoice links, one of stock moves.

A single connection behind a re-entrant lock: uvicorn runs the sync routes in a thread pool, and serialising
them is what makes the uniqueness checks (custom_id, transaction_no, product_code, display_name) race-free.
Every write runs in ``BEGIN IMMEDIATE`` ... ``COMMIT``, so a restarted sandbox sees exactly the committed
documents.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..storage import SqliteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    custom_id   TEXT,
    key         TEXT,      -- transaction_no, product_code, warehouse code, account number
    name_norm   TEXT,      -- lower-cased name for the case-insensitive lookups by name
    person_id   INTEGER,
    tx_date     TEXT,      -- ISO date of a transaction, for the start_date/end_date filters
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_custom_id ON records (kind, custom_id) WHERE custom_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS records_key ON records (kind, key) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_name ON records (kind, name_norm);
CREATE INDEX IF NOT EXISTS records_person ON records (kind, person_id);
CREATE INDEX IF NOT EXISTS records_date ON records (kind, tx_date);
CREATE TABLE IF NOT EXISTS links (
    kind        TEXT NOT NULL,   -- payment | return_line | return_applied
    source_id   INTEGER NOT NULL,
    invoice_id  INTEGER NOT NULL,
    line_id     INTEGER,
    amount      TEXT NOT NULL DEFAULT '0',
    quantity    TEXT NOT NULL DEFAULT '0'
);
CREATE INDEX IF NOT EXISTS links_invoice ON links (invoice_id, kind);
CREATE INDEX IF NOT EXISTS links_source ON links (source_id, kind);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
-- What each stock-affecting document does to one product in one warehouse. ``delta`` adds ``quantity`` (signed);
-- ``actual`` (a stock count) sets the level to ``quantity``. Levels are replayed in (tx_date, source_id, rowid)
-- order: source ids come from the one id sequence, so source_id order is creation order.
CREATE TABLE IF NOT EXISTS stock_moves (
    source_id     INTEGER NOT NULL,
    line_id       INTEGER,
    warehouse_id  INTEGER NOT NULL,
    product_id    INTEGER NOT NULL,
    tx_date       TEXT NOT NULL,
    mode          TEXT NOT NULL,   -- delta | actual
    quantity      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stock_moves_place ON stock_moves (warehouse_id, product_id);
CREATE INDEX IF NOT EXISTS stock_moves_product ON stock_moves (product_id);
CREATE INDEX IF NOT EXISTS stock_moves_source ON stock_moves (source_id);
"""

# Jurnal ids come from one transactions table (the swagger's invoice 7020125 has payment 7020126); the sandbox
# takes every id from one sequence, so an id sent to the wrong resource is a 404 rather than another record.
FIRST_ID = 1001
FIRST_TRANSACTION_NO = 10001


def _decimal_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, default=_decimal_default, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Row:
    id: int
    kind: str
    custom_id: str | None
    key: str | None
    name_norm: str | None
    person_id: int | None
    tx_date: str | None
    created_at: str
    updated_at: str
    data: dict[str, Any]

    @classmethod
    def from_sqlite(cls, row: sqlite3.Row) -> Row:
        values = dict(row)
        values["data"] = json.loads(values["data"])
        return cls(**values)


def norm(name: str | None) -> str | None:
    return name.strip().casefold() if name is not None else None


class Repo:
    """Queries on one connection inside one transaction. With ``number_match='casefold'`` keys and custom ids
    match whatever their case (SQLite's NOCASE: ASCII letters)."""

    def __init__(self, conn: sqlite3.Connection, number_match: str = "trimmed") -> None:
        self.conn = conn
        self.collate = " COLLATE NOCASE" if number_match == "casefold" else ""

    def _counter(self, name: str, first: int) -> int:
        row = self.conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        value = first if row is None else row[0]
        self.conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value + 1),
        )
        return value

    def next_id(self) -> int:
        return self._counter("id", FIRST_ID)

    def next_transaction_no(self, kind: str, key_prefix: str = "") -> str:
        """Jurnal-style automatic numbers (10001, 10002, ...) per transaction type, skipping numbers in use.

        ``key_prefix`` separates numbering series stored under one kind (stock counts vs stock in/out).
        """
        while True:
            number = str(self._counter(f"number:{kind}{':' + key_prefix if key_prefix else ''}", FIRST_TRANSACTION_NO))
            if self.by_key(kind, key_prefix + number) is None:
                return number

    def has_flag(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM counters WHERE name = ?", (name,)).fetchone() is not None

    def set_flag(self, name: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO counters (name, value) VALUES (?, 1)", (name,))

    def insert(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        now: str,
        record_id: int | None = None,
        custom_id: str | None = None,
        key: str | None = None,
        name: str | None = None,
        person_id: int | None = None,
        tx_date: str | None = None,
    ) -> Row:
        record_id = self.next_id() if record_id is None else record_id
        self.conn.execute(
            "INSERT INTO records"
            " (id, kind, custom_id, key, name_norm, person_id, tx_date, created_at, updated_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record_id, kind, custom_id, key, norm(name), person_id, tx_date, now, now, dumps(data)),
        )
        row = self.by_id(kind, record_id)
        assert row is not None
        return row

    def update_data(self, row: Row, now: str) -> None:
        self.conn.execute("UPDATE records SET data = ?, updated_at = ? WHERE id = ?", (dumps(row.data), now, row.id))
        row.updated_at = now

    def touch(self, record_id: int, now: str) -> None:
        self.conn.execute("UPDATE records SET updated_at = ? WHERE id = ?", (now, record_id))

    def delete(self, record_id: int) -> None:
        """Removes a record with its links and stock moves."""
        self.conn.execute("DELETE FROM records WHERE id = ?", (record_id,))
        self.conn.execute("DELETE FROM links WHERE source_id = ?", (record_id,))
        self.conn.execute("DELETE FROM stock_moves WHERE source_id = ?", (record_id,))

    def _one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        row = self.conn.execute(sql, params).fetchone()
        return Row.from_sqlite(row) if row else None

    def by_id(self, kind: str, record_id: int) -> Row | None:
        return self._one("SELECT * FROM records WHERE kind = ? AND id = ?", (kind, record_id))

    def by_custom_id(self, kind: str, custom_id: str) -> Row | None:
        return self._one(f"SELECT * FROM records WHERE kind = ? AND custom_id = ?{self.collate} ORDER BY id",
                         (kind, custom_id))

    def by_key(self, kind: str, key: str) -> Row | None:
        return self._one(f"SELECT * FROM records WHERE kind = ? AND key = ?{self.collate} ORDER BY id", (kind, key))

    def by_name(self, kind: str, name: str) -> list[Row]:
        rows = self.conn.execute(
            "SELECT * FROM records WHERE kind = ? AND name_norm = ? ORDER BY id", (kind, norm(name))
        ).fetchall()
        return [Row.from_sqlite(row) for row in rows]

    def select(self, kind: str, where: str = "", params: tuple[Any, ...] = ()) -> list[Row]:
        sql = "SELECT * FROM records WHERE kind = ?" + (f" AND {where}" if where else "") + " ORDER BY id"
        return [Row.from_sqlite(row) for row in self.conn.execute(sql, (kind, *params)).fetchall()]

    def add_link(
        self,
        kind: str,
        *,
        source_id: int,
        invoice_id: int,
        line_id: int | None = None,
        amount: Decimal = Decimal(0),
        quantity: Decimal = Decimal(0),
    ) -> None:
        self.conn.execute(
            "INSERT INTO links (kind, source_id, invoice_id, line_id, amount, quantity) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, source_id, invoice_id, line_id, str(amount), str(quantity)),
        )

    def links(self, kind: str, *, invoice_id: int | None = None, source_id: int | None = None) -> list[sqlite3.Row]:
        if invoice_id is not None:
            sql, value = "SELECT * FROM links WHERE kind = ? AND invoice_id = ? ORDER BY rowid", invoice_id
        else:
            sql, value = "SELECT * FROM links WHERE kind = ? AND source_id = ? ORDER BY rowid", source_id
        return self.conn.execute(sql, (kind, value)).fetchall()

    # ------------------------------------------------------------------ stock moves

    def add_move(
        self,
        *,
        source_id: int,
        line_id: int | None,
        warehouse_id: int,
        product_id: int,
        tx_date: str,
        mode: str,
        quantity: Decimal,
    ) -> None:
        assert mode in ("delta", "actual")
        self.conn.execute(
            "INSERT INTO stock_moves (source_id, line_id, warehouse_id, product_id, tx_date, mode, quantity)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (source_id, line_id, warehouse_id, product_id, tx_date, mode, str(quantity)),
        )

    def delete_moves(self, source_id: int) -> None:
        self.conn.execute("DELETE FROM stock_moves WHERE source_id = ?", (source_id,))

    def moves(
        self,
        *,
        warehouse_id: int | None = None,
        product_ids: list[int] | None = None,
        until: str | None = None,
    ) -> list[sqlite3.Row]:
        """Moves in replay order: transaction date, then creation order (source id), then line order."""
        where: list[str] = []
        params: list[Any] = []
        if warehouse_id is not None:
            where.append("warehouse_id = ?")
            params.append(warehouse_id)
        if product_ids is not None:
            if not product_ids:
                return []
            where.append(f"product_id IN ({', '.join('?' for _ in product_ids)})")
            params.extend(product_ids)
        if until is not None:
            where.append("tx_date <= ?")
            params.append(until)
        sql = "SELECT * FROM stock_moves" + (f" WHERE {' AND '.join(where)}" if where else "")
        return self.conn.execute(sql + " ORDER BY tx_date, source_id, rowid", tuple(params)).fetchall()


class Database(SqliteStore[Repo]):
    def __init__(self, path: str, number_match: str = "trimmed") -> None:
        super().__init__(path, schema=SCHEMA, repo=lambda conn: Repo(conn, number_match),
                         tables=("records", "links", "counters", "stock_moves"), row_factory=sqlite3.Row)
