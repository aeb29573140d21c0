"""Reading a target's books back: the sales documents it holds for a range of days, in one shape for every
target, for the daily reconciliation (``possync.reconcile``).

Each target's reader (``targets/<name>/books.py``, built by ``Target.reader``) lists invoices, payments and
returns through the target's **list endpoints with a date filter and large pages**, never one detail call per
document: a day of a 200-outlet chain is tens of thousands of documents, and a detail call each would spend
the day's API allowance. Every call goes through the target's hook, which paces to the rate limit.

Stock moves are read too (``stock_documents``): each side of a warehouse / item transfer and each stock
adjustment / item adjustment, with its per-product quantities (SKU → quantity), in the target's own terms: what a
transfer side moved, an adjustment's signed difference, and for a stock take what the target keeps of it (Jurnal
the counted quantities, Accurate the count's differences). ``expected_stock`` says, for one POS stock document,
which documents possync posts for it in those same terms, so the reconciliation compares like with like.

Amounts are ``Decimal``; payment methods are given back in the POS's words (``cash``, ``qris``, ...) where the
target's name for the method is one possync writes, otherwise in the target's own words (so a method an
accountant picked by hand shows as what it is).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from possync.config import Integration

#: how many documents one list call asks for (neither vendor documents a maximum; clients use 100)
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class BookDocument:
    """One sales document as the target holds it.

    :param record_type: ``invoice``, ``payment``, ``return``, or ``refund``: the money a return paid back, where
        the target books it as a document of its own (it belongs to the ledger's ``return`` record).
    :param number: the number the target knows it by: possync's business key for documents possync posted.
    :param day: the document's transaction date in the target.
    :param amount: invoice total, payment amount or return total, as the target computed it.
    :param target_id: the target's own id (for links and for deleting it).
    :param outlet_code: the POS outlet its warehouse (or branch) maps to, None when it names none we map.
    :param invoice_number: payments and returns: the invoice they are against.
    :param method: payments: the payment method (POS words where possible, see the module docstring).
    :param tax: invoices: the VAT the target books for it (``TargetBooks.invoice_tax``), None when not read.
    :param lines: SKU → quantity (``quantities``): an invoice's product lines (without the output-VAT, service and
        rounding items), a stock document's quantities in the target's terms (see the module docstring; ``amount``
        is then the net quantity, their sum); None when the target's list gave none (not compared).
    """

    record_type: str
    number: str
    day: date
    amount: Decimal
    target_id: str
    outlet_code: str | None = None
    invoice_number: str | None = None
    method: str | None = None
    tax: Decimal | None = None
    lines: tuple[tuple[str, Decimal], ...] | None = ()


#: the record types of stock documents: the ledger's, plus ``transit_loss`` (Jurnal: what a transfer lost on the
#: road, a stock adjustment ``<transfer>/IN`` belonging to the ledger's ``transfer_in`` record)
STOCK_TYPES = ("transfer_out", "transfer_in", "transit_loss", "adjustment", "stock_take")
#: the suffix of each transfer side's number in the target (``targets.base.senders.transfer_number``)
SIDE_SUFFIX = {"transfer_out": "/OUT", "transfer_in": "/IN"}


def quantities(pairs: Any) -> tuple[tuple[str, Decimal], ...]:
    """(SKU, quantity) pairs summed per SKU, zeros left out, sorted: one document's lines as compared."""
    summed: dict[str, Decimal] = {}
    for sku, quantity in pairs:
        summed[str(sku)] = summed.get(str(sku), Decimal(0)) + Decimal(str(quantity))
    return tuple(sorted((sku, q.quantize(Decimal("0.001"))) for sku, q in summed.items() if q))


def stock_document(record_type: str, number: str, day: date, target_id: str, pairs: Any,
                   outlet_code: str | None) -> BookDocument:
    """A stock document as read: ``number`` is the POS key (a transfer side's ``/OUT`` / ``/IN`` taken off)."""
    suffix = SIDE_SUFFIX.get("transfer_in" if record_type == "transit_loss" else record_type)
    key = number.removesuffix(suffix) if suffix else number
    lines = quantities(pairs)
    return BookDocument(record_type, key, day, sum((q for _s, q in lines), Decimal("0.000")), target_id,
                        outlet_code=outlet_code, lines=lines)


class TargetBooks(ABC):
    """A target's sales documents of a range of days, read through its hook (paced)."""

    #: the record types whose amounts equal the POS's by construction (see each reader's docstring for why a
    #: type is left out: e.g. a return the target prices from the invoice line)
    comparable_amounts: ClassVar[frozenset[str]] = frozenset({"invoice", "payment", "refund"})

    def __init__(self, hook: Any, integration: Integration, *, page_size: int | None = None) -> None:
        self.hook = hook
        self.integration = integration
        settings = getattr(hook, "settings", None) or {}
        self.page_size = int(page_size or settings.get("list_page_size") or DEFAULT_PAGE_SIZE)
        # warehouse (and branch) name → outlet code, case-insensitive as both targets treat names
        self.outlet_of: dict[str, str] = {}
        for code, outlet in integration.outlets.items():
            self.outlet_of[outlet.warehouse.casefold()] = code
            if outlet.branch:
                self.outlet_of.setdefault(outlet.branch.casefold(), code)

    @property
    def helper_skus(self) -> frozenset[str]:
        """The items possync adds to an invoice besides the POS's products (output VAT, service, rounding)."""
        keeping = self.integration.bookkeeping
        return frozenset({keeping.output_vat_sku, keeping.service_charge_sku, keeping.rounding_sku})

    def invoice_lines(self, lines: list[tuple[str, Any, Any]] | None, target_tax: Any
                      ) -> tuple[tuple[tuple[str, Decimal], ...] | None, Decimal | None]:
        """An invoice's product lines (SKU → quantity) and the VAT it books, from its lines as (SKU, quantity,
        amount) and the tax the target computed itself (every rate's), plus any line of the output-VAT item (how
        invoices posted before tax per rate carried a tax-exclusive receipt's VAT). ``lines`` None (the list gave
        none): neither (the VAT line cannot be seen), so neither is compared."""
        if lines is None:
            return None, None
        vat_sku = self.integration.bookkeeping.output_vat_sku
        vat_lines = (money(amount) for sku, _quantity, amount in lines if sku == vat_sku)
        tax = money(target_tax) + sum(vat_lines, Decimal("0.00"))
        helpers = self.helper_skus
        return quantities((sku, quantity) for sku, quantity, _amount in lines if sku not in helpers), tax

    def outlet_named(self, *names: Any) -> str | None:
        """The outlet the first mapped warehouse or branch among ``names`` belongs to."""
        for name in names:
            if isinstance(name, str) and name.casefold() in self.outlet_of:
                return self.outlet_of[name.casefold()]
        return None

    def documents(self, first: date, last: date) -> Iterator[BookDocument]:
        """Every invoice, payment, return and refund paid back dated ``first`` to ``last`` (both included)."""
        yield from self.invoices(first, last)
        yield from self.payments(first, last)
        yield from self.returns(first, last)
        yield from self.refunds(first, last)

    @abstractmethod
    def invoices(self, first: date, last: date) -> Iterator[BookDocument]:
        """The sales invoices dated ``first`` to ``last``."""

    @abstractmethod
    def payments(self, first: date, last: date) -> Iterator[BookDocument]:
        """The payments received against invoices, dated ``first`` to ``last``."""

    @abstractmethod
    def returns(self, first: date, last: date) -> Iterator[BookDocument]:
        """The sales returns dated ``first`` to ``last``."""

    def refunds(self, first: date, last: date) -> Iterator[BookDocument]:
        """The money paid back for returns, dated ``first`` to ``last``, numbered by the refund; none for a
        target whose return carries the money itself."""
        return iter(())

    def stock_documents(self, first: date, last: date) -> Iterator[BookDocument]:
        """Every transfer side and stock adjustment dated ``first`` to ``last`` (record types ``STOCK_TYPES``;
        an item adjustment that cannot tell an adjustment from a stock take is an ``adjustment``)."""
        return iter(())

    def expected_stock(self, document: Any) -> list[tuple[str, tuple[tuple[str, Decimal], ...]]]:
        """The documents possync posts for one POS stock document: (record type, its lines as ``quantities``);
        none when it posts nothing (e.g. Accurate's stock take that matched the till). The default: a transfer
        side its moved quantities (a transfer-in what was received), an adjustment its differences, a stock take
        its counted quantities."""
        return [(document.record_type, quantities((line.sku, line.quantity) for line in document.lines))]

    def document_url(self, record_type: str, target_id: str | None) -> str | None:
        """The document's page in the target's web app, when the hook knows it."""
        url = getattr(self.hook, "document_url", None)
        return url(record_type, target_id) if callable(url) else None


def money(value: Any) -> Decimal:
    """An amount from a JSON reply (a number or a string), exact to the sen."""
    return Decimal(str(value if value not in (None, "") else 0)).quantize(Decimal("0.01"))
