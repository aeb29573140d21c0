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
from sqlalchemy.engine import URL, Engine, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

SQLITE_BUSY_TIMEOUT_MS = 30_000
MYSQL_POOL_RECYCLE_S = 3600


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite create the file's folder and set WAL, busy timeout and foreign keys."""
    url = make_url(url)
    if url.get_backend_name() in ("mysql", "mariadb"):
        # MySQL / MariaDB close connections idle past wait_timeout (8 h by default): recycle well before
        kwargs.setdefault("pool_recycle", MYSQL_POOL_RECYCLE_S)
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "handle_error", _check_violation_is_integrity_error)
        return engine
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


#: MySQL's ER_CHECK_CONSTRAINT_VIOLATED and MariaDB's ER_CONSTRAINT_FAILED: PyMySQL raises them as
#: OperationalError, where SQLite and PostgreSQL give an IntegrityError
_MYSQL_CHECK_VIOLATIONS = (3819, 4025)


def _check_violation_is_integrity_error(context: ExceptionContext) -> DBAPIError | None:
    """A CHECK constraint refusing a row is an ``IntegrityError`` on every database, as it is on SQLite and
    PostgreSQL, so code that catches one (and the tests of the schema's constraints) behaves the same."""
    original = context.original_exception
    errno = original.args[0] if getattr(original, "args", None) else None
    if context.sqlalchemy_exception is not None and errno in _MYSQL_CHECK_VIOLATIONS:
        return IntegrityError(context.statement, context.parameters, original)
    return None


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
#: the SQLAlchemy driver for MySQL / MariaDB POS databases: PyMySQL, pure Python (no client library to build),
#: unless the connection's extras name another ``sqlalchemy_scheme`` (e.g. ``mysql+mysqldb``)
MYSQL_DRIVER = "mysql+pymysql"
#: connection extras handed to the MySQL driver as they are (what MySqlHook's connection form offers, and the
#: timeouts); ``ssl`` is a dict (or its JSON) of ``ca`` / ``cert`` / ``key`` / ``check_hostname`` /
#: ``verify_cert``, passed as SQLAlchemy's ``ssl_<key>`` query parameters
MYSQL_EXTRAS = ("charset", "unix_socket", "connect_timeout", "read_timeout", "write_timeout", "init_command")
MYSQL_SSL_KEYS = ("ca", "cert", "key", "capath", "cipher", "check_hostname", "verify_cert")


def _mysql_url(conn: Any) -> URL:
    """A MySQL / MariaDB connection's URL: login, password (any characters), host, port (3306), schema (the
    database), ``charset`` (utf8mb4 unless the extras say otherwise), and the extras in ``MYSQL_EXTRAS``."""
    import json

    extras = conn.extra_dejson
    query: dict[str, str] = {"charset": "utf8mb4"}
    query.update({key: str(extras[key]) for key in MYSQL_EXTRAS if extras.get(key) is not None})
    ssl = extras.get("ssl")
    if isinstance(ssl, str) and ssl.strip():
        ssl = json.loads(ssl)
    if ssl:
        if not isinstance(ssl, dict):
            raise ValueError(f"connection {conn.conn_id!r}: extra 'ssl' must be a JSON object, not {ssl!r}")
        unknown = sorted(set(ssl) - set(MYSQL_SSL_KEYS))
        if unknown:
            raise ValueError(f"connection {conn.conn_id!r}: extra 'ssl' has unknown keys {unknown} "
                             f"(known: {', '.join(MYSQL_SSL_KEYS)})")
        query.update({f"ssl_{key}": str(value).lower() if isinstance(value, bool) else str(value)
                      for key, value in ssl.items()})
    return URL.create(
        extras.get("sqlalchemy_scheme") or MYSQL_DRIVER,
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
        query=query,
    )


def sqlalchemy_url_for_conn(conn_id: str) -> URL:
    """The SQLAlchemy URL of an Airflow database connection (sqlite, postgres, or mysql / mariadb for a POS),
    built by the connection's provider hook (``PostgresHook``, ``SqliteHook``: what ``conn.get_hook()``
    returns) as Airflow's SQL hooks build it.

    PostgreSQL: ``PostgresHook.sqlalchemy_url`` (login, password, host, port, schema, ``sqlalchemy_query``,
    IAM tokens; any password characters) plus every connection extra that ``PostgresHook.get_conn`` hands
    to the driver (``sslmode``, ``sslrootcert``, ``application_name``, ``options``, ``connect_timeout``, ...),
    as URL query parameters, which SQLAlchemy's psycopg2 dialect passes to ``connect``. The provider's
    URL alone would drop them. SQLite: ``SqliteHook.get_uri()`` (the file path is the connection's host).
    MySQL / MariaDB (``mysql`` or ``mariadb``): built here from the connection's fields (``_mysql_url``) for
    PyMySQL, so the MySQL provider and its C client library are not needed.
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
    if conn.conn_type in ("mysql", "mariadb"):
        return _mysql_url(conn)
    raise ValueError(
        f"connection {conn_id!r} has type {conn.conn_type!r}; possync databases must be 'sqlite' or 'postgres' "
        "(a POS database may also be 'mysql' / 'mariadb')"
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
