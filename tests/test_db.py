"""Engines from Airflow connections: built the way Airflow's SQL hooks build them, so the connection's
extras (``sslmode``, ``application_name``, ``options``, ...) reach the database and odd passwords survive."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from possync.db import engine_for_conn, make_engine, shared_engine_for_conn, sqlalchemy_url_for_conn

SPECIAL_PASSWORD = "p@ss/w:rd"


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def pg_fields(server_url: str, **overrides) -> dict:
    url = make_url(server_url)
    return {"conn_type": "postgres", "host": url.host, "port": url.port, "schema": url.database,
            "login": url.username, "password": url.password, **overrides}


@pytest.fixture
def special_role(pg_server: str) -> Iterator[str]:
    """A login role whose password has the characters a hand-made URL breaks on."""
    name = f"r_{uuid.uuid4().hex[:10]}"
    admin = make_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{SPECIAL_PASSWORD}'"))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {name}"))
    admin.dispose()


def test_postgres_extras_reach_the_server(monkeypatch: pytest.MonkeyPatch, pg_server: str) -> None:
    set_conn(monkeypatch, "pg_extras", **pg_fields(
        pg_server, extra={"sslmode": "disable", "application_name": "possync-test",
                          "options": "-c search_path=possync_test_path,public"}))
    url = sqlalchemy_url_for_conn("pg_extras")
    assert url.drivername == "postgresql+psycopg2"
    assert url.query["sslmode"] == "disable"
    assert url.query["application_name"] == "possync-test"
    engine = engine_for_conn("pg_extras")
    try:
        assert engine.url.query["application_name"] == "possync-test"
        with engine.connect() as conn:
            assert conn.execute(text("SHOW application_name")).scalar() == "possync-test"
            assert conn.execute(text("SHOW search_path")).scalar() == "possync_test_path,public"
            seen = conn.execute(text(
                "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")).scalar()
            assert seen == "possync-test"
    finally:
        engine.dispose()


def test_a_password_with_special_characters_survives(
    monkeypatch: pytest.MonkeyPatch, pg_server: str, special_role: str,
) -> None:
    set_conn(monkeypatch, "pg_special", **pg_fields(pg_server, login=special_role, password=SPECIAL_PASSWORD))
    url = sqlalchemy_url_for_conn("pg_special")
    assert url.password == SPECIAL_PASSWORD and url.username == special_role
    assert make_url(url.render_as_string(hide_password=False)).password == SPECIAL_PASSWORD
    engine = shared_engine_for_conn("pg_special")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == special_role


def test_sqlite_path_comes_from_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "some dir" / "pos.db"
    set_conn(monkeypatch, "lite", conn_type="sqlite", host=str(path))
    url = sqlalchemy_url_for_conn("lite")
    assert url.get_backend_name() == "sqlite" and url.database == str(path)
    engine = engine_for_conn("lite")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    assert path.exists()


def test_other_connection_types_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "not_a_db", conn_type="http", host="http://example.invalid")
    with pytest.raises(ValueError, match="'sqlite' or 'postgres'"):
        sqlalchemy_url_for_conn("not_a_db")


def test_the_postgresql_type_alias_works_too(monkeypatch: pytest.MonkeyPatch, pg_server: str) -> None:
    set_conn(monkeypatch, "pg_alias", **pg_fields(pg_server, conn_type="postgresql",
                                                  extra={"application_name": "possync-alias"}))
    engine = engine_for_conn("pg_alias")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW application_name")).scalar() == "possync-alias"
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------- MySQL / MariaDB


@pytest.fixture
def mariadb_special_user(mariadb_server: str, mariadb_url: str) -> Iterator[str]:
    """A MariaDB account whose password has the characters a hand-made URL breaks on, owning one database."""
    name = f"r_{uuid.uuid4().hex[:10]}"
    database = make_url(mariadb_url).database
    admin = make_engine(mariadb_server)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY '{SPECIAL_PASSWORD}'"))
        conn.execute(text(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{name}'@'127.0.0.1'"))
    yield name
    with admin.begin() as conn:
        conn.execute(text(f"DROP USER IF EXISTS '{name}'@'127.0.0.1'"))
    admin.dispose()


def test_a_mysql_connection_reaches_mariadb_with_its_fields_and_extras(
    monkeypatch: pytest.MonkeyPatch, mariadb_url: str, mariadb_special_user: str,
) -> None:
    server = make_url(mariadb_url)
    set_conn(monkeypatch, "pos_mysql", conn_type="mysql", host=server.host, port=server.port,
             schema=server.database, login=mariadb_special_user, password=SPECIAL_PASSWORD,
             extra={"connect_timeout": 7, "init_command": "SET SESSION time_zone = '+00:00'"})
    url = sqlalchemy_url_for_conn("pos_mysql")
    assert url.drivername == "mysql+pymysql"
    assert (url.password, url.query["charset"], url.query["connect_timeout"]) == (SPECIAL_PASSWORD, "utf8mb4", "7")
    engine = engine_for_conn("pos_mysql")
    try:
        with engine.connect() as conn:
            user = conn.execute(text("SELECT CURRENT_USER()")).scalar()
            assert user == f"{mariadb_special_user}@127.0.0.1"
            assert conn.execute(text("SELECT DATABASE()")).scalar() == server.database
            assert conn.execute(text("SELECT @@session.time_zone")).scalar() == "+00:00"
            assert conn.execute(text("SELECT @@character_set_client")).scalar() == "utf8mb4"
    finally:
        engine.dispose()


def test_mysql_ssl_extra_becomes_driver_options(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "pos_ssl", conn_type="mariadb", host="pos.example.invalid", schema="kasir",
             login="reader", password="x", extra={"ssl": {"ca": "/etc/ssl/pos-ca.pem", "verify_cert": True},
                                                  "charset": "latin1", "sqlalchemy_scheme": "mysql+mysqldb"})
    url = sqlalchemy_url_for_conn("pos_ssl")
    assert url.drivername == "mysql+mysqldb" and url.port is None and url.database == "kasir"
    assert dict(url.query) == {"charset": "latin1", "ssl_ca": "/etc/ssl/pos-ca.pem", "ssl_verify_cert": "true"}

    set_conn(monkeypatch, "pos_bad_ssl", conn_type="mysql", host="h", extra={"ssl": {"cafile": "/x"}})
    with pytest.raises(ValueError, match=r"'pos_bad_ssl': extra 'ssl' has unknown keys \['cafile'\]"):
        sqlalchemy_url_for_conn("pos_bad_ssl")
