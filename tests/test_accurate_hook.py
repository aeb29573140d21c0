"""AccurateHook against a live Accurate sandbox (account host + data host): host discovery and signed calls,
pacing keeps a pool of hooks under 8 calls a second and 8 in flight, and every body the senders produce
validates against Accurate's published OpenAPI description for its endpoint. Retries, ``s:false`` refusals
and Retry-After, the same for every target: test_target_hooks_live.py."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from possync.config import load_config
from possync.db import make_engine
from possync.ledger import SyncLedger
from possync.pos.extract import Window, extract_customers, extract_products, extract_sales, extract_stock
from possync.targets.accurate.hook import AccurateHook
from possync.targets.base.bookkeeping import helper_items, walk_in_customer
from possync.targets.base.hook import exact_json
from possync.targets.base.loader import Loader
from possync.transform.sales import transform_customers, transform_products, transform_sales
from possync.transform.stock import transform_stock
from possync_devkit.demo_pos import DemoSpec, generate
from support.demo_week import shorted
from support.live_targets import AccurateLive

# a copy of shared/specs/accurate_openapi.json, so tests need nothing outside the repo
OPENAPI = Path(__file__).resolve().parents[1] / "specs" / "accurate_openapi.json"
# Fields the OpenAPI marks required although the service does not need them (shared/reference/
# accounting_apis.md §2.4 calls them a spec artefact): down payments, expenses and e-Faktur tax fields.
SPEC_ARTEFACT_REQUIRED = {"detailDownPayment", "detailExpense", "taxDate", "taxNumber"}


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[AccurateLive]:
    live = AccurateLive(tmp_path)
    yield live
    live.stop()


def test_the_data_host_is_discovered_and_test_connection_reports(monkeypatch, sandbox) -> None:
    hook = sandbox.connect(monkeypatch)
    ok, message = hook.test_connection()
    assert ok and sandbox.data.url in message, message
    assert hook.data_host == sandbox.data.url
    ok, message = sandbox.connect(monkeypatch, secret="wrong", conn_id="accurate_bad").test_connection()
    assert not ok and "X-Api-Signature" in message, message


def test_a_pool_of_hooks_stays_under_8_per_second_and_8_in_flight(monkeypatch, sandbox) -> None:
    sandbox.admin.faults({"latency_ms": 150})  # slow replies, so in-flight calls overlap
    sandbox.admin.reset_stats()
    pool = 3
    hooks = [sandbox.connect(monkeypatch, conn_id=f"accurate_p{n}", share=pool) for n in range(pool)]
    errors: list[BaseException] = []

    def work(hook: AccurateHook) -> None:
        try:
            for _ in range(8):
                hook.api("glaccount", "list", params={"sp.pageSize": 1})
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(hook,)) for hook in hooks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stats = sandbox.admin.stats()
    assert not errors, errors
    assert stats["refused_rate"] == 0 and stats["refused_in_flight"] == 0
    assert 1 < stats["max_in_flight_seen"] <= pool
    assert sum(hook.throttled for hook in hooks) == 0


# ---------------------------------------------------------------------------------- OpenAPI


def _strict(schema: Any) -> Any:
    """The published schema, minus its known artefacts, and closed: a field the API does not document is an
    error, so a misspelt field name cannot pass."""
    if isinstance(schema, dict):
        strict = {key: _strict(value) for key, value in schema.items()}
        if "properties" in strict:
            strict["additionalProperties"] = False
            strict["required"] = [f for f in strict.get("required", []) if f not in SPEC_ARTEFACT_REQUIRED]
        return strict
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def save_schema(spec: dict, module: str) -> dict:
    content = spec["paths"][f"/api/{module}/save.do"]["post"]["requestBody"]["content"]
    return _strict(content["application/json"]["schema"])


def test_every_body_sent_validates_against_the_openapi(monkeypatch, sandbox, tmp_path) -> None:
    spec = json.loads(OPENAPI.read_text())
    sent: list[tuple[str, Any]] = []
    original = AccurateHook.call

    def recording(self: AccurateHook, method: str, path: str, **kwargs: Any) -> Any:
        if kwargs.get("body") is not None:
            sent.append((path, json.loads(exact_json(kwargs["body"]))))  # the bytes on the wire
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(AccurateHook, "call", recording)
    integration = next(i for i in load_config().integrations if i.target == "accurate")
    pos = make_engine(f"sqlite:///{tmp_path / 'pos.db'}")
    generate(pos, DemoSpec(start_date=date(2026, 11, 9), days=4, orders_per_day=30))
    ledger = SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}", ensure_schema=True)
    hook = sandbox.connect(monkeypatch, conn_id="accurate_demo")
    loader = Loader(ledger, integration.name, target="Accurate")
    from possync.targets.accurate import TARGET

    send = TARGET.senders_by_type(hook, integration, ledger)
    TARGET.prepare(hook, integration, loader.log)
    customers, _ = transform_customers(extract_customers(pos))
    items, _ = transform_products(extract_products(pos))
    loader.load(send["customer"], [walk_in_customer(integration.bookkeeping), *customers])
    loader.load(send["item"], [*helper_items(integration.bookkeeping), *items])
    batch = transform_sales(extract_sales(pos, Window(datetime(2026, 11, 8, tzinfo=UTC),
                                                      datetime(2026, 11, 14, tzinfo=UTC))))
    for record_type, documents in (("invoice", batch.invoices), ("payment", batch.payments),
                                   ("return", batch.returns)):
        summary = loader.load(send[record_type], documents)
        assert summary.synced, record_type
    stock = transform_stock(extract_stock(pos, Window(datetime(2026, 11, 8, tzinfo=UTC),
                                                      datetime(2026, 11, 14, tzinfo=UTC))))
    stock.transfer_ins[0] = shorted(stock.transfer_ins[0])  # a difference written off needs its account
    for record_type, documents in (("transfer_out", stock.transfer_outs), ("transfer_in", stock.transfer_ins),
                                   ("adjustment", stock.adjustments), ("stock_take", stock.stock_takes)):
        summary = loader.load(send[record_type], documents)
        assert summary.synced, f"{record_type}: {summary.failures[:3]}"

    modules = Counter(path.removeprefix("/accurate/api/").split("/")[0] for path, _ in sent)
    assert {"customer", "item", "sales-invoice", "sales-receipt", "warehouse", "branch", "item-transfer",
            "item-adjustment"} <= set(modules)
    assert any("differenceItemTransferAccountNo" in item for path, body in sent if "item-transfer" in path
               for item in body.get("data", [body]))
    for path, body in sent:
        module, action = path.removeprefix("/accurate/api/").removesuffix(".do").split("/")
        items_sent = body["data"] if action == "bulk-save" else [body]
        schema = save_schema(spec, module)
        for item in items_sent:
            jsonschema.validate(item, schema)  # raises naming the field and the endpoint's rule
