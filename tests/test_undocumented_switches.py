"""Where the vendors' docs are silent, the hooks survive every plausible reading (issue 15, item 11 and "What to
build" 7). Each sandbox has a switch per reading, and each test below runs against every setting:

- ``batch_failure``: a batch create with one bad item creates the others (``partial``) or is refused as a whole,
  writing nothing (``whole``); either way every good document is created once and the bad one fails with the
  target's own reason.
- ``throttle_response`` (Accurate): beyond 8 calls a second the answer is a 429 with Retry-After or a 200
  ``s:false``; either way throttled documents are waited out and sent again, never failed, never doubled.
- ``conflict_id`` (Jurnal): the ``id`` of an "already been used" reply is the holder's or null; either way a
  document whose create reply was lost is found again, never created twice.

Every test talks real HTTP to a live sandbox and reads the documents back through the target's API."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from possync.pos.extract import Window, extract_products, extract_sales
from possync.targets.base.bookkeeping import helper_items
from possync.targets.base.errors import RejectedError
from possync.transform.sales import transform_products, transform_sales
from support.worlds import Sync, accurate_world, jurnal_world

WORLDS = {"jurnal": jurnal_world, "accurate": accurate_world}
WEEK = Window(datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 14, tzinfo=UTC))
# what each target says when a payment exceeds what its invoice still owes (the sandboxes' wording)
OVERPAID = {"jurnal": "remaining balance", "accurate": "melebihi sisa piutang"}


def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    # the hook's own backoff (after a lost reply) would only slow the tests down; pacing keeps its real clock
    monkeypatch.setattr("possync.targets.base.hook.time.sleep", lambda seconds: None)


def synced_masters(sync: Sync) -> None:
    sync.target.prepare(sync.hook, sync.integration, sync.loader.log)
    sync.load("customer", sync.customers())
    items, _ = transform_products(extract_products(sync.world["pos"]))
    sync.load("item", [*helper_items(sync.integration.bookkeeping), *items])


def target_payments(sync: Sync) -> list[dict[str, Any]]:
    """Every payment in the target, as ``{"id", "number"}`` (the number is the POS payment key)."""
    if sync.world["target"] == "jurnal":
        return [{"id": r["id"], "number": r["custom_id"]} for r in sync.hook.iterate("receive_payments")]
    return list(sync.hook.iterate("sales-receipt", fields=["id", "number"]))


def target_products(sync: Sync) -> list[dict[str, Any]]:
    if sync.world["target"] == "jurnal":
        return [{"id": r["id"], "number": r["product_code"]} for r in sync.hook.iterate("products")]
    return [{"id": r["id"], "number": r["no"]} for r in sync.hook.iterate("item", fields=["id", "no"])]


def doubled(records: list[dict[str, Any]]) -> list[str]:
    return [number for number, count in Counter(r["number"] for r in records).items() if count > 1]


# -- batch_failure: partial | whole ----------------------------------------------------------------------------


@pytest.fixture(params=[(t, m) for t in WORLDS for m in ("partial", "whole")], ids=lambda p: f"{p[0]}-{p[1]}")
def batch_world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    no_sleep(monkeypatch)
    target, mode = request.param
    for world in WORLDS[target](tmp_path, monkeypatch, batch_failure=mode):
        yield {**world, "batch_failure": mode}


def test_the_sandbox_refuses_a_whole_batch_only_when_told_to(batch_world) -> None:
    """The switch itself: under ``whole`` one bad item writes nothing, under ``partial`` the good one is saved."""
    sync = Sync(batch_world)
    good = {"name": "Good", "product_code": "GOOD-1", "unit_name": "Pcs"}
    bad = {"name": "Bad", "product_code": "BAD-1"}  # no unit: Jurnal's unit_name is required
    if batch_world["target"] == "jurnal":
        if batch_world["batch_failure"] == "whole":
            with pytest.raises(RejectedError) as refused:
                sync.hook.batch_create("products", [good, bad])
            assert refused.value.status == 422
            assert "Item 2: " in refused.value.message and "none was created" in refused.value.message
        else:
            created, failed = sync.hook.batch_create("products", [good, bad])
            assert created.created and not failed.created and "unit" in failed.error.casefold()
    else:
        good = {"itemType": "SERVICE", "name": "Good", "no": "GOOD-1"}
        bad = {"itemType": "SERVICE", "no": "BAD-1"}  # no name: required
        first, second = sync.hook.bulk_save("item", [good, bad])
        assert not second.created and "nama" in second.error.casefold(), second.error
        assert first.created is (batch_world["batch_failure"] == "partial"), first
    numbers = {p["number"] for p in target_products(sync)}
    assert ("GOOD-1" in numbers) is (batch_world["batch_failure"] == "partial")
    assert "BAD-1" not in numbers


def test_a_batch_with_a_payment_the_target_refuses_syncs_the_others_once(batch_world) -> None:
    sync = Sync(batch_world)
    synced_masters(sync)
    sales = transform_sales(extract_sales(batch_world["pos"], WEEK))
    invoices = sales.invoices[:12]
    sync.load("invoice", invoices)
    keys = {invoice.key for invoice in invoices}
    payments = [p for p in sales.payments if p.invoice_key in keys]
    assert len(payments) >= 10
    bad_index = 4
    payments[bad_index] = dataclasses.replace(payments[bad_index], amount=payments[bad_index].amount + Decimal(10**6))
    bad = payments[bad_index]

    sync.load("payment", payments)

    records = sync.records("payment", [p.key for p in payments])
    assert records[bad.key].status == "failed"
    assert OVERPAID[batch_world["target"]] in records[bad.key].reason, records[bad.key].reason
    good = [p.key for p in payments if p.key != bad.key]
    assert [k for k in good if records[k].status != "synced"] == [], {k: records[k].reason for k in good}
    in_target = target_payments(sync)
    assert doubled(in_target) == []
    assert sorted(r["number"] for r in in_target) == sorted(good), "every good payment once, the bad one not at all"
    assert sorted(sync.synced_ids("payment", good).values()) == sorted(str(r["id"]) for r in in_target)
    if batch_world["batch_failure"] == "whole" and batch_world["target"] == "jurnal":
        assert batch_world["admin"].stats()["by_status"].get("422"), "the sandbox did refuse a whole batch"


def test_a_batch_with_an_invoice_of_a_product_the_target_lacks_syncs_the_others_once(batch_world) -> None:
    from possync.ledger import RecordOutcome

    sync = Sync(batch_world)
    synced_masters(sync)
    # a product the ledger holds as synced but the target has never heard of (deleted there by hand, say)
    sync.ledger.record(sync.integration.name, [RecordOutcome(
        record_type="item", key="GHOST-1", flow="products", status="synced", target_id="999999",
        target_number="GHOST-1")], None)
    invoices = transform_sales(extract_sales(batch_world["pos"], WEEK)).invoices[:10]
    bad = invoices[6]
    invoices[6] = bad = dataclasses.replace(bad, lines=[dataclasses.replace(bad.lines[0], sku="GHOST-1"),
                                                        *bad.lines[1:]])

    sync.load("invoice", invoices)

    records = sync.records("invoice", [i.key for i in invoices])
    assert records[bad.key].status == "failed"
    assert "GHOST-1" in records[bad.key].reason, records[bad.key].reason
    assert records[bad.key].reason.startswith(("Jurnal: ", "Accurate: ")), records[bad.key].reason
    good = [i.key for i in invoices if i.key != bad.key]
    assert [k for k in good if records[k].status != "synced"] == [], {k: records[k].reason for k in good}
    in_target = sync.target_invoices()
    assert doubled(in_target) == []
    assert sorted(r["number"] for r in in_target) == sorted(good)
    assert sorted(sync.synced_ids("invoice", good).values()) == sorted(str(r["id"]) for r in in_target)


def test_a_product_the_target_refuses_fails_alone_with_its_reason(batch_world) -> None:
    sync = Sync(batch_world)
    sync.target.prepare(sync.hook, sync.integration, sync.loader.log)
    items, _ = transform_products(extract_products(batch_world["pos"]))
    items = items[:9]
    bad = dataclasses.replace(items[5], unit="", name="") if batch_world["target"] == "jurnal" else \
        dataclasses.replace(items[5], name="")
    items[5] = bad

    sync.load("item", items)

    records = sync.records("item", [i.key for i in items])
    assert records[bad.key].status == "failed"
    assert records[bad.key].reason.startswith(("Jurnal: ", "Accurate: ")), records[bad.key].reason
    good = [i.key for i in items if i.key != bad.key]
    assert [k for k in good if records[k].status != "synced"] == [], {k: records[k].reason for k in good}
    in_target = target_products(sync)
    assert doubled(in_target) == []
    assert sorted(r["number"] for r in in_target) == sorted(good)


# -- throttle_response (Accurate): 429 | 200 -------------------------------------------------------------------


@pytest.fixture(params=["429", "200"], ids=lambda p: f"accurate-throttle-{p}")
def throttled_world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # no no_sleep here: the hook must really wait out a throttle (the sandbox counts in real seconds)
    from possync_devkit.sandbox.accurate import DEMO_API_TOKEN, DEMO_SIGNATURE_SECRET

    for world in accurate_world(tmp_path, monkeypatch, throttle_response=request.param):
        # the sandbox allows 2 calls a second while the hook paces to 1,000: throttling must happen
        world["admin"].limits({"per_second": 2, "in_flight": 8})
        monkeypatch.setenv("AIRFLOW_CONN_ACCURATE_DEMO", json.dumps({
            "conn_type": "accurate", "host": world["account"].url, "password": DEMO_API_TOKEN,
            "extra": {"signature_secret": DEMO_SIGNATURE_SECRET, "requests_per_second": 1000},
        }))
        yield {**world, "throttle_response": request.param}


def test_throttled_documents_are_waited_out_never_failed_nor_doubled(throttled_world) -> None:
    sync = Sync(throttled_world)
    synced_masters(sync)
    sales = transform_sales(extract_sales(throttled_world["pos"], WEEK))
    invoices = sales.invoices[:15]
    keys = {invoice.key for invoice in invoices}
    payments = [p for p in sales.payments if p.invoice_key in keys]
    for invoice in invoices:  # one call each: many calls in a row, well past 2 a second
        sync.load("invoice", [invoice])
    sync.load("payment", payments)

    stats = throttled_world["admin"].stats()
    assert stats["refused_rate"] > 0, "the sandbox throttled the hook"
    status = "429" if throttled_world["throttle_response"] == "429" else "200"
    assert stats["by_status"].get(status), stats["by_status"]
    assert sync.hook.throttled > 0
    for record_type, documents in (("invoice", invoices), ("payment", payments)):
        records = sync.records(record_type, [d.key for d in documents])
        assert {k: r.reason for k, r in records.items() if r.status != "synced"} == {}
        assert len(records) == len(documents)
    assert doubled(sync.target_invoices()) == []
    assert len(sync.target_invoices()) == len(invoices)
    in_target = target_payments(sync)
    assert doubled(in_target) == [] and len(in_target) == len(payments)


# -- conflict_id (Jurnal): existing | null ---------------------------------------------------------------------


@pytest.fixture(params=["existing", "null"], ids=lambda p: f"jurnal-conflict-id-{p}")
def conflict_world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    no_sleep(monkeypatch)
    # key_filters=False (jurnal_world's default): the holder is found only the ways the real API allows
    yield from jurnal_world(tmp_path, monkeypatch, conflict_id=request.param)


def lose_replies(world: dict[str, Any], sync: Sync, record_type: str, documents: list[Any]) -> None:
    """Load ``documents`` run after run, the first run losing the reply of its create and of its retry (which
    finds every key taken), a later run losing one more; counters start afresh for the look-ups to be seen."""
    world["admin"].reset_stats()
    for drops in (2, 1):
        world["admin"].faults({"drop_after_commit_next": drops})
        sync.load(record_type, documents)
    world["admin"].faults({})
    sync.load(record_type, documents)
    assert world["admin"].stats()["drops"] >= 1, "replies were lost"


def assert_found_the_documented_way(world: dict[str, Any], resource: str, documents: list[Any]) -> None:
    """The holders of the taken keys were read by the conflict reply's id, or (null) by key: ``GET
    /{resource}/{custom_id}`` or the paged list, never by a sandbox-only list filter (key_filters is off), and
    the list read once per recovery (per transaction date), not once per document."""
    calls = world["admin"].stats()["by_endpoint"]
    by_id_or_custom_id, listed = calls.get(f"GET /{resource}/{{id}}", 0), calls.get(f"GET /{resource}", 0)
    assert by_id_or_custom_id + listed > 0, f"nothing of {resource} was looked up: {calls}"
    assert listed < len(documents) / 2, f"{listed} readings of the {resource} list for {len(documents)} documents"


def assert_one_each(sync: Sync, record_type: str, documents: list[Any], in_target: list[dict[str, Any]]) -> None:
    assert doubled(in_target) == [], f"{record_type}s doubled"
    synced = sync.synced_ids(record_type, [d.key for d in documents])
    assert len(synced) == len(documents), {
        k: r.reason for k, r in sync.records(record_type, [d.key for d in documents]).items() if r.status != "synced"}
    assert sorted(synced.values()) == sorted(str(r["id"]) for r in in_target)


def test_lost_customer_and_product_replies_are_found_again_with_or_without_the_conflicts_id(conflict_world) -> None:
    sync = Sync(conflict_world)
    sync.target.prepare(sync.hook, sync.integration, sync.loader.log)
    customers = sync.customers()
    lose_replies(conflict_world, sync, "customer", customers)
    assert_found_the_documented_way(conflict_world, "customers", customers)
    in_target = [{"id": r["id"], "number": r["custom_id"]} for r in sync.hook.iterate("customers")]
    assert len(in_target) == len(customers)
    assert_one_each(sync, "customer", customers, in_target)

    items, _ = transform_products(extract_products(conflict_world["pos"]))
    items = [*helper_items(sync.integration.bookkeeping), *items]
    lose_replies(conflict_world, sync, "item", items)
    assert_found_the_documented_way(conflict_world, "products", items)
    assert len(target_products(sync)) == len(items)
    assert_one_each(sync, "item", items, target_products(sync))


def test_lost_invoice_and_payment_replies_are_found_again_with_or_without_the_conflicts_id(conflict_world) -> None:
    sync = Sync(conflict_world)
    synced_masters(sync)
    sales = transform_sales(extract_sales(conflict_world["pos"], WEEK))
    invoices = sales.invoices[:30]
    lose_replies(conflict_world, sync, "invoice", invoices)
    assert_found_the_documented_way(conflict_world, "sales_invoices", invoices)
    assert len(sync.target_invoices()) == len(invoices)
    assert_one_each(sync, "invoice", invoices, sync.target_invoices())

    keys = {invoice.key for invoice in invoices}
    payments = [p for p in sales.payments if p.invoice_key in keys]
    lose_replies(conflict_world, sync, "payment", payments)
    assert_found_the_documented_way(conflict_world, "receive_payments", payments)
    assert len(target_payments(sync)) == len(payments)
    assert_one_each(sync, "payment", payments, target_payments(sync))


# -- the readings together: a lost reply where a batch with a taken key is refused as a whole --------------------

WHOLE = {"jurnal-whole-null": ("jurnal", {"batch_failure": "whole", "conflict_id": "null"}),
         "accurate-whole": ("accurate", {"batch_failure": "whole"})}


@pytest.fixture(params=list(WHOLE))
def whole_world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    no_sleep(monkeypatch)
    target, options = WHOLE[request.param]
    yield from WORLDS[target](tmp_path, monkeypatch, **options)


def test_lost_replies_are_found_again_when_a_batch_with_a_taken_key_is_refused_whole(whole_world) -> None:
    """The retry after a lost reply meets keys its lost attempt took: a target refusing the whole batch for
    them must still leave one customer and one invoice per POS record, each synced to its own document."""
    sync = Sync(whole_world)
    sync.target.prepare(sync.hook, sync.integration, sync.loader.log)
    customers = sync.customers()
    lose_replies(whole_world, sync, "customer", customers)
    in_target = sync.target_customers()
    assert len(in_target) == len(customers)
    synced = sync.synced_ids("customer", [c.key for c in customers])
    assert sorted(synced.values()) == sorted(str(r["id"]) for r in in_target)

    items, _ = transform_products(extract_products(whole_world["pos"]))
    sync.load("item", [*helper_items(sync.integration.bookkeeping), *items])
    invoices = transform_sales(extract_sales(whole_world["pos"], WEEK)).invoices[:20]
    lose_replies(whole_world, sync, "invoice", invoices)
    assert len(sync.target_invoices()) == len(invoices)
    assert_one_each(sync, "invoice", invoices, sync.target_invoices())


@pytest.fixture(params=[(b, c) for b in ("partial", "whole") for c in ("existing", "null")],
                ids=lambda p: f"jurnal-{p[0]}-conflict-id-{p[1]}")
def jurnal_readings(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    no_sleep(monkeypatch)
    batch_failure, conflict_id = request.param
    yield from jurnal_world(tmp_path, monkeypatch, batch_failure=batch_failure, conflict_id=conflict_id)


def test_a_customer_whose_name_is_taken_by_another_is_created_under_a_distinct_name(jurnal_readings) -> None:
    """Jurnal wants display names unique: a second POS customer of the same name is refused ("already been
    used"), its holder is found (by the reply's id, or by the name when the id is null) and seen to be another
    customer, and the newcomer is created as "<name> (<customer ID>)", in a batch refused whole or not."""
    from possync.documents import Customer

    sync = Sync(jurnal_readings)
    sync.target.prepare(sync.hook, sync.integration, sync.loader.log)
    first = Customer(key="CUST-801", name="Sari Dewi", customer_code="TILL-801")
    sync.load("customer", [first])
    others = [Customer(key="CUST-802", name="Rudi Hartono", customer_code="TILL-802"),
              Customer(key="CUST-803", name="Sari Dewi", customer_code="TILL-803"),
              Customer(key="CUST-804", name="Wati", customer_code="TILL-804")]
    sync.load("customer", others)

    records = sync.records("customer", [c.key for c in [first, *others]])
    assert {k: r.reason for k, r in records.items() if r.status != "synced"} == {}
    names = sorted(r["display_name"] for r in sync.hook.iterate("customers"))
    assert names == ["Rudi Hartono", "Sari Dewi", "Sari Dewi (TILL-803)", "Wati"]
    assert len({r.target_id for r in records.values()}) == 4


@pytest.mark.parametrize("not_found_status", [404, 422])
def test_a_record_jurnal_does_not_have_reads_as_none_in_either_not_found_shape(
        not_found_status: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Looking a holder up by custom_id may ask for one that is not there: 404 or 422 "Data not found."."""
    from possync.targets.jurnal.hook import JurnalHook
    from support.worlds import start_jurnal_sandbox

    sandbox = start_jurnal_sandbox(tmp_path, monkeypatch, not_found_status=not_found_status)
    try:
        hook = JurnalHook("jurnal_demo")
        assert hook.get("receive_payments", "NO-SUCH-PAYMENT") is None
        assert hook.get("sales_invoices", 999999) is None
    finally:
        sandbox.stop()


# -- the recognisers, on the shapes no sandbox setting sends -------------------------------------------------------


def test_a_business_refusal_is_never_taken_for_a_throttle() -> None:
    from possync.targets.accurate.hook import is_throttle_reply

    assert is_throttle_reply({"s": False, "d": ["Terlalu banyak request, batas 8 panggilan per detik"]})
    assert is_throttle_reply({"s": False, "d": ["Too many requests: rate limit exceeded"]})
    for business in ('Nilai pembayaran Faktur "SI.1" (100) melebihi sisa piutang (50)',
                     "Piutang pelanggan melebihi batas kredit", 'Sudah ada data lain dengan Nomor "X"'):
        assert not is_throttle_reply({"s": False, "d": [business]}), business
    # per-item results of a bulk-save are never a throttle, whatever an item says
    assert not is_throttle_reply({"s": False, "d": [{"s": False, "d": ["Terlalu banyak request"]}]})


class _AllOrNothing:
    """A target refusing any batch holding a bad body with one error for the call (Accurate's other plausible
    shape, ``{"s": false, "d": ["..."]}`` without per-item results), counting what it creates."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.calls = 0

    def create(self, bodies: list[dict[str, Any]]):
        from possync.targets.base.hook import BatchItemResult

        self.calls += 1
        bad = [b["key"] for b in bodies if b["bad"]]
        if bad:
            raise RejectedError(f"data {bad[0]} tidak valid", status=200)
        self.created.extend(b["key"] for b in bodies)
        return [BatchItemResult(True, {"id": b["key"]}) for b in bodies]

    def create_one(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if body["bad"]:
            raise RejectedError(f"{body['key']}: Barang & Jasa tidak ditemukan", status=200)
        self.created.append(body["key"])
        return {"id": body["key"]}


def test_a_batch_refused_with_one_error_for_the_call_is_split_until_each_document_has_its_own_answer() -> None:
    from possync.targets.base.senders import TargetSender

    target = _AllOrNothing()
    sender = TargetSender.__new__(TargetSender)
    sender.create_batch = target.create  # type: ignore[method-assign]
    sender.create_one = target.create_one  # type: ignore[method-assign]
    sender.is_duplicate = lambda message: False  # type: ignore[method-assign]
    bodies = [{"key": f"D{i}", "bad": i in (3, 41)} for i in range(64)]

    results = sender.create_batch_surviving(bodies)

    assert [r.created for r in results] == [not b["bad"] for b in bodies]
    assert sorted(target.created) == sorted(b["key"] for b in bodies if not b["bad"]), "each good one once"
    assert [r.error for r in results if not r.created] == ["D3: Barang & Jasa tidak ditemukan",
                                                           "D41: Barang & Jasa tidak ditemukan"]
    assert target.calls < len(bodies) / 2, f"{target.calls} calls: halves, not one call per document"
