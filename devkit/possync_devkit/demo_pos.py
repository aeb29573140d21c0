"""A deterministic demo POS: a week of a small coffee-shop chain, with a few deliberately broken records.

``generate(engine, DemoSpec(seed=42))`` fills the reference POS schema (:mod:`possync.pos.schema`) with
outlets, registers and shifts, products, customers, orders with lines and payments, refunds, transfers,
stock adjustments, stock takes and stock levels. Everything is drawn from one ``random.Random(seed)``:
the same spec gives byte-identical data on every machine and database, a different seed different data.
No clock is read. ``summarize(engine)`` reports what any POS database holds, broken records included,
found by querying it.

The chain
---------
Outlets ``JKT01`` Kemang (tax-exclusive prices, 5% service charge on dine-in), ``BDG01`` Dago
(tax-exclusive), ``SBY01`` Tunjungan (tax-inclusive prices), then ``DPS01`` Seminyak in ``Asia/Makassar``
(tax-inclusive, service charge), ``DJJ01`` in ``Asia/Jayapura`` and more when ``outlets`` asks for them;
one warehouse ``WH01``. Two registers per outlet. Business days are counted in the outlet's timezone;
times are stored in UTC. Outlets open 07:00-22:00 local time, with morning, lunch and evening peaks.

The POS arithmetic
------------------
Orders are priced by :func:`price_order` (read its docstring: the sales transform validates against
exactly that arithmetic). Cash settles to the nearest Rp 100, so orders paid (partly) in cash carry a
``rounding_amount``; other orders have none.

Refunds: a refund line returns ``quantity`` of an order line, priced in proportion to what the order
charged for that line (:func:`price_refund_line`): ``tax_amount = round(line.tax * q / line.quantity)``
and ``amount = round(taxable * q / line.quantity)``, where ``taxable`` is the line after its discounts
and its share of the order discount. Like the order, ``amount`` includes tax for a tax-inclusive order
and excludes it for a tax-exclusive one, so ``refund.total_amount`` is ``sum(amount)`` for an inclusive
order and ``sum(amount + tax_amount)`` for an exclusive one. Service charge and cash rounding are not
refunded. Refunds go back through the order's first payment method, at the order's register.

Late records: now and then a register goes offline for an hour or two; its orders keep their business
time but are committed the next morning when the till reconnects (never on the last day, so the
database is a consistent snapshot at the end of the last business day).

Stock: ``stock_levels.quantity = opening_stock(spec) + received transfers - sent transfers - sold
(completed orders) + refunded + sum(stock_adjustment_lines.quantity_change)``. A transfer counts as sent
only when ``sent_at`` is set, and adds ``quantity_received`` at its destination only once received; the
difference between sent and received is a shortage lost in transit. A stock take records
``expected_quantity`` (the level before the count), ``counted_quantity`` and ``quantity_change =
counted - expected``, so the same sum holds across stock takes. Each outlet is counted after closing on
the last day, so its levels equal the counts.

Shifts: one per register per day, ``expected_cash = opening_cash + cash payments - cash refunds`` of the
shift. On the last day register R2 of the first outlet is still open (no close, no expected cash).

Deliberately broken records
---------------------------
The rest of the data is clean; these few records are wrong the way real POS data goes wrong, and the
sync must report each one plainly instead of failing the run or syncing garbage. Keys for the default
spec (``DemoSpec()``), as listed in :data:`BROKEN_RECORDS`; :func:`expected_broken_records` gives them
for any spec, and :func:`summarize` finds them by querying.

=============================== =========================== ==============================================
kind                            key (default spec)          what is wrong / what the sync must report
=============================== =========================== ==============================================
product_without_sku             PROD-40                     "Kopi Susu Gula Aren Seasonal 1L" has no SKU:
                                                            it cannot be created in or matched to a target
order_product_without_sku       INV-JKT01-20261111-0017,    a completed order selling that product: the
                                INV-BDG01-20261112-0023,    invoice fails, naming the product
                                INV-SBY01-20261114-0031
duplicate_customer_code         CUST-29                     customer code C-0007 is already CUST-7's: the
                                                            target cannot give both the same number
payment_mismatch                INV-BDG01-20261110-0012     card payment Rp 5.000 short of the order total
order_total_mismatch            INV-SBY01-20261113-0026     stored total is Rp 1.000 more than its lines,
                                                            tax and service charge (a till arithmetic bug)
refund_exceeds_sold             RF-JKT01-0001               refunds 2 croissants of a line that sold 1
transfer_out_missing            TO-0009                     received at JKT01 but never recorded as sent
                                                            (sent_at NULL): the transfer-in must wait
adjustment_product_without_sku  ADJ-JKT01-0002              a breakage adjustment of the product without
                                                            SKU
=============================== =========================== ==============================================

The duplicate-code customer places no orders, and no transfer, refund or stock take touches the product
without SKU, so each fault shows up on exactly the records listed (the over-refunded order
INV-JKT01-20261109-0009 itself is clean). Keys are POS numbers, or ``PROD-<id>`` / ``CUST-<id>`` for
records that have none. Broken records sit at fixed places (outlet, day, receipt number), so their keys
do not depend on the seed; receipt numbers widen past 9,999 orders per outlet per day, which changes the
order keys of very large specs. Besides these kinds, :func:`summarize` also looks for refunds or
transfers of products without SKU and voided orders with payments, which generated data never holds.

Voided orders keep their lines and totals but have no payments; their ``committed_at`` is when the void
reached the server.
"""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, func, inspect, or_, select
from sqlalchemy.engine import Connection, Engine

from possync.money import rupiah, rupiah_number
from possync.pos.schema import (
    create_schema,
    customers,
    drop_schema,
    order_lines,
    orders,
    outlets,
    payments,
    products,
    refund_lines,
    refunds,
    registers,
    shifts,
    stock_adjustment_lines,
    stock_adjustments,
    stock_levels,
    transfer_lines,
    transfers,
)

__all__ = [
    "BROKEN_RECORDS",
    "DemoSpec",
    "LineInput",
    "PricedLine",
    "PricedOrder",
    "expected_broken_records",
    "format_summary",
    "generate",
    "opening_stock",
    "price_order",
    "price_refund_line",
    "summarize",
]

# Parents before children, so chunked inserts never trip a foreign key.
TABLES: tuple[Table, ...] = (
    outlets,
    registers,
    shifts,
    products,
    customers,
    orders,
    order_lines,
    payments,
    refunds,
    refund_lines,
    transfers,
    transfer_lines,
    stock_adjustments,
    stock_adjustment_lines,
    stock_levels,
)
CHUNK_ROWS = 10_000

CENT = Decimal("0.01")
ONE = Decimal(1)
ZERO = Decimal("0.00")
QZERO = Decimal("0.000")
PPN = Decimal("11.00")
#: the regional restaurant tax (pajak barang dan jasa tertentu, formerly PB1) on food served in the cafés
PB1 = Decimal("10.00")
EXEMPT = Decimal("0.00")
SERVICE_RATE = Decimal("5.00")
CASH_ROUNDING = Decimal("100")


# --------------------------------------------------------------------------------------------------
# The POS arithmetic
# --------------------------------------------------------------------------------------------------


class LineInput(NamedTuple):
    """An order line as the till keeps it; ``unit_price`` as on the receipt (inclusive when the order is)."""

    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal


class PricedLine(NamedTuple):
    gross: Decimal  # round(quantity x unit_price)
    base: Decimal  # gross - line discount
    order_discount_share: Decimal
    taxable: Decimal  # base - share; includes tax when the order is tax-inclusive
    tax: Decimal


class PricedOrder(NamedTuple):
    lines: tuple[PricedLine, ...]
    tax: Decimal
    service_charge: Decimal
    total_before_rounding: Decimal
    rounding: Decimal
    total: Decimal


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _rupiah(value: Decimal) -> Decimal:
    """Round to whole rupiah, kept with two places like every Money value."""
    return value.quantize(ONE, ROUND_HALF_UP).quantize(CENT)


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` over ``weights`` in proportion, to the sen, by the largest-remainder method.

    The shares add up to ``amount`` exactly; a sen left over goes to the largest remainder, ties to the
    earlier weight. Computed in integer sen so no intermediate rounding can move a sen.
    """
    amount_sen = int(amount.scaleb(2))
    if amount_sen != amount.scaleb(2):
        raise ValueError(f"{amount} has more than two decimal places")
    weights_sen = [int(w.scaleb(2)) for w in weights]
    if any(w < 0 for w in weights_sen):
        raise ValueError(f"cannot allocate over negative weights {list(weights)}")
    if amount_sen == 0:
        return [ZERO] * len(weights_sen)
    total = sum(weights_sen)
    if total == 0:
        raise ValueError(f"cannot allocate {amount} over lines that add up to zero")
    floors = [amount_sen * w // total for w in weights_sen]
    remainders = [amount_sen * w % total for w in weights_sen]
    left = amount_sen - sum(floors)
    for i in sorted(range(len(floors)), key=lambda i: (-remainders[i], i))[:left]:
        floors[i] += 1
    return [Decimal(f).scaleb(-2) for f in floors]


def price_order(
    lines: Sequence[LineInput],
    order_discount: Decimal,
    service_rate: Decimal,
    tax_inclusive: bool,
    round_to: Decimal | None = None,
) -> PricedOrder:
    """Price an order exactly as the POS does (Decimal, ROUND_HALF_UP to 0.01 at each step).

    For each line::

        gross   = round(quantity x unit_price)
        base    = gross - line discount
        share   = the order discount allocated over the lines' bases by largest remainder
                  (shares add up to the order discount exactly; ties go to the earlier line)
        taxable = base - share
        tax     = round(taxable x rate / 100)            tax-exclusive order
                = round(taxable x rate / (100 + rate))   tax-inclusive order (tax is inside taxable)

    For the order::

        service charge = round(sum(taxable net of tax) x service_rate / 100)
        tax            = sum(line tax)
        before rounding = sum(base) - order discount + (tax if exclusive else 0) + service charge
        rounding       = before rounding rounded half-up to a multiple of ``round_to``, minus it
                         (cash settles to Rp 100; no rounding when ``round_to`` is None)
        total          = before rounding + rounding

    Raises ``ValueError`` when the order discount cannot be allocated (lines worth nothing, or a line
    discount larger than its line).
    """
    grosses = [_money(line.quantity * line.unit_price) for line in lines]
    bases = [gross - line.discount for gross, line in zip(grosses, lines, strict=True)]
    shares = allocate(order_discount, bases)
    priced: list[PricedLine] = []
    service_base = ZERO
    for line, gross, base, share in zip(lines, grosses, bases, shares, strict=True):
        taxable = base - share
        if tax_inclusive:
            tax = _money(taxable * line.tax_rate / (100 + line.tax_rate))
            service_base += taxable - tax
        else:
            tax = _money(taxable * line.tax_rate / 100)
            service_base += taxable
        priced.append(PricedLine(gross, base, share, taxable, tax))
    tax_total = sum((p.tax for p in priced), ZERO)
    service_charge = _money(service_base * service_rate / 100)
    before = sum(bases, ZERO) - order_discount + (ZERO if tax_inclusive else tax_total) + service_charge
    rounding = ZERO
    if round_to:
        rounding = _money((before / round_to).quantize(ONE, ROUND_HALF_UP) * round_to - before)
    return PricedOrder(tuple(priced), tax_total, service_charge, before, rounding, before + rounding)


def price_refund_line(
    taxable: Decimal, tax: Decimal, quantity: Decimal, refund_quantity: Decimal
) -> tuple[Decimal, Decimal]:
    """``(amount, tax_amount)`` refunded for ``refund_quantity`` of an order line.

    ``taxable`` and ``tax`` are what the order charged for the whole line (:class:`PricedLine`); both
    are prorated by quantity. ``amount`` is priced like the order: it includes tax for a tax-inclusive
    order, excludes it for a tax-exclusive one. Refunding the whole line gives back exactly what it cost.
    """
    if refund_quantity == quantity:
        return taxable, tax
    return _money(taxable * refund_quantity / quantity), _money(tax * refund_quantity / quantity)


def refund_total(line_amounts: Iterable[tuple[Decimal, Decimal]], tax_inclusive: bool) -> Decimal:
    """What a refund pays back: ``sum(amount)`` for a tax-inclusive order, else ``sum(amount + tax)``."""
    return sum(
        (amount if tax_inclusive else amount + tax for amount, tax in line_amounts),
        ZERO,
    )


# --------------------------------------------------------------------------------------------------
# The spec and the fixed parts of the chain
# --------------------------------------------------------------------------------------------------

# Lines per order: most receipts are one or two items.
_LINE_COUNTS = (1, 2, 3, 4, 5)
_LINE_COUNT_WEIGHTS = (34, 30, 18, 11, 7)
_LINE_COUNT_WEIGHTS_CUM = tuple(itertools.accumulate(_LINE_COUNT_WEIGHTS))
MEAN_LINES_PER_ORDER = sum(n * w for n, w in zip(_LINE_COUNTS, _LINE_COUNT_WEIGHTS, strict=True)) / sum(
    _LINE_COUNT_WEIGHTS
)


@dataclass(frozen=True)
class DemoSpec:
    """What to generate. ``target_order_lines``, when given, overrides ``orders_per_day``."""

    seed: int = 42
    start_date: date = date(2026, 11, 9)
    days: int = 7
    outlets: int = 3
    orders_per_day: int = 60
    target_order_lines: int | None = None

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be at least 1, not {self.days}")
        if self.outlets < 1:
            raise ValueError(f"outlets must be at least 1, not {self.outlets}")
        if self.orders_per_day < 1:
            raise ValueError(f"orders_per_day must be at least 1, not {self.orders_per_day}")
        if self.target_order_lines is not None and self.target_order_lines < 1:
            raise ValueError(f"target_order_lines must be positive, not {self.target_order_lines}")
        slots = self.orders_per_outlet_day * self.days * self.outlets
        if slots < len(_ORDER_ROLES):
            raise ValueError(
                f"the spec makes {slots} orders in all; the deliberately broken records need at least "
                f"{len(_ORDER_ROLES)}: raise orders_per_day, days or outlets"
            )

    @property
    def orders_per_outlet_day(self) -> int:
        """Orders each outlet takes each day, after scaling to ``target_order_lines``."""
        if self.target_order_lines is None:
            return self.orders_per_day
        per_day = self.target_order_lines / (self.days * self.outlets * MEAN_LINES_PER_ORDER)
        return max(1, round(per_day))

    @property
    def last_day(self) -> int:
        return self.days - 1


class _OutletInfo(NamedTuple):
    code: str
    name: str
    timezone: str
    address: str
    tax_inclusive: bool
    service_charge: bool


_OUTLET_TEMPLATES: tuple[_OutletInfo, ...] = (
    _OutletInfo(
        "JKT01", "Kopi Kita Kemang", "Asia/Jakarta", "Jl. Kemang Raya No. 12, Jakarta Selatan", False, True
    ),
    _OutletInfo("BDG01", "Kopi Kita Dago", "Asia/Jakarta", "Jl. Ir. H. Juanda No. 88, Bandung", False, False),
    _OutletInfo(
        "SBY01", "Kopi Kita Tunjungan", "Asia/Jakarta", "Jl. Tunjungan No. 45, Surabaya", True, False
    ),
    _OutletInfo(
        "DPS01", "Kopi Kita Seminyak", "Asia/Makassar", "Jl. Kayu Aya No. 7, Badung, Bali", True, True
    ),
    _OutletInfo(
        "DJJ01", "Kopi Kita Jayapura", "Asia/Jayapura", "Jl. Ahmad Yani No. 21, Jayapura", False, False
    ),
    _OutletInfo(
        "JKT02", "Kopi Kita Senopati", "Asia/Jakarta", "Jl. Senopati No. 30, Jakarta Selatan", False, True
    ),
    _OutletInfo(
        "YOG01", "Kopi Kita Prawirotaman", "Asia/Jakarta", "Jl. Prawirotaman No. 9, Yogyakarta", True, False
    ),
    _OutletInfo("MKS01", "Kopi Kita Losari", "Asia/Makassar", "Jl. Penghibur No. 3, Makassar", False, False),
)
_WAREHOUSE = _OutletInfo(
    "WH01",
    "Gudang Pusat Cikarang",
    "Asia/Jakarta",
    "Kawasan Industri Jababeka Blok C, Cikarang",
    False,
    False,
)


def _outlet_infos(count: int) -> list[_OutletInfo]:
    """The first ``count`` outlets; past the named ones, more branches in the same cities."""
    infos = list(_OUTLET_TEMPLATES[:count])
    taken = {info.code for info in infos}
    i = len(infos)
    while len(infos) < count:
        template = _OUTLET_TEMPLATES[i % len(_OUTLET_TEMPLATES)]
        number = 2
        while f"{template.code[:3]}{number:02d}" in taken:
            number += 1
        code = f"{template.code[:3]}{number:02d}"
        taken.add(code)
        infos.append(template._replace(code=code, name=f"{template.name} {number}"))
        i += 1
    return infos


class _Product(NamedTuple):
    id: int
    sku: str | None
    name: str
    category: str
    unit: str
    price: Decimal
    cost: Decimal
    tax_rate: Decimal
    track_stock: bool
    by_weight: bool
    popularity: int  # relative chance of being on a receipt
    barcode: str | None


def _ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


# sku, name, category, unit, price, cost, tax rate, tracked, sold by weight, popularity, has barcode.
# Food (Makanan) carries the restaurant tax PB1 10 %, drinks and retail goods PPN 11 %, fresh produce none: so
# every outlet is a café whose receipts mix PB1 and PPN (both taxes on one invoice whenever food and a drink sell).
_CATALOGUE: tuple[tuple[Any, ...], ...] = (
    ("KOP-001", "Espresso", "Kopi", "cup", "18000", "5000", PPN, False, False, 4, False),
    ("KOP-002", "Americano", "Kopi", "cup", "22000", "6000", PPN, False, False, 8, False),
    ("KOP-003", "Cappuccino", "Kopi", "cup", "30000", "9000", PPN, False, False, 8, False),
    ("KOP-004", "Caffe Latte", "Kopi", "cup", "30000", "9000", PPN, False, False, 9, False),
    ("KOP-005", "Kopi Susu Kita", "Kopi", "cup", "25000", "7500", PPN, False, False, 16, False),
    ("KOP-006", "Kopi Susu Gula Aren", "Kopi", "cup", "27000", "8000", PPN, False, False, 12, False),
    ("KOP-007", "Flat White", "Kopi", "cup", "32000", "9500", PPN, False, False, 4, False),
    ("KOP-008", "Mocha", "Kopi", "cup", "34000", "10500", PPN, False, False, 3, False),
    ("KOP-009", "V60 Single Origin", "Kopi", "cup", "35000", "11000", PPN, False, False, 3, False),
    ("KOP-010", "Cold Brew", "Kopi", "cup", "28000", "7000", PPN, False, False, 5, False),
    ("KOP-011", "Es Kopi Pandan", "Kopi", "cup", "28500", "8200", PPN, False, False, 5, False),
    ("NON-001", "Matcha Latte", "Non-Kopi", "cup", "32000", "11000", PPN, False, False, 5, False),
    ("NON-002", "Cokelat Panas", "Non-Kopi", "cup", "28000", "8500", PPN, False, False, 3, False),
    ("NON-003", "Teh Tarik", "Non-Kopi", "cup", "22000", "5500", PPN, False, False, 3, False),
    ("NON-004", "Lemon Tea", "Non-Kopi", "cup", "20000", "4500", PPN, False, False, 3, False),
    ("NON-005", "Air Mineral 600ml", "Non-Kopi", "btl", "8000", "3000", PPN, True, False, 4, True),
    ("MKN-001", "Croissant Butter", "Makanan", "pcs", "25000", "11000", PB1, True, False, 6, False),
    ("MKN-002", "Pain au Chocolat", "Makanan", "pcs", "28000", "12500", PB1, True, False, 4, False),
    ("MKN-003", "Banana Bread", "Makanan", "pcs", "22000", "8000", PB1, True, False, 4, False),
    ("MKN-004", "Roti Bakar Cokelat Keju", "Makanan", "pcs", "26000", "9000", PB1, False, False, 3, False),
    ("MKN-005", "Nasi Goreng Kampung", "Makanan", "pcs", "38000", "14000", PB1, False, False, 4, False),
    ("MKN-006", "Mie Goreng Jawa", "Makanan", "pcs", "35000", "12000", PB1, False, False, 3, False),
    ("MKN-007", "Pisang Goreng", "Makanan", "pcs", "18000", "6000", PB1, False, False, 3, False),
    ("MKN-008", "Donat Gula", "Makanan", "pcs", "12000", "4000", PB1, True, False, 3, False),
    ("SEG-001", "Pisang Cavendish", "Segar", "kg", "32000", "21000", EXEMPT, True, True, 1, False),
    ("SEG-002", "Telur Ayam Kampung", "Segar", "butir", "3500", "2300", EXEMPT, True, False, 1, False),
    ("SEG-003", "Susu Segar 1L", "Segar", "btl", "24500", "17000", EXEMPT, True, False, 1, True),
    ("BJI-001", "Biji Kopi Gayo Arabika", "Biji Kopi", "kg", "320000", "190000", PPN, True, True, 2, False),
    ("BJI-002", "Biji Kopi Toraja Kalosi", "Biji Kopi", "kg", "340000", "205000", PPN, True, True, 1, False),
    ("BJI-003", "Biji Kopi Kintamani", "Biji Kopi", "kg", "300000", "180000", PPN, True, True, 1, False),
    ("BJI-004", "Biji Kopi House Blend", "Biji Kopi", "kg", "240000", "140000", PPN, True, True, 2, False),
    (
        "BJI-005",
        "Kopi Bubuk House Blend 250g",
        "Biji Kopi",
        "pcs",
        "65000",
        "38000",
        PPN,
        True,
        False,
        1,
        True,
    ),
    ("BJI-006", "Drip Bag Gayo isi 10", "Biji Kopi", "pcs", "85000", "47000", PPN, True, False, 1, True),
    ("RTL-001", "Tumbler Kopi Kita 500ml", "Retail", "pcs", "149000", "72000", PPN, True, False, 1, True),
    ("RTL-002", "Mug Keramik Kopi Kita", "Retail", "pcs", "89000", "35000", PPN, True, False, 1, True),
    ("RTL-003", "Totebag Kanvas", "Retail", "pcs", "75000", "28000", PPN, True, False, 1, True),
    ("RTL-004", "Filter Kertas V60 100 lembar", "Retail", "pcs", "55000", "29000", PPN, True, False, 1, True),
    ("RTL-005", "Gula Aren Cair 250ml", "Retail", "btl", "38000", "19000", PPN, True, False, 1, True),
    ("RTL-006", "Susu Oat 1L", "Retail", "btl", "52500", "33000", PPN, True, False, 1, True),
    # Added at the till for a seasonal promotion, without a SKU (broken record): never drawn at random.
    (
        None,
        "Kopi Susu Gula Aren Seasonal 1L",
        "Minuman Botol",
        "btl",
        "95000",
        "41000",
        PPN,
        True,
        False,
        0,
        False,
    ),
)


def _catalogue() -> tuple[_Product, ...]:
    products_: list[_Product] = []
    for i, (sku, name, category, unit, price, cost, rate, tracked, by_weight, pop, barcoded) in enumerate(
        _CATALOGUE, start=1
    ):
        barcode = _ean13(f"8997{i:08d}") if barcoded else None
        products_.append(
            _Product(
                i,
                sku,
                name,
                category,
                unit,
                Decimal(price).quantize(CENT),
                Decimal(cost).quantize(CENT),
                rate,
                tracked,
                by_weight,
                pop,
                barcode,
            )
        )
    return tuple(products_)


CATALOGUE = _catalogue()
_BY_SKU = {p.sku: p for p in CATALOGUE if p.sku}
SKULESS_PRODUCT = next(p for p in CATALOGUE if p.sku is None)
_SALEABLE = tuple(p for p in CATALOGUE if p.popularity > 0)
_SALEABLE_CUM = tuple(itertools.accumulate(p.popularity for p in _SALEABLE))
# Goods that move between locations and get counted: everything tracked, except the SKU-less product.
_STOCKED = tuple(p for p in CATALOGUE if p.track_stock and p.sku)

CUSTOMER_COUNT = 30
# Created at the till during the week with an existing customer's code (broken record).
DUPLICATE_CUSTOMER_ID = 29
DUPLICATED_CUSTOMER_ID = 7
_FIRST_NAMES = (
    "Andi",
    "Budi",
    "Citra",
    "Dewi",
    "Eka",
    "Fajar",
    "Gita",
    "Hendra",
    "Indah",
    "Joko",
    "Kartika",
    "Lestari",
    "Made",
    "Nur",
    "Putu",
    "Rina",
    "Sari",
    "Teguh",
    "Wayan",
    "Yusuf",
)
_LAST_NAMES = (
    "Saputra",
    "Wijaya",
    "Pratama",
    "Santoso",
    "Hidayat",
    "Kusuma",
    "Nugroho",
    "Siregar",
    "Harahap",
    "Setiawan",
    "Lubis",
    "Wibowo",
    "Putri",
    "Anggraini",
    "Gunawan",
)

# Local opening hours 07-21 (closing 22:00), with the morning, lunch and after-work peaks.
_HOURS = tuple(range(7, 22))
_HOUR_CUM = tuple(itertools.accumulate((7, 11, 9, 6, 7, 12, 10, 5, 5, 6, 7, 9, 10, 7, 4)))

_METHODS = ("cash", "qris", "card", "ewallet", "bank_transfer")
_METHOD_CUM = tuple(itertools.accumulate((34, 33, 18, 12, 3)))
_SPLITS = (("qris", "cash"), ("card", "cash"), ("cash", "qris"), ("ewallet", "card"), ("card", "qris"))

_Q = {n: Decimal(n).quantize(Decimal("0.001")) for n in range(0, 25)}
_WEIGHTS_KG = (Decimal("0.250"), Decimal("0.500"), Decimal("1.000"))
_VOUCHER = Decimal("10000.00")
_VOID_REASONS = ("Salah input item", "Pelanggan batal", "Pesanan dobel", "Ganti metode bayar")
_REFUND_REASONS = ("Salah pesanan", "Produk rusak", "Rasa tidak sesuai", "Pesanan terlambat")

# Broken orders sit at fixed places (outlet index, day index, receipt number within the day), so their keys
# do not depend on the seed and ops can find them by number. Clamped to small specs by _order_roles.
_ORDER_ROLES: tuple[tuple[str, int, int, int], ...] = (
    ("refund_over", 0, 0, 9),
    ("payment_short", 1, 1, 12),
    ("skuless", 0, 2, 17),
    ("skuless", 1, 3, 23),
    ("total_bug", 2, 4, 26),
    ("skuless", 2, 5, 31),
)
_PAYMENT_SHORT_BY = Decimal("5000.00")
_TILL_BUG = Decimal("1000.00")
_TRANSFER_BROKEN_DAY = 2
_ADJUSTMENT_BROKEN_DAY = 4
WAREHOUSE = -1  # location index of the warehouse in transfer plans


class _Slot(NamedTuple):
    outlet: int
    day: int
    seq: int


def _order_roles(spec: DemoSpec) -> dict[_Slot, str]:
    """Where each broken order goes; when a small spec folds two onto one receipt, the later one moves on."""
    per_day = spec.orders_per_outlet_day
    total = spec.outlets * spec.days * per_day
    roles: dict[_Slot, str] = {}
    for role, outlet, day, seq in _ORDER_ROLES:
        index = ((outlet % spec.outlets) * spec.days + min(day, spec.last_day)) * per_day + (
            seq - 1
        ) % per_day
        while True:
            slot = _Slot(index // (spec.days * per_day), index // per_day % spec.days, index % per_day + 1)
            if slot not in roles:
                break
            index = (index + 1) % total
        roles[slot] = role
    return roles


class _TransferPlan(NamedTuple):
    day: int
    source: int  # outlet index, or WAREHOUSE
    destination: int
    missing_out: bool


def _transfer_plan(spec: DemoSpec) -> list[_TransferPlan]:
    """The transfers in number order: warehouse deliveries every other day per outlet, one outlet-to-outlet
    transfer a day, and the received transfer whose transfer-out is missing."""
    plan: list[_TransferPlan] = []
    broken_day = min(_TRANSFER_BROKEN_DAY, spec.last_day)
    for day in range(spec.days):
        plan.extend(
            _TransferPlan(day, WAREHOUSE, i, False) for i in range(spec.outlets) if (i + day) % 2 == 0
        )
        if spec.outlets >= 2:
            plan.append(_TransferPlan(day, day % spec.outlets, (day + 1) % spec.outlets, False))
        if day == broken_day:
            plan.append(_TransferPlan(day, 1 if spec.outlets >= 2 else WAREHOUSE, 0, True))
    return plan


def _adjustment_plan(spec: DemoSpec) -> list[tuple[int, int, str]]:
    """(outlet index, day, role) in number order per outlet: spoilage every third day, one breakage of the
    product without SKU at the first outlet."""
    broken_day = min(_ADJUSTMENT_BROKEN_DAY, spec.last_day)
    plan: list[tuple[int, int, str]] = []
    for outlet in range(spec.outlets):
        for day in range(spec.days):
            if outlet == 0 and day == broken_day:
                plan.append((outlet, day, "skuless"))
            if (day + outlet) % 3 == 1:
                plan.append((outlet, day, "damage"))
    return plan


def _order_number(code: str, day: date, seq: int, width: int) -> str:
    return f"INV-{code}-{day:%Y%m%d}-{seq:0{width}d}"


def _number_width(spec: DemoSpec) -> int:
    return max(4, len(str(spec.orders_per_outlet_day)))


def opening_stock(spec: DemoSpec) -> dict[tuple[str, int], Decimal]:
    """Stock on hand before the first business day, keyed by (location code, product id).

    Sized from the expected sales, so outlets do not run dry at any scale; no randomness, so tests can
    replay stock levels from it.
    """
    per_day = spec.orders_per_outlet_day
    total_popularity = _SALEABLE_CUM[-1]
    stock: dict[tuple[str, int], Decimal] = {}
    for product in (p for p in CATALOGUE if p.track_stock):
        mean_quantity = 0.5 if product.by_weight else 1.3
        daily = per_day * MEAN_LINES_PER_ORDER * product.popularity / total_popularity * mean_quantity
        for info in _outlet_infos(spec.outlets):
            quantity = 24 if product.sku is None else math.ceil(daily * (spec.days + 1) * 1.2) + 10
            stock[info.code, product.id] = _Q[0] + quantity
        if product.sku is not None:
            stock[_WAREHOUSE.code, product.id] = _Q[0] + math.ceil(daily * spec.outlets * 2) + 200
    return stock


# --------------------------------------------------------------------------------------------------
# Broken records: what the default spec holds
# --------------------------------------------------------------------------------------------------

BROKEN_KINDS = (
    "product_without_sku",
    "duplicate_customer_code",
    "order_product_without_sku",
    "refund_product_without_sku",
    "transfer_product_without_sku",
    "adjustment_product_without_sku",
    "payment_mismatch",
    "voided_order_with_payments",
    "order_total_mismatch",
    "refund_exceeds_sold",
    "transfer_out_missing",
)


def _sorted_broken(records: Iterable[tuple[str, str, str]]) -> tuple[tuple[str, str, str], ...]:
    return tuple(sorted(records, key=lambda r: (BROKEN_KINDS.index(r[0]), r[1])))


def expected_broken_records(spec: DemoSpec | None = None) -> tuple[tuple[str, str, str], ...]:
    """The (kind, key, description) of every broken record ``generate`` writes for ``spec``.

    Worked out from the spec alone; :func:`summarize` finds the same records by querying the database.
    """
    spec = spec or DemoSpec()
    infos = _outlet_infos(spec.outlets)
    width = _number_width(spec)
    skuless = SKULESS_PRODUCT.name
    records: list[tuple[str, str, str]] = [
        (
            "product_without_sku",
            f"PROD-{SKULESS_PRODUCT.id}",
            f"product {skuless!r} has no SKU: it cannot be matched to or created in a target",
        ),
        (
            "duplicate_customer_code",
            f"CUST-{DUPLICATE_CUSTOMER_ID}",
            f"customer code C-{DUPLICATED_CUSTOMER_ID:04d} is already used by CUST-{DUPLICATED_CUSTOMER_ID}",
        ),
    ]
    for slot, role in _order_roles(spec).items():
        number = _order_number(
            infos[slot.outlet].code, spec.start_date + timedelta(slot.day), slot.seq, width
        )
        if role == "skuless":
            records.append(("order_product_without_sku", number, f"sells {skuless!r}, which has no SKU"))
        elif role == "payment_short":
            records.append(
                ("payment_mismatch", number, f"payments are {rupiah(_PAYMENT_SHORT_BY)} short of the total")
            )
        elif role == "total_bug":
            records.append(
                (
                    "order_total_mismatch",
                    number,
                    f"stored total is {rupiah(_TILL_BUG)} more than its lines add up to",
                )
            )
        elif role == "refund_over":
            records.append(
                (
                    "refund_exceeds_sold",
                    f"RF-{infos[slot.outlet].code}-0001",
                    "refunds 2 of a line that sold 1",
                )
            )
    for number, plan in enumerate(_transfer_plan(spec), start=1):
        if plan.missing_out:
            records.append(
                (
                    "transfer_out_missing",
                    f"TO-{number:04d}",
                    "received, but the transfer-out was never recorded",
                )
            )
    per_outlet: dict[int, int] = defaultdict(int)
    for outlet, _day, role in _adjustment_plan(spec):
        per_outlet[outlet] += 1
        if role == "skuless":
            records.append(
                (
                    "adjustment_product_without_sku",
                    f"ADJ-{infos[outlet].code}-{per_outlet[outlet]:04d}",
                    f"adjusts {skuless!r}, which has no SKU",
                )
            )
    return _sorted_broken(records)


BROKEN_RECORDS: tuple[tuple[str, str, str], ...] = (
    (
        "product_without_sku",
        "PROD-40",
        "product 'Kopi Susu Gula Aren Seasonal 1L' has no SKU: "
        "it cannot be matched to or created in a target",
    ),
    ("duplicate_customer_code", "CUST-29", "customer code C-0007 is already used by CUST-7"),
    (
        "order_product_without_sku",
        "INV-BDG01-20261112-0023",
        "sells 'Kopi Susu Gula Aren Seasonal 1L', which has no SKU",
    ),
    (
        "order_product_without_sku",
        "INV-JKT01-20261111-0017",
        "sells 'Kopi Susu Gula Aren Seasonal 1L', which has no SKU",
    ),
    (
        "order_product_without_sku",
        "INV-SBY01-20261114-0031",
        "sells 'Kopi Susu Gula Aren Seasonal 1L', which has no SKU",
    ),
    (
        "adjustment_product_without_sku",
        "ADJ-JKT01-0002",
        "adjusts 'Kopi Susu Gula Aren Seasonal 1L', which has no SKU",
    ),
    ("payment_mismatch", "INV-BDG01-20261110-0012", "payments are Rp 5.000 short of the total"),
    (
        "order_total_mismatch",
        "INV-SBY01-20261113-0026",
        "stored total is Rp 1.000 more than its lines add up to",
    ),
    ("refund_exceeds_sold", "RF-JKT01-0001", "refunds 2 of a line that sold 1"),
    ("transfer_out_missing", "TO-0009", "received, but the transfer-out was never recorded"),
)
"""The broken records of ``DemoSpec()``; equal to ``expected_broken_records()`` (a test keeps them so)."""


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


class _Writer:
    """Buffers rows and inserts them with executemany, parents first, ``CHUNK_ROWS`` at a time."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.buffers: dict[Table, list[dict[str, Any]]] = {table: [] for table in TABLES}
        self.counts: dict[str, int] = {table.name: 0 for table in TABLES}
        self.pending = 0

    def add(self, table: Table, row: dict[str, Any]) -> None:
        self.buffers[table].append(row)
        self.pending += 1
        if self.pending >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        for table in TABLES:
            rows = self.buffers[table]
            if rows:
                self.conn.execute(table.insert(), rows)
                self.counts[table.name] += len(rows)
                self.buffers[table] = []
        self.pending = 0


class _Location(NamedTuple):
    id: int
    info: _OutletInfo
    zone: ZoneInfo


class _PendingRefund(NamedTuple):
    business_time: datetime
    outlet: int
    order_id: int
    shift_id: int
    method: str
    total: Decimal
    reason: str
    lines: tuple[tuple[int, Decimal, Decimal, Decimal], ...]  # order line id, quantity, amount, tax


class _Generator:
    def __init__(self, spec: DemoSpec, writer: _Writer) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.w = writer
        infos = _outlet_infos(spec.outlets)
        self.outlets = [_Location(i + 1, info, ZoneInfo(info.timezone)) for i, info in enumerate(infos)]
        self.warehouse = _Location(len(infos) + 1, _WAREHOUSE, ZoneInfo(_WAREHOUSE.timezone))
        self.per_day = spec.orders_per_outlet_day
        self.width = _number_width(spec)
        self.roles = _order_roles(spec)
        self.opening = opening_stock(spec)
        self.movements: dict[tuple[int, int], Decimal] = defaultdict(lambda: QZERO)
        # Cash refunds land in the shift of the day they happen, which may be processed after the order's day.
        self.cash_refunds: dict[int, Decimal] = defaultdict(lambda: ZERO)
        self.refunds: list[_PendingRefund] = []
        self.order_id = 0
        self.line_id = 0
        self.payment_id = 0
        self.customer_times: list[datetime] = []
        self.customer_ids: list[int] = []

    # -- time ---------------------------------------------------------------------------------------

    def local_midnight(self, location: _Location, day: int) -> datetime:
        # Indonesian zones have no daylight saving, so seconds after local midnight map 1:1 to UTC.
        return datetime.combine(self.spec.start_date + timedelta(day), time(0), location.zone).astimezone(UTC)

    def at(self, location: _Location, day: int, seconds: int) -> datetime:
        return self.local_midnight(location, day) + timedelta(seconds=seconds)

    def shift_id(self, day: int, outlet: int, register: int) -> int:
        return (day * self.spec.outlets + outlet) * 2 + register + 1

    # -- master data --------------------------------------------------------------------------------

    def masters(self) -> None:
        for location in (*self.outlets, self.warehouse):
            self.w.add(
                outlets,
                {
                    "id": location.id,
                    "code": location.info.code,
                    "name": location.info.name,
                    "kind": "warehouse" if location is self.warehouse else "outlet",
                    "timezone": location.info.timezone,
                    "address": location.info.address,
                    "active": True,
                },
            )
        for i, location in enumerate(self.outlets):
            for r in (0, 1):
                self.w.add(
                    registers,
                    {
                        "id": i * 2 + r + 1,
                        "outlet_id": location.id,
                        "code": f"R{r + 1}",
                        "name": f"Kasir {r + 1}",
                    },
                )
        catalogue_time = self.at(self.warehouse, -30, 2 * 3600)
        for p in CATALOGUE:
            self.w.add(
                products,
                {
                    "id": p.id,
                    "sku": p.sku,
                    "barcode": p.barcode,
                    "name": p.name,
                    "category": p.category,
                    "unit": p.unit,
                    "price": p.price,
                    "cost": p.cost,
                    "tax_rate": p.tax_rate,
                    "track_stock": p.track_stock,
                    "active": True,
                    "updated_at": catalogue_time,
                },
            )
        self.write_customers()

    def write_customers(self) -> None:
        rng = self.rng
        first_outlet = self.outlets[0]
        pre_existing = CUSTOMER_COUNT - 4
        updated_in_week = {3, 11, 18}
        for cid in range(1, CUSTOMER_COUNT + 1):
            if cid <= pre_existing:
                # Members who signed up over the past months, oldest first.
                created = self.at(
                    first_outlet, -(pre_existing + 1 - cid) * 9, rng.randint(9 * 3600, 20 * 3600)
                )
            else:
                # The last few sign up at the till during the week.
                k = cid - pre_existing - 1
                created = self.at(
                    first_outlet, min(k, self.spec.last_day), 9 * 3600 + k * 2400 + rng.randrange(1800)
                )
            updated = created
            if cid in updated_in_week:
                updated = max(
                    created,
                    self.at(first_outlet, min(1, self.spec.last_day), 12 * 3600 + rng.randrange(3600)),
                )
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            has_code = cid in (DUPLICATED_CUSTOMER_ID, DUPLICATE_CUSTOMER_ID) or rng.random() < 0.7
            code = (
                f"C-{DUPLICATED_CUSTOMER_ID if cid == DUPLICATE_CUSTOMER_ID else cid:04d}"
                if has_code
                else None
            )
            email = f"{first.lower()}.{last.lower()}{cid}@example.com" if rng.random() < 0.6 else None
            phone = f"+628{rng.randint(11, 59)}{rng.randrange(10**8):08d}" if rng.random() < 0.8 else None
            self.w.add(
                customers,
                {
                    "id": cid,
                    "customer_code": code,
                    "name": f"{first} {last}",
                    "email": email,
                    "phone": phone,
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            # The duplicate was typed in by mistake and never used, so only the customer record is broken.
            if cid != DUPLICATE_CUSTOMER_ID:
                self.customer_times.append(created)
                self.customer_ids.append(cid)

    # -- sales --------------------------------------------------------------------------------------

    def sales(self) -> None:
        for day in range(self.spec.days):
            for outlet in range(self.spec.outlets):
                self.outlet_day(day, outlet)

    def pick_products(self, count: int, first: _Product | None) -> list[_Product]:
        chosen = [first] if first else []
        while len(chosen) < count:
            product = self.rng.choices(_SALEABLE, cum_weights=_SALEABLE_CUM)[0]
            if product not in chosen:
                chosen.append(product)
        return chosen

    def quantity(self, product: _Product) -> Decimal:
        rng = self.rng
        if product.by_weight:
            r = rng.random()
            if r < 0.75:
                return _WEIGHTS_KG[0 if r < 0.4 else 1 if r < 0.65 else 2]
            # Weighed out at the counter.
            return Decimal(rng.randint(150, 1800)).scaleb(-3)
        r = rng.random()
        return _Q[1] if r < 0.78 else _Q[2] if r < 0.96 else _Q[3]

    def tendered(self, amount: Decimal) -> Decimal:
        rng = self.rng
        if rng.random() < 0.3:
            return amount
        steps = sorted(
            {(amount / s).to_integral_value(ROUND_CEILING) * s for s in (5000, 10000, 20000, 50000, 100000)}
        )
        return rng.choice(steps[:2]).quantize(CENT)

    def reference(self, method: str) -> str | None:
        rng = self.rng
        if method == "cash":
            return None
        if method == "card":
            return f"APPR-{rng.randrange(10**6):06d}"
        if method == "qris":
            return f"QRIS-{rng.randrange(10**12):012d}"
        if method == "ewallet":
            return f"{rng.choice(('GOPAY', 'OVO', 'DANA', 'SHOPEEPAY'))}-{rng.randrange(10**10):010d}"
        return f"BCA-{rng.randrange(10**8):08d}"

    def outlet_day(self, day: int, oi: int) -> None:
        rng = self.rng
        spec = self.spec
        location = self.outlets[oi]
        info = location.info
        local_day = spec.start_date + timedelta(day)
        midnight = self.local_midnight(location, day)
        seconds = sorted(
            rng.choices(_HOURS, cum_weights=_HOUR_CUM)[0] * 3600 + rng.randrange(3600)
            for _ in range(self.per_day)
        )
        offline: tuple[int, int] | None = None
        reconnect = midnight
        if day < spec.last_day and rng.random() < 0.2:
            start = rng.randint(9, 18) * 3600 + rng.randrange(3600)
            offline = (start, start + rng.choice((3600, 5400, 7200)))
            reconnect = self.at(location, day + 1, 7 * 3600 + rng.randint(60, 1800))

        order_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        payment_rows: list[dict[str, Any]] = []
        cash_in = [ZERO, ZERO]
        for seq, second in enumerate(seconds, start=1):
            role = self.roles.get(_Slot(oi, day, seq))
            self.order_id += 1
            order_id = self.order_id
            business_time = midnight + timedelta(seconds=second)
            register = 0 if rng.random() < 0.6 else 1
            n_lines = rng.choices(_LINE_COUNTS, cum_weights=_LINE_COUNT_WEIGHTS_CUM)[0]
            first = None
            if role is not None:
                n_lines = max(n_lines, 2)
                first = {
                    "skuless": SKULESS_PRODUCT,
                    "payment_short": _BY_SKU["KOP-005"],
                    "total_bug": _BY_SKU["KOP-003"],
                    "refund_over": _BY_SKU["MKN-001"],
                }[role]
            chosen = self.pick_products(n_lines, first)
            inputs: list[LineInput] = []
            for i, product in enumerate(chosen):
                quantity = _Q[1] if i == 0 and role is not None else self.quantity(product)
                discount = ZERO
                if rng.random() < 0.06:
                    discount = _rupiah(_money(quantity * product.price) * rng.choice((10, 20, 50)) / 100)
                inputs.append(LineInput(quantity, product.price, discount, product.tax_rate))

            dine_in = info.service_charge and rng.random() < 0.55
            service_rate = SERVICE_RATE if dine_in else ZERO
            note = None
            if info.service_charge:
                note = f"Dine-in meja {rng.randint(1, 24)}" if dine_in else "Take away"
            customer_id = None
            if rng.random() < 0.3:
                eligible = bisect_right(self.customer_times, business_time)
                if eligible:
                    customer_id = self.customer_ids[rng.randrange(eligible)]
            order_discount = ZERO
            if rng.random() < 0.06:
                base_total = sum((_money(x.quantity * x.unit_price) - x.discount for x in inputs), ZERO)
                if customer_id is not None and rng.random() < 0.5:
                    order_discount = _rupiah(base_total / 10)  # member discount
                elif base_total >= 5 * _VOUCHER:
                    order_discount = _VOUCHER
            voided = role is None and rng.random() < 0.02
            methods: tuple[str, ...] = ()
            if not voided:
                if role == "payment_short":
                    methods = ("card",)
                elif role == "total_bug":
                    methods = ("qris",)
                elif rng.random() < 0.08:
                    methods = rng.choice(_SPLITS)
                else:
                    methods = (rng.choices(_METHODS, cum_weights=_METHOD_CUM)[0],)
            priced = price_order(
                inputs,
                order_discount,
                service_rate,
                info.tax_inclusive,
                CASH_ROUNDING if "cash" in methods else None,
            )
            total = priced.total + (_TILL_BUG if role == "total_bug" else ZERO)

            committed = business_time + timedelta(seconds=rng.randint(1, 8))
            if offline and register == 1 and offline[0] <= second < offline[1]:
                committed = reconnect + timedelta(seconds=rng.randint(0, 120))
            voided_at = void_reason = None
            if voided:
                voided_at = business_time + timedelta(seconds=rng.randint(60, 900))
                void_reason = rng.choice(_VOID_REASONS)
                committed = max(committed, voided_at + timedelta(seconds=rng.randint(1, 5)))
            shift_id = self.shift_id(day, oi, register)
            order_rows.append(
                {
                    "id": order_id,
                    "number": _order_number(info.code, local_day, seq, self.width),
                    "outlet_id": location.id,
                    "register_id": oi * 2 + register + 1,
                    "shift_id": shift_id,
                    "customer_id": customer_id,
                    "status": "voided" if voided else "completed",
                    "business_time": business_time,
                    "committed_at": committed,
                    "tax_inclusive": info.tax_inclusive,
                    "discount_amount": order_discount,
                    "service_charge_rate": service_rate,
                    "service_charge_amount": priced.service_charge,
                    "tax_amount": priced.tax,
                    "rounding_amount": priced.rounding,
                    "total_amount": total,
                    "voided_at": voided_at,
                    "void_reason": void_reason,
                    "note": None if voided else note,
                }
            )
            line_ids = []
            for line_no, (product, line, p) in enumerate(
                zip(chosen, inputs, priced.lines, strict=True), start=1
            ):
                self.line_id += 1
                line_ids.append(self.line_id)
                line_rows.append(
                    {
                        "id": self.line_id,
                        "order_id": order_id,
                        "line_no": line_no,
                        "product_id": product.id,
                        "product_name": product.name,
                        "quantity": line.quantity,
                        "unit_price": line.unit_price,
                        "discount_amount": line.discount,
                        "tax_rate": line.tax_rate,
                        "tax_amount": p.tax,
                    }
                )
                if not voided and product.track_stock:
                    self.movements[location.id, product.id] -= line.quantity
            if voided:
                continue

            # Payments settle the stored total, except on the order whose payment was keyed in short.
            to_pay = total - (_PAYMENT_SHORT_BY if role == "payment_short" else ZERO)
            amounts = [to_pay]
            if len(methods) == 2:
                part = _rupiah(to_pay * Decimal(rng.randint(30, 70)) / 100 / 1000) * 1000
                if ZERO < part < to_pay:
                    amounts = [part, to_pay - part]
                else:
                    methods = methods[1:]
            for pay_seq, (method, amount) in enumerate(zip(methods, amounts, strict=True), start=1):
                self.payment_id += 1
                payment_rows.append(
                    {
                        "id": self.payment_id,
                        "order_id": order_id,
                        "seq": pay_seq,
                        "method": method,
                        "amount": amount,
                        "tendered": self.tendered(amount) if method == "cash" else None,
                        "reference": self.reference(method),
                        "paid_at": business_time,
                    }
                )
                if method == "cash":
                    cash_in[register] += amount

            if role == "refund_over":
                # Two croissants refunded from a line that sold one: the till did not check.
                refund_time = business_time + timedelta(seconds=min(rng.randint(1200, 2400), 79200 - second))
                refund_time = max(refund_time, business_time + timedelta(seconds=60))
                p = priced.lines[0]
                amount, tax = price_refund_line(p.taxable, p.tax, _Q[1], _Q[2])
                self.refund(
                    refund_time,
                    oi,
                    order_id,
                    self.shift_id(day, oi, register),
                    methods[0],
                    info.tax_inclusive,
                    ((line_ids[0], chosen[0], _Q[2], amount, tax),),
                )
            elif role is None and spec.days > 1 and rng.random() < 0.015:
                self.maybe_refund(
                    day,
                    oi,
                    register,
                    second,
                    order_id,
                    methods[0],
                    info.tax_inclusive,
                    chosen,
                    inputs,
                    priced,
                    line_ids,
                )

        for register in (0, 1):
            self.shift(day, oi, register, cash_in[register])
        for table, rows in ((orders, order_rows), (order_lines, line_rows), (payments, payment_rows)):
            for row in rows:
                self.w.add(table, row)

    def maybe_refund(
        self,
        day: int,
        oi: int,
        register: int,
        second: int,
        order_id: int,
        method: str,
        tax_inclusive: bool,
        chosen: list[_Product],
        inputs: list[LineInput],
        priced: PricedOrder,
        line_ids: list[int],
    ) -> None:
        rng = self.rng
        # No refunds on the first day, so the deliberately over-refunded order keeps refund number 0001.
        refund_day, refund_second = day, second + rng.randint(600, 10800)
        if day == 0 or rng.random() >= 0.6 or refund_second > 21 * 3600 + 50 * 60:
            refund_day, refund_second = day + rng.choice((1, 1, 2)), rng.randint(8 * 3600, 21 * 3600)
        if refund_day > self.spec.last_day:
            return
        indexes = range(len(chosen))
        if len(chosen) > 1 and rng.random() < 0.7:
            indexes = [rng.randrange(len(chosen))]
        lines = []
        for i in indexes:
            quantity = inputs[i].quantity
            refund_quantity = quantity
            if rng.random() < 0.3:
                if chosen[i].by_weight:
                    refund_quantity = max(
                        Decimal("0.001"), (quantity / 2).quantize(Decimal("0.001"), ROUND_HALF_UP)
                    )
                elif quantity > 1:
                    refund_quantity = quantity - 1
            amount, tax = price_refund_line(
                priced.lines[i].taxable, priced.lines[i].tax, quantity, refund_quantity
            )
            lines.append((line_ids[i], chosen[i], refund_quantity, amount, tax))
        location = self.outlets[oi]
        self.refund(
            self.at(location, refund_day, refund_second),
            oi,
            order_id,
            self.shift_id(refund_day, oi, register),
            method,
            tax_inclusive,
            tuple(lines),
        )

    def refund(
        self,
        business_time: datetime,
        oi: int,
        order_id: int,
        shift_id: int,
        method: str,
        tax_inclusive: bool,
        lines: tuple[tuple[int, _Product, Decimal, Decimal, Decimal], ...],
    ) -> None:
        total = refund_total(((amount, tax) for *_, amount, tax in lines), tax_inclusive)
        if method == "cash":
            self.cash_refunds[shift_id] += total
        location_id = self.outlets[oi].id
        for _line_id, product, quantity, _amount, _tax in lines:
            if product.track_stock:
                self.movements[location_id, product.id] += quantity
        self.refunds.append(
            _PendingRefund(
                business_time,
                oi,
                order_id,
                shift_id,
                method,
                total,
                self.rng.choice(_REFUND_REASONS),
                tuple((line_id, quantity, amount, tax) for line_id, _p, quantity, amount, tax in lines),
            )
        )

    def shift(self, day: int, oi: int, register: int, cash_in: Decimal) -> None:
        rng = self.rng
        location = self.outlets[oi]
        shift_id = self.shift_id(day, oi, register)
        local_day = self.spec.start_date + timedelta(day)
        opening = Decimal("500000.00") if register == 0 else Decimal("300000.00")
        opened = self.at(location, day, 6 * 3600 + 30 * 60 + rng.randrange(1200))
        closed_time = self.at(location, day, 22 * 3600 + 10 * 60 + rng.randrange(1800))
        expected = opening + cash_in - self.cash_refunds[shift_id]
        counted = expected
        if rng.random() < 0.1:
            counted = expected + rng.choice(
                (
                    Decimal(-20000),
                    Decimal(-5000),
                    Decimal(-2000),
                    Decimal(-500),
                    Decimal(500),
                    Decimal(1000),
                    Decimal(2000),
                )
            )
        still_open = day == self.spec.last_day and oi == 0 and register == 1
        self.w.add(
            shifts,
            {
                "id": shift_id,
                "number": f"SH-{location.info.code}-R{register + 1}-{local_day:%Y%m%d}",
                "register_id": oi * 2 + register + 1,
                "opened_at": opened,
                "closed_at": None if still_open else closed_time,
                "opening_cash": opening,
                "expected_cash": None if still_open else expected,
                "counted_cash": None if still_open else counted,
            },
        )

    def write_refunds(self) -> None:
        per_outlet: dict[int, int] = defaultdict(int)
        line_id = 0
        # Chronological ids; numbers run per outlet in the same order.
        for refund_id, pending in enumerate(
            sorted(self.refunds, key=lambda r: (r.business_time, r.outlet, r.order_id)), start=1
        ):
            per_outlet[pending.outlet] += 1
            location = self.outlets[pending.outlet]
            self.w.add(
                refunds,
                {
                    "id": refund_id,
                    "number": f"RF-{location.info.code}-{per_outlet[pending.outlet]:04d}",
                    "order_id": pending.order_id,
                    "outlet_id": location.id,
                    "shift_id": pending.shift_id,
                    "business_time": pending.business_time,
                    "committed_at": pending.business_time + timedelta(seconds=self.rng.randint(1, 8)),
                    "method": pending.method,
                    "total_amount": pending.total,
                    "reason": pending.reason,
                },
            )
            for order_line_id, quantity, amount, tax in pending.lines:
                line_id += 1
                self.w.add(
                    refund_lines,
                    {
                        "id": line_id,
                        "refund_id": refund_id,
                        "order_line_id": order_line_id,
                        "quantity": quantity,
                        "amount": amount,
                        "tax_amount": tax,
                    },
                )

    # -- stock --------------------------------------------------------------------------------------

    def location(self, index: int) -> _Location:
        return self.warehouse if index == WAREHOUSE else self.outlets[index]

    def write_transfers(self) -> None:
        rng = self.rng
        line_id = 0
        index_in_day: dict[int, int] = defaultdict(int)
        for number, plan in enumerate(_transfer_plan(self.spec), start=1):
            source, destination = self.location(plan.source), self.location(plan.destination)
            k = index_in_day[plan.day]
            index_in_day[plan.day] += 1
            from_warehouse = plan.source == WAREHOUSE
            chosen = rng.sample(_STOCKED, rng.randint(2, 4) if from_warehouse else rng.randint(1, 2))
            sent_at = self.at(source, plan.day, 8 * 3600 + k * 1500 + rng.randrange(1200))
            status, received_at = "received", sent_at + timedelta(seconds=rng.randint(3600, 5 * 3600))
            late = rng.random() < 0.2 or (from_warehouse and plan.day == self.spec.last_day)
            if plan.missing_out:
                sent_at = None
                received_at = self.at(destination, plan.day, 13 * 3600 + rng.randrange(3600))
            elif late:
                if plan.day == self.spec.last_day:
                    status, received_at = "sent", None  # still on the road when the snapshot is taken
                else:
                    received_at = self.at(destination, plan.day + 1, 9 * 3600 + rng.randrange(3 * 3600))
            committed = (received_at or sent_at) + timedelta(seconds=rng.randint(1, 10))
            note = "Pengiriman rutin gudang" if from_warehouse else "Pinjam stok antar outlet"
            if plan.missing_out:
                note = "Diterima tanpa transfer keluar: kasir pengirim offline"
            self.w.add(
                transfers,
                {
                    "id": number,
                    "number": f"TO-{number:04d}",
                    "from_outlet_id": source.id,
                    "to_outlet_id": destination.id,
                    "status": status,
                    "sent_at": sent_at,
                    "received_at": received_at,
                    "committed_at": committed,
                    "note": note,
                },
            )
            for line_no, product in enumerate(chosen, start=1):
                if product.by_weight:
                    sent = Decimal(rng.choice((2, 3, 4, 5)) if from_warehouse else 1).quantize(
                        Decimal("0.001")
                    )
                else:
                    sent = _Q[rng.choice((6, 12, 12, 24) if from_warehouse else (2, 3, 4, 6))]
                received = None
                if status == "received":
                    received = sent
                    if not plan.missing_out and rng.random() < 0.08:
                        received = sent - (Decimal("0.250") if product.by_weight else _Q[1])
                    self.movements[destination.id, product.id] += received
                if sent_at is not None:
                    self.movements[source.id, product.id] -= sent
                line_id += 1
                self.w.add(
                    transfer_lines,
                    {
                        "id": line_id,
                        "transfer_id": number,
                        "line_no": line_no,
                        "product_id": product.id,
                        "quantity_sent": sent,
                        "quantity_received": received,
                    },
                )

    def write_adjustments(self) -> None:
        rng = self.rng
        adjustment_id = line_id = 0
        per_outlet: dict[int, int] = defaultdict(int)
        perishable = tuple(p for p in _STOCKED if p.category in ("Makanan", "Segar"))
        breakable = tuple(p for p in _STOCKED if p.category == "Retail")
        for oi, day, role in _adjustment_plan(self.spec):
            location = self.outlets[oi]
            per_outlet[oi] += 1
            adjustment_id += 1
            if role == "skuless":
                when = self.at(location, day, 15 * 3600 + rng.randrange(1800))
                reason = "Botol pecah di display"
                lines = [(SKULESS_PRODUCT, -_Q[2])]
            elif rng.random() < 0.7:
                when = self.at(location, day, 20 * 3600 + rng.randrange(6000))
                reason = "Kedaluwarsa, dibuang akhir hari"
                lines = [(p, -_Q[rng.randint(1, 3)]) for p in rng.sample(perishable, rng.randint(1, 2))]
            else:
                when = self.at(location, day, 20 * 3600 + rng.randrange(6000))
                reason = "Rusak/pecah"
                lines = [(rng.choice(breakable), -_Q[1])]
            self.w.add(
                stock_adjustments,
                {
                    "id": adjustment_id,
                    "number": f"ADJ-{location.info.code}-{per_outlet[oi]:04d}",
                    "outlet_id": location.id,
                    "kind": "adjustment",
                    "business_time": when,
                    "committed_at": when + timedelta(seconds=rng.randint(1, 8)),
                    "reason": reason,
                },
            )
            for line_no, (product, change) in enumerate(lines, start=1):
                line_id += 1
                self.movements[location.id, product.id] += change
                self.w.add(
                    stock_adjustment_lines,
                    {
                        "id": line_id,
                        "adjustment_id": adjustment_id,
                        "line_no": line_no,
                        "product_id": product.id,
                        "quantity_change": change,
                        "counted_quantity": None,
                        "expected_quantity": None,
                        "unit_cost": product.cost,
                    },
                )

        last = self.spec.last_day
        for location in self.outlets:
            adjustment_id += 1
            when = self.at(location, last, 22 * 3600 + 30 * 60 + rng.randrange(600))
            self.w.add(
                stock_adjustments,
                {
                    "id": adjustment_id,
                    "number": f"ST-{location.info.code}-{self.spec.start_date + timedelta(last):%Y%m%d}",
                    "outlet_id": location.id,
                    "kind": "stock_take",
                    "business_time": when,
                    "committed_at": when + timedelta(seconds=rng.randint(1, 8)),
                    "reason": "Stock opname akhir minggu",
                },
            )
            # The seasonal product has no SKU and so is not on the count sheet.
            for line_no, product in enumerate(_STOCKED, start=1):
                expected = (
                    self.opening[location.info.code, product.id] + self.movements[location.id, product.id]
                )
                counted = expected
                if rng.random() < 0.15:
                    if product.by_weight:
                        counted += rng.choice((Decimal("-0.150"), Decimal("-0.050"), Decimal("0.100")))
                    else:
                        counted += rng.choice((-_Q[2], -_Q[1], -_Q[1], _Q[1]))
                counted = max(counted, QZERO)
                line_id += 1
                self.movements[location.id, product.id] += counted - expected
                self.w.add(
                    stock_adjustment_lines,
                    {
                        "id": line_id,
                        "adjustment_id": adjustment_id,
                        "line_no": line_no,
                        "product_id": product.id,
                        "quantity_change": counted - expected,
                        "counted_quantity": counted,
                        "expected_quantity": expected,
                        "unit_cost": product.cost,
                    },
                )

    def write_stock_levels(self) -> None:
        ids = {location.info.code: location for location in (*self.outlets, self.warehouse)}
        for (code, product_id), opening in self.opening.items():
            location = ids[code]
            self.w.add(
                stock_levels,
                {
                    "outlet_id": location.id,
                    "product_id": product_id,
                    "quantity": opening + self.movements[location.id, product_id],
                    "updated_at": self.at(location, self.spec.last_day, 23 * 3600),
                },
            )

    def run(self) -> None:
        self.masters()
        self.sales()
        self.write_refunds()
        self.write_transfers()
        self.write_adjustments()
        self.write_stock_levels()
        self.w.flush()


def generate(engine: Engine, spec: DemoSpec | None = None, replace: bool = False) -> dict[str, int]:
    """Create the POS schema and fill it from ``spec``; return the rows written per table.

    Refuses a database that already holds POS data unless ``replace`` is set, which drops and recreates
    the POS tables first. Everything is written in one transaction: a failure leaves no half-filled POS.
    """
    spec = spec or DemoSpec()
    if replace:
        drop_schema(engine)
    create_schema(engine)
    with engine.begin() as conn:
        for table in TABLES:
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                held = conn.execute(select(func.count()).select_from(orders)).scalar_one()
                raise ValueError(
                    f"the POS database {engine.url.render_as_string(hide_password=True)} already holds data "
                    f"({held} orders, table {table.name!r} not empty); pass --replace (replace=True) to drop "
                    "the POS tables and generate afresh"
                )
        writer = _Writer(conn)
        _Generator(spec, writer).run()
    return dict(writer.counts)


# --------------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------------


def summarize(engine: Engine) -> dict[str, Any]:
    """What a POS database holds: counts, sales, payments, transfers, shifts and its broken records.

    Works on any database with the POS schema (not only generated ones): broken records are found by
    querying, never remembered from generation.
    """
    present = set(inspect(engine).get_table_names())
    missing = [table.name for table in TABLES if table.name not in present]
    if missing:
        raise ValueError(
            f"{engine.url.render_as_string(hide_password=True)} is not a POS database: missing tables "
            f"{', '.join(missing)} (create one with `possync-devkit demo seed`)"
        )
    with engine.connect() as conn:
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}
        by_status = dict(
            conn.execute(
                select(orders.c.status, func.count()).group_by(orders.c.status).order_by(orders.c.status)
            ).all()
        )
        sales = _outlet_sales(conn)
        first_last = [(d["first_day"], d["last_day"]) for d in sales if d["first_day"] is not None]
        business_days = None
        if first_last:
            first, last = min(f for f, _ in first_last), max(la for _, la in first_last)
            business_days = {"first": first, "last": last, "days": (last - first).days + 1}
        paid = conn.execute(
            select(payments.c.method, func.count(), func.sum(payments.c.amount))
            .group_by(payments.c.method)
            .order_by(payments.c.method)
        ).all()
        transfer_status = dict(
            conn.execute(
                select(transfers.c.status, func.count())
                .group_by(transfers.c.status)
                .order_by(transfers.c.status)
            ).all()
        )
        open_shifts = conn.execute(
            select(func.count()).select_from(shifts).where(shifts.c.closed_at.is_(None))
        ).scalar_one()
        refund_count, refund_sum = conn.execute(select(func.count(), func.sum(refunds.c.total_amount))).one()
        broken = _find_broken_records(conn)
    return {
        "counts": counts,
        "orders_by_status": by_status,
        "business_days": business_days,
        "outlets": sales,
        "payments_by_method": {m: {"count": n, "amount": amount or ZERO} for m, n, amount in paid},
        "refunds": {"count": refund_count, "amount": refund_sum or ZERO},
        "transfers_by_status": transfer_status,
        "shifts": {"closed": counts["shifts"] - open_shifts, "open": open_shifts},
        "broken_records": [{"kind": kind, "key": key, "description": text} for kind, key, text in broken],
    }


def _outlet_sales(conn: Connection) -> list[dict[str, Any]]:
    completed = {
        oid: (n, total)
        for oid, n, total in conn.execute(
            select(orders.c.outlet_id, func.count(), func.sum(orders.c.total_amount))
            .where(orders.c.status == "completed")
            .group_by(orders.c.outlet_id)
        )
    }
    voided = dict(
        conn.execute(
            select(orders.c.outlet_id, func.count())
            .where(orders.c.status == "voided")
            .group_by(orders.c.outlet_id)
        ).all()
    )
    refunded = {
        oid: total
        for oid, total in conn.execute(
            select(refunds.c.outlet_id, func.sum(refunds.c.total_amount)).group_by(refunds.c.outlet_id)
        )
    }
    spans = {
        oid: (first, last)
        for oid, first, last in conn.execute(
            select(
                orders.c.outlet_id, func.min(orders.c.business_time), func.max(orders.c.business_time)
            ).group_by(orders.c.outlet_id)
        )
    }
    result = []
    for oid, code, name, kind, tz in conn.execute(
        select(outlets.c.id, outlets.c.code, outlets.c.name, outlets.c.kind, outlets.c.timezone).order_by(
            outlets.c.id
        )
    ):
        first, last = spans.get(oid, (None, None))
        zone = ZoneInfo(tz)
        n, total = completed.get(oid, (0, ZERO))
        result.append(
            {
                "code": code,
                "name": name,
                "kind": kind,
                "timezone": tz,
                "completed_orders": n,
                "voided_orders": voided.get(oid, 0),
                "sales_total": total or ZERO,
                "refunds_total": refunded.get(oid) or ZERO,
                "first_day": first.astimezone(zone).date() if first else None,
                "last_day": last.astimezone(zone).date() if last else None,
            }
        )
    return result


def _without_sku() -> Any:
    return or_(products.c.sku.is_(None), func.trim(products.c.sku) == "")


def _find_broken_records(conn: Connection) -> tuple[tuple[str, str, str], ...]:
    found: list[tuple[str, str, str]] = []
    no_sku = _without_sku()

    used = dict(
        conn.execute(
            select(order_lines.c.product_id, func.count())
            .join(products)
            .where(no_sku)
            .group_by(order_lines.c.product_id)
        ).all()
    )
    for product_id, name in conn.execute(select(products.c.id, products.c.name).where(no_sku)):
        found.append(
            (
                "product_without_sku",
                f"PROD-{product_id}",
                f"product {name!r} has no SKU: it cannot be matched to or created in a target "
                f"(on {used.get(product_id, 0)} order lines)",
            )
        )

    code = func.trim(customers.c.customer_code)
    shared = select(code).where(code != "").group_by(code).having(func.count() > 1)
    holder: dict[str, tuple[int, str]] = {}
    for cid, name, customer_code in conn.execute(
        select(customers.c.id, customers.c.name, code).where(code.in_(shared)).order_by(code, customers.c.id)
    ):
        if customer_code not in holder:
            holder[customer_code] = (cid, name)
            continue
        first_id, first_name = holder[customer_code]
        found.append(
            (
                "duplicate_customer_code",
                f"CUST-{cid}",
                f"customer {name!r} has customer code {customer_code}, "
                f"already used by CUST-{first_id} ({first_name!r})",
            )
        )

    # Any document that names a product without SKU cannot be synced until the product gets one.
    usages = (
        (
            "order_product_without_sku",
            "sells",
            orders.c.number,
            orders.join(order_lines).join(products),
            orders.c.status == "completed",
        ),
        (
            "refund_product_without_sku",
            "refunds",
            refunds.c.number,
            refunds.join(refund_lines).join(order_lines).join(products),
            None,
        ),
        (
            "transfer_product_without_sku",
            "moves",
            transfers.c.number,
            transfers.join(transfer_lines).join(products),
            transfers.c.status != "cancelled",
        ),
        (
            "adjustment_product_without_sku",
            "adjusts",
            stock_adjustments.c.number,
            stock_adjustments.join(stock_adjustment_lines).join(products),
            None,
        ),
    )
    for kind, verb, number, joined, condition in usages:
        query = select(number, products.c.name).select_from(joined).where(no_sku).distinct()
        if condition is not None:
            query = query.where(condition)
        names: dict[str, list[str]] = defaultdict(list)
        for key, name in conn.execute(query):
            names[key].append(name)
        for key, product_names in names.items():
            listed = ", ".join(repr(n) for n in sorted(product_names))
            found.append((kind, key, f"{verb} {listed}, which has no SKU"))

    paid_sum = (
        select(payments.c.order_id, func.sum(payments.c.amount).label("paid"), func.count().label("n"))
        .group_by(payments.c.order_id)
        .subquery()
    )
    paid = func.coalesce(paid_sum.c.paid, 0)
    for number, status, total, amount in conn.execute(
        select(orders.c.number, orders.c.status, orders.c.total_amount, paid_sum.c.paid)
        .select_from(orders.outerjoin(paid_sum, paid_sum.c.order_id == orders.c.id))
        .where(
            or_(
                and_(orders.c.status == "completed", paid != orders.c.total_amount),
                and_(orders.c.status == "voided", paid_sum.c.n > 0),
            )
        )
    ):
        amount = amount or ZERO
        if status == "voided":
            found.append(("voided_order_with_payments", number, f"voided, yet has payments of {rupiah(amount)}"))
            continue
        gap = total - amount
        found.append(
            (
                "payment_mismatch",
                number,
                f"payments add up to {rupiah(amount)} but the total is {rupiah(total)} "
                f"({rupiah(abs(gap))} {'short' if gap > 0 else 'over'})",
            )
        )

    found.extend(_unreconciled_orders(conn))
    found.extend(_over_refunds(conn))

    for (number,) in conn.execute(
        select(transfers.c.number).where(transfers.c.sent_at.is_(None), transfers.c.status == "received")
    ):
        found.append(
            (
                "transfer_out_missing",
                number,
                "received, but the transfer-out was never recorded (no sent time)",
            )
        )
    return _sorted_broken(found)


def _unreconciled_orders(conn: Connection) -> Iterable[tuple[str, str, str]]:
    """Completed orders whose stored tax, service charge or total disagree with :func:`price_order`."""
    query = (
        select(
            orders.c.id,
            orders.c.number,
            orders.c.tax_inclusive,
            orders.c.discount_amount,
            orders.c.service_charge_rate,
            orders.c.service_charge_amount,
            orders.c.tax_amount,
            orders.c.rounding_amount,
            orders.c.total_amount,
            order_lines.c.quantity,
            order_lines.c.unit_price,
            order_lines.c.discount_amount.label("line_discount"),
            order_lines.c.tax_rate,
            order_lines.c.tax_amount.label("line_tax"),
        )
        .select_from(orders.outerjoin(order_lines))
        .where(orders.c.status == "completed")
        .order_by(orders.c.id, order_lines.c.line_no)
    )
    # Streamed: the check has to run on a million-line POS without holding it in memory.
    result = conn.execute(query, execution_options={"yield_per": 5000})
    for _order_id, group in itertools.groupby(result, key=lambda row: row.id):
        rows = list(group)
        order = rows[0]
        problems = _order_problems(order, [r for r in rows if r.quantity is not None])
        if problems:
            yield "order_total_mismatch", order.number, "; ".join(problems)


def _order_problems(order: Any, lines: list[Any]) -> list[str]:
    if not lines:
        return ["has no lines"]
    inputs = [LineInput(r.quantity, r.unit_price, r.line_discount, r.tax_rate) for r in lines]
    try:
        priced = price_order(inputs, order.discount_amount, order.service_charge_rate, order.tax_inclusive)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    wrong_tax = [
        str(i) for i, (r, p) in enumerate(zip(lines, priced.lines, strict=True), 1) if r.line_tax != p.tax
    ]
    if wrong_tax:
        problems.append(f"tax on line(s) {', '.join(wrong_tax)} differs from the rate")
    if order.tax_amount != priced.tax:
        problems.append(f"order tax {rupiah(order.tax_amount)} but its lines' tax adds up to {rupiah(priced.tax)}")
    if order.service_charge_amount != priced.service_charge:
        problems.append(
            f"service charge {rupiah(order.service_charge_amount)} "
            f"but the rate gives {rupiah(priced.service_charge)}"
        )
    expected = priced.total_before_rounding + order.rounding_amount
    if order.total_amount != expected:
        problems.append(
            f"stored total {rupiah(order.total_amount)} but lines, discount, tax, service charge and "
            f"rounding add up to {rupiah(expected)} (off by {rupiah(order.total_amount - expected)})"
        )
    return problems


def _over_refunds(conn: Connection) -> Iterable[tuple[str, str, str]]:
    """Refunds that take back more of an order line than it sold, counting earlier refunds of that line."""
    refunded = (
        select(refund_lines.c.order_line_id, func.sum(refund_lines.c.quantity).label("refunded"))
        .group_by(refund_lines.c.order_line_id)
        .subquery()
    )
    over = (
        select(order_lines.c.id)
        .join(refunded, refunded.c.order_line_id == order_lines.c.id)
        .where(refunded.c.refunded > order_lines.c.quantity)
    )
    rows = conn.execute(
        select(
            refund_lines.c.order_line_id,
            refund_lines.c.quantity,
            refunds.c.number,
            order_lines.c.quantity.label("sold"),
            order_lines.c.line_no,
            order_lines.c.product_name,
            orders.c.number.label("order_number"),
        )
        .select_from(
            refund_lines.join(refunds).join(order_lines).join(orders, orders.c.id == order_lines.c.order_id)
        )
        .where(refund_lines.c.order_line_id.in_(over))
        .order_by(refund_lines.c.order_line_id, refunds.c.business_time, refunds.c.id, refund_lines.c.id)
    )
    reported: set[str] = set()
    for _line, group in itertools.groupby(rows, key=lambda row: row.order_line_id):
        so_far = QZERO
        for row in group:
            so_far += row.quantity
            if so_far > row.sold and row.number not in reported:
                reported.add(row.number)
                yield (
                    "refund_exceeds_sold",
                    row.number,
                    f"refunds {row.quantity} of {row.product_name!r} "
                    f"(order {row.order_number} line {row.line_no}), "
                    f"taking refunds of that line to {so_far} though it sold {row.sold}",
                )


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a plain-text report for a terminal."""
    out: list[str] = ["POS database summary", "===================="]
    days = summary["business_days"]
    if days:
        out.append(f"Business days: {days['first']} to {days['last']} ({days['days']} days, outlet time)")
    else:
        out.append("Business days: none (no orders)")
    out += ["", "Rows per table"]
    out += [f"  {name:<24}{count:>12,}" for name, count in summary["counts"].items()]
    status = summary["orders_by_status"]
    out += ["", "Orders: " + (", ".join(f"{n:,} {s}" for s, n in status.items()) or "none")]
    out += ["", "Sales per outlet (completed orders, Rp)"]
    for o in summary["outlets"]:
        if o["kind"] != "outlet":
            out.append(f"  {o['code']:<7}{o['name']:<28}{o['timezone']:<15}(warehouse)")
            continue
        out.append(
            f"  {o['code']:<7}{o['name']:<28}{o['timezone']:<15}{o['completed_orders']:>8,} orders"
            f"{rupiah_number(o['sales_total']):>18}   voided {o['voided_orders']:,}, "
            f"refunds {rupiah(o['refunds_total'])}"
        )
    out += ["", "Payments by method (Rp)"]
    for method, p in summary["payments_by_method"].items():
        out.append(f"  {method:<15}{p['count']:>10,} payments{rupiah_number(p['amount']):>20}")
    r = summary["refunds"]
    out.append(f"Refunds: {r['count']:,} for {rupiah(r['amount'])}")
    labels = {"sent": "sent (in transit)", "received": "received", "cancelled": "cancelled"}
    transfers_ = summary["transfers_by_status"]
    out.append(
        "Transfers: " + (", ".join(f"{n:,} {labels.get(s, s)}" for s, n in transfers_.items()) or "none")
    )
    out.append(f"Shifts: {summary['shifts']['closed']:,} closed, {summary['shifts']['open']:,} open")
    broken = summary["broken_records"]
    out += ["", f"Broken records (reported cleanly by the sync, by design): {len(broken)}"]
    if not broken:
        out.append("  none")
    width = max((len(b["kind"]) for b in broken), default=0) + 2
    key_width = max((len(b["key"]) for b in broken), default=0) + 2
    out += [f"  {b['kind']:<{width}}{b['key']:<{key_width}}{b['description']}" for b in broken]
    return "\n".join(out)
