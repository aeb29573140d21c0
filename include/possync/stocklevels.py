"""The POS's stock per outlet and product: now, and as it stood when an integration started.

``pos_levels`` reads ``stock_levels`` (the reference schema's on-hand quantity per outlet and product). The
opening stock a target receives is the level *as of the integration's start* (``start_date``, midnight in the
outlet's timezone), not today's: every stock move since then (sales, refunds, transfer sides, adjustments and
stock takes, goods received and returned) is synced or retried on its own, so the target ends where the POS is.
The level then is today's level less the net of every move since (``moves_since``), read from the moves' own
business times.

Only stock-tracked products with a SKU count; quantities are exact ``Decimal`` (three places, like the POS).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from possync.pos import schema as s

ZERO = Decimal("0.000")

Place = tuple[str, str]  # (POS outlet code, SKU)


@dataclass(frozen=True)
class Level:
    """One product's stock at one outlet: the quantity, its unit cost (the product's cost) and its name."""

    quantity: Decimal
    unit_cost: Decimal
    product_name: str


def _tracked() -> object:
    return s.products.c.track_stock.is_(True) & s.products.c.sku.is_not(None)


def pos_levels(pos: Engine, outlet_codes: Iterable[str] | None = None) -> dict[Place, Level]:
    """(outlet, SKU) → the POS's stock now, for the outlets given (all when None)."""
    query = (select(s.outlets.c.code, s.products.c.sku, s.products.c.name, s.products.c.cost,
                    s.stock_levels.c.quantity)
             .join(s.outlets, s.outlets.c.id == s.stock_levels.c.outlet_id)
             .join(s.products, s.products.c.id == s.stock_levels.c.product_id)
             .where(_tracked()))
    if outlet_codes is not None:
        query = query.where(s.outlets.c.code.in_(sorted(set(outlet_codes))))
    with pos.connect() as conn:
        return {(code, sku): Level(Decimal(quantity), Decimal(cost), name)
                for code, sku, name, cost, quantity in conn.execute(query)}


def start_moment(start: date, timezone: str) -> datetime:
    """Midnight of ``start`` in ``timezone`` (an outlet's business day begins there)."""
    return datetime.combine(start, time(0), ZoneInfo(timezone))


@dataclass(frozen=True)
class Move:
    """One POS record's change to one outlet's product: the ledger's record type and key it is synced under
    (``goods_receipt`` / ``goods_return`` are not synced out), and when it happened; ``origin``: the integration
    whose target it was entered in (a transfer written into the POS by an inbound webhook), None for the POS's own."""

    record_type: str
    key: str
    outlet_code: str
    sku: str
    quantity: Decimal
    when: datetime | None
    origin: str | None = None


def stock_moves(pos: Engine, outlet_codes: Iterable[str]) -> Iterator[Move]:
    """Every stock move at the outlets given: sold (completed orders) out, refunded in, transfers out when sent and
    in when received, adjustment lines' signed changes (stock takes' too), goods received in, goods returned out."""
    codes = sorted(set(outlet_codes))
    if not codes:
        return
    source, destination = s.outlets.alias("src"), s.outlets.alias("dst")
    with pos.connect() as conn:
        for number, code, sku, quantity, when in conn.execute(
            select(s.orders.c.number, s.outlets.c.code, s.products.c.sku, s.order_lines.c.quantity,
                   s.orders.c.business_time)
            .join(s.order_lines, s.order_lines.c.order_id == s.orders.c.id)
            .join(s.products, s.products.c.id == s.order_lines.c.product_id)
            .join(s.outlets, s.outlets.c.id == s.orders.c.outlet_id)
            .where(_tracked(), s.orders.c.status == "completed", s.outlets.c.code.in_(codes))
        ):
            yield Move("invoice", number, code, sku, -Decimal(quantity), when)
        for number, code, sku, quantity, when in conn.execute(
            select(s.refunds.c.number, s.outlets.c.code, s.products.c.sku, s.refund_lines.c.quantity,
                   s.refunds.c.business_time)
            .join(s.refund_lines, s.refund_lines.c.refund_id == s.refunds.c.id)
            .join(s.order_lines, s.order_lines.c.id == s.refund_lines.c.order_line_id)
            .join(s.products, s.products.c.id == s.order_lines.c.product_id)
            .join(s.outlets, s.outlets.c.id == s.refunds.c.outlet_id)
            .where(_tracked(), s.outlets.c.code.in_(codes))
        ):
            yield Move("return", number, code, sku, Decimal(quantity), when)
        for number, origin, src, dst, sku, sent, received, sent_at, received_at in conn.execute(
            select(s.transfers.c.number, s.transfers.c.origin, source.c.code, destination.c.code, s.products.c.sku,
                   s.transfer_lines.c.quantity_sent, s.transfer_lines.c.quantity_received, s.transfers.c.sent_at,
                   s.transfers.c.received_at)
            .join(s.transfer_lines, s.transfer_lines.c.transfer_id == s.transfers.c.id)
            .join(s.products, s.products.c.id == s.transfer_lines.c.product_id)
            .join(source, source.c.id == s.transfers.c.from_outlet_id)
            .join(destination, destination.c.id == s.transfers.c.to_outlet_id)
            .where(_tracked())
        ):
            if src in codes and sent_at is not None:
                yield Move("transfer_out", number, src, sku, -Decimal(sent), sent_at, origin)
            if dst in codes and received is not None and received_at is not None:
                yield Move("transfer_in", number, dst, sku, Decimal(received), received_at, origin)
        for number, kind, code, sku, change, when in conn.execute(
            select(s.stock_adjustments.c.number, s.stock_adjustments.c.kind, s.outlets.c.code, s.products.c.sku,
                   s.stock_adjustment_lines.c.quantity_change, s.stock_adjustments.c.business_time)
            .join(s.stock_adjustment_lines, s.stock_adjustment_lines.c.adjustment_id == s.stock_adjustments.c.id)
            .join(s.products, s.products.c.id == s.stock_adjustment_lines.c.product_id)
            .join(s.outlets, s.outlets.c.id == s.stock_adjustments.c.outlet_id)
            .where(_tracked(), s.outlets.c.code.in_(codes))
        ):
            if change is not None:
                yield Move("stock_take" if kind == "stock_take" else "adjustment", number, code, sku,
                           Decimal(change), when)
        for number, code, sku, quantity, when in conn.execute(
            select(s.goods_receipts.c.source_number, s.outlets.c.code, s.products.c.sku,
                   s.goods_receipt_lines.c.quantity, s.goods_receipts.c.received_at)
            .join(s.goods_receipt_lines, s.goods_receipt_lines.c.receipt_id == s.goods_receipts.c.id)
            .join(s.products, s.products.c.id == s.goods_receipt_lines.c.product_id)
            .join(s.outlets, s.outlets.c.id == s.goods_receipts.c.outlet_id)
            .where(_tracked(), s.outlets.c.code.in_(codes))
        ):
            yield Move("goods_receipt", number, code, sku, Decimal(quantity), when)
        for number, code, sku, quantity, when in conn.execute(
            select(s.goods_returns.c.number, s.outlets.c.code, s.products.c.sku, s.goods_return_lines.c.quantity,
                   s.goods_returns.c.returned_at)
            .join(s.goods_return_lines, s.goods_return_lines.c.return_id == s.goods_returns.c.id)
            .join(s.products, s.products.c.id == s.goods_return_lines.c.product_id)
            .join(s.outlets, s.outlets.c.id == s.goods_returns.c.outlet_id)
            .where(_tracked(), s.outlets.c.code.in_(codes))
        ):
            yield Move("goods_return", number, code, sku, -Decimal(quantity), when)


def at_or_after(moment: datetime | None, since: datetime) -> bool:
    """Whether a move's time (naive means UTC, as SQLite returns it) is at or after ``since``; a move with no
    time never is."""
    if moment is None:
        return False
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo("UTC"))
    return aware >= since


def moves_since(pos: Engine, since: dict[str, datetime]) -> dict[Place, Decimal]:
    """(outlet, SKU) → the net quantity every stock move (``stock_moves``) at or after the outlet's moment in
    ``since`` (outlet code → an aware time) added."""
    net: dict[Place, Decimal] = defaultdict(lambda: ZERO)
    for move in stock_moves(pos, since):
        if at_or_after(move.when, since[move.outlet_code]):
            net[move.outlet_code, move.sku] += move.quantity
    return dict(net)


def outlet_timezones(pos: Engine, outlet_codes: Iterable[str]) -> dict[str, str]:
    """Outlet code → its timezone, for the outlets the POS has."""
    with pos.connect() as conn:
        return dict(conn.execute(select(s.outlets.c.code, s.outlets.c.timezone)
                                 .where(s.outlets.c.code.in_(sorted(set(outlet_codes))))).all())


def opening_levels(pos: Engine, outlet_codes: Iterable[str], start: date) -> dict[Place, Level]:
    """(outlet, SKU) → the POS's stock at midnight of ``start`` in each outlet's timezone: today's level less
    every move since (see the module docstring). Outlets the POS lacks are left out."""
    zones = outlet_timezones(pos, outlet_codes)
    since = {code: start_moment(start, zone) for code, zone in zones.items()}
    now = pos_levels(pos, zones)
    moved = moves_since(pos, since)
    names = {sku: level for (_code, sku), level in now.items()}
    levels: dict[Place, Level] = {}
    for place in set(now) | set(moved):
        known = now.get(place) or names.get(place[1])
        if known is None:  # moved, but no stock row for the product anywhere: nothing to price it by
            continue
        quantity = (now[place].quantity if place in now else ZERO) - moved.get(place, ZERO)
        levels[place] = Level(quantity, known.unit_cost, known.product_name)
    return levels
