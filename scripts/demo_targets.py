"""What the demo drivers (scripts/demo.py, scripts/stack_demo.py) share: the demo week, what they read from the
targets and the POS, and the purchase they enter in Accurate. The targets are read through their APIs with
possync's hooks, so the connections (jurnal_demo, accurate_demo) must resolve in the calling process."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from airflow_rest import http_json

# bank withdrawals / other payments: the money each refund paid back, one per synced sales return
JURNAL_RESOURCES = ("customers", "products", "warehouses", "sales_invoices", "receive_payments", "sales_returns",
                    "bank_withdrawals", "warehouse_transfers", "stock_adjustments")
ACCURATE_MODULES = ("customer", "item", "warehouse", "sales-invoice", "sales-receipt", "sales-return",
                    "other-payment", "item-transfer", "item-adjustment", "receive-item")


def demo_week(integration: str = "jurnal_demo") -> tuple[datetime, datetime, str]:
    """The demo POS's business week in the integration's outlet time: [first day 00:00, day after the last 00:00),
    and that time zone."""
    from possync.config import load_config
    from possync_devkit.demo_pos import DemoSpec

    spec = DemoSpec()  # what `possync-devkit demo seed` generates by default
    timezone = next(i.timezone for i in load_config().integrations if i.name == integration)
    start = datetime.combine(spec.start_date, datetime.min.time(), tzinfo=ZoneInfo(timezone))
    return start, start + timedelta(days=spec.days), timezone


def jurnal_document_counts(conn_id: str = "jurnal_demo") -> dict[str, int]:
    """Documents in Jurnal per resource (signed list requests, total_count)."""
    from possync.targets.jurnal.hook import JurnalHook

    hook = JurnalHook(conn_id)
    return {r: int(hook.api("GET", f"/{r}", params={"page": 1, "page_size": 1})["total_count"])
            for r in JURNAL_RESOURCES}


def accurate_document_counts(integration: str = "accurate_demo") -> dict[str, int]:
    """Documents in Accurate per module (signed list.do, the row count of ``sp``); read as one more member of
    the integration's pool, so reads beside a running task stay within Accurate's 8 calls a second."""
    from possync.config import load_config
    from possync.targets.accurate.hook import AccurateHook

    config = next(i for i in load_config().integrations if i.name == integration)
    hook = AccurateHook(config.conn_id, pacing_share=config.target_concurrency + 1)
    return {m: int(hook.api(m, "list", params={"sp.pageSize": 1})["sp"]["rowCount"]) for m in ACCURATE_MODULES}


def invoice_totals(integration: str, numbers: list[str]) -> dict[str, Any]:
    """Invoice number → its total in the integration's target, or None when the target holds no such invoice."""
    from decimal import Decimal

    from possync.config import load_config
    from possync.targets.base.registry import get_target

    config = next(i for i in load_config().integrations if i.name == integration)
    hook = get_target(config.target).hook_class()(config.conn_id, pacing_share=config.target_concurrency + 1)
    if config.target == "jurnal":
        held = {r["transaction_no"]: r["original_amount"] for r in hook.iterate("sales_invoices")
                if r["transaction_no"] in numbers}
    else:
        held = {n: (hook.detail("sales-invoice", number=n) or {}).get("totalAmount") for n in numbers}
    return {n: None if held.get(n) is None else Decimal(str(held[n])).quantize(Decimal("0.01")) for n in numbers}


def simulate_purchase(data_url: str, ledger_url: str, warehouse: str, integration: str = "accurate_demo") -> dict:
    """A purchase entered in Accurate: goods received from a supplier into ``warehouse``, of the first two
    products the products sync created there."""
    from possync.db import make_engine
    from possync.ledger import SyncLedger

    skus = sorted(SyncLedger(make_engine(ledger_url)).id_maps(integration, "product"))
    lines = [{"itemNo": sku, "quantity": 24, "unitPrice": 15000} for sku in skus if not sku.startswith("POS-")][:2]
    reply = http_json(f"{data_url}/_sandbox/simulate/purchase", method="POST",
                      body={"warehouseName": warehouse, "lines": lines})
    return reply.get("r") or reply


def enter_order_and_transfer(receipt: dict, integration: str = "accurate_demo") -> tuple[str, str]:
    """What a buyer and a stock keeper enter in Accurate: a purchase order for JKT01's branch of the receipt's first
    product, and an item transfer of it from Kemang (JKT01) to Dago (BDG01), sent and received. Through the demo's
    Accurate connection, as any Accurate client would; their numbers (order, transfer-out)."""
    from possync.config import load_config
    from possync.targets.base.registry import get_target

    config = next(i for i in load_config().integrations if i.name == integration)
    hook = get_target("accurate").hook(config)
    jkt, bdg = config.outlets["JKT01"], config.outlets["BDG01"]
    sku = receipt["detailItem"][0]["itemNo"]
    today = time.strftime("%d/%m/%Y")
    order = hook.save("purchase-order", {"vendorNo": "V.00001", "transDate": today, "branchName": jkt.branch,
                                         "detailItem": [{"itemNo": sku, "quantity": 48, "unitPrice": 15000,
                                                         "warehouseName": jkt.warehouse}]})
    sent = hook.save("item-transfer", {"itemTransferType": "TRANSFER_OUT", "transDate": today,
                                       "warehouseName": jkt.warehouse, "referenceWarehouseName": bdg.warehouse,
                                       "detailItem": [{"itemNo": sku, "quantity": 3}]})
    hook.save("item-transfer", {"itemTransferType": "TRANSFER_IN", "transDate": today, "warehouseName": bdg.warehouse,
                                "fromItemTransferNo": sent["number"], "detailItem": [{"itemNo": sku, "quantity": 3}]})
    return order["number"], sent["number"]


def order_in_pos(pos_url: str, number: str, integration: str = "accurate_demo") -> str | None:
    """How the POS holds a purchase order entered in Accurate (None until it does)."""
    from possync.db import make_engine
    from possync.pos.incoming import purchase_order

    order = purchase_order(make_engine(pos_url), integration, number)
    return None if order is None else (f"purchase order for {order['outlet_code']}, {order['status']}, "
                                       + ", ".join(f"{sku} × {quantity}" for sku, quantity, _ in order["lines"]))


def transfer_in_pos(pos_url: str, number: str) -> str | None:
    """How the POS holds a transfer entered in Accurate, once it has been received there (None until then)."""
    from possync.db import make_engine
    from possync.pos.incoming import pos_transfer

    transfer = pos_transfer(make_engine(pos_url), number)
    if transfer is None or transfer["status"] != "received":
        return None
    return (f"transfer {number} {transfer['from_code']} → {transfer['to_code']}, {transfer['status']}, "
            + ", ".join(f"{sku} × {sent}" for sku, sent, _ in transfer["lines"]))


def goods_receipt_in_pos(pos_url: str, number: str) -> bool:
    from sqlalchemy import select

    from possync.db import make_engine
    from possync.pos import schema

    with make_engine(pos_url).connect() as conn:
        return conn.execute(select(schema.goods_receipts.c.id).where(
            schema.goods_receipts.c.source_number == number)).first() is not None


def ledger_counts(ledger_url: str) -> list[dict[str, Any]]:
    """The sync ledger's records per integration, flow, record type and status."""
    from sqlalchemy import func, select

    from possync.db import make_engine
    from possync.ledger.schema import sync_records as r

    with make_engine(ledger_url).connect() as conn:
        rows = conn.execute(select(r.c.integration, r.c.flow, r.c.record_type, r.c.status, func.count())
                            .group_by(r.c.integration, r.c.flow, r.c.record_type, r.c.status))
        return [dict(zip(("integration", "flow", "record_type", "status", "count"), row, strict=True))
                for row in rows]
