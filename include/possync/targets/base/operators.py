"""The sync operators, the same for every target: customers, products, sales, transfers and stock.

An operator is thin: it resolves its integration's settings, the integration's target (from the registry)
and the target's hook (a cached property, as Airflow's ``HttpOperator`` has), calls the flow's function in
``possync.pipeline`` and turns the outcome into the task's state. A record failing for the first time, or
for another reason than before, ends the task failed without Airflow retries (red until repaired, then cleared:
the "sync refresh"); a record still failing for a reason already reported is retried, oldest first, and logged
as a warning with its age, without turning later runs red (``red_on: new``, the default; ``red_on: any`` turns
every run with a failed record red). Transient target errors raise and are retried by Airflow, resuming without
re-posting what succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, BaseOperatorLink
from airflow.sdk.exceptions import AirflowFailException

from possync.config import Integration, load_config
from possync.i18n import failure_message, load_summary_line
from possync.targets.base.registry import get_target
from possync.targets.base.target import Target

if TYPE_CHECKING:
    from possync.pipeline import SyncJob
    from possync.pos.extract import Window
    from possync.targets.base.loader import FailedRecord, LoadSummary

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


class DryRunPreviewLink(BaseOperatorLink):
    """The Sync Status page of this run's dry-run preview: every document the sync tasks would post, with the
    exact request bodies (a run triggered with ``dry_run`` on; other runs' page says there is none)."""

    name = "Dry-run preview"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        from urllib.parse import urlencode

        query = {"dag_id": ti_key.dag_id, "run_id": ti_key.run_id}
        return f"{_ui_base_url()}/sync-status/preview?{urlencode(query)}"


class TargetDocumentLink(BaseOperatorLink):
    """The first document this task created, in the target's web app (its address comes from the
    connection's ``web_url``); the target's home page when it created none or has no document links."""

    name = "Open in target"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        hook = operator.hook  # type: ignore[attr-defined]
        created = XCom.get_value(ti_key=ti_key, key=CREATED_XCOM) or []
        for record_type, target_id, _number in created:
            url = hook.document_url(record_type, target_id)
            if url:
                return url
        return hook.web_url


class SyncOperator(BaseOperator):
    """Base of the sync operators: one flow of one integration, into the integration's target.

    :param integration_name: the integration in integrations.yaml whose settings, connections and ledger apply.
    """

    flow = ""
    ui_color = "#e8f4ea"
    operator_extra_links = (SyncedRecordsLink(), TargetDocumentLink(), DryRunPreviewLink())

    def __init__(self, *, integration_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration_name = integration_name

    @cached_property
    def integration(self) -> Integration:
        for integration in load_config().integrations:
            if integration.name == self.integration_name:
                return integration
        raise AirflowFailException(f"integration {self.integration_name!r} is not in integrations.yaml")

    @cached_property
    def target(self) -> Target:
        return get_target(self.integration.target)

    @cached_property
    def hook(self) -> Any:
        return self.target.hook(self.integration)

    def sync(self, job: SyncJob) -> LoadSummary:
        raise NotImplementedError

    def warnings(self, job: SyncJob) -> list[str]:
        """Lines the task's summary adds after its counts (e.g. outlets with sales that nothing syncs)."""
        return []

    def preview_scope(self) -> dict[str, Any]:
        """What a dry run's preview says it covered (outlets, window)."""
        return {}

    def log_outlet_counts(self, summary: LoadSummary) -> None:
        """Lines of per-outlet counts after the task's summary line (the sales tasks, over a group of outlets)."""

    def fail_on_failures(self, summary: LoadSummary) -> None:
        """Red for a failure new to this run (or any, with ``red_on: any``); green with warnings for those an
        earlier run reported."""
        report_failures(self.log, "record(s)", summary.failed_records, summary.failed,
                        red_on=self.integration.red_on, language=self.integration.language, texts=summary.failures)

    def execute(self, context: Any) -> dict[str, Any]:
        from possync.ledger import RunRef
        from possync.pipeline import SyncJob

        if (context.get("params") or {}).get("dry_run"):
            return self.dry_run(context)
        job = SyncJob.connect(self.integration, self.target, self.hook, run=RunRef.from_context(context),
                              logger=self.log)
        summary = self.sync(job)
        context["ti"].xcom_push(key=CREATED_XCOM, value=[list(created) for created in summary.created[:100]])
        language = self.integration.language
        self.log.info("%s", load_summary_line(self.integration.name, self.flow, summary.read, summary.synced,
                                              summary.skipped, summary.failed, summary.reversed, language))
        self.log_outlet_counts(summary)
        for warning in self.warnings(job):
            self.log.warning("WARNING %s", warning)
        if summary.failed:
            self.fail_on_failures(summary)
        return summary.as_dict()

    def dry_run(self, context: Any) -> dict[str, Any]:
        """The run's ``dry_run`` param is on: preview what the sync would post (task log with every body, XCom
        ``dry_run_preview`` for the Sync Status page) and write nothing to the target or the ledger
        (``possync.preview``). Records that would fail do not fail the task: nothing was attempted."""
        from possync.ledger import RunRef
        from possync.pipeline import SyncJob
        from possync.preview import PREVIEW_LIMIT, PREVIEW_XCOM, dry_run

        job = SyncJob.connect(self.integration, self.target, self.hook, run=RunRef.from_context(context),
                              logger=self.log, ensure_schema=False)
        preview = dry_run(job, self.flow, self.sync, scope=self.preview_scope())
        for line in preview.lines():
            self.log.info("%s", line)
        for warning in self.warnings(job):
            self.log.warning("WARNING %s", warning)
        context["ti"].xcom_push(key=PREVIEW_XCOM, value=preview.as_dict(limit=PREVIEW_LIMIT))
        self.log.info("the preview (first %d records per type, every count) is on the Sync Status page: "
                      "the task's \"Dry-run preview\" link", PREVIEW_LIMIT)
        return {"dry_run": True, **preview.summary}


def report_failures(
    log: Any, what: str, failures: Sequence[FailedRecord], total: int, *, red_on: str, language: str = "en",
    texts: Sequence[str] = (),
) -> None:
    """Turn failed records into the task's state: raise ``AirflowFailException`` when a failure is new to this run
    (first time, or a new reason, met by this run: ``Failing.new``) or when ``red_on`` is ``any``; otherwise log
    each failure an earlier run reported as a warning line, with since when it has been failing, and a summary
    line, and let the task succeed.

    ``total`` counts every failed record (``failures`` may lack some, e.g. a summary built by hand): those
    without an entry count as new."""
    from possync.recordlog import failing_for, log_record, utc_minute

    new = [f for f in failures if f.is_new]
    known = sorted((f for f in failures if not f.is_new and f.failing_since is not None),
                   key=lambda f: (f.failing_since, f.record_type, f.key))
    unaccounted = max(0, total - len(failures))
    if red_on != "any" and known:
        now = datetime.now(UTC)
        for failure in known:
            since = failure.failing_since or now
            log_record(log, "FAILED", failure.record_type, failure.key,
                       f"still failing since {utc_minute(since)} ({failing_for(since, now)}), already reported: "
                       f"{failure.reason}", level=logging.WARNING)
        log.warning("%d %s still failing for reasons already reported (oldest failing since %s); they do not turn "
                    "the task red (red_on: new): repair them, they are retried on every run", len(known), what,
                    utc_minute(known[0].failing_since or now))
    if red_on == "any" or new or unaccounted:
        shown_list = [str(f) for f in (failures if red_on == "any" else new)]
        if unaccounted and not shown_list:  # a summary without failed records: its failure texts say which
            shown_list = list(texts)
        count = total if red_on == "any" else len(new) + unaccounted
        also = (f"; {len(known)} more still failing for reasons already reported"
                if known and red_on != "any" else "")
        if what == "record(s)":  # the sync tasks' message, in the integration's language (possync.i18n)
            raise AirflowFailException(failure_message(count, shown_list, language) + also)
        shown = "; ".join(shown_list[:5])
        more = f" (and {len(shown_list) - 5} more in the log)" if len(shown_list) > 5 else ""
        raise AirflowFailException(f"{count} {what} failed: {shown}{more}{also}")


def _window(start: str, end: str) -> Window:
    from datetime import datetime

    from possync.pos.extract import Window

    return Window(datetime.fromisoformat(start), datetime.fromisoformat(end))


class SyncCustomersOperator(SyncOperator):
    """Every POS customer (``use_pos_customer_id``: the target's customer number is the POS's), plus the
    walk-in customer invoices without a customer are booked to."""

    flow = "customers"

    def sync(self, job: SyncJob) -> LoadSummary:
        from possync.pipeline import sync_customers

        return sync_customers(job)


class SyncProductsOperator(SyncOperator):
    """The target's warehouses, then POS products matched by SKU (created when missing), plus helper items."""

    flow = "products"

    def sync(self, job: SyncJob) -> LoadSummary:
        from possync.pipeline import sync_products

        return sync_products(job)


class SyncSalesOperator(SyncOperator):
    """The sales of a group of outlets for one window: each outlet staged on its own, then invoices, their
    payments and returns loaded together, so the target's batches fill across the outlets.

    :param outlet_codes: the POS outlets of the group (``sales.outlets_per_task`` at most, in code order).
    :param window_start: ISO start of the window (inclusive).
    :param window_end: ISO end of the window (exclusive).
    :param catch_up: also sync everything of each outlet due by the window end and committed since its
        watermark (scheduled runs); False syncs exactly the window (backfills, manual windows).
    """

    flow = "sales"
    template_fields = ("outlet_codes", "window_start", "window_end")
    template_fields_renderers = {"outlet_codes": "json"}

    def __init__(self, *, outlet_codes: Sequence[str], window_start: str, window_end: str, catch_up: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlet_codes = outlet_codes
        self.window_start = window_start
        self.window_end = window_end
        self.catch_up = catch_up

    @property
    def outlets_label(self) -> str:
        """The group's name in the grid (its ``map_index_template``): ``JKT01``, or ``BDG01…SBY01 (3 outlets)``."""
        from possync.pipeline import outlets_label

        return outlets_label(list(self.outlet_codes))

    def preview_scope(self) -> dict[str, Any]:
        return {"outlets": ", ".join(self.outlet_codes), "window_start": self.window_start,
                "window_end": self.window_end, "catch_up": self.catch_up}

    def sync(self, job: SyncJob) -> LoadSummary:
        from possync.pipeline import sync_sales

        return sync_sales(job, outlet_codes=list(self.outlet_codes), catch_up=self.catch_up,
                          window=_window(self.window_start, self.window_end))

    def log_outlet_counts(self, summary: LoadSummary) -> None:
        """With more than one outlet, a line of each outlet's counts after the task's summary."""
        if len(self.outlet_codes) < 2:
            return
        from possync.i18n import outlet_counts_line

        self.log.info("%s", outlet_counts_line(
            {code: summary.outlets.get(code, {}) for code in self.outlet_codes}, self.integration.language))

    def warnings(self, job: SyncJob) -> list[str]:
        from possync.pipeline import unmapped_outlets_warning

        warning = unmapped_outlets_warning(job.pos, self.integration)
        return [warning] if warning else []


class SyncTransfersOperator(SyncOperator):
    """Every transfer sent or received at the outlets in the window: transfer-outs, then transfer-ins (one task
    for all outlets: a transfer-in waits for another outlet's transfer-out).

    :param outlet_codes: the POS outlets (a transfer-out is its source's, a transfer-in its destination's).
    :param window_start: ISO start of the window (inclusive).
    :param window_end: ISO end of the window (exclusive).
    :param catch_up: also sync every transfer side due by the window end and committed since the outlets'
        watermarks (scheduled runs); False syncs exactly the window (a date range, a backfill).
    """

    flow = "transfers"
    template_fields = ("outlet_codes", "window_start", "window_end")

    def __init__(self, *, outlet_codes: Sequence[str], window_start: str, window_end: str, catch_up: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlet_codes = outlet_codes
        self.window_start = window_start
        self.window_end = window_end
        self.catch_up = catch_up

    def preview_scope(self) -> dict[str, Any]:
        return {"outlets": list(self.outlet_codes), "window_start": self.window_start, "window_end": self.window_end,
                "catch_up": self.catch_up}

    def sync(self, job: SyncJob) -> LoadSummary:
        from possync.pipeline import sync_transfers

        return sync_transfers(job, outlet_codes=list(self.outlet_codes), catch_up=self.catch_up,
                              window=_window(self.window_start, self.window_end))


class SyncStockOperator(SyncOperator):
    """One outlet's stock adjustments, then its stock takes, of the window.

    :param outlet_code: the POS outlet.
    :param window_start: ISO start of the window (inclusive).
    :param window_end: ISO end of the window (exclusive).
    :param catch_up: as for transfers.
    """

    flow = "stock"
    template_fields = ("outlet_code", "window_start", "window_end")

    def __init__(self, *, outlet_code: str, window_start: str, window_end: str, catch_up: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlet_code = outlet_code
        self.window_start = window_start
        self.window_end = window_end
        self.catch_up = catch_up

    def preview_scope(self) -> dict[str, Any]:
        return {"outlet": self.outlet_code, "window_start": self.window_start, "window_end": self.window_end,
                "catch_up": self.catch_up}

    def sync(self, job: SyncJob) -> LoadSummary:
        from possync.pipeline import sync_stock

        return sync_stock(job, outlet_code=self.outlet_code, catch_up=self.catch_up,
                          window=_window(self.window_start, self.window_end))


SYNC_OPERATORS: dict[str, type[SyncOperator]] = {
    operator.flow: operator
    for operator in (SyncCustomersOperator, SyncProductsOperator, SyncSalesOperator, SyncTransfersOperator,
                     SyncStockOperator)
}
