"""Each target's sandbox running on free ports, and hooks connected to it: for the hook tests, which drive
the Jurnal and Accurate hooks through the same motions (``test_target_hooks_live.py``) and each through its
vendor's own (``test_jurnal_hook.py``, ``test_accurate_hook.py``)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest

from possync.targets.base.hook import TargetHttpHook
from support.live_server import LiveServer
from support.sandbox_admin import SandboxAdmin


class LiveTarget(ABC):
    """A target's sandbox, its admin API, and ``connect()`` for hooks pointing at it."""

    name: ClassVar[str] = ""
    admin: SandboxAdmin

    @abstractmethod
    def connect(self, monkeypatch: pytest.MonkeyPatch, **options: Any) -> TargetHttpHook:
        """A hook of the target's connection, pointed at this sandbox (``options``: credentials, pace)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the sandbox's servers."""


class JurnalLive(LiveTarget):
    """The Jurnal sandbox with its limits out of the way (tests that need limits set them)."""

    name = "jurnal"

    def __init__(self, tmp_path: Path) -> None:
        from possync_devkit.sandbox.jurnal import SandboxConfig, create_app
        from possync_devkit.sandbox.jurnal.config import RateLimits

        unlimited = RateLimits(per_minute=100_000, per_hour=1_000_000, per_ip_minute=100_000, per_ip_hour=1_000_000)
        self.server = LiveServer(create_app(SandboxConfig(db_path=str(tmp_path / "jurnal.db"),
                                                          limits=unlimited))).start()
        self.url = self.server.url
        self.admin = SandboxAdmin(self.url)

    def connect(self, monkeypatch: pytest.MonkeyPatch, *, secret: str | None = None, per_minute: int = 100_000,
                conn_id: str = "jurnal_t") -> TargetHttpHook:
        from possync.targets.jurnal.hook import JurnalHook
        from possync_devkit.sandbox.jurnal import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
            "conn_type": "jurnal", "host": self.url, "login": DEMO_CLIENT_ID, "password": secret or DEMO_CLIENT_SECRET,
            "extra": {"requests_per_minute": per_minute, "requests_per_hour": 1_000_000, "timeout": 10},
        }))
        return JurnalHook(conn_id, max_attempts=3)

    def stop(self) -> None:
        self.server.stop()


class AccurateLive(LiveTarget):
    """The Accurate sandbox's account and data hosts, with Accurate's documented limits (8/s, 8 in flight)."""

    name = "accurate"

    def __init__(self, tmp_path: Path) -> None:
        from possync_devkit.sandbox.accurate import SandboxConfig, create_apps
        from possync_devkit.sandbox.accurate.config import RateLimits

        config = SandboxConfig(db_path=str(tmp_path / "accurate.db"), limits=RateLimits(per_second=8, in_flight=8))
        account_app, data_app = create_apps(config)
        self.data = LiveServer(data_app).start()
        config.data_host_url = self.data.url
        self.account = LiveServer(account_app).start()
        self.admin = SandboxAdmin(self.data.url)  # the admin API lives on the data host

    def connect(self, monkeypatch: pytest.MonkeyPatch, *, secret: str | None = None, per_second: int = 8,
                share: int = 1, conn_id: str = "accurate_t") -> TargetHttpHook:
        from possync.targets.accurate.hook import AccurateHook
        from possync_devkit.sandbox.accurate import DEMO_API_TOKEN, DEMO_SIGNATURE_SECRET

        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
            "conn_type": "accurate", "host": self.account.url, "password": DEMO_API_TOKEN,
            "extra": {"signature_secret": secret or DEMO_SIGNATURE_SECRET, "requests_per_second": per_second,
                      "timeout": 10},
        }))
        return AccurateHook(conn_id, max_attempts=3, pacing_share=share)

    def stop(self) -> None:
        self.account.stop()
        self.data.stop()


Live = TypeVar("Live", bound=LiveTarget)

LIVE_TARGETS: dict[str, type[LiveTarget]] = {"jurnal": JurnalLive, "accurate": AccurateLive}


def running(kind: type[Live], tmp_path: Path) -> Iterator[Live]:
    """For a fixture: a sandbox of ``kind``, running while the test runs, stopped after it."""
    live = kind(tmp_path)
    try:
        yield live
    finally:
        live.stop()
