"""``possync source check``: run every query of a profile against a POS over a window and say what came back.

Per entity: the rows read, every value that could not be coerced (column, value, the row's key, what it
should be), and a few of the documents the transform makes of them, so a data engineer can see a profile
work (or not) in one run. A query that fails or lacks a canonical column, or an id that is no id, is a
problem of its entity; the check goes on with the others (a child is read with no parent ids then, which
still runs its SQL and checks its columns).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from possync.pos.extract import CANONICAL_COLUMNS, UNREADABLE, Window
from possync.pos.profiles.model import PARENTS, LoadedProfile, ProfileError
from possync.pos.profiles.reader import _EVER, ProfileReader

#: examples of type problems shown per entity and column
EXAMPLES = 3
#: documents shown per kind
SHOWN = 3
#: the column that names a row of each entity in a report (its number where it has one)
_ROW_KEY = {"outlets": "code", "orders": "number", "refunds": "number", "transfers": "number",
            "adjustments": "number", "products": "product_id", "customers": "customer_id"}


@dataclass
class TypeProblem:
    """Values of one column that could not be coerced: how many, and the first few."""

    column: str
    expected: str
    count: int = 0
    examples: list[tuple[Any, str]] = field(default_factory=list)  # (value as stored, the row's key)

    def line(self, entity: str) -> str:
        shown = ", ".join(f"{value!r} ({key})" for value, key in self.examples)
        more = f" and {self.count - len(self.examples)} more" if self.count > len(self.examples) else ""
        return f"{entity}.{self.column}: {self.count} value(s) not {self.expected}: {shown}{more}"


@dataclass
class EntityCheck:
    entity: str
    rows: int = 0
    error: str | None = None
    problems: list[TypeProblem] = field(default_factory=list)


@dataclass
class CheckReport:
    """What ``check_profile`` found; ``problems()`` is one line per problem (empty: the profile reads)."""

    loaded: LoadedProfile
    dialect: str
    window: Window
    entities: list[EntityCheck] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # problems outside one entity (the transform, ...)

    def problems(self) -> list[str]:
        lines = [f"{self.loaded.path}: {e.entity}: {e.error}" if not e.error.startswith(str(self.loaded.path))
                 else e.error for e in self.entities if e.error]
        lines += [f"{self.loaded.path}: {problem.line(e.entity)}" for e in self.entities for problem in e.problems]
        return lines + self.errors

    def lines(self) -> list[str]:
        out = [f"profile {self.loaded.profile.name} ({self.loaded.path}) on {self.dialect}, window {self.window}"]
        for check in self.entities:
            status = "FAILED" if check.error else (f"{sum(p.count for p in check.problems)} value(s) not coerced"
                                                  if check.problems else "ok")
            out.append(f"  {check.entity:<17} {check.rows:>8} row(s)  {status}")
            if check.error:
                out.append(f"      {check.error}")
            out.extend(f"      {problem.line(check.entity)}" for problem in check.problems)
        if self.documents:
            out.append("documents the transform makes of them:")
            out.extend(f"  {line}" for line in self.documents)
        return out


def check_profile(engine: Engine, loaded: LoadedProfile, window: Window,
                  outlet_codes: Iterable[str] | None = None) -> CheckReport:
    """Run every query of ``loaded`` against ``engine`` over ``window`` (all outlets, or ``outlet_codes``)."""
    reader = ProfileReader(engine, loaded)
    report = CheckReport(loaded, engine.dialect.name, window)
    frames: dict[str, pd.DataFrame] = {}
    with engine.connect() as conn:
        codes: list[str] | None = sorted(set(outlet_codes)) if outlet_codes is not None else None
        for entity in loaded.profile.entities():
            check = EntityCheck(entity)
            report.entities.append(check)
            try:
                if entity == "outlets":
                    params: dict[str, Any] = {}
                elif entity in PARENTS:
                    parent, parameter, _column = PARENTS[entity]
                    id_column = CANONICAL_COLUMNS[parent][0].name
                    parent_frame = frames.get(parent)
                    params = {parameter: [] if parent_frame is None
                              else reader._parent_values(parent, parent_frame[id_column].tolist())}
                elif entity in ("customers", "products"):
                    params = {"updated_since": reader._time(_EVER)}
                else:
                    if codes is None:
                        codes = sorted(frames["outlets"]["code"].dropna()) if "outlets" in frames else []
                    params = reader._selection_params(codes, window.start, window.end,
                                                      (window.start, window.start), ())
                frame = reader.read(conn, entity, **params)
            except ProfileError as error:
                check.error = str(error)
                continue
            if entity in ("orders", "refunds", "transfers", "adjustments"):
                frame = _in_window(entity, frame, window, codes or [])
            frames[entity] = frame
            check.rows = len(frame)
            check.problems = _type_problems(entity, frame)
    report.documents = _documents(reader, window, outlet_codes, report)
    return report


def _in_window(entity: str, frame: pd.DataFrame, window: Window, codes: list[str]) -> pd.DataFrame:
    """The rows the sync would read for the window (the query may read a little more)."""
    from possync.pos.profiles.reader import _keep, _sales_selection, _transfer_selection

    if entity == "transfers":
        return _keep(frame, _transfer_selection(frame, window, codes, None, None, ()))
    return _keep(frame, _sales_selection(frame, window, codes, None, None, None, ()))


def _type_problems(entity: str, frame: pd.DataFrame) -> list[TypeProblem]:
    names = {column.source: column.name for column in CANONICAL_COLUMNS[entity]}
    key_column = _ROW_KEY.get(entity, CANONICAL_COLUMNS[entity][0].name)
    found: dict[str, TypeProblem] = {}
    for key, values in zip(frame[key_column].tolist(), frame[UNREADABLE].tolist(), strict=True):
        for value in values or ():
            column = names.get(value.column, value.column)
            problem = found.setdefault(column, TypeProblem(column, value.expected))
            problem.count += 1
            if len(problem.examples) < EXAMPLES:
                problem.examples.append((value.value, f"{key_column} {key}"))
    return list(found.values())


def _documents(reader: ProfileReader, window: Window, outlet_codes: Iterable[str] | None,
               report: CheckReport) -> list[str]:
    """The first few documents (and refusals) the transform makes of the window, by kind."""
    from possync.money import rupiah
    from possync.transform.sales import transform_customers, transform_products, transform_sales
    from possync.transform.stock import transform_stock

    if any(check.error for check in report.entities):
        return []
    lines: list[str] = []
    given = set(reader.profile.entities())
    try:
        if {"orders", "refunds"} <= given:
            batch = transform_sales(reader.extract_sales(window, outlet_codes))
            lines.append(f"sales: {len(batch.invoices)} invoice(s), {len(batch.payments)} payment(s), "
                         f"{len(batch.returns)} return(s), {len(batch.rejections)} refused")
            for invoice in batch.invoices[:SHOWN]:
                lines.append(f"  invoice {invoice.key}  {invoice.outlet_code}  {invoice.business_time:%Y-%m-%d %H:%M}  "
                             f"{len(invoice.lines)} line(s)  total {rupiah(invoice.total)}")
            for payment in batch.payments[:SHOWN]:
                lines.append(f"  payment {payment.key}  {payment.method}  {rupiah(payment.amount)}")
            for rejection in batch.rejections[:SHOWN]:
                lines.append(f"  refused {rejection.record_type} {rejection.key}: {rejection.reason}")
        if {"transfers", "adjustments"} & given:
            stock = reader.extract_stock(window, outlet_codes, include_transfers="transfers" in given,
                                         include_adjustments="adjustments" in given)
            codes = outlet_codes if outlet_codes is not None else None
            stock_batch = transform_stock(stock, codes, until=window.end)
            documents = stock_batch.documents()
            lines.append(f"stock: {len(documents)} document(s), {len(stock_batch.rejections)} refused")
            for document in documents[:SHOWN]:
                lines.append(f"  {document.record_type} {document.key}  {document.outlet_code}  "
                             f"{len(document.lines)} line(s)")
            for rejection in stock_batch.rejections[:SHOWN]:
                lines.append(f"  refused {rejection.record_type} {rejection.key}: {rejection.reason}")
        if "customers" in given:
            customers, refused = transform_customers(reader.extract_customers())
            lines.append(f"customers: {len(customers)}, {len(refused)} refused")
            lines.extend(f"  customer {c.key}  {c.name}  code {c.customer_code}" for c in customers[:SHOWN])
            lines.extend(f"  refused {r.key}: {r.reason}" for r in refused[:SHOWN])
        if "products" in given:
            items, refused = transform_products(reader.extract_products())
            lines.append(f"products: {len(items)} item(s), {len(refused)} refused")
            lines.extend(f"  item {i.key}  {i.name}  {rupiah(i.price)}" for i in items[:SHOWN])
            lines.extend(f"  refused {r.key}: {r.reason}" for r in refused[:SHOWN])
    except ProfileError as error:
        report.errors.append(str(error))
    except Exception as error:  # the transform refused the frames as a whole: the profile's shape is wrong
        report.errors.append(f"{reader.loaded.path}: the transform could not use the frames: "
                             f"{type(error).__name__}: {' '.join(str(error).split())}")
    return lines
