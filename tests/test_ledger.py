"""The sync ledger on SQLite and PostgreSQL: schema, merge rules, reads, id maps, watermarks, hashes."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import get_args

import pytest
from sqlalchemy import insert, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError

from possync.documents import InvoiceLine, SalesInvoice
from possync.ledger import (
    STATUSES,
    RecordOutcome,
    RunRef,
    Status,
    SyncLedger,
    content_hash,
    create_schema,
)
from possync.ledger.schema import sync_records

WIB = timezone(timedelta(hours=7), "WIB")
RUN_A = RunRef("jurnal_demo__sales", "scheduled__2026-11-09T05:00:00+00:00", "load_invoices", 2, 1)
RUN_B = RunRef("jurnal_demo__sales", "backfill__2026-11-09T05:00:00+00:00", "load_invoices", 0, 3)
J = "jurnal_demo"


@pytest.fixture
def ledger(db_engine: Engine) -> SyncLedger:
    create_schema(db_engine)
    return SyncLedger(db_engine)


def invoice(key: str, status: Status, **fields: object) -> RecordOutcome:
    return RecordOutcome("invoice", key, "sales", status, **fields)  # type: ignore[arg-type]


def test_create_schema_is_idempotent_and_indexes_the_status_queries(db_engine: Engine) -> None:
    create_schema(db_engine)
    ledger = SyncLedger(db_engine)
    ledger.record(J, [invoice("INV-1", "pending", content_hash="h1")])
    create_schema(db_engine)  # again: nothing dropped, nothing duplicated

    assert ledger.get(J, "invoice", "INV-1") is not None
    inspector = inspect(db_engine)
    assert {"sync_records", "sync_id_maps", "sync_watermarks"} <= set(inspector.get_table_names())
    indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes("sync_records")}
    assert ("integration", "flow", "status", "business_time") in indexes
    assert ("integration", "status", "last_attempt_at") in indexes
    uniques = {tuple(uq["column_names"]) for uq in inspector.get_unique_constraints("sync_records")}
    assert ("integration", "record_type", "business_key") in uniques
    assert {tuple(uq["column_names"]) for uq in inspector.get_unique_constraints("sync_id_maps")} == {
        ("integration", "kind", "pos_key")
    }
    assert {tuple(uq["column_names"]) for uq in inspector.get_unique_constraints("sync_watermarks")} == {
        ("integration", "flow", "name")
    }


def test_record_and_get_round_trip_exact_fields_with_aware_utc_times(ledger: SyncLedger) -> None:
    business_time = datetime(2026, 11, 9, 12, 30, 15, 250_000, tzinfo=WIB)
    before = datetime.now(UTC)
    ledger.record(
        J,
        [
            invoice(
                "INV-0042",
                "synced",
                content_hash="a" * 64,
                outlet_code="JKT01",
                business_time=business_time,
                target_id="8812",
                target_number="SI/2026/0042",
                reason="ignored on success",
            )
        ],
        RUN_A,
    )
    after = datetime.now(UTC)

    rec = ledger.get(J, "invoice", "INV-0042")
    assert rec is not None
    assert (rec.integration, rec.record_type, rec.key, rec.flow, rec.status) == (
        J,
        "invoice",
        "INV-0042",
        "sales",
        "synced",
    )
    assert (rec.outlet_code, rec.content_hash, rec.target_id, rec.target_number, rec.reason) == (
        "JKT01",
        "a" * 64,
        "8812",
        "SI/2026/0042",
        None,
    )
    assert rec.business_time == datetime(2026, 11, 9, 5, 30, 15, 250_000, tzinfo=UTC)
    assert rec.business_time.tzinfo is UTC
    assert rec.attempts == 1
    assert rec.run == RUN_A
    for moment in (rec.first_seen_at, rec.last_attempt_at, rec.synced_at, rec.updated_at):
        assert moment is not None and moment.tzinfo is UTC
        assert before <= moment <= after
    assert ledger.get(J, "invoice", "INV-0043") is None
    assert ledger.get("accurate_demo", "invoice", "INV-0042") is None


def test_cli_writes_without_a_run_leave_run_refs_empty(ledger: SyncLedger) -> None:
    ledger.record(J, [invoice("INV-1", "failed", reason="customer CUST-9 has not been synced yet")])
    rec = ledger.get(J, "invoice", "INV-1")
    assert rec is not None and rec.run is None
    assert (rec.dag_id, rec.run_id, rec.task_id, rec.map_index, rec.try_number) == (None,) * 5


def test_attempts_count_only_load_attempts(ledger: SyncLedger) -> None:
    expected = {"pending": 0, "failed": 1, "skipped": 1, "synced": 2}
    for status in ("pending", "failed", "skipped"):
        ledger.record(J, [invoice("INV-1", status, content_hash="h1")])
        rec = ledger.get(J, "invoice", "INV-1")
        assert rec is not None and (rec.status, rec.attempts) == (status, expected[status])
    ledger.record(
        J, [invoice("INV-1", "failed", content_hash="h1"), invoice("INV-1", "synced", content_hash="h1")]
    )
    rec = ledger.get(J, "invoice", "INV-1")
    assert rec is not None and (rec.status, rec.attempts) == ("synced", 3)
    assert rec.last_attempt_at is not None and rec.synced_at is not None


def test_synced_record_is_not_downgraded_by_the_same_content(ledger: SyncLedger) -> None:
    ledger.record(
        J, [invoice("INV-1", "synced", content_hash="h1", target_id="77", target_number="SI/77")], RUN_A
    )
    first = ledger.get(J, "invoice", "INV-1")
    assert first is not None

    # An overlapping backfill saw "already exists"; a later extract re-stages it; another skips it.
    ledger.record(
        J, [invoice("INV-1", "failed", content_hash="h1", reason="transaction_no already exists")], RUN_B
    )
    ledger.record(J, [invoice("INV-1", "pending", content_hash="h1")], RUN_B)
    ledger.record(J, [invoice("INV-1", "skipped", reason="no hash given")], RUN_B)

    rec = ledger.get(J, "invoice", "INV-1")
    assert rec is not None
    assert (rec.status, rec.target_id, rec.target_number, rec.reason) == ("synced", "77", "SI/77", None)
    assert rec.synced_at == first.synced_at
    assert rec.last_attempt_at == first.last_attempt_at
    assert rec.run == RUN_A
    assert rec.updated_at > first.updated_at
    assert rec.attempts == 2  # the backfill's attempt did happen: it is counted, it just changes nothing

    # Reporting success again keeps the first sync time: the target document did not change.
    ledger.record(J, [invoice("INV-1", "synced", content_hash="h1", target_id="77")], RUN_B)
    rec = ledger.get(J, "invoice", "INV-1")
    assert rec is not None and rec.synced_at == first.synced_at and rec.attempts == 3


def test_changed_content_reopens_a_synced_record_and_keeps_target_ids(ledger: SyncLedger) -> None:
    ledger.record(
        J, [invoice("INV-1", "synced", content_hash="h1", target_id="77", target_number="SI/77")], RUN_A
    )
    first = ledger.get(J, "invoice", "INV-1")
    assert first is not None

    ledger.record(J, [invoice("INV-1", "pending", content_hash="h2")], RUN_B)
    rec = ledger.get(J, "invoice", "INV-1")
    assert rec is not None
    assert (rec.status, rec.content_hash, rec.target_id, rec.target_number) == (
        "pending",
        "h2",
        "77",
        "SI/77",
    )
    assert rec.run == RUN_B
    assert rec.synced_at == first.synced_at  # when it was last in the target, for the status page

    ledger.record(J, [invoice("INV-1", "failed", content_hash="h2", reason="product 'Kopi Susu' has no SKU")])
    rec = ledger.get(J, "invoice", "INV-1")
    assert rec is not None
    assert (rec.status, rec.reason, rec.target_id, rec.attempts) == (
        "failed",
        "product 'Kopi Susu' has no SKU",
        "77",
        2,
    )

    ledger.record(J, [invoice("INV-1", "synced", content_hash="h2", target_number="SI/77-R1")], RUN_B)
    rec = ledger.get(J, "invoice", "INV-1")
    assert rec is not None
    assert (rec.status, rec.reason, rec.target_id, rec.target_number) == ("synced", None, "77", "SI/77-R1")
    assert rec.synced_at is not None and first.synced_at is not None and rec.synced_at > first.synced_at


def test_failed_then_synced_clears_the_reason(ledger: SyncLedger) -> None:
    ledger.record(
        J, [invoice("INV-1", "failed", content_hash="h1", reason="Jurnal said 422: customer missing")]
    )
    rec = ledger.get(J, "invoice", "INV-1")
    assert rec is not None and rec.reason == "Jurnal said 422: customer missing" and rec.synced_at is None
    ledger.record(J, [invoice("INV-1", "synced", content_hash="h1", target_id="9")], RUN_A)
    rec = ledger.get(J, "invoice", "INV-1")
    assert rec is not None
    assert (rec.status, rec.reason, rec.target_id, rec.attempts) == ("synced", None, "9", 2)
    assert rec.synced_at is not None and rec.run == RUN_A


def test_a_key_repeated_in_one_batch_is_applied_in_order(ledger: SyncLedger) -> None:
    # PostgreSQL refuses to update one row twice in a statement; the ledger must split, not fail.
    ledger.record(
        J,
        [
            invoice("INV-2", "pending", content_hash="h"),
            invoice("INV-1", "failed", content_hash="h", reason="timeout"),
            invoice("INV-1", "synced", content_hash="h", target_id="5"),
            invoice("INV-1", "failed", content_hash="h", reason="overlap"),
        ],
    )
    rec = ledger.get(J, "invoice", "INV-1")
    assert rec is not None and (rec.status, rec.attempts, rec.target_id, rec.reason) == (
        "synced",
        3,
        "5",
        None,
    )


def test_lookup_answers_across_chunks(ledger: SyncLedger) -> None:
    keys = [f"INV-{n:05d}" for n in range(1500)]
    ledger.record(
        J,
        [invoice(key, "synced" if n % 3 == 0 else "failed", target_id=str(n)) for n, key in enumerate(keys)],
    )
    ledger.record("accurate_demo", [invoice(keys[0], "pending")])
    ledger.record(J, [RecordOutcome("payment", keys[1], "sales", "pending")])

    wanted = [*reversed(keys), *(f"NEW-{n}" for n in range(100)), keys[0]]
    found = ledger.lookup(J, "invoice", wanted)
    assert set(found) == set(keys)
    assert all(
        rec.key == key and rec.target_id == str(n) for n, (key, rec) in enumerate(sorted(found.items()))
    )
    assert sum(rec.status == "synced" for rec in found.values()) == 500
    assert found[keys[1]].record_type == "invoice"
    assert ledger.lookup(J, "invoice", []) == {}


def test_unsynced_lists_oldest_first_with_filters(ledger: SyncLedger) -> None:
    day = datetime(2026, 11, 9, tzinfo=UTC)
    ledger.record(
        J,
        [
            invoice(
                "INV-C", "failed", business_time=day + timedelta(hours=3), outlet_code="JKT01", reason="x"
            ),
            invoice("INV-A", "pending", business_time=day + timedelta(hours=5), outlet_code="BDG01"),
            invoice(
                "INV-B", "failed", business_time=day + timedelta(hours=3), outlet_code="BDG01", reason="y"
            ),
            invoice("INV-D", "synced", business_time=day + timedelta(hours=1), outlet_code="JKT01"),
            invoice("INV-E", "skipped", business_time=day + timedelta(hours=1), outlet_code="JKT01"),
            RecordOutcome("payment", "INV-B/P1", "sales", "failed", business_time=day + timedelta(hours=2)),
            RecordOutcome("return", "RF-1", "sales", "pending", business_time=day - timedelta(days=1)),
            RecordOutcome("transfer_out", "TO-1", "transfers", "failed", business_time=day),
        ],
    )
    ledger.record("accurate_demo", [invoice("INV-0", "failed", business_time=day - timedelta(days=9))])

    def keys(**kwargs: object) -> list[str]:
        return [rec.key for rec in ledger.unsynced(J, "sales", **kwargs)]  # type: ignore[arg-type]

    assert keys() == ["RF-1", "INV-B/P1", "INV-B", "INV-C", "INV-A"]
    assert keys(limit=2) == ["RF-1", "INV-B/P1"]
    assert keys(statuses=("failed",)) == ["INV-B/P1", "INV-B", "INV-C"]
    assert keys(statuses=("synced", "skipped")) == ["INV-D", "INV-E"]
    assert keys(record_types=("invoice",)) == ["INV-B", "INV-C", "INV-A"]
    assert keys(outlet_code="BDG01") == ["INV-B", "INV-A"]
    assert keys(since=day + timedelta(hours=2), until=day + timedelta(hours=5)) == [
        "INV-B/P1",
        "INV-B",
        "INV-C",
    ]
    assert keys(since=datetime(2026, 11, 9, 10, tzinfo=WIB)) == ["INV-B", "INV-C", "INV-A"]  # 03:00 UTC
    assert [r.key for r in ledger.unsynced(J, "transfers")] == ["TO-1"]
    with pytest.raises(ValueError, match="naive"):
        ledger.unsynced(J, "sales", since=datetime(2026, 11, 9))
    with pytest.raises(ValueError, match="unknown statuses"):
        ledger.unsynced(J, "sales", statuses=("done",))  # type: ignore[arg-type]


def test_counts_by_status_for_an_integration_and_a_flow(ledger: SyncLedger) -> None:
    assert ledger.counts(J) == {"pending": 0, "synced": 0, "failed": 0, "skipped": 0, "ignored": 0}
    ledger.record(
        J,
        [invoice(f"INV-{n}", "synced") for n in range(5)]
        + [invoice(f"INV-F{n}", "failed", reason="x") for n in range(3)]
        + [RecordOutcome("customer", "CUST-1", "customers", "pending")]
        + [RecordOutcome("customer", "CUST-2", "customers", "skipped")],
    )
    ledger.record("accurate_demo", [invoice("INV-1", "failed")])
    assert ledger.counts(J) == {"pending": 1, "synced": 5, "failed": 3, "skipped": 1, "ignored": 0}
    assert ledger.counts(J, "sales") == {"pending": 0, "synced": 5, "failed": 3, "skipped": 0, "ignored": 0}
    assert ledger.counts(J, "customers") == {"pending": 1, "synced": 0, "failed": 0, "skipped": 1, "ignored": 0}
    assert ledger.counts("accurate_demo") == {"pending": 0, "synced": 0, "failed": 1, "skipped": 0, "ignored": 0}


def test_id_maps_upsert_and_read_back(ledger: SyncLedger) -> None:
    ledger.set_id_maps(J, "customer", {"CUST-1": ("501", "C-0001"), "CUST-2": ("502", None)})
    ledger.set_id_maps(J, "outlet", {"CUST-1": ("9", None)})
    ledger.set_id_maps(J, "customer", {"CUST-2": ("502", "C-0002"), "CUST-3": ("503", "C-0003")})
    ledger.set_id_maps(J, "customer", {})

    assert ledger.id_maps(J, "customer") == {
        "CUST-1": ("501", "C-0001"),
        "CUST-2": ("502", "C-0002"),
        "CUST-3": ("503", "C-0003"),
    }
    assert ledger.id_maps(J, "customer", ["CUST-3", "CUST-404"]) == {"CUST-3": ("503", "C-0003")}
    assert ledger.id_maps(J, "outlet") == {"CUST-1": ("9", None)}
    assert ledger.id_maps("accurate_demo", "customer") == {}

    many = {f"P-{n}": (str(n), None) for n in range(1200)}
    ledger.set_id_maps(J, "product", many)
    assert ledger.id_maps(J, "product", list(many)) == many


def test_watermark_only_moves_forward(ledger: SyncLedger) -> None:
    assert ledger.watermark(J, "sales", "committed_at") is None
    t0 = datetime(2026, 11, 9, 12, 0, tzinfo=WIB)
    assert ledger.advance_watermark(J, "sales", "committed_at", t0) == t0
    assert ledger.advance_watermark(J, "sales", "committed_at", t0 - timedelta(microseconds=1)) == t0
    assert ledger.advance_watermark(J, "sales", "committed_at", t0 + timedelta(microseconds=1)) == (
        t0 + timedelta(microseconds=1)
    )
    # 05:00:01 UTC is later than the stored 12:00:00.000001 WIB although its wall clock reads earlier
    later = datetime(2026, 11, 9, 5, 0, 1, tzinfo=UTC)
    assert ledger.advance_watermark(J, "sales", "committed_at", later) == later
    stored = ledger.watermark(J, "sales", "committed_at")
    assert stored == later and stored is not None and stored.tzinfo is UTC
    assert ledger.watermark(J, "transfers", "committed_at") is None
    with pytest.raises(ValueError, match="naive"):
        ledger.advance_watermark(J, "sales", "committed_at", datetime(2030, 1, 1))
    assert ledger.watermark(J, "sales", "committed_at") == later


def test_unknown_statuses_and_naive_times_are_refused(ledger: SyncLedger) -> None:
    with pytest.raises(ValueError, match="status"):
        invoice("INV-1", "done")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive"):
        invoice("INV-1", "pending", business_time=datetime(2026, 11, 9))
    # the database refuses them too, for writers that bypass SyncLedger
    now = datetime.now(UTC)
    row = {
        "integration": J,
        "record_type": "invoice",
        "business_key": "INV-1",
        "flow": "sales",
        "status": "done",
        "first_seen_at": now,
        "updated_at": now,
    }
    with pytest.raises(IntegrityError), ledger.engine.begin() as conn:
        conn.execute(insert(sync_records).values(row))
    with pytest.raises(StatementError, match="naive datetime"), ledger.engine.begin() as conn:
        conn.execute(
            insert(sync_records).values({**row, "status": "pending", "updated_at": now.replace(tzinfo=None)})
        )
    assert set(STATUSES) == set(get_args(Status))


def _sample_invoice() -> SalesInvoice:
    line = InvoiceLine(
        line_no=1,
        sku="KOPI-SUSU",
        product_name="Kopi Susu",
        quantity=Decimal("2.000"),
        unit_price=Decimal("25000.00"),
        gross=Decimal("45045.05"),
        discount=Decimal("0.00"),
        tax_rate=Decimal("11.00"),
        tax=Decimal("4954.95"),
    )
    return SalesInvoice(
        key="JKT01-20261109-0042",
        outlet_code="JKT01",
        business_time=datetime(2026, 11, 9, 12, 30, tzinfo=WIB),
        customer_key=None,
        tax_inclusive=True,
        lines=(line,),
        service_charge=Decimal("0.00"),
        rounding=Decimal("0.00"),
        total=Decimal("50000.00"),
    )


def test_content_hash_is_deterministic_and_sees_a_one_sen_change() -> None:
    doc = _sample_invoice()
    digest = content_hash(doc)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert content_hash(_sample_invoice()) == digest

    one_sen = dataclasses.replace(
        doc, lines=(dataclasses.replace(doc.lines[0], tax=Decimal("4954.96")),), total=Decimal("50000.01")
    )
    assert content_hash(one_sen) != digest
    assert content_hash(dataclasses.replace(doc, rounding=Decimal("-0.01"))) != digest
    assert content_hash(dataclasses.replace(doc, business_time=doc.business_time.astimezone(UTC))) != digest
    # the same amount written with another scale is the same document
    assert content_hash(dataclasses.replace(doc, total=Decimal("50000.0"))) == digest

    # another interpreter with another hash seed computes the same digest
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from test_ledger import _sample_invoice; "
        "from possync.ledger import content_hash; print(content_hash(_sample_invoice()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, os.path.dirname(__file__)],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == digest
