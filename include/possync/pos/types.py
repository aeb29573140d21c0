"""Exact column types that behave the same on SQLite, PostgreSQL and MySQL / MariaDB.

PostgreSQL and MySQL / MariaDB have an exact NUMERIC (DECIMAL); SQLite does not (a NUMERIC column there is
stored as a float once it has a fraction). ``ExactDecimal`` therefore stores scaled integers on SQLite and
native NUMERIC elsewhere, and always hands Python a ``Decimal``, so an amount is never a float on any database.

Times: MySQL / MariaDB have no timezone-aware type, and their ``DATETIME`` keeps whole seconds unless asked
for more, so ``UTCDateTime`` is ``DATETIME(6)`` there, holding naive UTC (as on SQLite) to the microsecond, as
PostgreSQL's ``timestamptz`` does. ``DATETIME``, not ``TIMESTAMP``: the latter is converted by the session's
``time_zone`` and ends in 2038.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.dialects.mysql import DATETIME as MYSQL_DATETIME
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class ExactDecimal(TypeDecorator):
    """A decimal with a fixed number of places, exact on every backend."""

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int, precision: int = 18) -> None:
        super().__init__()
        self.scale = scale
        self.precision = precision
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError(f"refusing float {value!r} for an exact decimal column; pass a Decimal or int")
        exact = Decimal(value)
        if exact != exact.quantize(self._quantum):
            raise ValueError(f"{exact} has more than {self.scale} decimal places")
        if dialect.name == "sqlite":
            return int(exact.scaleb(self.scale))
        return exact.quantize(self._quantum)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale).quantize(self._quantum)
        return Decimal(value).quantize(self._quantum)


def Money() -> ExactDecimal:
    """Rupiah amounts with two decimals (sen), as Jurnal and Accurate keep them."""
    return ExactDecimal(scale=2)


def Quantity() -> ExactDecimal:
    """Item quantities: three decimals for goods sold by weight or volume."""
    return ExactDecimal(scale=3)


def Percent() -> ExactDecimal:
    """Rates such as 11.00 (% VAT) or 5.00 (% service charge)."""
    return ExactDecimal(scale=2, precision=7)


class UTCDateTime(TypeDecorator):
    """A point in time stored in UTC; naive values are refused so no local time sneaks in unlabelled."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(MYSQL_DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: POS times must carry a timezone")
        if dialect.name == "postgresql":
            return value.astimezone(UTC)
        # SQLite and MySQL / MariaDB keep no zone: naive UTC
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
