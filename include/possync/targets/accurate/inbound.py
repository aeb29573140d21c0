"""Inbound from Accurate: documents entered in Accurate that the POS takes as its own.

Accurate pushes a webhook envelope when a document is saved or deleted; the endpoint (``possync.webhooks_app``)
records it in the webhook log and triggers the integration's inbound DAG, whose task calls ``process_pending``.
Every pending event (received, or failed earlier and retried now) is handled by its type:

===================  ======================  ====================================================================
event type           read back with          written into the POS as
===================  ======================  ====================================================================
``RECEIVE_ITEM``     receive-item/detail.do  a goods receipt, stock coming in (``possync.pos.receiving``)
``PURCHASE_ORDER``   purchase-order/detail   an expected incoming order of one outlet, no stock
                                             (``possync.pos.incoming.record_purchase_order``)
``ITEM_TRANSFER``    item-transfer/detail    the POS's own transfer: a ``TRANSFER_OUT`` between two mapped
                                             warehouses is written as sent (stock leaves the source outlet), its
                                             ``TRANSFER_IN`` marks it received (stock arrives); ``origin`` keeps the
                                             outbound sync from sending it back (``possync.pos.incoming``)
===================  ======================  ====================================================================

- each ``WRITE`` entry is read back from Accurate (``detail.do`` by id, else by number: whether an entry carries
  the number is undocumented), its warehouses mapped back to POS outlets through ``integrations.yaml``
  (``outlets.<code>.warehouse``; a purchase order, whose lines name no warehouse, by its branch,
  ``outlets.<code>.branch``), its lines' ``itemNo`` to POS SKUs; each document is written once per number,
  however many deliveries or entries name it;
- ``DELETE``: a purchase order is cancelled in the POS; a receipt or a transfer already in the POS is not reversed
  (stock may have been sold since): the event is ignored with that reason. Other event types are ignored too;
- an item transfer possync itself sent from a POS transfer (``<POS number>/OUT`` or ``/IN``) is ignored, so the
  outbound and inbound syncs never echo each other; so is one between two warehouses that are not POS outlets;
- a document the POS cannot take (an item with no POS product of that SKU, an unmapped warehouse, a transfer-in
  whose transfer-out is not written yet) fails the event with that reason; it stays pending, so once the POS or
  the mapping is repaired the next run writes it;
- a transient Accurate error (timeout, 429, 5xx after the hook's retries) leaves the event pending and is
  raised, so Airflow retries the task.

One log line per document (``SYNCED`` / ``SKIPPED`` / ``FAILED``), then a summary whose counts add up.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from possync.config import Integration
from possync.ledger.webhooks import WebhookEvent, WebhookLog
from possync.pos.incoming import (
    PurchaseOrder,
    TransferNotInPos,
    TransferReceived,
    TransferSent,
    cancel_purchase_order,
    pos_transfer,
    record_purchase_order,
    record_transfer_received,
    record_transfer_sent,
)
from possync.pos.receiving import (
    GoodsReceipt,
    GoodsReceiptError,
    ReceiptLine,
    record_goods_receipt,
    recorded_lines,
)
from possync.recordlog import log_record
from possync.targets.base.errors import RejectedError, TransientTargetError
from possync.targets.base.loader import FailedRecord
from possync.targets.base.target import BadDelivery

SEN = Decimal("0.01")
MILLI = Decimal("0.001")
LABEL = "Accurate"


class DetailReader(Protocol):
    def detail(self, module: str, **key: Any) -> dict[str, Any] | None: ...


class AccurateDocumentError(ValueError):
    """An Accurate document the POS cannot take as it is (the reason names what to repair)."""


@dataclass
class InboundSummary:
    events: int = 0
    processed: int = 0
    ignored: int = 0
    failed: int = 0
    receipts_written: int = 0
    receipts_unchanged: int = 0
    orders_written: int = 0
    orders_unchanged: int = 0
    transfers_written: int = 0
    transfers_unchanged: int = 0
    #: the failed events with since when each has been failing for its reason (not part of ``as_dict``)
    failed_events: list[FailedRecord] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {name: value for name, value in asdict(self).items() if name != "failed_events"}

    def line(self) -> str:
        documents = [f"goods receipts: {self.receipts_written} written, {self.receipts_unchanged} already in the POS"]
        for label, written, unchanged in (("purchase orders", self.orders_written, self.orders_unchanged),
                                          ("transfers", self.transfers_written, self.transfers_unchanged)):
            if written or unchanged:
                documents.append(f"{label}: {written} written, {unchanged} already in the POS")
        return (f"webhook events: {self.events} read = {self.processed} processed + {self.ignored} ignored + "
                f"{self.failed} failed; " + "; ".join(documents))


@dataclass(frozen=True)
class Applied:
    """What one entry did: ``written`` / ``unchanged`` (counted per document kind) or ``ignored``; ``message``
    is the log detail, and for ``ignored`` (or ``noted``) the reason kept on the event."""

    outcome: Literal["written", "unchanged", "ignored"]
    message: str
    key: str | None = None
    noted: bool = False


# ------------------------------------------------------------------------------------------- reading details


def _decimal(value: Any, what: str, quantum: Decimal) -> Decimal:
    try:
        exact = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise AccurateDocumentError(f"{what} {value!r} is not a number") from None
    if not exact.is_finite():
        raise AccurateDocumentError(f"{what} {value!r} is not a number")
    return exact.quantize(quantum, rounding=ROUND_HALF_UP)


def _trans_date(value: Any, timezone: str, what: str, field: str = "transDate") -> datetime:
    """An Accurate date (dd/MM/yyyy, the business day) as the UTC instant that day starts locally."""
    try:
        day = datetime.strptime(str(value), "%d/%m/%Y").date()
    except ValueError:
        raise AccurateDocumentError(f"{what}: {field} {value!r} is not dd/MM/yyyy") from None
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("name") or None
    return str(value) if value not in (None, "") else None


def _supplier(detail: dict[str, Any]) -> str | None:
    vendor = detail.get("vendor")
    vendor_no = detail.get("vendorNo")
    if not vendor_no and isinstance(vendor, dict):
        vendor_no = vendor.get("vendorNo") or vendor.get("no")
    name = _name(vendor)
    if vendor_no and name and name != str(vendor_no):
        return f"{vendor_no} {name}"[:160]
    found = vendor_no or name
    return str(found)[:160] if found else None


def _warehouse(detail: dict[str, Any], line: dict[str, Any]) -> str | None:
    return (
        line.get("warehouseName")
        or _name(line.get("warehouse"))
        or detail.get("warehouseName")
        or _name(detail.get("warehouse"))
    )


def _number(detail: dict[str, Any], module: str, document_id: Any) -> str:
    number = str(detail.get("number") or "").strip()
    if not number:
        raise AccurateDocumentError(f"{module} {document_id}: Accurate returned it without a number")
    return number


def _lines(detail: dict[str, Any], what: str, *, priced: bool) -> list[tuple[ReceiptLine, str | None]]:
    """Each detail line as a POS line (``unit_cost`` from ``unitPrice`` when ``priced``) with the warehouse it
    names (its own, else the document's; None when neither)."""
    lines_in = detail.get("detailItem") or []
    if not isinstance(lines_in, list) or not lines_in:
        raise AccurateDocumentError(f"{what} has no item lines")
    lines = []
    for position, line in enumerate(lines_in, 1):
        if not isinstance(line, dict):
            raise AccurateDocumentError(f"{what}: line {position} is not an object")
        item = line.get("item") if isinstance(line.get("item"), dict) else {}
        item_no = line.get("itemNo") or item.get("no")
        item_name = line.get("itemName") or line.get("detailName") or item.get("name")
        unit_price = line.get("unitPrice") if priced else None
        lines.append((ReceiptLine(
            sku=str(item_no).strip() if item_no not in (None, "") else None,
            quantity=_decimal(line.get("quantity"), f"{what} line {position}: quantity", MILLI),
            unit_cost=None if unit_price in (None, "") else _decimal(unit_price, f"{what} line {position}: unitPrice",
                                                                     SEN),
            item_name=str(item_name) if item_name else None,
        ), _warehouse(detail, line)))
    return lines


def _unmapped(warehouse: str, what: str, integration: Integration) -> AccurateDocumentError:
    return AccurateDocumentError(
        f"Accurate warehouse '{warehouse}' of {what} is not mapped to a POS outlet "
        f"(set outlets.<code>.warehouse for integration {integration.name} in integrations.yaml)")


def _outlet_of(warehouse: str, what: str, integration: Integration) -> str:
    for code, mapping in integration.outlets.items():
        if mapping.warehouse == warehouse:
            return code
    raise _unmapped(warehouse, what, integration)


def _one_warehouse(lines: list[tuple[ReceiptLine, str | None]], what: str, verb: str, noun: str) -> str | None:
    named = list(dict.fromkeys(warehouse for _line, warehouse in lines if warehouse))
    if len(named) > 1:
        raise AccurateDocumentError(
            f"{what} {verb} several warehouses ({', '.join(named)}); the POS takes one outlet per {noun}: split it "
            "in Accurate")
    return named[0] if named else None


# ---------------------------------------------------------------------------------------- receive items


def receipt_from_detail(detail: dict[str, Any], integration: Integration, *, receive_item_id: Any = None
                        ) -> GoodsReceipt:
    """The POS goods receipt of an Accurate receive-item (``receive-item/detail.do``'s ``d``)."""
    number = _number(detail, "receive-item", receive_item_id)
    what = f"receive-item {number}"
    lines = _lines(detail, what, priced=True)
    for position, (_line, warehouse) in enumerate(lines, 1):
        if not warehouse:
            raise AccurateDocumentError(f"{what}: line {position} names no warehouse")
    warehouse = _one_warehouse(lines, what, "receives into", "receipt")
    assert warehouse is not None
    return GoodsReceipt(
        source="accurate",
        source_label=LABEL,
        source_number=number,
        integration=integration.name,
        outlet_code=_outlet_of(warehouse, what, integration),
        received_at=_trans_date(detail.get("transDate"), integration.timezone, what),
        lines=[line for line, _warehouse in lines],
        supplier=_supplier(detail),
        source_document_id=None if detail.get("id", receive_item_id) is None
        else str(detail.get("id", receive_item_id)),
    )


def _write_receipt(detail: dict[str, Any], entry: dict[str, Any], pos: Engine, integration: Integration) -> Applied:
    receipt = receipt_from_detail(detail, integration, receive_item_id=entry.get("receiveItemId"))
    key = receipt.source_number
    if record_goods_receipt(pos, receipt):
        quantity = sum((line.quantity for line in receipt.lines), Decimal(0))
        return Applied("written", f"→ POS outlet {receipt.outlet_code}: {len(receipt.lines)} lines, +{quantity} in "
                                  "stock", key)
    if recorded_lines(pos, receipt.integration, key) == [(line.sku, line.quantity) for line in receipt.lines]:
        return Applied("unchanged", "already in the POS (an earlier delivery)", key)
    # A receive-item edited in Accurate after the POS took it: the POS keeps what it received (stock may have been
    # sold since); say so instead of skipping it quietly.
    return Applied("unchanged", f"receive-item {key} was changed in Accurate after the POS received it; the POS keeps "
                                "the first version: adjust the stock in the POS if the change is real", key, noted=True)


def _delete_receipt(key: str, entry: dict[str, Any], pos: Engine, integration: Integration) -> Applied:
    return Applied("ignored", f"receive-item {key}: action DELETE is not synced; a receipt already in the POS is not "
                              "reversed automatically (adjust the stock in the POS)")


# -------------------------------------------------------------------------------------- purchase orders


def _order_outlet(detail: dict[str, Any], lines: list[tuple[ReceiptLine, str | None]], what: str,
                  integration: Integration) -> str:
    """The outlet expecting the order: its lines' warehouse where Accurate names one, else its branch's outlet."""
    warehouse = _one_warehouse(lines, what, "orders for", "order")
    if warehouse is not None:
        return _outlet_of(warehouse, what, integration)
    branch = detail.get("branchName") or _name(detail.get("branch"))
    if not branch:
        raise AccurateDocumentError(
            f"{what} names neither a warehouse nor a branch: the POS cannot tell which outlet expects it "
            "(give it the outlet's branch in Accurate)")
    outlets = [code for code, mapping in integration.outlets.items() if mapping.branch == branch]
    if not outlets:
        raise AccurateDocumentError(
            f"Accurate branch '{branch}' of {what} is not the branch of a POS outlet (set outlets.<code>.branch for "
            f"integration {integration.name} in integrations.yaml)")
    if len(outlets) > 1:
        raise AccurateDocumentError(
            f"Accurate branch '{branch}' of {what} is the branch of several POS outlets ({', '.join(sorted(outlets))}):"
            " the POS cannot tell which one expects it (give each outlet its own branch)")
    return outlets[0]


def order_from_detail(detail: dict[str, Any], integration: Integration, *, order_id: Any = None) -> PurchaseOrder:
    """The POS purchase order of an Accurate purchase-order (``purchase-order/detail.do``'s ``d``)."""
    number = _number(detail, "purchase-order", order_id)
    what = f"purchase-order {number}"
    lines = _lines(detail, what, priced=True)
    ship = detail.get("shipDate")
    return PurchaseOrder(
        source="accurate",
        source_label=LABEL,
        source_number=number,
        integration=integration.name,
        outlet_code=_order_outlet(detail, lines, what, integration),
        ordered_at=_trans_date(detail.get("transDate"), integration.timezone, what),
        expected_at=None if ship in (None, "") else _trans_date(ship, integration.timezone, what, "shipDate"),
        lines=[line for line, _warehouse in lines],
        supplier=_supplier(detail),
        source_document_id=None if detail.get("id", order_id) is None else str(detail.get("id", order_id)),
    )


def _write_order(detail: dict[str, Any], entry: dict[str, Any], pos: Engine, integration: Integration) -> Applied:
    order = order_from_detail(detail, integration, order_id=entry.get("purchaseOrderId"))
    outcome = record_purchase_order(pos, order)
    if outcome == "unchanged":
        return Applied("unchanged", "already in the POS (an earlier delivery)", order.source_number)
    verb = "expected at" if outcome == "written" else f"changed in {LABEL}, updated at"
    return Applied("written", f"→ {verb} POS outlet {order.outlet_code}: {len(order.lines)} lines",
                   order.source_number)


def _delete_order(key: str, entry: dict[str, Any], pos: Engine, integration: Integration) -> Applied:
    document_id, number = entry.get("purchaseOrderId"), entry.get("purchaseOrderNo")
    outcome = cancel_purchase_order(pos, integration.name,
                                    source_document_id=None if document_id in (None, "") else str(document_id),
                                    source_number=None if number in (None, "") else str(number))
    if outcome == "cancelled":
        return Applied("written", "deleted in Accurate: cancelled in the POS", key)
    if outcome == "already cancelled":
        return Applied("unchanged", "already cancelled in the POS (an earlier delivery)", key)
    return Applied("ignored", f"purchase-order {key} was deleted in Accurate and was never in the POS")


# --------------------------------------------------------------------------------------------- transfers

#: possync's own item transfers: ``<POS transfer number>/OUT`` or ``/IN`` (``targets.base.senders.transfer_number``)
_SENT_BY_POSSYNC = re.compile(r"^(?P<pos>.+)/(?:OUT|IN)$")


def _sent_by_possync(number: str | None, pos: Engine) -> str | None:
    """The POS transfer possync sent as Accurate item transfer ``number``, if it did."""
    match = _SENT_BY_POSSYNC.match(number or "")
    if match is None:
        return None
    found = pos_transfer(pos, match["pos"])
    return match["pos"] if found is not None and found["origin"] is None else None


def _warehouses(detail: dict[str, Any]) -> tuple[str | None, str | None]:
    """(``warehouseName``, ``referenceWarehouseName``): source and destination of an OUT, the reverse of an IN."""
    return (detail.get("warehouseName") or _name(detail.get("warehouse")),
            detail.get("referenceWarehouseName") or _name(detail.get("referenceWarehouse")))


def _write_transfer(detail: dict[str, Any], entry: dict[str, Any], pos: Engine, integration: Integration) -> Applied:
    number = _number(detail, "item-transfer", entry.get("itemTransferId"))
    what = f"item-transfer {number}"
    kind = detail.get("itemTransferType")
    out_number = detail.get("fromItemTransferNo") or (detail.get("fromItemTransfer") or {}).get("number")
    own = _sent_by_possync(number, pos) or (_sent_by_possync(out_number, pos) if kind == "TRANSFER_IN" else None)
    if own is not None:
        return Applied("ignored", f"{what} belongs to POS transfer {own}, which possync sent to Accurate: "
                                  "nothing to write back")
    here, there = _warehouses(detail)
    if kind not in ("TRANSFER_OUT", "TRANSFER_IN"):
        raise AccurateDocumentError(f"{what}: itemTransferType {kind!r} is neither TRANSFER_OUT nor TRANSFER_IN")
    if not here or not there:
        raise AccurateDocumentError(f"{what} names no {'warehouse' if not here else 'reference warehouse'}")
    mapped = {mapping.warehouse for mapping in integration.outlets.values()}
    if here not in mapped and there not in mapped:
        return Applied("ignored", f"{what} moves goods between Accurate warehouses '{here}' and '{there}', neither "
                                  "a POS outlet: nothing for the POS")
    lines = [line for line, _warehouse in _lines(detail, what, priced=False)]
    moment = _trans_date(detail.get("transDate"), integration.timezone, what)
    note = f"Accurate item transfer {number}" + (f": {detail['description']}" if detail.get("description") else "")
    if kind == "TRANSFER_OUT":
        sent = TransferSent(number=number, integration=integration.name, source_label=LABEL,
                            from_outlet_code=_outlet_of(here, what, integration),
                            to_outlet_code=_outlet_of(there, what, integration), sent_at=moment, lines=lines,
                            note=note[:2000])
        if not record_transfer_sent(pos, sent):
            held = pos_transfer(pos, number)
            if held is not None and [(sku, q) for sku, q, _received in held["lines"]] != [
                    (line.sku, line.quantity) for line in lines]:
                # edited in Accurate after the POS took it: the POS keeps what it moved, as for a receive-item
                return Applied("unchanged", f"{what} was changed in Accurate after the POS took it; the POS keeps the "
                                            "first version: adjust the stock in the POS if the change is real",
                               number, noted=True)
            return Applied("unchanged", "already in the POS (an earlier delivery)", number)
        quantity = sum((line.quantity for line in lines), Decimal(0))
        return Applied("written", f"→ POS transfer {number} sent {sent.from_outlet_code} → {sent.to_outlet_code}: "
                                  f"{len(lines)} lines, -{quantity} in stock at {sent.from_outlet_code}", number)
    if not out_number:
        raise AccurateDocumentError(f"{what} is a TRANSFER_IN that names no fromItemTransferNo")
    received = TransferReceived(number=str(out_number), receipt_number=number, integration=integration.name,
                                source_label=LABEL, to_outlet_code=_outlet_of(here, what, integration),
                                received_at=moment, lines=lines)
    if not record_transfer_received(pos, received):
        return Applied("unchanged", f"transfer {out_number} already received in the POS (an earlier delivery)",
                       number)
    quantity = sum((line.quantity for line in lines), Decimal(0))
    return Applied("written", f"→ POS transfer {out_number} received at {received.to_outlet_code}: +{quantity} in "
                              "stock", number)


def _delete_transfer(key: str, entry: dict[str, Any], pos: Engine, integration: Integration) -> Applied:
    return Applied("ignored", f"item-transfer {key}: action DELETE is not synced; a transfer already in the POS is "
                              "not reversed automatically (cancel it or adjust the stock in the POS)")


# ------------------------------------------------------------------------------------------ the event loop


@dataclass(frozen=True)
class DocumentKind:
    """How one webhook type reaches the POS: the Accurate module its entries name (``<prefix>Id`` /
    ``<prefix>No``), the record type of its log lines, the summary counters it adds to, and its two actions."""

    module: str
    prefix: str
    record_type: str
    counter: str
    write: Callable[[dict[str, Any], dict[str, Any], Engine, Integration], Applied]
    delete: Callable[[str, dict[str, Any], Engine, Integration], Applied]


KINDS: dict[str, DocumentKind] = {
    "RECEIVE_ITEM": DocumentKind("receive-item", "receiveItem", "goods_receipt", "receipts",
                                 _write_receipt, _delete_receipt),
    "PURCHASE_ORDER": DocumentKind("purchase-order", "purchaseOrder", "purchase_order", "orders",
                                   _write_order, _delete_order),
    "ITEM_TRANSFER": DocumentKind("item-transfer", "itemTransfer", "transfer", "transfers",
                                  _write_transfer, _delete_transfer),
}


def _entry_key(kind: DocumentKind, entry: dict[str, Any]) -> str:
    number, document_id = entry.get(f"{kind.prefix}No"), entry.get(f"{kind.prefix}Id")
    return str(number or (f"#{document_id}" if document_id not in (None, "") else "?"))


def _read(hook: DetailReader, kind: DocumentKind, entry: dict[str, Any]) -> dict[str, Any] | None:
    document_id, number = entry.get(f"{kind.prefix}Id"), entry.get(f"{kind.prefix}No")
    detail = hook.detail(kind.module, id=document_id) if document_id not in (None, "") else None
    if detail is None and number not in (None, ""):
        detail = hook.detail(kind.module, number=number)
    return detail


def _apply(kind: DocumentKind, key: str, entry: dict[str, Any], hook: DetailReader, pos: Engine,
           integration: Integration) -> Applied:
    action = str(entry.get("action") or "").upper()
    if action == "DELETE":
        return kind.delete(key, entry, pos, integration)
    if action != "WRITE":
        return Applied("ignored", f"{kind.module} {key}: action {action or 'missing'} is not synced")
    detail = _read(hook, kind, entry)
    if detail is None:
        return Applied("ignored", f"{kind.module} {key} no longer exists in Accurate (deleted after it was saved)")
    return kind.write(detail, entry, pos, integration)


def _process_event(event: WebhookEvent, hook: DetailReader, pos_engine: Engine, integration: Integration,
                   logger: Any, summary: InboundSummary, *, last_try: bool = True) -> tuple[str, str | None]:
    """(status, reason) for one event; raises TransientTargetError with nothing marked. Unless ``last_try``, an
    event whose only failures are transfer-ins delivered before their transfer-outs is ``later``: Accurate's
    deliveries need not arrive in order, and the run tries it again after the others."""
    kind = KINDS.get(event.event_type)
    if kind is None:
        reason = f"{event.event_type} events are not synced to the POS (only {', '.join(KINDS)})"
        log_record(logger, "SKIPPED", "webhook", event.document_numbers or event.uuid, reason)
        return "ignored", reason
    entries = event.entries
    if not entries:
        reason = "the envelope has no data entries"
        log_record(logger, "SKIPPED", kind.record_type, event.uuid, reason)
        return "ignored", reason

    failures: list[str] = []
    ignored: list[str] = []
    waiting = False
    for entry in entries:
        key = _entry_key(kind, entry)
        try:
            applied = _apply(kind, key, entry, hook, pos_engine, integration)
        except TransientTargetError:
            raise
        except RejectedError as error:
            reason = f"{kind.module} {key}: Accurate refused to return it: {error.message}"
        except TransferNotInPos as error:
            if not last_try:
                log_record(logger, "SKIPPED", kind.record_type, key, f"{error}; tried again at the end of this run")
                waiting = True
                continue
            reason = str(error)
        except (AccurateDocumentError, GoodsReceiptError) as error:
            reason = str(error)
        else:
            key = applied.key or key
            if applied.outcome == "ignored" or applied.noted:
                ignored.append(applied.message)
            if applied.outcome != "ignored":
                counter = f"{kind.counter}_{applied.outcome}"
                setattr(summary, counter, getattr(summary, counter) + 1)
            log_record(logger, "SYNCED" if applied.outcome == "written" else "SKIPPED", kind.record_type, key,
                       applied.message)
            continue
        log_record(logger, "FAILED", kind.record_type, key, reason)
        failures.append(reason)

    if failures:
        return "failed", "; ".join(failures)
    if waiting:
        return "later", None
    if ignored and len(ignored) == len(entries):
        return "ignored", "; ".join(ignored)
    return "processed", "; ".join(ignored) or None


def parse_delivery(body: bytes) -> list[dict[str, Any]]:
    """The envelopes of an Accurate delivery (``{"databaseId", "type", "timestamp", "uuid", "data": [...]}``),
    or ``BadDelivery`` naming what is wrong."""
    try:
        parsed = json.loads(body, parse_float=Decimal)  # amounts exact, as in the hooks
    except (ValueError, UnicodeDecodeError) as error:
        raise BadDelivery(f"body is not JSON ({error})") from None
    if isinstance(parsed, dict) and "uuid" in parsed:
        parsed = [parsed]  # tolerate a single envelope not wrapped in an array
    if not isinstance(parsed, list):
        raise BadDelivery(f"expected a JSON array of webhook envelopes, got a JSON {type(parsed).__name__}")
    if not parsed:
        raise BadDelivery("the array of webhook envelopes is empty")
    for index, envelope in enumerate(parsed):
        if not isinstance(envelope, dict):
            raise BadDelivery(f"envelope [{index}] is not an object")
        for field in ("uuid", "type"):
            value = envelope.get(field)
            if not isinstance(value, str) or not value.strip():
                raise BadDelivery(f"envelope [{index}] has no {field!r} (a non-empty string)")
        if len(envelope["uuid"]) > 64:
            raise BadDelivery(f"envelope [{index}]: 'uuid' is longer than 64 characters")
        if not isinstance(envelope.get("data"), list | dict):
            raise BadDelivery(f"envelope [{index}] has no 'data' (an array of entries)")
    return parsed


def process_pending(webhook_log: WebhookLog, hook: DetailReader, pos_engine: Engine, integration: Integration,
                    logger: logging.Logger | logging.LoggerAdapter | Any, *, limit: int = 500) -> InboundSummary:
    """Process the integration's pending webhook events, oldest first; see the module docstring."""
    summary = InboundSummary()
    later: list[WebhookEvent] = []

    def process(event: WebhookEvent, last_try: bool) -> None:
        try:
            status, reason = _process_event(event, hook, pos_engine, integration, logger, summary,
                                            last_try=last_try)
        except TransientTargetError as error:
            logger.warning("stopped at webhook event %s (left pending, retried next): %s", event.uuid, error)
            logger.info("%s", summary.line())
            raise
        if status == "later":
            later.append(event)
            return
        summary.events += 1
        if status == "processed":
            webhook_log.mark_processed(event.id, reason=reason)
            summary.processed += 1
        elif status == "ignored":
            webhook_log.mark_ignored(event.id, reason or "nothing to do")
            summary.ignored += 1
        else:
            failing = webhook_log.mark_failed(event.id, reason or "failed")
            summary.failed += 1
            summary.failed_events.append(
                FailedRecord("webhook", event.document_numbers or event.uuid, reason or "failed", failing))

    for event in webhook_log.pending(integration.name, limit=limit):
        process(event, last_try=False)
    for event in later:  # transfer-ins delivered before their transfer-outs, once the others are written
        process(event, last_try=True)
    logger.info("%s", summary.line())
    return summary
