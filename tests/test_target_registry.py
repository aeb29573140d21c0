"""A target is one folder: Ledgerbook (``tests/fake_target``, against its in-process HTTP API) is registered
and nothing else changes, yet its DAGs build, its sales sync through Airflow and the loader, and its records
show in Sync Status. And outside ``targets/<name>/`` no production code names a target."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from fake_target import TARGET as LEDGERBOOK
from fake_target.api import TOKEN, create_app
from possync.db import make_engine
from possync.ledger import SyncLedger
from possync.targets.base import registry
from support.airflow_api import api_server, token
from support.live_server import LiveServer
from support.pos_builder import T0, Line, Pos

PROJECT = Path(__file__).resolve().parents[1]
NAME = "ledgerbook_it"
WINDOW = {"window_start": "2026-11-09T00:00:00+07:00", "window_end": "2026-11-10T00:00:00+07:00"}


@pytest.fixture
def ledgerbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Ledgerbook registered, its API live, an integration of it in the config, a small POS and a ledger."""
    registry.register(LEDGERBOOK)
    api = create_app()
    server = LiveServer(api).start()
    config = {"integrations": [{
        "name": NAME, "target": "ledgerbook", "conn_id": "ledgerbook_it", "start_date": "2026-11-09",
        "pos_conn_id": "lb_pos", "ledger_conn_id": "lb_ledger", "sales": {"mode": "realtime"},
        "outlets": {"JKT01": {"warehouse": "Kemang"}},
    }]}
    (tmp_path / "integrations.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("POSSYNC_CONFIG", str(tmp_path / "integrations.yaml"))
    for conn_id, conn in {
        "ledgerbook_it": {"conn_type": "ledgerbook", "host": server.url, "password": TOKEN},
        "lb_pos": {"conn_type": "sqlite", "host": str(tmp_path / "pos.db")},
        "lb_ledger": {"conn_type": "sqlite", "host": str(tmp_path / "ledger.db")},
    }.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))

    shop = Pos(make_engine(f"sqlite:///{tmp_path / 'pos.db'}"))
    shop.outlet("JKT01")
    shop.product("Kopi Susu", "25000.00", sku="KOP-001")
    shop.product("Roti Bakar", "18000.00", sku=None)  # no SKU: its invoice cannot be synced
    shop.customer("Budi", "C-001")
    first = shop.order("INV-1", [Line("Kopi Susu", 2)], outlet="JKT01", customer="Budi")
    shop.order("INV-2", [Line("Kopi Susu", 1)], outlet="JKT01", at=T0 + timedelta(hours=1),
               payments=[("cash", "10000.00"), ("qris", None)])
    shop.order("INV-3", [Line("Roti Bakar", 1)], outlet="JKT01", at=T0 + timedelta(hours=2))
    shop.refund("RF-1", first, [(1, 1)], outlet="JKT01")
    try:
        yield {"api": api, "ledger": SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}")}
    finally:
        server.stop()
        registry.unregister("ledgerbook")


def test_a_registered_target_gets_its_dags_syncs_and_shows_in_sync_status(ledgerbook, airflow_db: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    assert not bag.import_errors, bag.import_errors
    assert sorted(bag.dag_ids) == [f"{NAME}__{flow}" for flow in ("customers", "products", "sales", "transfers")]
    dag = bag.get_dag(f"{NAME}__sales")
    assert "ledgerbook" in dag.tags and dag.get_task("sync_sales").pool == "ledgerbook_api"

    run = dag.test(run_conf=WINDOW)
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert states["sync_sales", 0] == "failed", "INV-3's product has no SKU"
    assert states["sync_customers", -1] == "success"

    books = ledgerbook["api"].state.books
    assert set(books["invoice"]) == {"INV-1", "INV-2"}
    assert books["invoice"]["INV-1"]["amount"] == "55500.00"  # 2 × 25,000 + 11% VAT, exact
    assert set(books["payment"]) == {"INV-1/P1", "INV-2/P1", "INV-2/P2"}
    assert set(books["return"]) == {"RF-1"}
    assert LEDGERBOOK.prepared == ["JKT01"]
    ledger = ledgerbook["ledger"]
    assert ledger.get(NAME, "invoice", "INV-1").status == "synced"
    assert "has no SKU" in ledger.get(NAME, "invoice", "INV-3").reason

    dag.test(run_conf=WINDOW)  # again: nothing created twice
    assert len(books["invoice"]) == 2 and len(books["payment"]) == 3

    server = api_server()
    response = server.get("/sync-status/api/records", params={"integration": NAME, "flow": "sales"},
                          headers=token("viewer"))
    assert response.status_code == 200, response.text
    shown = {record["key"]: record for record in response.json()["records"]}
    assert {"INV-1", "INV-2", "INV-3", "RF-1"} <= set(shown)
    assert shown["INV-1"]["status"] == "synced" and shown["INV-3"]["status"] == "failed"
    page = server.get("/sync-status/", params={"integration": NAME}, headers=token("viewer")).text
    target_id = ledger.get(NAME, "invoice", "INV-1").target_id
    assert f"https://ledgerbook.test/invoice/{target_id}" in page, "document links come from the target's hook"


def test_an_unknown_target_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    from possync.config import ConfigError, load_config

    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump({"integrations": [{
        "name": "x", "target": "ledgerbook", "conn_id": "c", "start_date": "2026-11-09",
        "sales": {"mode": "realtime"}, "outlets": {"JKT01": {"warehouse": "W"}}}]}))
    with pytest.raises(ConfigError, match=r"unknown target 'ledgerbook' \(known targets: accurate, jurnal\)"):
        load_config(path)


def test_the_hook_of_every_pool_task_paces_to_the_pools_share(tmp_path: Path, monkeypatch) -> None:
    """Sync and inbound tasks share the target pool, so each paces to 1/slots of the limit: an inbound task at
    the full 8 calls/s beside a sync task at 4/s would send 12/s against Accurate's 8."""
    from possync.config import load_config
    from possync.pipeline import process_webhooks

    config = yaml.safe_load((PROJECT / "include" / "config" / "integrations.yaml").read_text())
    [entry] = [i for i in config["integrations"] if registry.get_target(i["target"]).inbound is not None][:1]
    entry.update(target_concurrency=2, ledger_conn_id="share_ledger", pos_conn_id="share_pos")
    (tmp_path / "integrations.yaml").write_text(yaml.safe_dump({"integrations": [entry]}))
    integration = load_config(tmp_path / "integrations.yaml").integrations[0]
    monkeypatch.setenv("AIRFLOW_CONN_SHARE_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "l.db")}))
    monkeypatch.setenv("AIRFLOW_CONN_SHARE_POS", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "p.db")}))
    target = registry.get_target(integration.target)
    hooks: list[Any] = []
    monkeypatch.setattr(type(target.inbound), "process_pending",
                        lambda self, log, hook, pos, integration, logger: hooks.append(hook))
    process_webhooks(integration, target)
    [hook] = hooks
    assert hook.pacing_share == 2 == target.hook(integration).pacing_share


def _names_a_target(node: ast.AST, names: set[str]) -> bool:
    if isinstance(node, ast.ImportFrom):
        return any(part in names for part in (node.module or "").split("."))
    if isinstance(node, ast.Import):
        return any(part in names for alias in node.names for part in alias.name.split("."))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(name in node.value.casefold() for name in names)
    if isinstance(node, ast.Name | ast.Attribute):
        text = node.id if isinstance(node, ast.Name) else node.attr
        return any(name in text.casefold() for name in names)
    return False


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_no_code_outside_a_targets_folder_names_a_target() -> None:
    names = {name for name in registry.target_names()}
    offenders = []
    roots = [PROJECT / "include" / "possync", PROJECT / "plugins", PROJECT / "dags"]
    for path in sorted(p for root in roots for p in root.rglob("*.py")):
        parts = path.relative_to(PROJECT).parts
        if len(parts) > 3 and parts[2] == "targets" and parts[3] in names:
            continue  # the target's own folder
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if id(node) not in docstrings and _names_a_target(node, names):
                offenders.append(f"{path.relative_to(PROJECT)}:{getattr(node, 'lineno', '?')}")
    assert offenders == []
