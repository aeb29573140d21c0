"""Documents entered in an accounting target that the POS takes as its own: purchase orders (goods an outlet
expects from a supplier) and stock transfers between outlets.

The documents come from elsewhere (Accurate purchase orders and item transfers); this module knows only the POS
side and shares product matching and stock keeping with ``possync.pos.receiving``. Every write is ONE transaction,
products are matched by SKU (a line the POS cannot place rejects the whole document with ``GoodsReceiptError``,
nothing written), and every document is written at most once per integration and number:

- ``record_purchase_order``: an expected incoming order per outlet (``purchase_orders``), no stock. A later edit
  in the target replaces its lines (``updated``); the same content again changes nothing (``unchanged``).
  ``cancel_purchase_order`` marks it cancelled when the target deletes it.
- ``record_transfer_sent`` / ``record_transfer_received``: the POS's own stock transfer (``transfers``), sent
  (stock leaves the source outlet) and later received (stock arrives, short or whole). Such a transfer carries
  ``origin`` = the integration, so the outbound sync never reads it back out to the target it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, TypeVar

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from possync.pos.receiving import (
    GoodsReceiptError,
    ReceiptLine,
    add_stock,
    begin_writing,
    outlet_id_of,
    resolve_products,
)
from possync.pos.schema import outlets, products, purchase_order_lines, purchase_orders, transfer_lines, transfers

OrderOutcome = Literal["written", "updated", "unchanged"]


class TransferNotInPos(GoodsReceiptError):
    """A transfer-in arrived for a transfer the POS does not hold yet (its transfer-out is written later)."""


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{what}: {moment!r} is naive")
    return moment


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """Goods an outlet expects; each line's ``unit_cost`` is the ordered unit price."""

    source: str
    source_label: str
    source_number: str
    integration: str
    outlet_code: str
    ordered_at: datetime
    lines: Sequence[ReceiptLine]
    supplier: str | None = None
    expected_at: datetime | None = None
    source_document_id: str | None = None

    def __post_init__(self) -> None:
        _aware(self.ordered_at, f"purchase order {self.source_number}: ordered_at")


T = TypeVar("T")


def _again_on_conflict(write: Callable[[], T]) -> T:
    """``write()``, once more when a concurrent writer committed the same document first (a unique key refused
    it): written again, the document is found and nothing is written twice."""
    try:
        return write()
    except IntegrityError:
        return write()


def _order_lines(conn: Connection, order_id: int) -> list[tuple[int, str, Decimal, Decimal | None]]:
    c = purchase_order_lines.c
    return [tuple(row) for row in conn.execute(  # type: ignore[misc]
        select(c.product_id, c.sku, c.quantity, c.unit_price).where(c.order_id == order_id).order_by(c.line_no))]


def record_purchase_order(engine: Engine, order: PurchaseOrder, *, now: datetime | None = None) -> OrderOutcome:
    """Write or update the order and its lines; ``GoodsReceiptError`` (nothing written) when the POS cannot place
    it."""
    if not order.lines:
        raise GoodsReceiptError(f"purchase order {order.source_number} has no lines")
    now = now or datetime.now(UTC)
    return _again_on_conflict(lambda: _record_order(engine, order, now))


def _record_order(engine: Engine, order: PurchaseOrder, now: datetime) -> OrderOutcome:
    with engine.begin() as conn:
        begin_writing(conn)
        outlet_id = outlet_id_of(conn, order.outlet_code, f"purchase order {order.source_number}")
        product_ids = resolve_products(conn, order.lines, order.source_label, what="ordered")
        lines = [(product_id, line.sku or "", line.quantity, line.unit_cost)
                 for line, product_id in zip(order.lines, product_ids, strict=True)]
        header = {"outlet_id": outlet_id, "supplier": order.supplier, "ordered_at": order.ordered_at,
                  "expected_at": order.expected_at, "status": "open", "source_document_id": order.source_document_id}
        po = purchase_orders.c
        outcome: OrderOutcome
        found = conn.execute(select(po.id, po.outlet_id, po.supplier, po.ordered_at, po.expected_at, po.status,
                                    po.source_document_id)
                             .where(po.integration == order.integration, po.source_number == order.source_number)
                             ).first()
        if found is not None:
            same_header = {key: getattr(found, key) for key in header} == header
            if same_header and _order_lines(conn, found.id) == lines:
                return "unchanged"
            conn.execute(update(purchase_orders).where(po.id == found.id).values(**header, updated_at=now))
            conn.execute(purchase_order_lines.delete().where(purchase_order_lines.c.order_id == found.id))
            order_id, outcome = found.id, "updated"  # an edit in the target: no stock moved, so it is applied
        else:
            order_id = conn.execute(insert(purchase_orders).values(
                source=order.source, source_number=order.source_number, integration=order.integration,
                created_at=now, updated_at=now, **header)).inserted_primary_key[0]
            outcome = "written"
        conn.execute(insert(purchase_order_lines), [
            {"order_id": order_id, "line_no": n, "product_id": product_id, "sku": sku, "quantity": quantity,
             "unit_price": price}
            for n, (product_id, sku, quantity, price) in enumerate(lines, 1)])
    return outcome


def cancel_purchase_order(engine: Engine, integration: str, *, source_document_id: str | None = None,
                          source_number: str | None = None, now: datetime | None = None) -> str | None:
    """Cancel the order the target deleted (found by its id there, else its number): ``cancelled``, ``already
    cancelled``, or None when the POS never had it."""
    po = purchase_orders.c
    keys = [po.source_document_id == source_document_id] if source_document_id else []
    keys += [po.source_number == source_number] if source_number else []
    if not keys:
        return None
    with engine.begin() as conn:
        begin_writing(conn)
        for key in keys:
            found = conn.execute(select(po.id, po.status).where(po.integration == integration, key)).first()
            if found is not None:
                break
        else:
            return None
        if found.status == "cancelled":
            return "already cancelled"
        conn.execute(update(purchase_orders).where(po.id == found.id)
                     .values(status="cancelled", updated_at=now or datetime.now(UTC)))
    return "cancelled"


def purchase_order(engine: Engine, integration: str, source_number: str) -> dict[str, object] | None:
    """An order as the POS keeps it: its outlet code, status, supplier and ``lines`` [(sku, quantity, unit price)]."""
    po = purchase_orders.c
    with engine.connect() as conn:
        found = conn.execute(select(po.id, outlets.c.code, po.status, po.supplier, po.expected_at)
                             .join(outlets, outlets.c.id == po.outlet_id)
                             .where(po.integration == integration, po.source_number == source_number)).first()
        if found is None:
            return None
        return {"outlet_code": found.code, "status": found.status, "supplier": found.supplier,
                "expected_at": found.expected_at,
                "lines": [(sku, quantity, price) for _id, sku, quantity, price in _order_lines(conn, found.id)]}


# ------------------------------------------------------------------------------------------------- transfers


@dataclass(frozen=True, slots=True)
class TransferSent:
    """Goods leaving ``from_outlet_code`` for ``to_outlet_code``; ``number`` becomes the POS transfer's number."""

    number: str
    integration: str
    source_label: str
    from_outlet_code: str
    to_outlet_code: str
    sent_at: datetime
    lines: Sequence[ReceiptLine]
    note: str | None = None

    def __post_init__(self) -> None:
        _aware(self.sent_at, f"transfer {self.number}: sent_at")


@dataclass(frozen=True, slots=True)
class TransferReceived:
    """The goods of transfer ``number`` arriving at ``to_outlet_code``, as the receiving document
    (``receipt_number``) lists them: short, or not at all for a line it leaves out."""

    number: str
    receipt_number: str
    integration: str
    source_label: str
    to_outlet_code: str
    received_at: datetime
    lines: Sequence[ReceiptLine]

    def __post_init__(self) -> None:
        _aware(self.received_at, f"transfer {self.number}: received_at")


def _origin_clash(number: str, origin: str | None, integration: str) -> str:
    where = "entered at the POS" if origin is None else f"written in by integration {origin}"
    return f"the POS already has a transfer {number} ({where}), not the one integration {integration} wrote"


def pos_transfer(engine: Engine, number: str) -> dict[str, object] | None:
    """A transfer as the POS keeps it: ``status``, ``origin``, outlet codes and ``lines`` [(sku, sent, received)]."""
    source, destination = outlets.alias("source"), outlets.alias("destination")
    t, line = transfers.c, transfer_lines.c
    with engine.connect() as conn:
        found = conn.execute(
            select(t.id, t.status, t.origin, source.c.code.label("from_code"), destination.c.code.label("to_code"))
            .join(source, source.c.id == t.from_outlet_id).join(destination, destination.c.id == t.to_outlet_id)
            .where(t.number == number)).first()
        if found is None:
            return None
        lines = conn.execute(select(products.c.sku, line.quantity_sent, line.quantity_received)
                             .join(products, products.c.id == line.product_id)
                             .where(line.transfer_id == found.id).order_by(line.line_no)).all()
    return {"status": found.status, "origin": found.origin, "from_code": found.from_code, "to_code": found.to_code,
            "lines": [tuple(row) for row in lines]}


def inbound_transfer_numbers(engine: Engine, integration: str) -> set[str]:
    """The target's numbers of every transfer the integration wrote in (its transfer-outs' and transfer-ins'):
    documents of the target's that the POS holds but never syncs out. Empty for a POS without ``origin`` (one read
    through a source profile of another schema, where nothing is written in)."""
    t = transfers.c
    with engine.connect() as conn:
        if "origin_receipt_number" not in {c["name"] for c in inspect(conn).get_columns("transfers")}:
            return set()
        rows = conn.execute(select(t.number, t.origin_receipt_number).where(t.origin == integration)).all()
    return {number for row in rows for number in row if number}


def record_transfer_sent(engine: Engine, transfer: TransferSent, *, now: datetime | None = None) -> bool:
    """Write the transfer as sent and take its stock out of the source outlet; False when it is already in the
    POS. ``GoodsReceiptError`` (nothing written) when the POS cannot place it."""
    if not transfer.lines:
        raise GoodsReceiptError(f"transfer {transfer.number} has no lines")
    now = now or datetime.now(UTC)
    return _again_on_conflict(lambda: _record_sent(engine, transfer, now))


def _record_sent(engine: Engine, transfer: TransferSent, now: datetime) -> bool:
    with engine.begin() as conn:
        begin_writing(conn)
        found = conn.execute(select(transfers.c.origin).where(transfers.c.number == transfer.number)).first()
        if found is not None:
            if found.origin != transfer.integration:
                raise GoodsReceiptError(_origin_clash(transfer.number, found.origin, transfer.integration))
            return False
        what = f"transfer {transfer.number}"
        from_id, to_id = (outlet_id_of(conn, code, what) for code in (transfer.from_outlet_code,
                                                                       transfer.to_outlet_code))
        product_ids = resolve_products(conn, transfer.lines, transfer.source_label, what="sent")
        transfer_id = conn.execute(insert(transfers).values(
            number=transfer.number, from_outlet_id=from_id, to_outlet_id=to_id, status="sent",
            sent_at=transfer.sent_at, committed_at=now, note=transfer.note, origin=transfer.integration,
        )).inserted_primary_key[0]
        conn.execute(insert(transfer_lines), [
            {"transfer_id": transfer_id, "line_no": n, "product_id": product_id, "quantity_sent": line.quantity}
            for n, (line, product_id) in enumerate(zip(transfer.lines, product_ids, strict=True), 1)])
        for line, product_id in zip(transfer.lines, product_ids, strict=True):
            add_stock(conn, from_id, product_id, -line.quantity, now)
    return True


def record_transfer_received(engine: Engine, receipt: TransferReceived, *, now: datetime | None = None) -> bool:
    """Mark the transfer received with the quantities that arrived and add them to the destination's stock; False
    when it was already received. ``GoodsReceiptError`` (nothing written) when the transfer is not in the POS (yet),
    arrives elsewhere, or lists goods it never sent."""
    now = now or datetime.now(UTC)
    t = transfers.c
    with engine.begin() as conn:
        begin_writing(conn)
        found = conn.execute(select(t.id, t.origin, t.status, t.to_outlet_id).where(t.number == receipt.number)).first()
        what = f"{receipt.source_label} transfer-in {receipt.receipt_number}"
        if found is None:
            raise TransferNotInPos(
                f"{what} receives transfer {receipt.number}, which is not in the POS yet; it is written once the "
                "transfer-out is")
        if found.origin != receipt.integration:
            raise GoodsReceiptError(_origin_clash(receipt.number, found.origin, receipt.integration))
        if found.status == "received":
            return False
        if found.status != "sent":
            raise GoodsReceiptError(f"{what}: transfer {receipt.number} is {found.status} in the POS")
        to_id = outlet_id_of(conn, receipt.to_outlet_code, what)
        if to_id != found.to_outlet_id:
            raise GoodsReceiptError(f"{what} receives transfer {receipt.number} at outlet {receipt.to_outlet_code}, "
                                    "not at the outlet it was sent to")
        sent = conn.execute(select(transfer_lines.c.id, transfer_lines.c.product_id, transfer_lines.c.quantity_sent)
                            .where(transfer_lines.c.transfer_id == found.id).order_by(transfer_lines.c.line_no)).all()
        product_ids = resolve_products(conn, receipt.lines, receipt.source_label) if receipt.lines else []
        left: dict[int, Decimal] = {}
        for line, product_id in zip(receipt.lines, product_ids, strict=True):
            left[product_id] = left.get(product_id, Decimal(0)) + line.quantity
        unsent = [line.sku for line, product_id in zip(receipt.lines, product_ids, strict=True)
                  if product_id not in {row.product_id for row in sent}]
        if unsent:
            raise GoodsReceiptError(f"{what} lists {', '.join(map(str, unsent))}, which transfer {receipt.number} "
                                    "never sent")
        last_line = {row.product_id: row.id for row in sent}
        for row in sent:  # each line takes what arrived of its product, the last one any excess
            take = left.get(row.product_id, Decimal(0))
            if row.id != last_line[row.product_id]:
                take = min(take, row.quantity_sent)
            left[row.product_id] = left.get(row.product_id, Decimal(0)) - take
            conn.execute(update(transfer_lines).where(transfer_lines.c.id == row.id).values(quantity_received=take))
        conn.execute(update(transfers).where(t.id == found.id)
                     .values(status="received", received_at=receipt.received_at, committed_at=now,
                             origin_receipt_number=receipt.receipt_number))
        for line, product_id in zip(receipt.lines, product_ids, strict=True):
            add_stock(conn, to_id, product_id, line.quantity, now)
    return True
