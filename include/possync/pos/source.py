"""Where a sync reads the POS: the built-in extract of the reference schema, or a source profile.

``pos_source(engine, profile)`` gives an object with the extracts the pipeline calls (``extract_sales``,
``extract_sales_chunks``, ``extract_stock``, ``extract_customers``, ``extract_products``, ``plan_catch_up``,
``plan_stock_catch_up``), with the arguments of ``possync.pos.extract``'s functions minus the engine.
``profile`` is the integration's ``profile:`` (a shipped profile's name or a YAML file); ``None`` is the
built-in extract, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Engine

from possync.pos import extract

if TYPE_CHECKING:
    import pandas as pd

    from possync.pos.extract import CatchUpPlan, SalesFrames, StockFrames, Window
    from possync.pos.profiles.reader import ProfileReader


class PosSource(Protocol):
    """What the pipeline reads a POS through (``BuiltinSource`` or ``possync.pos.profiles.ProfileReader``)."""

    engine: Engine

    def extract_sales(self, window: Window, outlet_codes: Iterable[str] | None = None, **kwargs: Any
                      ) -> SalesFrames: ...

    def extract_sales_chunks(self, window: Window, outlet_codes: Iterable[str] | None = None, **kwargs: Any
                             ) -> Iterator[SalesFrames]: ...

    def extract_stock(self, window: Window, outlet_codes: Iterable[str] | None = None, **kwargs: Any
                      ) -> StockFrames: ...

    def extract_customers(self, updated_since: datetime | None = None) -> pd.DataFrame: ...

    def extract_products(self, updated_since: datetime | None = None) -> pd.DataFrame: ...

    def plan_catch_up(self, outlet_code: str, **kwargs: Any) -> CatchUpPlan: ...

    def plan_stock_catch_up(self, outlet_codes: Iterable[str], **kwargs: Any) -> CatchUpPlan: ...

    def refunds_of_orders(self, order_numbers: Iterable[str]) -> dict[str, list[str]]: ...

    def unmapped_outlets(self, mapped: Iterable[str]) -> list[str] | None: ...


class BuiltinSource:
    """The reference POS schema, read by ``possync.pos.extract``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __repr__(self) -> str:
        return f"BuiltinSource({self.engine.dialect.name})"

    def extract_sales(self, window: Window, outlet_codes: Iterable[str] | None = None, **kwargs: Any
                      ) -> SalesFrames:
        return extract.extract_sales(self.engine, window, outlet_codes, **kwargs)

    def extract_sales_chunks(self, window: Window, outlet_codes: Iterable[str] | None = None, **kwargs: Any
                             ) -> Iterator[SalesFrames]:
        return extract.extract_sales_chunks(self.engine, window, outlet_codes, **kwargs)

    def extract_stock(self, window: Window, outlet_codes: Iterable[str] | None = None, **kwargs: Any
                      ) -> StockFrames:
        return extract.extract_stock(self.engine, window, outlet_codes, **kwargs)

    def extract_customers(self, updated_since: datetime | None = None) -> pd.DataFrame:
        return extract.extract_customers(self.engine, updated_since)

    def extract_products(self, updated_since: datetime | None = None) -> pd.DataFrame:
        return extract.extract_products(self.engine, updated_since)

    def plan_catch_up(self, outlet_code: str, **kwargs: Any) -> CatchUpPlan:
        return extract.plan_catch_up(self.engine, outlet_code, **kwargs)

    def plan_stock_catch_up(self, outlet_codes: Iterable[str], **kwargs: Any) -> CatchUpPlan:
        return extract.plan_stock_catch_up(self.engine, outlet_codes, **kwargs)

    def refunds_of_orders(self, order_numbers: Iterable[str]) -> dict[str, list[str]]:
        return extract.refunds_of_orders(self.engine, order_numbers)

    def unmapped_outlets(self, mapped: Iterable[str]) -> list[str] | None:
        """Codes of the outlets with sales (orders or refunds) that are not in ``mapped``."""
        from sqlalchemy import exists, select

        from possync.pos.schema import orders, outlets, refunds

        has_sales = exists().where(orders.c.outlet_id == outlets.c.id) | exists().where(
            refunds.c.outlet_id == outlets.c.id)
        stmt = (select(outlets.c.code).where(has_sales, outlets.c.code.not_in(sorted(set(mapped))))
                .order_by(outlets.c.code))
        with self.engine.connect() as conn:
            return list(conn.scalars(stmt))


def pos_source(engine: Engine, profile: str | Path | None = None, base: Path | None = None
               ) -> BuiltinSource | ProfileReader:
    """The POS behind ``engine`` read through ``profile`` (a shipped name or a file; relative paths from
    ``base``), or by the built-in extract when there is none."""
    if profile is None:
        return BuiltinSource(engine)
    from possync.pos.profiles import ProfileReader, load_profile

    return ProfileReader(engine, load_profile(profile, base))


__all__ = ["BuiltinSource", "PosSource", "pos_source"]
