"""The shared loader: oldest first, synced records skipped, prerequisites named, every outcome in the
ledger batch by batch, and a transient failure resumes without re-sending what succeeded."""

from __future__ import annotations

import logging
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
