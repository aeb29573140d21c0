"""Plays the head office for tests and the demo: publishes documents addressed to stores, and applies what
stores uploaded (``PROCESSED``, or ``FAILED`` with a reason such as an unknown item).

It imports only the HO schema, never the store-side exchange, so a misreading of the exchange cannot hide
behind the same misreading here: this is what HO's own system would do with the same tables.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from possync.targets.headoffice import schema as ho


def _now() -> datetime:
    return datetime.now(UTC)


class HeadOfficeSimulator:
    """HO's side of the exchange, on an HO database (created if missing).

    :param version: the schema version HO announces in ``ho_meta``.
    """

    def __init__(self, engine: Engine, *, version: str = "2.4.0") -> None:
        self.engine = engine
        ho.create_schema(engine)
        self.set_version(version)

    def set_version(self, version: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(ho.ho_meta).where(ho.ho_meta.c.key == ho.VERSION_KEY))
            conn.execute(insert(ho.ho_meta).values(key=ho.VERSION_KEY, value=version))

    def store(self, code: str, name: str | None = None, kind: str = "consignment") -> None:
        with self.engine.begin() as conn:
            if conn.execute(select(ho.ho_stores.c.code).where(ho.ho_stores.c.code == code)).first() is None:
                conn.execute(insert(ho.ho_stores).values(code=code, name=name or code, kind=kind))

    def publish(self, store: str, doc_type: str, key: str, payload: dict[str, Any]) -> int | None:
        """Publish one document to one store; None when that store already has this exact version."""
        if doc_type not in ho.PUBLISHED_TYPES:
            raise ValueError(f"HO does not publish {doc_type!r}")
        body = json.dumps(payload, sort_keys=True)
        digest = hashlib.sha256(body.encode()).hexdigest()
        d, now = ho.ho_documents, _now()
        with self.engine.begin() as conn:
            if conn.execute(select(d.c.id).where(
                    d.c.direction == ho.TO_STORE, d.c.store_code == store, d.c.doc_type == doc_type,
                    d.c.doc_key == key, d.c.content_hash == digest)).first():
                return None
            document_id = conn.execute(insert(d).values(
                direction=ho.TO_STORE, store_code=store, doc_type=doc_type, doc_key=key, content_hash=digest,
                payload=body, status=ho.PUBLISHED, created_at=now, updated_at=now)).inserted_primary_key[0]
            conn.execute(insert(ho.ho_document_log).values(document_id=document_id, status=ho.PUBLISHED, at=now,
                                                           by="headoffice"))
            if doc_type == "item":
                conn.execute(delete(ho.ho_items).where(ho.ho_items.c.sku == payload["sku"]))
                conn.execute(insert(ho.ho_items).values(sku=payload["sku"], name=payload["name"], payload=body))
        return document_id

    def publish_item(self, stores: list[str], sku: str, name: str, price: str, **fields: Any) -> None:
        """An item master with its price, to each store (HO addresses every document to one store)."""
        payload = {"sku": sku, "name": name, "price": price, "cost": fields.pop("cost", "0"),
                   "tax_rate": fields.pop("tax_rate", "11.00"), "unit": fields.pop("unit", "pcs"), **fields}
        for store in stores:
            self.publish(store, "item", sku, payload)

    def apply_uploads(self, store: str | None = None) -> dict[str, int]:
        """Apply what stores uploaded: customers are kept, documents naming items HO does not know are
        ``FAILED`` with the reason, everything else ``PROCESSED``. Counts by outcome."""
        d, now = ho.ho_documents, _now()
        outcome = {ho.PROCESSED: 0, ho.FAILED: 0}
        with self.engine.begin() as conn:
            known = set(conn.execute(select(ho.ho_items.c.sku)).scalars())
            query = select(d).where(d.c.direction == ho.FROM_STORE, d.c.status == ho.UPLOADED).order_by(d.c.id)
            if store:
                query = query.where(d.c.store_code == store)
            for row in conn.execute(query).all():
                payload = json.loads(row.payload)
                lines = payload.get("lines", [])
                no_code = [line for line in lines if not line.get("sku")]
                unknown = sorted({line["sku"] for line in lines if line.get("sku") and line["sku"] not in known})
                reason = None
                if no_code:
                    line = no_code[0]
                    reason = f"line {line.get('line_no')} ({line.get('name') or 'no name'}) has no item code"
                elif unknown:
                    reason = "unknown item " + ", ".join(repr(sku) for sku in unknown) + " (not in HO's item master)"
                elif row.doc_type == "customer":
                    conn.execute(delete(ho.ho_customers).where(ho.ho_customers.c.store_code == row.store_code,
                                                               ho.ho_customers.c.customer_key == row.doc_key))
                    conn.execute(insert(ho.ho_customers).values(store_code=row.store_code, customer_key=row.doc_key,
                                                                payload=row.payload))
                status = ho.FAILED if reason else ho.PROCESSED
                conn.execute(update(d).where(d.c.id == row.id).values(status=status, reason=reason, updated_at=now))
                conn.execute(insert(ho.ho_document_log).values(document_id=row.id, status=status, at=now,
                                                               by="headoffice", reason=reason))
                outcome[status] += 1
        return outcome

    def documents(self, direction: str, store: str | None = None) -> list[dict[str, Any]]:
        d = ho.ho_documents
        query = select(d.c.id, d.c.store_code, d.c.doc_type, d.c.doc_key, d.c.status, d.c.reason).where(
            d.c.direction == direction).order_by(d.c.id)
        if store:
            query = query.where(d.c.store_code == store)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


def seed_demo(engine: Engine, stores: list[str], items: list[tuple[str, str, str]]) -> dict[str, int]:
    """What `make demo`'s head office publishes: the item master (``items``: SKU, name, price; the first one at a
    new price), and for each store a promotion, a transfer order and an item audit plan. Counts by type."""
    hq = HeadOfficeSimulator(engine)
    published: dict[str, int] = {}

    def count(doc_type: str, document_id: int | None) -> None:
        published[doc_type] = published.get(doc_type, 0) + (document_id is not None)

    for number, store in enumerate(stores, start=1):
        hq.store(store)
        for n, (sku, name, price) in enumerate(items):
            new_price = Decimal(price) + (Decimal(1000) if n == 0 else 0)  # HO raises the first item's price
            count("item", hq.publish(store, "item", sku, {"sku": sku, "name": name, "price": f"{new_price:.2f}"}))
        sku, name, _ = items[min(1, len(items) - 1)]
        count("promotion", hq.publish(store, "promotion", f"PROMO-{store}-1212", {
            "code": f"PROMO-{store}-1212", "name": f"12.12 {name}", "sku": sku, "discount_percent": "12.00",
            "starts_at": "2026-12-12T00:00:00+07:00", "ends_at": "2026-12-13T00:00:00+07:00"}))
        count("transfer_order", hq.publish(store, "transfer_order", f"TO-HO-{number:04d}", {
            "number": f"TO-HO-{number:04d}", "ordered_at": "2026-11-14T08:00:00+07:00",
            "expected_at": "2026-11-15T08:00:00+07:00",
            "lines": [{"sku": sku, "quantity": "12"} for sku, _, _ in items[:3]]}))
        count("audit_plan", hq.publish(store, "audit_plan", f"AUD-{store}-2026W47", {
            "number": f"AUD-{store}-2026W47", "planned_for": "2026-11-21", "skus": [sku for sku, _, _ in items[:5]]}))
    return published
