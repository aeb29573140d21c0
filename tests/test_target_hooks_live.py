"""What every target hook does the same way, against each target's live sandbox: only transient failures are
retried (with exponential backoff) before being reported as transient, a refusal is permanent, never retried
and carries the target's own words, a 429 pauses the hook for what Retry-After says, and every body the
target's senders produce validates against the vendor's published API description for its endpoint.

Vendor-specific behaviour (Accurate's host discovery and pool pacing, Jurnal's pacing and batch sizes, ...) is
tested in test_jurnal_hook.py and test_accurate_hook.py."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from possync.config import load_config
from possync.db import make_engine
from possync.ledger import SyncLedger
from possync.pos.extract import Window, extract_customers, extract_products, extract_sales, extract_stock
from possync.targets.base.bookkeeping import helper_items, walk_in_customer
from possync.targets.base.errors import RejectedError, TransientTargetError
from possync.targets.base.hook import exact_json
from possync.targets.base.loader import Loader
from possync.targets.base.registry import get_target
from possync.transform.sales import transform_customers, transform_products, transform_sales
from possync.transform.stock import transform_stock
from possync_devkit.demo_pos import DemoSpec, generate
from support.demo_week import shorted
from support.live_targets import LIVE_TARGETS, LiveTarget, running

# copies of shared/specs/ (the vendors' published API descriptions), so tests need nothing outside the repo
SPECS = Path(__file__).resolve().parents[1] / "specs"


def _jurnal_refusal(hook: Any) -> Callable[[], Any]:
    hook.create("warehouses", {"name": "Kemang", "custom_id": "WH-K"})
    return lambda: hook.create("warehouses", {"name": "Dago", "custom_id": "WH-K"})  # the custom_id is taken


def _accurate_refusal(hook: Any) -> Callable[[], Any]:
    return lambda: hook.save("sales-invoice", {"customerNo": "NOBODY", "transDate": "09/11/2026",
                                               "detailItem": [{"itemNo": "X", "quantity": 1, "unitPrice": 1000}]})


def _three_warehouse_reads(hook: Any) -> None:
    for _ in range(3):  # the third is refused (2 a minute): the pacer holds everything until Retry-After
        hook.api("GET", "/warehouses")


@dataclass(frozen=True)
class Motions:
    """How each test's motions are made on one target."""

    # a read 5xx faults make fail (writes are never repeated blindly: test_jurnal_hook.py)
    failing_call: Callable[[Any], Any]
    # prepares what the target will refuse, returns the refused call
    refusal: Callable[[Any], Callable[[], Any]]
    refusal_words: str
    refusal_status: int | None  # Accurate refuses with s:false in a 200, Jurnal with an HTTP status
    # server limits low enough to refuse, a hook paced above them, and calls that run into them
    throttle_limits: dict[str, int]
    too_fast: dict[str, int]
    throttled_calls: Callable[[Any], Any]
    # Jurnal's Retry-After runs to the end of its minute, so one 429 pauses the hook once; Accurate's
    # per-second window may refuse more than one call
    throttled_once: bool
    # discovery first (Accurate's data host), so the counts below are the calls under test alone
    warm_up: Callable[[Any], Any] = field(default=lambda hook: None)


MOTIONS = {
    "jurnal": Motions(
        failing_call=lambda hook: hook.get("warehouses", 1),
        refusal=_jurnal_refusal, refusal_words="already been used", refusal_status=422,
        throttle_limits={"per_minute": 2, "per_hour": 1000, "per_ip_minute": 1000, "per_ip_hour": 10000},
        too_fast={"per_minute": 100}, throttled_calls=_three_warehouse_reads, throttled_once=True,
    ),
    "accurate": Motions(
        failing_call=lambda hook: next(hook.iterate("customer", fields=["id"])),
        refusal=_accurate_refusal, refusal_words="NOBODY", refusal_status=None,  # names what is wrong
        throttle_limits={"per_second": 1, "in_flight": 8},
        too_fast={"per_second": 100}, throttled_calls=lambda hook: list(hook.iterate("glaccount", fields=["id", "no"])),
        throttled_once=False, warm_up=lambda hook: hook.database,
    ),
}


@pytest.fixture(params=sorted(LIVE_TARGETS))
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveTarget]:
    yield from running(LIVE_TARGETS[request.param], tmp_path)


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The hook's backoff sleeps, recorded instead of slept (the pacer's own waits still happen)."""
    waits: list[float] = []
    monkeypatch.setattr("possync.targets.base.hook.time.sleep", waits.append)
    return waits


def test_server_errors_are_retried_then_reported_as_transient(monkeypatch, live: LiveTarget, no_waiting) -> None:
    motions = MOTIONS[live.name]
    hook = live.connect(monkeypatch)
    motions.warm_up(hook)
    live.admin.faults({"error_rate": 1.0, "error_status": 503})
    before = live.admin.stats()["requests"]
    with pytest.raises(TransientTargetError, match="after 3 attempts"):
        motions.failing_call(hook)
    assert live.admin.stats()["requests"] - before == 3
    assert hook.retried == 2
    assert no_waiting == [1.0, 2.0], "exponential backoff between attempts"


def test_a_refusal_is_permanent_not_retried_and_carries_the_targets_words(monkeypatch, live: LiveTarget,
                                                                           no_waiting) -> None:
    motions = MOTIONS[live.name]
    hook = live.connect(monkeypatch)
    motions.warm_up(hook)
    refused_call = motions.refusal(hook)
    before = live.admin.stats()["requests"]
    with pytest.raises(RejectedError) as refused:
        refused_call()
    assert live.admin.stats()["requests"] - before == 1
    assert motions.refusal_words in refused.value.message, "the target's own words name what is wrong"
    if motions.refusal_status is not None:
        assert refused.value.status == motions.refusal_status
    assert hook.retried == 0 and no_waiting == []


def test_rate_limited_requests_wait_for_retry_after(monkeypatch, live: LiveTarget, no_waiting) -> None:
    """Takes up to a minute on Jurnal: its Retry-After runs to the end of its minute window."""
    motions = MOTIONS[live.name]
    live.admin.limits(motions.throttle_limits)
    hook = live.connect(monkeypatch, **motions.too_fast)  # deliberately above the server's limit
    motions.warm_up(hook)
    motions.throttled_calls(hook)
    assert hook.throttled >= 1 and live.admin.stats()["rate_limited"] == hook.throttled
    assert no_waiting and hook.pacer.waited_seconds > 0.9, "Retry-After paused the pacer"
    if motions.throttled_once:
        assert hook.throttled == 1
        assert hook.pacer.waited_seconds == pytest.approx(no_waiting[0], abs=1.0), "waited what Retry-After said"


# ---------------------------------------------------------------------------------- the vendors' API descriptions

Checked = Iterator[tuple[str, Any, dict]]  # (endpoint, one document as sent, the schema it must satisfy)


def _relaxed(schema: Any) -> Any:
    """Jurnal's swagger is a dump of a Rails API typed from examples: every number is "integer" there although
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


def _jurnal_checked(spec: dict, method: str, path: str, body: Any) -> Checked:
    from possync.targets.jurnal.hook import API_PREFIX

    operation = spec["paths"][path][method.lower()]
    [parameter] = [p for p in operation["parameters"] if p.get("in") == "body"]
    yield path.removeprefix(API_PREFIX), body, _relaxed(parameter["schema"])


# Fields Accurate's OpenAPI marks required although the service does not need them (shared/reference/
# accounting_apis.md §2.4 calls them a spec artefact): down payments, expenses and e-Faktur tax fields.
SPEC_ARTEFACT_REQUIRED = {"detailDownPayment", "detailExpense", "taxDate", "taxNumber"}


def _strict(schema: Any) -> Any:
    """Accurate's published schema, minus its known artefacts, and closed: a field the API does not document
    is an error, so a misspelt field name cannot pass."""
    if isinstance(schema, dict):
        strict = {key: _strict(value) for key, value in schema.items()}
        if "properties" in strict:
            strict["additionalProperties"] = False
            strict["required"] = [f for f in strict.get("required", []) if f not in SPEC_ARTEFACT_REQUIRED]
        return strict
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def _accurate_checked(spec: dict, method: str, path: str, body: Any) -> Checked:
    module, action = path.removeprefix("/accurate/api/").removesuffix(".do").split("/")
    content = spec["paths"][f"/api/{module}/save.do"]["post"]["requestBody"]["content"]
    schema = _strict(content["application/json"]["schema"])
    for item in body["data"] if action == "bulk-save" else [body]:  # a bulk save checks each document
        yield module, item, schema


@dataclass(frozen=True)
class ApiDescription:
    file: str
    checked: Callable[[dict, str, str, Any], Checked]
    must_reach: set[str]  # the endpoints the demo's documents must have been sent to


API_DESCRIPTIONS = {
    "jurnal": ApiDescription("jurnal_swagger.json", _jurnal_checked, {
        "/warehouses", "/customers/batch_create", "/products/batch_create", "/sales_invoices/batch_create",
        "/receive_payments/batch_create", "/sales_returns", "/warehouse_transfers", "/stock_adjustments"}),
    "accurate": ApiDescription("accurate_openapi.json", _accurate_checked, {
        "customer", "item", "sales-invoice", "sales-receipt", "warehouse", "branch", "item-transfer",
        "item-adjustment"}),
}


def test_every_body_sent_validates_against_the_vendors_api_description(monkeypatch, live: LiveTarget,
                                                                       tmp_path: Path) -> None:
    description = API_DESCRIPTIONS[live.name]
    spec = json.loads((SPECS / description.file).read_text())
    integration = next(i for i in load_config().integrations if i.target == live.name)
    target = get_target(live.name)
    hook = live.connect(monkeypatch, conn_id=integration.conn_id)
    sent: list[tuple[str, str, Any]] = []
    original = type(hook).call

    def recording(self: Any, method: str, path: str, **kwargs: Any) -> Any:
        if kwargs.get("body") is not None:
            sent.append((method, path, json.loads(exact_json(kwargs["body"]))))  # the bytes on the wire
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(type(hook), "call", recording)
    pos = make_engine(f"sqlite:///{tmp_path / 'pos.db'}")
    generate(pos, DemoSpec(start_date=date(2026, 11, 9), days=4, orders_per_day=30))
    ledger = SyncLedger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}", ensure_schema=True)
    loader = Loader(ledger, integration.name, target=target.label)
    send = target.senders_by_type(hook, integration, ledger)
    target.prepare(hook, integration, loader.log)  # warehouses (and Accurate's branches) as the DAG makes them
    customers, _ = transform_customers(extract_customers(pos))
    loader.load(send["customer"], [walk_in_customer(integration.bookkeeping), *customers])
    items, _ = transform_products(extract_products(pos))
    loader.load(send["item"], [*helper_items(integration.bookkeeping), *items])
    window = Window(datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 14, tzinfo=UTC))
    batch = transform_sales(extract_sales(pos, window))
    for record_type, documents in (("invoice", batch.invoices), ("payment", batch.payments), ("return", batch.returns)):
        summary = loader.load(send[record_type], documents)
        assert summary.synced, f"no {record_type} reached {target.label}: {summary.failures[:3]}"
    stock = transform_stock(extract_stock(pos, window), until=window.end)
    # goods lost in transit: Jurnal takes them out of transit, Accurate writes the difference off to its account
    stock.transfer_ins[0] = shorted(stock.transfer_ins[0])
    for record_type, documents in (("transfer_out", stock.transfer_outs), ("transfer_in", stock.transfer_ins),
                                   ("adjustment", stock.adjustments), ("stock_take", stock.stock_takes)):
        summary = loader.load(send[record_type], documents)
        assert summary.synced, f"no {record_type} reached {target.label}: {summary.failures[:3]}"

    reached: Counter[str] = Counter()
    for method, path, body in sent:
        for endpoint, document, schema in description.checked(spec, method, path, body):
            jsonschema.validate(document, schema)  # raises naming the field and the endpoint's rule
            reached[endpoint] += 1
    assert description.must_reach <= set(reached), description.must_reach - set(reached)
    if live.name == "accurate":
        assert any("differenceItemTransferAccountNo" in document for _m, path, body in sent if "item-transfer" in path
                   for document in body.get("data", [body])), "the shorted transfer-in names its difference account"
