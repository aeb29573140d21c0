"""The shared loader: oldest first, synced records skipped, prerequisites named, every outcome in the
ledger batch by batch, and a transient failure resumes without re-sending what succeeded."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from possync.documents import Payment
from possync.ledger import RecordOutcome, RunRef, SyncLedger
from possync.targets.base.errors import TransientTargetError
from possync.targets.base.loader import Loader, Prerequisite, SendResult

T0 = datetime(2026, 11, 9, 3, tzinfo=UTC)


def payment(n: int, invoice: str = "INV-1") -> Payment:
    return Payment(key=f"{invoice}/P{n}", invoice_key=invoice, outlet_code="JKT01",
                   paid_at=T0 + timedelta(minutes=n), method="cash", amount=Decimal("1000.00"))


class FakeTarget:
    """A sender whose target assigns ids, and can be told to fail transiently at a given batch."""

    record_type, flow, batch_size = "payment", "sales", 3

    def __init__(self, fail_on_batch: int | None = None, refuse: set[str] | None = None) -> None:
        self.sent: list[str] = []
        self.batches = 0
        self.fail_on_batch = fail_on_batch
        self.refuse = refuse or set()

    def prerequisites(self, document: Payment) -> list[Prerequisite]:
        return [Prerequisite("invoice", document.invoice_key, f"invoice {document.invoice_key}")]

    def send(self, documents: Sequence[Payment]) -> list[SendResult]:
        self.batches += 1
        if self.batches == self.fail_on_batch:
            raise TransientTargetError("connection reset")
        results = []
        for document in documents:
            self.sent.append(document.key)
            if document.key in self.refuse:
                results.append(SendResult(document.key, "failed", reason="Target: amount is not valid"))
            else:
                results.append(SendResult(document.key, "synced", str(len(self.sent)), f"RP-{len(self.sent)}"))
        return results


@pytest.fixture
def ledger(sqlite_url: str) -> SyncLedger:
    ledger = SyncLedger.from_url(sqlite_url, ensure_schema=True)
    ledger.record("it", [RecordOutcome("invoice", "INV-1", "sales", "synced", target_id="9")])
    return ledger


def loader(ledger: SyncLedger) -> Loader:
    return Loader(ledger, "it", target="Target", run=RunRef("dag", "run", "task"), logger=logging.getLogger("t"))


def test_loads_in_batches_and_records_each_outcome(ledger: SyncLedger, caplog: pytest.LogCaptureFixture) -> None:
    target = FakeTarget(refuse={"INV-1/P4"})
    caplog.set_level(logging.INFO, "t")
    summary = loader(ledger).load(target, [payment(n) for n in range(1, 8)])

    assert (summary.read, summary.synced, summary.skipped, summary.failed) == (7, 6, 0, 1)
    assert target.batches == 3 and target.sent == [f"INV-1/P{n}" for n in range(1, 8)]
    assert ledger.get("it", "payment", "INV-1/P4").reason == "Target: amount is not valid"
    assert ledger.get("it", "payment", "INV-1/P5").target_number == "RP-5"
    lines = [r.getMessage() for r in caplog.records]
    assert sum("SYNCED" in line for line in lines) == 6 and sum("FAILED" in line for line in lines) == 1


def test_already_synced_is_skipped_not_sent(ledger: SyncLedger) -> None:
    documents = [payment(n) for n in range(1, 4)]
    loader(ledger).load(FakeTarget(), documents)
    again = FakeTarget()
    summary = loader(ledger).load(again, documents)
    assert again.sent == [] and summary.skipped == 3


def test_missing_prerequisite_fails_with_its_name_and_is_retried_later(ledger: SyncLedger) -> None:
    orphan = payment(1, invoice="INV-2")
    target = FakeTarget()
    summary = loader(ledger).load(target, [orphan])
    assert target.sent == [] and summary.failed == 1
    assert ledger.get("it", "payment", orphan.key).reason == (
        "invoice INV-2 has not been synced yet; it is retried once synced"
    )

    ledger.record("it", [RecordOutcome("invoice", "INV-2", "sales", "synced", target_id="10")])
    summary = loader(ledger).load(target, [orphan])
    assert target.sent == [orphan.key] and summary.synced == 1
    record = ledger.get("it", "payment", orphan.key)
    assert record.status == "synced" and record.reason is None


def test_transient_failure_keeps_earlier_batches_and_resumes(ledger: SyncLedger) -> None:
    documents = [payment(n) for n in range(1, 8)]
    with pytest.raises(TransientTargetError):
        loader(ledger).load(FakeTarget(fail_on_batch=2), documents)
    assert ledger.counts("it", "sales")["synced"] == 1 + 3  # the invoice and the first batch

    retry = FakeTarget()
    summary = loader(ledger).load(retry, documents)
    assert retry.sent == [f"INV-1/P{n}" for n in range(4, 8)], "nothing already synced is sent again"
    assert (summary.synced, summary.skipped) == (4, 3)


class ConcurrentTarget(FakeTarget):
    """A target whose batches may be sent beside each other (as the invoice and payment senders'): each batch
    goes through its own ``worker()`` copy, and every call is logged as it starts and ends."""

    concurrent_batches = True

    def __init__(self, fail_on_batch: int | None = None, in_step: int = 1) -> None:
        super().__init__(fail_on_batch)
        self.lock = threading.Lock()
        self.events: list[tuple[str, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        #: a batch's answer waits until this many batches have been sent: it proves they were in flight together
        self.together = threading.Barrier(in_step)
        self.workers: list[ConcurrentTarget] = []

    def worker(self) -> ConcurrentTarget:
        copy = self  # the log and counters are shared; per-batch state would be the copy's own
        self.workers.append(copy)
        return copy

    def send(self, documents: Sequence[Payment]) -> list[SendResult]:
        with self.lock:
            self.batches += 1
            number = self.batches
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.events.append(("sent", number))
        try:
            if self.together.parties > 1 and number <= self.together.parties:
                self.together.wait(timeout=30)  # broken (an error) if the batches are not sent together
            if number == self.fail_on_batch:
                raise TransientTargetError("connection reset")
            with self.lock:
                results = []
                for document in documents:
                    self.sent.append(document.key)
                    results.append(SendResult(document.key, "synced", document.key, f"RP-{document.key}"))
                return results
        finally:
            with self.lock:
                self.in_flight -= 1
                self.events.append(("answered", number))


def concurrent_loader(ledger: SyncLedger, in_flight: int) -> Loader:
    return Loader(ledger, "it", target="Target", run=RunRef("dag", "run", "task"), logger=logging.getLogger("t"),
                  batches_in_flight=in_flight)


def test_batches_in_flight_are_sent_together_and_recorded_in_order(ledger: SyncLedger,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    target = ConcurrentTarget(in_step=3)
    caplog.set_level(logging.INFO, "t")
    documents = [payment(n) for n in range(1, 17)]  # 6 batches of 3 (the last of 1)
    summary = concurrent_loader(ledger, 3).load(target, documents)

    assert target.most_in_flight == 3, "the first three batches were all in flight before any was answered"
    assert sorted(target.sent) == sorted(d.key for d in documents) and len(target.sent) == 16, "each sent once"
    assert (summary.synced, summary.failed) == (16, 0)
    assert len(target.workers) == 6, "every batch through a worker of its own"
    synced = [r.getMessage() for r in caplog.records if "SYNCED" in r.getMessage()]
    assert [line.split()[2] for line in synced] == [d.key for d in documents], "logged in the documents' order"
    assert all(ledger.get("it", "payment", d.key).status == "synced" for d in documents)


def test_a_sender_without_concurrent_batches_sends_one_at_a_time(ledger: SyncLedger) -> None:
    target = ConcurrentTarget()
    target.concurrent_batches = False
    concurrent_loader(ledger, 4).load(target, [payment(n) for n in range(1, 11)])
    assert target.most_in_flight == 1 and target.workers == []
    assert target.events == [(kind, n) for n in range(1, 5) for kind in ("sent", "answered")]


def test_a_batch_failing_in_flight_keeps_the_others_and_resumes_without_doubles(ledger: SyncLedger) -> None:
    """Batches 1-3 go out together; 2 fails. Batch 1's answer, read first, lets batch 4 go; 2's failure, read next,
    stops any more. 1, 3 and 4 were created and are recorded, the failure is raised, and the next run sends exactly
    what is missing."""
    documents = [payment(n) for n in range(1, 17)]
    target = ConcurrentTarget(fail_on_batch=2, in_step=3)
    with pytest.raises(TransientTargetError, match="connection reset"):
        concurrent_loader(ledger, 3).load(target, documents)
    assert target.batches == 4, "no batch sent after the failure was known"
    created = {d.key for d in documents[:3] + documents[6:12]}
    assert set(target.sent) == created
    for document in documents:
        record = ledger.get("it", "payment", document.key)
        assert (record is not None and record.status == "synced") == (document.key in created), document.key

    retry = ConcurrentTarget()
    summary = concurrent_loader(ledger, 3).load(retry, documents)
    assert sorted(retry.sent) == sorted(d.key for d in documents if d.key not in created)
    assert (summary.synced, summary.skipped) == (7, 9)
    assert sorted(target.sent + retry.sent) == sorted(d.key for d in documents), "every payment once, none twice"


def test_payments_go_only_once_every_invoice_batch_in_flight_is_answered(ledger: SyncLedger) -> None:
    """``load_in_order`` with batches in flight: every invoice batch is answered and recorded before the first payment
    is sent, so no payment waits for an invoice that is on its way."""
    from dataclasses import replace

    log: list[str] = []
    invoices, payments = ConcurrentTarget(in_step=3), ConcurrentTarget(in_step=3)
    invoices.record_type = "invoice"
    invoices.prerequisites = lambda document: []  # type: ignore[method-assign]
    loader_ = concurrent_loader(ledger, 3)
    loader_.load(invoices, [replace(payment(n), key=f"INV-{n + 10}") for n in range(1, 10)])
    log += [f"invoice {kind}" for kind, _ in invoices.events]
    summary = loader_.load(payments, [payment(1, invoice=f"INV-{n + 10}") for n in range(1, 10)])
    log += [f"payment {kind}" for kind, _ in payments.events]
    assert log.index("payment sent") == 6 and log[:6].count("invoice answered") == 3
    assert (summary.synced, summary.failed) == (9, 0), "every payment found its invoice synced"


def test_concurrent_batches_never_exceed_the_pacer_s_limit(ledger: SyncLedger) -> None:
    """Four batches in flight through one pacer (2 requests a 0.2 s): the requests' spans, from allowance to
    answer, never put more than 2 into any 0.2 s window the server could count (whatever the machine's speed)."""
    import time

    from possync.targets.base.pacing import Limit, Pacer

    pacer = Pacer([Limit(2, 0.2)], margin_seconds=0.0)
    spans: list[tuple[float, float]] = []

    class Paced(ConcurrentTarget):
        def send(self, documents: Sequence[Payment]) -> list[SendResult]:
            with pacer.sending():
                allowed = time.monotonic()
                results = super().send(documents)
                spans.append((allowed, time.monotonic()))
            return results

    target = Paced()
    concurrent_loader(ledger, 4).load(target, [payment(n) for n in range(1, 25)])
    assert len(spans) == 8 and target.most_in_flight >= 1
    for start, _ in spans:  # a window starting where any request may have arrived
        for window_start in (start, start - 0.2 + 1e-9):
            overlapping = [s for s in spans if s[0] < window_start + 0.2 and s[1] >= window_start]
            assert len(overlapping) <= 2, (window_start, overlapping)


@pytest.mark.parametrize("target", ["jurnal", "accurate"])
def test_a_worker_keeps_its_batch_s_state_to_itself(target: str) -> None:
    """What ``send`` sets for its batch (the customers and products it maps, Jurnal's list readings) is the worker's;
    the hook (its session and pacer) and the ledger are the sender's."""
    import importlib

    senders = importlib.import_module(f"possync.targets.{target}.senders")
    hook, ledger = object(), object()
    for name in ("InvoiceSender", "ReceiptSender" if target == "accurate" else "PaymentSender"):
        sender = getattr(senders, name)(hook, None, ledger)
        assert sender.concurrent_batches
        if target == "jurnal":
            sender._listings[("page", 1),] = [{"id": 1}]
        worker = sender.worker()
        worker._customers = {"CUST-1": ("7", "C-1")}
        assert not hasattr(sender, "_customers") and worker.hook is hook and worker.ledger is ledger
        if target == "jurnal":
            assert worker._listings == {} and sender._listings, "a worker reads the lists since its own creates"
