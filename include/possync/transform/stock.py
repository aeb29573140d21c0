"""POS stock moves → canonical documents: transfers (each side its own document), adjustments, stock takes.

A POS transfer becomes two documents with the transfer's number as their key: a ``TransferOut`` when the
goods leave the source (they are in transit from then on) and a ``TransferIn`` when they arrive, carrying
both the sent and the received quantities (the difference was lost in transit). Each side is validated
on its own, so a transfer-in can wait for a transfer-out that failed: a transfer received but never
recorded as sent (an offline till that lost its data) fails its transfer-out with that reason, and the
transfer-in then fails in the loader because its transfer-out is not synced. A product without a SKU
fails the document that moves it, naming the product. A stock take's lines carry the counted and the
expected quantity; an adjustment's, the signed difference.

Documents come out oldest first (by their business time, then number). Volumes are small (tens of
documents per outlet and day), so rows are read one by one after the extract's exact-typed frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from possync.documents import Rejection, StockAdjustment, StockLine, StockTake, TransferIn, TransferOut
from possync.pos.extract import StockFrames

ZERO = Decimal("0.000")


@dataclass
class StockBatch:
    transfer_outs: list[TransferOut] = field(default_factory=list)
    transfer_ins: list[TransferIn] = field(default_factory=list)
    adjustments: list[StockAdjustment] = field(default_factory=list)
    stock_takes: list[StockTake] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def documents(self) -> list[Any]:
        """Every document in load order: transfer-outs before the transfer-ins that need them, then stock."""
        return [*self.transfer_outs, *self.transfer_ins, *self.adjustments, *self.stock_takes]


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) or str(value).strip() == "" else str(value)


def _local(moment: Any, timezone: str) -> datetime | None:
    if moment is None or pd.isna(moment):
        return None
    return pd.Timestamp(moment).tz_convert(ZoneInfo(timezone)).to_pydatetime()


def _no_sku(lines: Iterable[Any]) -> str | None:
    """The plain reason a document cannot go: its first product without a SKU."""
    for line in lines:
        if _text(line.sku) is None:
            return f"product '{line.product_name}' has no SKU"
    return None


def _unreadable(lines: Iterable[Any]) -> str | None:
    """The values of a document's lines the extract could not read, naming each line, or None."""
    reasons = [f"line {line.line_no} ('{line.product_name}'): {value}"
               for line in lines for value in (getattr(line, "unreadable", None) or ())]
    return "; ".join(reasons) or None


def _lines_by(frame: pd.DataFrame, key: str) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for line in frame.itertuples(index=False):
        grouped.setdefault(int(getattr(line, key)), []).append(line)
    return grouped


def _transfers(frames: StockFrames, outlets: set[str] | None, until: datetime | None, batch: StockBatch) -> None:
    lines = _lines_by(frames.transfer_lines, "transfer_id")
    for transfer in frames.transfers.itertuples(index=False):
        transfer_lines = lines.get(int(transfer.transfer_id), [])
        from_code, to_code = _text(transfer.from_code), _text(transfer.to_code)
        # an outlet missing from the POS has no timezone: its side's time is read in the other outlet's
        sent_at = _local(transfer.sent_at, _text(transfer.from_timezone) or _text(transfer.to_timezone) or "UTC")
        received_at = _local(transfer.received_at,
                             _text(transfer.to_timezone) or _text(transfer.from_timezone) or "UTC")
        note = _text(transfer.note)
        missing_sku = _unreadable(transfer_lines) or _no_sku(transfer_lines)
        sent_problem = _time_reason("transfer", transfer, "transfers.sent_at", "sent time")
        received_problem = _time_reason("transfer", transfer, "transfers.received_at", "received time")
        if until is not None:  # a side that happens after the window is the next window's
            sent_at = sent_at if sent_at is None or sent_at < until else None
            received_at = received_at if received_at is None or received_at < until else None
            if sent_at is None and received_at is None and not (sent_problem or received_problem):
                continue
        if from_code is not None and (outlets is None or from_code in outlets):
            reason = missing_sku or (None if transfer_lines else "it has no lines")
            if to_code is None:
                reason = (f"transfer {transfer.number} goes to outlet id {transfer.to_outlet_id}, which is not in "
                          "the POS")
            elif sent_problem:
                reason = sent_problem
            elif sent_at is None:
                reason = (
                    f"transfer {transfer.number} was received at {transfer.to_code} but never recorded as sent "
                    f"at {transfer.from_code} (no sent time); repair it in the POS"
                )
            if reason:
                batch.rejections.append(Rejection("transfer_out", transfer.number, reason,
                                                  transfer.from_code, sent_at or received_at))
            else:
                batch.transfer_outs.append(TransferOut(
                    key=transfer.number, outlet_code=transfer.from_code, to_outlet_code=transfer.to_code,
                    business_time=sent_at,  # type: ignore[arg-type]
                    lines=tuple(StockLine(int(line.line_no), str(line.sku), line.product_name,
                                          line.quantity_sent, line.unit_cost) for line in transfer_lines),
                    note=note,
                ))
        if (received_at is None and not received_problem) or to_code is None or not (
                outlets is None or to_code in outlets):
            continue
        reason = received_problem or missing_sku or (None if transfer_lines else "it has no lines")
        if from_code is None:
            reason = (f"transfer {transfer.number} comes from outlet id {transfer.from_outlet_id}, which is not in "
                      "the POS")
        for line in transfer_lines:
            received = line.quantity_received if line.quantity_received is not None else ZERO
            if reason is None and received > line.quantity_sent:
                reason = (f"line {line.line_no} receives {received} of '{line.product_name}' "
                          f"but only {line.quantity_sent} were sent")
        if reason:
            batch.rejections.append(Rejection("transfer_in", transfer.number, reason, transfer.to_code, received_at))
            continue
        batch.transfer_ins.append(TransferIn(
            key=transfer.number, outlet_code=transfer.to_code, from_outlet_code=transfer.from_code,
            business_time=received_at,
            lines=tuple(
                StockLine(int(line.line_no), str(line.sku), line.product_name,
                          line.quantity_received if line.quantity_received is not None else ZERO,
                          line.unit_cost, sent=line.quantity_sent)
                for line in transfer_lines
            ),
            note=note,
        ))


def _bad_time(row: Any, column: str) -> Any | None:
    """The extract's ``Unreadable`` for ``column`` of this row, if its stored time could not be read."""
    return next((value for value in (getattr(row, "unreadable", None) or ()) if str(value.column) == column), None)


def _time_reason(what: str, row: Any, column: str, label: str) -> str | None:
    """Why a record's own time cannot be used: it is empty, or it is no time."""
    bad = _bad_time(row, column)
    if bad is None:
        return None
    if bad.value is None or (isinstance(bad.value, str) and not bad.value.strip()):
        return f"{what} {row.number} has no {label}"
    return f"{what} {row.number} {label} {bad.value!r} is not a time"


def _adjustments(frames: StockFrames, batch: StockBatch) -> None:
    lines = _lines_by(frames.adjustment_lines, "adjustment_id")
    for adjustment in frames.adjustments.itertuples(index=False):
        record_type = "stock_take" if adjustment.kind == "stock_take" else "adjustment"
        when = _local(adjustment.business_time, adjustment.outlet_timezone)
        adjustment_lines = lines.get(int(adjustment.adjustment_id), [])
        reason = (_time_reason(record_type.replace("_", " "), adjustment, "stock_adjustments.business_time",
                               "business time")
                  or (f"{record_type.replace('_', ' ')} {adjustment.number} has no business time" if when is None
                      else None)
                  or _unreadable(adjustment_lines) or _no_sku(adjustment_lines)
                  or (None if adjustment_lines else "it has no lines"))
        if reason is None and record_type == "stock_take":
            uncounted = next((line for line in adjustment_lines if line.counted_quantity is None), None)
            if uncounted is not None:
                reason = f"line {uncounted.line_no} ('{uncounted.product_name}') has no counted quantity"
        if reason is None and record_type == "adjustment":
            blank = next((line for line in adjustment_lines if line.quantity_change is None), None)
            if blank is not None:
                reason = f"line {blank.line_no} ('{blank.product_name}') has no quantity change"
        if reason:
            batch.rejections.append(Rejection(record_type, adjustment.number, reason, adjustment.outlet_code, when))
            continue
        common = {"key": adjustment.number, "outlet_code": adjustment.outlet_code, "business_time": when,
                  "reason": _text(adjustment.reason)}
        if record_type == "stock_take":
            batch.stock_takes.append(StockTake(**common, lines=tuple(
                StockLine(int(line.line_no), str(line.sku), line.product_name, line.counted_quantity,
                          line.unit_cost, expected=line.expected_quantity if line.expected_quantity is not None
                          else line.counted_quantity - (line.quantity_change or ZERO))
                for line in adjustment_lines
            )))
        else:
            batch.adjustments.append(StockAdjustment(**common, lines=tuple(
                StockLine(int(line.line_no), str(line.sku), line.product_name, line.quantity_change, line.unit_cost)
                for line in adjustment_lines if line.quantity_change != 0
            )))


def transform_stock(
    frames: StockFrames, outlets: Iterable[str] | None = None, until: datetime | None = None
) -> StockBatch:
    """Turn one stock extract into documents and rejections, each kind oldest first.

    ``outlets`` limits transfers to the sides at those outlets (a transfer-out belongs to its source, a
    transfer-in to its destination); ``None`` keeps both sides of every transfer read. A transfer read for
    one side brings its other side along when that happened before ``until`` (the window's end): an in
    never waits for an out no run would read (a manual sync of the day it arrived), and the loader skips
    the side that is already synced.
    """
    batch = StockBatch()
    _transfers(frames, None if outlets is None else set(outlets), until, batch)
    _adjustments(frames, batch)
    for documents in (batch.transfer_outs, batch.transfer_ins, batch.adjustments, batch.stock_takes):
        documents.sort(key=lambda document: (document.business_time, document.key))
    return batch
