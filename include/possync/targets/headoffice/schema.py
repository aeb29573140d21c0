"""The head office (HO) database: what HO publishes to stores and what stores send back, per store.

One table of documents for both directions, addressed to one store each (``store_code``), with the
document's JSON payload and its current status, and a log of every status a document went through:

* HO → store (``direction = 'to_store'``): item masters, prices, promotions, transfer orders (consignment
  stores), sales orders and invoices (outright stores), item audit plans. ``PUBLISHED`` when HO publishes
  it, then ``PROCESSED`` once the store applied it, or ``FAILED`` with the store's reason.
* store → HO (``direction = 'from_store'``): customers, sales, goods received, goods returned. ``UPLOADED``
  when the store sends it, then ``PROCESSED`` once HO applied it, or ``FAILED`` with HO's reason.

A document is one version of a business document: ``(direction, store, type, key, content_hash)`` is unique,
so the same version is never stored twice and a changed document is a new row. ``ho_meta`` holds the schema
version stores compare their own major version with before anything moves.
SQLite (demo, tests) or PostgreSQL (production); amounts inside payloads are decimal strings.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Engine

metadata = MetaData()

TO_STORE, FROM_STORE = "to_store", "from_store"
PUBLISHED, UPLOADED, PROCESSED, FAILED = "PUBLISHED", "UPLOADED", "PROCESSED", "FAILED"
STATUSES = (PUBLISHED, UPLOADED, PROCESSED, FAILED)
#: what HO publishes, in the order a store applies it (items before what names them)
PUBLISHED_TYPES = ("item", "price", "promotion", "transfer_order", "sales_order", "invoice", "audit_plan")
#: what stores send
UPLOADED_TYPES = ("customer", "sale", "goods_received", "goods_returned")
VERSION_KEY = "schema_version"

ho_meta = Table(
    "ho_meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)

ho_stores = Table(
    "ho_stores",
    metadata,
    Column("code", String(20), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("kind", String(12), nullable=False, server_default="consignment"),
    CheckConstraint("kind IN ('consignment', 'outright')", name="ck_ho_stores_kind"),
)

# HO's item master (what its published item documents come from, and what uploaded documents are checked against)
ho_items = Table(
    "ho_items",
    metadata,
    Column("sku", String(40), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("payload", Text, nullable=False),
)

ho_customers = Table(
    "ho_customers",
    metadata,
    Column("store_code", String(20), primary_key=True),
    Column("customer_key", String(60), primary_key=True),
    Column("payload", Text, nullable=False),
)

ho_documents = Table(
    "ho_documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("direction", String(10), nullable=False),
    Column("store_code", String(20), nullable=False),
    Column("doc_type", String(20), nullable=False),
    Column("doc_key", String(60), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("direction", "store_code", "doc_type", "doc_key", "content_hash", name="uq_ho_documents_version"),
    CheckConstraint(f"direction IN {(TO_STORE, FROM_STORE)!r}", name="ck_ho_documents_direction"),
    CheckConstraint(f"status IN {STATUSES!r}", name="ck_ho_documents_status"),
    Index("ix_ho_documents_pending", "direction", "store_code", "status", "id"),
)

ho_document_log = Table(
    "ho_document_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", ForeignKey("ho_documents.id"), nullable=False),
    Column("status", String(10), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("by", String(20), nullable=False),  # 'headoffice' or the store code
    Column("reason", Text),
    Index("ix_ho_document_log_document", "document_id", "id"),
)


def create_schema(engine: Engine) -> None:
    """Create every HO table that does not exist yet (idempotent)."""
    metadata.create_all(engine)
