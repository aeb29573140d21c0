"""What a target's books hold, read back through the target's real hook, in one shape for every target, so
end-to-end tests assert the same facts about Jurnal and Accurate.

``Books.for_world(world)`` picks the reader of the world's target (see ``support.worlds``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from possync.config import Integration, load_config
from possync.targets.base.registry import get_target


def integration_of(world: dict[str, Any]) -> Integration:
    """The world's integration as integrations.yaml configures it."""
    return next(i for i in load_config().integrations if i.name == world["integration"])


class Books:
    """One target's documents, each list in the target's own order and with any duplicates it holds (so a
    test can tell "posted twice" from "posted once")."""

    readers: ClassVar[dict[str, type[Books]]] = {}
    target: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Books.readers[cls.target] = cls

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.hook = get_target(integration.target).hook(integration)

    @classmethod
    def for_world(cls, world: dict[str, Any]) -> Books:
        return cls.readers[world["target"]](integration_of(world))

    def invoices(self) -> list[tuple[str, Decimal]]:
        """(number, total) of every sales invoice."""
        raise NotImplementedError

    def payments(self) -> list[str]:
        """The number of every payment received against an invoice (``<invoice>/P<n>``)."""
        raise NotImplementedError

    def returns(self) -> list[str]:
        """The number of every sales return."""
        raise NotImplementedError

    def customers(self) -> list[str]:
        """What the target knows each customer by, as the ledger's id map keeps it (Jurnal: the display name,
        Accurate: the customer number)."""
        raise NotImplementedError


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


class AccurateBooks(Books):
    target = "accurate"
    # list.do returns only the fields asked for
    FIELDS: ClassVar[dict[str, list[str]]] = {
        "sales-invoice": ["id", "number", "totalAmount"],
        "sales-receipt": ["id", "number"],
        "sales-return": ["id", "number"],
        "customer": ["id", "customerNo"],
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
