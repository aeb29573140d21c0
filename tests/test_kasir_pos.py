"""The kasir POS schema (devkit/possync_devkit/kasir_pos.py), loaded from the demo week on SQLite, PostgreSQL and
MariaDB, holds the same business facts as the reference POS it came from, found the way a source profile
would find them: the outlet through the till, refunds by their negative quantities, receipt prices from net
prices, shift cash from the tickets, transfers from pairs of stock moves.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import and_, inspect, select, update
from sqlalchemy.engine import Engine

from possync.db import make_engine
from possync.pos import schema as ref
from possync_devkit import kasir_pos as k
from possync_devkit.demo_pos import DemoSpec, generate, summarize

ZERO = Decimal("0.00")
TILL_BUG_ORDER = "INV-SBY01-20261113-0026"  # the demo's order whose stored total is Rp 1.000 off its lines


def rows(engine: Engine, stmt: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(stmt))


def ticket_location() -> Any:
    """tickets joined to their location through the till: the ticket itself names none."""
    return k.tickets.join(k.tills, k.tills.c.id == k.tickets.c.till_id).join(
        k.locations, k.locations.c.id == k.tills.c.location_id)


def test_every_id_is_text_and_sale_rows_carry_no_outlet(kasir: Engine) -> None:
    inspector = inspect(kasir)
    for table in k.TABLES:
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        for key in inspector.get_pk_constraint(table.name)["constrained_columns"]:
            assert columns[key]["type"].python_type is str, (table.name, key)
    assert not {"outlet_id", "location_id"} & {c["name"] for c in inspector.get_columns("tickets")}
    assert {"article_no", "ean"} <= {c["name"] for c in inspector.get_columns("items")}
    assert not {"expected_cash", "total_sales"} & {c["name"] for c in inspector.get_columns("cash_sessions")}


def test_sales_and_refunds_are_counted_alike(reference: Engine, kasir: Engine) -> None:
    ref_orders = Counter(s for (s,) in rows(reference, select(ref.orders.c.status)))
    ref_refunds = len(rows(reference, select(ref.refunds.c.id)))
    sales = Counter(s for (s,) in rows(kasir, select(k.tickets.c.status).where(k.tickets.c.refund_of.is_(None))))
    assert sales == {"PAID": ref_orders["completed"], "VOID": ref_orders["voided"]}

    # a refund is a ticket whose items have negative quantities; a sale's are all positive
    signs: dict[str, set[bool]] = defaultdict(set)
    for ticket, qty in rows(kasir, select(k.ticket_items.c.ticket_id, k.ticket_items.c.qty)):
        signs[ticket].add(qty < 0)
    negative = {t for t, s in signs.items() if s == {True}}
    assert all(len(s) == 1 for s in signs.values())
    refund_tickets = {t for (t,) in rows(kasir, select(k.tickets.c.id).where(k.tickets.c.refund_of.isnot(None)))}
    assert negative == refund_tickets and len(refund_tickets) == ref_refunds > 0


def test_takings_per_outlet_to_the_sen(reference: Engine, kasir: Engine) -> None:
    summary = summarize(reference)
    takings: dict[str, Decimal] = defaultdict(lambda: ZERO)
    refunded: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for code, total, refund_of in rows(kasir, select(k.locations.c.code, k.tickets.c.grand_total, k.tickets.c.refund_of)
                                       .select_from(ticket_location()).where(k.tickets.c.status == "PAID")):
        # summed in Python: on SQLite kasir keeps amounts as decimal text, which SUM() makes a float
        (refunded if refund_of else takings)[code] += total
    for outlet in summary["outlets"]:
        assert takings[outlet["code"]] == outlet["sales_total"], outlet["code"]
        assert -refunded[outlet["code"]] == outlet["refunds_total"], outlet["code"]
    assert sum(takings.values()) > Decimal("100000000.00")

    by_tender: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for tender, amount in rows(kasir, select(k.ticket_payments.c.tender, k.ticket_payments.c.amount)):
        by_tender[tender] += amount
    ref_by_method: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for method, amount in rows(reference, select(ref.payments.c.method, ref.payments.c.amount)):
        ref_by_method[k.TENDER_OF_METHOD[method]] += amount
    for method, amount in rows(reference, select(ref.refunds.c.method, ref.refunds.c.total_amount)):
        ref_by_method[k.TENDER_OF_METHOD[method]] -= amount
    assert by_tender == ref_by_method


def test_receipt_lines_come_back_from_net_prices(reference: Engine, kasir: Engine) -> None:
    stmt = select(k.tickets.c.ticket_no, k.ticket_items.c.line_no, k.ticket_items.c.qty, k.ticket_items.c.unit_price,
                  k.ticket_items.c.discount, k.ticket_items.c.tax_pct, k.ticket_items.c.tax_amount,
                  k.locations.c.prices_include_tax).select_from(
        ticket_location().join(k.ticket_items, k.ticket_items.c.ticket_id == k.tickets.c.id)
    ).where(k.tickets.c.refund_of.is_(None))
    rebuilt = {}
    for number, line_no, qty, net, discount, tax_pct, tax, inclusive in rows(kasir, stmt):
        receipt = (k.with_tax(net, tax_pct), k.with_tax(discount, tax_pct)) if inclusive else (
            net.quantize(Decimal("0.01")), discount.quantize(Decimal("0.01")))
        assert receipt[0].as_tuple().exponent == -2
        rebuilt[number, line_no] = (qty, *receipt, tax_pct, tax)
    reference_lines = {
        (number, line_no): (qty, price, discount, rate, tax)
        for number, line_no, qty, price, discount, rate, tax in rows(reference, select(
            ref.orders.c.number, ref.order_lines.c.line_no, ref.order_lines.c.quantity, ref.order_lines.c.unit_price,
            ref.order_lines.c.discount_amount, ref.order_lines.c.tax_rate, ref.order_lines.c.tax_amount,
        ).select_from(ref.orders.join(ref.order_lines)))
    }
    assert rebuilt == reference_lines
    inclusive_prices = [r for r in rows(kasir, select(k.locations.c.code).where(k.locations.c.prices_include_tax))]
    assert inclusive_prices == [("SBY01",)]


def test_a_ticket_adds_up_from_its_net_lines(kasir: Engine) -> None:
    lines: dict[str, Decimal] = defaultdict(lambda: ZERO)
    taxes: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for ticket, net, tax in rows(kasir, select(k.ticket_items.c.ticket_id, k.ticket_items.c.net_amount,
                                               k.ticket_items.c.tax_amount)):
        lines[ticket] += net + tax
        taxes[ticket] += tax
    off = []
    for ticket_id, number, tax_total, service, rounding, total in rows(kasir, select(
            k.tickets.c.id, k.tickets.c.ticket_no, k.tickets.c.tax_total, k.tickets.c.service_charge,
            k.tickets.c.rounding, k.tickets.c.grand_total)):
        assert taxes[ticket_id] == tax_total, number
        if lines[ticket_id] + service + rounding != total:
            off.append(number)
    assert off == [TILL_BUG_ORDER]


def test_refund_lines_are_the_reference_amounts(reference: Engine, kasir: Engine) -> None:
    original = k.ticket_items.alias("original")
    sold_ticket = k.tickets.alias("sold_ticket")
    stmt = select(k.tickets.c.ticket_no, sold_ticket.c.ticket_no, original.c.line_no, k.ticket_items.c.qty,
                  k.ticket_items.c.net_amount, k.ticket_items.c.tax_amount, k.locations.c.prices_include_tax,
                  ).select_from(
        ticket_location().join(k.ticket_items, k.ticket_items.c.ticket_id == k.tickets.c.id)
        .join(original, original.c.id == k.ticket_items.c.refund_of_item)
        .join(sold_ticket, sold_ticket.c.id == k.tickets.c.refund_of))
    found = Counter()
    for number, order_number, line_no, qty, net, tax, inclusive in rows(kasir, stmt):
        amount = -(net + tax) if inclusive else -net
        found[number, order_number, line_no, -qty, amount, -tax] += 1
    sold = ref.order_lines
    expected = Counter(tuple(r) for r in rows(reference, select(
        ref.refunds.c.number, ref.orders.c.number, sold.c.line_no, ref.refund_lines.c.quantity,
        ref.refund_lines.c.amount, ref.refund_lines.c.tax_amount,
    ).select_from(ref.refund_lines.join(ref.refunds).join(sold, sold.c.id == ref.refund_lines.c.order_line_id)
                  .join(ref.orders, ref.orders.c.id == sold.c.order_id))))
    assert found == expected and len(expected) > 20


def test_shift_cash_is_worked_out_from_the_tickets(reference: Engine, kasir: Engine) -> None:
    cash: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for session, amount in rows(kasir, select(k.cash_sessions.c.session_no, k.ticket_payments.c.amount).select_from(
            k.cash_sessions.join(k.tickets, k.tickets.c.session_id == k.cash_sessions.c.id)
            .join(k.ticket_payments, k.ticket_payments.c.ticket_id == k.tickets.c.id))
            .where(k.ticket_payments.c.tender == "TUNAI")):
        cash[session] += amount
    worked_out = {number: opening + cash[number] for number, opening, closed in rows(kasir, select(
        k.cash_sessions.c.session_no, k.cash_sessions.c.opening_float, k.cash_sessions.c.closed_at))
        if closed is not None}
    stored = {number: expected for number, expected in rows(reference, select(
        ref.shifts.c.number, ref.shifts.c.expected_cash).where(ref.shifts.c.closed_at.isnot(None)))}
    assert worked_out == stored and len(stored) == 41


def _kasir_moves(kasir: Engine) -> tuple[Counter, Counter, Counter]:
    """Transfer legs found as pairs (OUT at one location, IN at another, same item and time) and the moves no
    pair explains (adjustments), as a profile's query would find them."""
    out_move, in_move = k.stock_moves.alias("out_move"), k.stock_moves.alias("in_move")
    out_loc, in_loc = k.locations.alias("out_loc"), k.locations.alias("in_loc")
    route_from, route_to = k.locations.alias("route_from"), k.locations.alias("route_to")
    pairs = select(out_move.c.id.label("out_id"), in_move.c.id.label("in_id"), out_loc.c.loc_type.label("out_type"),
                   out_loc.c.code.label("out_code"), in_loc.c.code.label("in_code"), route_from.c.code.label("src"),
                   route_to.c.code.label("dst"), out_move.c.item_id, out_move.c.qty.label("out_qty"),
                   in_move.c.qty.label("in_qty"), out_move.c.moved_at).select_from(
        out_move.join(in_move, and_(in_move.c.item_id == out_move.c.item_id,
                                    in_move.c.moved_at == out_move.c.moved_at,
                                    in_move.c.location_id != out_move.c.location_id,
                                    in_move.c.move_type == "IN"))
        .join(out_loc, out_loc.c.id == out_move.c.location_id).join(in_loc, in_loc.c.id == in_move.c.location_id)
        .join(route_from, route_from.c.id.in_([out_loc.c.route_from, in_loc.c.route_from]))
        .join(route_to, route_to.c.id.in_([out_loc.c.route_to, in_loc.c.route_to]))
    ).where(out_move.c.move_type == "OUT")
    sends, receives, paired = Counter(), Counter(), set()
    for row in rows(kasir, pairs):
        assert row.out_qty == row.in_qty
        paired |= {row.out_id, row.in_id}
        leg = receives if row.out_type == "TRANSIT" else sends
        leg[row.src, row.dst, row.moved_at, row.item_id, row.out_qty] += 1
    adjustments = Counter()
    for move_id, code, item, move_type, qty, moved_at in rows(kasir, select(
            k.stock_moves.c.id, k.locations.c.code, k.stock_moves.c.item_id, k.stock_moves.c.move_type,
            k.stock_moves.c.qty, k.stock_moves.c.moved_at).select_from(k.stock_moves.join(k.locations))):
        if move_id not in paired:
            adjustments[code, moved_at, item, qty if move_type == "IN" else -qty] += 1
    return sends, receives, adjustments


def test_transfers_are_pairs_of_moves_and_adjustments_the_rest(reference: Engine, kasir: Engine) -> None:
    sends, receives, adjustments = _kasir_moves(kasir)
    source, destination = ref.outlets.alias("source"), ref.outlets.alias("destination")
    transfer_rows = rows(reference, select(
        source.c.code, destination.c.code, ref.transfers.c.sent_at, ref.transfers.c.received_at,
        ref.transfer_lines.c.product_id, ref.transfer_lines.c.quantity_sent, ref.transfer_lines.c.quantity_received,
    ).select_from(ref.transfers.join(ref.transfer_lines).join(source, source.c.id == ref.transfers.c.from_outlet_id)
                  .join(destination, destination.c.id == ref.transfers.c.to_outlet_id))
        .where(ref.transfers.c.status != "cancelled"))
    expected_sends = Counter((f, t, sent, k.kasir_id("item", p), q) for f, t, sent, _, p, q, _ in transfer_rows
                             if sent is not None)
    expected_receives = Counter((f, t, got, k.kasir_id("item", p), q) for f, t, _, got, p, _, q in transfer_rows
                                if got is not None)
    assert sends == expected_sends and receives == expected_receives
    assert len(sends) == 40 and len(receives) == 36  # TO-0009 never sent; TO-0017, TO-0018 still on the way

    expected_adjustments = Counter(
        (code, at, k.kasir_id("item", product), change) for code, at, product, change in rows(reference, select(
            ref.outlets.c.code, ref.stock_adjustments.c.business_time, ref.stock_adjustment_lines.c.product_id,
            ref.stock_adjustment_lines.c.quantity_change,
        ).select_from(ref.stock_adjustments.join(ref.outlets).join(ref.stock_adjustment_lines))
            .where(ref.stock_adjustments.c.kind == "adjustment")))
    assert adjustments == expected_adjustments and sum(adjustments.values()) == 11
    # the kinds are shared: transfer legs and adjustments are all IN / OUT
    assert {t for (t,) in rows(kasir, select(k.stock_moves.c.move_type).distinct())} == {"IN", "OUT"}


def test_masters_counts_and_stock_carry_over(reference: Engine, kasir: Engine) -> None:
    ref_products = {(sku, barcode, name) for sku, barcode, name in rows(
        reference, select(ref.products.c.sku, ref.products.c.barcode, ref.products.c.name))}
    assert ref_products == {tuple(r) for r in rows(kasir, select(k.items.c.article_no, k.items.c.ean, k.items.c.name))}
    members = dict(rows(kasir, select(k.members.c.code, k.members.c.customer_no)))
    customers = dict(rows(reference, select(ref.customers.c.id, ref.customers.c.customer_code)))
    assert members == {k.member_code(cid): code for cid, code in customers.items()}
    # tickets name their customer by the member code
    ticket_members = dict(rows(kasir, select(k.tickets.c.ticket_no, k.tickets.c.member_code)))
    order_customers = dict(rows(reference, select(ref.orders.c.number, ref.orders.c.customer_id)))
    assert {n: ticket_members[n] for n in order_customers} == {
        n: None if c is None else k.member_code(c) for n, c in order_customers.items()}

    counted = Counter((n, k_id, c, s) for n, k_id, c, s in rows(kasir, select(
        k.stock_counts.c.count_no, k.stock_count_items.c.item_id, k.stock_count_items.c.counted_qty,
        k.stock_count_items.c.system_qty).select_from(k.stock_counts.join(k.stock_count_items))))
    assert counted == Counter((n, k.kasir_id("item", p), c, e) for n, p, c, e in rows(reference, select(
        ref.stock_adjustments.c.number, ref.stock_adjustment_lines.c.product_id,
        ref.stock_adjustment_lines.c.counted_quantity, ref.stock_adjustment_lines.c.expected_quantity,
    ).select_from(ref.stock_adjustments.join(ref.stock_adjustment_lines)).where(ref.stock_adjustments.c.kind
                                                                                 == "stock_take")))
    levels = {(loc, item): qty for loc, item, qty in rows(kasir, select(
        k.item_stock.c.location_id, k.item_stock.c.item_id, k.item_stock.c.qty))}
    assert levels == {(k.kasir_id("location", o), k.kasir_id("item", p)): q for o, p, q in rows(reference, select(
        ref.stock_levels.c.outlet_id, ref.stock_levels.c.product_id, ref.stock_levels.c.quantity))}


def test_a_loaded_kasir_is_not_loaded_twice(reference: Engine, pos_engine: Engine) -> None:
    assert k.load_kasir(reference, pos_engine)["tickets"] == 1289
    with pytest.raises(ValueError, match="already holds 1289 tickets; pass replace=True"):
        k.load_kasir(reference, pos_engine)
    assert k.load_kasir(reference, pos_engine, replace=True)["tickets"] == 1289


def test_an_outlet_with_both_price_modes_is_refused(tmp_path: Path) -> None:
    source = make_engine(f"sqlite:///{tmp_path / 'ref.db'}")
    generate(source, DemoSpec(days=1, orders_per_day=30))
    with source.begin() as conn:
        first = conn.execute(select(ref.orders.c.id).where(ref.orders.c.outlet_id == 1).limit(1)).scalar_one()
        conn.execute(update(ref.orders).where(ref.orders.c.id == first).values(tax_inclusive=True))
    with pytest.raises(ValueError, match="outlet JKT01 has tax-inclusive and tax-exclusive orders"):
        k.load_kasir(source, make_engine(f"sqlite:///{tmp_path / 'kasir.db'}"))


def test_the_devkit_command_loads_kasir_and_refuses_a_second_load(reference: Engine, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from possync_devkit.cli import main

    source = reference.url.render_as_string(hide_password=False)
    target = f"sqlite:///{tmp_path / 'kasir.db'}"
    assert main(["kasir", "load", "--pos-url", source, "--kasir-url", target]) == 0
    assert "1289 tickets" in capsys.readouterr().out
    assert main(["kasir", "load", "--pos-url", source, "--kasir-url", target]) == 2
    assert "already holds 1289 tickets; pass replace=True (--replace)" in capsys.readouterr().err
    assert main(["kasir", "load", "--pos-url", source, "--kasir-url", target, "--replace"]) == 0
    assert main(["kasir", "load", "--pos-url", source, "--kasir-url", "oracle://x@y/z"]) == 2
    assert "SQLite or PostgreSQL (a POS database also MySQL or MariaDB), not oracle" in capsys.readouterr().err


def doc_query(title: str) -> str:
    """The SQL block of docs/kasir-schema.md whose first line is ``-- kasir: <title>``."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "kasir-schema.md").read_text()
    for block in doc.split("```sql\n")[1:]:
        sql = block.split("```")[0]
        if sql.startswith(f"-- kasir: {title}\n"):
            return sql
    raise AssertionError(f"docs/kasir-schema.md has no SQL block '-- kasir: {title}'")


def naive(moment: Any) -> datetime:
    """A time as raw SQL returns it (SQLite: ISO text; the others: a naive datetime), naive UTC."""
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return moment.replace(tzinfo=None)


def test_the_documented_queries_find_the_facts(reference: Engine, kasir: Engine) -> None:
    from sqlalchemy import text

    outlets = {number: code for number, code, _ in rows(kasir, text(doc_query("ticket outlets")))}
    ref_outlets = {n: c for n, c in rows(reference, select(ref.orders.c.number, ref.outlets.c.code).select_from(
        ref.orders.join(ref.outlets)))} | {n: c for n, c in rows(reference, select(
            ref.refunds.c.number, ref.outlets.c.code).select_from(ref.refunds.join(ref.outlets)))}
    assert outlets == ref_outlets

    sends, receives, adjustments = _kasir_moves(kasir)
    legs = Counter()
    for leg, from_code, to_code, moved_at, item, qty in rows(kasir, text(doc_query("transfer legs"))):
        legs[leg, from_code, to_code, naive(moved_at), item, Decimal(str(qty))] += 1
    assert legs == Counter({("sent", f, t, at.replace(tzinfo=None), i, q): n for (f, t, at, i, q), n in sends.items()}
                           | {("received", f, t, at.replace(tzinfo=None), i, q): n
                              for (f, t, at, i, q), n in receives.items()})
    found = Counter()
    for code, moved_at, item, move_type, qty, _reason in rows(kasir, text(doc_query("adjustments"))):
        qty = Decimal(str(qty))
        found[code, naive(moved_at), item, qty if move_type == "IN" else -qty] += 1
    assert found == Counter({(c, at.replace(tzinfo=None), i, q): n for (c, at, i, q), n in adjustments.items()})
