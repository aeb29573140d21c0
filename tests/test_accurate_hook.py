"""AccurateHook against a live Accurate sandbox (account host + data host): host discovery and signed calls,
``s:false`` refusals permanent and never retried, only transient failures retried, Retry-After honoured,
pacing keeps a pool of hooks under 8 calls a second and 8 in flight, and every body the senders produce
validates against Accurate's published OpenAPI description for its endpoint."""

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
import requests

from demo_week import shorted
from live_server import LiveServer
from possync.config import load_config
from possync.db import make_engine
from possync.ledger import SyncLedger
from possync.pos.extract import Window, extract_customers, extract_products, extract_sales, extract_stock
from possync.targets.accurate.hook import AccurateHook
from possync.targets.base.bookkeeping import helper_items, walk_in_customer
from possync.targets.base.errors import RejectedError, TransientTargetError
from possync.targets.base.hook import exact_json
from possync.targets.base.loader import Loader
from possync.transform.sales import transform_customers, transform_products, transform_sales
from possync.transform.stock import transform_stock
from possync_devkit.demo_pos import DemoSpec, generate
from possync_devkit.sandbox.accurate import DEMO_API_TOKEN, DEMO_SIGNATURE_SECRET, SandboxConfig, create_apps
from possync_devkit.sandbox.accurate.config import RateLimits

# a copy of shared/specs/accurate_openapi.json, so tests need nothing outside the repo
OPENAPI = Path(__file__).resolve().parents[1] / "specs" / "accurate_openapi.json"
# Fields the OpenAPI marks required although the service does not need them (shared/reference/
# accounting_apis.md §2.4 calls them a spec artefact): down payments, expenses and e-Faktur tax fields.
SPEC_ARTEFACT_REQUIRED = {"detailDownPayment", "detailExpense", "taxDate", "taxNumber"}


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[dict[str, LiveServer]]:
    config = SandboxConfig(db_path=str(tmp_path / "accurate.db"), limits=RateLimits(per_second=8, in_flight=8))
    account_app, data_app = create_apps(config)
    data = LiveServer(data_app).start()
    config.data_host_url = data.url
    account = LiveServer(account_app).start()
    yield {"account": account, "data": data}
    account.stop()
    data.stop()


def connect(monkeypatch: pytest.MonkeyPatch, sandbox: dict[str, LiveServer], *, conn_id: str = "accurate_t",
            secret: str = DEMO_SIGNATURE_SECRET, per_second: int = 8, share: int = 1) -> AccurateHook:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
        "conn_type": "accurate", "host": sandbox["account"].url, "password": DEMO_API_TOKEN,
        "extra": {"signature_secret": secret, "requests_per_second": per_second, "timeout": 10},
    }))
    return AccurateHook(conn_id, max_attempts=3, pacing_share=share)


def admin(sandbox: dict[str, LiveServer], path: str, body: dict | None = None) -> dict:
    url = f"{sandbox['data'].url}/_sandbox/{path}"
    response = requests.post(url, json=body, timeout=10) if body is not None else requests.get(url, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr("possync.targets.base.hook.time.sleep", waits.append)
    return waits


def test_the_data_host_is_discovered_and_test_connection_reports(monkeypatch, sandbox) -> None:
    hook = connect(monkeypatch, sandbox)
    ok, message = hook.test_connection()
    assert ok and sandbox["data"].url in message, message
    assert hook.data_host == sandbox["data"].url
    ok, message = connect(monkeypatch, sandbox, secret="wrong", conn_id="accurate_bad").test_connection()
    assert not ok and "X-Api-Signature" in message, message


def test_a_refusal_is_permanent_and_not_retried(monkeypatch, sandbox) -> None:
    hook = connect(monkeypatch, sandbox)
    hook.database  # ruff: ignore[useless-expression] - discovery first, so the count below is the save alone
    before = admin(sandbox, "stats")["accepted"]
    with pytest.raises(RejectedError) as refused:
        hook.save("sales-invoice", {"customerNo": "NOBODY", "transDate": "09/11/2026",
                                    "detailItem": [{"itemNo": "X", "quantity": 1, "unitPrice": 1000}]})
    assert "NOBODY" in refused.value.message, "Accurate's own words name what is wrong"
    assert admin(sandbox, "stats")["accepted"] == before + 1 and hook.retried == 0


def test_server_errors_are_retried_then_reported_as_transient(monkeypatch, sandbox, no_waiting) -> None:
    hook = connect(monkeypatch, sandbox)
    hook.database  # ruff: ignore[useless-expression]
    admin(sandbox, "faults", {"error_rate": 1.0, "error_status": 503})
    with pytest.raises(TransientTargetError, match="3 attempts"):
        hook.iterate("customer", fields=["id"]).__next__()
    assert hook.retried == 2 and len(no_waiting) == 2


def test_429_waits_what_retry_after_says(monkeypatch, sandbox, no_waiting) -> None:
    admin(sandbox, "limits", {"per_second": 1, "in_flight": 8})
    hook = connect(monkeypatch, sandbox, per_second=100)  # a hook paced wrongly, to make the sandbox refuse
    hook.database  # ruff: ignore[useless-expression]
    assert list(hook.iterate("glaccount", fields=["id", "no"]))
    assert hook.throttled >= 1 and hook.pacer.waited_seconds > 0.9, "Retry-After: 1 paused the pacer"


def test_a_pool_of_hooks_stays_under_8_per_second_and_8_in_flight(monkeypatch, sandbox) -> None:
    admin(sandbox, "faults", {"latency_ms": 150})  # slow replies, so in-flight calls overlap
    admin(sandbox, "stats/reset", {})
    pool = 3
    hooks = [connect(monkeypatch, sandbox, conn_id=f"accurate_p{n}", share=pool) for n in range(pool)]
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
    stats = admin(sandbox, "stats")
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
    hook = connect(monkeypatch, sandbox, conn_id="accurate_demo")
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
