"""Windowed extracts from the POS database into pandas frames.

Every run reads a deterministic window of *business time* (when the sale happened at the till), so a
backfill of a range re-reads exactly that range. Offline tills commit their sales hours late; a run can
therefore also sweep a *lookback* before its window for records committed since the window started: no
earlier run could have seen them. Records a later sweep sees twice are harmless, because the sync ledger
skips what is already synced.

One query per table, whatever the window holds: lines, payments and refund lines are selected with
``IN (subquery)`` on the same window predicate, never one query per order, so a million-line window is a
handful of streamed queries. Money, quantities and rates stay exact ``Decimal`` objects in the frames
(object dtype), never floats; times are UTC (``datetime64[us, UTC]``). Rows are read as the driver returns
them (on SQLite straight off the DBAPI cursor) and converted a column at a time, an exact value once per
distinct value. ``extract_sales_chunks`` reads the same window a chunk of orders at a time, for a transform
(``possync.transform.sales.transform_sales_chunks``) that need not hold the whole window.

The queries are SQLAlchemy Core and run unchanged on SQLite, PostgreSQL and MySQL / MariaDB (what differs
between them is in the column types, ``possync.pos.types``; tests/test_mariadb_pos.py reads the demo week from
MariaDB as the same frames as from SQLite).
"""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.types import NullType

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
    transfer_lines,
    transfers,
)
from possync.pos.types import ExactDecimal

# Distinct exact values remembered per column while converting; past this, values are converted each time.
_MEMO_LIMIT = 200_000
# Rows fetched per round trip; PostgreSQL streams them through a server-side cursor, so a large window
# never holds more than one partition of raw rows besides the frames being built.
STREAM_ROWS = 50_000
#: Orders a chunk of ``extract_sales_chunks`` holds; their ids are bound as parameters of an ``IN`` list,
#: well within SQLite's 32,766.
CHUNK_ORDERS = 10_000
_ZERO_QTY = Decimal("0.000")
# Databases whose rows are streamed (server-side / unbuffered cursors), and that read a whole sales extract
# in one snapshot.
_STREAMING = ("postgresql", "mysql", "mariadb")
_SNAPSHOTS = ("postgresql", "mysql", "mariadb")

Kind = Literal["id", "int", "nullable_int", "str", "bool", "time", "exact"]


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval of business time, ``[start, end)``, held in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, datetime):
                raise TypeError(f"window {name} must be a datetime, got {value!r}")
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"window {name} {value.isoformat()} is naive: give it a timezone")
            object.__setattr__(self, name, value.astimezone(UTC))
        if not self.start < self.end:
            raise ValueError(
                f"window start {self.start.isoformat()} is not before its end {self.end.isoformat()}"
            )

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


@dataclass(frozen=True, slots=True)
class SalesFrames:
    """What one sales extract read: orders and their children, refunds and theirs.

    ``lines`` and ``payments`` belong to the orders in ``orders``; ``refund_lines`` to the refunds in
    ``refunds``. A refund's order need not be in ``orders`` (it was usually sold in an earlier window), so
    each refund line carries what it needs of the original order line.
    """

    orders: pd.DataFrame
    lines: pd.DataFrame
    payments: pd.DataFrame
    refunds: pd.DataFrame
    refund_lines: pd.DataFrame

    def counts(self) -> dict[str, int]:
        return {
            "orders": len(self.orders),
            "lines": len(self.lines),
            "payments": len(self.payments),
            "refunds": len(self.refunds),
            "refund_lines": len(self.refund_lines),
        }


# ---------------------------------------------------------------------------------------------- queries

_outlet_registers = registers.alias("order_register")
_order_shift = shifts.alias("order_shift")
_refund_shift = shifts.alias("refund_shift")
_refund_outlet = outlets.alias("refund_outlet")
_refunded_order = orders.alias("refunded_order")
_sold_line = order_lines.alias("sold_line")
_sold_product = products.alias("sold_product")

_ORDER_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("order_id", orders.c.id, "id"),
    ("number", orders.c.number, "str"),
    ("outlet_id", orders.c.outlet_id, "id"),
    ("outlet_code", outlets.c.code, "str"),
    ("outlet_kind", outlets.c.kind, "str"),
    ("outlet_timezone", outlets.c.timezone, "str"),
    ("register_id", orders.c.register_id, "id"),
    ("register_code", _outlet_registers.c.code, "str"),
    ("shift_id", orders.c.shift_id, "nullable_int"),
    ("shift_number", _order_shift.c.number, "str"),
    ("customer_id", orders.c.customer_id, "nullable_int"),
    ("customer_code", customers.c.customer_code, "str"),
    ("customer_name", customers.c.name, "str"),
    ("status", orders.c.status, "str"),
    ("business_time", orders.c.business_time, "time"),
    ("committed_at", orders.c.committed_at, "time"),
    ("tax_inclusive", orders.c.tax_inclusive, "bool"),
    ("discount_amount", orders.c.discount_amount, "exact"),
    ("service_charge_rate", orders.c.service_charge_rate, "exact"),
    ("service_charge_amount", orders.c.service_charge_amount, "exact"),
    ("tax_amount", orders.c.tax_amount, "exact"),
    ("rounding_amount", orders.c.rounding_amount, "exact"),
    ("total_amount", orders.c.total_amount, "exact"),
    ("voided_at", orders.c.voided_at, "time"),
    ("void_reason", orders.c.void_reason, "str"),
    ("note", orders.c.note, "str"),
]

_LINE_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("line_id", order_lines.c.id, "id"),
    ("order_id", order_lines.c.order_id, "id"),
    ("line_no", order_lines.c.line_no, "int"),
    ("product_id", order_lines.c.product_id, "id"),
    ("sku", products.c.sku, "str"),
    # The name printed on the receipt, and the catalogue's name for the product (what ops look up).
    ("product_name", order_lines.c.product_name, "str"),
    ("catalog_name", products.c.name, "str"),
    ("unit", products.c.unit, "str"),
    ("quantity", order_lines.c.quantity, "exact"),
    ("unit_price", order_lines.c.unit_price, "exact"),
    ("discount_amount", order_lines.c.discount_amount, "exact"),
    ("tax_rate", order_lines.c.tax_rate, "exact"),
    ("tax_amount", order_lines.c.tax_amount, "exact"),
]

_PAYMENT_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("payment_id", payments.c.id, "id"),
    ("order_id", payments.c.order_id, "id"),
    ("seq", payments.c.seq, "int"),
    ("method", payments.c.method, "str"),
    ("amount", payments.c.amount, "exact"),
    ("tendered", payments.c.tendered, "exact"),
    ("reference", payments.c.reference, "str"),
    ("paid_at", payments.c.paid_at, "time"),
]

_earlier_refund = refunds.alias("earlier_refund")
_amount_refunded_before = type_coerce(
    select(func.coalesce(func.sum(_earlier_refund.c.total_amount), 0))
    .where(
        _earlier_refund.c.order_id == refunds.c.order_id,
        or_(
            _earlier_refund.c.business_time < refunds.c.business_time,
            and_(_earlier_refund.c.business_time == refunds.c.business_time, _earlier_refund.c.id < refunds.c.id),
        ),
    )
    .correlate(refunds)
    .scalar_subquery(),
    refunds.c.total_amount.type,
)

_REFUND_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("refund_id", refunds.c.id, "id"),
    ("number", refunds.c.number, "str"),
    ("order_id", refunds.c.order_id, "id"),
    ("order_number", _refunded_order.c.number, "str"),
    ("order_status", _refunded_order.c.status, "str"),
    ("tax_inclusive", _refunded_order.c.tax_inclusive, "bool"),
    ("outlet_id", refunds.c.outlet_id, "id"),
    ("outlet_code", _refund_outlet.c.code, "str"),
    ("outlet_kind", _refund_outlet.c.kind, "str"),
    ("outlet_timezone", _refund_outlet.c.timezone, "str"),
    ("shift_id", refunds.c.shift_id, "nullable_int"),
    ("shift_number", _refund_shift.c.number, "str"),
    ("business_time", refunds.c.business_time, "time"),
    ("committed_at", refunds.c.committed_at, "time"),
    ("method", refunds.c.method, "str"),
    ("total_amount", refunds.c.total_amount, "exact"),
    ("reason", refunds.c.reason, "str"),
    # What the order charged for goods (its total less service charge and rounding): the most all its
    # refunds together can pay back, since refund lines carry goods only.
    ("order_total_amount", _refunded_order.c.total_amount, "exact"),
    ("order_service_charge", _refunded_order.c.service_charge_amount, "exact"),
    ("order_rounding", _refunded_order.c.rounding_amount, "exact"),
    # What earlier refunds of the same order (any window; earlier by business time, then id) paid back.
    ("amount_refunded_before", _amount_refunded_before, "exact"),
]

_REFUND_LINE_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("refund_line_id", refund_lines.c.id, "id"),
    ("refund_id", refund_lines.c.refund_id, "id"),
    ("order_line_id", refund_lines.c.order_line_id, "id"),
    ("quantity", refund_lines.c.quantity, "exact"),
    ("amount", refund_lines.c.amount, "exact"),
    ("tax_amount", refund_lines.c.tax_amount, "exact"),
    # The original order line, as sold.
    ("line_order_id", _sold_line.c.order_id, "id"),
    ("line_no", _sold_line.c.line_no, "int"),
    ("product_id", _sold_line.c.product_id, "id"),
    ("sku", _sold_product.c.sku, "str"),
    ("product_name", _sold_line.c.product_name, "str"),
    ("catalog_name", _sold_product.c.name, "str"),
    ("unit", _sold_product.c.unit, "str"),
    ("unit_price", _sold_line.c.unit_price, "exact"),
    ("quantity_sold", _sold_line.c.quantity, "exact"),
    ("tax_rate", _sold_line.c.tax_rate, "exact"),
]

_CUSTOMER_CODE = func.nullif(func.trim(customers.c.customer_code), "")
_code_owner = customers.alias("code_owner")
_code_owners = (
    select(_CUSTOMER_CODE.label("code"), func.min(customers.c.id).label("owner_id"))
    .where(_CUSTOMER_CODE.is_not(None))
    .group_by(_CUSTOMER_CODE)
    .subquery("code_owners")
)

_CUSTOMER_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("customer_id", customers.c.id, "id"),
    # Trimmed, and None when blank: a code of spaces is no code.
    ("customer_code", _CUSTOMER_CODE, "str"),
    ("name", customers.c.name, "str"),
    ("email", customers.c.email, "str"),
    ("phone", customers.c.phone, "str"),
    ("created_at", customers.c.created_at, "time"),
    ("updated_at", customers.c.updated_at, "time"),
    # The first customer (lowest id) that uses the same code, over the whole table: a customer updated
    # today can collide with one nobody touched for years, so this cannot be worked out from the window.
    ("code_owner_id", _code_owners.c.owner_id, "nullable_int"),
    ("code_owner_name", _code_owner.c.name, "str"),
]

_PRODUCT_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("product_id", products.c.id, "id"),
    ("sku", products.c.sku, "str"),
    ("barcode", products.c.barcode, "str"),
    ("name", products.c.name, "str"),
    ("category", products.c.category, "str"),
    ("unit", products.c.unit, "str"),
    ("price", products.c.price, "exact"),
    ("cost", products.c.cost, "exact"),
    ("tax_rate", products.c.tax_rate, "exact"),
    ("track_stock", products.c.track_stock, "bool"),
    ("active", products.c.active, "bool"),
    ("updated_at", products.c.updated_at, "time"),
]


def _select(columns: Sequence[tuple[str, Any, Kind]]) -> Select[Any]:
    return select(*(_as_fetched(expression, kind).label(label) for label, expression, kind in columns))


def _as_fetched(expression: Any, kind: Kind) -> Any:
    # Exact values and times are fetched as the driver returns them and converted a column at a time in
    # ``_column``, with the column type's own rules: per-value result processing is most of the cost of
    # reading a million lines.
    if kind in ("exact", "time"):
        return type_coerce(expression, NullType())
    return expression


def _selection(
    business_time: Any,
    committed_at: Any,
    window: Window,
    lookback: timedelta | None,
    committed_since: datetime | None,
) -> ColumnElement[bool]:
    """Records in the window, plus late ones: before it (within the lookback) but committed since."""
    in_window = and_(business_time >= window.start, business_time < window.end)
    if lookback is None:
        return in_window
    late = and_(
        business_time >= window.start - lookback,
        business_time < window.start,
        committed_at >= (committed_since or window.start),
    )
    return or_(in_window, late)


WindowOn = Literal["business_time", "shift_close"]

#: A business time this far after the record's commit is a wrong clock (``possync.transform.sales`` fails it).
FUTURE_TOLERANCE = timedelta(hours=24)


def _unplaceable(
    business_time: Any, committed_at: Any, window: Window, committed_since: datetime | None, sqlite: bool
) -> ColumnElement[bool]:
    """Records no window would ever read, found by their commit instead: committed in ``[committed_since or
    window.start, window.end)`` (adjacent windows find each once) with no business time, one that is no time
    (SQLite keeps any text), or one so far ahead that it is a wrong clock. The transform fails them."""
    no_time = or_(business_time.is_(None), func.datetime(business_time).is_(None)) if sqlite else (
        business_time.is_(None))
    return and_(
        committed_at >= (committed_since or window.start),
        committed_at < window.end,
        or_(no_time, business_time >= window.end + FUTURE_TOLERANCE),
    )


def _selection_time(business_time: Any, shift_id: Any, shift: Any, window_on: WindowOn) -> Any:
    """The time a record is windowed on: its business time, or its shift's close (NULL while open)."""
    if window_on == "business_time":
        return business_time
    return case((shift_id.is_(None), business_time), else_=shift.c.closed_at)


@dataclass(frozen=True, slots=True)
class CatchUp:
    """The commit-time range a scheduled run catches up on, besides its own window: records committed in
    ``(after, until]`` that are *due* (their selection time, business time or shift close, is before the
    window end), whatever their business time. Outages, paused DAGs, late shift closes and killed tasks all
    leave records there; see ``plan_catch_up``.
    """

    after: datetime
    until: datetime

    def __post_init__(self) -> None:
        for name in ("after", "until"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"catch-up {name} {value.isoformat()} is naive: give it a timezone")
            object.__setattr__(self, name, value.astimezone(UTC))


@dataclass(frozen=True, slots=True)
class CatchUpPlan:
    """What a catch-up will read, and how far the commit-time watermark may move once it is staged.

    :ivar catch_up: the range to read (``until`` capped so a run reads at most the limit, oldest first).
    :ivar advance_to: the new watermark: ``until``, held back to just before the earliest record committed
        in the range that is not due yet (sold after the window end, or its shift still open), so a later
        run reads it when it becomes due, however late its shift closes.
    :ivar due: due records (orders + refunds) in the capped range; ``left``: due ones committed after it.
    """

    catch_up: CatchUp
    advance_to: datetime
    due: int
    left: int
    held_by: int


def _sales_selection(window_on: WindowOn) -> list[tuple[Any, Any, Any, Any]]:
    """(table, selection time, its shift alias, outlet column) for orders and refunds."""
    result = []
    for table, alias in ((orders, "order_catch_up_shift"), (refunds, "refund_catch_up_shift")):
        shift = shifts.alias(alias)
        result.append((table, _selection_time(table.c.business_time, table.c.shift_id, shift, window_on), shift,
                       table.c.outlet_id))
    return result


def plan_catch_up(
    engine: Engine,
    outlet_code: str,
    *,
    after: datetime,
    until: datetime,
    due_before: datetime,
    window_on: WindowOn = "business_time",
    limit: int | None = None,
    hold_since: datetime | None = None,
) -> CatchUpPlan:
    """Plan the catch-up of one outlet's sales committed in ``(after, until]`` and due before ``due_before``.

    At most ``limit`` due records are read, the oldest commits first; ``left`` counts the rest (the next run
    goes on from there). Records committed in the range that are not due yet but have happened (business
    time at or before ``until``: sold after the window, or in a shift still open) hold the watermark back
    to just before their commit, unless committed before ``hold_since`` (a shift left open for longer than
    that no longer holds the outlet back).
    """
    after, until = after.astimezone(UTC), until.astimezone(UTC)
    tick = timedelta(microseconds=1)
    if until <= after:
        return CatchUpPlan(CatchUp(after, after), after, 0, 0, 0)
    due_times, waiting = [], []
    for table, selection_time, shift, outlet_id in _sales_selection(window_on):
        base = (
            select(table.c.committed_at.label("committed_at"))
            .select_from(
                table.join(outlets, outlets.c.id == outlet_id).outerjoin(shift, shift.c.id == table.c.shift_id)
            )
            .where(outlets.c.code == outlet_code, table.c.committed_at > after, table.c.committed_at <= until)
        )
        due_times.append(base.where(selection_time < due_before))
        not_due = or_(selection_time.is_(None), selection_time >= due_before)
        held = base.where(not_due, table.c.business_time <= until)
        if hold_since is not None:
            held = held.where(table.c.committed_at >= hold_since)
        waiting.append(held)
    due = union_all(*due_times).subquery("due")
    held = union_all(*waiting).subquery("held")
    with engine.connect() as conn:
        capped_until = until
        if limit is not None:
            boundary = conn.execute(
                select(due.c.committed_at).order_by(due.c.committed_at).offset(limit).limit(1)
            ).scalar_one_or_none()
            if boundary is not None:
                boundary = _aware_utc(boundary)
                # everything committed before the first record past the limit (or, if the limit is all one
                # instant, that instant whole: a run always moves on)
                capped_until = boundary - tick if boundary - tick > after else boundary
        in_range = conn.execute(
            select(func.count()).select_from(due).where(due.c.committed_at <= capped_until)
        ).scalar_one()
        left = conn.execute(
            select(func.count()).select_from(due).where(due.c.committed_at > capped_until)
        ).scalar_one()
        earliest_held, held_count = conn.execute(
            select(func.min(held.c.committed_at), func.count()).select_from(held)
            .where(held.c.committed_at <= capped_until)
        ).one()
    advance_to = capped_until
    if earliest_held is not None:
        advance_to = max(after, min(advance_to, _aware_utc(earliest_held) - tick))
    return CatchUpPlan(CatchUp(after, capped_until), advance_to, int(in_range), int(left), int(held_count))


def _aware_utc(value: Any) -> datetime:
    """A time read back from an aggregate (SQLite returns text, naive when it was stored as naive UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Shift:
    """A till's shift as summarised posting needs it (``posting: per_shift``): closed when ``closed_at`` is set."""

    id: int
    number: str
    outlet_code: str
    opened_at: datetime  # UTC
    closed_at: datetime | None  # UTC; None while the shift is open

    @property
    def period(self) -> str:
        """Its part of a summary's number: ``S<id>``. The id, not the shift number: shift numbers may run to 40
        characters and a summary return's number holds two periods, which would pass Accurate's 50."""
        return f"S{self.id}"


def read_shifts(engine: Engine, *, ids: Iterable[int] = (), order_numbers: Iterable[str] = (),
                refund_numbers: Iterable[str] = ()) -> dict[tuple[str, Any], Shift]:
    """Shifts by id (key ``("shift", id)``) and the shifts of orders and refunds by number (``("invoice",
    number)``, ``("return", number)``); a record with no shift is not in the result."""
    columns = (shifts.c.id, shifts.c.number, outlets.c.code, shifts.c.opened_at, shifts.c.closed_at)
    base = shifts.join(registers, registers.c.id == shifts.c.register_id).join(
        outlets, outlets.c.id == registers.c.outlet_id)
    statements = [("shift", select(shifts.c.id, *columns).select_from(base).where(shifts.c.id.in_(sorted(set(ids)))))]
    for kind, table, numbers in (("invoice", orders, order_numbers), ("return", refunds, refund_numbers)):
        statements.append((kind, select(table.c.number, *columns).select_from(
            table.join(base, shifts.c.id == table.c.shift_id)).where(table.c.number.in_(sorted(set(numbers))))))
    found: dict[tuple[str, Any], Shift] = {}
    with engine.connect() as conn:
        for kind, statement in statements:
            for key, shift_id, number, outlet, opened, closed in conn.execute(statement):
                found[kind, key] = Shift(shift_id, number, outlet, _aware_utc(opened),
                                         None if closed is None else _aware_utc(closed))
    return found


def _caught_up(selection_time: Any, committed_at: Any, window: Window, catch_up: CatchUp | None) -> Any:
    """Due records (selected before the window end) committed in the catch-up range."""
    if catch_up is None or catch_up.until <= catch_up.after:
        return false()
    return and_(committed_at > catch_up.after, committed_at <= catch_up.until, selection_time < window.end)


def _check_sweep(lookback: timedelta | None, committed_since: datetime | None) -> None:
    if lookback is not None and lookback < timedelta(0):
        raise ValueError(f"lookback must not be negative, got {lookback}")
    if committed_since is not None:
        if lookback is None:
            raise ValueError("committed_since only applies to the lookback sweep: give a lookback too")
        if committed_since.tzinfo is None or committed_since.utcoffset() is None:
            raise ValueError(f"committed_since {committed_since.isoformat()} is naive: give it a timezone")


def _outlet_filter(code_column: Any, outlet_codes: Iterable[str] | None) -> list[ColumnElement[bool]]:
    if outlet_codes is None:
        return []
    codes = sorted(set(outlet_codes))
    # An empty list means "no outlets", not "all outlets"; IN () renders as a false expression.
    return [code_column.in_(codes)]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A stored value its column's type cannot read (text in a money column, a float where exact sen are kept,
    a time that is no time), kept as stored so the transform fails the record it belongs to, naming it."""

    column: str  # where it is stored, e.g. "orders.total_amount"
    value: Any  # as the driver returned it
    expected: str  # "an amount", "a quantity", "a rate", "a time"

    def __str__(self) -> str:
        if self.value is None or (isinstance(self.value, str) and not self.value.strip()):
            return f"{self.column} is empty ({self.value!r})"
        return f"{self.column} = {self.value!r} is not {self.expected}"


#: The column every extracted frame carries: ``None``, or the ``Unreadable`` values of that row (their cells
#: hold ``None`` / ``NaT``). A transform fails the row's record with them.
UNREADABLE = "unreadable"


def _source_name(expression: Any, label: str) -> str:
    """``table.column`` as the POS stores it (through aliases), or the label for a computed expression."""
    table = getattr(expression, "table", None)
    name = getattr(expression, "name", None)
    if table is None or name is None:
        return label
    original = getattr(table, "element", table)
    return f"{getattr(original, 'name', None) or table.name}.{name}"


def _expected(expression: Any, kind: Kind) -> str:
    if kind == "time":
        return "a time"
    scale, precision = getattr(expression.type, "scale", 2), getattr(expression.type, "precision", 18)
    return "a quantity" if scale == 3 else "a rate" if precision < 18 else "an amount"


def _rows(conn: Connection, stmt: Select[Any]) -> Iterator[Sequence[tuple[Any, ...]]]:
    """The statement's rows as the driver returns them, ``STREAM_ROWS`` at a time.

    Every column is fetched without per-value result processing (see ``_as_fetched``; the other kinds have
    none on either database), so on SQLite the rows are read straight off the DBAPI cursor: building a
    SQLAlchemy ``Row`` per row was a third of the extract. PostgreSQL streams through a server-side cursor
    (``yield_per``), whose first row SQLAlchemy has already buffered, so its rows go through the result; so does
    MySQL / MariaDB (an unbuffered cursor, read to its end before the next query on the connection)."""
    if conn.dialect.name in _STREAMING:
        yield from conn.execute(stmt.execution_options(yield_per=STREAM_ROWS)).partitions()
        return
    result = conn.execute(stmt)
    cursor = result.cursor
    try:
        while rows := cursor.fetchmany(STREAM_ROWS):
            yield rows
    finally:
        result.close()


@contextmanager
def paused_gc() -> Generator[None]:
    """Python's cyclic garbage collector paused for the block, as it was after it.

    Reading a window makes millions of objects that live on (rows, values, documents) and none that form
    cycles; each few thousand of them set off a collection that walks every object alive, which made a
    large window's extract and transform up to twice as slow. Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _frame(conn: Connection, stmt: Select[Any], columns: Sequence[tuple[str, Any, Kind]]) -> pd.DataFrame:
    """Run ``stmt`` streamed and build a frame column by column, with stable dtypes also when empty.

    A value that cannot be read leaves its cell empty and is named in the row's ``unreadable`` column: one
    bad value fails its record, never the extract."""
    with paused_gc():
        return _build_frame(conn, stmt, columns)


def _build_frame(conn: Connection, stmt: Select[Any], columns: Sequence[tuple[str, Any, Kind]]) -> pd.DataFrame:
    data: list[list[Any]] = [[] for _ in columns]
    for rows in _rows(conn, stmt):
        for values, column in zip(data, zip(*rows, strict=True), strict=True):
            values.extend(column)
    dialect = conn.dialect
    return assemble_frame(
        data,
        [(label, _source_name(expression, label), _expected(expression, kind)) for label, expression, kind in columns],
        lambda position, values, bad: _column(values, columns[position][1], columns[position][2], dialect, bad),
    )


def assemble_frame(
    data: list[list[Any]],
    columns: Sequence[tuple[str, str, str]],
    convert: Callable[[int, list[Any], dict[int, Any]], Any],
) -> pd.DataFrame:
    """A frame of raw column values (``data[i]`` for ``columns[i]``), converted a column at a time.

    ``columns`` are ``(label, source, expected)``: the frame's column, where the value is stored as the
    reasons name it (``orders.total_amount``), and what it should be (``an amount``). ``convert(position,
    values, bad)`` returns the converted column and puts the positions (and raw values) it cannot convert in
    ``bad``; each becomes an ``Unreadable`` in its row's ``unreadable`` column, so the transform fails that
    record alone. Shared by the built-in extract and source profiles (``possync.pos.profiles``), so both
    word an unreadable value the same way."""
    built: dict[str, Any] = {}
    unreadable: list[Any] = [None] * (len(data[0]) if data else 0)
    for position, (label, source, expected) in enumerate(columns):
        values = data[position]
        bad: dict[int, Any] = {}
        built[label] = convert(position, values, bad)
        data[position] = []  # the raw values are done with: free them before the next column is built
        for row, raw in bad.items():
            unreadable[row] = (*(unreadable[row] or ()), Unreadable(source, raw, expected))
    built[UNREADABLE] = pd.Series(unreadable, dtype=object)
    return pd.DataFrame(built)


_NONE = type(None)


def _exact_column(values: list[Any], expression: Any, dialect: Dialect, bad: dict[int, Any]) -> pd.Series | None:
    """Exact values converted once per distinct value and spread back by position (``pd.factorize``), or
    ``None`` when the column holds anything but what the driver returns for exact values (the per-value
    path in ``_column`` then names each bad value). The same conversion as per value, so the same Decimals."""
    raw: np.ndarray | None = None
    if dialect.name == "sqlite":
        # SQLite keeps exact values as integers of the smallest unit. numpy makes int64 of a list only when
        # every value is an int within 64 bits (a float, text, bytes or None makes another dtype).
        inferred = np.array(values)
        if inferred.dtype == np.int64:
            raw = inferred
    if raw is None:
        kinds = set(map(type, values))
        # PostgreSQL returns Decimals.
        if not kinds <= ({int, _NONE} if dialect.name == "sqlite" else {int, Decimal, _NONE}):
            return None
        raw = np.array(values, dtype=object)
    codes, distinct = pd.factorize(raw)  # None (and a Decimal NaN) get code -1
    process = expression.type.process_result_value
    if raw.dtype == np.int64 and isinstance(expression.type, ExactDecimal):
        # ExactDecimal's own conversion of SQLite's integer minor units, without the per-call dispatch: an
        # int64 is exact in Decimal's 28 digits, and scaleb gives it the column's places already
        scale = -expression.type.scale

        def process(value: int, _dialect: Dialect) -> Decimal:
            return Decimal(value).scaleb(scale)
    converted = np.empty(len(distinct) + 1, dtype=object)  # the last slot, None, is where code -1 points
    failed: list[int] = []
    for index, value in enumerate(distinct.tolist()):
        try:
            exact = process(value, dialect)
            if not exact.is_finite():
                raise ValueError(value)
        except (ValueError, TypeError, ArithmeticError):
            failed.append(index)
            exact = None
        converted[index] = exact
    if failed or (codes < 0).any():
        missing = np.flatnonzero(codes < 0)
        if any(values[row] is not None for row in missing.tolist()):
            return None  # a Decimal NaN: not exact, named by the per-value path
        bad.update((int(row), values[row]) for row in np.flatnonzero(np.isin(codes, failed)).tolist())
    return pd.Series(converted[codes], dtype=object)


def _naive_times(values: list[Any]) -> pd.Series | None:
    """A time column of naive UTC values (SQLite's ISO text, MySQL's datetimes) parsed by numpy at once, or
    ``None`` when anything in it is not plainly that (an offset, text that is no time, a blank): the general
    path in ``_column`` then reads it as before and names each bad value. Twice as fast as ``pd.to_datetime``
    on a million values."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy only warns about an offset it applies
            parsed = np.array(values, dtype="datetime64[us]")
    except (ValueError, TypeError, OverflowError, UserWarning, DeprecationWarning):
        return None
    missing = np.isnat(parsed)
    if missing.any() and any(values[row] is not None for row in np.flatnonzero(missing).tolist()):
        return None  # blank text (or "NaT") parsed as no time: a bad value, not a NULL
    return pd.Series(parsed).dt.tz_localize(UTC)


def _column(values: list[Any], expression: Any, kind: Kind, dialect: Dialect, bad: dict[int, Any]) -> Any:
    """The column's values converted; positions (and raw values) that cannot be converted go to ``bad``."""
    if kind in ("id", "int"):
        return np.array(values, dtype=np.int64)
    if kind == "nullable_int":
        return pd.array(values, dtype="Int64")
    if kind == "bool":
        return np.array(values, dtype=bool)
    if kind == "str":
        return pd.Series(values, dtype="str")
    if kind == "time":
        fast = _naive_times(values)
        if fast is not None:
            return fast
        # What UTCDateTime does per value (naive means UTC, aware is converted), for the whole column.
        raw = pd.Series(values, dtype=object)
        try:
            times = pd.to_datetime(raw, utc=True, format="ISO8601")
        except (ValueError, TypeError, OverflowError):
            times = pd.to_datetime(raw, utc=True, format="ISO8601", errors="coerce")
        # Blank text parses as NaT: it is a value that is no time, not a NULL.
        lost = times.isna().to_numpy() & raw.notna().to_numpy()
        if lost.any():
            bad.update((int(row), values[row]) for row in np.flatnonzero(lost))
        return times.astype("datetime64[us, UTC]")
    # Exact values: the column type's own conversion, once per distinct value (prices, rates and quantities
    # repeat all through a sales window). Object dtype keeps pandas from inferring floats.
    fast = _exact_column(values, expression, dialect, bad)
    if fast is not None:
        return fast
    process = expression.type.process_result_value
    # SQLite keeps exact values as integers of the smallest unit; anything else there (text, a float: an
    # integer beyond 64 bits becomes one) is not an exact value.
    integers_only = dialect.name == "sqlite"
    memo: dict[Any, Decimal] = {}
    exact: list[Decimal | None] = []
    for row, value in enumerate(values):
        converted = memo.get(value) if type(value) is not float else None
        if converted is None and value is not None:
            try:
                if integers_only and type(value) is not int:
                    raise ValueError(value)
                converted = process(value, dialect)
                if not converted.is_finite():
                    raise ValueError(value)
            except (ValueError, TypeError, ArithmeticError):
                bad[row] = value
                exact.append(None)
                continue
            if len(memo) < _MEMO_LIMIT:
                memo[value] = converted
        exact.append(converted)
    return pd.Series(exact, dtype=object)


# ------------------------------------------------------------------------------------------- extracts


def extract_sales(
    engine: Engine,
    window: Window,
    outlet_codes: Iterable[str] | None = None,
    *,
    lookback: timedelta | None = None,
    committed_since: datetime | None = None,
    window_on: WindowOn = "business_time",
    retry_order_numbers: Iterable[str] = (),
    retry_refund_numbers: Iterable[str] = (),
    catch_up: CatchUp | None = None,
) -> SalesFrames:
    """Read the orders and refunds of ``window`` (and late ones the lookback sweeps) with their children.

    :param engine: the POS database.
    :param window: business time to read, half-open.
    :param outlet_codes: only these outlets (by code); ``None`` for all. Refunds filter on the outlet
        that gave the refund.
    :param lookback: also read records whose business time is up to this long before the window start,
        if they were committed at or after ``committed_since``.
    :param committed_since: the commit time that makes a record "late"; defaults to ``window.start``
        (committed after the window opened, so no run of an earlier window could have seen it). A caller
        that keeps a commit-time watermark passes it here.
    :param retry_order_numbers: orders to read again whatever their time (earlier failures being retried,
        the "sync refresh"); likewise ``retry_refund_numbers``.
    :param window_on: ``"business_time"`` reads sales made in the window; ``"shift_close"`` reads the
        sales of register shifts that closed in the window (sales of a still-open shift wait for its
        close; a sale with no shift falls back to its business time).
    :param catch_up: also read the due records (selected before the window end) committed in this range,
        whatever their business time: what a scheduled run catches up on (``plan_catch_up``).
    """
    with engine.connect() as conn:
        if conn.dialect.name in _SNAPSHOTS:
            # One snapshot for all six queries, so a sale committed meanwhile is either wholly in the frames
            # or not at all (InnoDB's REPEATABLE READ too: its snapshot is taken at the first read). (SQLite
            # runs them back to back; children of a record committed in between are ignored by the transform,
            # which only builds what ``orders`` and ``refunds`` hold.)
            conn.execution_options(isolation_level="REPEATABLE READ")
        return _read_sales(conn, *_sales_statements(engine, window, outlet_codes, lookback, committed_since,
                                                     window_on, retry_order_numbers, retry_refund_numbers,
                                                     catch_up))


def extract_sales_chunks(
    engine: Engine,
    window: Window,
    outlet_codes: Iterable[str] | None = None,
    *,
    lookback: timedelta | None = None,
    committed_since: datetime | None = None,
    window_on: WindowOn = "business_time",
    retry_order_numbers: Iterable[str] = (),
    retry_refund_numbers: Iterable[str] = (),
    catch_up: CatchUp | None = None,
    chunk_orders: int = CHUNK_ORDERS,
) -> Iterator[SalesFrames]:
    """``extract_sales`` read ``chunk_orders`` orders at a time, oldest first (business time, then number):
    each chunk holds its orders with their lines and payments; the first also holds every refund of the
    window with its lines (refunds are few). What the chunks hold together is what ``extract_sales``
    reads; ``possync.transform.sales.transform_sales_chunks`` turns them into the same documents, and a
    window's peak memory is one chunk's frames instead of the window's.

    The order ids are read first (one query), then each chunk's orders, lines and payments by id; all on one
    connection (on PostgreSQL one snapshot, as for ``extract_sales``), held until the iterator is done.
    """
    if chunk_orders < 1:
        raise ValueError(f"chunk_orders must be at least 1, got {chunk_orders}")
    order_ids, refund_ids = _sales_statements(
        engine, window, outlet_codes, lookback, committed_since, window_on, retry_order_numbers,
        retry_refund_numbers, catch_up)
    in_order = select(orders.c.id).where(orders.c.id.in_(order_ids)).order_by(orders.c.business_time,
                                                                             orders.c.number)
    with engine.connect() as conn:
        if conn.dialect.name in _SNAPSHOTS:
            conn.execution_options(isolation_level="REPEATABLE READ")
        ids = [row[0] for rows in _rows(conn, in_order) for row in rows]
        first = _read_sales(conn, _id_list(conn.dialect, ids[:chunk_orders]), refund_ids)
        yield first
        empty_refunds, empty_refund_lines = first.refunds.iloc[0:0], first.refund_lines.iloc[0:0]
        for start in range(chunk_orders, len(ids), chunk_orders):
            chunk = _id_list(conn.dialect, ids[start:start + chunk_orders])
            yield SalesFrames(
                orders=_frame(conn, _orders_statement(chunk), _ORDER_COLUMNS),
                lines=_frame(conn, _lines_statement(chunk), _LINE_COLUMNS),
                payments=_frame(conn, _payments_statement(chunk), _PAYMENT_COLUMNS),
                refunds=empty_refunds,
                refund_lines=empty_refund_lines,
            )


def _id_list(dialect: Dialect, ids: list[int]) -> Select[Any] | list[int]:
    """A chunk's order ids as what its statements select ``IN``: one bound parameter holding them all where the
    database can unpack one (a JSON array on SQLite, an array on PostgreSQL), else the list (MySQL / MariaDB).
    Ten thousand ids bound one by one cost SQLAlchemy more to render, and SQLite more to parse, than reading
    the chunk's rows."""
    if dialect.name == "sqlite":
        return select(func.json_each(bindparam("ids", json.dumps(ids), type_=String)).table_valued("value").c.value)
    if dialect.name == "postgresql":
        return select(func.unnest(bindparam("ids", ids, type_=ARRAY(BigInteger))))
    return ids


def _sales_statements(
    engine: Engine,
    window: Window,
    outlet_codes: Iterable[str] | None,
    lookback: timedelta | None,
    committed_since: datetime | None,
    window_on: WindowOn,
    retry_order_numbers: Iterable[str],
    retry_refund_numbers: Iterable[str],
    catch_up: CatchUp | None,
) -> tuple[Select[Any], Select[Any]]:
    """The ids of the orders and of the refunds ``extract_sales`` reads, as subqueries."""
    _check_sweep(lookback, committed_since)
    if window_on not in ("business_time", "shift_close"):
        raise ValueError(f"window_on must be 'business_time' or 'shift_close', not {window_on!r}")
    order_shift, refund_shift = shifts.alias("order_selection_shift"), shifts.alias("refund_selection_shift")
    order_time = _selection_time(orders.c.business_time, orders.c.shift_id, order_shift, window_on)
    sqlite = engine.dialect.name == "sqlite"
    refund_time = _selection_time(refunds.c.business_time, refunds.c.shift_id, refund_shift, window_on)

    order_ids = (
        select(orders.c.id)
        .join(outlets, outlets.c.id == orders.c.outlet_id)
        .outerjoin(order_shift, order_shift.c.id == orders.c.shift_id)
        .where(
            or_(
                _selection(order_time, orders.c.committed_at, window, lookback, committed_since),
                _caught_up(order_time, orders.c.committed_at, window, catch_up),
                orders.c.number.in_(sorted(set(retry_order_numbers))),
                _unplaceable(orders.c.business_time, orders.c.committed_at, window, committed_since, sqlite),
            ),
            *_outlet_filter(outlets.c.code, outlet_codes),
        )
    )
    refund_ids = (
        select(refunds.c.id)
        .join(outlets, outlets.c.id == refunds.c.outlet_id)
        .outerjoin(refund_shift, refund_shift.c.id == refunds.c.shift_id)
        .where(
            or_(
                _selection(refund_time, refunds.c.committed_at, window, lookback, committed_since),
                _caught_up(refund_time, refunds.c.committed_at, window, catch_up),
                refunds.c.number.in_(sorted(set(retry_refund_numbers))),
                _unplaceable(refunds.c.business_time, refunds.c.committed_at, window, committed_since, sqlite),
            ),
            *_outlet_filter(outlets.c.code, outlet_codes),
        )
    )

    return order_ids, refund_ids


def _orders_statement(order_ids: Select[Any] | list[int]) -> Select[Any]:
    return (
        _select(_ORDER_COLUMNS)
        .select_from(
            orders.join(outlets, outlets.c.id == orders.c.outlet_id)
            .join(_outlet_registers, _outlet_registers.c.id == orders.c.register_id)
            .outerjoin(_order_shift, _order_shift.c.id == orders.c.shift_id)
            .outerjoin(customers, customers.c.id == orders.c.customer_id)
        )
        .where(orders.c.id.in_(order_ids))
        .order_by(orders.c.business_time, orders.c.number)
    )


def _lines_statement(order_ids: Select[Any] | list[int]) -> Select[Any]:
    return (
        _select(_LINE_COLUMNS)
        .select_from(order_lines.join(products, products.c.id == order_lines.c.product_id))
        .where(order_lines.c.order_id.in_(order_ids))
        .order_by(order_lines.c.order_id, order_lines.c.line_no)
    )


def _payments_statement(order_ids: Select[Any] | list[int]) -> Select[Any]:
    return (
        _select(_PAYMENT_COLUMNS)
        .where(payments.c.order_id.in_(order_ids))
        .order_by(payments.c.order_id, payments.c.seq)
    )


def _read_sales(conn: Connection, order_ids: Select[Any] | list[int], refund_ids: Select[Any]) -> SalesFrames:
    """The orders (by id, or a subquery of ids) with their lines and payments, and the refunds with theirs."""
    refunds_stmt = (
        _select(_REFUND_COLUMNS)
        .select_from(
            refunds.join(_refunded_order, _refunded_order.c.id == refunds.c.order_id)
            .join(_refund_outlet, _refund_outlet.c.id == refunds.c.outlet_id)
            .outerjoin(_refund_shift, _refund_shift.c.id == refunds.c.shift_id)
        )
        .where(refunds.c.id.in_(refund_ids))
        .order_by(refunds.c.business_time, refunds.c.number)
    )
    refund_lines_stmt = (
        _select(_REFUND_LINE_COLUMNS)
        .select_from(
            refund_lines.join(_sold_line, _sold_line.c.id == refund_lines.c.order_line_id).join(
                _sold_product, _sold_product.c.id == _sold_line.c.product_id
            )
        )
        .where(refund_lines.c.refund_id.in_(refund_ids))
        .order_by(refund_lines.c.refund_id, _sold_line.c.line_no, refund_lines.c.id)
    )
    frames = SalesFrames(
        orders=_frame(conn, _orders_statement(order_ids), _ORDER_COLUMNS),
        lines=_frame(conn, _lines_statement(order_ids), _LINE_COLUMNS),
        payments=_frame(conn, _payments_statement(order_ids), _PAYMENT_COLUMNS),
        refunds=_frame(conn, refunds_stmt, _REFUND_COLUMNS),
        refund_lines=_frame(conn, refund_lines_stmt, _REFUND_LINE_COLUMNS),
    )
    refunded_before = _refunded_before(conn, frames.refunds, frames.refund_lines, refund_ids)
    frames.refund_lines["quantity_refunded_before"] = refunded_before
    return frames


def _refunded_before(
    conn: Connection, refunds_frame: pd.DataFrame, lines: pd.DataFrame, refund_ids: Select[Any]
) -> pd.Series:
    """Per refund line: how much of its order line earlier refunds (any window) already returned.

    "Earlier" is by business time, then refund id. The history is read in one query: every refund line of
    the order lines these refunds touch, which is small next to the sales themselves.
    """
    if lines.empty:
        return pd.Series([], index=lines.index, dtype=object)
    touched_lines = select(refund_lines.c.order_line_id).where(refund_lines.c.refund_id.in_(refund_ids))
    history_columns: list[tuple[str, Any, Kind]] = [
        ("order_line_id", refund_lines.c.order_line_id, "id"),
        ("refund_id", refunds.c.id, "id"),
        ("business_time", refunds.c.business_time, "time"),
        ("quantity", refund_lines.c.quantity, "exact"),
    ]
    history = _frame(
        conn,
        _select(history_columns)
        .select_from(refund_lines.join(refunds, refunds.c.id == refund_lines.c.refund_id))
        .where(refund_lines.c.order_line_id.in_(touched_lines)),
        history_columns,
    )
    current = lines[["refund_line_id", "refund_id", "order_line_id"]].merge(
        refunds_frame[["refund_id", "business_time"]], on="refund_id", how="left"
    )
    pairs = current.merge(history, on="order_line_id", suffixes=("", "_earlier"))
    before = pairs["business_time_earlier"] < pairs["business_time"]
    same_time = pairs["business_time_earlier"] == pairs["business_time"]
    earlier = before | (same_time & (pairs["refund_id_earlier"] < pairs["refund_id"]))
    # Summed as Decimals in Python: refunds are few, and a pandas sum of objects could start from int 0.
    totals: dict[int, Decimal] = {}
    for line_id, quantity in zip(
        pairs.loc[earlier, "refund_line_id"], pairs.loc[earlier, "quantity"], strict=True
    ):
        if quantity is not None:  # unreadable: that refund fails on its own and returned nothing
            totals[line_id] = totals.get(line_id, _ZERO_QTY) + quantity
    refunded = [totals.get(line_id, _ZERO_QTY) for line_id in lines["refund_line_id"]]
    return pd.Series(refunded, index=lines.index, dtype=object)


def refunds_of_orders(engine: Engine, order_numbers: Iterable[str]) -> dict[str, list[str]]:
    """Order number → the numbers of its refunds, for the orders given (those with none are absent)."""
    wanted = sorted(set(order_numbers))
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            stmt = (select(orders.c.number, refunds.c.number).join(refunds, refunds.c.order_id == orders.c.id)
                    .where(orders.c.number.in_(wanted[start:start + 500])).order_by(refunds.c.number))
            for order_number, refund_number in conn.execute(stmt):
                found.setdefault(order_number, []).append(refund_number)
    return found


def extract_customers(engine: Engine, updated_since: datetime | None = None) -> pd.DataFrame:
    """Customers (all, or those updated at or after ``updated_since``), with who first used each code."""
    stmt = _select(_CUSTOMER_COLUMNS).select_from(
        customers.outerjoin(_code_owners, _code_owners.c.code == _CUSTOMER_CODE).outerjoin(
            _code_owner, _code_owner.c.id == _code_owners.c.owner_id
        )
    )
    if updated_since is not None:
        stmt = stmt.where(customers.c.updated_at >= updated_since)
    with engine.connect() as conn:
        return _frame(conn, stmt.order_by(customers.c.id), _CUSTOMER_COLUMNS)


def extract_products(engine: Engine, updated_since: datetime | None = None) -> pd.DataFrame:
    """Products (all, or those updated at or after ``updated_since``)."""
    stmt = _select(_PRODUCT_COLUMNS)
    if updated_since is not None:
        stmt = stmt.where(products.c.updated_at >= updated_since)
    with engine.connect() as conn:
        return _frame(conn, stmt.order_by(products.c.id), _PRODUCT_COLUMNS)


# ------------------------------------------------------------------------------------------ stock moves

_source = outlets.alias("transfer_source")
_destination = outlets.alias("transfer_destination")

_TRANSFER_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("transfer_id", transfers.c.id, "id"),
    ("number", transfers.c.number, "str"),
    # the outlet ids too: an outlet missing from the POS (foreign keys off) leaves its code empty, and the
    # transform fails the side that needs it, naming the id
    ("from_outlet_id", transfers.c.from_outlet_id, "nullable_int"),
    ("to_outlet_id", transfers.c.to_outlet_id, "nullable_int"),
    ("from_code", _source.c.code, "str"),
    ("from_timezone", _source.c.timezone, "str"),
    ("to_code", _destination.c.code, "str"),
    ("to_timezone", _destination.c.timezone, "str"),
    ("status", transfers.c.status, "str"),
    ("sent_at", transfers.c.sent_at, "time"),
    ("received_at", transfers.c.received_at, "time"),
    ("committed_at", transfers.c.committed_at, "time"),
    ("note", transfers.c.note, "str"),
]

_TRANSFER_LINE_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("transfer_id", transfer_lines.c.transfer_id, "id"),
    ("line_no", transfer_lines.c.line_no, "int"),
    ("sku", products.c.sku, "str"),
    ("product_name", products.c.name, "str"),
    ("unit_cost", products.c.cost, "exact"),
    ("quantity_sent", transfer_lines.c.quantity_sent, "exact"),
    ("quantity_received", transfer_lines.c.quantity_received, "exact"),
]

_ADJUSTMENT_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("adjustment_id", stock_adjustments.c.id, "id"),
    ("number", stock_adjustments.c.number, "str"),
    ("kind", stock_adjustments.c.kind, "str"),
    ("outlet_code", outlets.c.code, "str"),
    ("outlet_timezone", outlets.c.timezone, "str"),
    ("business_time", stock_adjustments.c.business_time, "time"),
    ("committed_at", stock_adjustments.c.committed_at, "time"),
    ("reason", stock_adjustments.c.reason, "str"),
]

_ADJUSTMENT_LINE_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("adjustment_id", stock_adjustment_lines.c.adjustment_id, "id"),
    ("line_no", stock_adjustment_lines.c.line_no, "int"),
    ("sku", products.c.sku, "str"),
    ("product_name", products.c.name, "str"),
    ("quantity_change", stock_adjustment_lines.c.quantity_change, "exact"),
    ("counted_quantity", stock_adjustment_lines.c.counted_quantity, "exact"),
    ("expected_quantity", stock_adjustment_lines.c.expected_quantity, "exact"),
    ("unit_cost", func.coalesce(stock_adjustment_lines.c.unit_cost, products.c.cost), "exact"),
]


@dataclass(frozen=True, slots=True)
class StockFrames:
    """What one stock extract read: transfers touching the outlets, adjustments and stock takes, with lines.

    A transfer is read when it was sent *or* received in the window (each side is its own document); lines
    carry the product's SKU, name and cost.
    """

    transfers: pd.DataFrame
    transfer_lines: pd.DataFrame
    adjustments: pd.DataFrame
    adjustment_lines: pd.DataFrame

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in self.__dataclass_fields__}


def _own_live_transfer() -> ColumnElement[bool]:
    """A transfer the outbound sync reads: not cancelled, and entered at the POS (one an integration wrote in from
    its target, ``origin`` set, is already in that target's books and must never go back as a new transfer)."""
    return and_(transfers.c.status != "cancelled", transfers.c.origin.is_(None))


def plan_stock_catch_up(
    engine: Engine,
    outlet_codes: Iterable[str],
    *,
    transfers_flow: bool,
    after: datetime,
    until: datetime,
    due_before: datetime,
) -> CatchUpPlan:
    """Plan the catch-up of the outlets' transfers (``transfers_flow``) or adjustments and stock takes committed
    in ``(after, until]``: a transfer side is due once sent (at its source) or received (at its destination)
    before ``due_before``, an adjustment once its business time is. Records committed in the range that
    happened after the window end hold the watermark to just before their commit, as for sales. Stock
    documents are few, so there is no per-run cap."""
    after, until = after.astimezone(UTC), until.astimezone(UTC)
    if until <= after:
        return CatchUpPlan(CatchUp(after, after), after, 0, 0, 0)
    codes = sorted(set(outlet_codes))
    if transfers_flow:
        table = transfers
        sides = [(transfers.c.sent_at, _source.c.code), (transfers.c.received_at, _destination.c.code)]
        source = transfers.outerjoin(_source, _source.c.id == transfers.c.from_outlet_id).outerjoin(
            _destination, _destination.c.id == transfers.c.to_outlet_id)
        live = _own_live_transfer()
    else:
        table = stock_adjustments
        sides = [(stock_adjustments.c.business_time, outlets.c.code)]
        source = stock_adjustments.join(outlets, outlets.c.id == stock_adjustments.c.outlet_id)
        live = true()
    in_range = and_(live, table.c.committed_at > after, table.c.committed_at <= until)
    due = or_(*[and_(time < due_before, code.in_(codes)) for time, code in sides])
    happened_later = or_(*[and_(time >= due_before, time <= until, code.in_(codes)) for time, code in sides])
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(source).where(in_range, due)).scalar_one()
        earliest_held, held = conn.execute(
            select(func.min(table.c.committed_at), func.count()).select_from(source)
            .where(in_range, happened_later, ~due)).one()
    advance_to = until
    if earliest_held is not None:
        advance_to = max(after, min(until, _aware_utc(earliest_held) - timedelta(microseconds=1)))
    return CatchUpPlan(CatchUp(after, until), advance_to, int(count), 0, int(held))


def extract_stock(
    engine: Engine,
    window: Window,
    outlet_codes: Iterable[str] | None = None,
    *,
    lookback: timedelta | None = None,
    include_transfers: bool = True,
    include_adjustments: bool = True,
    retry_transfer_numbers: Iterable[str] = (),
    retry_adjustment_numbers: Iterable[str] = (),
    catch_up: CatchUp | None = None,
) -> StockFrames:
    """Transfers sent or received in ``window`` at ``outlet_codes`` (source or destination), and the outlets'
    adjustments and stock takes in it; plus late records (committed since the window started, within the
    lookback), records due by the window end and committed in the ``catch_up`` range (``plan_stock_catch_up``)
    and the numbers a retry asks for, whatever their time. Cancelled transfers, and transfers written in from a
    target (``transfers.origin``), are never read.
    ``include_transfers`` / ``include_adjustments`` = False leave that half out (its frames come back empty)."""
    _check_sweep(lookback, None)
    codes = None if outlet_codes is None else sorted(set(outlet_codes))
    sqlite = engine.dialect.name == "sqlite"

    def moved(column: Any, code_column: Any) -> ColumnElement[bool]:
        at_outlet = _outlet_filter(code_column, codes)
        return and_(or_(_selection(column, transfers.c.committed_at, window, lookback, None),
                        _caught_up(column, transfers.c.committed_at, window, catch_up)), *at_outlet)

    def unreadable_time(column: Any, code_column: Any) -> ColumnElement[bool]:
        """A sent or received time that is stored but is no time (SQLite keeps any text): no window would read
        it, so it is found by its commit in the window, and the transform fails its side."""
        if not sqlite:
            return false()
        return and_(column.isnot(None), func.datetime(column).is_(None), transfers.c.committed_at >= window.start,
                    transfers.c.committed_at < window.end, *_outlet_filter(code_column, codes))

    transfer_where = and_(
        _own_live_transfer() if include_transfers else false(),
        or_(
            moved(transfers.c.sent_at, _source.c.code),
            moved(transfers.c.received_at, _destination.c.code),
            unreadable_time(transfers.c.sent_at, _source.c.code),
            unreadable_time(transfers.c.received_at, _destination.c.code),
            and_(transfers.c.number.in_(sorted(set(retry_transfer_numbers))),
                 or_(*_outlet_filter(_source.c.code, codes), *_outlet_filter(_destination.c.code, codes))
                 if codes is not None else True),
        ),
    )
    # outer joins: a transfer whose other outlet is missing from the POS is read, and fails with that reason
    transfer_from = transfers.outerjoin(_source, _source.c.id == transfers.c.from_outlet_id).outerjoin(
        _destination, _destination.c.id == transfers.c.to_outlet_id
    )
    transfer_ids = select(transfers.c.id).select_from(transfer_from).where(transfer_where)
    transfers_stmt = (
        _select(_TRANSFER_COLUMNS).select_from(transfer_from).where(transfer_where).order_by(transfers.c.id)
    )
    transfer_lines_stmt = (
        _select(_TRANSFER_LINE_COLUMNS)
        .select_from(transfer_lines.join(products, products.c.id == transfer_lines.c.product_id))
        .where(transfer_lines.c.transfer_id.in_(transfer_ids))
        .order_by(transfer_lines.c.transfer_id, transfer_lines.c.line_no)
    )

    adjustment_from = stock_adjustments.join(outlets, outlets.c.id == stock_adjustments.c.outlet_id)
    adjustment_where = and_(
        true() if include_adjustments else false(),
        or_(
            _selection(stock_adjustments.c.business_time, stock_adjustments.c.committed_at, window, lookback, None),
            _caught_up(stock_adjustments.c.business_time, stock_adjustments.c.committed_at, window, catch_up),
            stock_adjustments.c.number.in_(sorted(set(retry_adjustment_numbers))),
            _unplaceable(stock_adjustments.c.business_time, stock_adjustments.c.committed_at, window, None, sqlite),
        ),
        *_outlet_filter(outlets.c.code, codes),
    )
    adjustment_ids = select(stock_adjustments.c.id).select_from(adjustment_from).where(adjustment_where)
    adjustments_stmt = (
        _select(_ADJUSTMENT_COLUMNS).select_from(adjustment_from).where(adjustment_where)
        .order_by(stock_adjustments.c.business_time, stock_adjustments.c.id)
    )
    adjustment_lines_stmt = (
        _select(_ADJUSTMENT_LINE_COLUMNS)
        .select_from(stock_adjustment_lines.join(products, products.c.id == stock_adjustment_lines.c.product_id))
        .where(stock_adjustment_lines.c.adjustment_id.in_(adjustment_ids))
        .order_by(stock_adjustment_lines.c.adjustment_id, stock_adjustment_lines.c.line_no)
    )
    with engine.connect() as conn:
        return StockFrames(
            transfers=_frame(conn, transfers_stmt, _TRANSFER_COLUMNS),
            transfer_lines=_frame(conn, transfer_lines_stmt, _TRANSFER_LINE_COLUMNS),
            adjustments=_frame(conn, adjustments_stmt, _ADJUSTMENT_COLUMNS),
            adjustment_lines=_frame(conn, adjustment_lines_stmt, _ADJUSTMENT_LINE_COLUMNS),
        )


# ------------------------------------------------------------------------------------ canonical frames


@dataclass(frozen=True, slots=True)
class CanonicalColumn:
    """One column of a canonical frame, as every extract (built-in or a source profile) must deliver it.

    :ivar name: the frame's column (``total_amount``).
    :ivar kind: how it is held: ``id`` / ``int`` (int64), ``nullable_int`` (Int64), ``str``, ``bool``, ``time``
        (UTC), ``exact`` (``Decimal``, object dtype).
    :ivar source: where the reference schema keeps it (``orders.total_amount``): what a reason names when a
        value cannot be read.
    :ivar expected: ``an amount``, ``a quantity``, ``a rate``, ``a time`` (what an unreadable value is not).
    :ivar places: decimal places of an exact value (2 for money and rates, 3 for quantities).
    """

    name: str
    kind: Kind
    source: str
    expected: str
    places: int | None = None


_EXPECTED = {"id": "an id", "int": "a whole number", "nullable_int": "a whole number", "bool": "true or false",
             "str": "text"}


def _canonical(columns: Sequence[tuple[str, Any, Kind]]) -> tuple[CanonicalColumn, ...]:
    return tuple(
        CanonicalColumn(label, kind, _source_name(expression, label),
                        _EXPECTED.get(kind) or _expected(expression, kind),
                        getattr(expression.type, "scale", None) if kind == "exact" else None)
        for label, expression, kind in columns
    )


_OUTLET_COLUMNS: list[tuple[str, Any, Kind]] = [
    ("outlet_id", outlets.c.id, "id"),
    ("code", outlets.c.code, "str"),
    ("name", outlets.c.name, "str"),
    ("kind", outlets.c.kind, "str"),
    ("timezone", outlets.c.timezone, "str"),
]

#: Every canonical frame's columns, by entity: what ``SalesFrames``, ``StockFrames``, ``extract_customers`` and
#: ``extract_products`` hold (besides ``unreadable``), and what a source profile's queries must return.
#: ``refund_lines`` carries ``quantity_refunded_before``, which the built-in extract works out in a second query.
CANONICAL_COLUMNS: dict[str, tuple[CanonicalColumn, ...]] = {
    "outlets": _canonical(_OUTLET_COLUMNS),
    "orders": _canonical(_ORDER_COLUMNS),
    "order_lines": _canonical(_LINE_COLUMNS),
    "payments": _canonical(_PAYMENT_COLUMNS),
    "refunds": _canonical(_REFUND_COLUMNS),
    "refund_lines": (*_canonical(_REFUND_LINE_COLUMNS),
                     CanonicalColumn("quantity_refunded_before", "exact", "quantity_refunded_before", "a quantity",
                                     3)),
    "customers": _canonical(_CUSTOMER_COLUMNS),
    "products": _canonical(_PRODUCT_COLUMNS),
    "transfers": _canonical(_TRANSFER_COLUMNS),
    "transfer_lines": _canonical(_TRANSFER_LINE_COLUMNS),
    "adjustments": _canonical(_ADJUSTMENT_COLUMNS),
    "adjustment_lines": _canonical(_ADJUSTMENT_LINE_COLUMNS),
}
