"""Records every target needs besides the POS's own: the walk-in customer and the helper items that
carry what a receipt charges besides products (output VAT, service charge, rounding)."""

from __future__ import annotations

from decimal import Decimal

from possync.config import Bookkeeping
from possync.documents import Customer, Item

WALK_IN_KEY = "WALK-IN"
ZERO = Decimal("0.00")


def walk_in_customer(bookkeeping: Bookkeeping) -> Customer:
    return Customer(key=WALK_IN_KEY, name=bookkeeping.walk_in_customer, customer_code=None)


def helper_items(bookkeeping: Bookkeeping) -> list[Item]:
    def item(sku: str, name: str) -> Item:
        return Item(key=sku, name=name, unit="pcs", price=ZERO, cost=ZERO, tax_rate=ZERO, track_stock=False)

    return [
        item(bookkeeping.output_vat_sku, "PPN Keluaran (POS)"),
        item(bookkeeping.service_charge_sku, "Service Charge (POS)"),
        item(bookkeeping.rounding_sku, "Pembulatan (POS)"),
    ]
