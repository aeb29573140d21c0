"""Ledgerbook's senders: every document is ``{number, amount}`` of its kind; the base does the rest (batches,
lost-reply recovery, prerequisites)."""

from __future__ import annotations

from typing import Any

from possync.targets.base.loader import Prerequisite, SendResult
from possync.targets.base.senders import (
    TargetSender,
    invoice_prerequisite,
    invoice_prerequisites,
    stock_prerequisites,
)


class LedgerbookSender(TargetSender):
    target_label = "Ledgerbook"

    def body(self, document: Any) -> dict[str, Any]:
        amount = getattr(document, "total", None) or getattr(document, "amount", None)
        return {"number": document.key, "amount": str(amount) if amount is not None else None}

    def same_document(self, document: Any, record: dict[str, Any]) -> bool:
        return record.get("amount") == self.body(document)["amount"]

    def result(self, document: Any, record: dict[str, Any], note: str | None = None) -> SendResult:
        return SendResult(document.key, "synced", str(record["id"]), record["number"], note=note)

    def create_batch(self, bodies: list[dict[str, Any]]) -> list[Any]:
        return self.hook.batch_create(self.record_type, bodies)

    def is_duplicate(self, message: str | None) -> bool:
        return "is taken" in (message or "")

    def find_existing(self, document: Any, conflict: Any) -> dict[str, Any] | None:
        return self.hook.find(self.record_type, document.key)


class CustomerSender(LedgerbookSender):
    record_type, flow = "customer", "customers"


class ItemSender(LedgerbookSender):
    record_type, flow = "item", "products"


class InvoiceSender(LedgerbookSender):
    record_type, flow = "invoice", "sales"

    def prerequisites(self, document: Any) -> list[Prerequisite]:
        return invoice_prerequisites(document, self.integration.bookkeeping)


class PaymentSender(LedgerbookSender):
    record_type, flow = "payment", "sales"

    def prerequisites(self, document: Any) -> list[Prerequisite]:
        return invoice_prerequisite(document)


class ReturnSender(PaymentSender):
    record_type = "return"


class StockSender(LedgerbookSender):
    flow = "transfers"

    def prerequisites(self, document: Any) -> list[Prerequisite]:
        return stock_prerequisites(document)


def all_senders() -> list[type[LedgerbookSender]]:
    stock = [type(f"{kind.title()}Sender", (StockSender,), {"record_type": kind, "flow": flow})
             for kind, flow in (("transfer_out", "transfers"), ("transfer_in", "transfers"),
                                ("adjustment", "stock"), ("stock_take", "stock"))]
    return [CustomerSender, ItemSender, InvoiceSender, PaymentSender, ReturnSender, *stock]
