"""The reference POS database: the source every sync reads.

Modelled on a retail/F&B point of sale: outlets and warehouses, registers with shifts, products, customers,
orders with lines, payments and refunds, stock transfers, stock adjustments and stock takes, stock levels.
Runs on SQLite (demo, tests), PostgreSQL (production-shaped tests) and MySQL / MariaDB. Amounts are exact
decimals (``Money``), times are UTC instants (``UTCDateTime``); each outlet carries the timezone its business
day is counted in. Text compares exactly on every database: on MySQL / MariaDB the tables are created
``utf8mb4`` with a binary NO PAD collation (``mysql_collation``), since the default one ignores case and
trailing spaces (``'kop-001'`` would be the same SKU as ``'KOP-001'`` there, and not on SQLite or PostgreSQL).

The schema keeps what a real POS keeps, including its imperfections: product SKUs may be missing,
customer IDs typed at the till are not unique, transfers may be received late or never. Reporting those
cleanly is the sync's job, not the schema's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.engine import Connection, Engine

from possync.pos.types import Money, Percent, Quantity, UTCDateTime

metadata = MetaData()

ORDER_STATUSES = ("completed", "voided")
PAYMENT_METHODS = ("cash", "card", "qris", "ewallet", "bank_transfer")
LOCATION_KINDS = ("outlet", "warehouse")
ADJUSTMENT_KINDS = ("adjustment", "stock_take")
TRANSFER_STATUSES = ("sent", "received", "cancelled")

outlets = Table(
    "outlets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("kind", String(10), nullable=False, server_default="outlet"),
    Column("timezone", String(40), nullable=False, server_default="Asia/Jakarta"),
    Column("address", Text),
    Column("active", Boolean, nullable=False, server_default="1"),
    CheckConstraint(f"kind IN {LOCATION_KINDS!r}", name="ck_outlets_kind"),
)

registers = Table(
    "registers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("code", String(20), nullable=False),
    Column("name", String(80), nullable=False),
    UniqueConstraint("outlet_id", "code", name="uq_registers_outlet_code"),
)

shifts = Table(
    "shifts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("register_id", ForeignKey("registers.id"), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("opening_cash", Money(), nullable=False),
    Column("expected_cash", Money()),
    Column("counted_cash", Money()),
    Index("ix_shifts_closed_at", "closed_at"),
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    # Real POS catalogues have products nobody gave a SKU; targets match products by SKU, so such a
    # product cannot be synced and every document that uses it must say so.
    Column("sku", String(40), unique=True),
    Column("barcode", String(40)),
    Column("name", String(120), nullable=False),
    Column("category", String(60)),
    Column("unit", String(20), nullable=False, server_default="pcs"),
    Column("price", Money(), nullable=False),
    Column("cost", Money(), nullable=False),
    Column("tax_rate", Percent(), nullable=False),
    Column("track_stock", Boolean, nullable=False, server_default="1"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("updated_at", UTCDateTime, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    # The "customer ID" cashiers type at the till. Optional and, as in real tills, not enforced unique.
    Column("customer_code", String(40)),
    Column("name", String(120), nullable=False),
    Column("email", String(120)),
    Column("phone", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_customers_code", "customer_code"),
    Index("ix_customers_updated_at", "updated_at"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("register_id", ForeignKey("registers.id"), nullable=False),
    Column("shift_id", ForeignKey("shifts.id")),
    Column("customer_id", ForeignKey("customers.id")),
    Column("status", String(10), nullable=False),
    # When the sale happened at the till, and when the server received it: an offline till commits
    # hours later, so extracts window on business time and sweep a lookback on commit time.
    Column("business_time", UTCDateTime, nullable=False),
    Column("committed_at", UTCDateTime, nullable=False),
    Column("tax_inclusive", Boolean, nullable=False),
    Column("discount_amount", Money(), nullable=False, server_default="0"),
    Column("service_charge_rate", Percent(), nullable=False, server_default="0"),
    Column("service_charge_amount", Money(), nullable=False, server_default="0"),
    Column("tax_amount", Money(), nullable=False, server_default="0"),
    Column("rounding_amount", Money(), nullable=False, server_default="0"),
    Column("total_amount", Money(), nullable=False),
    Column("voided_at", UTCDateTime),
    Column("void_reason", Text),
    Column("note", Text),
    CheckConstraint(f"status IN {ORDER_STATUSES!r}", name="ck_orders_status"),
    Index("ix_orders_outlet_business_time", "outlet_id", "business_time"),
    Index("ix_orders_committed_at", "committed_at"),
    Index("ix_orders_shift", "shift_id"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("product_name", String(120), nullable=False),
    Column("quantity", Quantity(), nullable=False),
    # As shown on the receipt: tax-inclusive when the order is.
    Column("unit_price", Money(), nullable=False),
    Column("discount_amount", Money(), nullable=False, server_default="0"),
    Column("tax_rate", Percent(), nullable=False),
    # The tax the till computed for this line, after its share of the order discount.
    Column("tax_amount", Money(), nullable=False),
    UniqueConstraint("order_id", "line_no", name="uq_order_lines_order_line"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("method", String(20), nullable=False),
    # What the payment settles of the order; cash tendered above it went back as change.
    Column("amount", Money(), nullable=False),
    Column("tendered", Money()),
    Column("reference", String(60)),
    Column("paid_at", UTCDateTime, nullable=False),
    UniqueConstraint("order_id", "seq", name="uq_payments_order_seq"),
    CheckConstraint(f"method IN {PAYMENT_METHODS!r}", name="ck_payments_method"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("shift_id", ForeignKey("shifts.id")),
    Column("business_time", UTCDateTime, nullable=False),
    Column("committed_at", UTCDateTime, nullable=False),
    Column("method", String(20), nullable=False),
    Column("total_amount", Money(), nullable=False),
    Column("reason", Text),
    CheckConstraint(f"method IN {PAYMENT_METHODS!r}", name="ck_refunds_method"),
    Index("ix_refunds_outlet_business_time", "outlet_id", "business_time"),
    Index("ix_refunds_committed_at", "committed_at"),
)

refund_lines = Table(
    "refund_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("refund_id", ForeignKey("refunds.id"), nullable=False),
    Column("order_line_id", ForeignKey("order_lines.id"), nullable=False),
    Column("quantity", Quantity(), nullable=False),
    # Refunded to the customer for this line, priced like the order (tax-inclusive when it was).
    Column("amount", Money(), nullable=False),
    Column("tax_amount", Money(), nullable=False),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("from_outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("to_outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("status", String(10), nullable=False),
    # NULL when the destination recorded receiving goods the source never recorded sending (an offline
    # till that lost its data): the transfer-out is missing and the transfer-in cannot sync until repaired.
    Column("sent_at", UTCDateTime),
    Column("received_at", UTCDateTime),
    Column("committed_at", UTCDateTime, nullable=False),
    Column("note", Text),
    # NULL: entered at the POS. Otherwise the integration whose target the transfer was entered in (an Accurate
    # item transfer written in by possync's inbound): it is already in that target's books, so the outbound sync
    # never reads it (possync.pos.extract), and it is never sent back as a new transfer.
    Column("origin", String(60)),
    # such a transfer's receiving document in that target (an Accurate TRANSFER_IN's number): with ``number`` (its
    # transfer-out's), what the reconciliation sets aside among the target's documents
    Column("origin_receipt_number", String(60)),
    CheckConstraint(f"status IN {TRANSFER_STATUSES!r}", name="ck_transfers_status"),
    Index("ix_transfers_sent_at", "sent_at"),
    Index("ix_transfers_received_at", "received_at"),
)

transfer_lines = Table(
    "transfer_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("transfer_id", ForeignKey("transfers.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("quantity_sent", Quantity(), nullable=False),
    Column("quantity_received", Quantity()),
    UniqueConstraint("transfer_id", "line_no", name="uq_transfer_lines_transfer_line"),
)

stock_adjustments = Table(
    "stock_adjustments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("business_time", UTCDateTime, nullable=False),
    Column("committed_at", UTCDateTime, nullable=False),
    Column("reason", Text),
    CheckConstraint(f"kind IN {ADJUSTMENT_KINDS!r}", name="ck_stock_adjustments_kind"),
    Index("ix_stock_adjustments_business_time", "business_time"),
)

stock_adjustment_lines = Table(
    "stock_adjustment_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("adjustment_id", ForeignKey("stock_adjustments.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    # For an adjustment: the signed difference. For a stock take: what was counted, and the system
    # quantity the till expected, so the difference is known without replaying history.
    Column("quantity_change", Quantity()),
    Column("counted_quantity", Quantity()),
    Column("expected_quantity", Quantity()),
    Column("unit_cost", Money()),
    UniqueConstraint("adjustment_id", "line_no", name="uq_stock_adjustment_lines_line"),
)

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("outlet_id", ForeignKey("outlets.id"), primary_key=True),
    Column("product_id", ForeignKey("products.id"), primary_key=True),
    Column("quantity", Quantity(), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


# Goods received from suppliers, entered in an accounting target (e.g. an Accurate receive-item) and written
# into the POS as stock coming in. ``source_number`` is the document's number in that system; one document
# is written once per integration, whatever the number of webhook deliveries.
goods_receipts = Table(
    "goods_receipts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(20), nullable=False),
    Column("source_number", String(60), nullable=False),
    Column("integration", String(100), nullable=False),
    Column("outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("supplier", String(160)),
    Column("received_at", UTCDateTime, nullable=False),
    Column("source_document_id", String(60)),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("integration", "source_number", name="uq_goods_receipts_source"),
    Index("ix_goods_receipts_outlet_received", "outlet_id", "received_at"),
)

goods_receipt_lines = Table(
    "goods_receipt_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("receipt_id", ForeignKey("goods_receipts.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("sku", String(40), nullable=False),
    Column("quantity", Quantity(), nullable=False),
    Column("unit_cost", Money()),
    UniqueConstraint("receipt_id", "line_no", name="uq_goods_receipt_lines_line"),
)


PURCHASE_ORDER_STATUSES = ("open", "cancelled")

# Purchase orders entered in an accounting target (an Accurate purchase-order): goods an outlet expects from a
# supplier. No stock moves until the goods are received (``goods_receipts``). One row per integration and source
# number; a later edit in the target replaces the lines, a deletion there cancels the order here.
purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(20), nullable=False),
    Column("source_number", String(60), nullable=False),
    Column("integration", String(100), nullable=False),
    Column("outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("supplier", String(160)),
    Column("ordered_at", UTCDateTime, nullable=False),
    Column("expected_at", UTCDateTime),
    Column("status", String(10), nullable=False, server_default="open"),
    Column("source_document_id", String(60)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("integration", "source_number", name="uq_purchase_orders_source"),
    CheckConstraint(f"status IN {PURCHASE_ORDER_STATUSES!r}", name="ck_purchase_orders_status"),
    Index("ix_purchase_orders_outlet_status", "outlet_id", "status"),
)

purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("purchase_orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("sku", String(40), nullable=False),
    Column("quantity", Quantity(), nullable=False),
    Column("unit_price", Money()),
    UniqueConstraint("order_id", "line_no", name="uq_purchase_order_lines_line"),
)


# Goods a store sends back (to head office or a supplier): unsold consignment stock, damaged goods.
goods_returns = Table(
    "goods_returns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("returned_to", String(160)),
    Column("returned_at", UTCDateTime, nullable=False),
    Column("committed_at", UTCDateTime, nullable=False),
    Column("reason", Text),
    Index("ix_goods_returns_committed_at", "committed_at"),
)

goods_return_lines = Table(
    "goods_return_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("return_id", ForeignKey("goods_returns.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("quantity", Quantity(), nullable=False),
    UniqueConstraint("return_id", "line_no", name="uq_goods_return_lines_line"),
)

# What a head office publishes to a store, as the store applied it. ``source_number`` is HO's document
# number; applying the same HO document again updates the row instead of adding one.
promotions = Table(
    "promotions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(160), nullable=False),
    Column("outlet_id", ForeignKey("outlets.id")),  # NULL: every outlet
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("discount_percent", Percent()),
    Column("promo_price", Money()),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("updated_at", UTCDateTime, nullable=False),
)

SUPPLY_ORDER_KINDS = ("transfer_order", "sales_order", "invoice")

# Orders and invoices a store is to receive goods against: transfer orders for consignment stores (the goods
# stay HO's), sales orders and invoices for outright stores (the store buys them).
supply_orders = Table(
    "supply_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("number", String(40), nullable=False),
    Column("outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("ordered_at", UTCDateTime, nullable=False),
    Column("expected_at", UTCDateTime),
    Column("status", String(12), nullable=False, server_default="open"),
    Column("note", Text),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "number", name="uq_supply_orders_kind_number"),
    CheckConstraint(f"kind IN {SUPPLY_ORDER_KINDS!r}", name="ck_supply_orders_kind"),
)

supply_order_lines = Table(
    "supply_order_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("supply_orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("quantity", Quantity(), nullable=False),
    Column("unit_price", Money()),
    UniqueConstraint("order_id", "line_no", name="uq_supply_order_lines_line"),
)

# Item audit plans: which products a store must count, and when.
audit_plans = Table(
    "audit_plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("outlet_id", ForeignKey("outlets.id"), nullable=False),
    Column("planned_for", String(10), nullable=False),  # ISO date, outlet time
    Column("updated_at", UTCDateTime, nullable=False),
)

audit_plan_items = Table(
    "audit_plan_items",
    metadata,
    Column("plan_id", ForeignKey("audit_plans.id"), primary_key=True),
    Column("product_id", ForeignKey("products.id"), primary_key=True),
)

EVENT_STATUSES = ("pending", "uploaded", "processed", "failed")

# The outbox: every new or changed POS document another system (a head office) must receive, once per
# version. A version is the document's content hash, so the same content is never recorded (or sent) twice
# and a change is a new event. ``source_time`` is the document's commit/update time, the capture's watermark.
business_events = Table(
    "business_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("document_key", String(60), nullable=False),
    Column("outlet_code", String(20), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("source_time", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(10), nullable=False, server_default="pending"),
    Column("sent_at", UTCDateTime),
    Column("acknowledged_at", UTCDateTime),
    Column("reason", Text),
    UniqueConstraint("kind", "document_key", "content_hash", name="uq_business_events_version"),
    CheckConstraint(f"status IN {EVENT_STATUSES!r}", name="ck_business_events_status"),
    Index("ix_business_events_outlet_status", "outlet_code", "status", "id"),
    Index("ix_business_events_kind_outlet_time", "kind", "outlet_code", "source_time"),
)


def mysql_collation(dialect: Any) -> str:
    """The binary NO PAD utf8mb4 collation of this MySQL / MariaDB server: byte for byte, trailing spaces
    included, as SQLite and PostgreSQL compare text (MySQL before 8.0 has only ``utf8mb4_bin``, which pads)."""
    if dialect.is_mariadb:
        return "utf8mb4_nopad_bin"
    return "utf8mb4_0900_bin" if (dialect.server_version_info or (0,)) >= (8, 0) else "utf8mb4_bin"


def _exact_text_on_mysql(table: Table, connection: Connection, **_kw: Any) -> None:
    if connection.dialect.name in ("mysql", "mariadb"):
        table.dialect_kwargs["mysql_charset"] = "utf8mb4"
        table.dialect_kwargs["mysql_collate"] = mysql_collation(connection.dialect)


for _table in metadata.tables.values():
    event.listen(_table, "before_create", _exact_text_on_mysql)


def create_schema(engine: Engine) -> None:
    """Create every POS table that does not exist yet, and add the columns a database created by an older
    possync lacks (idempotent)."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        have = {column["name"] for column in inspect(conn).get_columns("transfers")}
        for name in ("origin", "origin_receipt_number"):
            if name not in have:
                conn.exec_driver_sql(f"ALTER TABLE transfers ADD COLUMN {name} VARCHAR(60)")


def drop_schema(engine: Engine) -> None:
    metadata.drop_all(engine)
