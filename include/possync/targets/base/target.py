"""What a target is to the rest of possync: one ``Target`` object per ``targets/<name>/`` folder.

The DAG factory, the operators, the Sync Status and webhook apps, config validation and the provider
metadata know a target only through this interface, looked up by name in ``possync.targets.base.registry``.
Adding a target is one new folder whose ``__init__.py`` sets ``TARGET = MyTarget()`` (see the README's
"Adding a target").

A target's module is imported when DAGs are parsed, so it must stay light: import hooks, senders and
mappings inside the methods, when a task runs.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from possync.config import Integration
    from possync.ledger import SyncLedger
    from possync.ledger.webhooks import WebhookLog
    from possync.targets.base.books import TargetBooks
    from possync.targets.base.hook import TargetHttpHook
    from possync.targets.base.loader import Sender

Logger = logging.Logger | logging.LoggerAdapter


class BadDelivery(ValueError):
    """A webhook body that is not a delivery of the target; the message says why (answered 400)."""


class Inbound(ABC):
    """What a target pushes back to the POS through webhooks (e.g. goods received from suppliers).

    A target with an ``Inbound`` gets an ``<integration>__inbound`` DAG that processes the webhook log, a
    receiver at ``/possync/webhooks/<target>/<integration>`` and, when ``renew_schedule`` is set, an
    ``<integration>__webhook_renew`` DAG.
    """

    #: what the events become in the POS, for DAG docs and logs ("purchases → POS goods receipts")
    description: ClassVar[str] = ""
    #: cron (in the integration's timezone) of the subscription renewal; None when subscriptions never expire
    renew_schedule: ClassVar[str | None] = None
    #: the inbound DAG's own doc (Markdown), shown in the Airflow UI
    doc_md: ClassVar[str] = ""

    @abstractmethod
    def parse_delivery(self, body: bytes) -> list[dict[str, Any]]:
        """The events of one webhook delivery, each with a unique ``uuid``; ``BadDelivery`` if malformed."""

    @abstractmethod
    def process_pending(self, webhook_log: WebhookLog, hook: Any, pos: Engine, integration: Integration,
                        logger: Logger) -> Any:
        """Process the integration's pending events, oldest first; a summary with ``failed`` and ``as_dict()``."""

    def renew(self, hook: Any) -> str:
        """Renew the webhook subscription; the new expiry, for the log. Needed only with ``renew_schedule``."""
        raise NotImplementedError(f"{type(self).__name__} sets renew_schedule but does not renew")


class Target(ABC):
    """An accounting target: its connection type, its hook, its senders and how to prepare it."""

    #: the name integrations.yaml uses (``target: <name>``), also the connection type and the pool prefix
    name: ClassVar[str] = ""
    #: how log lines and pages name it (short: "→ <label> #1203")
    label: ClassVar[str] = ""
    #: the Airflow provider's connection-type entry (hook class, form fields), see ``possync.provider``
    connection_type: ClassVar[dict[str, Any]] = {}
    #: the target's webhooks, if it has any
    inbound: ClassVar[Inbound | None] = None
    #: every outlet must name the target's branch its documents are booked to (``outlets.<code>.branch``)
    outlet_needs_branch: ClassVar[bool] = False
    #: a synced stock take sets the counted quantity (rather than adding the count's difference), so a move the
    #: target missed before it no longer shows in the target's stock (``possync.stocksync.explain``)
    stock_take_sets_count: ClassVar[bool] = False
    #: calls the target accepts in flight at once per API consumer (None: no such limit); an integration's
    #: ``target_concurrency`` × ``batches_in_flight`` must stay within it
    max_in_flight: ClassVar[int | None] = None

    @abstractmethod
    def hook_class(self) -> type[TargetHttpHook]:
        """The hook class, imported inside the method (this module is imported at DAG-parse time)."""

    def hook(self, integration: Integration) -> Any:
        """The integration's hook. With ``shared_pacing`` it paces to the API consumer's one allowance kept in the
        integration's ledger (every task, process and worker takes from it); without (the default), each task
        paces alone to its share of the target pool, the pool's size dividing the limit."""
        return self.hook_class()(integration.conn_id, pacing_share=integration.target_concurrency,
                                 pacing_conn_id=integration.ledger_conn_id if integration.shared_pacing else None)

    def reasons(self) -> tuple[Mapping[str, str], Sequence[tuple[str, str]]]:
        """What this target adds to the Indonesian reasons (``possync.i18n``): nouns for its own document names,
        and catalogue entries (English regex, Indonesian template) for the reasons only its code gives."""
        return {}, []

    @abstractmethod
    def sender_classes(self) -> Iterable[type]:
        """The target's sender classes, one per record type it accepts (customer, item, invoice, payment, ...),
        each built as ``Sender(hook, integration, ledger)``; imported inside the method."""

    def senders(self, hook: Any, integration: Integration, ledger: SyncLedger) -> Iterable[Sender]:
        return [kind(hook, integration, ledger) for kind in self.sender_classes()]

    @abstractmethod
    def prepare(self, hook: Any, integration: Integration, logger: Logger) -> None:
        """Create what documents point at by name and the target may lack (warehouses, branches); a target
        with nothing to create does nothing.

        Runs before products are synced; must be idempotent (a create whose reply was lost is found again).
        """

    def senders_by_type(self, hook: Any, integration: Integration, ledger: SyncLedger) -> dict[str, Sender]:
        return {sender.record_type: sender for sender in self.senders(hook, integration, ledger)}

    def stock_levels(self, hook: Any, integration: Integration, ledger: SyncLedger) -> dict[tuple[str, str], Any]:
        """(POS outlet code, SKU) → the quantity the target holds in the outlet's warehouse, for the products the
        products sync matched or created (the ledger's id map), read through ``hook`` (paced like every call);
        a pair the target has no row for is left out (zero). For ``possync.stockcompare``."""
        raise NotImplementedError(f"target {self.name!r} cannot read its stock per warehouse")

    def reader_class(self) -> type[TargetBooks] | None:
        """The class that reads the target's sales documents back for the daily reconciliation
        (``targets/base/books.py``), imported inside the method; None for a target that cannot be read back
        (it then gets no reconcile DAG)."""
        return None

    @property
    def reconciles(self) -> bool:
        """Whether the target's books can be read back (known without importing anything: DAG parse time)."""
        return type(self).reader_class is not Target.reader_class

    def reader(self, hook: Any, integration: Integration) -> TargetBooks:
        """The reader of the target's books through ``hook`` (paced like every other call)."""
        reader = self.reader_class()
        if reader is None:
            raise NotImplementedError(f"target {self.name!r} cannot read its books back for reconciliation")
        return reader(hook, integration)
