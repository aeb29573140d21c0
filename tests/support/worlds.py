"""A "world" for end-to-end tests: the demo POS week and a ledger in SQLite files, a live target sandbox
on a free port, and the Airflow connections pointing at them. Shared by every end-to-end test, so each
target is exercised the same way. ``world["admin"]`` is the sandbox's admin API, wherever the target has it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from possync.db import make_engine
from possync.ledger import SyncLedger
from possync_devkit.demo_pos import generate
from support.demo_week import SPEC
from support.live_server import LiveServer
from support.sandbox_admin import SandboxAdmin


def _pos_and_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    pos, ledger = tmp_path / "pos.db", tmp_path / "ledger.db"
    generate(make_engine(f"sqlite:///{pos}"), SPEC)
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_POS", json.dumps({"conn_type": "sqlite", "host": str(pos)}))
    monkeypatch.setenv("AIRFLOW_CONN_POSSYNC_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(ledger)}))
    return {"pos": make_engine(f"sqlite:///{pos}"), "ledger": SyncLedger.from_url(f"sqlite:///{ledger}"),
            "tmp": tmp_path}


def start_jurnal_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    """A running Jurnal sandbox, limits out of the way, and ``jurnal_demo``'s connection pointing at it; the
    caller stops it. Also for a world of another target that feeds Jurnal at the same time."""
    from possync_devkit.sandbox.jurnal import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SandboxConfig, create_app
    from possync_devkit.sandbox.jurnal.config import RateLimits

    limits = RateLimits(per_minute=100_000, per_hour=1_000_000, per_ip_minute=100_000, per_ip_hour=1_000_000)
    # key_filters=False: find documents the way the real API allows, not through sandbox conveniences
    sandbox = LiveServer(create_app(SandboxConfig(db_path=str(tmp_path / "jurnal.db"), limits=limits,
                                                  key_filters=False))).start()
    monkeypatch.setenv("AIRFLOW_CONN_JURNAL_DEMO", json.dumps({
        "conn_type": "jurnal", "host": sandbox.url, "login": DEMO_CLIENT_ID, "password": DEMO_CLIENT_SECRET,
        "extra": {"requests_per_minute": 100_000, "requests_per_hour": 1_000_000},
    }))
    return sandbox


def jurnal_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The Jurnal sandbox with limits out of the way (pacing has its own tests), found the real API's way."""
    world = _pos_and_ledger(tmp_path, monkeypatch)
    sandbox = start_jurnal_sandbox(tmp_path, monkeypatch)
    try:
        yield {**world, "target": "jurnal", "integration": "jurnal_demo", "sandbox": sandbox,
               "admin": SandboxAdmin(sandbox.url)}
    finally:
        sandbox.stop()


def accurate_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The Accurate sandbox's account and data hosts, with Accurate's documented limits (8/s, 8 in flight)."""
    from possync_devkit.sandbox.accurate import DEMO_API_TOKEN, DEMO_SIGNATURE_SECRET, SandboxConfig, create_apps
    from possync_devkit.sandbox.accurate.config import RateLimits

    world = _pos_and_ledger(tmp_path, monkeypatch)
    config = SandboxConfig(db_path=str(tmp_path / "accurate.db"), limits=RateLimits(per_second=8, in_flight=8))
    account_app, data_app = create_apps(config)
    data = LiveServer(data_app).start()
    config.data_host_url = data.url
    account = LiveServer(account_app).start()
    monkeypatch.setenv("AIRFLOW_CONN_ACCURATE_DEMO", json.dumps({
        "conn_type": "accurate", "host": account.url, "password": DEMO_API_TOKEN,
        "extra": {"signature_secret": DEMO_SIGNATURE_SECRET, "requests_per_second": 8},
    }))
    try:
        yield {**world, "target": "accurate", "integration": "accurate_demo", "data": data, "account": account,
               "admin": SandboxAdmin(data.url)}
    finally:
        account.stop()
        data.stop()
