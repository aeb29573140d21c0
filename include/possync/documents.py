"""Canonical accounting documents: what the POS means, in no target's vocabulary.

Transforms produce these; each target's mapping turns them into its own payloads. Amounts are
``Decimal`` rupiah with two places, never floats. Every document has a ``key``: the stable business key
(the POS number) that the ledger tracks and that targets receive as their transaction number, so a
re-run finds the document instead of creating it twice.

Sales amounts are split the same way for tax-inclusive and tax-exclusive orders, so one identity holds
for both (checked by ``SalesInvoice.check_totals``)::

    total = Σ line.gross − Σ line.discount + Σ line.tax + service_charge + rounding

``gross`` and ``discount`` are net of tax. ``unit_price`` stays as the receipt showed it (inclusive when
``tax_inclusive``), because targets that compute tax themselves need the price the customer saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from possync.money import rupiah

PaymentMethod = Literal["cash", "card", "qris", "ewallet", "bank_transfer"]
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Customer:
    key: str  # the POS customer's stable id, e.g. "CUST-17"
    name: str
    customer_code: str | None  # the ID typed at the till, used as the target's number when allowed
    email: str | None = None
    phone: str | None = None
    record_type: str = field(default="customer", init=False)


@dataclass(frozen=True, slots=True)
class Item:
    key: str  # the SKU: targets match products by SKU
    name: str
    unit: str
    price: Decimal
    cost: Decimal
    tax_rate: Decimal
    barcode: str | None = None
    category: str | None = None
    track_stock: bool = True
    record_type: str = field(default="item", init=False)


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    line_no: int
    sku: str
    product_name: str
    quantity: Decimal
    unit_price: Decimal  # as on the receipt
    gross: Decimal  # quantity × price, net of tax
    discount: Decimal  # line discount plus its share of the order discount, net of tax
    tax_rate: Decimal
    tax: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.discount


@dataclass(frozen=True, slots=True)
class SalesInvoice:
    key: str  # the POS order number
    outlet_code: str
    business_time: datetime  # timezone-aware, in the outlet's timezone
    customer_key: str | None
    tax_inclusive: bool
    lines: tuple[InvoiceLine, ...]
    service_charge: Decimal
    rounding: Decimal
    total: Decimal
    shift_number: str | None = None
    note: str | None = None
    record_type: str = field(default="invoice", init=False)

    @property
    def business_date(self) -> date:
        return self.business_time.date()

    @property
    def gross_total(self) -> Decimal:
        return sum((line.gross for line in self.lines), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((line.discount for line in self.lines), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((line.tax for line in self.lines), ZERO)

    def check_totals(self) -> None:
        """Raise ``ValueError`` unless the total reconciles to the sen."""
        expected = self.gross_total - self.discount_total + self.tax_total + self.service_charge + self.rounding
        if expected != self.total:
            raise ValueError(
                f"invoice {self.key}: lines reconcile to {rupiah(expected)}, total is {rupiah(self.total)}")


@dataclass(frozen=True, slots=True)
class Payment:
    key: str  # "<order number>/P<seq>"
    invoice_key: str
    outlet_code: str
    paid_at: datetime
    method: PaymentMethod
    amount: Decimal
    reference: str | None = None
    record_type: str = field(default="payment", init=False)


@dataclass(frozen=True, slots=True)
class ReturnLine:
    line_no: int
    sku: str
    product_name: str
    quantity: Decimal
    unit_price: Decimal  # as on the original receipt
    net: Decimal  # refunded amount net of tax
    tax: Decimal


@dataclass(frozen=True, slots=True)
class SalesReturn:
    key: str  # the POS refund number
    invoice_key: str
    outlet_code: str
    business_time: datetime
    tax_inclusive: bool
    method: PaymentMethod
    lines: tuple[ReturnLine, ...]
    total: Decimal  # refunded to the customer
    reason: str | None = None
    record_type: str = field(default="return", init=False)

    def check_totals(self) -> None:
        expected = sum((line.net + line.tax for line in self.lines), ZERO)
        if expected != self.total:
            raise ValueError(f"return {self.key}: lines reconcile to {rupiah(expected)}, total is {rupiah(self.total)}")


@dataclass(frozen=True, slots=True)
class Rejection:
    """A POS record that cannot become a document, and the plain reason an operator can act on."""

    record_type: str
    key: str
    reason: str
    outlet_code: str | None = None
    business_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class StockLine:
    """One product's quantity on a stock document (quantities have three places, like the POS)."""

    line_no: int
    sku: str
    product_name: str
    quantity: Decimal  # sent (transfer-out), received (transfer-in), signed difference (adjustment), counted
    unit_cost: Decimal | None = None
    sent: Decimal | None = None  # transfer-in only: what the transfer-out sent
    expected: Decimal | None = None  # stock take only: what the till expected before the count

    @property
    def shortage(self) -> Decimal:
        """Transfer-in only: sent but never received (lost in transit)."""
        return (self.sent or self.quantity) - self.quantity

    @property
    def difference(self) -> Decimal:
        """Stock take only: counted − expected."""
        return self.quantity - (self.expected if self.expected is not None else self.quantity)


@dataclass(frozen=True, slots=True)
class TransferOut:
    """Goods leaving ``outlet_code`` for ``to_outlet_code``: in transit until the transfer-in."""

    key: str  # the POS transfer number, shared by its transfer-in
    outlet_code: str  # the source
    to_outlet_code: str
    business_time: datetime  # when it was sent, in the source's timezone
    lines: tuple[StockLine, ...]
    note: str | None = None
    record_type: str = field(default="transfer_out", init=False)


@dataclass(frozen=True, slots=True)
class TransferIn:
    """Goods arriving at ``outlet_code`` from the transfer-out of the same key; lines carry sent and received."""

    key: str
    outlet_code: str  # the destination
    from_outlet_code: str
    business_time: datetime  # when it was received, in the destination's timezone
    lines: tuple[StockLine, ...]
    note: str | None = None
    record_type: str = field(default="transfer_in", init=False)

    @property
    def has_shortage(self) -> bool:
        return any(line.shortage for line in self.lines)


@dataclass(frozen=True, slots=True)
class StockAdjustment:
    """Stock in or out of an outlet outside sales and transfers (spoilage, breakage), with its reason."""

    key: str  # the POS adjustment number
    outlet_code: str
    business_time: datetime
    lines: tuple[StockLine, ...]  # quantity = the signed difference
    reason: str | None = None
    record_type: str = field(default="adjustment", init=False)


@dataclass(frozen=True, slots=True)
class StockTake:
    """A count of an outlet's stock: counted quantities, and what the till expected just before."""

    key: str
    outlet_code: str
    business_time: datetime
    lines: tuple[StockLine, ...]  # quantity = counted, expected = the till's quantity before the count
    reason: str | None = None
    record_type: str = field(default="stock_take", init=False)


Document = (
    Customer | Item | SalesInvoice | Payment | SalesReturn | TransferOut | TransferIn | StockAdjustment | StockTake
)
