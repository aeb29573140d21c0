"""Engines for the databases possync owns or reads: the POS, the sync ledger, the head office.

One place decides how an engine is made, so SQLite gets the same treatment everywhere: WAL so readers
never wait for the writer, a busy timeout so concurrent writers queue instead of failing, and foreign
keys switched on. Inside Airflow tasks the URL comes from an Airflow connection (``engine_for_conn``);
the CLI and tests pass URLs directly.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite create the file's folder and set WAL, busy timeout and foreign keys."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)

    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode (persistent, so only the first connection ever changes it).

    Switching needs an exclusive lock that the busy timeout does not wait for, so processes opening a
    new file at the same instant retry briefly instead of failing with "database is locked".
    """
    for attempt in range(50):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 49:
                raise
            time.sleep(0.05 + 0.01 * attempt)


#: the SQLAlchemy driver possync's PostgreSQL engines use (psycopg2), unless the connection's extras name
#: another ``sqlalchemy_scheme``
POSTGRES_DRIVER = "postgresql+psycopg2"


def sqlalchemy_url_for_conn(conn_id: str) -> URL:
    """The SQLAlchemy URL of an Airflow database connection (sqlite or postgres), built by the connection's
    provider hook (``PostgresHook``, ``SqliteHook``: what ``conn.get_hook()`` returns) as Airflow's SQL hooks
    build it.

    PostgreSQL: ``PostgresHook.sqlalchemy_url`` (login, password, host, port, schema, ``sqlalchemy_query``,
    IAM tokens; any password characters) plus every connection extra that ``PostgresHook.get_conn`` hands
    to the driver (``sslmode``, ``sslrootcert``, ``application_name``, ``options``, ``connect_timeout``, ...),
    as URL query parameters, which SQLAlchemy's psycopg2 dialect passes to ``connect``. The provider's
    URL alone would drop them. SQLite: ``SqliteHook.get_uri()`` (the file path is the connection's host).
    """
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    if conn.conn_type == "sqlite":
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        return make_url(SqliteHook(sqlite_conn_id=conn_id).get_uri())
    if conn.conn_type in ("postgres", "postgresql"):
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        extras = conn.extra_dejson
        # the hook directly rather than conn.get_hook(), which knows the type only as 'postgres'
        hook = PostgresHook(
            postgres_conn_id=conn_id, sqlalchemy_scheme=extras.get("sqlalchemy_scheme") or POSTGRES_DRIVER
        )
        url = hook.sqlalchemy_url
        driver_args = {
            key: str(value)
            for key, value in extras.items()
            if key not in hook.ignored_extra_options and value is not None
        }
        return url.update_query_dict({**driver_args, **url.query})
    raise ValueError(
        f"connection {conn_id!r} has type {conn.conn_type!r}; possync databases must be 'sqlite' or 'postgres'"
    )


def engine_for_conn(conn_id: str) -> Engine:
    """An engine for the database behind an Airflow connection id."""
    return make_engine(sqlalchemy_url_for_conn(conn_id))


_shared_engines: dict[str, Engine] = {}


def shared_engine_for_conn(conn_id: str) -> Engine:
    """An engine for a connection's database, one per database URL for the life of a long-running process
    (the API server's plugin apps). The connection is read on every call, so a changed connection takes
    effect without a restart."""
    url = sqlalchemy_url_for_conn(conn_id)
    key = url.render_as_string(hide_password=False)
    if key not in _shared_engines:
        _shared_engines[key] = make_engine(url)
    return _shared_engines[key]
