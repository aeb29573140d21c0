"""Accurate Online as a possync target: its connection form, hook, senders, branches and warehouses, and its
webhooks (goods received from suppliers come back to the POS)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from possync.targets.base.target import Inbound, Logger, Target

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from possync.config import Integration
    from possync.ledger.webhooks import WebhookLog


class AccurateInbound(Inbound):
    description = "receive-items (goods received from suppliers) → POS goods receipts"
    renew_schedule = "0 6 * * *"  # Accurate drops a subscription 7 days after its last renewal
    doc_md = """
Goods received from suppliers (Accurate receive-items) reach the POS as stock coming in. Accurate posts a
webhook to `/possync/webhooks/accurate/<integration>?token=…` on the API server (register it in Accurate's
Developer Area, with the `webhook_secret` of the integration's connection as the token); the endpoint records
it in the webhook log (sync ledger, table `webhook_events`) and triggers this DAG.
Accurate stops sending webhooks 7 days after the subscription was last renewed: the `__webhook_renew` DAG
renews it every morning.
"""

    def parse_delivery(self, body: bytes) -> list[dict[str, Any]]:
        from possync.targets.accurate.inbound import parse_delivery

        return parse_delivery(body)

    def process_pending(self, webhook_log: WebhookLog, hook: Any, pos: Engine, integration: Integration,
                        logger: Logger) -> Any:
        from possync.targets.accurate.inbound import process_pending

        return process_pending(webhook_log, hook, pos, integration, logger)

    def renew(self, hook: Any) -> str:
        return hook.renew_webhook()


class AccurateTarget(Target):
    name = "accurate"
    label = "Accurate"
    inbound = AccurateInbound()
    outlet_needs_branch = True  # Accurate books every document to a branch (cabang)
    max_in_flight = 8  # "at most 8 parallel in-flight requests" (batasan-pemanggilan-api)
    connection_type = {
        "connection-type": "accurate",
        "hook-class-name": "possync.targets.accurate.hook.AccurateHook",
        "hook-name": "Accurate Online",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "login"],
            "relabeling": {"host": "Account API URL", "password": "API token"},
            "placeholders": {
                "host": "https://account.accurate.id",
                "password": "aat.…  (the API token of the Accurate database)",
            },
        },
        "conn-fields": {
            "signature_secret": {
                "label": "Signature secret",
                "description": "Signs X-Api-Signature (HMAC-SHA256 of X-Api-Timestamp).",
                "schema": {"type": ["string", "null"], "format": "password"},
            },
            "timeout": {
                "label": "Request timeout (seconds)",
                "schema": {"type": ["integer", "null"], "minimum": 1, "default": 30},
            },
            "requests_per_second": {
                "label": "Requests per second",
                "description": "Accurate allows 8 per second and 8 in flight; requests are paced below it.",
                "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 8, "default": 8},
            },
            "pacing_transit_seconds": {
                "label": "Pacing transit (seconds)",
                "description": "Empty: a call holds its place in the second until a second after its answer (never "
                               "refused, slower). Set (e.g. 0.05): until a second after it was sent plus this, "
                               "closer to 8 a second; a call slower to arrive may be refused and is sent again.",
                "schema": {"type": ["number", "null"], "minimum": 0},
            },
            "webhook_secret": {
                "label": "Webhook secret",
                "description": "Accurate does not sign webhooks: register the URL "
                               "<API server>/possync/webhooks/accurate/<integration>?token=<this secret> "
                               "in Accurate; deliveries with any other token are refused (403).",
                "schema": {"type": ["string", "null"], "format": "password"},
            },
        },
    }

    def reasons(self) -> tuple[Mapping[str, str], Sequence[tuple[str, str]]]:
        from possync.targets.accurate import reasons

        return reasons.NOUNS, reasons.CATALOGUE

    def hook_class(self) -> type:
        from possync.targets.accurate.hook import AccurateHook

        return AccurateHook

    def sender_classes(self) -> Iterable[type]:
        from possync.targets.accurate import senders

        return (senders.CustomerSender, senders.ItemSender, senders.InvoiceSender, senders.ReceiptSender,
                senders.ReturnSender, senders.TransferOutSender, senders.TransferInSender,
                senders.AdjustmentSender, senders.StockTakeSender,
                senders.OpeningStockSender, senders.StockCorrectionSender)

    def reader_class(self) -> type:
        from possync.targets.accurate.books import AccurateBooks

        return AccurateBooks

    def stock_levels(self, hook: Any, integration: Integration, ledger: Any) -> dict[tuple[str, str], Any]:
        """Accurate's stock per warehouse: the item list (``item/list.do``) with the item detail's documented
        ``detailWarehouseData[] {warehouseName, balance}`` as a field, 100 items a request; only the items the
        ledger maps to a POS product (not the helper items invoices use)."""
        from decimal import Decimal

        skus = set(ledger.id_maps(integration.name, "product"))
        outlet_of = {outlet.warehouse.casefold(): code for code, outlet in integration.outlets.items()}
        levels = {}
        for item in hook.iterate("item", fields=["id", "no", "detailWarehouseData"]):
            sku = str(item.get("no"))
            if sku not in skus:
                continue
            for row in item.get("detailWarehouseData") or []:
                code = outlet_of.get(str(row.get("warehouseName") or "").casefold())
                if code is not None:
                    levels[code, sku] = Decimal(str(row.get("balance") or 0))
        return levels

    def prepare(self, hook: Any, integration: Integration, logger: Logger) -> None:
        """Create the branches and warehouses the outlets map to, when Accurate lacks them."""
        from possync.recordlog import log_record
        from possync.targets.accurate.senders import DUPLICATE_MARKER
        from possync.targets.base.errors import RejectedError

        wanted = {
            "warehouse": {outlet.warehouse for outlet in integration.outlets.values()},
            "branch": {outlet.branch for outlet in integration.outlets.values() if outlet.branch},
        }
        for module, names in wanted.items():
            listed = hook.iterate(module, fields=["id", "name"])
            existing = {str(record.get("name", "")).casefold() for record in listed}
            for name in sorted(names):
                if name.casefold() in existing:
                    continue
                try:
                    created = hook.save(module, {"name": name}, idempotent=True)  # names are unique
                except RejectedError as error:
                    if DUPLICATE_MARKER not in error.message.casefold():
                        raise
                    continue  # created by a request whose reply was lost
                log_record(logger, "CREATED", module, name, f"→ Accurate #{created.get('id')}")


TARGET = AccurateTarget()
