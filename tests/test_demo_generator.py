"""The demo POS generator: deterministic, internally consistent, and broken exactly where it says it is."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from possync.db import make_engine
from possync.pos.schema import (
    customers,
    order_lines,
    orders,
    outlets,
    payments,
    products,
    refund_lines,
    refunds,
    registers,
    shifts,
    stock_adjustment_lines,
    stock_adjustments,
    stock_levels,
    transfer_lines,
    transfers,
)
from possync_devkit import demo_pos as demo
from possync_devkit.cli import main as cli_main
from possync_devkit.demo_pos import (
    BROKEN_RECORDS,
    DemoSpec,
    LineInput,
    allocate,
    expected_broken_records,
    format_summary,
    generate,
    opening_stock,
    price_order,
    summarize,
)

D = Decimal
SMALL = DemoSpec(days=2, outlets=4, orders_per_day=12)


def _money(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"), ROUND_HALF_UP)


def _engine(path: Path) -> Engine:
    return make_engine(f"sqlite:///{path}")


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's full contents in primary-key order."""
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in demo.TABLES
        }


def rows(engine: Engine, table: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table).order_by(*table.primary_key.columns)))


@pytest.fixture(scope="module")
def default_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The default spec, as `make demo` seeds it."""
    engine = _engine(tmp_path_factory.mktemp("demo") / "pos.db")
    generate(engine, DemoSpec())
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def data(default_db: Engine) -> dict[str, list[Any]]:
    return {table.name: rows(default_db, table) for table in demo.TABLES}


BROKEN_KEYS = {key for _kind, key, _ in BROKEN_RECORDS}


# --------------------------------------------------------------------------------------------------
# The arithmetic, worked by hand
# --------------------------------------------------------------------------------------------------


def test_price_order_exclusive_with_discounts_service_and_cash_rounding() -> None:
    lines = [
        LineInput(D("2.000"), D("25000.00"), D("0.00"), D("11.00")),
        LineInput(D("1.000"), D("18000.00"), D("1800.00"), D("11.00")),
        LineInput(D("0.237"), D("320000.00"), D("0.00"), D("11.00")),  # beans by weight
    ]
    priced = price_order(lines, D("10000.00"), D("5.00"), tax_inclusive=False, round_to=D("100"))
    # bases 50000, 16200, 75840 (sum 142040); in sen 1,000,000 splits 352013.517.., 114052.379..,
    # 533934.103..; the floors add up to 999,999, so the sen left goes to the largest remainder (.517)
    assert [p.gross for p in priced.lines] == [D("50000.00"), D("18000.00"), D("75840.00")]
    assert [p.order_discount_share for p in priced.lines] == [D("3520.14"), D("1140.52"), D("5339.34")]
    assert [p.taxable for p in priced.lines] == [D("46479.86"), D("15059.48"), D("70500.66")]
    assert [p.tax for p in priced.lines] == [D("5112.78"), D("1656.54"), D("7755.07")]
    assert priced.tax == D("14524.39")
    assert priced.service_charge == D("6602.00")  # 5% of 132040.00
    assert priced.total_before_rounding == D("153166.39")
    assert (priced.rounding, priced.total) == (D("33.61"), D("153200.00"))


def test_price_order_inclusive_takes_tax_out_of_the_price() -> None:
    priced = price_order(
        [LineInput(D("1.000"), D("27000.00"), D("0.00"), D("11.00"))], D("0.00"), D("5.00"), True, D("100")
    )
    assert priced.lines[0].tax == D("2675.68")  # 27000 x 11 / 111 = 2675.675..
    assert priced.service_charge == D("1216.22")  # 5% of 24324.32, net of tax
    assert priced.total_before_rounding == D("28216.22")  # tax already inside the price
    assert (priced.rounding, priced.total) == (D("-16.22"), D("28200.00"))
    no_cash = price_order(
        [LineInput(D("1.000"), D("27000.00"), D("0.00"), D("11.00"))], D("0.00"), D("5.00"), True
    )
    assert (no_cash.rounding, no_cash.total) == (D("0.00"), D("28216.22"))


def test_rounding_is_half_up_not_bankers() -> None:
    priced = price_order(
        [LineInput(D("1.000"), D("0.05"), D("0.00"), D("10.00"))], D("0.00"), D("0.00"), False
    )
    assert priced.tax == D("0.01")  # 0.005 rounds up; banker's rounding would give 0.00


def test_allocation_is_exact_and_ties_go_to_the_earlier_line() -> None:
    assert allocate(D("0.01"), [D("5.00"), D("5.00")]) == [D("0.01"), D("0.00")]
    assert allocate(D("0.02"), [D("1.00"), D("1.00"), D("1.00")]) == [D("0.01"), D("0.01"), D("0.00")]
    assert allocate(D("100.00"), [D("1.00"), D("2.00"), D("0.00")]) == [D("33.33"), D("66.67"), D("0.00")]
    with pytest.raises(ValueError, match="zero"):
        allocate(D("1.00"), [D("0.00")])


# --------------------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_data_and_another_seed_does_not(tmp_path: Path) -> None:
    first, second, other = (_engine(tmp_path / f"{name}.db") for name in ("first", "second", "other"))
    generate(first, SMALL)
    generate(second, SMALL)
    generate(other, DemoSpec(seed=7, days=2, outlets=4, orders_per_day=12))
    a, b, c = dump(first), dump(second), dump(other)
    assert repr(a) == repr(b)
    assert a["orders"] != c["orders"]
    assert a["customers"] != c["customers"]
    # The broken records sit at the same keys whatever the seed.
    keys = [(kind, key) for kind, key, _ in expected_broken_records(SMALL)]
    for engine in (first, other):
        assert [(r["kind"], r["key"]) for r in summarize(engine)["broken_records"]] == keys


def test_generator_on_postgresql_writes_what_it_writes_on_sqlite(pg_url: str, tmp_path: Path) -> None:
    spec = DemoSpec(days=2, orders_per_day=10)
    pg, lite = make_engine(pg_url), _engine(tmp_path / "pos.db")
    try:
        counts = generate(pg, spec)
        assert counts == generate(lite, spec)
        assert dump(pg) == dump(lite)
        found = [(r["kind"], r["key"]) for r in summarize(pg)["broken_records"]]
        assert found == [(kind, key) for kind, key, _ in expected_broken_records(spec)]
    finally:
        pg.dispose()
        lite.dispose()


# --------------------------------------------------------------------------------------------------
# The default data: shape and invariants
# --------------------------------------------------------------------------------------------------


def test_counts_match_what_generate_reports(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "pos.db")
    counts = generate(engine, SMALL)
    assert list(counts) == [table.name for table in demo.TABLES]
    assert counts == summarize(engine)["counts"]
    assert counts["outlets"] == 5 and counts["registers"] == 8 and counts["products"] == 40
    assert counts["orders"] == 4 * 2 * 12
    zones = {row.code: row.timezone for row in rows(engine, outlets)}
    assert zones == {
        "JKT01": "Asia/Jakarta",
        "BDG01": "Asia/Jakarta",
        "SBY01": "Asia/Jakarta",
        "DPS01": "Asia/Makassar",
        "WH01": "Asia/Jakarta",
    }


def test_the_data_has_the_variety_a_sync_must_handle(data: dict[str, list[Any]]) -> None:
    completed = [o for o in data["orders"] if o.status == "completed"]
    n = len(completed)
    assert {o.tax_inclusive for o in completed} == {True, False}
    assert 0.15 < sum(o.service_charge_amount > 0 for o in completed) / n < 0.4
    assert 0.02 < sum(o.discount_amount > 0 for o in completed) / n < 0.12
    assert 0.2 < sum(o.customer_id is not None for o in data["orders"]) / len(data["orders"]) < 0.4
    assert 0.01 < sum(o.status == "voided" for o in data["orders"]) / len(data["orders"]) < 0.04
    lines_per_order = Counter(line.order_id for line in data["order_lines"])
    assert set(lines_per_order.values()) == {1, 2, 3, 4, 5}
    assert any(line.discount_amount > 0 for line in data["order_lines"])
    assert any(line.quantity != line.quantity.to_integral_value() for line in data["order_lines"])
    assert {line.tax_rate for line in data["order_lines"]} == {D("11.00"), D("10.00"), D("0.00")}  # PPN, PB1, exempt
    split = Counter(p.order_id for p in data["payments"])
    assert 0.04 < sum(count == 2 for count in split.values()) / n < 0.13
    assert {p.method for p in data["payments"]} == {"cash", "card", "qris", "ewallet", "bank_transfer"}
    codes = [c.customer_code for c in data["customers"]]
    assert None in codes
    assert 15 < sum(bool(code and re.fullmatch(r"C-\d{4}", code)) for code in codes) < 30
    product_rows = data["products"]
    assert len(product_rows) == 40
    assert all(re.fullmatch(r"[A-Z]{3}-\d{3}", p.sku) for p in product_rows if p.sku)
    assert any(p.barcode for p in product_rows)


def test_completed_orders_reconcile_except_the_broken_one(data: dict[str, list[Any]]) -> None:
    lines_by_order = defaultdict(list)
    for line in data["order_lines"]:
        lines_by_order[line.order_id].append(line)
    methods = defaultdict(set)
    for p in data["payments"]:
        methods[p.order_id].add(p.method)
    unreconciled = []
    for order in data["orders"]:
        lines = lines_by_order[order.id]
        bases = sum((_money(x.quantity * x.unit_price) - x.discount_amount for x in lines), D(0))
        tax = sum((x.tax_amount for x in lines), D(0))
        # The identity from the stored fields alone, independent of how the discount was allocated.
        identity = (
            bases
            - order.discount_amount
            + (0 if order.tax_inclusive else tax)
            + order.service_charge_amount
            + order.rounding_amount
        )
        assert order.tax_amount == tax, order.number
        if identity != order.total_amount:
            unreconciled.append(order.number)
            continue
        cash = "cash" in methods[order.id]
        priced = price_order(
            [LineInput(x.quantity, x.unit_price, x.discount_amount, x.tax_rate) for x in lines],
            order.discount_amount,
            order.service_charge_rate,
            order.tax_inclusive,
            D("100") if cash else None,
        )
        assert [x.tax_amount for x in lines] == [p.tax for p in priced.lines], order.number
        assert order.service_charge_amount == priced.service_charge, order.number
        assert (order.rounding_amount, order.total_amount) == (priced.rounding, priced.total), order.number
        if cash:
            assert order.total_amount % 100 == 0 and abs(order.rounding_amount) <= 50
        else:
            assert order.rounding_amount == 0
    assert unreconciled == [key for kind, key, _ in BROKEN_RECORDS if kind == "order_total_mismatch"]


def test_payments_settle_each_completed_order_and_voids_have_none(data: dict[str, list[Any]]) -> None:
    paid: dict[int, Decimal] = defaultdict(lambda: D(0))
    for p in data["payments"]:
        paid[p.order_id] += p.amount
        if p.method == "cash":
            assert p.tendered >= p.amount and p.reference is None
        else:
            assert p.tendered is None and p.reference
    short = []
    for order in data["orders"]:
        if order.status == "voided":
            assert order.id not in paid
            assert order.voided_at > order.business_time and order.void_reason
            continue
        assert order.voided_at is None and order.void_reason is None
        if paid[order.id] != order.total_amount:
            short.append((order.number, order.total_amount - paid[order.id]))
    assert short == [(key, D("5000.00")) for kind, key, _ in BROKEN_RECORDS if kind == "payment_mismatch"]


def test_order_lines_name_real_products_at_their_catalogue_price(data: dict[str, list[Any]]) -> None:
    catalogue = {p.id: p for p in data["products"]}
    for line in data["order_lines"]:
        product = catalogue[line.product_id]
        assert (line.product_name, line.unit_price, line.tax_rate) == (
            product.name,
            product.price,
            product.tax_rate,
        )
        assert line.quantity > 0
    skuless_orders = {line.order_id for line in data["order_lines"] if catalogue[line.product_id].sku is None}
    numbers = {o.id: o.number for o in data["orders"]}
    assert sorted(numbers[i] for i in skuless_orders) == sorted(
        key for kind, key, _ in BROKEN_RECORDS if kind == "order_product_without_sku"
    )


def test_orders_are_numbered_per_outlet_day_in_business_hours(data: dict[str, list[Any]]) -> None:
    codes = {o.id: (o.code, ZoneInfo(o.timezone)) for o in data["outlets"]}
    numbers = [o.number for o in data["orders"]]
    assert len(set(numbers)) == len(numbers)
    hours: Counter[int] = Counter()
    late = []
    for order in data["orders"]:
        code, zone = codes[order.outlet_id]
        local = order.business_time.astimezone(zone)
        assert re.fullmatch(rf"INV-{code}-{local:%Y%m%d}-\d{{4}}", order.number), order.number
        assert 7 <= local.hour <= 21
        hours[local.hour] += 1
        assert order.committed_at >= order.business_time
        if order.committed_at - order.business_time > timedelta(hours=1):
            late.append(order)
            assert order.committed_at.astimezone(zone).date() > local.date()  # the offline till reconnected
    assert 0.002 < len(late) / len(numbers) < 0.05
    last_day = DemoSpec().start_date + timedelta(days=DemoSpec().days - 1)
    assert all(order.committed_at.astimezone(codes[order.outlet_id][1]).date() <= last_day for order in late)
    # Morning, lunch and evening peaks over a quiet afternoon.
    assert min(hours[8], hours[12], hours[19]) > max(hours[15], hours[21])


def test_shifts_hold_their_orders_and_count_their_cash(data: dict[str, list[Any]]) -> None:
    by_id = {s.id: s for s in data["shifts"]}
    assert len(data["shifts"]) == 7 * 3 * 2
    open_shifts = [s.number for s in data["shifts"] if s.closed_at is None]
    assert open_shifts == ["SH-JKT01-R2-20261115"]
    cash: dict[int, Decimal] = defaultdict(lambda: D(0))
    order_shift = {}
    for order in data["orders"]:
        shift = by_id[order.shift_id]
        assert shift.register_id == order.register_id
        assert shift.opened_at <= order.business_time <= (shift.closed_at or order.business_time)
        order_shift[order.id] = order.shift_id
    for p in data["payments"]:
        if p.method == "cash":
            cash[order_shift[p.order_id]] += p.amount
    for refund in data["refunds"]:
        shift = by_id[refund.shift_id]
        assert shift.opened_at <= refund.business_time <= (shift.closed_at or refund.business_time)
        if refund.method == "cash":
            cash[refund.shift_id] -= refund.total_amount
    differences = 0
    for shift in data["shifts"]:
        if shift.closed_at is None:
            assert shift.expected_cash is None and shift.counted_cash is None
            continue
        assert shift.expected_cash == shift.opening_cash + cash[shift.id], shift.number
        differences += shift.counted_cash != shift.expected_cash
        assert abs(shift.counted_cash - shift.expected_cash) <= 20000
    assert 0 < differences < len(data["shifts"]) / 3


def test_refunds_are_priced_like_their_orders(data: dict[str, list[Any]]) -> None:
    orders_by_id = {o.id: o for o in data["orders"]}
    lines_by_id = {line.id: line for line in data["order_lines"]}
    first_method = {p.order_id: p.method for p in data["payments"] if p.seq == 1}
    refund_lines_by_refund = defaultdict(list)
    for line in data["refund_lines"]:
        refund_lines_by_refund[line.refund_id].append(line)
    refunded: dict[int, Decimal] = defaultdict(lambda: D(0))
    for refund in data["refunds"]:
        order = orders_by_id[refund.order_id]
        assert order.status == "completed" and refund.outlet_id == order.outlet_id
        assert refund.business_time > order.business_time and refund.method == first_method[order.id]
        total = D(0)
        for rl in refund_lines_by_refund[refund.id]:
            line = lines_by_id[rl.order_line_id]
            assert line.order_id == order.id
            refunded[line.id] += rl.quantity
            ratio = rl.quantity / line.quantity
            assert rl.tax_amount == _money(line.tax_amount * ratio)
            total += rl.amount if order.tax_inclusive else rl.amount + rl.tax_amount
        assert refund.total_amount == total, refund.number
    over = {lines_by_id[i].order_id for i, q in refunded.items() if q > lines_by_id[i].quantity}
    assert [orders_by_id[i].number for i in over] == ["INV-JKT01-20261109-0009"]
    numbers = [r.number for r in data["refunds"]]
    assert len(set(numbers)) == len(numbers) > 10
    assert "RF-JKT01-0001" in numbers


def test_stock_levels_replay_every_movement(data: dict[str, list[Any]]) -> None:
    spec = DemoSpec()
    codes = {o.id: o.code for o in data["outlets"]}
    tracked = {p.id for p in data["products"] if p.track_stock}
    level: dict[tuple[int, int], Decimal] = defaultdict(lambda: D(0))
    for (code, product_id), quantity in opening_stock(spec).items():
        level[next(i for i, c in codes.items() if c == code), product_id] += quantity
    completed = {o.id: o.outlet_id for o in data["orders"] if o.status == "completed"}
    line_outlet = {}
    for line in data["order_lines"]:
        line_outlet[line.id] = (completed.get(line.order_id), line.product_id)
        if line.order_id in completed and line.product_id in tracked:
            level[completed[line.order_id], line.product_id] -= line.quantity
    for rl in data["refund_lines"]:
        outlet_id, product_id = line_outlet[rl.order_line_id]
        if product_id in tracked:
            level[outlet_id, product_id] += rl.quantity
    transfer_by_id = {t.id: t for t in data["transfers"]}
    for tl in data["transfer_lines"]:
        t = transfer_by_id[tl.transfer_id]
        if t.sent_at is not None:
            level[t.from_outlet_id, tl.product_id] -= tl.quantity_sent
        if t.status == "received":
            level[t.to_outlet_id, tl.product_id] += tl.quantity_received
    adjustment_outlet = {a.id: a.outlet_id for a in data["stock_adjustments"]}
    for al in data["stock_adjustment_lines"]:
        level[adjustment_outlet[al.adjustment_id], al.product_id] += al.quantity_change
    stored = {(s.outlet_id, s.product_id): s.quantity for s in data["stock_levels"]}
    assert stored == dict(level)
    assert all(q >= 0 for q in stored.values())
    # Each outlet's stock take is the last movement, so its counts are the levels.
    takes = {a.id: a for a in data["stock_adjustments"] if a.kind == "stock_take"}
    assert sorted(a.number for a in takes.values()) == [
        "ST-BDG01-20261115",
        "ST-JKT01-20261115",
        "ST-SBY01-20261115",
    ]
    for al in data["stock_adjustment_lines"]:
        if al.adjustment_id in takes:
            assert al.quantity_change == al.counted_quantity - al.expected_quantity
            assert stored[takes[al.adjustment_id].outlet_id, al.product_id] == al.counted_quantity


def test_transfers_arrive_later_short_or_not_yet(data: dict[str, list[Any]]) -> None:
    status = Counter(t.status for t in data["transfers"])
    assert status["sent"] >= 2 and status["received"] > 10
    lines = defaultdict(list)
    for tl in data["transfer_lines"]:
        lines[tl.transfer_id].append(tl)
    for t in data["transfers"]:
        assert 1 <= len(lines[t.id]) <= 4 and t.from_outlet_id != t.to_outlet_id
        if t.status == "sent":
            assert t.received_at is None and all(tl.quantity_received is None for tl in lines[t.id])
        elif t.sent_at is not None:
            assert t.received_at > t.sent_at
            assert all(tl.quantity_received <= tl.quantity_sent for tl in lines[t.id])
    assert any(
        t.received_at and t.sent_at and t.received_at.date() > t.sent_at.date() for t in data["transfers"]
    ), "some transfers are received the next day"
    assert any(
        tl.quantity_received is not None and tl.quantity_received < tl.quantity_sent
        for tl in data["transfer_lines"]
    )
    missing_out = [t.number for t in data["transfers"] if t.sent_at is None]
    assert missing_out == [key for kind, key, _ in BROKEN_RECORDS if kind == "transfer_out_missing"]


def test_duplicate_customer_code_is_the_only_one(data: dict[str, list[Any]]) -> None:
    codes = Counter(c.customer_code for c in data["customers"] if c.customer_code)
    assert [code for code, n in codes.items() if n > 1] == ["C-0007"]
    assert 29 not in {o.customer_id for o in data["orders"]}
    created = {c.id: c.created_at for c in data["customers"]}
    for order in data["orders"]:
        if order.customer_id:
            assert created[order.customer_id] <= order.business_time


# --------------------------------------------------------------------------------------------------
# Broken records
# --------------------------------------------------------------------------------------------------


def test_broken_records_constant_matches_the_default_spec() -> None:
    assert expected_broken_records() == BROKEN_RECORDS
    assert {kind for kind, _, _ in BROKEN_RECORDS} == {
        "product_without_sku",
        "order_product_without_sku",
        "duplicate_customer_code",
        "payment_mismatch",
        "transfer_out_missing",
        "refund_exceeds_sold",
        "order_total_mismatch",
        "adjustment_product_without_sku",
    }


def test_summarize_finds_exactly_the_broken_records(default_db: Engine) -> None:
    found = summarize(default_db)["broken_records"]
    assert [(r["kind"], r["key"]) for r in found] == [(kind, key) for kind, key, _ in BROKEN_RECORDS]
    described = {r["key"]: r["description"] for r in found}
    assert "Rp 5.000 short" in described["INV-BDG01-20261110-0012"]
    assert "off by Rp 1.000" in described["INV-SBY01-20261113-0026"]
    assert "CUST-7" in described["CUST-29"]


def test_summarize_queries_rather_than_remembers(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "pos.db")
    generate(engine, SMALL)
    with engine.begin() as conn:
        order_id = conn.execute(
            select(orders.c.id)
            .where(orders.c.status == "completed", orders.c.number.like("INV-DPS01-%"))
            .limit(1)
        ).scalar_one()
        conn.execute(payments.delete().where(payments.c.order_id == order_id))
        conn.execute(update(customers).where(customers.c.id.in_([2, 3])).values(customer_code="C-9999"))
        product_id = conn.execute(select(products.c.id).where(products.c.sku == "MKN-003")).scalar_one()
        conn.execute(update(products).where(products.c.id == product_id).values(sku=None))
        conn.execute(update(transfers).where(transfers.c.id == 1).values(sent_at=None))
    found = {(r["kind"], r["key"]) for r in summarize(engine)["broken_records"]}
    expected = {(kind, key) for kind, key, _ in expected_broken_records(SMALL)}
    number = next(o.number for o in rows(engine, orders) if o.id == order_id)
    added = found - expected
    assert ("payment_mismatch", number) in added
    assert ("product_without_sku", f"PROD-{product_id}") in added
    assert ("duplicate_customer_code", "CUST-3") in added
    assert ("transfer_out_missing", "TO-0001") in added
    assert any(kind == "order_product_without_sku" for kind, _ in added)
    assert expected <= found


def test_format_summary_reports_every_broken_record(default_db: Engine) -> None:
    text = format_summary(summarize(default_db))
    assert "Broken records (reported cleanly by the sync, by design): 10" in text
    for _kind, key, _ in BROKEN_RECORDS:
        assert key in text
    assert "JKT01" in text and "sent (in transit)" in text and "2026-11-09 to 2026-11-15" in text


# --------------------------------------------------------------------------------------------------
# Spec, scale and safety
# --------------------------------------------------------------------------------------------------


def test_scale_to_a_number_of_order_lines(tmp_path: Path) -> None:
    spec = DemoSpec(target_order_lines=20_000)
    counts = generate(_engine(tmp_path / "pos.db"), spec)
    assert 18_000 <= counts["order_lines"] <= 22_000
    assert spec.orders_per_outlet_day > DemoSpec().orders_per_day


def test_a_populated_database_is_not_overwritten_without_replace(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "pos.db")
    counts = generate(engine, SMALL)
    with pytest.raises(ValueError, match="--replace"):
        generate(engine, SMALL)
    assert summarize(engine)["counts"] == counts
    assert generate(engine, SMALL, replace=True) == counts
    assert summarize(engine)["counts"] == counts


def test_specs_too_small_for_the_broken_records_are_refused() -> None:
    with pytest.raises(ValueError, match="broken records"):
        DemoSpec(days=1, outlets=1, orders_per_day=3)
    with pytest.raises(ValueError, match="days"):
        DemoSpec(days=0)
    tiny = DemoSpec(days=1, outlets=1, orders_per_day=6)
    assert len({key for _, key, _ in expected_broken_records(tiny)}) == len(expected_broken_records(tiny))


def test_summarize_refuses_a_database_without_the_pos_schema(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a POS database"):
        summarize(_engine(tmp_path / "empty.db"))


def test_cli_seeds_and_summarizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'pos.db'}"
    assert (
        cli_main(["demo", "seed", "--pos-url", url, "--days", "2", "--orders-per-day", "10", "--seed", "3"])
        == 0
    )
    assert "(seed 3)" in capsys.readouterr().out
    assert cli_main(["demo", "summary", "--pos-url", url]) == 0
    assert "Broken records (reported cleanly by the sync, by design)" in capsys.readouterr().out
    assert cli_main(["demo", "summary", "--pos-url", url, "--json"]) == 0
    assert '"broken_records"' in capsys.readouterr().out


def test_registers_and_stock_rows_are_complete(data: dict[str, list[Any]]) -> None:
    assert [(r.outlet_id, r.code) for r in data["registers"]] == [
        (o, c) for o in (1, 2, 3) for c in ("R1", "R2")
    ]
    tracked = [p.id for p in data["products"] if p.track_stock]
    skuless = [p.id for p in data["products"] if p.sku is None]
    expected = {(o, p) for o in (1, 2, 3) for p in tracked} | {(4, p) for p in tracked if p not in skuless}
    assert {(s.outlet_id, s.product_id) for s in data["stock_levels"]} == expected
    assert {a.kind for a in data["stock_adjustments"]} == {"adjustment", "stock_take"}
    for table in (
        stock_levels,
        stock_adjustment_lines,
        transfer_lines,
        refund_lines,
        refunds,
        registers,
        shifts,
    ):
        assert data[table.name], table.name
    assert stock_adjustments.name in data and order_lines.name in data


def test_till_changes_move_the_shelf_stock_as_the_till_does(tmp_path: Path) -> None:
    """A void puts the order's goods back on the shelf, an added unit takes one more off: the POS's stock levels
    follow, so the stock comparison after a change compares like with like."""
    from datetime import UTC, datetime

    from possync.stocklevels import pos_levels
    from possync_devkit.till_changes import add_unit, plain_orders, void_order

    engine = _engine(tmp_path / "pos.db")
    spec = DemoSpec(days=1)
    generate(engine, spec)
    start = datetime.combine(spec.start_date, datetime.min.time(), tzinfo=UTC)
    levels = pos_levels(engine, ["JKT01"])
    with engine.connect() as conn:
        firsts = conn.execute(
            select(orders.c.number, products.c.sku, order_lines.c.quantity)
            .join(order_lines, order_lines.c.product_id == products.c.id)
            .join(orders, orders.c.id == order_lines.c.order_id).where(order_lines.c.line_no == 1)).all()
    shelved = {number: (sku, sold) for number, sku, sold in firsts if ("JKT01", sku) in levels}
    order = next(o for o in plain_orders(engine, "JKT01", start - timedelta(days=1), start + timedelta(days=2))
                 if o.number in shelved)
    sku, sold = shelved[order.number]
    before = pos_levels(engine, ["JKT01"])["JKT01", sku].quantity
    add_unit(engine, order.number)
    assert pos_levels(engine, ["JKT01"])["JKT01", sku].quantity == before - 1
    void_order(engine, order.number, "customer changed their mind")
    assert pos_levels(engine, ["JKT01"])["JKT01", sku].quantity == before - 1 + sold + 1
