"""Mekari Jurnal as a possync target: its connection form, hook, senders and warehouses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from possync.targets.base.target import Logger, Target

if TYPE_CHECKING:
    from possync.config import Integration


class JurnalTarget(Target):
    name = "jurnal"
    label = "Jurnal"
    stock_take_sets_count = True  # a stock take is posted with each line's actual_quantity
    connection_type = {
        "connection-type": "jurnal",
        "hook-class-name": "possync.targets.jurnal.hook.JurnalHook",
        "hook-name": "Mekari Jurnal",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port"],
            "relabeling": {
                "host": "API base URL",
                "login": "HMAC client ID",
                "password": "HMAC client secret",
            },
            "placeholders": {
                "host": "https://api.mekari.com",
                "login": "Client ID of the Mekari HMAC credential",
                "password": "Client secret of the Mekari HMAC credential",
            },
        },
        "conn-fields": {
            "web_url": {
                "label": "Jurnal web app URL",
                "description": "Used for links from tasks to the documents they created.",
                "schema": {"type": ["string", "null"], "default": "https://my.jurnal.id"},
            },
            "timeout": {
                "label": "Request timeout (seconds)",
                "schema": {"type": ["integer", "null"], "minimum": 1, "default": 30},
            },
            "requests_per_minute": {
                "label": "Requests per minute",
                "description": "The API consumer's limit (Jurnal documents 30/min); requests stay below it.",
                "schema": {"type": ["integer", "null"], "minimum": 1, "default": 30},
            },
        },
    }

    def hook_class(self) -> type:
        from possync.targets.jurnal.hook import JurnalHook

        return JurnalHook

    def sender_classes(self) -> Iterable[type]:
        from possync.targets.jurnal import senders

        return (senders.CustomerSender, senders.ItemSender, senders.InvoiceSender, senders.PaymentSender,
                senders.ReturnSender, senders.TransferOutSender, senders.TransferInSender,
                senders.AdjustmentSender, senders.StockTakeSender,
                senders.OpeningStockSender, senders.StockCorrectionSender)

    def reader_class(self) -> type:
        from possync.targets.jurnal.books import JurnalBooks

        return JurnalBooks

    def stock_levels(self, hook: Any, integration: Integration, ledger: Any) -> dict[tuple[str, str], Any]:
        """Jurnal's documented quantity per warehouse (``get_product_quantity_per_warehouse?ids=``, 50 products
        a request) for the products the ledger maps to a Jurnal id."""
        ids = {target_id: sku for sku, (target_id, _n) in ledger.id_maps(integration.name, "product").items()}
        outlet_of = {outlet.warehouse.casefold(): code for code, outlet in integration.outlets.items()}
        levels = {}
        for product_id, warehouses in hook.stock_per_warehouse(sorted(ids)).items():
            for name, quantity in warehouses.items():
                code = outlet_of.get(name.casefold())
                if code is not None and product_id in ids:
                    levels[code, ids[product_id]] = quantity
        return levels

    def prepare(self, hook: Any, integration: Integration, logger: Logger) -> None:
        """Create the warehouses the outlets map to, and the transit warehouse, when Jurnal lacks them."""
        from possync.recordlog import log_record
        from possync.targets.base.errors import RejectedError
        from possync.targets.jurnal.senders import is_duplicate

        existing = {str(w.get("name", "")).casefold() for w in hook.iterate("warehouses")}
        wanted = {code: outlet.warehouse for code, outlet in integration.outlets.items()}
        wanted["TRANSIT"] = integration.bookkeeping.transit_warehouse  # goods between two outlets
        for code, name in sorted(wanted.items()):
            if name.casefold() in existing:
                continue
            try:
                created = hook.create("warehouses", {"name": name, "code": code}, idempotent=True)  # names are unique
            except RejectedError as error:
                if not is_duplicate(error.message):
                    raise
                continue  # created by a request whose reply was lost
            existing.add(name.casefold())
            log_record(logger, "CREATED", "warehouse", name, f"→ Jurnal #{created.get('id')}")


TARGET = JurnalTarget()
