"""The sync operators every target shares: customers, products, sales, transfers and stock, each
extract → transform → load.

An operator is thin: it reads its integration's settings, builds the POS engine, the ledger and the
target's hook, hands documents to the ``Loader`` with the target's senders, and turns the outcome into
the task's state. Records the POS cannot turn into documents are failed in the ledger with their
reason; a task with any permanently failed record ends failed without Airflow retries (red until
repaired, then cleared: the "sync refresh"); transient target errors raise and are retried by Airflow,
resuming without re-posting what succeeded.

A target provides ``make_hook`` and ``senders`` (see ``targets/jurnal/operators.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator, BaseOperatorLink
from airflow.sdk.exceptions import AirflowFailException

from possync.config import Integration, load_config
from possync.documents import Rejection
from possync.recordlog import log_record
from possync.targets.base.loader import Loader, LoadSummary, Sender

CREATED_XCOM = "created_documents"  # the target documents a task created: [[record type, id, number], ...]


def _ui_base_url() -> str:
    from airflow.configuration import conf

    return (conf.get("api", "base_url", fallback="") or "").rstrip("/")


class SyncedRecordsLink(BaseOperatorLink):
    """The Sync Status page filtered to the records this task attempt wrote: each with its status, reason and a
    link to its document in the target."""

    name = "Synced records"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        from urllib.parse import urlencode

        query = {"integration": getattr(operator, "integration_name", ""), "dag_id": ti_key.dag_id,
                 "run_id": ti_key.run_id, "task_id": ti_key.task_id, "map_index": ti_key.map_index}
        return f"{_ui_base_url()}/sync-status/?{urlencode(query)}"


class TargetDocumentLink(BaseOperatorLink):
    """The first document this task created, in the target's web app (its address comes from the
    connection's ``web_url``); the target's home page when it created none or has no document links."""

    name = "Open in target"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        hook = operator.make_hook(operator.integration)  # type: ignore[attr-defined]
        created = XCom.get_value(ti_key=ti_key, key=CREATED_XCOM) or []
        for record_type, target_id, _number in created:
            url = hook.document_url(record_type, target_id)
            if url:
                return url
        return hook.web_url


class SyncOperator(BaseOperator):
    """Base of the sync operators.

    :param integration_name: the integration in integrations.yaml whose settings, connections and ledger apply.
    """

    flow = ""
    target_label = ""
    ui_color = "#e8f4ea"
    operator_extra_links = (SyncedRecordsLink(), TargetDocumentLink())

    def __init__(self, *, integration_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration_name = integration_name

    # -- what a target provides ------------------------------------------------------------------------

    def make_hook(self, integration: Integration) -> Any:
        raise NotImplementedError

    def senders(self, hook: Any, integration: Integration, ledger: Any) -> dict[str, Sender]:
        raise NotImplementedError

    def prepare_target(self, hook: Any, integration: Integration) -> None:
        """Make sure the target has what documents point at by name (e.g. warehouses); runs with products."""

    # -- shared ------------------------------------------------------------------------------------------

    @cached_property
    def integration(self) -> Integration:
        config = load_config()
        for integration in config.integrations:
            if integration.name == self.integration_name:
                return integration
        raise AirflowFailException(f"integration {self.integration_name!r} is not in {load_config.__module__}")

    def _ledger(self) -> Any:
        from possync.db import engine_for_conn
        from possync.ledger import SyncLedger

        ledger = SyncLedger(engine_for_conn(self.integration.ledger_conn_id))
        ledger.create_schema()
        return ledger

    def _pos(self) -> Any:
        from possync.db import engine_for_conn

        return engine_for_conn(self.integration.pos_conn_id)

    def _record_rejections(self, ledger: Any, rejections: Sequence[Rejection], run: Any) -> list[str]:
        from possync.ledger import RecordOutcome

        ledger.record(self.integration.name, [
            RecordOutcome(record_type=r.record_type, key=r.key, flow=self.flow, status="failed",
                          outlet_code=r.outlet_code, business_time=r.business_time, reason=r.reason)
            for r in rejections
        ], run)
        for r in rejections:
            log_record(self.log, "FAILED", r.record_type, r.key, r.reason)
        return [f"{r.record_type} {r.key}: {r.reason}" for r in rejections]

    def run_flow(self, context: Any, loader: Loader, senders: dict[str, Sender], ledger: Any) -> LoadSummary:
        raise NotImplementedError

    def execute(self, context: Any) -> dict[str, Any]:
        from possync.ledger import RunRef

        integration = self.integration
        ledger = self._ledger()
        hook = self.hook = self.make_hook(integration)
        run = RunRef.from_context(context)
        loader = Loader(ledger, integration.name, target=self.target_label, run=run, logger=self.log)
        summary = self.run_flow(context, loader, self.senders(hook, integration, ledger), ledger)
        context["ti"].xcom_push(key=CREATED_XCOM, value=[list(created) for created in summary.created[:100]])
        self.log.info(
            "%s %s: read %d = synced %d + skipped %d + failed %d",
            integration.name, self.flow, summary.read, summary.synced, summary.skipped, summary.failed,
        )
        if summary.failed:
            shown = "; ".join(summary.failures[:5])
            more = f" (and {len(summary.failures) - 5} more in the log)" if len(summary.failures) > 5 else ""
            raise AirflowFailException(f"{summary.failed} record(s) failed: {shown}{more}")
        return summary.as_dict()


class SyncCustomersOperator(SyncOperator):
    """Every POS customer, plus the walk-in customer invoices without a customer are booked to."""

    flow = "customers"

    def run_flow(self, context: Any, loader: Loader, senders: dict[str, Sender], ledger: Any) -> LoadSummary:
        from possync.pos.extract import extract_customers
        from possync.targets.base.bookkeeping import walk_in_customer
        from possync.transform.sales import transform_customers

        customers, rejections = transform_customers(extract_customers(self._pos()))
        walk_in = walk_in_customer(self.integration.bookkeeping)
        summary = LoadSummary(failed=len(rejections))
        summary.failures = self._record_rejections(ledger, rejections, loader.run)
        summary.add(loader.load(senders["customer"], [walk_in, *customers]))
        return summary


class SyncProductsOperator(SyncOperator):
    """POS products matched by SKU (created when missing), plus the helper items invoices use."""

    flow = "products"

    def run_flow(self, context: Any, loader: Loader, senders: dict[str, Sender], ledger: Any) -> LoadSummary:
        from possync.pos.extract import extract_products
        from possync.targets.base.bookkeeping import helper_items
        from possync.transform.sales import transform_products

        self.prepare_target(self.hook, self.integration)
        items, rejections = transform_products(extract_products(self._pos()))
        summary = LoadSummary(failed=len(rejections))
        summary.failures = self._record_rejections(ledger, rejections, loader.run)
        summary.add(loader.load(senders["item"], [*helper_items(self.integration.bookkeeping), *items]))
        return summary


class SyncSalesOperator(SyncOperator):
    """One outlet's sales of one window: invoices, then their payments, then returns.

    :param outlet_code: the POS outlet.
    :param window_start: ISO start of the window (inclusive).
    :param window_end: ISO end of the window (exclusive).
    """

    flow = "sales"
    template_fields = ("outlet_code", "window_start", "window_end")

    def __init__(self, *, outlet_code: str, window_start: str, window_end: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlet_code = outlet_code
        self.window_start = window_start
        self.window_end = window_end

    def run_flow(self, context: Any, loader: Loader, senders: dict[str, Sender], ledger: Any) -> LoadSummary:
        from possync.pipeline import stage_sales
        from possync.pos.extract import Window

        integration = self.integration
        window = Window(datetime.fromisoformat(self.window_start), datetime.fromisoformat(self.window_end))
        staged, documents = stage_sales(
            self._pos(), ledger, integration=integration.name, outlet_code=self.outlet_code, window=window,
            lookback=timedelta(hours=integration.sales.lookback_hours),
            window_on="shift_close" if integration.sales.mode == "shift_close" else "business_time",
            run=loader.run, logger=self.log,
        )
        summary = LoadSummary(skipped=staged.skipped, failed=staged.failed, failures=list(staged.failures))
        for record_type in ("invoice", "payment", "return"):
            kind = [document for document in documents if document.record_type == record_type]
            summary.add(loader.load(senders[record_type], kind))
        return summary


class _WindowedStockSync(SyncOperator):
    """Transfers or stock documents of a window, staged by ``pipeline.stage_stock``; see the subclasses.

    :param window_start: ISO start of the window (inclusive).
    :param window_end: ISO end of the window (exclusive).
    """

    record_types: tuple[str, ...] = ()

    def __init__(self, *, window_start: str, window_end: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.window_start = window_start
        self.window_end = window_end

    def outlets_to_sync(self) -> list[str]:
        raise NotImplementedError

    def run_flow(self, context: Any, loader: Loader, senders: dict[str, Sender], ledger: Any) -> LoadSummary:
        from possync.pipeline import stage_stock
        from possync.pos.extract import Window

        integration = self.integration
        staged, documents = stage_stock(
            self._pos(), ledger, integration=integration.name, flow=self.flow,  # type: ignore[arg-type]
            outlet_codes=self.outlets_to_sync(), mapped_outlets=integration.outlets,
            window=Window(datetime.fromisoformat(self.window_start), datetime.fromisoformat(self.window_end)),
            lookback=timedelta(hours=integration.transfers.lookback_hours), run=loader.run, logger=self.log,
        )
        summary = LoadSummary(failed=staged.failed, failures=list(staged.failures))
        for record_type in self.record_types:  # in order: a transfer-in needs its transfer-out
            summary.add(loader.load(senders[record_type], [d for d in documents if d.record_type == record_type]))
        return summary


class SyncTransfersOperator(_WindowedStockSync):
    """Every transfer sent or received at the outlets in the window: transfer-outs, then transfer-ins.

    One task for all outlets rather than one per outlet, because a transfer-in waits for the transfer-out
    of another outlet: in one task, oldest first, the out is always loaded before the in that needs it.

    :param outlet_codes: the POS outlets (a transfer-out is its source's, a transfer-in its destination's).
    """

    flow = "transfers"
    record_types = ("transfer_out", "transfer_in")
    template_fields = ("outlet_codes", "window_start", "window_end")

    def __init__(self, *, outlet_codes: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlet_codes = outlet_codes

    def outlets_to_sync(self) -> list[str]:
        return list(self.outlet_codes)


class SyncStockOperator(_WindowedStockSync):
    """One outlet's stock adjustments, then its stock takes, of the window.

    :param outlet_code: the POS outlet.
    """

    flow = "stock"
    record_types = ("adjustment", "stock_take")
    template_fields = ("outlet_code", "window_start", "window_end")

    def __init__(self, *, outlet_code: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlet_code = outlet_code

    def outlets_to_sync(self) -> list[str]:
        return [self.outlet_code]
