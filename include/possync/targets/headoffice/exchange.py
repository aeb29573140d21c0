"""Receive and send, as plain functions over two engines (the POS and the HO database): testable without
Airflow, called by the operators.

* ``receive``: apply every document HO published for the store, items first, each in its own POS
  transaction, and acknowledge it to HO: ``PROCESSED``, or ``FAILED`` with the reason (an unknown item, a
  store that is not a POS outlet). A failed document does not stop the others.
* ``send``: record the store's new or changed documents as business events (the POS outbox), bring back
  HO's verdict on what was uploaded before (``processed``, or ``failed`` with HO's reason), then upload the
  pending events oldest first (``UPLOADED``). An event whose version HO already holds (the store crashed
  after uploading it) is marked uploaded, never uploaded twice.

Every document gets one log line (``possync.recordlog``) and each step a closing summary whose counts add up.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from possync.pos import schema as pos
from possync.pos.outbox import capture_events
from possync.recordlog import log_record
from possync.targets.headoffice import schema as ho

log = logging.getLogger(__name__)


class NotApplicable(ValueError):
    """An HO document the store cannot apply as it is; the message is the reason HO sees."""


@dataclass
class ReceiveSummary:
    store: str
    applied: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        return self.applied + self.failed

    def as_dict(self) -> dict[str, Any]:
        return {"store": self.store, "read": self.read, "applied": self.applied, "failed": self.failed}


@dataclass
class SendSummary:
    store: str
    recorded: int = 0
    uploaded: int = 0
    skipped: int = 0  # HO already held that version
    processed: int = 0  # HO's verdicts brought back this run
    rejected: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        return self.uploaded + self.skipped

    def as_dict(self) -> dict[str, Any]:
        return {"store": self.store, "recorded": self.recorded, "read": self.read, "uploaded": self.uploaded,
                "skipped": self.skipped, "processed": self.processed, "rejected": self.rejected}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise NotApplicable(f"time {value!r} has no timezone")
    return moment


def _outlet_id(conn: Connection, store: str) -> int:
    outlet = conn.execute(select(pos.outlets.c.id).where(pos.outlets.c.code == store)).scalar()
    if outlet is None:
        raise NotApplicable(f"store {store!r} is not an outlet of this POS")
    return outlet


def _product_id(conn: Connection, sku: str | None) -> int:
    product = conn.execute(select(pos.products.c.id).where(pos.products.c.sku == sku)).scalar() if sku else None
    if product is None:
        raise NotApplicable(f"unknown item {sku!r}: no POS product has that SKU")
    return product


def _upsert(conn: Connection, table: Any, where: dict[str, Any], values: dict[str, Any]) -> int:
    found = conn.execute(select(table.c.id).where(*(table.c[k] == v for k, v in where.items()))).scalar()
    if found is None:
        return conn.execute(insert(table).values(**where, **values)).inserted_primary_key[0]
    conn.execute(update(table).where(table.c.id == found).values(**values))
    return found


def _apply_item(conn: Connection, store: str, doc: dict[str, Any], now: datetime) -> str:
    values = {"name": doc["name"], "category": doc.get("category"), "unit": doc.get("unit") or "pcs",
              "barcode": doc.get("barcode"), "price": Decimal(doc["price"]),
              "cost": Decimal(doc.get("cost") or "0"), "tax_rate": Decimal(doc.get("tax_rate") or "0"),
              "active": bool(doc.get("active", True)), "updated_at": now}
    _upsert(conn, pos.products, {"sku": doc["sku"]}, values)
    return f"{doc['name']} at {values['price']}"


def _apply_price(conn: Connection, store: str, doc: dict[str, Any], now: datetime) -> str:
    product = _product_id(conn, doc["sku"])
    conn.execute(update(pos.products).where(pos.products.c.id == product)
                 .values(price=Decimal(doc["price"]), updated_at=now))
    return f"price {doc['price']}"


def _apply_promotion(conn: Connection, store: str, doc: dict[str, Any], now: datetime) -> str:
    values = {"name": doc["name"], "outlet_id": _outlet_id(conn, store), "product_id": _product_id(conn, doc["sku"]),
              "discount_percent": Decimal(doc["discount_percent"]) if doc.get("discount_percent") else None,
              "promo_price": Decimal(doc["promo_price"]) if doc.get("promo_price") else None,
              "starts_at": _when(doc["starts_at"]), "ends_at": _when(doc["ends_at"]),
              "active": bool(doc.get("active", True)), "updated_at": now}
    if values["discount_percent"] is None and values["promo_price"] is None:
        raise NotApplicable("promotion has neither discount_percent nor promo_price")
    _upsert(conn, pos.promotions, {"code": doc["code"]}, values)
    return f"{doc['name']} on {doc['sku']}, {doc['starts_at'][:10]} → {doc['ends_at'][:10]}"


def _apply_order(kind: str) -> Any:
    def apply(conn: Connection, store: str, doc: dict[str, Any], now: datetime) -> str:
        lines = [(_product_id(conn, line["sku"]), line) for line in doc["lines"]]  # all resolved before writing
        if not lines:
            raise NotApplicable(f"{kind.replace('_', ' ')} has no lines")
        order_id = _upsert(conn, pos.supply_orders, {"kind": kind, "number": doc["number"]}, {
            "outlet_id": _outlet_id(conn, store), "ordered_at": _when(doc["ordered_at"]),
            "expected_at": _when(doc.get("expected_at")), "note": doc.get("note"), "updated_at": now})
        conn.execute(pos.supply_order_lines.delete().where(pos.supply_order_lines.c.order_id == order_id))
        conn.execute(insert(pos.supply_order_lines), [
            {"order_id": order_id, "line_no": n, "product_id": product, "quantity": Decimal(line["quantity"]),
             "unit_price": Decimal(line["unit_price"]) if line.get("unit_price") else None}
            for n, (product, line) in enumerate(lines, start=1)])
        return f"{len(lines)} line(s)"
    return apply


def _apply_audit_plan(conn: Connection, store: str, doc: dict[str, Any], now: datetime) -> str:
    products = sorted({_product_id(conn, sku) for sku in doc["skus"]})
    plan_id = _upsert(conn, pos.audit_plans, {"number": doc["number"]},
                      {"outlet_id": _outlet_id(conn, store), "planned_for": doc["planned_for"], "updated_at": now})
    conn.execute(pos.audit_plan_items.delete().where(pos.audit_plan_items.c.plan_id == plan_id))
    conn.execute(insert(pos.audit_plan_items), [{"plan_id": plan_id, "product_id": p} for p in products])
    return f"count {len(products)} item(s) on {doc['planned_for']}"


APPLY = {
    "item": _apply_item, "price": _apply_price, "promotion": _apply_promotion,
    "transfer_order": _apply_order("transfer_order"), "sales_order": _apply_order("sales_order"),
    "invoice": _apply_order("invoice"), "audit_plan": _apply_audit_plan,
}


def _set_status(conn: Connection, document_id: int, status: str, by: str, now: datetime,
                reason: str | None = None) -> None:
    conn.execute(update(ho.ho_documents).where(ho.ho_documents.c.id == document_id)
                 .values(status=status, reason=reason, updated_at=now))
    conn.execute(insert(ho.ho_document_log).values(document_id=document_id, status=status, at=now, by=by,
                                                   reason=reason))


def receive(pos_engine: Engine, ho_engine: Engine, store: str, *, logger: Any = log,
            now: datetime | None = None) -> ReceiveSummary:
    """Apply what HO published for ``store`` (not yet processed), items first, and acknowledge each document."""
    d = ho.ho_documents
    order = {t: n for n, t in enumerate(ho.PUBLISHED_TYPES)}
    with ho_engine.connect() as conn:
        pending = conn.execute(select(d.c.id, d.c.doc_type, d.c.doc_key, d.c.payload).where(
            d.c.direction == ho.TO_STORE, d.c.store_code == store, d.c.status == ho.PUBLISHED)).all()
    pending.sort(key=lambda row: (order.get(row.doc_type, len(order)), row.id))
    summary = ReceiveSummary(store)
    for row in pending:
        moment = _now(now)
        try:
            apply = APPLY.get(row.doc_type)
            if apply is None:
                raise NotApplicable(f"this store does not take {row.doc_type!r} documents")
            with pos_engine.begin() as conn:
                detail = apply(conn, store, json.loads(row.payload), moment)
        except (NotApplicable, KeyError, ValueError, ArithmeticError) as error:
            reason = str(error) if isinstance(error, NotApplicable) else (
                f"missing field {error}" if isinstance(error, KeyError) else f"invalid value: {error}")
            with ho_engine.begin() as conn:
                _set_status(conn, row.id, ho.FAILED, store, moment, reason)
            summary.failed += 1
            summary.failures.append(f"{row.doc_type} {row.doc_key}: {reason}")
            log_record(logger, "FAILED", row.doc_type, row.doc_key, reason)
            continue
        with ho_engine.begin() as conn:
            _set_status(conn, row.id, ho.PROCESSED, store, moment)
        summary.applied += 1
        log_record(logger, "APPLIED", row.doc_type, row.doc_key, f"{detail}; acknowledged PROCESSED")
    logger.info("received from head office for %s: read = %d = %d applied + %d failed",
                store, summary.read, summary.applied, summary.failed)
    return summary


def _collect_verdicts(pos_engine: Engine, ho_engine: Engine, store: str, summary: SendSummary, logger: Any,
                      now: datetime) -> None:
    e, d = pos.business_events, ho.ho_documents
    with pos_engine.connect() as conn:
        waiting = conn.execute(select(e.c.id, e.c.kind, e.c.document_key, e.c.content_hash)
                               .where(e.c.outlet_code == store, e.c.status == "uploaded").order_by(e.c.id)).all()
    if not waiting:
        return
    with ho_engine.connect() as conn:
        verdicts = {
            (row.doc_type, row.doc_key, row.content_hash): (row.status, row.reason)
            for row in conn.execute(select(d.c.doc_type, d.c.doc_key, d.c.content_hash, d.c.status, d.c.reason).where(
                d.c.direction == ho.FROM_STORE, d.c.store_code == store, d.c.status.in_((ho.PROCESSED, ho.FAILED))))
        }
    for event in waiting:
        verdict = verdicts.get((event.kind, event.document_key, event.content_hash))
        if verdict is None:
            continue
        status, reason = verdict
        with pos_engine.begin() as conn:
            conn.execute(update(e).where(e.c.id == event.id).values(
                status="processed" if status == ho.PROCESSED else "failed", reason=reason, acknowledged_at=now))
        if status == ho.PROCESSED:
            summary.processed += 1
            log_record(logger, "PROCESSED", event.kind, event.document_key, "head office applied it")
        else:
            summary.rejected += 1
            summary.failures.append(f"{event.kind} {event.document_key}: {reason}")
            log_record(logger, "FAILED", event.kind, event.document_key, f"head office rejected it: {reason}")


def send(pos_engine: Engine, ho_engine: Engine, store: str, *, customers: bool = False,
         start: datetime | None = None, lookback: timedelta = timedelta(hours=48), logger: Any = log,
         now: datetime | None = None) -> SendSummary:
    """Record the store's new events, bring back HO's verdicts, upload what is pending (oldest first).

    ``customers``: this store also sends the chain's customers (POS customers belong to no outlet).
    """
    kinds = ("customer", "sale", "goods_received", "goods_returned") if customers else (
        "sale", "goods_received", "goods_returned")
    moment = _now(now)
    summary = SendSummary(store)
    summary.recorded = capture_events(pos_engine, store, kinds=kinds, start=start, lookback=lookback, now=moment)
    _collect_verdicts(pos_engine, ho_engine, store, summary, logger, moment)

    e, d = pos.business_events, ho.ho_documents
    with pos_engine.connect() as conn:
        pending = conn.execute(select(e).where(e.c.outlet_code == store, e.c.status == "pending")
                               .order_by(e.c.id)).all()
    for event in pending:
        moment = _now(now)
        with ho_engine.begin() as conn:
            held = conn.execute(select(d.c.id, d.c.status).where(
                d.c.direction == ho.FROM_STORE, d.c.store_code == store, d.c.doc_type == event.kind,
                d.c.doc_key == event.document_key, d.c.content_hash == event.content_hash)).first()
            if held is None:
                document_id = conn.execute(insert(d).values(
                    direction=ho.FROM_STORE, store_code=store, doc_type=event.kind, doc_key=event.document_key,
                    content_hash=event.content_hash, payload=event.payload, status=ho.UPLOADED, created_at=moment,
                    updated_at=moment)).inserted_primary_key[0]
                conn.execute(insert(ho.ho_document_log).values(document_id=document_id, status=ho.UPLOADED,
                                                               at=moment, by=store))
        with pos_engine.begin() as conn:
            conn.execute(update(e).where(e.c.id == event.id).values(status="uploaded", sent_at=moment))
        if held is None:
            summary.uploaded += 1
            log_record(logger, "UPLOADED", event.kind, event.document_key, f"→ head office #{document_id}")
        else:
            summary.skipped += 1
            log_record(logger, "SKIPPED", event.kind, event.document_key,
                       f"head office already holds this version (#{held.id}, {held.status})")
    logger.info(
        "sent to head office from %s: %d new event(s) recorded; read = %d = %d uploaded + %d skipped; "
        "head office verdicts on earlier uploads: %d processed, %d failed",
        store, summary.recorded, summary.read, summary.uploaded, summary.skipped, summary.processed, summary.rejected)
    return summary


def status_report(ho_engine: Engine, stores: list[str] | None = None, *, limit: int = 500) -> dict[str, Any]:
    """Sent Data and Received Data, from the store's point of view, newest first, with status and reason."""
    d = ho.ho_documents
    query = select(d.c.id, d.c.direction, d.c.store_code, d.c.doc_type, d.c.doc_key, d.c.status, d.c.reason,
                   d.c.created_at, d.c.updated_at).order_by(d.c.id.desc()).limit(limit)
    if stores:
        query = query.where(d.c.store_code.in_(stores))
    report: dict[str, Any] = {"sent": [], "received": [], "counts": {}}
    with ho_engine.connect() as conn:
        for row in conn.execute(query):
            side = "sent" if row.direction == ho.FROM_STORE else "received"
            report[side].append({"store": row.store_code, "type": row.doc_type, "key": row.doc_key,
                                 "status": row.status, "reason": row.reason,
                                 "created_at": row.created_at, "updated_at": row.updated_at})
        counts_query = select(d.c.direction, d.c.status, func.count()).group_by(d.c.direction, d.c.status)
        if stores:
            counts_query = counts_query.where(d.c.store_code.in_(stores))
        for direction, status, count in conn.execute(counts_query):
            report["counts"].setdefault("sent" if direction == ho.FROM_STORE else "received", {})[status] = count
    return report
