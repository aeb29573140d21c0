"""Inbound from Accurate: goods received from suppliers (receive-items) become stock coming in at the POS.

Accurate pushes a webhook envelope when a receive-item is saved; the endpoint (``possync.webhooks_app``)
records it in the webhook log and triggers the integration's inbound DAG, whose task calls
``process_pending``. For every pending event (received, or failed earlier and retried now):

- ``RECEIVE_ITEM`` entries with action ``WRITE``: the receive-item is read back from Accurate
  (``receive-item/detail.do``, by id, else by number), its warehouse is mapped back to the POS outlet through
  ``integrations.yaml`` (``outlets.<code>.warehouse``), its lines' ``itemNo`` to POS SKUs, and it is written
  through ``possync.pos.receiving.record_goods_receipt`` (once per receive-item number, however many
  deliveries);
- ``DELETE`` entries and other event types are logged as ignored, with the reason;
- a receipt the POS cannot take (an item with no POS product of that SKU, an unmapped warehouse) fails the
  event with that reason; it stays pending, so once the POS is repaired the next run writes it;
- a transient Accurate error (timeout, 429, 5xx after the hook's retries) leaves the event pending and is
  raised, so Airflow retries the task.

One log line per receive-item (``SYNCED`` / ``SKIPPED`` / ``FAILED``), then a summary whose counts add up.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from possync.config import Integration
from possync.ledger.webhooks import WebhookEvent, WebhookLog
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

RECORD_TYPE = "goods_receipt"
RECEIVE_ITEM = "RECEIVE_ITEM"
SEN = Decimal("0.01")
MILLI = Decimal("0.001")


class DetailReader(Protocol):
    def detail(self, module: str, **key: Any) -> dict[str, Any] | None: ...


class ReceiveItemError(ValueError):
    """A receive-item the POS cannot take as it is (the reason names what to repair)."""


@dataclass
class InboundSummary:
    events: int = 0
    processed: int = 0
    ignored: int = 0
    failed: int = 0
    receipts_written: int = 0
    receipts_unchanged: int = 0
    #: the failed events with since when each has been failing for its reason (not part of ``as_dict``)
    failed_events: list[FailedRecord] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {name: value for name, value in asdict(self).items() if name != "failed_events"}

    def line(self) -> str:
        return (
            f"webhook events: {self.events} read = {self.processed} processed + {self.ignored} ignored + "
            f"{self.failed} failed; goods receipts: {self.receipts_written} written, "
            f"{self.receipts_unchanged} already in the POS"
        )


def _decimal(value: Any, what: str, quantum: Decimal) -> Decimal:
    try:
        exact = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ReceiveItemError(f"{what} {value!r} is not a number") from None
    if not exact.is_finite():
        raise ReceiveItemError(f"{what} {value!r} is not a number")
    return exact.quantize(quantum, rounding=ROUND_HALF_UP)


def _trans_date(value: Any, timezone: str, number: str) -> datetime:
    """Accurate's ``transDate`` (dd/MM/yyyy, the business day) as the UTC instant that day starts locally."""
    try:
        day = datetime.strptime(str(value), "%d/%m/%Y").date()
    except ValueError:
        raise ReceiveItemError(f"receive-item {number}: transDate {value!r} is not dd/MM/yyyy") from None
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


def receipt_from_detail(detail: dict[str, Any], integration: Integration, *, receive_item_id: Any = None
                        ) -> GoodsReceipt:
    """The POS goods receipt of an Accurate receive-item (``receive-item/detail.do``'s ``d``)."""
    number = str(detail.get("number") or "").strip()
    if not number:
        raise ReceiveItemError(f"receive-item {receive_item_id}: Accurate returned it without a number")
    lines_in = detail.get("detailItem") or []
    if not isinstance(lines_in, list) or not lines_in:
        raise ReceiveItemError(f"receive-item {number} has no item lines")

    outlet_by_warehouse = {mapping.warehouse: code for code, mapping in integration.outlets.items()}
    warehouses: list[str] = []
    lines: list[ReceiptLine] = []
    for position, line in enumerate(lines_in, 1):
        if not isinstance(line, dict):
            raise ReceiveItemError(f"receive-item {number}: line {position} is not an object")
        item = line.get("item") if isinstance(line.get("item"), dict) else {}
        item_no = line.get("itemNo") or item.get("no")
        item_name = line.get("itemName") or line.get("detailName") or item.get("name")
        warehouse = _warehouse(detail, line)
        if not warehouse:
            raise ReceiveItemError(f"receive-item {number}: line {position} names no warehouse")
        if warehouse not in warehouses:
            warehouses.append(warehouse)
        unit_price = line.get("unitPrice")
        lines.append(
            ReceiptLine(
                sku=str(item_no).strip() if item_no not in (None, "") else None,
                quantity=_decimal(line.get("quantity"), f"receive-item {number} line {position}: quantity", MILLI),
                unit_cost=None if unit_price in (None, "")
                else _decimal(unit_price, f"receive-item {number} line {position}: unitPrice", SEN),
                item_name=str(item_name) if item_name else None,
            )
        )
    if len(warehouses) > 1:
        raise ReceiveItemError(
            f"receive-item {number} receives into several warehouses ({', '.join(warehouses)}); "
            "the POS takes one outlet per receipt: split it in Accurate"
        )
    [warehouse] = warehouses
    outlet_code = outlet_by_warehouse.get(warehouse)
    if outlet_code is None:
        raise ReceiveItemError(
            f"Accurate warehouse '{warehouse}' of receive-item {number} is not mapped to a POS outlet "
            f"(set outlets.<code>.warehouse for integration {integration.name} in integrations.yaml)"
        )
    return GoodsReceipt(
        source="accurate",
        source_label="Accurate",
        source_number=number,
        integration=integration.name,
        outlet_code=outlet_code,
        received_at=_trans_date(detail.get("transDate"), integration.timezone, number),
        lines=lines,
        supplier=_supplier(detail),
        source_document_id=None if detail.get("id", receive_item_id) is None
        else str(detail.get("id", receive_item_id)),
    )


def _entry_key(entry: dict[str, Any]) -> str:
    return str(entry.get("receiveItemNo") or (f"#{entry['receiveItemId']}" if entry.get("receiveItemId") else "?"))


def _read_receive_item(hook: DetailReader, entry: dict[str, Any]) -> dict[str, Any] | None:
    item_id, item_no = entry.get("receiveItemId"), entry.get("receiveItemNo")
    detail = hook.detail("receive-item", id=item_id) if item_id not in (None, "") else None
    if detail is None and item_no not in (None, ""):
        detail = hook.detail("receive-item", number=item_no)
    return detail


def _same_lines(pos_engine: Engine, receipt: GoodsReceipt) -> bool:
    return recorded_lines(pos_engine, receipt.integration, receipt.source_number) == [
        (line.sku, line.quantity) for line in receipt.lines
    ]


def _process_event(event: WebhookEvent, hook: DetailReader, pos_engine: Engine, integration: Integration,
                   logger: Any, summary: InboundSummary) -> tuple[str, str | None]:
    """(status, reason) for one event; raises TransientTargetError with nothing marked."""
    if event.event_type != RECEIVE_ITEM:
        reason = f"{event.event_type} events are not synced to the POS (only RECEIVE_ITEM)"
        log_record(logger, "SKIPPED", RECORD_TYPE, event.document_numbers or event.uuid, reason)
        return "ignored", reason
    entries = event.entries
    if not entries:
        reason = "the envelope has no data entries"
        log_record(logger, "SKIPPED", RECORD_TYPE, event.uuid, reason)
        return "ignored", reason

    failures: list[str] = []
    ignored: list[str] = []
    for entry in entries:
        key = _entry_key(entry)
        action = str(entry.get("action") or "").upper()
        if action != "WRITE":
            reason = (
                f"receive-item {key}: action {action or 'missing'} is not synced; a receipt already in the POS "
                "is not reversed automatically (adjust the stock in the POS)"
                if action == "DELETE" else f"receive-item {key}: action {action or 'missing'} is not synced"
            )
            log_record(logger, "SKIPPED", RECORD_TYPE, key, reason)
            ignored.append(reason)
            continue
        try:
            detail = _read_receive_item(hook, entry)
            if detail is None:
                reason = f"receive-item {key} no longer exists in Accurate (deleted after it was saved)"
                log_record(logger, "SKIPPED", RECORD_TYPE, key, reason)
                ignored.append(reason)
                continue
            receipt = receipt_from_detail(detail, integration, receive_item_id=entry.get("receiveItemId"))
            key = receipt.source_number
            written = record_goods_receipt(pos_engine, receipt)
        except TransientTargetError:
            raise
        except RejectedError as error:
            reason = f"receive-item {key}: Accurate refused to return it: {error.message}"
        except (ReceiveItemError, GoodsReceiptError) as error:
            reason = str(error)
        else:
            if written:
                summary.receipts_written += 1
                quantity = sum((line.quantity for line in receipt.lines), Decimal(0))
                log_record(logger, "SYNCED", RECORD_TYPE, key,
                           f"→ POS outlet {receipt.outlet_code}: {len(receipt.lines)} lines, +{quantity} in stock")
            elif _same_lines(pos_engine, receipt):
                summary.receipts_unchanged += 1
                log_record(logger, "SKIPPED", RECORD_TYPE, key, "already in the POS (an earlier delivery)")
            else:
                # A receive-item edited in Accurate after the POS took it: the POS keeps what it received
                # (stock may have been sold since); say so instead of skipping it quietly.
                reason = (f"receive-item {key} was changed in Accurate after the POS received it; the POS keeps "
                          "the first version: adjust the stock in the POS if the change is real")
                summary.receipts_unchanged += 1
                log_record(logger, "SKIPPED", RECORD_TYPE, key, reason)
                ignored.append(reason)
            continue
        log_record(logger, "FAILED", RECORD_TYPE, key, reason)
        failures.append(reason)

    if failures:
        return "failed", "; ".join(failures)
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
    for event in webhook_log.pending(integration.name, limit=limit):
        try:
            status, reason = _process_event(event, hook, pos_engine, integration, logger, summary)
        except TransientTargetError as error:
            logger.warning("stopped at webhook event %s (left pending, retried next): %s", event.uuid, error)
            logger.info("%s", summary.line())
            raise
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
    logger.info("%s", summary.line())
    return summary
