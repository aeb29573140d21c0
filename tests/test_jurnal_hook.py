"""JurnalHook against a live Jurnal sandbox: signed requests accepted, pacing keeps the sandbox from ever
answering 429, and the integration's batch_size sizes the batch_create calls. Retries, refusals, Retry-After
and bodies validated against the swagger, the same for every target: test_target_hooks_live.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from possync.config import load_config
from possync.db import make_engine
from possync.ledger import SyncLedger
from possync.pos.extract import Window, extract_customers, extract_products, extract_sales
from possync.targets.base.bookkeeping import helper_items, walk_in_customer
from possync.targets.base.errors import OutcomeUnknownError
from possync.targets.base.loader import Loader
from possync.targets.jurnal import senders
from possync.targets.jurnal.hook import JurnalHook
from possync.transform.sales import transform_customers, transform_products, transform_sales
from possync_devkit.demo_pos import DemoSpec, generate
from support.live_targets import JurnalLive, running


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[JurnalLive]:
    yield from running(JurnalLive, tmp_path)


def test_signed_requests_are_accepted_and_test_connection_reports(monkeypatch, sandbox) -> None:
    assert sandbox.connect(monkeypatch).test_connection() == (True, f"Connected to Jurnal at {sandbox.url}")
    ok, message = sandbox.connect(monkeypatch, secret="wrong", conn_id="jurnal_bad").test_connection()
    assert not ok and message.startswith("credentials refused (HTTP 401)") and "HMAC signature" in message, message


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The hook's backoff sleeps, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr("possync.targets.base.hook.time.sleep", waits.append)
    return waits


def test_a_write_that_may_have_been_committed_is_not_repeated(monkeypatch, sandbox, no_waiting) -> None:
    """A 5xx or a dropped connection after a create: the sender looks up what it created, never the hook
    sending it again blindly (issue 15, problem 10)."""
    hook = sandbox.connect(monkeypatch)
    for fault in ({"error_rate": 1.0, "error_status": 503}, {"drop_after_commit_next": 1}):
        sandbox.admin.faults(fault)
        before = sandbox.admin.stats()["requests"]
        with pytest.raises(OutcomeUnknownError, match="may have committed"):
            hook.create("customers", {"display_name": f"Budi {len(no_waiting)}-{before}"})
        assert sandbox.admin.stats()["requests"] - before == 1, fault
        assert no_waiting == [] and hook.retried == 0


def test_pacing_means_the_sandbox_never_says_429(monkeypatch, sandbox) -> None:
    """Takes about a minute: the sixth request must wait for the first to leave the window."""
    limits = {"per_minute": 5, "per_hour": 1000, "per_ip_minute": 1000, "per_ip_hour": 10000}
    sandbox.admin.limits(limits)
    hook = sandbox.connect(monkeypatch, per_minute=5)
    for _ in range(6):
        hook.api("GET", "/warehouses")
    assert hook.throttled == 0 and sandbox.admin.stats()["rate_limited"] == 0
    assert hook.pacer.waited_seconds > 50


def test_the_integrations_batch_size_sizes_the_create_batches(monkeypatch, sandbox, tmp_path) -> None:
    """``batch_size: 7`` in integrations.yaml: 20 invoices go to Jurnal in 3 ``batch_create`` calls (7, 7, 6)."""
    sandbox.connect(monkeypatch)
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
        return sandbox.admin.stats()["by_endpoint"].get("POST /sales_invoices/batch_create", 0)

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
