"""Accurate's sync operators: the shared customers / products / sales operators with Accurate's hook and senders."""

from __future__ import annotations

from typing import Any

from possync.config import Integration
from possync.targets.base.loader import Sender
from possync.targets.base.operators import (
    SyncCustomersOperator,
    SyncProductsOperator,
    SyncSalesOperator,
    SyncStockOperator,
    SyncTransfersOperator,
)


class AccurateTarget:
    """Mixin: talk to Accurate through ``AccurateHook`` and send with the Accurate senders."""

    target_label = "Accurate"

    def make_hook(self, integration: Integration) -> Any:
        from possync.targets.accurate.hook import AccurateHook

        return AccurateHook(integration.conn_id, pacing_share=integration.target_concurrency)

    def senders(self, hook: Any, integration: Integration, ledger: Any) -> dict[str, Sender]:
        from possync.targets.accurate import senders

        return {
            sender.record_type: sender
            for sender in (
                senders.CustomerSender(hook, integration, ledger),
                senders.ItemSender(hook, integration, ledger),
                senders.InvoiceSender(hook, integration, ledger),
                senders.ReceiptSender(hook, integration, ledger),
                senders.ReturnSender(hook, integration, ledger),
                senders.TransferOutSender(hook, integration, ledger),
                senders.TransferInSender(hook, integration, ledger),
                senders.AdjustmentSender(hook, integration, ledger),
                senders.StockTakeSender(hook, integration, ledger),
            )
        }

    def prepare_target(self, hook: Any, integration: Integration) -> None:
        """Create the Accurate branches and warehouses the outlets map to, when Accurate lacks them."""
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
                    created = hook.save(module, {"name": name})
                except RejectedError as error:
                    if DUPLICATE_MARKER not in error.message.casefold():
                        raise
                    continue  # created by a request whose reply was lost
                log_record(self.log, "CREATED", module, name, f"→ Accurate #{created.get('id')}")  # type: ignore[attr-defined]


class AccurateCustomersOperator(AccurateTarget, SyncCustomersOperator):
    """Syncs POS customers to Accurate customers (``customerNo`` = the till's customer ID when enabled)."""


class AccurateProductsOperator(AccurateTarget, SyncProductsOperator):
    """Creates in Accurate the POS products whose SKU it lacks; matches the rest by SKU."""


class AccurateSalesOperator(AccurateTarget, SyncSalesOperator):
    """Syncs one outlet's sales of one window: invoices, receipts, returns."""


class AccurateTransfersOperator(AccurateTarget, SyncTransfersOperator):
    """Syncs the transfers of a window: transfer-outs, then the transfer-ins that need them."""


class AccurateStockOperator(AccurateTarget, SyncStockOperator):
    """Syncs one outlet's stock adjustments and stock takes of a window."""
