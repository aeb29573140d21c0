"""What a target's books hold, read back through the target's real hook, in one shape for every target, so
end-to-end tests assert the same facts about Jurnal and Accurate.

``Books.for_world(world)`` picks the reader of the world's target (see ``support.worlds``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple

from possync.config import Integration, load_config
from possync.targets.base.registry import get_target

#: the kinds of document ``Books.documents`` reads, each a list the target keeps ("refund": the money a refund pays
#: back, Jurnal's bank withdrawal or Accurate's other payment of the refund's number)
KINDS = ("invoice", "payment", "return", "refund", "customer", "product", "transfer", "adjustment")


class TargetDocument(NamedTuple):
    """One document as the target lists it: its number (what the target knows it by: the POS key, the transfer
    number with its side, the customer's number or name), the target's id, and its total where it has one."""

    number: str
    id: str
    total: Decimal | None = None


def integration_of(world: dict[str, Any]) -> Integration:
    """The world's integration as integrations.yaml configures it."""
    return next(i for i in load_config().integrations if i.name == world["integration"])


class Books(ABC):
    """One target's documents, each list in the target's own order and with any duplicates it holds (so a
    test can tell "posted twice" from "posted once")."""

    readers: ClassVar[dict[str, type[Books]]] = {}
    target: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Books.readers[cls.target] = cls

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        # the target's real hook with the whole allowance: tests read after the DAG's tasks have finished
        self.hook = get_target(integration.target).hook_class()(integration.conn_id)
        self.transit_warehouse = self._transit_warehouse()

    @classmethod
    def for_world(cls, world: dict[str, Any]) -> Books:
        return cls.readers[world["target"]](integration_of(world))

    @abstractmethod
    def invoices(self) -> list[tuple[str, Decimal]]:
        """(number, total) of every sales invoice."""

    @abstractmethod
    def payments(self) -> list[str]:
        """The number of every payment received against an invoice (``<invoice>/P<n>``)."""

    @abstractmethod
    def returns(self) -> list[str]:
        """The number of every sales return."""

    @abstractmethod
    def customers(self) -> list[str]:
        """What the target knows each customer by, as the ledger's id map keeps it (Jurnal: the display name,
        Accurate: the customer number)."""

    @abstractmethod
    def transfer_numbers(self) -> Counter[str]:
        """How many times each warehouse-transfer number (``<transfer>/OUT``, ``<transfer>/IN``) is there."""

    @abstractmethod
    def adjustment_numbers(self) -> Counter[str]:
        """How many times each stock-adjustment number is there."""

    @abstractmethod
    def stock(self, products: dict[str, tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """(warehouse name, SKU) → the quantity the target reports, for ``products`` as the ledger's id map
        holds them (SKU → (target id, name)); quantities of zero are left out."""

    @abstractmethod
    def _transit_warehouse(self) -> str:
        """The warehouse the target shows goods on the road in (between a transfer's out and its in)."""

    @abstractmethod
    def documents(self, kind: str) -> list[TargetDocument]:
        """Every document of ``kind`` (one of ``KINDS``), duplicates included: invoices, payments, returns and the
        money refunds pay back with their totals (a return's total is what it credits the customer, on Jurnal
        with the part of the refund's bank withdrawal that completes the quantity return); customers, products,
        warehouse transfers (both sides) and stock adjustments (Jurnal's stock takes and transit losses among
        them) with their number and id only."""


class JurnalBooks(Books):
    target = "jurnal"

    def _all(self, resource: str) -> list[dict[str, Any]]:
        return list(self.hook.iterate(resource))

    def invoices(self) -> list[tuple[str, Decimal]]:
        return [(i["transaction_no"], Decimal(str(i["original_amount"]))) for i in self._all("sales_invoices")]

    def payments(self) -> list[str]:
        return [p["custom_id"] for p in self._all("receive_payments")]

    def returns(self) -> list[str]:
        return [r["transaction_no"] for r in self._all("sales_returns")]

    def customers(self) -> list[str]:
        return [c["display_name"] for c in self._all("customers")]

    def transfer_numbers(self) -> Counter[str]:
        return Counter(t["transaction_no"] for t in self._all("warehouse_transfers"))

    def adjustment_numbers(self) -> Counter[str]:
        return Counter(a["transaction_no"] for a in self._all("stock_adjustments"))

    def stock(self, products: dict[str, tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        sku_of = {target_id: sku for sku, (target_id, _name) in products.items()}
        return {(warehouse, sku_of[product_id]): quantity
                for product_id, warehouses in self.hook.stock_per_warehouse(list(sku_of)).items()
                for warehouse, quantity in warehouses.items() if quantity}

    def _transit_warehouse(self) -> str:
        return self.integration.bookkeeping.transit_warehouse  # possync creates it (JurnalTarget.prepare)

    #: kind → (list resource, number field, total field or None)
    LISTS: ClassVar[dict[str, tuple[str, str, str | None]]] = {
        "invoice": ("sales_invoices", "transaction_no", "original_amount"),
        "payment": ("receive_payments", "custom_id", "total"),
        "return": ("sales_returns", "transaction_no", "return_amount"),
        "refund": ("bank_withdrawals", "custom_id", "original_amount"),
        "customer": ("customers", "display_name", None),
        "product": ("products", "product_code", None),
        "transfer": ("warehouse_transfers", "transaction_no", None),
        "adjustment": ("stock_adjustments", "transaction_no", None),
    }

    RECEIVABLE = "Account Receivable"  # what a refund's withdrawal clears of the credit the return left

    def documents(self, kind: str) -> list[TargetDocument]:
        resource, number, total = self.LISTS[kind]
        records = self._all(resource)
        if kind == "return":  # the withdrawal's other lines (VAT, discount cents) complete the quantity return
            completes: dict[str, Decimal] = {}
            for withdrawal in self._all("bank_withdrawals"):
                completes[str(withdrawal.get("custom_id"))] = sum(
                    (Decimal(str(line["debit"])) - Decimal(str(line["credit"]))
                     for line in withdrawal.get("transaction_account_lines") or []
                     if line["account"]["name"] != self.RECEIVABLE), Decimal(0))
            return [TargetDocument(str(r[number]), str(r["id"]),
                                   Decimal(str(r[total])) + completes.get(str(r[number]), Decimal(0)))
                    for r in records]
        return [TargetDocument(str(r[number]), str(r["id"]), None if total is None else Decimal(str(r[total])))
                for r in records]


class AccurateBooks(Books):
    target = "accurate"
    # list.do returns only the fields asked for
    FIELDS: ClassVar[dict[str, list[str]]] = {
        "sales-invoice": ["id", "number", "totalAmount"],
        "sales-receipt": ["id", "number"],
        "sales-return": ["id", "number"],
        "customer": ["id", "customerNo"],
        "item-transfer": ["number"],
        "item-adjustment": ["number"],
    }

    def _all(self, module: str) -> list[dict[str, Any]]:
        return list(self.hook.iterate(module, fields=self.FIELDS[module]))

    def invoices(self) -> list[tuple[str, Decimal]]:
        return [(i["number"], Decimal(str(i["totalAmount"]))) for i in self._all("sales-invoice")]

    def payments(self) -> list[str]:
        return [r["number"] for r in self._all("sales-receipt")]

    def returns(self) -> list[str]:
        return [r["number"] for r in self._all("sales-return")]

    def customers(self) -> list[str]:
        return [c["customerNo"] for c in self._all("customer")]

    def transfer_numbers(self) -> Counter[str]:
        return Counter(t["number"] for t in self._all("item-transfer"))

    def adjustment_numbers(self) -> Counter[str]:
        return Counter(a["number"] for a in self._all("item-adjustment"))

    def stock(self, products: dict[str, tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        levels: dict[tuple[str, str], Decimal] = {}
        for sku in products:  # list.do has no per-warehouse balance; detail.do of each item has
            item = self.hook.detail("item", no=sku) or {}
            for row in item.get("detailWarehouseData") or []:
                quantity = Decimal(str(row.get("balance") or 0))
                if quantity:
                    levels[row.get("warehouseName"), sku] = quantity
        return levels

    def _transit_warehouse(self) -> str:
        return "Transit (AOL System)"  # Accurate's own, not configurable

    #: kind → (module, number field, total field or None)
    LISTS: ClassVar[dict[str, tuple[str, str, str | None]]] = {
        "invoice": ("sales-invoice", "number", "totalAmount"),
        "payment": ("sales-receipt", "number", "totalPayment"),
        "return": ("sales-return", "number", "totalAmount"),
        "refund": ("other-payment", "number", "amount"),
        "customer": ("customer", "customerNo", None),
        "product": ("item", "no", None),
        "transfer": ("item-transfer", "number", None),
        "adjustment": ("item-adjustment", "number", None),
    }

    def documents(self, kind: str) -> list[TargetDocument]:
        module, number, total = self.LISTS[kind]
        fields = ["id", number, *([total] if total else [])]
        return [TargetDocument(str(r[number]), str(r["id"]), None if total is None else Decimal(str(r[total])))
                for r in self.hook.iterate(module, fields=fields)]
