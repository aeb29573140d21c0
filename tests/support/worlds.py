"""A "world" for end-to-end tests: the demo POS week and a ledger in SQLite files, a live target sandbox
on a free port, and the Airflow connections pointing at them. Shared by every end-to-end test, so each
target is exercised the same way. ``world["admin"]`` is the sandbox's admin API, wherever the target has it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from possync.config import load_config
from possync.db import make_engine
from possync.ledger import SyncLedger
from possync.pos.extract import extract_customers
from possync.targets.base.bookkeeping import walk_in_customer
from possync.targets.base.errors import TransientTargetError
from possync.targets.base.loader import Loader
from possync.targets.base.registry import get_target
from possync.transform.sales import transform_customers
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


def start_jurnal_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> LiveServer:
    """A running Jurnal sandbox, limits out of the way, and ``jurnal_demo``'s connection pointing at it; the
    caller stops it. Also for a world of another target that feeds Jurnal at the same time. ``options`` are
    more sandbox settings (e.g. ``number_match``)."""
    from possync_devkit.sandbox.jurnal import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SandboxConfig, create_app
    from possync_devkit.sandbox.jurnal.config import RateLimits

    limits = RateLimits(per_minute=100_000, per_hour=1_000_000, per_ip_minute=100_000, per_ip_hour=1_000_000)
    # key_filters=False: find documents the way the real API allows, not through sandbox conveniences
    sandbox = LiveServer(create_app(SandboxConfig(db_path=str(tmp_path / "jurnal.db"), limits=limits,
                                                  key_filters=False, **options))).start()
    monkeypatch.setenv("AIRFLOW_CONN_JURNAL_DEMO", json.dumps({
        "conn_type": "jurnal", "host": sandbox.url, "login": DEMO_CLIENT_ID, "password": DEMO_CLIENT_SECRET,
        "extra": {"requests_per_minute": 100_000, "requests_per_hour": 1_000_000},
    }))
    return sandbox


def jurnal_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> Iterator[dict[str, Any]]:
    """The Jurnal sandbox with limits out of the way (pacing has its own tests), found the real API's way;
    ``options`` are more sandbox settings (e.g. ``number_match``)."""
    world = _pos_and_ledger(tmp_path, monkeypatch)
    sandbox = start_jurnal_sandbox(tmp_path, monkeypatch, **options)
    try:
        yield {**world, "target": "jurnal", "integration": "jurnal_demo", "sandbox": sandbox,
               "admin": SandboxAdmin(sandbox.url)}
    finally:
        sandbox.stop()


def accurate_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> Iterator[dict[str, Any]]:
    """The Accurate sandbox's account and data hosts, with Accurate's documented limits (8/s, 8 in flight);
    ``options`` are more sandbox settings (e.g. ``number_match``)."""
    from possync_devkit.sandbox.accurate import DEMO_API_TOKEN, DEMO_SIGNATURE_SECRET, SandboxConfig, create_apps
    from possync_devkit.sandbox.accurate.config import RateLimits

    world = _pos_and_ledger(tmp_path, monkeypatch)
    config = SandboxConfig(db_path=str(tmp_path / "accurate.db"), limits=RateLimits(per_second=8, in_flight=8),
                            **options)
    account_app, data_app = create_apps(config)
    data = LiveServer(data_app).start()
    config.data_host_url = data.url
    account = LiveServer(account_app).start()
    monkeypatch.setenv("AIRFLOW_CONN_ACCURATE_DEMO", json.dumps({
        "conn_type": "accurate", "host": account.url, "password": DEMO_API_TOKEN,
        # a wider pacing margin than Accurate's default 5% of a second: four test processes share two cores, so a
        # paced request may reach the sandbox well after it was paced (the sandbox enforces the real 8 a second)
        "extra": {"signature_secret": DEMO_SIGNATURE_SECRET, "requests_per_second": 8, "pacing_margin_seconds": 0.2},
    }))
    try:
        yield {**world, "target": "accurate", "integration": "accurate_demo", "data": data, "account": account,
               "admin": SandboxAdmin(data.url)}
    finally:
        account.stop()
        data.stop()


def sync_job(world: dict[str, Any], **settings: Any) -> Any:
    """A pipeline job on the world's integration as the sync tasks build it (``settings`` override the
    integration's, e.g. ``changes_after_sync="report"``)."""
    from possync.pipeline import SyncJob

    integration = next(i for i in load_config().integrations if i.name == world["integration"])
    integration = integration.model_copy(update=settings) if settings else integration
    target = get_target(world["target"])
    world["ledger"].create_schema()
    return SyncJob(integration, world["pos"], world["ledger"], target, target.hook(integration))


class Sync:
    """The senders of one world's integration, loading through the ledger as the sync tasks do."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.world = world
        self.integration = next(i for i in load_config().integrations if i.name == world["integration"])
        self.target = get_target(world["target"])
        self.hook = self.target.hook(self.integration)
        self.ledger = world["ledger"]
        self.ledger.create_schema()
        self.loader = Loader(self.ledger, self.integration.name, target=world["target"])
        self.send = self.target.senders_by_type(self.hook, self.integration, self.ledger)

    def load(self, record_type: str, documents: list[Any]) -> None:
        # a load still failing is a failed task, retried: the next load must find what this one created
        with contextlib.suppress(TransientTargetError):
            self.loader.load(self.send[record_type], documents)

    def records(self, record_type: str, keys: list[str]) -> dict[str, Any]:
        """POS key → its ledger record."""
        return self.ledger.lookup(self.integration.name, record_type, keys)

    def customers(self) -> list[Any]:
        customers, _ = transform_customers(extract_customers(self.world["pos"]))
        return [walk_in_customer(self.integration.bookkeeping), *customers]

    def target_customers(self) -> list[dict[str, Any]]:
        if self.world["target"] == "jurnal":
            return list(self.hook.iterate("customers"))
        return list(self.hook.iterate("customer", fields=["id", "customerNo", "name"]))

    def target_invoices(self) -> list[dict[str, Any]]:
        if self.world["target"] == "jurnal":
            return [{"id": r["id"], "number": r["transaction_no"]} for r in self.hook.iterate("sales_invoices")]
        return list(self.hook.iterate("sales-invoice", fields=["id", "number"]))

    def synced_ids(self, record_type: str, keys: list[str]) -> dict[str, str]:
        records = self.ledger.lookup(self.integration.name, record_type, keys)
        return {key: record.target_id for key, record in records.items() if record.status == "synced"}
