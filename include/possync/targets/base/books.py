"""Reading a target's books back: the sales documents it holds for a range of days, in one shape for every
target, for the daily reconciliation (``possync.reconcile``).

Each target's reader (``targets/<name>/books.py``, built by ``Target.reader``) lists invoices, payments and
returns through the target's **list endpoints with a date filter and large pages**, never one detail call per
document: a day of a 200-outlet chain is tens of thousands of documents, and a detail call each would spend
the day's API allowance. Every call goes through the target's hook, which paces to the rate limit.

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
    :param tax: invoices: the tax the target shows, when it is comparable with the POS's (else None).
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

    def document_url(self, record_type: str, target_id: str | None) -> str | None:
        """The document's page in the target's web app, when the hook knows it."""
        url = getattr(self.hook, "document_url", None)
        return url(record_type, target_id) if callable(url) else None


def money(value: Any) -> Decimal:
    """An amount from a JSON reply (a number or a string), exact to the sen."""
    return Decimal(str(value if value not in (None, "") else 0)).quantize(Decimal("0.01"))
