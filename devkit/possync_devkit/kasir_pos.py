""""kasir": a second POS database, built the way many real point-of-sale databases are, unlike possync's
reference schema (:mod:`possync.pos.schema`). It exists so that source profiles are proven on a POS whose
shapes differ, not only its names. ``load_kasir(reference, kasir)`` writes the business facts of a reference
POS database (the demo week of :mod:`possync_devkit.demo_pos`) into it, so the same accounting documents can
be extracted from either. Runs on SQLite, PostgreSQL and MySQL / MariaDB. docs/kasir-schema.md explains each
trait and how a profile reads it.

Tables
------
``locations``       stores, warehouses and in-transit locations (``loc_type`` STORE / WAREHOUSE / TRANSIT);
                    a store says whether its receipts show tax-inclusive prices (``prices_include_tax``)
``tills``           cash registers, each at one location
``cash_sessions``   a till's shift: opened, closed, opening float and the cash the cashier declared. No
                    expected cash, no sales totals: they are worked out from the tickets
``items``           the catalogue; the SKU is ``article_no``, the barcode ``ean``
``members``         customers, identified by ``code`` (their text key, what tickets reference);
                    ``customer_no`` is the optional number typed at the till (not unique)
``tickets``         sales *and* refunds. No outlet column: a ticket's location is its till's (or its cash
                    session's till's). A refund is a ticket whose items have negative quantities, pointing
                    at the sale it refunds (``refund_of``); its ``grand_total`` is negative
``ticket_items``    ticket lines; ``unit_price`` and ``discount`` exclude tax (4 places, so the
                    tax-inclusive receipt price is exactly ``round(unit_price x (100 + tax_pct) / 100, 2)``);
                    ``net_amount`` is the line after every discount, tax excluded; signed like ``qty``
``ticket_payments`` tenders; a refund's is negative
``stock_moves``     manual stock movements: ``move_type`` IN or OUT and a positive ``qty``. A transfer is only
                    pairs of moves, OUT at one location and IN at another, same item, same ``moved_at``, no
                    transfer id; goods on the way sit in the route's TRANSIT location. Ordinary adjustments use
                    the same IN / OUT kinds, alone
``stock_counts``    stock takes (``stock_count_items``: counted and system quantity per item)
``item_stock``      stock on hand per location and item

Every id is text (``locations.id``, ``tickets.id``, ...: opaque keys made by the till; nothing may be read
from them, not even order). Amounts are exact decimals: NUMERIC on PostgreSQL and MariaDB, decimal *text*
on SQLite (as a POS written for SQLite keeps them, so ``SUM()`` there is a float: sum in Python). Times are
UTC without a zone: ``timestamp without time zone`` on PostgreSQL, ``DATETIME(6)`` on MariaDB.

The loader's mapping (reference → kasir)
-----------------------------------------
* outlet → location (``prices_include_tax`` from its orders; an outlet with both kinds is refused); each
  transfer route gets a TRANSIT location ``TRANSIT-<from>-<to>``.
* order → sale ticket, ``ticket_no`` = order number; refund → refund ticket, ``ticket_no`` = refund number, at
  the till of its shift, ``note`` = the refund reason, one negative payment by its method.
* transfer (not cancelled) → a send pair at ``sent_at`` (OUT at the source, IN at the route's TRANSIT, the
  quantity sent), and once received a receive pair at ``received_at`` (OUT at TRANSIT, IN at the destination,
  the quantity received). A shortage stays in TRANSIT; a transfer received but never sent (sent_at NULL) has
  only its receive pair. The transfer number and the line numbers are not kept: the POS has none.
* adjustment → one move per line (IN for a positive change, OUT for a negative one) at its time, the reason
  as ``reason``; its number is not kept. Stock take → stock count (``count_no`` = its number).
* customer → member ``M`` + id (zero-padded); ``customer_no`` = its customer code as typed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.dialects.mysql import DATETIME as MYSQL_DATETIME
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.types import TypeDecorator, TypeEngine

from possync.pos import schema as ref
from possync_devkit.demo_pos import allocate

__all__ = ["TABLES", "create_kasir_schema", "drop_kasir_schema", "kasir_id", "load_kasir", "metadata"]

# ------------------------------------------------------------------------------------------------- types


class KasirDecimal(TypeDecorator):
    """An exact decimal: NUMERIC on PostgreSQL and MySQL / MariaDB, decimal text on SQLite; always ``Decimal``."""

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int, precision: int = 18) -> None:
        super().__init__()
        self.scale = scale
        self.precision = precision
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError(f"refusing float {value!r} for an exact decimal column; pass a Decimal or int")
        exact = Decimal(value)
        if exact != exact.quantize(self._quantum):
            raise ValueError(f"{exact} has more than {self.scale} decimal places")
        exact = exact.quantize(self._quantum)
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(self._quantum)


class KasirTime(TypeDecorator):
    """A UTC time kept without a zone (to the microsecond); aware in, aware (UTC) out, naive refused."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(MYSQL_DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: kasir times are written from aware UTC times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def Amount() -> KasirDecimal:
    return KasirDecimal(2)


def NetPrice() -> KasirDecimal:
    return KasirDecimal(4)


def Qty() -> KasirDecimal:
    return KasirDecimal(3)


def Pct() -> KasirDecimal:
    return KasirDecimal(2, 7)


def Tid() -> String:
    """A text id."""
    return String(36)


# ------------------------------------------------------------------------------------------------ schema

metadata = MetaData()

LOCATION_TYPES = ("STORE", "WAREHOUSE", "TRANSIT")
TICKET_STATUSES = ("PAID", "VOID")
TENDERS = ("TUNAI", "KARTU", "QRIS", "EWALLET", "TRANSFER")
MOVE_TYPES = ("IN", "OUT")

locations = Table(
    "locations",
    metadata,
    Column("id", Tid(), primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(160), nullable=False),
    Column("loc_type", String(10), nullable=False),
    Column("tz", String(40), nullable=False),
    Column("address", Text),
    # the receipts show tax-inclusive prices (the lines still keep prices without tax)
    Column("prices_include_tax", Boolean, nullable=False, server_default="0"),
    # a TRANSIT location holds the goods on their way along one route
    Column("route_from", ForeignKey("locations.id")),
    Column("route_to", ForeignKey("locations.id")),
    Column("active", Boolean, nullable=False, server_default="1"),
    CheckConstraint(f"loc_type IN {LOCATION_TYPES!r}", name="ck_locations_type"),
)

tills = Table(
    "tills",
    metadata,
    Column("id", Tid(), primary_key=True),
    Column("location_id", ForeignKey("locations.id"), nullable=False),
    Column("till_no", String(20), nullable=False),
    Column("name", String(80), nullable=False),
    UniqueConstraint("location_id", "till_no", name="uq_tills_location_no"),
)

cash_sessions = Table(
    "cash_sessions",
    metadata,
    Column("id", Tid(), primary_key=True),
    Column("session_no", String(40), nullable=False, unique=True),
    Column("till_id", ForeignKey("tills.id"), nullable=False),
    Column("opened_at", KasirTime(), nullable=False),
    Column("closed_at", KasirTime()),
    Column("opening_float", Amount(), nullable=False),
    # what the cashier counted at close; what the till expected is not stored
    Column("declared_cash", Amount()),
)

items = Table(
    "items",
    metadata,
    Column("id", Tid(), primary_key=True),
    Column("article_no", String(40), unique=True),  # the SKU; may be missing
    Column("ean", String(20)),  # the barcode
    Column("name", String(160), nullable=False),
    Column("category", String(60)),
    Column("uom", String(20), nullable=False),
    Column("list_price", Amount(), nullable=False),
    Column("cost_price", Amount(), nullable=False),
    Column("tax_pct", Pct(), nullable=False),
    Column("stocked", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("modified_at", KasirTime(), nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("code", String(20), primary_key=True),  # the member's key: what tickets reference
    Column("customer_no", String(40)),  # typed at the till; optional, not unique
    Column("full_name", String(160), nullable=False),
    Column("email", String(160)),
    Column("phone", String(40)),
    Column("joined_at", KasirTime(), nullable=False),
    Column("modified_at", KasirTime(), nullable=False),
    Index("ix_members_modified_at", "modified_at"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Tid(), primary_key=True),
    Column("ticket_no", String(40), nullable=False, unique=True),
    # no location: the till (or the cash session's till) says where
    Column("till_id", ForeignKey("tills.id"), nullable=False),
    Column("session_id", ForeignKey("cash_sessions.id")),
    Column("member_code", ForeignKey("members.code")),
    Column("status", String(4), nullable=False),
    # a refund: the sale it gives back (its items have negative quantities)
    Column("refund_of", ForeignKey("tickets.id")),
    Column("sold_at", KasirTime(), nullable=False),
    Column("synced_at", KasirTime(), nullable=False),
    Column("discount", Amount(), nullable=False),  # the ticket discount, as on the receipt
    Column("service_pct", Pct(), nullable=False),
    Column("service_charge", Amount(), nullable=False),
    Column("tax_total", Amount(), nullable=False),
    Column("rounding", Amount(), nullable=False),
    Column("grand_total", Amount(), nullable=False),
    Column("voided_at", KasirTime()),
    Column("void_note", Text),
    Column("note", Text),
    CheckConstraint(f"status IN {TICKET_STATUSES!r}", name="ck_tickets_status"),
    Index("ix_tickets_sold_at", "sold_at"),
    Index("ix_tickets_synced_at", "synced_at"),
)

ticket_items = Table(
    "ticket_items",
    metadata,
    Column("id", Tid(), primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("item_id", ForeignKey("items.id"), nullable=False),
    Column("item_name", String(160), nullable=False),
    Column("qty", Qty(), nullable=False),  # negative on a refund
    Column("unit_price", NetPrice(), nullable=False),  # without tax
    Column("discount", NetPrice(), nullable=False),  # the line's own discount, without tax
    Column("tax_pct", Pct(), nullable=False),
    Column("tax_amount", Amount(), nullable=False),
    # the line after its discount and its share of the ticket discount, without tax
    Column("net_amount", Amount(), nullable=False),
    Column("refund_of_item", ForeignKey("ticket_items.id")),
    UniqueConstraint("ticket_id", "line_no", name="uq_ticket_items_line"),
)

ticket_payments = Table(
    "ticket_payments",
    metadata,
    Column("id", Tid(), primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("tender", String(10), nullable=False),
    Column("amount", Amount(), nullable=False),
    Column("tendered", Amount()),
    Column("ref_no", String(60)),
    Column("paid_at", KasirTime(), nullable=False),
    UniqueConstraint("ticket_id", "seq", name="uq_ticket_payments_seq"),
    CheckConstraint(f"tender IN {TENDERS!r}", name="ck_ticket_payments_tender"),
)

stock_moves = Table(
    "stock_moves",
    metadata,
    Column("id", Tid(), primary_key=True),
    Column("location_id", ForeignKey("locations.id"), nullable=False),
    Column("item_id", ForeignKey("items.id"), nullable=False),
    Column("move_type", String(3), nullable=False),
    Column("qty", Qty(), nullable=False),
    Column("unit_cost", Amount()),
    Column("moved_at", KasirTime(), nullable=False),
    Column("recorded_at", KasirTime(), nullable=False),
    Column("reason", Text),
    CheckConstraint(f"move_type IN {MOVE_TYPES!r}", name="ck_stock_moves_type"),
    CheckConstraint("qty >= 0", name="ck_stock_moves_qty"),
    Index("ix_stock_moves_moved_at", "moved_at"),
)

stock_counts = Table(
    "stock_counts",
    metadata,
    Column("id", Tid(), primary_key=True),
    Column("count_no", String(40), nullable=False, unique=True),
    Column("location_id", ForeignKey("locations.id"), nullable=False),
    Column("counted_at", KasirTime(), nullable=False),
    Column("recorded_at", KasirTime(), nullable=False),
    Column("note", Text),
)

stock_count_items = Table(
    "stock_count_items",
    metadata,
    Column("id", Tid(), primary_key=True),
    Column("count_id", ForeignKey("stock_counts.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("item_id", ForeignKey("items.id"), nullable=False),
    Column("counted_qty", Qty(), nullable=False),
    Column("system_qty", Qty(), nullable=False),
    Column("unit_cost", Amount()),
    UniqueConstraint("count_id", "line_no", name="uq_stock_count_items_line"),
)

item_stock = Table(
    "item_stock",
    metadata,
    Column("location_id", ForeignKey("locations.id"), primary_key=True),
    Column("item_id", ForeignKey("items.id"), primary_key=True),
    Column("qty", Qty(), nullable=False),
    Column("updated_at", KasirTime(), nullable=False),
)

#: parents first
TABLES: tuple[Table, ...] = (
    locations, tills, cash_sessions, items, members, tickets, ticket_items, ticket_payments, stock_moves,
    stock_counts, stock_count_items, item_stock,
)


def create_kasir_schema(engine: Engine) -> None:
    """Create the kasir tables that do not exist yet (idempotent)."""
    metadata.create_all(engine)


def drop_kasir_schema(engine: Engine) -> None:
    metadata.drop_all(engine)


# ------------------------------------------------------------------------------------------------ loader

_NAMESPACE = uuid.UUID("6f1d3c2a-5b1e-4c7a-9e0d-6b7a8c9d0e1f")
TENDER_OF_METHOD = {"cash": "TUNAI", "card": "KARTU", "qris": "QRIS", "ewallet": "EWALLET",
                    "bank_transfer": "TRANSFER"}
_NET_PLACES = Decimal("0.0001")
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


def kasir_id(kind: str, key: object) -> str:
    """The text id the loader gives the reference record ``kind`` ``key``: stable (the same facts load the same
    ids on every database), opaque like a till's own."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


def member_code(customer_id: int) -> str:
    return f"M{customer_id:06d}"


def transit_code(from_code: str, to_code: str) -> str:
    return f"TRANSIT-{from_code}-{to_code}"


def without_tax(price: Decimal, tax_pct: Decimal, inclusive: bool) -> Decimal:
    """A receipt price (or discount) without its tax, to 4 places: exact enough that
    ``round(net x (100 + tax_pct) / 100, 2)`` gives the receipt price back (checked by the loader)."""
    if not inclusive:
        return price.quantize(_NET_PLACES)
    net = (price * 100 / (100 + tax_pct)).quantize(_NET_PLACES, ROUND_HALF_UP)
    if with_tax(net, tax_pct) != price:
        raise ValueError(f"{price} at {tax_pct}% tax does not survive without its tax ({net})")
    return net


def with_tax(net: Decimal, tax_pct: Decimal) -> Decimal:
    """The receipt price of a net price at a tax-inclusive store."""
    return (net * (100 + tax_pct) / 100).quantize(_CENT, ROUND_HALF_UP)


class _Rows:
    """Rows per kasir table, inserted parents first at the end."""

    def __init__(self) -> None:
        self.rows: dict[Table, list[dict[str, Any]]] = {table: [] for table in TABLES}

    def add(self, table: Table, **row: Any) -> None:
        self.rows[table].append(row)

    def write(self, conn: Connection, chunk: int = 5_000) -> dict[str, int]:
        for table in TABLES:
            rows = self.rows[table]
            for start in range(0, len(rows), chunk):
                conn.execute(table.insert(), rows[start:start + chunk])
        return {table.name: len(self.rows[table]) for table in TABLES}


def _all(conn: Connection, table: Table) -> list[Any]:
    return list(conn.execute(select(table).order_by(*table.primary_key.columns)))


def load_kasir(reference: Engine, kasir: Engine, replace: bool = False) -> dict[str, int]:
    """Write the business facts of the reference POS database ``reference`` into a kasir database; return the
    rows written per table.

    Refuses a kasir database that already holds tickets unless ``replace`` (drop and recreate its tables);
    refuses facts kasir cannot hold (an outlet with both tax-inclusive and -exclusive orders, a refund with no
    till to give it at, a receipt price that does not survive without its tax). One transaction.
    """
    with reference.connect() as conn:
        rows = _convert(conn)
    if replace:
        drop_kasir_schema(kasir)
    create_kasir_schema(kasir)
    with kasir.begin() as conn:
        held = conn.execute(select(func.count()).select_from(tickets)).scalar_one()
        if held:
            raise ValueError(
                f"the kasir database {kasir.url.render_as_string(hide_password=True)} already holds {held} "
                "tickets; pass replace=True (--replace) to drop its tables and load afresh"
            )
        return rows.write(conn)


def _convert(conn: Connection) -> _Rows:
    out = _Rows()
    outlets = _all(conn, ref.outlets)
    code_of = {o.id: o.code for o in outlets}
    modes: dict[int, set[bool]] = defaultdict(set)
    for outlet_id, inclusive in conn.execute(select(ref.orders.c.outlet_id, ref.orders.c.tax_inclusive).distinct()):
        modes[outlet_id].add(bool(inclusive))
    inclusive_at: dict[int, bool] = {}
    for o in outlets:
        if len(modes[o.id]) > 1:
            raise ValueError(f"outlet {o.code} has tax-inclusive and tax-exclusive orders; a kasir location has "
                             "one receipt price mode")
        inclusive_at[o.id] = True in modes[o.id]
        out.add(locations, id=kasir_id("location", o.id), code=o.code, name=o.name,
                loc_type="WAREHOUSE" if o.kind == "warehouse" else "STORE", tz=o.timezone, address=o.address,
                prices_include_tax=inclusive_at[o.id], route_from=None, route_to=None, active=bool(o.active))

    registers = _all(conn, ref.registers)
    register_outlet = {r.id: r.outlet_id for r in registers}
    first_till: dict[int, int] = {}
    for r in registers:
        first_till.setdefault(r.outlet_id, r.id)
        out.add(tills, id=kasir_id("till", r.id), location_id=kasir_id("location", r.outlet_id), till_no=r.code,
                name=r.name)
    shifts = _all(conn, ref.shifts)
    shift_register = {s.id: s.register_id for s in shifts}
    for s in shifts:
        out.add(cash_sessions, id=kasir_id("session", s.id), session_no=s.number,
                till_id=kasir_id("till", s.register_id), opened_at=s.opened_at, closed_at=s.closed_at,
                opening_float=s.opening_cash, declared_cash=s.counted_cash)

    products = {p.id: p for p in _all(conn, ref.products)}
    for p in products.values():
        out.add(items, id=kasir_id("item", p.id), article_no=p.sku, ean=p.barcode, name=p.name,
                category=p.category, uom=p.unit, list_price=p.price, cost_price=p.cost, tax_pct=p.tax_rate,
                stocked=bool(p.track_stock), active=bool(p.active), modified_at=p.updated_at)
    for c in _all(conn, ref.customers):
        out.add(members, code=member_code(c.id), customer_no=c.customer_code, full_name=c.name, email=c.email,
                phone=c.phone, joined_at=c.created_at, modified_at=c.updated_at)

    _convert_sales(conn, out, products, inclusive_at, register_outlet, shift_register, first_till, code_of)
    _convert_stock(conn, out, products, code_of)
    return out


def _convert_sales(conn: Connection, out: _Rows, products: dict[int, Any], inclusive_at: dict[int, bool],
                   register_outlet: dict[int, int], shift_register: dict[int, int], first_till: dict[int, int],
                   code_of: dict[int, str]) -> None:
    lines_of: dict[int, list[Any]] = defaultdict(list)
    for line in _all(conn, ref.order_lines):
        lines_of[line.order_id].append(line)
    payments_of: dict[int, list[Any]] = defaultdict(list)
    for payment in _all(conn, ref.payments):
        payments_of[payment.order_id].append(payment)
    orders = {o.id: o for o in _all(conn, ref.orders)}
    line_tax: dict[int, tuple[Decimal, Decimal]] = {}  # order line id -> (net unit price, tax pct)
    sold = {line.id: line for lines in lines_of.values() for line in lines}
    for o in orders.values():
        inclusive = bool(o.tax_inclusive)
        if register_outlet.get(o.register_id) != o.outlet_id:
            raise ValueError(f"order {o.number} was rung at register {o.register_id}, which is not at its outlet "
                             f"{code_of.get(o.outlet_id)}: a kasir ticket's location is its till's")
        ticket = kasir_id("ticket", o.id)
        out.add(tickets, id=ticket, ticket_no=o.number, till_id=kasir_id("till", o.register_id),
                session_id=kasir_id("session", o.shift_id) if o.shift_id is not None else None,
                member_code=member_code(o.customer_id) if o.customer_id is not None else None,
                status="VOID" if o.status == "voided" else "PAID", refund_of=None, sold_at=o.business_time,
                synced_at=o.committed_at, discount=o.discount_amount, service_pct=o.service_charge_rate,
                service_charge=o.service_charge_amount, tax_total=o.tax_amount, rounding=o.rounding_amount,
                grand_total=o.total_amount, voided_at=o.voided_at, void_note=o.void_reason, note=o.note)
        lines = sorted(lines_of[o.id], key=lambda line: line.line_no)
        bases = [(line.quantity * line.unit_price).quantize(_CENT, ROUND_HALF_UP) - line.discount_amount
                 for line in lines]
        try:
            shares = allocate(o.discount_amount, bases) if lines else []
        except ValueError as error:
            raise ValueError(f"order {o.number}: its discount cannot be shared over its lines ({error})") from error
        for line, base, share in zip(lines, bases, shares, strict=True):
            taxable = base - share
            net_unit = without_tax(line.unit_price, line.tax_rate, inclusive)
            line_tax[line.id] = (net_unit, line.tax_rate)
            out.add(ticket_items, id=kasir_id("ticket_item", line.id), ticket_id=ticket, line_no=line.line_no,
                    item_id=kasir_id("item", line.product_id), item_name=line.product_name, qty=line.quantity,
                    unit_price=net_unit, discount=without_tax(line.discount_amount, line.tax_rate, inclusive),
                    tax_pct=line.tax_rate, tax_amount=line.tax_amount,
                    net_amount=taxable - line.tax_amount if inclusive else taxable, refund_of_item=None)
        for p in payments_of[o.id]:
            out.add(ticket_payments, id=kasir_id("payment", p.id), ticket_id=ticket, seq=p.seq,
                    tender=TENDER_OF_METHOD[p.method], amount=p.amount, tendered=p.tendered, ref_no=p.reference,
                    paid_at=p.paid_at)

    refund_lines_of: dict[int, list[Any]] = defaultdict(list)
    for line in _all(conn, ref.refund_lines):
        refund_lines_of[line.refund_id].append(line)
    for r in _all(conn, ref.refunds):
        order = orders[r.order_id]
        inclusive = bool(order.tax_inclusive)
        if r.shift_id is not None:
            till = shift_register[r.shift_id]
        elif register_outlet.get(order.register_id) == r.outlet_id:
            till = order.register_id
        elif r.outlet_id in first_till:
            till = first_till[r.outlet_id]
        else:
            raise ValueError(f"refund {r.number} was given at {code_of.get(r.outlet_id)}, which has no till")
        if register_outlet[till] != r.outlet_id:
            raise ValueError(f"refund {r.number}: its shift's till is not at its outlet {code_of.get(r.outlet_id)}")
        ticket = kasir_id("refund", r.id)
        lines = refund_lines_of[r.id]
        tax = sum((line.tax_amount for line in lines), _ZERO)
        out.add(tickets, id=ticket, ticket_no=r.number, till_id=kasir_id("till", till),
                session_id=kasir_id("session", r.shift_id) if r.shift_id is not None else None,
                member_code=member_code(order.customer_id) if order.customer_id is not None else None,
                status="PAID", refund_of=kasir_id("ticket", order.id), sold_at=r.business_time,
                synced_at=r.committed_at, discount=_ZERO, service_pct=_ZERO, service_charge=_ZERO,
                tax_total=-tax, rounding=_ZERO, grand_total=-r.total_amount, voided_at=None, void_note=None,
                note=r.reason)
        for line_no, line in enumerate(lines, start=1):
            net_unit, tax_pct = line_tax[line.order_line_id]
            sold_line = sold[line.order_line_id]
            out.add(ticket_items, id=kasir_id("refund_item", line.id), ticket_id=ticket, line_no=line_no,
                    item_id=kasir_id("item", sold_line.product_id), item_name=sold_line.product_name,
                    qty=-line.quantity,
                    unit_price=net_unit, discount=Decimal("0.0000"), tax_pct=tax_pct, tax_amount=-line.tax_amount,
                    net_amount=-(line.amount - line.tax_amount) if inclusive else -line.amount,
                    refund_of_item=kasir_id("ticket_item", line.order_line_id))
        out.add(ticket_payments, id=kasir_id("refund_payment", r.id), ticket_id=ticket, seq=1,
                tender=TENDER_OF_METHOD[r.method], amount=-r.total_amount, tendered=None, ref_no=None,
                paid_at=r.business_time)


def _convert_stock(conn: Connection, out: _Rows, products: dict[int, Any], code_of: dict[int, str]) -> None:
    lines_of: dict[int, list[Any]] = defaultdict(list)
    for line in _all(conn, ref.transfer_lines):
        lines_of[line.transfer_id].append(line)
    routes: dict[tuple[int, int], str] = {}
    # (location, item, moved_at, type) of every move written: what pairs the loader must not make by accident
    seen: set[tuple[str, str, datetime, str]] = set()

    def move(key: str, location: str, product_id: int, move_type: str, qty: Decimal, moved_at: datetime,
             recorded_at: datetime, reason: str | None, unit_cost: Decimal | None) -> None:
        item = kasir_id("item", product_id)
        seen.add((location, item, moved_at, move_type))
        out.add(stock_moves, id=kasir_id("move", key), location_id=location, item_id=item, move_type=move_type,
                qty=qty, unit_cost=unit_cost, moved_at=moved_at, recorded_at=recorded_at, reason=reason)

    for t in _all(conn, ref.transfers):
        if t.status == "cancelled":
            continue
        route = (t.from_outlet_id, t.to_outlet_id)
        if route not in routes:
            routes[route] = kasir_id("transit", f"{route[0]}>{route[1]}")
            out.add(locations, id=routes[route], code=transit_code(code_of[route[0]], code_of[route[1]]),
                    name=f"Dalam perjalanan {code_of[route[0]]} → {code_of[route[1]]}", loc_type="TRANSIT",
                    tz="UTC", address=None, prices_include_tax=False, route_from=kasir_id("location", route[0]),
                    route_to=kasir_id("location", route[1]), active=True)
        transit, source, destination = routes[route], kasir_id("location", route[0]), kasir_id("location", route[1])
        for line in lines_of[t.id]:
            cost = products[line.product_id].cost
            if t.sent_at is not None:
                recorded = t.committed_at if t.received_at is None else t.sent_at
                move(f"send-out:{line.id}", source, line.product_id, "OUT", line.quantity_sent, t.sent_at, recorded,
                     t.note, cost)
                move(f"send-in:{line.id}", transit, line.product_id, "IN", line.quantity_sent, t.sent_at, recorded,
                     t.note, cost)
            if t.received_at is not None and line.quantity_received is not None:
                move(f"receive-out:{line.id}", transit, line.product_id, "OUT", line.quantity_received,
                     t.received_at, t.committed_at, t.note, cost)
                move(f"receive-in:{line.id}", destination, line.product_id, "IN", line.quantity_received,
                     t.received_at, t.committed_at, t.note, cost)

    adjustment_lines: dict[int, list[Any]] = defaultdict(list)
    for line in _all(conn, ref.stock_adjustment_lines):
        adjustment_lines[line.adjustment_id].append(line)
    adjusted_at: set[tuple[str, datetime]] = set()
    for a in _all(conn, ref.stock_adjustments):
        location = kasir_id("location", a.outlet_id)
        lines = sorted(adjustment_lines[a.id], key=lambda line: line.line_no)
        if a.kind == "stock_take":
            count = kasir_id("count", a.id)
            out.add(stock_counts, id=count, count_no=a.number, location_id=location, counted_at=a.business_time,
                    recorded_at=a.committed_at, note=a.reason)
            for line in lines:
                out.add(stock_count_items, id=kasir_id("count_item", line.id), count_id=count, line_no=line.line_no,
                        item_id=kasir_id("item", line.product_id), counted_qty=line.counted_quantity,
                        system_qty=line.expected_quantity, unit_cost=line.unit_cost)
            continue
        if (location, a.business_time) in adjusted_at:
            raise ValueError(f"adjustment {a.number}: another adjustment at {code_of[a.outlet_id]} has the same time; "
                             "kasir would make them one")
        adjusted_at.add((location, a.business_time))
        for line in lines:
            change = line.quantity_change or _ZERO
            if change == 0:
                continue
            move_type = "IN" if change > 0 else "OUT"
            counterpart = "OUT" if move_type == "IN" else "IN"
            item = kasir_id("item", line.product_id)
            if any(other != location and (other, item, a.business_time, counterpart) in seen
                   for other in _locations_of(out)):
                raise ValueError(f"adjustment {a.number} would pair with another location's move of the same item "
                                 "at the same time and read as a transfer")
            move(f"adjust:{line.id}", location, line.product_id, move_type, abs(change), a.business_time,
                 a.committed_at, a.reason, line.unit_cost)

    for level in _all(conn, ref.stock_levels):
        out.add(item_stock, location_id=kasir_id("location", level.outlet_id),
                item_id=kasir_id("item", level.product_id), qty=level.quantity, updated_at=level.updated_at)


def _locations_of(out: _Rows) -> Iterable[str]:
    return (row["id"] for row in out.rows[locations])
