"""Goods received from suppliers, written into the POS as stock coming in.

The document comes from elsewhere (an Accurate receive-item, a head-office delivery); this module knows
only the POS side. ``record_goods_receipt`` writes the receipt, its lines and the stock it adds in ONE
transaction, at most once per ``(integration, source_number)``:

- products are matched by SKU; a line whose SKU is no POS product's (or whose POS product has no SKU
  yet) rejects the whole receipt with ``GoodsReceiptError`` naming the item, and nothing is written, so
  the receipt can go through whole once the product is repaired;
- writing the same document again (a second webhook delivery, a retried run) changes nothing and
  returns False. Two writers at once are serialised by the unique key: the second finds the first's
  receipt and adds no stock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from possync.pos.schema import goods_receipt_lines, goods_receipts, outlets, products, stock_levels


class GoodsReceiptError(ValueError):
    """The receipt cannot be written as it is (a product to repair, an unknown outlet); nothing was written.

    ``item`` is the source's item code when one line is at fault.
    """

    def __init__(self, message: str, *, item: str | None = None) -> None:
        super().__init__(message)
        self.item = item


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One received line: ``sku`` is the POS SKU the source item maps to (the source's own item code)."""

    sku: str | None
    quantity: Decimal
    unit_cost: Decimal | None = None
    item_name: str | None = None


@dataclass(frozen=True, slots=True)
class GoodsReceipt:
    source: str
    source_number: str
    integration: str
    outlet_code: str
    received_at: datetime
    lines: Sequence[ReceiptLine]
    supplier: str | None = None
    source_document_id: str | None = None
    #: how messages name the source (``<label> item 'KOP-001'``); ``source`` itself when unset
    source_label: str | None = None

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ValueError(f"goods receipt {self.source_number}: received_at {self.received_at!r} is naive")


def _label(source: str, line: ReceiptLine) -> str:
    name = f" ({line.item_name})" if line.item_name else ""
    return f"{source} item '{line.sku or ''}'{name}"


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


class _WrittenMeanwhile(Exception):
    """A concurrent writer committed the same document first (MySQL / MariaDB: the unique key refused ours)."""


def _insert_receipt(conn: Connection, values: dict[str, Any]) -> int | None:
    """Insert the receipt's row; its id, or None when the same document is already there.

    SQLite and PostgreSQL: ``ON CONFLICT DO NOTHING RETURNING id``. MySQL / MariaDB have neither; a plain insert
    that the unique key refuses means a concurrent writer won, and the whole transaction is rolled back."""
    if conn.dialect.name in ("mysql", "mariadb"):
        try:
            return conn.execute(goods_receipts.insert().values(**values)).inserted_primary_key[0]
        except IntegrityError as error:
            raise _WrittenMeanwhile from error
    return conn.execute(
        _insert(conn)(goods_receipts).values(**values)
        .on_conflict_do_nothing(index_elements=["integration", "source_number"])
        .returning(goods_receipts.c.id)
    ).scalar()


def add_stock(conn: Connection, outlet_id: int, product_id: int, quantity: Decimal, now: datetime) -> None:
    """Add to a stock level (a negative quantity takes away), creating it when the POS keeps none yet (an upsert on
    every database)."""
    values = {"outlet_id": outlet_id, "product_id": product_id, "quantity": quantity, "updated_at": now}
    if conn.dialect.name in ("mysql", "mariadb"):
        stmt = mysql.insert(stock_levels).values(**values)
        conn.execute(stmt.on_duplicate_key_update(quantity=stock_levels.c.quantity + stmt.inserted.quantity,
                                                  updated_at=stmt.inserted.updated_at))
        return
    stmt = _insert(conn)(stock_levels).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["outlet_id", "product_id"],
            set_={"quantity": stock_levels.c.quantity + stmt.excluded.quantity, "updated_at": now},
        )
    )


def resolve_products(conn: Connection, lines: Sequence[ReceiptLine], source: str, *,
                     what: str = "received") -> list[int]:
    """The POS product id of every line, in order; ``GoodsReceiptError`` for the first line that has none (or whose
    quantity is not positive). ``source`` names the document's system in the messages (``Accurate``)."""
    skus = sorted({line.sku for line in lines if line.sku})
    by_sku = dict(conn.execute(select(products.c.sku, products.c.id).where(products.c.sku.in_(skus))).all()) \
        if skus else {}
    resolved = []
    for line in lines:
        if line.quantity <= 0:
            raise GoodsReceiptError(
                f"{_label(source, line)}: quantity {line.quantity} is not a positive quantity {what}",
                item=line.sku,
            )
        if not line.sku:
            raise GoodsReceiptError(f"{_label(source, line)} has no item code to match a POS SKU", item=line.sku)
        product_id = by_sku.get(line.sku)
        if product_id is None:
            unlabelled = None
            if line.item_name:
                unlabelled = conn.execute(
                    select(products.c.name).where(products.c.sku.is_(None), products.c.name == line.item_name)
                ).scalar()
            if unlabelled is not None:
                raise GoodsReceiptError(
                    f"{_label(source, line)}: the POS product '{unlabelled}' has no SKU; "
                    f"give it SKU '{line.sku}' in the POS",
                    item=line.sku,
                )
            raise GoodsReceiptError(f"{_label(source, line)} has no product with that SKU in the POS", item=line.sku)
        resolved.append(product_id)
    return resolved


def outlet_id_of(conn: Connection, outlet_code: str, document: str) -> int:
    """The POS id of an outlet; ``GoodsReceiptError`` naming ``document`` when the POS has no such outlet."""
    outlet_id = conn.execute(select(outlets.c.id).where(outlets.c.code == outlet_code)).scalar()
    if outlet_id is None:
        raise GoodsReceiptError(f"{document}: outlet {outlet_code!r} is not in the POS")
    return outlet_id


def begin_writing(conn: Connection) -> None:
    """Take SQLite's write lock up front: a deferred transaction that reads first can fail to upgrade."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def record_goods_receipt(engine: Engine, receipt: GoodsReceipt, *, now: datetime | None = None) -> bool:
    """Write the receipt, its lines and the stock they add; False when this document was already written.

    Raises ``GoodsReceiptError`` (nothing written) when a line's product or the outlet cannot be found.
    """
    if not receipt.lines:
        raise GoodsReceiptError(f"goods receipt {receipt.source_number} has no lines")
    now = now or datetime.now(UTC)
    try:
        return _record(engine, receipt, now)
    except _WrittenMeanwhile:
        return False


def _record(engine: Engine, receipt: GoodsReceipt, now: datetime) -> bool:
    with engine.begin() as conn:
        begin_writing(conn)
        already = conn.execute(
            select(goods_receipts.c.id).where(
                goods_receipts.c.integration == receipt.integration,
                goods_receipts.c.source_number == receipt.source_number,
            )
        ).scalar()
        if already is not None:
            return False
        outlet_id = outlet_id_of(conn, receipt.outlet_code, f"goods receipt {receipt.source_number}")
        product_ids = resolve_products(conn, receipt.lines, receipt.source_label or receipt.source)

        receipt_id = _insert_receipt(conn, {
            "source": receipt.source,
            "source_number": receipt.source_number,
            "integration": receipt.integration,
            "outlet_id": outlet_id,
            "supplier": receipt.supplier,
            "received_at": receipt.received_at,
            "source_document_id": receipt.source_document_id,
            "created_at": now,
        })
        if receipt_id is None:  # a concurrent writer committed the same document first
            return False

        added: dict[int, Decimal] = {}
        for line_no, (line, product_id) in enumerate(zip(receipt.lines, product_ids, strict=True), 1):
            conn.execute(
                goods_receipt_lines.insert().values(
                    receipt_id=receipt_id,
                    line_no=line_no,
                    product_id=product_id,
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_cost=line.unit_cost,
                )
            )
            added[product_id] = added.get(product_id, Decimal(0)) + line.quantity

        for product_id, quantity in sorted(added.items()):
            add_stock(conn, outlet_id, product_id, quantity, now)
    return True


def stock_level(engine: Engine, outlet_code: str, sku: str) -> Decimal | None:
    """The POS stock of one product at one outlet (None when the POS keeps no level for it)."""
    with engine.connect() as conn:
        return conn.execute(
            select(stock_levels.c.quantity)
            .join(outlets, outlets.c.id == stock_levels.c.outlet_id)
            .join(products, products.c.id == stock_levels.c.product_id)
            .where(outlets.c.code == outlet_code, products.c.sku == sku)
        ).scalar()


def recorded_lines(engine: Engine, integration: str, source_number: str) -> list[tuple[str, Decimal]]:
    """(sku, quantity) of every line of a receipt already in the POS, in line order (empty when none)."""
    query = (
        select(goods_receipt_lines.c.sku, goods_receipt_lines.c.quantity)
        .join(goods_receipts, goods_receipts.c.id == goods_receipt_lines.c.receipt_id)
        .where(goods_receipts.c.integration == integration, goods_receipts.c.source_number == source_number)
        .order_by(goods_receipt_lines.c.line_no)
    )
    with engine.connect() as conn:
        return [(sku, quantity) for sku, quantity in conn.execute(query)]


def receipt_count(engine: Engine, integration: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(goods_receipts).where(goods_receipts.c.integration == integration)
        ).scalar_one()
