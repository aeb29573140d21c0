"""The POS outbox: every new or changed POS document another system (a head office) must receive, recorded
as a business event in the POS database (table ``business_events``), once per version.

``capture_events`` looks at the documents committed or changed since the last event of their kind (minus a
lookback, for offline tills that commit late) and records an event for each one whose content is new. The
content hash makes it idempotent: the same version is never recorded twice, a changed document (a customer's
new phone number, a voided sale) is a new event. A POS that writes events itself, in the transaction that
changes the document, fits the same table. Nothing here knows who receives the events.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine

from possync.pos import schema as s

KINDS = ("customer", "sale", "goods_received", "goods_returned")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in an event payload")


def to_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, default=_json_default, separators=(",", ":"))


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(to_json(payload).encode()).hexdigest()


@dataclass(frozen=True)
class Candidate:
    kind: str
    key: str
    outlet_code: str
    source_time: datetime
    payload: dict[str, Any]


def _since(conn: Connection, kind: str, outlet_code: str, start: datetime | None, lookback: timedelta) -> Any:
    watermark = conn.execute(
        select(func.max(s.business_events.c.source_time))
        .where(s.business_events.c.kind == kind, s.business_events.c.outlet_code == outlet_code)
    ).scalar()
    if watermark is None:
        return start
    since = watermark - lookback
    return max(since, start) if start else since


def _customers(conn: Connection, outlet_code: str, since: datetime | None) -> list[Candidate]:
    c = s.customers
    query = select(c).order_by(c.c.updated_at, c.c.id)
    if since is not None:
        query = query.where(c.c.updated_at >= since)
    return [
        Candidate("customer", f"CUST-{row.id}", outlet_code, row.updated_at,
                  {"customer_code": row.customer_code, "name": row.name, "email": row.email, "phone": row.phone})
        for row in conn.execute(query)
    ]


def _sales(conn: Connection, outlet_code: str, since: datetime | None) -> list[Candidate]:
    o, ln, p, pr = s.orders, s.order_lines, s.payments, s.products
    query = (select(o).join(s.outlets, s.outlets.c.id == o.c.outlet_id).where(s.outlets.c.code == outlet_code)
             .order_by(o.c.committed_at, o.c.id))
    if since is not None:
        query = query.where(o.c.committed_at >= since)
    orders = list(conn.execute(query))
    if not orders:
        return []
    ids = [row.id for row in orders]
    lines, pays = defaultdict(list), defaultdict(list)
    for row in conn.execute(select(ln, pr.c.sku).join(pr, pr.c.id == ln.c.product_id)
                            .where(ln.c.order_id.in_(ids)).order_by(ln.c.order_id, ln.c.line_no)):
        lines[row.order_id].append({"line_no": row.line_no, "sku": row.sku, "name": row.product_name,
                                    "quantity": row.quantity, "unit_price": row.unit_price,
                                    "discount": row.discount_amount, "tax": row.tax_amount})
    for row in conn.execute(select(p).where(p.c.order_id.in_(ids)).order_by(p.c.order_id, p.c.seq)):
        pays[row.order_id].append({"method": row.method, "amount": row.amount})
    return [
        Candidate("sale", row.number, outlet_code, row.committed_at, {
            "number": row.number, "status": row.status, "business_time": row.business_time,
            "customer": f"CUST-{row.customer_id}" if row.customer_id else None,
            "tax_inclusive": row.tax_inclusive, "discount": row.discount_amount, "tax": row.tax_amount,
            "service_charge": row.service_charge_amount, "rounding": row.rounding_amount,
            "total": row.total_amount, "lines": lines[row.id], "payments": pays[row.id],
        })
        for row in orders
    ]


def _receipts(conn: Connection, outlet_code: str, since: datetime | None) -> list[Candidate]:
    g, gl = s.goods_receipts, s.goods_receipt_lines
    query = (select(g).join(s.outlets, s.outlets.c.id == g.c.outlet_id).where(s.outlets.c.code == outlet_code)
             .order_by(g.c.created_at, g.c.id))
    if since is not None:
        query = query.where(g.c.created_at >= since)
    found = []
    for row in conn.execute(query).all():
        lines = [{"line_no": line.line_no, "sku": line.sku, "quantity": line.quantity}
                 for line in conn.execute(select(gl).where(gl.c.receipt_id == row.id).order_by(gl.c.line_no))]
        found.append(Candidate("goods_received", row.source_number, outlet_code, row.created_at, {
            "number": row.source_number, "source": row.source, "supplier": row.supplier,
            "received_at": row.received_at, "lines": lines}))
    return found


def _returns(conn: Connection, outlet_code: str, since: datetime | None) -> list[Candidate]:
    g, gl, pr = s.goods_returns, s.goods_return_lines, s.products
    query = (select(g).join(s.outlets, s.outlets.c.id == g.c.outlet_id).where(s.outlets.c.code == outlet_code)
             .order_by(g.c.committed_at, g.c.id))
    if since is not None:
        query = query.where(g.c.committed_at >= since)
    found = []
    for row in conn.execute(query).all():
        lines = [{"line_no": line.line_no, "sku": line.sku, "quantity": line.quantity}
                 for line in conn.execute(select(gl, pr.c.sku).join(pr, pr.c.id == gl.c.product_id)
                                          .where(gl.c.return_id == row.id).order_by(gl.c.line_no))]
        found.append(Candidate("goods_returned", row.number, outlet_code, row.committed_at, {
            "number": row.number, "returned_to": row.returned_to, "returned_at": row.returned_at,
            "reason": row.reason, "lines": lines}))
    return found


READERS = {"customer": _customers, "sale": _sales, "goods_received": _receipts, "goods_returned": _returns}


def capture_events(engine: Engine, outlet_code: str, *, kinds: tuple[str, ...] = KINDS,
                   start: datetime | None = None, lookback: timedelta = timedelta(hours=48),
                   now: datetime | None = None) -> int:
    """Record a business event for every new or changed document of ``outlet_code``; the number recorded.

    ``start``: documents committed before it are never recorded (the exchange's start date).
    """
    now = now or datetime.now(UTC)
    events = s.business_events
    recorded = 0
    with engine.begin() as conn:
        for kind in kinds:
            candidates = READERS[kind](conn, outlet_code, _since(conn, kind, outlet_code, start, lookback))
            if not candidates:
                continue
            hashes = {c.key: payload_hash(c.payload) for c in candidates}
            known = set()
            keys = sorted(hashes)
            for chunk in range(0, len(keys), 500):
                known.update(conn.execute(
                    select(events.c.document_key, events.c.content_hash)
                    .where(events.c.kind == kind, events.c.document_key.in_(keys[chunk:chunk + 500]))
                ).all())
            rows = [
                {"kind": kind, "document_key": c.key, "outlet_code": c.outlet_code, "content_hash": hashes[c.key],
                 "payload": to_json(c.payload), "source_time": c.source_time, "created_at": now, "status": "pending"}
                for c in candidates if (c.key, hashes[c.key]) not in known
            ]
            if rows:
                conn.execute(insert(events), rows)
                recorded += len(rows)
    return recorded
