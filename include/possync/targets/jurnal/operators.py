"""Jurnal's sync operators: the shared customers / products / sales operators with Jurnal's hook and senders."""

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


class JurnalTarget:
    """Mixin: talk to Jurnal through ``JurnalHook`` and send with the Jurnal senders."""

    target_label = "Jurnal"

    def make_hook(self, integration: Integration) -> Any:
        from possync.targets.jurnal.hook import JurnalHook

        return JurnalHook(integration.conn_id, pacing_share=integration.target_concurrency)

    def senders(self, hook: Any, integration: Integration, ledger: Any) -> dict[str, Sender]:
        from possync.targets.jurnal import senders

        return {
            sender.record_type: sender
            for sender in (
                senders.CustomerSender(hook, integration, ledger),
                senders.ItemSender(hook, integration, ledger),
                senders.InvoiceSender(hook, integration, ledger),
                senders.PaymentSender(hook, integration, ledger),
                senders.ReturnSender(hook, integration, ledger),
                senders.TransferOutSender(hook, integration, ledger),
                senders.TransferInSender(hook, integration, ledger),
                senders.AdjustmentSender(hook, integration, ledger),
                senders.StockTakeSender(hook, integration, ledger),
            )
        }

    def prepare_target(self, hook: Any, integration: Integration) -> None:
        """Create the Jurnal warehouses the outlets map to, and the transit warehouse, when Jurnal lacks them."""
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
                created = hook.create("warehouses", {"name": name, "code": code})
            except RejectedError as error:
                if not is_duplicate(error.message):
                    raise
                continue  # created by a request whose reply was lost
            existing.add(name.casefold())
            log_record(self.log, "CREATED", "warehouse", name, f"→ Jurnal #{created.get('id')}")  # type: ignore[attr-defined]


class JurnalCustomersOperator(JurnalTarget, SyncCustomersOperator):
    """Syncs POS customers to Jurnal customers (``custom_id`` = the till's customer ID when enabled)."""


class JurnalProductsOperator(JurnalTarget, SyncProductsOperator):
    """Creates in Jurnal the POS products whose SKU it lacks; matches the rest by SKU."""


class JurnalSalesOperator(JurnalTarget, SyncSalesOperator):
    """Syncs one outlet's sales of one window: invoices, payments, returns."""


class JurnalTransfersOperator(JurnalTarget, SyncTransfersOperator):
    """Syncs the transfers of a window: transfer-outs, then the transfer-ins that need them."""


class JurnalStockOperator(JurnalTarget, SyncStockOperator):
    """Syncs one outlet's stock adjustments and stock takes of a window."""
