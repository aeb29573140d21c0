"""Read a POS database through a source profile into exactly the frames the built-in extract makes.

``ProfileReader(engine, loaded)`` offers what ``possync.pos.extract`` does for the reference schema:
``extract_sales`` (``SalesFrames``), ``extract_sales_chunks`` (the same, a chunk of orders at a time),
``extract_stock`` (``StockFrames``), ``extract_customers``,
``extract_products``, and the catch-up plans of scheduled runs (``plan_catch_up``, ``plan_stock_catch_up``),
with the same arguments, so the pipeline takes either (``possync.pos.source``).

Each query's rows are coerced a column at a time into the canonical kind of the column
(``CANONICAL_COLUMNS``) by the built-in extract's own machinery (``assemble_frame``, ``_column``): a value
that cannot be coerced leaves its cell empty and becomes an ``Unreadable`` naming the canonical column
(``orders.total_amount = 'abc' is not an amount``), so the transform fails that record alone, with the
reason the reference schema's unreadable values get. A missing id (NULL) cannot be given to any record:
that, a failing query and a missing canonical column are ``ProfileError`` naming the profile file, the
entity and the column.

Ids may be integers or text. A text id that only joins frames becomes its ``text_id`` (a stable 64-bit
number: the same on every run and database); the ids that become ledger keys (``KEY_IDS``: customers'
``CUST-<id>``, products' ``PROD-<id>``) keep their text. Children's queries are bound the parents' own ids.

Selection: the queries of ``orders``, ``refunds``, ``transfers`` and ``adjustments`` are bound the window,
the commit-time range the run sweeps (the lookback's late records, a scheduled run's catch-up), the
outlets and the numbers retried; the reader then keeps exactly the rows the built-in extract would select
(the same rules, applied to the coerced frame), so a query that reads a little too much is harmless.
Children are read by their parents' ids (``:order_ids``, ... in chunks of ``CHUNK_IDS``; integer ids are
written into the SQL, text ids bound).

Not yet (see docs/source-profiles.md): windows on shift close (``sales.mode: shift_close``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, DateTime, String, bindparam, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from possync.pos.extract import (
    CANONICAL_COLUMNS,
    CHUNK_ORDERS,
    FUTURE_TOLERANCE,
    UNREADABLE,
    CanonicalColumn,
    CatchUp,
    CatchUpPlan,
    SalesFrames,
    StockFrames,
    Window,
    WindowOn,
    _check_sweep,
    _column,
    assemble_frame,
    paused_gc,
)
from possync.pos.profiles.model import PARENTS, LoadedProfile, parameters_of
from possync.pos.types import ExactDecimal

#: parent ids bound per child query (SQLite takes 32,766 parameters)
CHUNK_IDS = 10_000
_TICK = timedelta(microseconds=1)
#: the upper end of "committed any time since": a lookback sweep has no end in commit time
_NEVER = datetime(9999, 12, 31, tzinfo=UTC)
#: ``updated_since`` when everything is read
_EVER = datetime(1970, 1, 1, tzinfo=UTC)
_SORT: dict[str, list[str]] = {
    "outlets": ["code"],
    "orders": ["business_time", "number"],
    "order_lines": ["order_id", "line_no"],
    "payments": ["order_id", "seq"],
    "refunds": ["business_time", "number"],
    "refund_lines": ["refund_id", "line_no", "refund_line_id"],
    "customers": ["customer_id"],
    "products": ["product_id"],
    "transfers": ["transfer_id"],
    "transfer_lines": ["transfer_id", "line_no"],
    "adjustments": ["business_time", "adjustment_id"],
    "adjustment_lines": ["adjustment_id", "line_no"],
}
_TEXT_LISTS = ("outlet_codes", "retry_numbers", "order_numbers")
#: id columns whose values become ledger keys and reach the targets (``customer_key``: ``CUST-<id>``; a
#: product without SKU is refused as ``PROD-<id>``): a text id stays text there
KEY_IDS = frozenset({"customer_id", "code_owner_id", "product_id"})
#: nullable id columns (``nullable_int``) that may hold text ids like the ``id`` ones
ID_COLUMNS = frozenset({"shift_id", "customer_id", "code_owner_id", "from_outlet_id", "to_outlet_id"})
#: the parent ids whose text the children's queries are bound
_PARENT_IDS = frozenset((parent, column) for parent, _parameter, column in PARENTS.values())
#: what a query is given for a parameter only some calls set (``refunds``' ``:order_numbers``)
_DEFAULTS: dict[str, Any] = {"order_numbers": []}
_TRUE = {"1", "t", "true", "y", "yes"}
_FALSE = {"0", "f", "false", "n", "no"}


class ProfileReader:
    """The extracts of one POS database read through one source profile."""

    def __init__(self, engine: Engine, loaded: LoadedProfile) -> None:
        self.engine = engine
        self.loaded = loaded
        self.profile = loaded.profile
        self._zone = ZoneInfo(self.profile.naive_times)
        self._exact_as = self.profile.exact_values_for(engine.dialect.name)
        #: parent entity -> hashed id -> the text id it came from (bound to the children's query)
        self._texts: dict[str, dict[int, Any]] = {}

    def __repr__(self) -> str:
        return f"ProfileReader({self.profile.name!r} on {self.engine.dialect.name})"

    # ------------------------------------------------------------------------------------------ one entity

    def read(self, conn: Connection, entity: str, **params: Any) -> pd.DataFrame:
        """Run ``entity``'s query with the parameters it uses and coerce its rows into the canonical frame
        (sorted as the built-in extract sorts it)."""
        sql = self.profile.sql(entity)
        params = {**_DEFAULTS, **params}
        sql = _inline_integer_ids(sql, params)
        statement = text(sql)
        used = set(statement._bindparams)
        binds = [self._bind(name, params[name]) for name in used if name in params]
        missing = sorted(used - params.keys())
        if missing:  # the model allows only the entity's parameters; a child query asks for its parent's ids
            raise self.loaded.error(entity, f"parameter :{missing[0]} is not given to this query")
        try:
            with paused_gc():
                result = conn.execute(statement.bindparams(*binds), {name: params[name] for name in used})
                names = list(result.keys())
                # a textual query's values have no result processing: read them off the DBAPI cursor, as the
                # built-in extract does, without a SQLAlchemy Row per row
                cursor = result.cursor
                try:
                    rows = cursor.fetchall() if cursor is not None else []
                finally:
                    result.close()
        except (DBAPIError, SQLAlchemyError) as error:
            raise self.loaded.error(entity, f"the query failed: {_one_line(error)}") from None
        return self.frame(entity, names, rows)

    def frame(self, entity: str, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
        """The canonical frame of ``entity`` from a query's column names and rows."""
        columns = CANONICAL_COLUMNS[entity]
        lowered = {str(name).lower(): position for position, name in enumerate(names)}
        absent = [column.name for column in columns if column.name.lower() not in lowered]
        if absent:
            raise self.loaded.error(entity, f"the query returns no column {', '.join(absent)} (it returns "
                                            f"{', '.join(map(str, names)) or 'nothing'}; name each canonical "
                                            "column with AS)")
        positions = [lowered[column.name.lower()] for column in columns]
        with paused_gc():
            transposed = list(zip(*rows, strict=True)) if rows else [() for _ in names]
            data = [list(transposed[position]) for position in positions]
            del transposed
            frame = assemble_frame(
                data, [(column.name, column.source, column.expected) for column in columns],
                lambda position, values, bad: self._convert(entity, columns[position], values, bad),
            )
        if entity == "refund_lines":  # as the built-in extract adds it: after the columns it reads
            frame = frame[[*(c for c in frame.columns if c != "quantity_refunded_before"), "quantity_refunded_before"]]
        return _sorted(frame, _SORT[entity])

    def _convert(self, entity: str, column: CanonicalColumn, values: list[Any], bad: dict[int, Any]) -> Any:
        kind = column.kind
        if column.name in KEY_IDS:
            keys = self._keys(entity, column, values)
            if keys is not None:
                return keys
        if kind == "id" or column.name in ID_COLUMNS:
            return self._ids(entity, column, values)
        if kind == "int" and _only(values, int):
            return np.array(values, dtype=np.int64)
        if kind in ("int", "nullable_int"):
            converted = []
            for row, value in enumerate(values):
                number = _integer(value)
                if (number is None and value is not None) or (number is None and kind == "int"):
                    bad[row] = value
                converted.append(number if number is not None or kind == "nullable_int" else 0)
            return (np.array(converted, dtype=np.int64) if kind == "int"
                    else pd.array(converted, dtype="Int64"))
        if kind == "bool" and _only(values, bool):
            return np.array(values, dtype=bool)
        if kind == "bool" and _only(values, int):  # 0 / 1, as SQLite and MariaDB keep booleans
            numbers = np.array(values, dtype=np.int64)
            if ((numbers == 0) | (numbers == 1)).all():
                return numbers.astype(bool)
        if kind == "bool":
            flags = []
            for row, value in enumerate(values):
                flag = _flag(value)
                if flag is None:
                    bad[row] = value
                flags.append(bool(flag))
            return np.array(flags, dtype=bool)
        if kind == "str":
            texts = values if _only(values, str, type(None)) else [
                value if value is None or isinstance(value, str) else _text(value) for value in values]
            return _column(texts, None, "str", self.engine.dialect, bad)
        if kind == "time":
            aware = values if self._zone.key == "UTC" else [self._aware(value) for value in values]
            return _column(aware, None, "time", self.engine.dialect, bad)
        return self._exact(column, values, bad)

    def _ids(self, entity: str, column: CanonicalColumn, values: list[Any]) -> Any:
        """An id column: integers as they are; text ids as their ``text_id`` (a stable 64-bit number). The
        text of each parent id is kept so the children's query is bound the POS's own ids."""
        nullable = column.kind == "nullable_int"
        if (entity, column.name) in _PARENT_IDS:
            self._texts[entity] = {}
        if not nullable and _only(values, int):
            return np.array(values, dtype=np.int64)
        if nullable and _only(values, int, type(None)):
            return pd.array(values, dtype="Int64")
        # once per distinct value (a window's outlets, tills and shifts repeat), spread back by position
        codes, distinct = pd.factorize(np.array(values, dtype=object))
        numbers: list[int | None] = []
        texts: dict[int, Any] = {}
        for value in distinct.tolist():
            number = _integer(value)
            if number is None and not (isinstance(value, str) and not value.strip()):
                number = text_id(value)
                seen = texts.setdefault(number, value)
                if seen != value:
                    raise self.loaded.error(entity, f"column {column.name}: the text ids {seen!r} and {value!r} "
                                                    "hash to the same number; give one of them another id")
            elif number is None and not nullable:
                raise self.loaded.error(entity, f"column {column.name}: {value!r} is not an id (every {entity} "
                                                "row needs one: an integer or a text)")
            numbers.append(number)
        if not nullable and (codes < 0).any():
            raise self.loaded.error(entity, f"column {column.name}: None is not an id (every {entity} row needs "
                                            "one: an integer or a text)")
        if (entity, column.name) in _PARENT_IDS:
            self._texts[entity] = texts
        spread = np.array([*numbers, None], dtype=object)[codes]  # code -1 (NULL) takes the last slot
        if nullable:
            return pd.array(spread.tolist(), dtype="Int64")
        return spread.astype(np.int64)

    def _keys(self, entity: str, column: CanonicalColumn, values: list[Any]) -> Any:
        """A column whose ids become ledger keys (``CUST-<id>``, ``PROD-<id>``): ``None`` when every value is
        an integer (read as any id); otherwise the ids as text (an integer as its digits), so a text key
        keeps its own name in the key (``CUST-M000017``), the same on every run."""
        if _only(values, int, type(None)):
            return None
        codes, distinct = pd.factorize(np.array(values, dtype=object))
        if all(_integer(value) is not None for value in distinct.tolist()):
            return None
        if column.kind == "id" and (codes < 0).any():
            raise self.loaded.error(entity, f"column {column.name}: None is not an id (every {entity} row needs "
                                            "one: an integer or a text)")
        keys: list[str | None] = []
        for value in distinct.tolist():
            number = _integer(value)
            key = str(number) if number is not None else _text(value).strip()
            if not key and column.kind == "id":
                raise self.loaded.error(entity, f"column {column.name}: {value!r} is not an id (every {entity} "
                                                "row needs one: an integer or a text)")
            keys.append(key or None)
        return np.array([*keys, None], dtype=object)[codes]  # code -1 (NULL) takes the last slot

    def _parent_values(self, entity: str, ids: Sequence[Any]) -> list[Any]:
        """The POS's own ids of parent rows (``ids`` from the frame): a text id for a hashed one."""
        texts = self._texts.get(entity, {})
        return [texts.get(int(number), int(number)) for number in ids]

    def _aware(self, value: Any) -> Any:
        """A stored time with the profile's zone where it has none (the built-in reads naive as UTC)."""
        if self._zone.key == "UTC" or value is None:
            return value
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                return value  # not a time: named as unreadable
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=self._zone)
        return value

    def _exact(self, column: CanonicalColumn, values: list[Any], bad: dict[int, Any]) -> Any:
        """Exact values by the built-in extract's conversion: ``minor_units`` as the reference schema keeps
        them on SQLite (integers only), ``decimal`` as on PostgreSQL (after text and binary floats become
        their shortest ``Decimal``); a value with more places than the column keeps is not exact."""
        places = column.places if column.places is not None else 2
        typed = SimpleNamespace(type=ExactDecimal(places))
        if self._exact_as == "minor_units":
            # bool is an int: True in a money column is no amount
            plain = values if _only(values, int, type(None)) else [
                value if type(value) is not bool else str(value) for value in values]
            return _column(plain, typed, "exact", SimpleNamespace(name="sqlite"), bad)
        quantum = Decimal(1).scaleb(-places)

        def exact_of(value: Any) -> Decimal | None:
            exact = _decimal(value)
            if exact is None or not exact.is_finite() or exact.quantize(quantum) != exact:
                return None
            return exact

        if bool in set(map(type, values)):  # True equals 1 to factorize: each value on its own
            prepared: list[Any] = []
            for row, value in enumerate(values):
                exact = None if value is None else exact_of(value)
                if exact is None and value is not None:
                    bad[row] = value
                prepared.append(exact)
        else:  # once per distinct value (prices, rates and quantities repeat all through a window)
            codes, distinct = pd.factorize(np.array(values, dtype=object))
            converted = np.empty(len(distinct) + 1, dtype=object)  # the last slot, None, is where -1 points
            failed = []
            for index, value in enumerate(distinct.tolist()):
                converted[index] = exact_of(value)
                if converted[index] is None:
                    failed.append(index)
            rows = np.flatnonzero(np.isin(codes, failed)).tolist() if failed else []
            missing = np.flatnonzero(codes < 0).tolist()
            rows += [row for row in missing if values[row] is not None]  # NaN: no amount
            bad.update((row, values[row]) for row in rows)
            prepared = converted[codes].tolist()
        return _column(prepared, typed, "exact", SimpleNamespace(name="decimal"), {})

    def _bind(self, name: str, value: Any) -> Any:
        if isinstance(value, datetime):
            if self.engine.dialect.name == "postgresql":
                return bindparam(name, type_=DateTime(timezone=True))
            return bindparam(name, type_=DateTime())
        if isinstance(value, list | tuple):  # typed, so an empty list renders as an empty set of that type
            text_ids = name not in _TEXT_LISTS and any(isinstance(item, str) for item in value)
            return bindparam(name, expanding=True,
                             type_=String() if name in _TEXT_LISTS or text_ids else BigInteger())
        return bindparam(name)

    def _time(self, moment: datetime) -> datetime:
        """A time as the query is given it: aware on PostgreSQL, naive in the profile's zone elsewhere."""
        moment = moment.astimezone(UTC)
        if self.engine.dialect.name == "postgresql":
            return moment
        return moment.astimezone(self._zone).replace(tzinfo=None)

    def _children(self, conn: Connection, entity: str, ids: Sequence[int]) -> pd.DataFrame:
        parent, parameter, _column_name = PARENTS[entity]
        # ascending, so each query's rows (in the order of the children's index, as a database returns them)
        # follow the previous query's and the frame needs no sort (the children frames are sorted by it)
        ids = self._parent_values(parent, sorted(ids))
        chunks = [self.read(conn, entity, **{parameter: list(ids[start:start + CHUNK_IDS])})
                  for start in range(0, len(ids), CHUNK_IDS)] or [self.read(conn, entity, **{parameter: []})]
        if len(chunks) == 1:
            return chunks[0]
        return _sorted(pd.concat(chunks, ignore_index=True), _SORT[entity])

    def _selection_params(self, codes: list[str], window_start: datetime, window_end: datetime,
                          committed: tuple[datetime, datetime], retry: Iterable[str]) -> dict[str, Any]:
        return {"window_start": self._time(window_start), "window_end": self._time(window_end),
                "committed_after": self._time(committed[0]), "committed_until": self._time(committed[1]),
                "outlet_codes": codes, "retry_numbers": sorted(set(retry))}

    def _codes(self, conn: Connection, outlet_codes: Iterable[str] | None) -> list[str]:
        if outlet_codes is not None:
            return sorted(set(outlet_codes))
        return sorted(self.read(conn, "outlets")["code"].dropna().tolist())

    # ------------------------------------------------------------------------------------------- extracts

    def extract_sales(
        self,
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
        """``possync.pos.extract.extract_sales`` through the profile (business-time windows only)."""
        _check_sweep(lookback, committed_since)
        if window_on != "business_time":
            raise self.loaded.error("orders", f"windows on {window_on} are not supported by source profiles yet "
                                              "(sales.mode shift_close); use scheduled or realtime")
        self._require("orders", "order_lines", "payments", "refunds", "refund_lines")
        committed = _commit_range(window, lookback, committed_since, catch_up)
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            codes = self._codes(conn, outlet_codes)
            orders = self.read(conn, "orders", **self._selection_params(
                codes, window.start, window.end, committed, retry_order_numbers))
            refunds = self.read(conn, "refunds", **self._selection_params(
                codes, window.start, window.end, committed, retry_refund_numbers))
            orders = _keep(orders, _sales_selection(orders, window, codes, lookback, committed_since, catch_up,
                                                     retry_order_numbers))
            refunds = _keep(refunds, _sales_selection(refunds, window, codes, lookback, committed_since, catch_up,
                                                       retry_refund_numbers))
            order_ids = orders["order_id"].tolist()
            refund_ids = refunds["refund_id"].tolist()
            return SalesFrames(
                orders=orders,
                lines=self._children(conn, "order_lines", order_ids),
                payments=self._children(conn, "payments", order_ids),
                refunds=refunds,
                refund_lines=self._children(conn, "refund_lines", refund_ids),
            )

    def extract_sales_chunks(
        self,
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
        """``possync.pos.extract.extract_sales_chunks`` through the profile: the window's orders oldest first
        (business time, then number), ``chunk_orders`` at a time, each chunk with its lines and payments (read
        by its order ids); the first chunk also holds every refund of the window with its lines. Together the
        chunks hold what ``extract_sales`` reads, and ``transform_sales_chunks`` makes the same documents of
        them. The orders query runs once (its frame is held: a profile's query cannot be asked for ids
        alone); the lines and payments, most of a window, are read and held a chunk at a time. One
        connection (one snapshot on PostgreSQL) until the iterator is done."""
        if chunk_orders < 1:
            raise ValueError(f"chunk_orders must be at least 1, got {chunk_orders}")
        _check_sweep(lookback, committed_since)
        if window_on != "business_time":
            raise self.loaded.error("orders", f"windows on {window_on} are not supported by source profiles yet "
                                              "(sales.mode shift_close); use scheduled or realtime")
        self._require("orders", "order_lines", "payments", "refunds", "refund_lines")
        committed = _commit_range(window, lookback, committed_since, catch_up)
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            codes = self._codes(conn, outlet_codes)
            orders = self.read(conn, "orders", **self._selection_params(
                codes, window.start, window.end, committed, retry_order_numbers))
            order_texts = self._texts.get("orders", {})
            refunds = self.read(conn, "refunds", **self._selection_params(
                codes, window.start, window.end, committed, retry_refund_numbers))
            orders = _keep(orders, _sales_selection(orders, window, codes, lookback, committed_since, catch_up,
                                                     retry_order_numbers))
            refunds = _keep(refunds, _sales_selection(refunds, window, codes, lookback, committed_since, catch_up,
                                                       retry_refund_numbers))
            refund_lines = self._children(conn, "refund_lines", refunds["refund_id"].tolist())
            no_refunds, no_refund_lines = refunds.iloc[0:0], refund_lines.iloc[0:0]
            for start in range(0, max(len(orders), 1), chunk_orders):
                chunk = orders.iloc[start:start + chunk_orders].reset_index(drop=True)
                ids = chunk["order_id"].tolist()
                self._texts["orders"] = order_texts
                yield SalesFrames(
                    orders=chunk,
                    lines=self._children(conn, "order_lines", ids),
                    payments=self._children(conn, "payments", ids),
                    refunds=refunds if start == 0 else no_refunds,
                    refund_lines=refund_lines if start == 0 else no_refund_lines,
                )

    def extract_stock(
        self,
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
        """``possync.pos.extract.extract_stock`` through the profile."""
        _check_sweep(lookback, None)
        committed = _commit_range(window, lookback, None, catch_up)
        with self.engine.connect() as conn:
            codes = self._codes(conn, outlet_codes)
            transfers, transfer_lines = _empty("transfers"), _empty("transfer_lines")
            adjustments, adjustment_lines = _empty("adjustments"), _empty("adjustment_lines")
            if include_transfers:
                self._require("transfers", "transfer_lines")
                transfers = self.read(conn, "transfers", **self._selection_params(
                    codes, window.start, window.end, committed, retry_transfer_numbers))
                transfers = _keep(transfers, _transfer_selection(transfers, window, codes, lookback, catch_up,
                                                                 retry_transfer_numbers))
                transfer_lines = self._children(conn, "transfer_lines", transfers["transfer_id"].tolist())
            if include_adjustments:
                self._require("adjustments", "adjustment_lines")
                adjustments = self.read(conn, "adjustments", **self._selection_params(
                    codes, window.start, window.end, committed, retry_adjustment_numbers))
                adjustments = _keep(adjustments, _sales_selection(adjustments, window, codes, lookback, None,
                                                                  catch_up, retry_adjustment_numbers))
                adjustment_lines = self._children(conn, "adjustment_lines", adjustments["adjustment_id"].tolist())
        return StockFrames(transfers=transfers, transfer_lines=transfer_lines, adjustments=adjustments,
                           adjustment_lines=adjustment_lines)

    def extract_customers(self, updated_since: datetime | None = None) -> pd.DataFrame:
        """Customers (all, or those updated at or after ``updated_since``)."""
        self._require("customers")
        with self.engine.connect() as conn:
            frame = self.read(conn, "customers", updated_since=self._time(updated_since or _EVER))
        return frame if updated_since is None else _keep(frame, (frame["updated_at"] >= updated_since).to_numpy())

    def extract_products(self, updated_since: datetime | None = None) -> pd.DataFrame:
        """Products (all, or those updated at or after ``updated_since``)."""
        self._require("products")
        with self.engine.connect() as conn:
            frame = self.read(conn, "products", updated_since=self._time(updated_since or _EVER))
        return frame if updated_since is None else _keep(frame, (frame["updated_at"] >= updated_since).to_numpy())

    # ------------------------------------------------------------------------------------------- catch-up

    def plan_catch_up(
        self,
        outlet_code: str,
        *,
        after: datetime,
        until: datetime,
        due_before: datetime,
        window_on: WindowOn = "business_time",
        limit: int | None = None,
        hold_since: datetime | None = None,
    ) -> CatchUpPlan:
        """``possync.pos.extract.plan_catch_up`` through the profile: the orders and refunds queries are
        run over the commit range ``(after, until]`` and the plan is worked out from their frames."""
        after, until = after.astimezone(UTC), until.astimezone(UTC)
        if until <= after:
            return CatchUpPlan(CatchUp(after, after), after, 0, 0, 0)
        if window_on != "business_time":
            raise self.loaded.error("orders", "windows on shift close are not supported by source profiles yet")
        self._require("orders", "refunds")
        with self.engine.connect() as conn:
            params = self._selection_params([outlet_code], due_before, until + _TICK, (after, until), ())
            frames = [self.read(conn, entity, **params) for entity in ("orders", "refunds")]
        committed = pd.concat([frame["committed_at"] for frame in frames], ignore_index=True)
        business = pd.concat([frame["business_time"] for frame in frames], ignore_index=True)
        in_range = ((committed > after) & (committed <= until)).to_numpy()
        due = in_range & (business < due_before).to_numpy()
        held = in_range & ~due & (business <= until).to_numpy()
        if hold_since is not None:
            held &= (committed >= hold_since).to_numpy()
        due_times = np.sort(committed[due].to_numpy())
        capped_until = until
        if limit is not None and len(due_times) > limit:
            boundary = pd.Timestamp(due_times[limit]).to_pydatetime()
            capped_until = boundary - _TICK if boundary - _TICK > after else boundary
        within = (committed <= capped_until).to_numpy()
        return _plan(after, capped_until, int((due & within).sum()), int((due & ~within).sum()),
                     committed[held & within])

    def plan_stock_catch_up(
        self,
        outlet_codes: Iterable[str],
        *,
        transfers_flow: bool,
        after: datetime,
        until: datetime,
        due_before: datetime,
    ) -> CatchUpPlan:
        """``possync.pos.extract.plan_stock_catch_up`` through the profile."""
        after, until = after.astimezone(UTC), until.astimezone(UTC)
        if until <= after:
            return CatchUpPlan(CatchUp(after, after), after, 0, 0, 0)
        codes = sorted(set(outlet_codes))
        entity = "transfers" if transfers_flow else "adjustments"
        self._require(entity)
        with self.engine.connect() as conn:
            frame = self.read(conn, entity, **self._selection_params(codes, due_before, until + _TICK,
                                                                     (after, until), ()))
        if transfers_flow:
            sides = [(frame["sent_at"], frame["from_code"]), (frame["received_at"], frame["to_code"])]
            live = (frame["status"] != "cancelled").to_numpy()
        else:
            sides = [(frame["business_time"], frame["outlet_code"])]
            live = np.ones(len(frame), dtype=bool)
        committed = frame["committed_at"]
        in_range = live & ((committed > after) & (committed <= until)).to_numpy()
        due = np.zeros(len(frame), dtype=bool)
        later = np.zeros(len(frame), dtype=bool)
        not_due = np.ones(len(frame), dtype=bool)  # as SQL's NOT: a side with no time is not "not due"
        for time, code in sides:
            here = code.isin(codes).to_numpy()
            due |= (time < due_before).to_numpy() & here
            later |= ((time >= due_before) & (time <= until)).to_numpy() & here
            not_due &= (time.notna() & (time >= due_before)).to_numpy() | (code.notna() & ~code.isin(codes)).to_numpy()
        return _plan(after, until, int((in_range & due).sum()), 0, committed[in_range & later & not_due])

    def refunds_of_orders(self, order_numbers: Iterable[str]) -> dict[str, list[str]]:
        """Order number → the numbers of its refunds (``changes_after_sync``), by the refunds query's
        ``:order_numbers`` (the orders whose refunds it also returns, whatever their time)."""
        self._require("refunds")
        if "order_numbers" not in parameters_of(self.profile.sql("refunds")):
            raise self.loaded.error("refunds", "finding the refunds of an order changed after sync "
                                               "(changes_after_sync) needs the query to also return the refunds of "
                                               "the orders in :order_numbers (OR order_number IN :order_numbers)")
        wanted = sorted(set(order_numbers))
        found: dict[str, list[str]] = {}
        nowhere = (_EVER, _EVER)
        with self.engine.connect() as conn:
            codes = self._codes(conn, None)
            for start in range(0, len(wanted), CHUNK_IDS):
                chunk = wanted[start:start + CHUNK_IDS]
                frame = self.read(conn, "refunds", order_numbers=chunk,
                                  **self._selection_params(codes, *nowhere, nowhere, ()))
                frame = frame.loc[frame["order_number"].isin(chunk)].sort_values("number")
                for order, refund in zip(frame["order_number"], frame["number"], strict=True):
                    found.setdefault(order, []).append(refund)
        return found

    def unmapped_outlets(self, mapped: Iterable[str]) -> list[str] | None:
        """Not known through a profile yet (which outlets have sales would take a query of its own)."""
        return None

    def _require(self, *entities: str) -> None:
        missing = [entity for entity in entities if getattr(self.profile, entity) is None]
        if missing:
            raise self.loaded.error(missing[0], f"the profile has no {', '.join(missing)}: this sync needs "
                                                f"{'them' if len(missing) > 1 else 'it'}")


# ----------------------------------------------------------------------------------------------- helpers


def _plan(after: datetime, until: datetime, due: int, left: int, held: pd.Series) -> CatchUpPlan:
    advance_to = until
    if len(held):
        earliest = held.min().to_pydatetime()
        advance_to = max(after, min(until, earliest - _TICK))
    return CatchUpPlan(CatchUp(after, until), advance_to, due, left, len(held))


def _commit_range(window: Window, lookback: timedelta | None, committed_since: datetime | None,
                  catch_up: CatchUp | None) -> tuple[datetime, datetime]:
    """The commit times ``(after, until]`` a query must also read: the lookback's late records (committed
    since ``committed_since`` or the window start) and a catch-up's range; empty when neither applies."""
    ranges = []
    if lookback is not None:
        ranges.append(((committed_since or window.start).astimezone(UTC) - _TICK, _NEVER))
    if catch_up is not None and catch_up.until > catch_up.after:
        ranges.append((catch_up.after, catch_up.until))
    if not ranges:
        return window.start, window.start
    return min(low for low, _ in ranges), max(high for _, high in ranges)


def _sales_selection(frame: pd.DataFrame, window: Window, codes: list[str], lookback: timedelta | None,
                     committed_since: datetime | None, catch_up: CatchUp | None,
                     retry: Iterable[str]) -> np.ndarray:
    """The rows the built-in extract selects (``_selection``, ``_caught_up``, retries, ``_unplaceable``)."""
    time, committed = frame["business_time"], frame["committed_at"]
    since = (committed_since or window.start).astimezone(UTC)
    keep = ((time >= window.start) & (time < window.end)).to_numpy().copy()
    if lookback is not None:
        keep |= ((time >= window.start - lookback) & (time < window.start) & (committed >= since)).to_numpy()
    if catch_up is not None and catch_up.until > catch_up.after:
        keep |= ((committed > catch_up.after) & (committed <= catch_up.until) & (time < window.end)).to_numpy()
    keep |= frame["number"].isin(sorted(set(retry))).to_numpy()
    # no window would read it: no business time, one that is no time, or a wrong clock far ahead
    keep |= (((committed >= since) & (committed < window.end)).to_numpy()
             & (time.isna() | (time >= window.end + FUTURE_TOLERANCE)).to_numpy())
    return keep & frame["outlet_code"].isin(codes).to_numpy()


def _transfer_selection(frame: pd.DataFrame, window: Window, codes: list[str], lookback: timedelta | None,
                        catch_up: CatchUp | None, retry: Iterable[str]) -> np.ndarray:
    """The transfers the built-in ``extract_stock`` selects: sent or received in the window (or late, or
    caught up) at the outlets, a side whose time is unreadable and committed in the window, retries."""
    committed = frame["committed_at"]
    keep = np.zeros(len(frame), dtype=bool)
    in_window_commit = ((committed >= window.start) & (committed < window.end)).to_numpy()
    for column, code_column, source in (("sent_at", "from_code", "transfers.sent_at"),
                                        ("received_at", "to_code", "transfers.received_at")):
        time, here = frame[column], frame[code_column].isin(codes).to_numpy()
        moved = ((time >= window.start) & (time < window.end)).to_numpy().copy()
        if lookback is not None:
            moved |= ((time >= window.start - lookback) & (time < window.start)
                      & (committed >= window.start)).to_numpy()
        if catch_up is not None and catch_up.until > catch_up.after:
            moved |= ((committed > catch_up.after) & (committed <= catch_up.until) & (time < window.end)).to_numpy()
        unreadable = np.array([any(value.column == source for value in values or ())
                               for values in frame[UNREADABLE]], dtype=bool)
        keep |= (moved | (unreadable & in_window_commit)) & here
    at_outlets = frame["from_code"].isin(codes).to_numpy() | frame["to_code"].isin(codes).to_numpy()
    keep |= frame["number"].isin(sorted(set(retry))).to_numpy() & at_outlets
    return keep & (frame["status"] != "cancelled").to_numpy()


def _keep(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    return frame.loc[mask].reset_index(drop=True)


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    if len(frame) < 2 or _in_order(frame, by):
        return frame
    return frame.sort_values(by, kind="stable", na_position="first").reset_index(drop=True)


def _in_order(frame: pd.DataFrame, by: list[str]) -> bool:
    """Whether the rows are already sorted by ``by`` (as a query ordered by its index returns them): then a
    stable sort would change nothing. A column with an empty value or values that do not compare: no."""
    before_equal = np.ones(len(frame) - 1, dtype=bool)
    ordered = np.zeros(len(frame) - 1, dtype=bool)
    for name in by:
        column = frame[name]
        if column.isna().any():
            return False
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            values = column.dt.tz_convert(None).to_numpy()
        elif isinstance(column.dtype, pd.Int64Dtype):
            values = column.to_numpy(dtype=np.int64)
        else:
            values = column.to_numpy()
        try:
            lower = values[:-1] < values[1:]
            same = values[:-1] == values[1:]
        except TypeError:
            return False
        ordered |= before_equal & np.asarray(lower, dtype=bool)
        before_equal &= np.asarray(same, dtype=bool)
    return bool((ordered | before_equal).all())


def _inline_integer_ids(sql: str, params: dict[str, Any]) -> str:
    """``sql`` with each non-empty list of integer ids written into it (``IN (17,18,...)``) instead of bound:
    SQLAlchemy expands a bound list one parameter at a time, which cost a profile read of a million order
    lines seconds; integers are safe to write as they are. Text lists stay bound."""
    inline = {name: value for name, value in params.items()
              if name not in _TEXT_LISTS and isinstance(value, list | tuple) and value and _only(list(value), int)}
    if not inline:
        return sql
    pattern = re.compile(rf"(?<![:\w]):({'|'.join(map(re.escape, inline))})\b")
    return pattern.sub(lambda match: "(" + ",".join(map(str, inline[match.group(1)])) + ")", sql)


def _empty(entity: str) -> pd.DataFrame:
    """An entity's frame with no rows, typed as a read one is."""
    columns = CANONICAL_COLUMNS[entity]
    dialect = SimpleNamespace(name="decimal")
    return assemble_frame(
        [[] for _ in columns], [(c.name, c.source, c.expected) for c in columns],
        lambda position, values, bad: (
            _column(values, SimpleNamespace(type=ExactDecimal(columns[position].places or 2)), "exact", dialect, bad)
            if columns[position].kind == "exact" else _column(values, None, columns[position].kind, dialect, bad)),
    )


def _only(values: list[Any], *types: type) -> bool:
    """Every value is of exactly one of ``types`` (``bool`` is no ``int`` here): the column needs no coercion."""
    return set(map(type, values)) <= set(types)


def text_id(value: Any) -> int:
    """The frame id of a text id: the first 62 bits of its BLAKE2b digest, plus 2**62 (never a small integer
    id). The same text gives the same number on every run, database and machine, so a record keeps its id
    from one read to the next; two texts of one read that share a number stop the read (odds about 1 in
    2**62 per pair)."""
    digest = hashlib.blake2b(_text(value).encode("utf-8"), digest_size=8).digest()
    return (1 << 62) | (int.from_bytes(digest, "big") >> 2)


def _integer(value: Any) -> int | None:
    """An integer from what a driver returns for one: int, an integral Decimal, text of digits."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() and value == value.to_integral_value() else None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else None
    return None


def _decimal(value: Any) -> Decimal | None:
    """A ``Decimal`` from what a driver returns for a number (a binary float by its shortest text)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _one_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    return " ".join(str(original).split()) or type(original).__name__
