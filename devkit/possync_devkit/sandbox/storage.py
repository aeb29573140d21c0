"""The sandboxes' SQLite storage: one file (or memory), one connection shared by the server's threads under a
lock, WAL so readers of the file (tests, the demo) never block the server, and transactions that roll back
whole on any error, as a vendor's database would."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

RepoT = TypeVar("RepoT")


class SqliteStore(Generic[RepoT]):
    """``schema`` is created if missing; ``repo`` wraps the connection for the sandbox's own queries."""

    def __init__(self, path: str, *, schema: str, repo: Callable[[sqlite3.Connection], RepoT],
                 tables: Sequence[str], row_factory: type | None = None) -> None:
        self.path = path
        self._repo = repo
        self._tables = tuple(tables)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if row_factory is not None:
            self._conn.row_factory = row_factory
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(schema)
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Generator[RepoT]:
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._repo(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def savepoint(self, name: str = "item") -> Generator[None]:
        """Inside ``transaction()``: a nested transaction that alone rolls back on any error (which still
        propagates), so one item of an all-or-nothing batch can be tried and undone without ending the batch."""
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            raise
        self._conn.execute(f"RELEASE {name}")

    @contextmanager
    def read(self) -> Generator[RepoT]:
        with self.lock:
            yield self._repo(self._conn)

    def wipe(self) -> None:
        """Delete every document (``POST /_sandbox/reset`` with ``data``); the schema stays."""
        with self.lock:
            self._conn.executescript("".join(f"DELETE FROM {table};" for table in self._tables))

    def close(self) -> None:
        with self.lock:
            self._conn.close()
