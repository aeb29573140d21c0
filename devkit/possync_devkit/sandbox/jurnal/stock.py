"""Stock per warehouse and product, replayed from the stock moves the documents wrote (see ``db.SCHEMA``).

A move either adds a signed quantity (``delta``: invoices, returns, transfers, stock in/out) or sets the level
(``actual``: a stock count, ``maintain_actual=true``). Moves are replayed per (warehouse, product) in
(transaction date, creation order, line order), so a count keeps its actual quantity and its difference is
whatever separates that quantity from the level just before it at the time stock is read. Everything is Decimal.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from .db import Repo
from .money import ZERO

Place = tuple[int, int]  # (warehouse_id, product_id)


@dataclass(frozen=True)
class LineEffect:
    """What one move did when replayed: the level before it (``recorded``) and after it (``actual``)."""

    recorded: Decimal
    actual: Decimal

    @property
    def difference(self) -> Decimal:
        return self.actual - self.recorded


def _apply(level: Decimal, move: sqlite3.Row) -> Decimal:
    quantity = Decimal(move["quantity"])
    return quantity if move["mode"] == "actual" else level + quantity


def levels(
    repo: Repo,
    *,
    warehouse_id: int | None = None,
    product_ids: list[int] | None = None,
    until: str | None = None,
) -> dict[Place, Decimal]:
    """The level of every (warehouse, product) that has moves, counting documents dated on or before ``until``."""
    result: dict[Place, Decimal] = {}
    for move in repo.moves(warehouse_id=warehouse_id, product_ids=product_ids, until=until):
        place = (move["warehouse_id"], move["product_id"])
        result[place] = _apply(result.get(place, ZERO), move)
    return result


def effects(repo: Repo, source_id: int) -> dict[int | None, LineEffect]:
    """Per line of one document, the level just before and just after its move (all moves, no date limit)."""
    own = [move for move in repo.conn.execute("SELECT * FROM stock_moves WHERE source_id = ?", (source_id,))]
    found: dict[int | None, LineEffect] = {}
    for place in {(move["warehouse_id"], move["product_id"]) for move in own}:
        level = ZERO
        for move in repo.moves(warehouse_id=place[0], product_ids=[place[1]]):
            before = level
            level = _apply(level, move)
            if move["source_id"] == source_id:
                found[move["line_id"]] = LineEffect(before, level)
    return found
