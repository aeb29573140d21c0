"""A source profile: how one POS database's tables become possync's canonical frames, as a YAML file.

A profile gives, per canonical *entity* (``orders``, ``order_lines``, ``payments``, ...), either one SQL
``query`` that returns the entity's canonical columns (``possync.pos.extract.CANONICAL_COLUMNS``), or a
``table`` (any FROM clause) with ``columns`` mapping canonical names to SQL expressions, from which the
reader writes that query itself. Queries take bound parameters (``ENTITY_PARAMETERS``): the window, the
commit-time range a run sweeps, the outlets, the ids of the parents whose children are read. The guide is
``docs/source-profiles.md``; ``possync source check`` runs a profile against a POS.

The file is validated with pydantic; every problem is one ``ProfileError`` naming the file and the field
(``shipped/reference.yaml: orders.columns.totl: not a column of orders ...``), as ``ConfigError`` does for
``integrations.yaml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from sqlalchemy import text

from possync.config import ConfigError, _problems, _read, _Strict
from possync.pos.extract import CANONICAL_COLUMNS

#: the shipped profiles, by name (``reference``: possync's own POS schema)
SHIPPED = Path(__file__).resolve().parent / "shipped"

_SELECTION = ("window_start", "window_end", "committed_after", "committed_until", "outlet_codes", "retry_numbers")

#: the bound parameters each entity's query may use (the reader binds those it uses, and no others)
ENTITY_PARAMETERS: dict[str, tuple[str, ...]] = {
    "outlets": (),
    "orders": _SELECTION,
    "order_lines": ("order_ids",),
    "payments": ("order_ids",),
    "refunds": (*_SELECTION, "order_numbers"),
    "refund_lines": ("refund_ids",),
    "customers": ("updated_since",),
    "products": ("updated_since",),
    "transfers": _SELECTION,
    "transfer_lines": ("transfer_ids",),
    "adjustments": _SELECTION,
    "adjustment_lines": ("adjustment_ids",),
}

#: the entity whose ids a child's parameter lists, and the child's column holding that id
PARENTS: dict[str, tuple[str, str, str]] = {  # child: (parent, parameter, the child's column of it)
    "order_lines": ("orders", "order_ids", "order_id"),
    "payments": ("orders", "order_ids", "order_id"),
    "refund_lines": ("refunds", "refund_ids", "refund_id"),
    "transfer_lines": ("transfers", "transfer_ids", "transfer_id"),
    "adjustment_lines": ("adjustments", "adjustment_ids", "adjustment_id"),
}

#: entities that only make sense together (a profile gives all of a group or none)
GROUPS: tuple[tuple[str, ...], ...] = (
    ("orders", "order_lines", "payments"),
    ("refunds", "refund_lines"),
    ("transfers", "transfer_lines"),
    ("adjustments", "adjustment_lines"),
)

ExactValues = Literal["decimal", "minor_units"]


class ProfileError(ConfigError):
    """A source profile that cannot be used: invalid YAML or fields, a query that fails or lacks a canonical
    column, an id that is no id. The message names the profile file, the entity and the field or column."""


def parameters_of(sql: str) -> list[str]:
    """The ``:name`` bound parameters an SQL text uses, as SQLAlchemy's ``text()`` reads them."""
    return list(text(sql)._bindparams)


class EntitySource(_Strict):
    """Where one canonical entity comes from: a ``query``, or a ``table`` with ``columns``.

    :param query: SQL returning every canonical column of the entity (by those names, ``AS`` where needed).
    :param table: a table, or any FROM clause with its joins (``sales s JOIN stores st ON st.id = s.store_id``).
    :param columns: canonical column → SQL expression over ``table``; a column not listed is read by its own
        name.
    :param where: an extra condition ANDed to what the reader selects by (e.g. ``s.deleted = 0``).
    """

    query: Annotated[str, Field(min_length=1)] | None = None
    table: Annotated[str, Field(min_length=1)] | None = None
    columns: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    where: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> EntitySource:
        if (self.query is None) == (self.table is None):
            raise ValueError("give either query (SQL returning the canonical columns) or table (with columns)")
        if self.query is not None and (self.columns or self.where):
            raise ValueError("columns and where belong to the table form; a query selects and filters itself")
        return self

    def expression(self, column: str) -> str:
        """The SQL expression of a canonical column in the table form."""
        return self.columns.get(column, column)


_ENTITY_FIELD = Annotated[EntitySource | None, Field(default=None)]


class SourceProfile(_Strict):
    """A POS database described for possync: one entity source per canonical entity it has.

    :param name: the profile's name (in logs and ``possync source check``).
    :param exact_values: how the POS keeps amounts, quantities and rates: ``decimal`` (numbers, DECIMAL or
        text such as ``'25000.50'``) or ``minor_units`` (integers of the smallest unit: sen for money and
        rates, thousandths for quantities); or one of those per database dialect (``{sqlite: minor_units,
        postgresql: decimal}``).
    :param naive_times: the timezone of times stored without one (``UTC`` unless the POS keeps local time).
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=60)]
    description: str = ""
    exact_values: ExactValues | dict[str, ExactValues] = "decimal"
    naive_times: str = "UTC"
    views: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], Annotated[str, Field(min_length=1)]] = (
        Field(default_factory=dict))
    outlets: EntitySource
    orders: _ENTITY_FIELD
    order_lines: _ENTITY_FIELD
    payments: _ENTITY_FIELD
    refunds: _ENTITY_FIELD
    refund_lines: _ENTITY_FIELD
    customers: _ENTITY_FIELD
    products: _ENTITY_FIELD
    transfers: _ENTITY_FIELD
    transfer_lines: _ENTITY_FIELD
    adjustments: _ENTITY_FIELD
    adjustment_lines: _ENTITY_FIELD

    @field_validator("views")
    @classmethod
    def _plain_views(cls, value: dict[str, str]) -> dict[str, str]:
        for name, sql in value.items():
            try:
                used = parameters_of(sql)
            except Exception as error:
                raise ValueError(f"{name}: cannot read the SQL: {error}") from None
            if used:
                raise ValueError(f"{name}: a view takes no parameters (it uses :{used[0]}); select by them in "
                                 "the entity's query")
        return value

    @field_validator("naive_times")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (an IANA name such as 'UTC' or 'Asia/Jakarta')") from None
        return value

    @field_validator(*ENTITY_PARAMETERS)
    @classmethod
    def _canonical(cls, value: EntitySource | None, info: ValidationInfo) -> EntitySource | None:
        if value is None:
            return value
        entity = str(info.field_name)
        known = [column.name for column in CANONICAL_COLUMNS[entity]]
        unknown = [name for name in value.columns if name not in known]
        if unknown:
            raise ValueError(f"columns.{unknown[0]}: not a column of {entity} (its columns: {', '.join(known)})")
        sql = value.query if value.query is not None else _table_sql(entity, value)
        try:
            used = parameters_of(sql)
        except Exception as error:  # text() refuses it: say so with the field
            raise ValueError(f"cannot read the SQL: {error}") from None
        allowed = ENTITY_PARAMETERS[entity]
        stray = [name for name in used if name not in allowed]
        if stray:
            raise ValueError(f"parameter :{stray[0]} is not one {entity} is given "
                             f"({', '.join(':' + name for name in allowed) or 'it takes none'})")
        return value

    @model_validator(mode="after")
    def _whole_groups(self) -> SourceProfile:
        for group in GROUPS:
            given = [entity for entity in group if getattr(self, entity) is not None]
            if given and len(given) != len(group):
                missing = [entity for entity in group if entity not in given]
                raise ValueError(f"{', '.join(given)} without {', '.join(missing)}: give all of "
                                 f"{', '.join(group)} or none")
        return self

    def entities(self) -> list[str]:
        """The entities this profile gives, in the order a check runs them."""
        return [entity for entity in ENTITY_PARAMETERS if getattr(self, entity) is not None]

    def exact_values_for(self, dialect: str) -> ExactValues:
        if isinstance(self.exact_values, str):
            return self.exact_values
        try:
            return self.exact_values[dialect]
        except KeyError:
            raise ValueError(f"exact_values names no choice for a {dialect} database "
                             f"(it names {', '.join(self.exact_values)})") from None

    def sql(self, entity: str) -> str:
        """The SQL the reader runs for ``entity``: the query, or the one written from the table form."""
        source = getattr(self, entity)
        if source is None:
            raise ValueError(f"the profile has no {entity}")
        return with_views(source.query if source.query is not None else _table_sql(entity, source), self.views)


def with_views(sql: str, views: dict[str, str]) -> str:
    """``sql`` with the ``views`` it names (and those they name, in the order given) as a ``WITH`` clause
    ahead of it: common table expressions, which SQLite, PostgreSQL and MariaDB all run. A query that has a
    ``WITH`` of its own gets the views ahead of its own expressions."""
    def names(text_: str) -> set[str]:
        return {name for name in views if re.search(rf"\b{name}\b", text_)}

    wanted = names(sql)
    for name in reversed(list(views)):  # a view may name views given before it
        if name in wanted:
            wanted |= names(views[name]) - {name}
    if not wanted:
        return sql
    clause = ",\n".join(f"{name} AS (\n{views[name].strip()}\n)" for name in views if name in wanted)
    own = re.match(r"\s*WITH\s", sql, re.IGNORECASE)
    if own:
        return f"WITH {clause},\n{sql[own.end():]}"
    return f"WITH {clause}\n{sql}"


def _table_sql(entity: str, source: EntitySource) -> str:
    """``SELECT <expression> AS <column>, ... FROM <table> WHERE <what the entity is selected by>``."""
    def col(name: str) -> str:
        return source.expression(name)

    select = ",\n       ".join(f"{col(c.name)} AS {c.name}" for c in CANONICAL_COLUMNS[entity])
    conditions: list[str] = []
    if entity in PARENTS:
        _parent, parameter, column = PARENTS[entity]
        conditions.append(f"{col(column)} IN :{parameter}")
    elif entity in ("customers", "products"):
        conditions.append(f"{col('updated_at')} >= :updated_since")
    elif entity == "transfers":
        sides = [(col("sent_at"), col("from_code")), (col("received_at"), col("to_code"))]
        in_window = " OR ".join(f"({t} >= :window_start AND {t} < :window_end AND {c} IN :outlet_codes)"
                                for t, c in sides)
        due = " OR ".join(f"({t} < :window_end AND {c} IN :outlet_codes)" for t, c in sides)
        conditions.append(
            f"{col('status')} <> 'cancelled' AND ({in_window}"
            f" OR ({col('committed_at')} > :committed_after AND {col('committed_at')} <= :committed_until"
            f" AND ({due}))"
            f" OR ({col('number')} IN :retry_numbers AND ({' OR '.join(f'{c} IN :outlet_codes' for _t, c in sides)})))")
    elif entity in ("orders", "refunds", "adjustments"):
        time, committed = col("business_time"), col("committed_at")
        of_orders = f" OR {col('order_number')} IN :order_numbers" if entity == "refunds" else ""
        conditions.append(
            f"{col('outlet_code')} IN :outlet_codes AND (({time} >= :window_start AND {time} < :window_end)"
            f" OR ({committed} > :committed_after AND {committed} <= :committed_until AND {time} < :window_end)"
            f" OR {col('number')} IN :retry_numbers{of_orders})")
    if source.where:
        conditions.append(f"({source.where})")
    where = f"\nWHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {select}\nFROM {source.table}{where}"


def profile_path(reference: str, base: Path | None = None) -> Path:
    """The file a profile reference names: a shipped profile by name (``reference``), or a path to a YAML
    file (relative to ``base``, the folder of integrations.yaml, when given)."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", reference):
        return SHIPPED / f"{reference}.yaml"
    path = Path(reference).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


def load_profile(reference: str | Path, base: Path | None = None) -> LoadedProfile:
    """Read and validate a profile; raise ``ProfileError`` naming the file and the field."""
    path = reference if isinstance(reference, Path) else profile_path(reference, base)
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in SHIPPED.glob("*.yaml")))
        raise ProfileError(f"{path}: no such profile file (shipped profiles: {shipped}; or give a path to a "
                           "YAML file)")
    try:
        raw, twice = _read(path)
    except ConfigError as error:
        raise ProfileError(str(error)) from None
    problems = [message for _loc, message in twice]
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: expected a mapping (name, outlets, orders, ...) at the top")
    try:
        profile = SourceProfile.model_validate(raw)
    except ValidationError as exc:
        problems += [message for _loc, message in _problems(exc, raw)]
        profile = None
    if problems or profile is None:
        raise ProfileError(f"{path}: " + "; ".join(problems))
    return LoadedProfile(path=path, profile=profile)


class LoadedProfile:
    """A validated profile and the file it came from (errors at run time name the file too)."""

    def __init__(self, *, path: Path, profile: SourceProfile) -> None:
        self.path = path
        self.profile = profile

    def __repr__(self) -> str:
        return f"LoadedProfile({self.profile.name!r}, {str(self.path)!r})"

    def error(self, entity: str, message: str) -> ProfileError:
        return ProfileError(f"{self.path}: {entity}: {message}")
