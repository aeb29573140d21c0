"""Windowed POS extracts on SQLite, a real PostgreSQL and a real MariaDB: which records a window reads, and how
exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from possync.pos.extract import SalesFrames, Window, extract_customers, extract_products, extract_sales
from support.pos_builder import T0, D, Line, Pos

START = T0
END = T0 + timedelta(hours=1)
WINDOW = Window(START, END)
TICK = timedelta(microseconds=1)


@pytest.fixture
def pos(pos_engine: Engine) -> Pos:
    shop = Pos(pos_engine)
    shop.outlet("OUT-01")
    shop.outlet("OUT-02", timezone="Asia/Makassar")
    shop.product("Kopi Susu", 25000)
    shop.product("Beras", "13999.99", tax_rate="0", unit="kg")
    return shop


def numbers(frames: SalesFrames) -> list[str]:
    return sorted(frames.orders["number"])


# ------------------------------------------------------------------------------------------- window


def test_window_must_be_aware_and_not_empty() -> None:
    with pytest.raises(ValueError, match="naive"):
        Window(datetime(2026, 11, 9), datetime(2026, 11, 10, tzinfo=UTC))
    with pytest.raises(ValueError, match="not before"):
        Window(END, START)
    with pytest.raises(ValueError, match="not before"):
        Window(START, START)


def test_window_is_held_in_utc() -> None:
    jakarta = timezone(timedelta(hours=7))
    window = Window(datetime(2026, 11, 9, tzinfo=jakarta), datetime(2026, 11, 10, tzinfo=jakarta))

    assert window.start == datetime(2026, 11, 8, 17, tzinfo=UTC)
    assert window.start.tzinfo is UTC
    assert datetime(2026, 11, 9, 16, 59, tzinfo=UTC) in window
    assert datetime(2026, 11, 9, 17, tzinfo=UTC) not in window


def test_window_is_half_open(pos: Pos) -> None:
    pos.order("INV-BEFORE", [Line("Kopi Susu")], at=START - TICK)
    pos.order("INV-START", [Line("Kopi Susu")], at=START)
    pos.order("INV-LAST", [Line("Kopi Susu")], at=END - TICK)
    pos.order("INV-END", [Line("Kopi Susu")], at=END)

    frames = extract_sales(pos.engine, WINDOW)

    assert list(frames.orders["number"]) == ["INV-START", "INV-LAST"]
    assert frames.orders["business_time"].iloc[0] == pd.Timestamp(START)


def test_times_keep_their_microseconds(pos: Pos) -> None:
    # MySQL / MariaDB's DATETIME keeps whole seconds unless declared DATETIME(6): a sale at 10:00:00.999999
    # would fall back a second and a commit-time watermark would read it twice or never.
    pos.order("INV-MICRO", [Line("Kopi Susu")], at=START + timedelta(seconds=1) - TICK,
              committed_at=END - TICK)

    frames = extract_sales(pos.engine, Window(START + timedelta(microseconds=999_999), END))

    assert frames.orders["business_time"].tolist() == [pd.Timestamp(START + timedelta(microseconds=999_999))]
    assert frames.orders["committed_at"].tolist() == [pd.Timestamp(END - TICK)]
    assert frames.payments["paid_at"].dt.microsecond.tolist() == [999_999]


def test_adjacent_windows_read_every_record_once(pos: Pos) -> None:
    for minute in range(0, 120, 7):
        pos.order(f"INV-{minute:03d}", [Line("Kopi Susu")], at=START + timedelta(minutes=minute))

    first = extract_sales(pos.engine, WINDOW)
    second = extract_sales(pos.engine, Window(END, END + timedelta(hours=1)))

    assert set(first.orders["number"]).isdisjoint(second.orders["number"])
    assert len(first.orders) + len(second.orders) == len(range(0, 120, 7))


def test_outlet_filter_selects_orders_and_refunds_by_their_outlet(pos: Pos) -> None:
    first = pos.order("INV-A", [Line("Kopi Susu")], outlet="OUT-01")
    pos.order("INV-B", [Line("Kopi Susu", 2)], outlet="OUT-02", at=START + timedelta(minutes=1))
    # Bought at OUT-01, brought back to OUT-02.
    pos.refund("RF-1", first, [(1, 1)], outlet="OUT-02", at=START + timedelta(minutes=30))

    only_second = extract_sales(pos.engine, WINDOW, ["OUT-02"])
    nothing = extract_sales(pos.engine, WINDOW, [])
    both = extract_sales(pos.engine, WINDOW, ["OUT-01", "OUT-02"])

    assert numbers(only_second) == ["INV-B"]
    assert set(only_second.lines["order_id"]) == set(only_second.orders["order_id"])
    assert set(only_second.payments["order_id"]) == set(only_second.orders["order_id"])
    assert list(only_second.refunds["number"]) == ["RF-1"]
    assert list(only_second.refunds["order_number"]) == ["INV-A"]
    assert list(only_second.refunds["outlet_code"]) == ["OUT-02"]
    assert only_second.orders["outlet_timezone"].tolist() == ["Asia/Makassar"]
    assert nothing.counts() == {"orders": 0, "lines": 0, "payments": 0, "refunds": 0, "refund_lines": 0}
    assert numbers(both) == ["INV-A", "INV-B"]


# ----------------------------------------------------------------------------------------- lookback


def test_late_committed_order_is_caught_by_the_lookback(pos: Pos) -> None:
    pos.order("INV-NOW", [Line("Kopi Susu")], at=START + timedelta(minutes=10))
    # Sold two hours before the window at an offline till, reached the server after the window started.
    pos.order(
        "INV-LATE",
        [Line("Kopi Susu")],
        at=START - timedelta(hours=2),
        committed_at=START + timedelta(minutes=20),
    )
    # Sold and committed on time two hours before: an earlier run synced it.
    pos.order("INV-OLD", [Line("Kopi Susu")], at=START - timedelta(hours=2))
    # Committed late, but from before the lookback reaches.
    pos.order(
        "INV-ANCIENT",
        [Line("Kopi Susu")],
        at=START - timedelta(hours=8),
        committed_at=START + timedelta(minutes=20),
    )
    # Committed exactly when the window opened: no earlier run could have seen it.
    pos.order("INV-EDGE", [Line("Kopi Susu")], at=START - timedelta(hours=1), committed_at=START)

    plain = extract_sales(pos.engine, WINDOW)
    swept = extract_sales(pos.engine, WINDOW, lookback=timedelta(hours=6))

    assert numbers(plain) == ["INV-NOW"]
    assert numbers(swept) == ["INV-EDGE", "INV-LATE", "INV-NOW"]
    assert set(swept.lines["order_id"]) == set(swept.orders["order_id"])
    assert set(swept.payments["order_id"]) == set(swept.orders["order_id"])


def test_committed_since_moves_the_late_threshold(pos: Pos) -> None:
    pos.order("INV-NOW", [Line("Kopi Susu")], at=START + timedelta(minutes=10))
    pos.order(
        "INV-EARLY",
        [Line("Kopi Susu")],
        at=START - timedelta(hours=2),
        committed_at=START + timedelta(minutes=5),
    )
    pos.order(
        "INV-LATER",
        [Line("Kopi Susu")],
        at=START - timedelta(hours=2),
        committed_at=START + timedelta(minutes=50),
    )

    frames = extract_sales(
        pos.engine, WINDOW, lookback=timedelta(hours=6), committed_since=START + timedelta(minutes=30)
    )

    assert numbers(frames) == ["INV-LATER", "INV-NOW"]


def test_late_refund_is_caught_by_the_lookback(pos: Pos) -> None:
    order = pos.order("INV-1", [Line("Kopi Susu", 3)], at=START - timedelta(days=1))
    pos.refund(
        "RF-LATE", order, [(1, 1)], at=START - timedelta(hours=1), committed_at=START + timedelta(minutes=1)
    )
    pos.refund("RF-OLD", order, [(1, 1)], at=START - timedelta(hours=1, minutes=5))

    plain = extract_sales(pos.engine, WINDOW)
    swept = extract_sales(pos.engine, WINDOW, lookback=timedelta(hours=3))

    assert plain.refunds.empty and plain.refund_lines.empty
    assert list(swept.refunds["number"]) == ["RF-LATE"]
    assert swept.orders.empty  # the order itself was sold long before
    # RF-OLD took one back before RF-LATE did.
    assert swept.refund_lines["quantity_refunded_before"].tolist() == [D("1.000")]


def test_sweep_arguments_are_checked(pos: Pos) -> None:
    with pytest.raises(ValueError, match="give a lookback"):
        extract_sales(pos.engine, WINDOW, committed_since=START)
    with pytest.raises(ValueError, match="negative"):
        extract_sales(pos.engine, WINDOW, lookback=timedelta(hours=-1))
    with pytest.raises(ValueError, match="naive"):
        extract_sales(pos.engine, WINDOW, lookback=timedelta(hours=1), committed_since=datetime(2026, 11, 9))


# ------------------------------------------------------------------------------------------ content


def test_money_quantities_and_rates_stay_exact_decimals(pos: Pos) -> None:
    order = pos.order(
        "INV-1",
        [Line("Beras", "0.333", price="13999.99"), Line("Kopi Susu", 1, discount="0.01")],
        inclusive=True,
        discount="0.03",
        service_rate="7.5",
        round_to=100,
    )
    pos.refund("RF-1", order, [(1, "0.111")], at=START + timedelta(minutes=30))

    frames = extract_sales(pos.engine, WINDOW)

    exact = {
        "orders": [
            "discount_amount",
            "service_charge_rate",
            "service_charge_amount",
            "tax_amount",
            "rounding_amount",
            "total_amount",
        ],
        "lines": ["quantity", "unit_price", "discount_amount", "tax_rate", "tax_amount"],
        "payments": ["amount", "tendered"],
        "refunds": ["total_amount"],
        "refund_lines": [
            "quantity",
            "amount",
            "tax_amount",
            "unit_price",
            "quantity_sold",
            "tax_rate",
            "quantity_refunded_before",
        ],
    }
    for name, columns in exact.items():
        frame = getattr(frames, name)
        assert not frame.empty
        for column in columns:
            assert frame[column].dtype == object, (name, column)
            assert all(type(value) is Decimal for value in frame[column]), (name, column)
    assert frames.lines["quantity"].tolist() == [D("0.333"), D("1.000")]
    assert frames.lines["unit_price"].tolist()[0] == D("13999.99")
    assert frames.orders["total_amount"].item() == order.total
    assert frames.orders["rounding_amount"].item() == order.rounding
    assert frames.refund_lines["quantity"].item() == D("0.111")
    for name in ("business_time", "committed_at"):
        assert str(frames.orders[name].dtype) == "datetime64[us, UTC]"
    assert frames.orders["tax_inclusive"].dtype == bool


def test_rows_carry_what_the_transform_needs(pos: Pos) -> None:
    budi = pos.customer("Budi Santoso", "C-0007")
    order = pos.order(
        "INV-1",
        [Line("Kopi Susu", 2), Line("Beras", "0.5")],
        customer="Budi Santoso",
        payments=[("card", 20000), ("cash", None)],
    )
    pos.order("INV-2", [Line("Kopi Susu")], at=START + timedelta(minutes=1))
    pos.refund("RF-1", order, [(2, "0.25")], at=START + timedelta(minutes=30))

    frames = extract_sales(pos.engine, WINDOW)

    first = frames.orders.iloc[0]
    assert (first["number"], first["outlet_code"], first["outlet_timezone"], first["register_code"]) == (
        "INV-1",
        "OUT-01",
        "Asia/Jakarta",
        "R1",
    )
    assert (first["shift_number"], first["customer_id"], first["customer_code"]) == (
        "OUT-01-S1",
        budi,
        "C-0007",
    )
    assert pd.isna(frames.orders.iloc[1]["customer_id"])
    assert frames.lines[["line_no", "sku", "product_name", "unit"]].values.tolist() == [
        [1, "SKU-001", "Kopi Susu", "pcs"],
        [2, "SKU-002", "Beras", "kg"],
        [1, "SKU-001", "Kopi Susu", "pcs"],
    ]
    assert frames.payments[["seq", "method"]].values.tolist() == [[1, "card"], [2, "cash"], [1, "cash"]]
    refund = frames.refunds.iloc[0]
    assert (refund["order_number"], bool(refund["tax_inclusive"]), refund["order_status"]) == (
        "INV-1",
        False,
        "completed",
    )
    line = frames.refund_lines.iloc[0]
    assert (line["line_no"], line["sku"], line["product_name"], line["unit_price"]) == (
        2,
        "SKU-002",
        "Beras",
        D("13999.99"),
    )
    assert (line["quantity_sold"], line["tax_rate"], line["quantity_refunded_before"]) == (
        D("0.500"),
        D("0.00"),
        D("0.000"),
    )
    assert line["line_order_id"] == order.id


def test_empty_window_gives_empty_frames_with_stable_columns(pos: Pos) -> None:
    frames = extract_sales(pos.engine, WINDOW)

    assert frames.counts() == {"orders": 0, "lines": 0, "payments": 0, "refunds": 0, "refund_lines": 0}
    assert "outlet_code" in frames.orders.columns
    assert str(frames.orders["business_time"].dtype) == "datetime64[us, UTC]"
    assert "quantity_refunded_before" in frames.refund_lines.columns


def test_one_query_per_table_whatever_the_window_holds(pos: Pos) -> None:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    small = pos.order("INV-0", [Line("Kopi Susu")])
    pos.refund("RF-0", small, [(1, 1)], at=START + timedelta(minutes=59))
    event.listen(pos.engine, "before_cursor_execute", count)
    try:
        extract_sales(pos.engine, WINDOW, lookback=timedelta(hours=3))
        few = len(statements)
        for n in range(1, 40):
            order = pos.order(
                f"INV-{n}", [Line("Kopi Susu"), Line("Beras", "0.5")], at=START + timedelta(minutes=n)
            )
            if n % 5 == 0:
                pos.refund(f"RF-{n}", order, [(1, 1)], at=START + timedelta(minutes=n + 1))
        statements.clear()
        frames = extract_sales(pos.engine, WINDOW, lookback=timedelta(hours=3))
    finally:
        event.remove(pos.engine, "before_cursor_execute", count)

    assert len(frames.orders) == 40 and len(frames.refunds) == 8
    assert len(statements) == few == 6  # orders, lines, payments, refunds, refund lines, refund history


# ------------------------------------------------------------------------------------------ masters


def test_customers_carry_the_first_owner_of_their_code(pos: Pos) -> None:
    budi = pos.customer("Budi Santoso", "C-0007", updated_at=T0 - timedelta(days=300))
    siti = pos.customer("Siti Aminah", " C-0007", updated_at=T0 + timedelta(hours=1))
    pos.customer("Tanpa Kode", "", updated_at=T0 + timedelta(hours=2))

    everyone = extract_customers(pos.engine)
    recent = extract_customers(pos.engine, updated_since=T0)

    assert everyone["customer_code"].tolist()[:2] == ["C-0007", "C-0007"]
    assert pd.isna(everyone["customer_code"].iloc[2])
    assert everyone["code_owner_id"].tolist()[:2] == [budi, budi]
    assert recent["customer_id"].tolist()[0] == siti
    assert recent["code_owner_name"].tolist()[0] == "Budi Santoso"
    assert len(recent) == 2


def test_products_since_a_change(pos: Pos) -> None:
    everything = extract_products(pos.engine)
    nothing_new = extract_products(pos.engine, updated_since=T0 + timedelta(seconds=1))

    assert everything["sku"].tolist() == ["SKU-001", "SKU-002"]
    assert everything["price"].tolist() == [D("25000.00"), D("13999.99")]
    assert nothing_new.empty


# ------------------------------------------------------------------------------------- shift close


def test_shift_close_mode_reads_a_shift_once_it_has_closed(pos: Pos) -> None:
    from sqlalchemy import update

    from possync.pos import schema

    pos.order("INV-SHIFT", [Line("Kopi Susu")], at=START)
    around_the_sale = WINDOW
    assert numbers(extract_sales(pos.engine, around_the_sale, window_on="shift_close")) == []

    closed_at = END + timedelta(hours=1)
    with pos.engine.begin() as conn:
        conn.execute(update(schema.shifts).where(schema.shifts.c.id == pos.outlets["OUT-01"]["shift_id"])
                     .values(closed_at=closed_at))

    assert numbers(extract_sales(pos.engine, around_the_sale, window_on="shift_close")) == []
    at_close = Window(closed_at, closed_at + timedelta(minutes=15))
    assert numbers(extract_sales(pos.engine, at_close, window_on="shift_close")) == ["INV-SHIFT"]
    assert numbers(extract_sales(pos.engine, at_close)) == [], "business-time windows are unaffected"


def test_window_on_is_checked(pos: Pos) -> None:
    with pytest.raises(ValueError, match="window_on"):
        extract_sales(pos.engine, WINDOW, window_on="closing_time")  # type: ignore[arg-type]


def test_earlier_records_named_for_retry_are_read_again(pos: Pos) -> None:
    pos.order("INV-OLD", [Line("Kopi Susu")], at=START - timedelta(days=3))
    pos.order("INV-NOW", [Line("Kopi Susu")], at=START)

    frames = extract_sales(pos.engine, WINDOW, retry_order_numbers=["INV-OLD", "INV-UNKNOWN"])
    assert numbers(frames) == ["INV-NOW", "INV-OLD"]
    assert len(frames.lines) == 2, "the retried order comes with its lines"
