"""POS sales frames → canonical sales documents, validated one record at a time.

A broken POS record (a product without SKU, totals that do not add up, a refund of more than was sold)
becomes a ``Rejection`` with a plain reason an operator can act on; it never fails the batch. Voided
orders are not failures: they are *skipped*, with the reason the cashier gave.

Arithmetic is exact and vectorised: amounts are converted once from ``Decimal`` to ``int64`` minor units
(sen, or thousandths for quantities, basis points for rates), worked on as whole columns, and turned
back into ``Decimal`` only when documents are built. Nothing goes through a float.

The POS arithmetic this inverts (what the till stores)::

    line gross     = round_half_up(quantity * unit_price, 0.01)       (as priced: inclusive or not)
    line base      = gross - line discount
    share          = the order discount split over lines ∝ base, by largest remainder
                     (shares sum to the order discount; ties go to the earlier line)
    taxable        = base - share
    line tax       = what the till stored (round(taxable * r/100), or * r/(100+r) when inclusive)
    order total    = Σ base - order discount + (Σ tax if exclusive) + service charge + rounding

Invoice lines are net of tax (see ``possync.documents``): for exclusive orders ``gross`` is the line gross
and ``discount`` the line discount plus its share. For inclusive orders each as-priced amount is split::

    net           = taxable - tax
    discount_net  = (line discount + share) - round_half_up((line discount + share) * r/(100+r))
    gross_net     = net + discount_net

so ``gross - discount = net`` per line and the document identity holds to the sen either way.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Generator, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, cast, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from possync.documents import (
    Customer,
    InvoiceLine,
    Item,
    Payment,
    PaymentMethod,
    Rejection,
    ReturnLine,
    SalesInvoice,
    SalesReturn,
)
from possync.money import rupiah

PAYMENT_METHODS: frozenset[str] = frozenset(get_args(PaymentMethod))
CUSTOMER_KEY_PREFIX = "CUST-"

# Places of each kind of exact value: sen for money, thousandths for quantities, hundredths for rates.
MONEY_PLACES = 2
QUANTITY_PLACES = 3
RATE_PLACES = 2
_RATE_SCALE = 100 * 10**RATE_PLACES  # a rate of 100 % in basis points
_SEN = Decimal("0.01")
TIMES = "\N{MULTIPLICATION SIGN}"  # "refund RF-1 returns 3 <TIMES> 'Es Kopi'"


class SalesFramesLike(Protocol):
    """What the transform reads: ``possync.pos.extract.SalesFrames`` (not imported: transform knows no
    source, so frames from another POS schema only need the same columns)."""

    @property
    def orders(self) -> pd.DataFrame: ...
    @property
    def lines(self) -> pd.DataFrame: ...
    @property
    def payments(self) -> pd.DataFrame: ...
    @property
    def refunds(self) -> pd.DataFrame: ...
    @property
    def refund_lines(self) -> pd.DataFrame: ...


@dataclass(slots=True)
class SalesBatch:
    """The documents one extract became, oldest first, and the records that did not make it."""

    invoices: list[SalesInvoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    returns: list[SalesReturn] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    skipped: list[Rejection] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "invoices": len(self.invoices),
            "payments": len(self.payments),
            "returns": len(self.returns),
            "rejected": len(self.rejections),
            "skipped": len(self.skipped),
        }


# --------------------------------------------------------------------------------------- formatting


def format_rupiah(amount: Decimal) -> str:
    """Indonesian style: ``Rp 1.234.567``, ``Rp 1.234,50``, ``-Rp 5.000`` (``possync.money.rupiah``)."""
    return rupiah(amount)


def format_quantity(quantity: Decimal) -> str:
    """A quantity as a person writes it, Indonesian style: ``2``, ``1,5``, ``1.200``."""
    whole, _, fraction = f"{Decimal(quantity).normalize():f}".partition(".")
    sign = "-" if whole.startswith("-") else ""
    text = f"{int(whole.lstrip('-')):,}".replace(",", ".")
    return f"{sign}{text},{fraction}" if fraction else f"{sign}{text}"


def customer_key(pos_customer_id: int | str) -> str:
    """The stable key of a POS customer: its database id, never the code cashiers type (not unique). A text
    id (a source profile's, ``M000017``) is the key as it is; an integer, or text of digits, by its number."""
    return f"{CUSTOMER_KEY_PREFIX}{_id_text(pos_customer_id)}"


def _id_text(pos_id: Any) -> str:
    """A POS id as a key writes it: a number (or text of digits) by its integer, other text as it is."""
    if not isinstance(pos_id, str):
        return str(int(pos_id))
    text = pos_id.strip()
    return str(int(text)) if text.lstrip("-").isdigit() else text


# ------------------------------------------------------------------------------- exact column maths


def to_minor(values: pd.Series | Sequence[Any], places: int, what: str = "amount") -> np.ndarray:
    """Exact ``Decimal`` values as ``int64`` counts of ``10**-places``; refuses anything finer or missing."""
    array = np.asarray(values, dtype=object)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    # A float that happens to look exact (1.5) is still refused: it says the value went through a float.
    strangers = set(map(type, array)) - {Decimal, int}
    if strangers:
        names = ", ".join(sorted(kind.__name__ for kind in strangers))
        raise ValueError(f"{what}: every value must be an exact Decimal, found {names}")
    # Amounts repeat all through a window (prices, rates, quantities): each distinct value is scaled once.
    # Equal values (Decimal("1.5"), Decimal("1.50")) share a code, and have the same minor units.
    try:
        codes, distinct = pd.factorize(array)
    except TypeError:  # an unhashable value (a signalling NaN): refused below, naming it
        codes, distinct = np.arange(array.size), array
    if (codes < 0).any():  # a Decimal NaN is missing to pandas: refused below, naming it
        codes, distinct = np.arange(array.size), array
    return _scaled(np.asarray(distinct, dtype=object), places, what)[codes]


def _scaled(array: np.ndarray, places: int, what: str) -> np.ndarray:
    try:
        scaled = array * (10**places)
        minor = scaled.astype(np.int64)
    except (TypeError, ValueError, ArithmeticError, OverflowError) as exc:
        raise ValueError(f"{what}: every value must be an exact Decimal ({exc})") from exc
    inexact = scaled != minor
    if inexact.any():
        bad = array[np.flatnonzero(inexact)[0]]
        raise ValueError(f"{what}: {bad!r} is not exact to {places} decimal places (or is not a Decimal)")
    return minor


def from_minor(minor: np.ndarray | Iterable[int], places: int = MONEY_PLACES) -> list[Decimal]:
    """``int`` minor units back to ``Decimal`` with exactly ``places`` places (no float on the way)."""
    # Sales repeat the same few prices, so each distinct value is built once; Decimals are immutable.
    if isinstance(minor, np.ndarray) and minor.dtype.kind in "iu":
        if minor.size == 0:
            return []
        codes, distinct = pd.factorize(minor)
        decimals = np.empty(len(distinct), dtype=object)
        decimals[:] = [Decimal(value).scaleb(-places) for value in distinct.tolist()]
        return decimals[codes].tolist()
    memo: dict[int, Decimal] = {}
    out: list[Decimal] = []
    for value in np.asarray(minor).tolist() if isinstance(minor, np.ndarray) else minor:
        decimal = memo.get(value)
        if decimal is None:
            decimal = memo[value] = Decimal(int(value)).scaleb(-places)
        out.append(decimal)
    return out


def _money(minor: int) -> Decimal:
    return Decimal(int(minor)).scaleb(-MONEY_PLACES)


def _div_half_up(numerator: np.ndarray, denominator: np.ndarray | int) -> np.ndarray:
    """``numerator / denominator`` rounded half away from zero, like ``Decimal``'s ROUND_HALF_UP."""
    magnitude = (2 * np.abs(numerator) + denominator) // (2 * np.asarray(denominator))
    return np.sign(numerator) * magnitude


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a * b`` in int64 when it cannot overflow, else exactly in Python ints (object dtype)."""
    if a.size == 0:
        return a * b
    if int(np.abs(a).max()) * int(np.abs(b).max()) < 2**62:
        return a * b
    return a.astype(object) * b.astype(object)


# ------------------------------------------------------------------------------------------ reasons


class _Reasons:
    """Collects (record id, reason) pairs from vectorised checks; reads them back per record.

    Reasons keep the order the checks ran in and, within a check, the line order; one record with several
    problems gets them all, joined with "; ", each once.
    """

    def __init__(self) -> None:
        self._ids: list[Hashable] = []
        self._reasons: list[str] = []

    def add(self, ids: Iterable[Hashable], reasons: Iterable[str]) -> None:
        for record_id, reason in zip(ids, reasons, strict=True):
            self._ids.append(record_id)
            self._reasons.append(reason)

    def add_where(
        self, mask: pd.Series, frame: pd.DataFrame, id_column: str, reason: Callable[..., str]
    ) -> None:
        """For the rows of ``frame`` where ``mask`` holds, add ``reason(row)`` against the row's id."""
        selected = np.asarray(mask, dtype=bool)
        if not selected.any():
            return
        rows = frame.loc[selected]
        self.add(rows[id_column].tolist(), [reason(row) for row in rows.itertuples(index=False)])

    def extend(self, other: _Reasons) -> None:
        self.add(other._ids, other._reasons)

    def ids(self) -> set[Hashable]:
        return set(self._ids)

    def joined(self) -> dict[Hashable, str]:
        grouped: dict[Hashable, list[str]] = {}
        for record_id, reason in zip(self._ids, self._reasons, strict=True):
            reasons = grouped.setdefault(record_id, [])
            if reason not in reasons:
                reasons.append(reason)
        return {record_id: "; ".join(reasons) for record_id, reasons in grouped.items()}


def _missing_text(series: pd.Series) -> pd.Series:
    """True where a text column is missing or blank (each distinct value looked at once)."""
    codes, distinct = pd.factorize(series.astype(object))
    blank = np.array([not str(value).strip() for value in distinct.tolist()] + [True], dtype=bool)
    return pd.Series(blank[codes], index=series.index)  # code -1 (missing) is the last, True


def _optional(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _zones(names: Iterable[str]) -> tuple[dict[str, ZoneInfo], set[str]]:
    """The zones these names denote, and the names that denote none."""
    zones: dict[str, ZoneInfo] = {}
    unknown: set[str] = set()
    for name in pd.Series(names, dtype=object).unique():  # each zone once (a set of a column is slow)
        try:
            zones[name] = ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            unknown.add(name)
    return zones, unknown


def _local(times: pd.Series, zone_names: pd.Series, zones: dict[str, ZoneInfo]) -> pd.Series:
    """UTC instants as aware ``datetime`` objects in each row's zone (UTC where the zone is unknown).

    Converted one zone at a time by pandas: a Python ``astimezone`` per row is most of the cost of building
    a million documents.
    """
    local = np.empty(len(times), dtype=object)
    names = zone_names.to_numpy(dtype=object)
    for name in pd.unique(names):
        rows = names == name
        converted = times[rows].dt.tz_convert(zones.get(name, UTC)).dt.to_pydatetime()
        local[rows] = np.asarray(converted, dtype=object)
    local[times.isna().to_numpy()] = None  # no time (or none that could be read): the rejection has none
    # Object dtype, so the column keeps plain ``datetime`` objects instead of becoming datetime64 again.
    return pd.Series(local, index=times.index, dtype=object)


def _texts(series: pd.Series) -> list[str | None]:
    """A text column as Python values, ``None`` where missing."""
    return series.astype(object).where(series.notna(), None).tolist()


# ----------------------------------------------------------------------------------- unreadable values

#: Exact values beyond this many minor units are refused: more than PostgreSQL's NUMERIC(18, 2) holds, and
#: room enough that sums of them stay within 64 bits.
MAX_MINOR = 10**18
#: A business time this far after the record reached the POS server is a wrong clock, not a sale to come.
FUTURE_TOLERANCE = timedelta(hours=24)
#: The column the extract (``possync.pos.extract.UNREADABLE``) names unreadable values of a row in.
UNREADABLE = "unreadable"


def _value_reasons(
    frame: pd.DataFrame,
    id_column: str,
    reasons: _Reasons,
    prefix: Callable[[Any], str] = lambda row: "",
    times: Callable[[Any, Any], str] | None = None,
    unused: frozenset[str] = frozenset(),
) -> np.ndarray:
    """Fail each row's record with the values the extract could not read; True for those rows.

    ``times(row, value)`` words an unreadable business time (the record's own time, not just a column)."""
    if UNREADABLE not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    found = frame[UNREADABLE].notna().to_numpy()
    if not found.any():
        return found
    for row in frame.loc[found].itertuples(index=False):
        for value in getattr(row, UNREADABLE):
            if value.column in unused:
                continue
            if times is not None and str(value.column).endswith(".business_time"):
                reason = times(row, value.value)
            else:
                reason = f"{prefix(row)}{value}"
            reasons.add([getattr(row, id_column)], [reason])
    return found


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _minor(
    frame: pd.DataFrame,
    column: str,
    places: int,
    source: str,
    id_column: str,
    reasons: _Reasons,
    prefix: Callable[[Any], str] = lambda row: "",
) -> np.ndarray:
    """``to_minor`` of one column; a value that is missing, not exact or too large fails its record (naming
    ``source``, the column as stored) and counts as 0. Rows whose values the extract could not read are failed
    already and are not named again. Vectorised; values are looked at one by one only when the column fails."""
    values = frame[column]
    try:
        minor = to_minor(values, places, source)
        if minor.size == 0 or int(np.abs(minor).max()) < MAX_MINOR:
            return minor
    except ValueError:
        pass
    already = frame[UNREADABLE].notna().to_numpy() if UNREADABLE in frame.columns else None
    out = np.zeros(len(frame), dtype=np.int64)
    for position, (value, row) in enumerate(zip(values.tolist(), frame.itertuples(index=False), strict=True)):
        reason = None
        if value is None or (not isinstance(value, (Decimal, int)) and pd.isna(value)):
            reason = f"{source} is empty (NULL)"
        elif type(value) not in (Decimal, int) or not Decimal(value).is_finite():
            reason = f"{source} = {value!r} is not an exact value"
        else:
            scaled = Decimal(value).scaleb(places)
            if scaled != scaled.to_integral_value():
                reason = f"{source} = {value} has more than {places} decimal places"
            elif abs(scaled) >= MAX_MINOR:
                reason = f"{source} = {value} is too large (more than {MAX_MINOR:,} units of {places} places)"
            else:
                out[position] = int(scaled)
        if reason is not None and not (already is not None and already[position]):
            reasons.add([getattr(row, id_column)], [f"{prefix(row)}{reason}"])
    return out


def _local_text(moment: Any, zone: ZoneInfo | None) -> str:
    return pd.Timestamp(moment).tz_convert(zone or UTC).strftime("%Y-%m-%d %H:%M")


def _time_reasons(
    frame: pd.DataFrame, what: str, id_column: str, zones: dict[str, ZoneInfo], reasons: _Reasons
) -> np.ndarray:
    """A record with no business time, or one dated after it reached the server (beyond a clock's error),
    cannot be windowed: it fails with that reason. True for those rows (beside the extract's unreadable)."""
    missing = frame["business_time"].isna().to_numpy()
    if UNREADABLE in frame.columns:
        missing = missing & frame[UNREADABLE].isna().to_numpy()
    reasons.add_where(missing, frame, id_column, lambda row: f"{what} {row.number} has no business time")
    future = (frame["business_time"] > frame["committed_at"] + FUTURE_TOLERANCE).to_numpy()
    reasons.add_where(
        future,
        frame,
        id_column,
        lambda row: (
            f"{what} {row.number} business time "
            f"{_local_text(row.business_time, zones.get(row.outlet_timezone))} is in the future (it reached "
            f"the POS server at {_local_text(row.committed_at, zones.get(row.outlet_timezone))})"
        ),
    )
    return missing | future


def _time_words(what: str) -> Callable[[Any, Any], str]:
    def words(row: Any, value: Any) -> str:
        if _blank(value):
            return f"{what} {row.number} has no business time"
        return f"{what} {row.number} business time {value!r} is not a time"

    return words


# ------------------------------------------------------------------------------------------- sales


#: Orders transformed at a time by ``transform_sales``: the pandas work of a chunk (copies, merges, sort
#: keys) is what peaks, so a window's peak memory is its documents plus one chunk's, not the window's.
CHUNK_ORDERS = 20_000


@dataclass(frozen=True, slots=True)
class _Chunk:
    """A part of a window's frames (``SalesFramesLike``): some orders with their lines and payments, and
    some refunds with their lines."""

    orders: pd.DataFrame
    lines: pd.DataFrame
    payments: pd.DataFrame
    refunds: pd.DataFrame
    refund_lines: pd.DataFrame


def transform_sales(frames: SalesFramesLike, *, chunk_orders: int | None = CHUNK_ORDERS) -> SalesBatch:
    """Turn an extract's frames (``possync.pos.extract.SalesFrames``) into invoices, payments, returns.

    Every order and refund in the frames ends up in exactly one place: a document, a rejection (with the
    reason) or skipped (voided at the till). Payments follow their order. Lists are oldest first.

    The orders are worked through ``chunk_orders`` at a time, oldest first (``None``: all at once); the
    documents are the same either way (``transform_sales_chunks``).
    """
    return transform_sales_chunks(split_sales(frames, chunk_orders))


def split_sales(frames: SalesFramesLike, chunk_orders: int | None) -> Iterator[SalesFramesLike]:
    """The frames as chunks of ``chunk_orders`` orders, oldest first, each with its orders' lines and
    payments; the refunds ride with the first chunk (they are transformed once all orders have been)."""
    orders = frames.orders
    if chunk_orders is None or len(orders) <= chunk_orders or not orders["order_id"].is_unique:
        yield frames
        return
    if chunk_orders < 1:
        raise ValueError(f"chunk_orders must be at least 1, got {chunk_orders}")
    orders = _sorted(orders, ["business_time", "number"])
    chunk_of = pd.Series(np.arange(len(orders)) // chunk_orders, index=orders["order_id"].to_numpy())
    line_rows = frames.lines.groupby(frames.lines["order_id"].map(chunk_of).to_numpy()).indices
    payment_rows = frames.payments.groupby(frames.payments["order_id"].map(chunk_of).to_numpy()).indices
    nothing = np.zeros(0, dtype=np.int64)
    for number, start in enumerate(range(0, len(orders), chunk_orders)):
        first = number == 0
        yield _Chunk(
            orders=orders.iloc[start:start + chunk_orders],
            lines=frames.lines.iloc[line_rows.get(float(number), line_rows.get(number, nothing))],
            payments=frames.payments.iloc[payment_rows.get(float(number), payment_rows.get(number, nothing))],
            refunds=frames.refunds if first else frames.refunds.iloc[0:0],
            refund_lines=frames.refund_lines if first else frames.refund_lines.iloc[0:0],
        )


def transform_sales_chunks(chunks: Iterable[SalesFramesLike]) -> SalesBatch:
    """``transform_sales`` of a window that comes in chunks (``split_sales``, or
    ``possync.pos.extract.extract_sales_chunks``): each chunk's orders with their lines and payments, and
    refunds in any chunk. The documents are those of the whole window at once, in the same order: orders
    are transformed a chunk at a time, refunds once every order has been (a refund fails with its rejected
    order, whatever chunk that was in), and the lists are merged oldest first (``SalesMerge``)."""
    merged = SalesMerge()
    for part in transform_sales_stream(chunks):
        merged.add(part)
    return merged.batch()


@dataclass(slots=True)
class SalesPart:
    """What ``transform_sales_stream`` made of one chunk: its orders' invoices and payments (each list oldest
    first), their rejections and skips, and the sort keys of the invoices and payments (to merge the chunks'
    lists oldest first, ``SalesMerge``). The last part holds the window's returns and their refunds' failures."""

    batch: SalesBatch
    invoice_keys: pd.DataFrame | None = None
    payment_keys: pd.DataFrame | None = None


def transform_sales_stream(chunks: Iterable[SalesFramesLike]) -> Iterator[SalesPart]:
    """The transform of a window that comes in chunks, a part at a time: one ``SalesPart`` per chunk (its
    orders' documents, rejections and skips), then one with the returns of every chunk's refunds, transformed
    once every order has been (a refund fails with its rejected order, whatever chunk that was in). A caller
    can record each part before the next chunk is read, so only one chunk's frames are held at a time; the
    parts merged (``SalesMerge``) are ``transform_sales`` of the whole window."""
    rejected_orders: dict[Hashable, str] = {}
    refunds: list[pd.DataFrame] = []
    refund_lines: list[pd.DataFrame] = []
    for chunk in chunks:
        batch = SalesBatch()
        # Python's cyclic garbage collector is paused meanwhile: documents are many objects that live on and
        # form no cycles, and each few thousand new ones set off a walk over every object alive.
        with _paused_gc():
            invoice_keys, payment_keys = _transform_orders(chunk, rejected_orders, batch)
        batch.rejections.sort(key=_rejection_order)
        batch.skipped.sort(key=_rejection_order)
        refunds.append(chunk.refunds)
        refund_lines.append(chunk.refund_lines)
        yield SalesPart(batch, invoice_keys, payment_keys)
    if not refunds:
        raise ValueError("transform_sales_chunks needs at least one chunk (an empty window is one empty chunk)")
    all_refunds = pd.concat(refunds) if len(refunds) > 1 else refunds[0]
    all_refund_lines = pd.concat(refund_lines) if len(refund_lines) > 1 else refund_lines[0]
    batch = SalesBatch()
    with _paused_gc():
        zones, unknown_zones = _zones(all_refunds["outlet_timezone"])
        _build_returns(all_refunds, all_refund_lines, rejected_orders, zones, unknown_zones, batch)
    batch.rejections.sort(key=_rejection_order)
    batch.skipped.sort(key=_rejection_order)
    yield SalesPart(batch)


class SalesMerge:
    """The parts of ``transform_sales_stream`` gathered into the window's ``SalesBatch``: each kind's documents
    oldest first over all chunks, rejections and skips in one order, as ``transform_sales`` of the window whole."""

    def __init__(self) -> None:
        self._batch = SalesBatch()
        self._invoice_keys: list[pd.DataFrame] = []
        self._payment_keys: list[pd.DataFrame] = []

    def add(self, part: SalesPart) -> None:
        self._batch.invoices.extend(part.batch.invoices)
        self._batch.payments.extend(part.batch.payments)
        self._batch.returns.extend(part.batch.returns)
        self._batch.rejections.extend(part.batch.rejections)
        self._batch.skipped.extend(part.batch.skipped)
        if part.invoice_keys is not None:
            self._invoice_keys.append(part.invoice_keys)
        if part.payment_keys is not None:
            self._payment_keys.append(part.payment_keys)

    def batch(self) -> SalesBatch:
        batch = self._batch
        if len(self._invoice_keys) > 1:
            batch.invoices = _in_order(batch.invoices, self._invoice_keys)
            batch.payments = _in_order(batch.payments, self._payment_keys)
        batch.rejections.sort(key=_rejection_order)
        batch.skipped.sort(key=_rejection_order)
        return batch


@contextmanager
def _paused_gc() -> Generator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _in_order(documents: list[Any], keys: list[pd.DataFrame]) -> list[Any]:
    """The chunks' documents (each chunk's in order) in the order of their sort keys over all chunks."""
    if _chunks_follow_on(keys):
        return documents  # what a stable sort would give; chunks read oldest first (the extract's) always are
    every = pd.concat(keys, ignore_index=True)
    order = every.sort_values(list(every.columns), kind="stable").index.to_numpy()
    if (order == np.arange(len(order))).all():
        return documents
    return [documents[position] for position in order.tolist()]


def _chunks_follow_on(keys: list[pd.DataFrame]) -> bool:
    """Whether each chunk's first key is at or after the previous chunks' last (each chunk's keys are sorted),
    so the keys together are sorted already. A key that does not compare (a missing time) says no."""
    last: tuple[Any, ...] | None = None
    for chunk in keys:
        if chunk.empty:
            continue
        first = tuple(chunk.iloc[0])
        if last is not None:
            try:
                if not last <= first:
                    return False
            except TypeError:
                return False
        last = tuple(chunk.iloc[-1])
    return True


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``frame.sort_values(keys, kind="stable")``, skipped when the rows are in that order already (the extract
    reads orders oldest first): sorting on a text key costs more than checking the order."""
    if _in_key_order(frame, keys):
        return frame
    return frame.sort_values(keys, kind="stable")


def _in_key_order(frame: pd.DataFrame, keys: list[str]) -> bool:
    """Whether every row's keys are at or after the previous row's, compared key by key; a missing value (or
    one that does not compare) says no, and the caller sorts."""
    tied = np.ones(max(len(frame) - 1, 0), dtype=bool)  # pairs of neighbours equal on the keys so far
    for key in keys:
        column = frame[key]
        if column.isna().any():
            return False
        values = column.array.asi8 if isinstance(column.dtype, pd.DatetimeTZDtype) else column.to_numpy()
        try:
            earlier, later = values[:-1], values[1:]
            if (tied & (earlier > later)).any():
                return False
            tied &= earlier == later
        except TypeError:
            return False
        if not tied.any():
            break
    return True


def _transform_orders(
    frames: SalesFramesLike, rejected_orders: dict[Hashable, str], batch: SalesBatch
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Invoices and payments of the frames' orders onto ``batch``, their failures into ``rejected_orders``;
    return the sort keys of the invoices and payments added (in the order added)."""
    orders = _sorted(frames.orders, ["business_time", "number"]).reset_index(drop=True)
    zones, unknown_zones = _zones(orders["outlet_timezone"])
    orders["local_time"] = _local(orders["business_time"], orders["outlet_timezone"], zones)

    order_reasons = _Reasons()
    invoice_rows, invoice_lines = _check_orders(
        orders, frames.lines, frames.payments, order_reasons, zones, unknown_zones
    )
    rejected_here = order_reasons.joined()
    rejected_orders.update(rejected_here)

    voided = orders.loc[orders["status"] == "voided"]
    for number, outlet, moment, why in zip(
        voided["number"],
        voided["outlet_code"],
        voided["local_time"],
        _texts(voided["void_reason"]),
        strict=True,
    ):
        reason = f"voided at the till: {why or 'no reason given'}"
        batch.skipped.append(Rejection("invoice", number, reason, outlet, moment))
    rejected = orders.loc[orders["order_id"].isin(list(rejected_here))]
    for order_id, number, outlet, moment in zip(
        rejected["order_id"], rejected["number"], rejected["outlet_code"], rejected["local_time"], strict=True
    ):
        batch.rejections.append(Rejection("invoice", number, rejected_here[order_id], outlet, moment))

    # Built in time order (the frames are sorted so), because loads go oldest first.
    batch.invoices.extend(_build_invoices(invoice_rows, invoice_lines))
    invoice_keys = invoice_rows[["business_time", "number"]].reset_index(drop=True)
    payment_keys = _build_payments(frames.payments, orders, rejected_here, zones, batch)
    return invoice_keys, payment_keys


_RECORD_ORDER = {"invoice": 0, "payment": 1, "return": 2}


def _rejection_order(rejection: Rejection) -> tuple[Any, ...]:
    moment = rejection.business_time or datetime.min.replace(tzinfo=UTC)
    return (moment, _RECORD_ORDER.get(rejection.record_type, 9), rejection.key)


def _check_orders(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    payments: pd.DataFrame,
    reasons: _Reasons,
    zones: dict[str, ZoneInfo],
    unknown_zones: set[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate completed orders; return the valid ones and their lines with the invoice amounts in sen."""
    completed = orders.loc[orders["status"] == "completed"].copy()
    reasons.add_where(
        ~orders["status"].isin(["completed", "voided"]),
        orders,
        "order_id",
        lambda row: f"order status '{row.status}' is neither completed nor voided",
    )

    # --- values that cannot be read (or are missing, or too large): the order fails naming them, and
    # nothing that follows from them is reported. Its lines' and payments' values count for the order.
    unread = _Reasons()
    _value_reasons(completed, "order_id", unread, times=_time_words("order"))
    _time_reasons(completed, "order", "order_id", zones, unread)
    for column, name in (
        ("discount_amount", "discount"),
        ("service_charge_amount", "service_charge"),
        ("tax_amount", "tax"),
        ("rounding_amount", "rounding"),
        ("total_amount", "total"),
    ):
        completed[name] = _minor(completed, column, MONEY_PLACES, f"orders.{column}", "order_id", unread)

    lines = lines.loc[lines["order_id"].isin(completed["order_id"])].sort_values(["order_id", "line_no"])
    lines = lines.reset_index(drop=True)
    _value_reasons(lines, "order_id", unread, _line_prefix)
    lines = _line_amounts(lines, completed, unread)
    numbers = completed.set_index("order_id")["number"]
    payments = payments.loc[payments["order_id"].isin(completed["order_id"])]
    payments = payments.assign(number=payments["order_id"].map(numbers))
    _value_reasons(payments, "order_id", unread, _payment_prefix, unused=frozenset({"payments.tendered"}))
    payments = payments.assign(
        minor=_minor(payments, "amount", MONEY_PLACES, "payments.amount", "order_id", unread, _payment_prefix)
    )
    reasons.extend(unread)

    # --- problems that make the arithmetic meaningless: report them and nothing that follows from them.
    structural = _Reasons()
    all_lines, all_completed = lines, completed
    lines = lines.loc[~lines["order_id"].isin(list(unread.ids()))]
    completed = completed.loc[~completed["order_id"].isin(list(unread.ids()))]
    structural.add_where(
        completed["outlet_kind"] != "outlet",
        completed,
        "order_id",
        lambda row: f"outlet {row.outlet_code} is a {row.outlet_kind}, and sales are only taken at outlets",
    )
    structural.add_where(
        completed["outlet_timezone"].isin(list(unknown_zones)),
        completed,
        "order_id",
        lambda row: f"outlet {row.outlet_code} has an unknown timezone '{row.outlet_timezone}'",
    )
    structural.add_where(
        ~completed["order_id"].isin(lines["order_id"]),
        completed,
        "order_id",
        lambda row: "order has no lines",
    )
    structural.add_where(
        lines["qty"] <= 0,
        lines,
        "order_id",
        lambda row: (
            f"line {row.line_no} ('{row.product_name}') has quantity {format_quantity(row.quantity)}, "
            "not a positive number"
        ),
    )
    structural.add_where(
        lines["price"] < 0,
        lines,
        "order_id",
        lambda row: (
            f"line {row.line_no} ('{row.product_name}') has a negative price "
            f"({format_rupiah(row.unit_price)})"
        ),
    )
    structural.add_where(
        lines["line_discount"] < 0,
        lines,
        "order_id",
        lambda row: (
            f"line {row.line_no} ('{row.product_name}') has a negative discount "
            f"({format_rupiah(row.discount_amount)})"
        ),
    )
    structural.add_where(
        (lines["qty"] > 0) & (lines["price"] >= 0) & (lines["line_discount"] >= 0) & (lines["base"] < 0),
        lines,
        "order_id",
        lambda row: (
            f"line {row.line_no} ('{row.product_name}') discount {format_rupiah(row.discount_amount)} "
            f"is more than the line's {format_rupiah(_money(row.gross))}"
        ),
    )
    # A negative tax follows from a negative amount; it is only news on a line that is otherwise sound.
    line_broken = (
        (lines["qty"] <= 0) | (lines["price"] < 0) | (lines["line_discount"] < 0) | (lines["base"] < 0)
    )
    structural.add_where(
        ~line_broken & ((lines["rate"] < 0) | (lines["line_tax"] < 0)),
        lines,
        "order_id",
        lambda row: f"line {row.line_no} ('{row.product_name}') has a negative tax",
    )
    structural.add_where(
        completed["discount"] < 0,
        completed,
        "order_id",
        lambda row: f"order discount is negative ({format_rupiah(row.discount_amount)})",
    )
    structural.add_where(
        (completed["discount"] > 0) & (completed["discount"] > completed["base_sum"]),
        completed,
        "order_id",
        lambda row: (
            f"order discount {format_rupiah(row.discount_amount)} is more than its lines "
            f"({format_rupiah(_money(row.base_sum))})"
        ),
    )
    broken = structural.ids() | unread.ids()
    lines, completed = all_lines, all_completed

    # --- products the targets cannot match: reported alongside everything else.
    no_sku = _missing_text(lines["sku"])
    reasons.add_where(no_sku, lines, "order_id", lambda row: f"product '{row.catalog_name}' has no SKU")
    reasons.extend(structural)

    # --- the stored figures must reconcile with the lines.
    sound = completed.loc[~completed["order_id"].isin(list(broken))]
    reasons.add_where(
        sound["tax"] != sound["line_tax_sum"],
        sound,
        "order_id",
        lambda row: (
            f"order tax {format_rupiah(row.tax_amount)} does not match its lines' tax "
            f"({format_rupiah(_money(row.line_tax_sum))})"
        ),
    )
    expected_total = (
        sound["base_sum"]
        - sound["discount"]
        + np.where(sound["tax_inclusive"], 0, sound["line_tax_sum"])
        + sound["service_charge"]
        + sound["rounding"]
    )
    reasons.add_where(
        sound["total"] != expected_total,
        sound.assign(expected_total=expected_total),
        "order_id",
        lambda row: (
            f"order total {format_rupiah(row.total_amount)} does not match its lines "
            f"({format_rupiah(_money(row.expected_total))})"
        ),
    )
    _check_payments(completed, sound, payments, reasons)

    rejected = reasons.ids()
    valid = completed.loc[~completed["order_id"].isin(list(rejected))]
    return valid, lines.loc[lines["order_id"].isin(valid["order_id"])]


def _line_prefix(row: Any) -> str:
    return f"line {row.line_no} ('{row.product_name}'): "


def _payment_prefix(row: Any) -> str:
    return f"payment {row.number}/P{row.seq}: "


def _line_amounts(lines: pd.DataFrame, completed: pd.DataFrame, unread: _Reasons) -> pd.DataFrame:
    """Add the POS arithmetic per line (sen) and the sums per order (onto ``completed``).

    A value that cannot be used fails its order in ``unread`` and counts as 0 here."""
    lines = lines.copy()
    for column, name, places in (
        ("quantity", "qty", QUANTITY_PLACES),
        ("unit_price", "price", MONEY_PLACES),
        ("discount_amount", "line_discount", MONEY_PLACES),
        ("tax_rate", "rate", RATE_PLACES),
        ("tax_amount", "line_tax", MONEY_PLACES),
    ):
        lines[name] = _minor(lines, column, places, f"order_lines.{column}", "order_id", unread, _line_prefix)

    gross = _div_half_up(_product(lines["qty"].to_numpy(), lines["price"].to_numpy()), 10**QUANTITY_PLACES)
    if gross.dtype == object:  # beyond int64 on the way: fine if the line itself is within bounds
        huge = np.abs(gross) >= MAX_MINOR
        unread.add_where(
            huge,
            lines,
            "order_id",
            lambda row: (
                f"{_line_prefix(row)}order_lines.quantity × order_lines.unit_price = {row.quantity} × "
                f"{row.unit_price} is too large (more than {MAX_MINOR:,} sen)"
            ),
        )
        gross = np.where(huge, 0, gross).astype(np.int64)
    lines["gross"] = gross
    lines["base"] = lines["gross"] - lines["line_discount"]

    by_order = lines.groupby("order_id")
    completed["base_sum"] = completed["order_id"].map(by_order["base"].sum()).fillna(0).astype("int64")
    completed["line_tax_sum"] = (
        completed["order_id"].map(by_order["line_tax"].sum()).fillna(0).astype("int64")
    )

    lines["share"] = _allocate(lines, completed)
    lines["taxable"] = lines["base"] - lines["share"]

    inclusive = (
        lines["order_id"].map(completed.set_index("order_id")["tax_inclusive"]).astype(bool).to_numpy()
    )
    discount = (lines["line_discount"] + lines["share"]).to_numpy()
    rate = lines["rate"].to_numpy()
    # The tax inside an inclusive discount, rounded like the till rounds tax.
    discount_tax = _div_half_up(_product(discount, rate), _RATE_SCALE + rate)
    net = (lines["taxable"] - lines["line_tax"]).to_numpy()
    discount_net = discount - discount_tax
    lines["inv_gross"] = np.where(inclusive, net + discount_net, lines["gross"].to_numpy()).astype("int64")
    lines["inv_discount"] = np.where(inclusive, discount_net, discount).astype("int64")
    lines["inv_tax"] = lines["line_tax"]
    return lines


def _allocate(lines: pd.DataFrame, completed: pd.DataFrame) -> np.ndarray:
    """Each line's share of its order discount ∝ its base, by largest remainder; ties to the earlier line.

    Exact for orders whose lines are sound (bases ≥ 0, discount ≤ Σ base); what it gives for broken orders
    is never used, because those are rejected first.
    """
    if lines.empty:
        return np.zeros(0, dtype=np.int64)
    per_order = completed.set_index("order_id")
    discount = lines["order_id"].map(per_order["discount"]).to_numpy().astype("int64")
    total_base = lines["order_id"].map(per_order["base_sum"]).to_numpy().astype("int64")
    base = lines["base"].to_numpy()
    allocating = (discount > 0) & (total_base > 0) & (base >= 0)
    divisor = np.where(allocating, total_base, 1)
    weighted = _product(np.where(allocating, discount, 0), np.where(allocating, base, 0))
    floor = (weighted // divisor).astype("int64")
    remainder = (weighted % divisor).astype("int64")

    left_over = discount - pd.Series(floor).groupby(lines["order_id"].to_numpy()).transform("sum").to_numpy()
    ranked = pd.DataFrame(
        {
            "order_id": lines["order_id"].to_numpy(),
            "remainder": remainder,
            "line_no": lines["line_no"].to_numpy(),
        }
    ).sort_values(["order_id", "remainder", "line_no"], ascending=[True, False, True], kind="stable")
    rank = np.empty(len(lines), dtype=np.int64)
    rank[ranked.index.to_numpy()] = ranked.groupby("order_id").cumcount().to_numpy()
    return np.where(allocating & (rank < left_over), floor + 1, floor)


def _check_payments(
    completed: pd.DataFrame, sound: pd.DataFrame, payments: pd.DataFrame, reasons: _Reasons
) -> None:
    """Payments must use a known method and, on orders whose lines are sound, settle the total."""
    # ``payments`` are the completed orders' own, with ``number`` and ``minor`` (the amount in sen) added.
    reasons.add_where(
        ~payments["method"].isin(list(PAYMENT_METHODS)),
        payments,
        "order_id",
        lambda row: f"payment {row.number}/P{row.seq} uses an unknown payment method '{row.method}'",
    )
    reasons.add_where(
        (payments["minor"] < 0) & payments["order_id"].isin(sound["order_id"]),
        payments,
        "order_id",
        lambda row: f"payment {row.number}/P{row.seq} is for {format_rupiah(row.amount)}, a negative amount",
    )
    paid = sound["order_id"].map(payments.groupby("order_id")["minor"].sum()).fillna(0).astype("int64")
    reasons.add_where(
        paid != sound["total"],
        sound.assign(paid=paid),
        "order_id",
        lambda row: (
            f"payments add up to {format_rupiah(_money(row.paid))} but the order total is "
            f"{format_rupiah(row.total_amount)}"
        ),
    )


def _build_invoices(orders: pd.DataFrame, lines: pd.DataFrame) -> list[SalesInvoice]:
    if orders.empty:
        return []
    lines = lines.sort_values(["order_id", "line_no"])
    built = [
        InvoiceLine(line_no, sku.strip(), name, quantity, unit_price, gross, discount, rate, tax)
        for line_no, sku, name, quantity, unit_price, gross, discount, rate, tax in zip(
            lines["line_no"].tolist(),
            lines["sku"].tolist(),
            lines["product_name"].tolist(),
            lines["quantity"].tolist(),
            lines["unit_price"].tolist(),
            from_minor(lines["inv_gross"].to_numpy()),
            from_minor(lines["inv_discount"].to_numpy()),
            lines["tax_rate"].tolist(),
            from_minor(lines["inv_tax"].to_numpy()),
            strict=True,
        )
    ]
    line_orders = lines["order_id"].to_numpy()
    order_ids = orders["order_id"].to_numpy()
    starts = np.searchsorted(line_orders, order_ids, side="left").tolist()
    stops = np.searchsorted(line_orders, order_ids, side="right").tolist()
    customers = orders["customer_id"].astype(object).where(orders["customer_id"].notna(), None).tolist()
    # ``SalesInvoice.check_totals`` for every invoice at once, in sen: Σ gross − Σ discount + Σ tax + service
    # charge + rounding = total (the Decimals are these sen exactly). An invoice that fails is checked again
    # as a document below, which raises with its figures.
    sums = lines.groupby("order_id")[["inv_gross", "inv_discount", "inv_tax"]].sum()
    per_order = sums.reindex(orders["order_id"].to_numpy(), fill_value=0)
    expected = (
        per_order["inv_gross"].to_numpy() - per_order["inv_discount"].to_numpy() + per_order["inv_tax"].to_numpy()
        + orders["service_charge"].to_numpy() + orders["rounding"].to_numpy()
    )
    reconciled = (expected == orders["total"].to_numpy()).tolist()

    invoices = []
    for (
        number,
        outlet,
        moment,
        customer,
        inclusive,
        service,
        rounding,
        total,
        shift,
        note,
        start,
        stop,
    ) in zip(
        orders["number"].tolist(),
        orders["outlet_code"].tolist(),
        orders["local_time"].tolist(),
        customers,
        orders["tax_inclusive"].tolist(),
        orders["service_charge_amount"].tolist(),
        orders["rounding_amount"].tolist(),
        orders["total_amount"].tolist(),
        _texts(orders["shift_number"]),
        _texts(orders["note"]),
        starts,
        stops,
        strict=True,
    ):
        invoice = SalesInvoice(
            key=number,
            outlet_code=outlet,
            business_time=moment,
            customer_key=None if customer is None else customer_key(customer),
            tax_inclusive=bool(inclusive),
            lines=tuple(built[start:stop]),
            service_charge=service,
            rounding=rounding,
            total=total,
            shift_number=shift,
            note=note,
        )
        if not reconciled[len(invoices)]:
            # The checks above guarantee the identity; if it fails, the arithmetic here is wrong, and that must
            # stop the run rather than post a wrong invoice or blame the POS.
            invoice.check_totals()
        invoices.append(invoice)
    return invoices


def _build_payments(
    payments: pd.DataFrame,
    orders: pd.DataFrame,
    rejected_orders: dict[Hashable, str],
    zones: dict[str, ZoneInfo],
    batch: SalesBatch,
) -> pd.DataFrame:
    """Payments of the orders onto ``batch`` (oldest first); return the sort keys of those added."""
    columns = ["order_id", "number", "status", "outlet_code", "outlet_timezone", "local_time"]
    joined = payments.merge(orders[columns], on="order_id", how="inner", validate="many_to_one")
    keys = ["paid_at", "number", "seq"]
    if joined.empty:
        return joined[keys]
    joined = joined.sort_values(keys, kind="stable")
    added: list[int] = []
    paid_at = _local(joined["paid_at"], joined["outlet_timezone"], zones).tolist()
    for position, order_id, number, seq, status, outlet, moment, paid, method, amount, reference in zip(
        range(len(joined)),
        joined["order_id"].tolist(),
        joined["number"].tolist(),
        joined["seq"].tolist(),
        joined["status"].tolist(),
        joined["outlet_code"].tolist(),
        joined["local_time"].tolist(),
        paid_at,
        joined["method"].tolist(),
        joined["amount"].tolist(),
        _texts(joined["reference"]),
        strict=True,
    ):
        key = f"{number}/P{seq}"
        # Rejections and skips are timed like their order, so they sort with it.
        if status == "voided":
            batch.skipped.append(
                Rejection("payment", key, f"invoice {number} was voided at the till", outlet, moment)
            )
        elif order_id in rejected_orders:
            reason = f"invoice {number} was rejected: {rejected_orders[order_id]}"
            batch.rejections.append(Rejection("payment", key, reason, outlet, moment))
        elif amount == 0:
            # A zero line on the receipt (a free order "paid" in cash): nothing to record in accounting.
            batch.skipped.append(
                Rejection("payment", key, "payment of Rp 0: nothing to record", outlet, moment)
            )
        else:
            batch.payments.append(
                Payment(key, number, outlet, paid, cast(PaymentMethod, method), amount, reference)
            )
            added.append(position)
    return joined[keys].iloc[added].reset_index(drop=True)


def _build_returns(
    refunds: pd.DataFrame,
    refund_lines: pd.DataFrame,
    rejected_orders: dict[Hashable, str],
    zones: dict[str, ZoneInfo],
    unknown_zones: set[str],
    batch: SalesBatch,
) -> None:
    if refunds.empty:
        return
    refunds = refunds.sort_values(["business_time", "number"], kind="stable").reset_index(drop=True)
    refunds["local_time"] = _local(refunds["business_time"], refunds["outlet_timezone"], zones)
    lines = refund_lines.loc[refund_lines["refund_id"].isin(refunds["refund_id"])]
    lines = lines.sort_values(["refund_id", "line_no", "refund_line_id"]).reset_index(drop=True)
    lines = lines.merge(
        refunds[["refund_id", "number", "order_id", "order_number", "tax_inclusive"]],
        on="refund_id",
        how="left",
        validate="many_to_one",
    )
    # Values that cannot be read (or are missing, or too large) fail their refund, and nothing that follows
    # from them is reported.
    reasons = _Reasons()
    _value_reasons(refunds, "refund_id", reasons, times=_time_words("refund"))
    _time_reasons(refunds, "refund", "refund_id", zones, reasons)
    refunds["total"] = _minor(refunds, "total_amount", MONEY_PLACES, "refunds.total_amount", "refund_id", reasons)
    _value_reasons(lines, "refund_id", reasons, _line_prefix)
    for column, name, places, source in (
        ("quantity", "qty", QUANTITY_PLACES, "refund_lines.quantity"),
        ("quantity_sold", "sold", QUANTITY_PLACES, "order_lines.quantity"),
        ("quantity_refunded_before", "before", QUANTITY_PLACES, "refund_lines.quantity (earlier refunds)"),
        ("amount", "amount_minor", MONEY_PLACES, "refund_lines.amount"),
        ("tax_amount", "tax_minor", MONEY_PLACES, "refund_lines.tax_amount"),
    ):
        lines[name] = _minor(lines, column, places, source, "refund_id", reasons, _line_prefix)
    unreadable = list(reasons.ids())
    readable, readable_lines = ~refunds["refund_id"].isin(unreadable), ~lines["refund_id"].isin(unreadable)
    # Refund amounts are priced like the order: tax-inclusive orders refund amount (tax inside it),
    # exclusive orders refund amount + tax.
    lines["net"] = np.where(
        lines["tax_inclusive"], lines["amount_minor"] - lines["tax_minor"], lines["amount_minor"]
    )
    lines["refunded"] = lines["net"] + lines["tax_minor"]

    refunds["lines_total"] = (
        refunds["refund_id"].map(lines.groupby("refund_id")["refunded"].sum()).fillna(0).astype("int64")
    )

    reasons.add_where(
        refunds["order_status"] == "voided",
        refunds,
        "refund_id",
        lambda row: f"refund {row.number} is for order {row.order_number}, which was voided at the till",
    )
    reasons.add_where(
        refunds["outlet_kind"] != "outlet",
        refunds,
        "refund_id",
        lambda row: f"outlet {row.outlet_code} is a {row.outlet_kind}, and refunds are only given at outlets",
    )
    reasons.add_where(
        refunds["outlet_timezone"].isin(list(unknown_zones)),
        refunds,
        "refund_id",
        lambda row: f"outlet {row.outlet_code} has an unknown timezone '{row.outlet_timezone}'",
    )
    reasons.add_where(
        ~refunds["refund_id"].isin(lines["refund_id"]),
        refunds,
        "refund_id",
        lambda row: "refund has no lines",
    )
    reasons.add_where(
        lines["line_order_id"] != lines["order_id"],
        lines,
        "refund_id",
        lambda row: (
            f"refund {row.number} returns a line ('{row.product_name}') of another order than "
            f"{row.order_number}"
        ),
    )
    reasons.add_where(
        _missing_text(lines["sku"]),
        lines,
        "refund_id",
        lambda row: f"product '{row.catalog_name}' has no SKU",
    )
    reasons.add_where(
        readable_lines & (lines["qty"] <= 0),
        lines,
        "refund_id",
        lambda row: (
            f"refund {row.number} returns {format_quantity(row.quantity)} {TIMES} '{row.product_name}', "
            "not a positive quantity"
        ),
    )
    over = readable_lines & (lines["qty"] > 0) & (lines["qty"] > lines["sold"] - lines["before"])
    reasons.add_where(over, lines, "refund_id", _over_refund_reason)
    reasons.add_where(
        readable_lines & ((lines["amount_minor"] < 0) | (lines["tax_minor"] < 0)),
        lines,
        "refund_id",
        lambda row: f"refund {row.number} line for '{row.product_name}' has a negative amount or tax",
    )
    reasons.add_where(
        readable & (refunds["total"] != refunds["lines_total"]) & refunds["refund_id"].isin(lines["refund_id"]),
        refunds,
        "refund_id",
        lambda row: (
            f"refund total {format_rupiah(row.total_amount)} does not match its lines "
            f"({format_rupiah(_money(row.lines_total))})"
        ),
    )
    if {"order_total_amount", "order_service_charge", "order_rounding", "amount_refunded_before"} <= set(refunds):
        # What remains refundable on the order in money: what it charged for goods (refund lines carry goods
        # only, never the service charge or the cash rounding) less what earlier refunds paid back.
        goods = (
            _minor(refunds, "order_total_amount", MONEY_PLACES, "orders.total_amount", "refund_id", reasons)
            - _minor(refunds, "order_service_charge", MONEY_PLACES, "orders.service_charge_amount", "refund_id",
                     reasons)
            - _minor(refunds, "order_rounding", MONEY_PLACES, "orders.rounding_amount", "refund_id", reasons)
        )
        before = _minor(refunds, "amount_refunded_before", MONEY_PLACES, "refunds.total_amount (earlier refunds)",
                        "refund_id", reasons)
        refunds["refundable_left"] = goods - before
        refunds["refundable_goods"] = goods
        refunds["refunded_before"] = before
        # A refund returning more than was sold says so; the amount is only news when the quantities fit.
        over_quantity = refunds["refund_id"].isin(lines.loc[over, "refund_id"])
        reasons.add_where(
            readable & ~over_quantity & (refunds["total"] > refunds["refundable_left"]),
            refunds,
            "refund_id",
            _over_refund_amount_reason,
        )
    reasons.add_where(
        refunds["order_id"].isin(list(rejected_orders)),
        refunds,
        "refund_id",
        lambda row: f"invoice {row.order_number} was rejected: {rejected_orders[row.order_id]}",
    )
    rejected = reasons.joined()

    bad = refunds.loc[refunds["refund_id"].isin(list(rejected))]
    for refund_id, number, outlet, moment in zip(
        bad["refund_id"], bad["number"], bad["outlet_code"], bad["local_time"], strict=True
    ):
        batch.rejections.append(Rejection("return", number, rejected[refund_id], outlet, moment))

    valid = refunds.loc[~refunds["refund_id"].isin(list(rejected))]
    if valid.empty:
        return
    lines = lines.loc[lines["refund_id"].isin(valid["refund_id"])]  # still sorted by refund, then line
    built = [
        ReturnLine(line_no, sku.strip(), name, quantity, price, net, tax)
        for line_no, sku, name, quantity, price, net, tax in zip(
            lines["line_no"].tolist(),
            lines["sku"].tolist(),
            lines["product_name"].tolist(),
            lines["quantity"].tolist(),
            lines["unit_price"].tolist(),
            from_minor(lines["net"].to_numpy()),
            from_minor(lines["tax_minor"].to_numpy()),
            strict=True,
        )
    ]
    line_refunds = lines["refund_id"].to_numpy()
    refund_ids = valid["refund_id"].to_numpy()
    starts = np.searchsorted(line_refunds, refund_ids, side="left").tolist()
    stops = np.searchsorted(line_refunds, refund_ids, side="right").tolist()
    for number, order_number, outlet, moment, inclusive, method, total, reason, start, stop in zip(
        valid["number"].tolist(),
        valid["order_number"].tolist(),
        valid["outlet_code"].tolist(),
        valid["local_time"].tolist(),
        valid["tax_inclusive"].tolist(),
        valid["method"].tolist(),
        valid["total_amount"].tolist(),
        _texts(valid["reason"]),
        starts,
        stops,
        strict=True,
    ):
        document = SalesReturn(
            key=number,
            invoice_key=order_number,
            outlet_code=outlet,
            business_time=moment,
            tax_inclusive=bool(inclusive),
            method=cast(PaymentMethod, method),
            lines=tuple(built[start:stop]),
            total=total,
            reason=reason,
        )
        # As for invoices: the checks above guarantee it, so a failure is a bug here.
        document.check_totals()
        batch.returns.append(document)


def _over_refund_amount_reason(row: Any) -> str:
    left = max(int(row.refundable_left), 0)
    reason = (
        f"refund {row.number} pays back {format_rupiah(row.total_amount)} but only {format_rupiah(_money(left))} "
        f"of order {row.order_number} remains refundable (it charged {format_rupiah(_money(row.refundable_goods))}"
        " for goods"
    )
    if row.refunded_before:
        reason += f", of which earlier refunds paid back {format_rupiah(_money(row.refunded_before))}"
    return reason + ")"


def _over_refund_reason(row: Any) -> str:
    sold = format_quantity(row.quantity_sold)
    verb = "was" if row.quantity_sold == 1 else "were"
    returned = f"{format_quantity(row.quantity)} {TIMES} '{row.product_name}'"
    reason = f"refund {row.number} returns {returned} but only {sold} {verb} sold"
    if row.quantity_refunded_before:
        reason += f" and {format_quantity(row.quantity_refunded_before)} already returned"
    return reason


# ---------------------------------------------------------------------------------- master data


def transform_customers(frame: pd.DataFrame) -> tuple[list[Customer], list[Rejection]]:
    """POS customers → ``Customer`` documents; a customer ID already used by an earlier customer is rejected.

    The first customer (lowest POS id) to use a code keeps it: it is the one the target already knows by
    that number, and the till's later duplicates are typing mistakes an operator must resolve. ``frame``
    is what ``extract_customers`` returns: its ``code_owner_*`` columns name each code's first user over
    the whole customer table, so a collision is found even when only the newcomer was extracted.
    """
    customers: list[Customer] = []
    rejections: list[Rejection] = []
    frame = frame.sort_values("customer_id")
    for row in frame.itertuples(index=False):
        key = customer_key(row.customer_id)
        unreadable = _optional(getattr(row, UNREADABLE, None))
        if unreadable:
            reason = "; ".join(str(value) for value in unreadable)
            rejections.append(Rejection(record_type="customer", key=key, reason=reason))
            continue
        code = _optional(row.customer_code)
        code = code.strip() or None if isinstance(code, str) else None
        owner = _optional(getattr(row, "code_owner_id", None))
        if code is not None and owner is not None and _id_text(owner) != _id_text(row.customer_id):
            reason = f"customer ID {code} is already used by customer '{row.code_owner_name}'"
            rejections.append(Rejection(record_type="customer", key=key, reason=reason))
            continue
        customers.append(
            Customer(
                key=key,
                name=row.name,
                customer_code=code,
                email=_optional(row.email),
                phone=_optional(row.phone),
            )
        )
    return customers, rejections


def transform_products(frame: pd.DataFrame) -> tuple[list[Item], list[Rejection]]:
    """POS products → ``Item`` documents keyed by SKU; a product without SKU is rejected."""
    items: list[Item] = []
    rejections: list[Rejection] = []
    for row in frame.sort_values("product_id").itertuples(index=False):
        sku = _optional(row.sku)
        sku = sku.strip() if isinstance(sku, str) else ""
        unreadable = _optional(getattr(row, UNREADABLE, None))
        missing = [name for name in ("price", "cost", "tax_rate") if _optional(getattr(row, name)) is None]
        if unreadable or missing:
            reasons = [str(value) for value in unreadable or ()]
            reasons += [f"products.{name} is empty (NULL)" for name in missing
                        if not any(str(value.column) == f"products.{name}" for value in unreadable or ())]
            rejections.append(Rejection(record_type="item", key=sku or f"PROD-{row.product_id}",
                                        reason="; ".join(reasons)))
            continue
        if not sku:
            rejections.append(
                Rejection(
                    record_type="item",
                    key=f"PROD-{row.product_id}",
                    reason=f"product '{row.name}' has no SKU",
                )
            )
            continue
        items.append(
            Item(
                key=sku,
                name=row.name,
                unit=row.unit,
                price=row.price,
                cost=row.cost,
                tax_rate=row.tax_rate,
                barcode=_optional(row.barcode),
                category=_optional(row.category),
                track_stock=bool(row.track_stock),
            )
        )
    return items, rejections
