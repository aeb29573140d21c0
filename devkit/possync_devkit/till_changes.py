"""Changes made at the till after a sale was synced: what `make demo` and the tests do to the POS to show a void
and an edit reaching the targets.

Each change writes the POS the way the till would (totals consistent, the shelf's stock levels moved with the
goods, ``committed_at`` moved to now, so the next sync reads the order again) and leaves everything else alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from possync.pos import schema


@dataclass(frozen=True)
class PlainOrder:
    """A completed order with one payment, no refund, no order discount, service charge or rounding, and an
    undiscounted first line: one whose totals a change can recompute by hand."""

    number: str
    total: Decimal
    method: str


def plain_orders(pos: Engine, outlet_code: str, start: datetime, end: datetime,
                 exclude: set[str] = frozenset()) -> list[PlainOrder]:  # type: ignore[assignment]
    """The outlet's plain orders sold in [start, end), oldest first, leaving out ``exclude``."""
    o, p, r, ln = schema.orders, schema.payments, schema.refunds, schema.order_lines
    one_payment = select(p.c.order_id).group_by(p.c.order_id).having(func.count() == 1)
    stmt = (select(o.c.number, o.c.total_amount, p.c.method)
            .join(p, p.c.order_id == o.c.id).join(ln, (ln.c.order_id == o.c.id) & (ln.c.line_no == 1))
            .join(schema.outlets, schema.outlets.c.id == o.c.outlet_id)
            .where(schema.outlets.c.code == outlet_code, o.c.status == "completed", o.c.business_time >= start,
                   o.c.business_time < end, o.c.discount_amount == 0, o.c.service_charge_amount == 0,
                   o.c.rounding_amount == 0, ln.c.discount_amount == 0, o.c.id.in_(one_payment),
                   ~o.c.id.in_(select(r.c.order_id)))
            .order_by(o.c.business_time))
    with pos.connect() as conn:
        return [PlainOrder(*row) for row in conn.execute(stmt) if row[0] not in exclude]


def _order_id(number: str) -> object:
    return select(schema.orders.c.id).where(schema.orders.c.number == number).scalar_subquery()


def _move_stock(conn: Connection, number: str, change: Decimal, line_no: int | None = None) -> None:
    """Add ``change`` × each line's quantity (only line ``line_no`` when given, once) to the outlet's stock of
    the order's stock-tracked products, as the till does when goods go back on the shelf or leave it."""
    o, ln, pr, lv = schema.orders, schema.order_lines, schema.products, schema.stock_levels
    rows = conn.execute(select(o.c.outlet_id, ln.c.product_id, ln.c.quantity, lv.c.quantity)
                        .join(ln, ln.c.order_id == o.c.id).join(pr, pr.c.id == ln.c.product_id)
                        .join(lv, (lv.c.outlet_id == o.c.outlet_id) & (lv.c.product_id == ln.c.product_id))
                        .where(o.c.number == number, pr.c.track_stock.is_(True),
                               *(() if line_no is None else (ln.c.line_no == line_no,)))).all()
    now = datetime.now(UTC)
    for outlet_id, product_id, sold, level in rows:
        moved = change if line_no is not None else change * sold
        conn.execute(update(lv).where(lv.c.outlet_id == outlet_id, lv.c.product_id == product_id)
                     .values(quantity=level + moved, updated_at=now))


def void_order(pos: Engine, number: str, reason: str) -> None:
    """Void a completed order at the till: its goods go back on the shelf."""
    now = datetime.now(UTC)
    with pos.begin() as conn:
        _move_stock(conn, number, Decimal(1))
        conn.execute(update(schema.orders).where(schema.orders.c.number == number).values(
            status="voided", voided_at=now, void_reason=reason, committed_at=now))


def switch_payment_method(pos: Engine, number: str) -> str:
    """Change the method of a plain order's payment (cash ↔ QRIS), same amount; the new method."""
    o, p = schema.orders, schema.payments
    with pos.begin() as conn:
        method = conn.execute(select(p.c.method).where(p.c.order_id == _order_id(number))).scalar_one()
        new = "qris" if method == "cash" else "cash"
        conn.execute(update(p).where(p.c.order_id == _order_id(number)).values(method=new))
        conn.execute(update(o).where(o.c.number == number).values(committed_at=datetime.now(UTC)))
    return new


def add_unit(pos: Engine, number: str) -> Decimal:
    """One more unit on a plain order's first line (one more off the shelf), its tax, the order's tax and total
    and its payment recomputed as the till does; the new total."""
    o, p, ln = schema.orders, schema.payments, schema.order_lines
    with pos.begin() as conn:
        line = conn.execute(
            select(ln.c.quantity, ln.c.unit_price, ln.c.tax_rate, ln.c.tax_amount, o.c.tax_inclusive, o.c.total_amount)
            .join(o, o.c.id == ln.c.order_id).where(o.c.number == number, ln.c.line_no == 1)).one()
        quantity = line.quantity + 1
        # the line's tax: inside the price when the order is tax-inclusive, on top of it when not
        base = 100 + line.tax_rate if line.tax_inclusive else Decimal(100)
        tax = (quantity * line.unit_price * line.tax_rate / base).quantize(Decimal("0.01"))
        total = line.total_amount + line.unit_price + (0 if line.tax_inclusive else tax - line.tax_amount)
        conn.execute(update(ln).where(ln.c.order_id == _order_id(number), ln.c.line_no == 1)
                     .values(quantity=quantity, tax_amount=tax))
        _move_stock(conn, number, Decimal(-1), line_no=1)
        conn.execute(update(o).where(o.c.number == number).values(
            total_amount=total, tax_amount=o.c.tax_amount - line.tax_amount + tax, committed_at=datetime.now(UTC)))
        conn.execute(update(p).where(p.c.order_id == _order_id(number)).values(amount=total))
    return total
