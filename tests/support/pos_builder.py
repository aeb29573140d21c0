"""A small point of sale for tests: writes outlets, products, orders and refunds the way a till does.

The till arithmetic here is written independently of ``possync.transform.sales`` (plain ``Decimal``, one
order at a time), so a test that feeds one to the other checks two implementations against each other.
Stored columns can be overridden to make a record broken on purpose.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from possync.pos import schema

SEN = Decimal("0.01")
ZERO = Decimal("0.00")
# 10:00 in Jakarta on the first demo business day.
T0 = datetime(2026, 11, 9, 3, 0, tzinfo=UTC)


def D(value: Any) -> Decimal:
    return Decimal(str(value))


def _stored(column: str, value: Any) -> Any:
    return D(value) if column.endswith("amount") and value is not None else value


def half_up(value: Decimal, quantum: Decimal = SEN) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


@dataclass
class Line:
    product: str
    quantity: Any = 1
    price: Any = None  # the product's price when None
    discount: Any = 0


@dataclass
class SoldLine:
    id: int
    line_no: int
    product: str
    quantity: Decimal
    unit_price: Decimal
    gross: Decimal
    discount: Decimal
    share: Decimal
    taxable: Decimal  # as priced: tax-inclusive when the order is
    tax_rate: Decimal
    tax: Decimal


@dataclass
class SoldOrder:
    id: int
    number: str
    tax_inclusive: bool
    lines: list[SoldLine]
    discount: Decimal
    service_charge: Decimal
    tax: Decimal
    rounding: Decimal
    total: Decimal
    payments: list[tuple[str, Decimal]] = field(default_factory=list)

    def line(self, line_no: int) -> SoldLine:
        return next(line for line in self.lines if line.line_no == line_no)


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` ∝ ``weights`` by largest remainder, ties to the earlier weight (the till's rule)."""
    total = sum(weights, ZERO)
    if amount == 0 or total == 0:
        return [ZERO for _ in weights]
    cents, weight_cents = int(amount / SEN), [int(w / SEN) for w in weights]
    exact = [divmod(cents * w, int(total / SEN)) for w in weight_cents]
    shares = [whole for whole, _ in exact]
    left = cents - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-exact[i][1], i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return [Decimal(share) * SEN for share in shares]


class Pos:
    """Writes POS records into a fresh schema; every ``order`` is priced like a till prices it."""

    def __init__(self, engine: Engine) -> None:
        schema.create_schema(engine)
        self.engine = engine
        self.outlets: dict[str, dict[str, int]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, int] = {}
        self._sku = itertools.count(1)

    def _insert(self, table: Any, **values: Any) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(table).values(**values)).inserted_primary_key[0]

    def outlet(self, code: str = "OUT-01", *, kind: str = "outlet", timezone: str = "Asia/Jakarta") -> str:
        outlet_id = self._insert(
            schema.outlets, code=code, name=f"Outlet {code}", kind=kind, timezone=timezone
        )
        register_id = self._insert(schema.registers, outlet_id=outlet_id, code="R1", name="Register 1")
        shift_id = self._insert(
            schema.shifts,
            number=f"{code}-S1",
            register_id=register_id,
            opened_at=T0 - timedelta(days=30),
            opening_cash=D("500000.00"),
        )
        self.outlets[code] = {"id": outlet_id, "register_id": register_id, "shift_id": shift_id}
        return code

    def product(
        self, name: str, price: Any, *, tax_rate: Any = "11", sku: str | None = "auto", unit: str = "pcs"
    ) -> str:
        sku = f"SKU-{next(self._sku):03d}" if sku == "auto" else sku
        product_id = self._insert(
            schema.products,
            sku=sku,
            name=name,
            unit=unit,
            price=D(price),
            cost=half_up(D(price) * D("0.4")),
            tax_rate=D(tax_rate),
            updated_at=T0,
        )
        self.products[name] = {"id": product_id, "price": D(price), "tax_rate": D(tax_rate), "sku": sku}
        return name

    def customer(self, name: str, code: str | None = None, *, updated_at: datetime = T0) -> int:
        customer_id = self._insert(
            schema.customers, customer_code=code, name=name, created_at=T0, updated_at=updated_at
        )
        self.customers[name] = customer_id
        return customer_id

    def order(
        self,
        number: str,
        lines: Sequence[Line],
        *,
        outlet: str = "OUT-01",
        at: datetime = T0,
        committed_at: datetime | None = None,
        inclusive: bool = False,
        discount: Any = 0,
        service_rate: Any = 0,
        round_to: Any = None,
        payments: Sequence[tuple[str, Any]] | None = None,
        customer: str | None = None,
        status: str = "completed",
        void_reason: str | None = None,
        **stored: Any,
    ) -> SoldOrder:
        """Price and write an order. ``payments``: (method, amount) pairs, amount None for "the rest".

        ``stored`` overrides order columns after pricing (``total_amount=...``) to break the order on purpose;
        default payments settle the stored total.
        """
        order_discount = D(discount)
        priced = []
        for line in lines:
            product = self.products[line.product]
            price = D(line.price) if line.price is not None else product["price"]
            quantity = D(line.quantity)
            gross = half_up(quantity * price)
            priced.append((line, product, price, quantity, gross, gross - D(line.discount)))
        shares = allocate(order_discount, [base for *_, base in priced])
        sold_lines, tax_total = [], ZERO
        for (line, product, price, quantity, gross, base), share in zip(priced, shares, strict=True):
            rate, taxable = product["tax_rate"], base - share
            tax = half_up(taxable * rate / (100 + rate)) if inclusive else half_up(taxable * rate / 100)
            tax_total += tax
            sold_lines.append((line, product, price, quantity, gross, share, taxable, tax))
        subtotal = sum((base for *_, base in priced), ZERO) - order_discount
        service = half_up(subtotal * D(service_rate) / 100)
        before_rounding = subtotal + (ZERO if inclusive else tax_total) + service
        rounding = ZERO
        if round_to is not None:
            step = D(round_to)
            rounding = (before_rounding / step).quantize(
                Decimal(1), rounding=ROUND_HALF_UP
            ) * step - before_rounding
        values = {
            "number": number,
            "outlet_id": self.outlets[outlet]["id"],
            "register_id": self.outlets[outlet]["register_id"],
            "shift_id": self.outlets[outlet]["shift_id"],
            "customer_id": self.customers[customer] if customer else None,
            "status": status,
            "business_time": at,
            "committed_at": committed_at or at + timedelta(seconds=5),
            "tax_inclusive": inclusive,
            "discount_amount": order_discount,
            "service_charge_rate": D(service_rate),
            "service_charge_amount": service,
            "tax_amount": tax_total,
            "rounding_amount": half_up(rounding),
            "total_amount": before_rounding + half_up(rounding),
            "voided_at": at + timedelta(minutes=2) if status == "voided" else None,
            "void_reason": void_reason,
        }
        values.update({key: _stored(key, value) for key, value in stored.items()})
        order_id = self._insert(schema.orders, **values)

        result_lines = []
        for line_no, (line, product, price, quantity, gross, share, taxable, tax) in enumerate(sold_lines, 1):
            line_id = self._insert(
                schema.order_lines,
                order_id=order_id,
                line_no=line_no,
                product_id=product["id"],
                product_name=line.product,
                quantity=quantity,
                unit_price=price,
                discount_amount=D(line.discount),
                tax_rate=product["tax_rate"],
                tax_amount=tax,
            )
            result_lines.append(
                SoldLine(
                    line_id,
                    line_no,
                    line.product,
                    quantity,
                    price,
                    gross,
                    D(line.discount),
                    share,
                    taxable,
                    product["tax_rate"],
                    tax,
                )
            )

        total = values["total_amount"]
        paid: list[tuple[str, Decimal]] = []
        for method, amount in payments if payments is not None else [("cash", None)]:
            paid.append((method, total - sum((a for _, a in paid), ZERO) if amount is None else D(amount)))
        for seq, (method, amount) in enumerate(paid, 1):
            self._insert(
                schema.payments,
                order_id=order_id,
                seq=seq,
                method=method,
                amount=amount,
                tendered=amount,
                reference=None if method == "cash" else f"REF-{number}-{seq}",
                paid_at=at + timedelta(minutes=1),
            )
        return SoldOrder(
            order_id,
            number,
            inclusive,
            result_lines,
            order_discount,
            service,
            values["tax_amount"],
            values["rounding_amount"],
            total,
            paid,
        )

    def refund(
        self,
        number: str,
        order: SoldOrder,
        lines: Sequence[tuple[int, Any]],
        *,
        outlet: str = "OUT-01",
        at: datetime = T0 + timedelta(hours=2),
        committed_at: datetime | None = None,
        method: str = "cash",
        reason: str | None = "customer returned it",
        **stored: Any,
    ) -> Decimal:
        """Refund ``(line_no, quantity)`` pairs of ``order``, priced like the order; returns the total.

        Each refunded line gives back its part of what the customer paid for it: ``amount`` is priced like
        the order (tax inside it when inclusive), ``tax`` is the tax in it.
        """
        refund_lines, total = [], ZERO
        for line_no, quantity in lines:
            sold = order.line(line_no)
            part = D(quantity) / sold.quantity
            amount, tax = half_up(sold.taxable * part), half_up(sold.tax * part)
            total += amount if order.tax_inclusive else amount + tax
            refund_lines.append((sold.id, D(quantity), amount, tax))
        values = {
            "number": number,
            "order_id": order.id,
            "outlet_id": self.outlets[outlet]["id"],
            "shift_id": self.outlets[outlet]["shift_id"],
            "business_time": at,
            "committed_at": committed_at or at + timedelta(seconds=5),
            "method": method,
            "total_amount": total,
            "reason": reason,
        }
        values.update({key: _stored(key, value) for key, value in stored.items()})
        refund_id = self._insert(schema.refunds, **values)
        for order_line_id, quantity, amount, tax in refund_lines:
            self._insert(
                schema.refund_lines,
                refund_id=refund_id,
                order_line_id=order_line_id,
                quantity=quantity,
                amount=amount,
                tax_amount=tax,
            )
        return values["total_amount"]

    def transfer(
        self, number: str, source: str, destination: str, product: str, quantity: Any, *, sent_at: datetime,
        received_at: datetime | None = None, committed_at: datetime | None = None,
    ) -> int:
        """Goods of one product sent from ``source`` to ``destination`` (received too, in full, when
        ``received_at`` is given); committed a few seconds after its last move unless ``committed_at`` says."""
        last = received_at or sent_at
        transfer_id = self._insert(
            schema.transfers, number=number, from_outlet_id=self.outlets[source]["id"],
            to_outlet_id=self.outlets[destination]["id"], status="received" if received_at else "sent",
            sent_at=sent_at, received_at=received_at, committed_at=committed_at or last + timedelta(seconds=5),
        )
        self._insert(schema.transfer_lines, transfer_id=transfer_id, line_no=1,
                     product_id=self.products[product]["id"], quantity_sent=D(quantity),
                     quantity_received=D(quantity) if received_at else None)
        return transfer_id

    def adjustment(
        self, number: str, product: str, change: Any, *, outlet: str = "OUT-01", at: datetime,
        committed_at: datetime | None = None, reason: str = "breakage",
    ) -> int:
        """A stock adjustment of one product at ``outlet`` (``change`` signed)."""
        adjustment_id = self._insert(
            schema.stock_adjustments, number=number, outlet_id=self.outlets[outlet]["id"], kind="adjustment",
            business_time=at, committed_at=committed_at or at + timedelta(seconds=5), reason=reason,
        )
        self._insert(schema.stock_adjustment_lines, adjustment_id=adjustment_id, line_no=1,
                     product_id=self.products[product]["id"], quantity_change=D(change))
        return adjustment_id
