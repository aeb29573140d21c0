"""Shared fixtures: an isolated Airflow home, real PostgreSQL and MariaDB servers, fresh databases per test.

The Airflow settings are set before anything imports airflow (Airflow reads its configuration at import).
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="possync-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PROJECT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["POSSYNC_CONFIG"] = str(PROJECT / "include" / "config" / "integrations.yaml")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # ruff: ignore[module-import-not-at-top-of-file]
from sqlalchemy import text  # ruff: ignore[module-import-not-at-top-of-file]
from sqlalchemy.engine import Engine, make_url  # ruff: ignore[module-import-not-at-top-of-file]

import mariadb_cluster  # ruff: ignore[module-import-not-at-top-of-file]
import postgres_cluster  # ruff: ignore[module-import-not-at-top-of-file]
from possync.db import make_engine  # ruff: ignore[module-import-not-at-top-of-file]


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """The test Airflow home with its metadata database migrated, for ``dag.test`` runs."""
    import subprocess

    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True,
                   env=os.environ.copy(), timeout=300)
    return airflow_home


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL superuser URL: ``POSSYNC_TEST_PG_URL`` if CI started one, else a throwaway cluster.

    Never skipped: without a server the PostgreSQL tests fail with the reason.
    """
    given = os.environ.get("POSSYNC_TEST_PG_URL")
    if given:
        yield given
        return
    data_dir = tmp_path_factory.mktemp("pg")
    url = postgres_cluster.start(data_dir)
    try:
        yield url
    finally:
        postgres_cluster.stop(data_dir)


def _new_pg_database(server_url: str) -> tuple[str, str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(server_url: str, name: str) -> None:
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name, url = _new_pg_database(pg_server)
    try:
        yield url
    finally:
        _drop_pg_database(pg_server, name)


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A MariaDB URL with every privilege: ``POSSYNC_TEST_MARIADB_URL`` if CI started one, else a throwaway
    server from Debian's mariadb-server (tests/mariadb_cluster.py).

    Never skipped: without a server the MariaDB tests fail with the reason (what is missing, the server log).
    """
    given = os.environ.get("POSSYNC_TEST_MARIADB_URL")
    if given:
        yield given
        return
    data_dir = tmp_path_factory.mktemp("mariadb")
    url = mariadb_cluster.start(data_dir)
    try:
        yield url
    finally:
        mariadb_cluster.stop(data_dir)


def _new_mariadb_database(server_url: str) -> tuple[str, str]:
    """A new empty database on the MariaDB server: (its name, its URL)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    admin.dispose()
    return name, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_mariadb_database(server_url: str, name: str) -> None:
    admin = make_engine(server_url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


@pytest.fixture
def mariadb_url(mariadb_server: str) -> Iterator[str]:
    """A fresh, empty MariaDB database for one test."""
    name, url = _new_mariadb_database(mariadb_server)
    try:
        yield url
    finally:
        _drop_mariadb_database(mariadb_server, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on both databases possync supports."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def pos_db_url(request: pytest.FixtureRequest) -> str:
    """The same test on every database a POS may run on (the ledger's are ``db_url``'s two)."""
    return request.getfixturevalue(f"{request.param}_url" if request.param != "postgres" else "pg_url")


@pytest.fixture
def pos_engine(pos_db_url: str) -> Iterator[Engine]:
    engine = make_engine(pos_db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def airflow_with_dags(airflow_home: Path) -> Path:
    """The metadata DB migrated and the DAG folder serialised into it, as the API server sees them."""
    import os
    import subprocess
    import sys

    for command in (["db", "migrate"], ["dags", "reserialize"]):
        done = subprocess.run([sys.executable, "-m", "airflow", *command], capture_output=True, text=True,
                              env=os.environ.copy(), timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    return airflow_home


# -- the demo week in the reference POS schema and in kasir (test_kasir_pos.py, test_kasir_profile.py) --------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo week in the reference POS schema (SQLite), once per module."""
    from possync_devkit.demo_pos import DemoSpec, generate

    engine = make_engine(f"sqlite:///{Path(tmp_path_factory.mktemp('ref')) / 'pos.db'}")
    generate(engine, DemoSpec())
    yield engine
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mariadb"])
def kasir(request: pytest.FixtureRequest, reference: Engine, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Engine]:
    """The demo week loaded into kasir, once per database for the module (the tests only read it)."""
    from possync_devkit import kasir_pos

    drop_database = name = server = None
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('kasir')) / 'kasir.db'}"
    else:
        server = request.getfixturevalue("pg_server" if request.param == "postgres" else "mariadb_server")
        new, drop_database = ((_new_pg_database, _drop_pg_database) if request.param == "postgres"
                              else (_new_mariadb_database, _drop_mariadb_database))
        name, url = new(server)
    engine = make_engine(url)
    written = kasir_pos.load_kasir(reference, engine)
    assert written["tickets"] > 1000
    yield engine
    engine.dispose()
    if drop_database:
        drop_database(server, name)
