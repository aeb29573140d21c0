"""JurnalHook against a live Jurnal sandbox: signed requests accepted, only transient failures retried,
Retry-After honoured, pacing keeps the sandbox from ever answering 429, and every body the senders
produce validates against Jurnal's published swagger for its endpoint."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
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
from possync.targets.base.bookkeeping import helper_items, walk_in_customer
from possync.targets.base.errors import OutcomeUnknownError, RejectedError, TransientTargetError
from possync.targets.base.hook import exact_json
from possync.targets.base.loader import Loader
from possync.targets.jurnal import senders
from possync.targets.jurnal.hook import API_PREFIX, JurnalHook
from possync.transform.sales import transform_customers, transform_products, transform_sales
from possync.transform.stock import transform_stock
from possync_devkit.demo_pos import DemoSpec, generate
from possync_devkit.sandbox.jurnal import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SandboxConfig, create_app
from possync_devkit.sandbox.jurnal.config import RateLimits

# a copy of shared/specs/jurnal_swagger.json (Jurnal's published API), so tests need nothing outside the repo
SWAGGER = Path(__file__).resolve().parents[1] / "specs" / "jurnal_swagger.json"
UNLIMITED = RateLimits(per_minute=100_000, per_hour=1_000_000, per_ip_minute=100_000, per_ip_hour=1_000_000)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(create_app(SandboxConfig(db_path=str(tmp_path / "jurnal.db"), limits=UNLIMITED))).start()
    yield server
    server.stop()


def connect(monkeypatch: pytest.MonkeyPatch, server: LiveServer, *, secret: str = DEMO_CLIENT_SECRET,
            per_minute: int = 100_000, conn_id: str = "jurnal_t") -> JurnalHook:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
        "conn_type": "jurnal", "host": server.url, "login": DEMO_CLIENT_ID, "password": secret,
        "extra": {"requests_per_minute": per_minute, "requests_per_hour": 1_000_000, "timeout": 10},
    }))
    return JurnalHook(conn_id, max_attempts=3)


def admin(server: LiveServer, path: str, body: dict | None = None) -> dict:
    response = requests.post(f"{server.url}/_sandbox/{path}", json=body, timeout=10) if body is not None \
        else requests.get(f"{server.url}/_sandbox/{path}", timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr("possync.targets.base.hook.time.sleep", waits.append)
    return waits


def test_signed_requests_are_accepted_and_test_connection_reports(monkeypatch, sandbox) -> None:
    assert connect(monkeypatch, sandbox).test_connection() == (True, f"Connected to Jurnal at {sandbox.url}")
    ok, message = connect(monkeypatch, sandbox, secret="wrong", conn_id="jurnal_bad").test_connection()
    assert not ok and "401" not in message and message, message


def test_server_errors_are_retried_then_reported_as_transient(monkeypatch, sandbox, no_waiting) -> None:
    hook = connect(monkeypatch, sandbox)
    admin(sandbox, "faults", {"error_rate": 1.0, "error_status": 503})
    before = admin(sandbox, "stats")["requests"]
    with pytest.raises(TransientTargetError, match="after 3 attempts"):
        hook.get("warehouses", 1)
    assert admin(sandbox, "stats")["requests"] - before == 3
    assert no_waiting == [1.0, 2.0], "exponential backoff between attempts"


def test_a_write_that_may_have_been_committed_is_not_repeated(monkeypatch, sandbox, no_waiting) -> None:
    """A 5xx or a dropped connection after a create: the sender looks up what it created, never the hook
    sending it again blindly (issue 15, problem 10)."""
    hook = connect(monkeypatch, sandbox)
    for fault in ({"error_rate": 1.0, "error_status": 503}, {"drop_after_commit_next": 1}):
        admin(sandbox, "faults", fault)
        before = admin(sandbox, "stats")["requests"]
        with pytest.raises(OutcomeUnknownError, match="may have committed"):
            hook.create("warehouses", {"name": f"Kemang {len(no_waiting)}-{before}"})
        assert admin(sandbox, "stats")["requests"] - before == 1, fault
        assert no_waiting == [] and hook.retried == 0


def test_a_rejection_is_not_retried_and_carries_jurnals_words(monkeypatch, sandbox, no_waiting) -> None:
    hook = connect(monkeypatch, sandbox)
    hook.create("warehouses", {"name": "Kemang", "custom_id": "WH-K"})
    before = admin(sandbox, "stats")["requests"]
    with pytest.raises(RejectedError) as rejected:
        hook.create("warehouses", {"name": "Dago", "custom_id": "WH-K"})
    assert admin(sandbox, "stats")["requests"] - before == 1
    assert rejected.value.status == 422 and "already been used" in rejected.value.message
    assert no_waiting == []


def test_rate_limited_requests_wait_for_retry_after(monkeypatch, sandbox, no_waiting) -> None:
    """Takes up to a minute: the server's Retry-After runs to the end of its minute window."""
    admin(sandbox, "limits", {"per_minute": 2, "per_hour": 1000, "per_ip_minute": 1000, "per_ip_hour": 10000})
    hook = connect(monkeypatch, sandbox, per_minute=100)  # deliberately above the server's limit
    hook.api("GET", "/warehouses")
    hook.api("GET", "/warehouses")
    hook.api("GET", "/warehouses")  # 429, then the pacer holds everything until Retry-After has passed
    assert hook.throttled == 1
    assert admin(sandbox, "stats")["rate_limited"] == 1
    assert hook.pacer.waited_seconds == pytest.approx(no_waiting[0], abs=1.0), "waited what Retry-After said"


def test_pacing_means_the_sandbox_never_says_429(monkeypatch, sandbox) -> None:
    """Takes about a minute: the sixth request must wait for the first to leave the window."""
    limits = {"per_minute": 5, "per_hour": 1000, "per_ip_minute": 1000, "per_ip_hour": 10000}
    admin(sandbox, "limits", limits)
    hook = connect(monkeypatch, sandbox, per_minute=5)
    for _ in range(6):
        hook.api("GET", "/warehouses")
    assert hook.throttled == 0 and admin(sandbox, "stats")["rate_limited"] == 0
    assert hook.pacer.waited_seconds > 50


# ---------------------------------------------------------------------------------- swagger


def _relaxed(schema: Any) -> Any:
    """The swagger is a dump of a Rails API typed from examples: every number is "integer" there although
    the API takes decimals (quantities of 0.25 kg, amounts with sen). Accept any number where it says
    integer; everything else is checked as published."""
    if isinstance(schema, dict):
        relaxed = {key: _relaxed(value) for key, value in schema.items()}
        if relaxed.get("type") == "integer":
            relaxed["type"] = "number"
        return relaxed
    if isinstance(schema, list):
        return [_relaxed(item) for item in schema]
    return schema


def body_schema(swagger: dict, method: str, path: str) -> dict:
    operation = swagger["paths"][API_PREFIX + path][method.lower()]
    [parameter] = [p for p in operation["parameters"] if p.get("in") == "body"]
    return _relaxed(parameter["schema"])


class RecordingHook(JurnalHook):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, str, Any]] = []

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        if kwargs.get("body") is not None:
            body = json.loads(exact_json(kwargs["body"]), parse_float=Decimal)  # as it goes on the wire
            self.sent.append((method, path.removeprefix(API_PREFIX), body))
        return super().call(method, path, **kwargs)


def test_every_body_sent_validates_against_the_swagger(monkeypatch, sandbox, tmp_path) -> None:
    swagger = json.loads(SWAGGER.read_text())
    connect(monkeypatch, sandbox)
    hook = RecordingHook("jurnal_t")
    pos = make_engine(f"sqlite:///{tmp_path / 'pos.db'}")
    generate(pos, DemoSpec(start_date=date(2026, 11, 9), days=3, orders_per_day=40))
    ledger = SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}", ensure_schema=True)
    integration = load_config().integrations[0]
    loader = Loader(ledger, integration.name, target="Jurnal", logger=logging.getLogger("t"))
    send = {s.record_type: s for s in (cls(hook, integration, ledger) for cls in (
        senders.CustomerSender, senders.ItemSender, senders.InvoiceSender, senders.PaymentSender,
        senders.ReturnSender, senders.TransferOutSender, senders.TransferInSender, senders.AdjustmentSender,
        senders.StockTakeSender))}

    for outlet in sorted(integration.outlets.values(), key=lambda o: o.warehouse):
        hook.create("warehouses", {"name": outlet.warehouse})
    hook.create("warehouses", {"name": integration.bookkeeping.transit_warehouse})
    customers, _ = transform_customers(extract_customers(pos))
    loader.load(send["customer"], [walk_in_customer(integration.bookkeeping), *customers])
    items, _ = transform_products(extract_products(pos))
    loader.load(send["item"], [*helper_items(integration.bookkeeping), *items])
    window = Window(datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 13, tzinfo=UTC))
    batch = transform_sales(extract_sales(pos, window))
    for record_type, documents in (("invoice", batch.invoices), ("payment", batch.payments), ("return", batch.returns)):
        summary = loader.load(send[record_type], documents)
        assert summary.synced, f"no {record_type} reached Jurnal: {summary.failures[:3]}"
    stock = transform_stock(extract_stock(pos, window), until=window.end)
    stock.transfer_ins[0] = shorted(stock.transfer_ins[0])  # goods lost in transit go out of transit
    for record_type, documents in (("transfer_out", stock.transfer_outs), ("transfer_in", stock.transfer_ins),
                                   ("adjustment", stock.adjustments), ("stock_take", stock.stock_takes)):
        summary = loader.load(send[record_type], documents)
        assert summary.synced, f"no {record_type} reached Jurnal: {summary.failures[:3]}"

    checked = set()
    for method, path, body in hook.sent:
        jsonschema.validate(body, body_schema(swagger, method, path))
        checked.add(path)
    assert {"/warehouses", "/customers/batch_create", "/products/batch_create", "/sales_invoices/batch_create",
            "/receive_payments/batch_create", "/sales_returns", "/warehouse_transfers", "/stock_adjustments"} <= checked


def test_the_integrations_batch_size_sizes_the_create_batches(monkeypatch, sandbox, tmp_path) -> None:
    """``batch_size: 7`` in integrations.yaml: 20 invoices go to Jurnal in 3 ``batch_create`` calls (7, 7, 6)."""
    connect(monkeypatch, sandbox)
    hook = JurnalHook("jurnal_t")
    pos = make_engine(f"sqlite:///{tmp_path / 'pos.db'}")
    generate(pos, DemoSpec(start_date=date(2026, 11, 9), days=1, orders_per_day=30))
    ledger = SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}", ensure_schema=True)
    integration = load_config().integrations[0].model_copy(update={"batch_size": 7})
    loader = Loader(ledger, integration.name, target="Jurnal", logger=logging.getLogger("t"))
    for outlet in sorted(integration.outlets.values(), key=lambda o: o.warehouse):
        hook.create("warehouses", {"name": outlet.warehouse})
    customers, _ = transform_customers(extract_customers(pos))
    loader.load(senders.CustomerSender(hook, integration, ledger),
                [walk_in_customer(integration.bookkeeping), *customers])
    items, _ = transform_products(extract_products(pos))
    loader.load(senders.ItemSender(hook, integration, ledger), [*helper_items(integration.bookkeeping), *items])
    window = Window(datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 13, tzinfo=UTC))
    invoices = transform_sales(extract_sales(pos, window)).invoices[:20]
    assert len(invoices) == 20

    def batch_calls() -> int:
        return admin(sandbox, "stats")["by_endpoint"].get("POST /sales_invoices/batch_create", 0)

    before = batch_calls()
    summary = loader.load(senders.InvoiceSender(hook, integration, ledger), invoices)
    assert summary.synced == 20, summary.failures[:3]
    assert batch_calls() - before == 3


@pytest.mark.parametrize("configured, expected", [(7, 7), (100, 100), (1, 1)])
def test_every_sender_batches_at_most_the_configured_size(configured: int, expected: int) -> None:
    from possync.targets.accurate import senders as accurate_senders

    integration = load_config().integrations[0].model_copy(update={"batch_size": configured})
    batching = [senders.CustomerSender, senders.ItemSender, senders.InvoiceSender, senders.PaymentSender,
                accurate_senders.CustomerSender, accurate_senders.InvoiceSender, accurate_senders.ReceiptSender,
                accurate_senders.ReturnSender, accurate_senders.TransferOutSender]
    for cls in batching:
        assert cls(None, integration, None).batch_size == expected, cls
    # one request per document anyway: the ledger is written every 20 at most
    for cls in (senders.ReturnSender, senders.TransferOutSender, senders.AdjustmentSender):
        assert cls(None, integration, None).batch_size == min(configured, 20), cls
