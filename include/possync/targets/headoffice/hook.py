"""The one place that knows the head office database connection: builds its engine, tests that it answers,
reads HO's schema version and refuses to exchange with a different major version.

The connection is an Airflow ``sqlite`` or ``postgres`` connection (``possync_headoffice`` by default),
read lazily, never at parse time. Errors are typed so the check task can say exactly what is wrong.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

CONNECT_TIMEOUT_SECONDS = 10


class HeadOfficeError(Exception):
    """Exchanging with the head office cannot start."""


class HeadOfficeUnreachable(HeadOfficeError):
    """The HO database does not answer (wrong host or port, down, bad credentials)."""


class VersionMismatch(HeadOfficeError):
    """HO's schema has another major version than this store's exchange speaks."""


def major(version: str) -> str:
    """The major part of ``2.4.1`` or ``2.x``."""
    match = re.match(r"\s*(\d+)", version or "")
    if not match:
        raise ValueError(f"{version!r} is not a version (expected e.g. '2.4.1' or '2.x')")
    return match.group(1)


class HeadOfficeHook(BaseHook):
    """The HO database behind an Airflow connection (``sqlite`` file or ``postgres`` server).

    :param headoffice_conn_id: the Airflow connection of the HO database.
    :param url: a SQLAlchemy URL instead of a connection (tests, the CLI).
    """

    conn_name_attr = "headoffice_conn_id"
    default_conn_name = "possync_headoffice"
    conn_type = "postgres"
    hook_name = "possync head office database"

    def __init__(self, headoffice_conn_id: str = default_conn_name, *, url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.headoffice_conn_id = headoffice_conn_id
        self._url = url

    @cached_property
    def url(self) -> Any:
        from sqlalchemy.engine import make_url

        if self._url:
            return make_url(self._url)
        from possync.db import sqlalchemy_url_for_conn

        return sqlalchemy_url_for_conn(self.headoffice_conn_id)

    @property
    def where(self) -> str:
        """Where the HO database is, for messages (never the password)."""
        url = self.url
        if url.get_backend_name() == "sqlite":
            place = f"file {url.database}"
        else:
            place = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
        return f"{place} (connection {self.headoffice_conn_id!r})" if not self._url else place

    @cached_property
    def engine(self) -> Any:
        from possync.db import make_engine

        kwargs: dict[str, Any] = {}
        if self.url.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        return make_engine(self.url, **kwargs)

    def get_conn(self) -> Any:
        return self.engine.connect()

    def server_version(self) -> str:
        """HO's schema version; ``HeadOfficeUnreachable`` when the database does not answer or is not an HO."""
        from sqlalchemy import select
        from sqlalchemy.exc import SQLAlchemyError

        from possync.targets.headoffice.schema import VERSION_KEY, ho_meta

        if self.url.get_backend_name() == "sqlite" and self.url.database:
            from pathlib import Path

            if not Path(self.url.database).expanduser().exists():  # SQLite would create an empty file
                raise HeadOfficeUnreachable(f"cannot reach the head office database at {self.where}: no such file")
        try:
            with self.engine.connect() as conn:
                version = conn.execute(select(ho_meta.c.value).where(ho_meta.c.key == VERSION_KEY)).scalar()
        except SQLAlchemyError as error:
            detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise HeadOfficeUnreachable(
                f"cannot reach the head office database at {self.where}: {detail}"
            ) from None
        if not version:
            raise HeadOfficeUnreachable(f"the database at {self.where} holds no head office schema version")
        return version

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's connection test: (ok, message)."""
        try:
            return True, f"head office database answers, schema version {self.server_version()}"
        except HeadOfficeError as error:
            return False, str(error)

    def check(self, expected: str) -> str:
        """Raise unless HO answers and its major version is ``expected``'s; return HO's version."""
        version = self.server_version()
        if major(version) != major(expected):
            raise VersionMismatch(
                f"head office schema version {version} does not match this store's exchange version {expected} "
                f"(major {major(version)} ≠ {major(expected)}); nothing was exchanged. Upgrade the side that is "
                "behind, or set schema_version in integrations.yaml once both speak the same major version"
            )
        return version
