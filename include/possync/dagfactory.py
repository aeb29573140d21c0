"""Builds the DAGs of every enabled integration from the settings in integrations.yaml.

One DAG per integration and flow (``<integration>__sales``), tagged with target, flow and integration.
Each run covers a real window of business time (see ``possync.timetables``); tasks map over outlets (the sales
tasks over groups of outlets), never over records. Nothing here does I/O at parse time: the tasks import pandas,
SQLAlchemy and the targets when they run.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import DAG, Param, TriggerRule, task

from possync.config import HeadOffice, Integration, PossyncConfig
from possync.targets.base.registry import get_target
from possync.timetables import ScheduledHoursTimetable, windows_every

DEFAULT_ARGS = {
    "owner": "possync",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
}


def sales_timetable(integration: Integration) -> Any:
    sales = integration.sales
    if sales.mode == "scheduled":
        return ScheduledHoursTimetable.at_hours(sales.hours, integration.timezone)
    # real time and shift close both poll; shift close windows on the shifts' closing times
    return windows_every(sales.every_minutes, integration.timezone)


def _sales_doc(integration: Integration) -> str:
    mode = {
        "realtime": f"every {integration.sales.every_minutes} minutes",
        "shift_close": f"as register shifts close (checked every {integration.sales.every_minutes} minutes)",
        "scheduled": "at " + ", ".join(t.strftime("%H:%M") for t in integration.sales.hours),
    }[integration.sales.mode]
    return f"""
### Sales from the POS to {integration.target} ({integration.name})

Runs {mode}, {integration.timezone} time. Each run syncs the completed orders, payments and refunds whose
business time falls in its data interval, per outlet, plus late sales from offline tills committed in the
last {integration.sales.lookback_hours} hours. One `sync_sales` task syncs up to
{integration.sales.outlets_per_task} outlets (`sales.outlets_per_task`, in code order; the grid names each task
by its outlets), filling the target's batches across them.

* **Per-record status**: the task log has one line per record (`SYNCED` with the target's
  document, `SKIPPED` with why, `FAILED` with the reason) and a summary `read = synced + skipped + failed`,
  then the same counts per outlet.
* **Changes after sync**: a sale edited or voided at the till after it was synced is reversed in the target
  (a `REVERSED` line per deleted document) and posted again as it now is
  (`changes_after_sync: {integration.changes_after_sync}`; `report` only fails the changed records).
* **Failures** (e.g. a product without SKU) turn the outlets' task red without retries the first time a record
  fails or when its reason changes (`red_on: {integration.red_on}`); later runs retry it and log it as a warning
  with since when it has been failing, staying green. Repair the POS record, then clear the task (or wait for
  the next run) to sync it again. `run_result` is red (upstream failed) whenever any task of the run is.
* **Backfill**: Trigger → Backfill with a date range re-syncs exactly that range; nothing is duplicated.
* **Manual window**: Trigger with `window_start` / `window_end` (and optionally a choice of outlets).
* **Dry run**: Trigger with `dry_run` on: each task logs the documents and the exact request bodies it would
  post, and the task's "Dry-run preview" link shows them; nothing is written to the target or the ledger.
""" + (f"""* **Transfers in real time** (`transfers.mode: realtime`): `sync_transfers` (one task for the run's outlets)
  syncs each transfer side sent or received in the window, transfer-outs before transfer-ins, after
  `sync_products`; stock adjustments and stock takes stay on `{integration.name}__transfers`, run by hand.
""" if integration.transfers.mode == "realtime" else "")


@contextmanager
def _bad_parameters_fail_the_run() -> Generator[None]:
    """A wrong window or date range is permanent: fail the task at once, without Airflow retries."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except ValueError as error:
        raise AirflowFailException(str(error)) from None


def window_time(text: Any, timezone: str, name: str = "window_start") -> datetime:
    """A window bound typed in the Trigger form or passed in the conf: ISO 8601 with an offset
    (``2026-11-10T12:00:00+07:00``, ``…Z``) or without one, then in outlet time (the integration's timezone);
    a bare date is that day's midnight. ``ValueError`` naming the param when it is none of these."""
    example = f"e.g. 2026-11-10T12:00 in outlet time ({timezone}), or 2026-11-10T12:00+07:00"
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{name} {text!r} is not a date and time ({example})")
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a date and time ({example})") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def _window_from_context(context: Any, params: dict[str, Any],
                         timezone: str = "UTC") -> tuple[datetime, datetime]:
    """The run's window: the ``window_start`` / ``window_end`` override (times without an offset are in
    ``timezone``, the outlets' time), else the run's data interval."""
    start, end = params.get("window_start"), params.get("window_end")
    if start or end:
        if not (start and end):
            raise ValueError("set both window_start and window_end, or neither")
        start, end = window_time(start, timezone, "window_start"), window_time(end, timezone, "window_end")
    else:
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:
        raise ValueError(
            "this run has no data interval (triggered without a logical date): "
            "trigger it from the UI form, or pass window_start and window_end in the conf"
        )
    if start >= end:
        raise ValueError(f"empty window: window_end {end.isoformat()} is not after window_start {start.isoformat()}")
    return start, end


def _catches_up(context: Any, params: dict[str, Any]) -> bool:
    """Whether a sales run also catches up on what is due and unread (``pipeline.stage_sales``): scheduled
    and plain manual runs do; a backfill or a run with a window override syncs exactly its range."""
    if params.get("window_start") or params.get("window_end"):
        return False
    dag_run = context.get("dag_run")
    run_type = str(getattr(getattr(dag_run, "run_type", None), "value", getattr(dag_run, "run_type", "")) or "")
    return run_type != "backfill"


def _stock_catches_up(context: Any, params: dict[str, Any]) -> bool:
    """Whether a transfers/stock run also catches up on what is due and unread (``pipeline.stage_stock``):
    scheduled and plain manual runs do; a run for a date range or a backfill syncs exactly its range."""
    if params.get("from_date") or params.get("to_date"):
        return False
    return _catches_up(context, {})


def _report_unmapped_outlets(integration: Integration, context: Any) -> None:
    """Warn (plan task log, ledger note for the Sync Status page) about POS outlets with sales but no mapping.
    Never fails the run: the mapped outlets still sync."""
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    logger = logging.getLogger("possync.plan")
    try:
        from possync.db import engine_for_conn
        from possync.ledger import RunRef, SyncLedger
        from possync.pipeline import report_unmapped_outlets

        ledger = SyncLedger(engine_for_conn(integration.ledger_conn_id))
        ledger.create_schema()
        report_unmapped_outlets(engine_for_conn(integration.pos_conn_id), ledger, integration,
                                run=RunRef.from_context(context), logger=logger)
    except (SQLAlchemyError, OSError) as error:  # a check only: the sync tasks log the warning too
        logger.warning("could not check the POS for unmapped outlets: %s", error)


def dry_run_param() -> Any:
    """The ``dry_run`` switch of every sync DAG's trigger form (``possync.preview``)."""
    return Param(False, type="boolean", title="Dry run",
                 description="Preview only: log the documents and the exact request bodies the sync would post, "
                             "and show them on Sync Status (the task's \"Dry-run preview\" link); nothing is "
                             "written to the target or the sync ledger.")


RUN_RESULT_TASK = "run_result"


def _run_result(dag: DAG) -> Any:
    """A last task downstream of every other, that runs only if all of them succeeded (or were skipped).

    Airflow decides a run's state from its leaf tasks alone; a task whose failure a later ``all_done`` task
    absorbs (``sync_customers`` before the mapped ``sync_sales``, ``receive`` before ``send``) would otherwise
    leave the run green while one of its tasks is red. This leaf is ``upstream_failed`` whenever any task
    failed, so the run's colour is its tasks'. Call it last, inside the DAG's ``with`` block."""
    from airflow.providers.standard.operators.empty import EmptyOperator

    others = list(dag.tasks)
    result = EmptyOperator(
        task_id=RUN_RESULT_TASK, trigger_rule=TriggerRule.ALL_SUCCESS,
        doc_md="Green when every task of the run is; `upstream_failed` when one failed, so the run is red too.",
    )
    others >> result
    return result


def _sync_task(integration: Integration, flow: str) -> Any:
    from possync.targets.base.operators import SYNC_OPERATORS

    return SYNC_OPERATORS[flow](task_id=f"sync_{flow}", integration_name=integration.name,
                                pool=integration.target_pool)


def _sync_operator(flow: str) -> Any:
    from possync.targets.base.operators import SYNC_OPERATORS

    return SYNC_OPERATORS[flow]


def _transfers_tasks(integration: Integration, plan: Any) -> Any:
    """``sync_transfers``, one task for every outlet of ``plan`` (a transfer-in needs another outlet's out), over
    the plan's window; used by the transfers DAG and, with ``transfers.mode: realtime``, by the sales DAG."""

    @task(multiple_outputs=False)
    def plan_transfers(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The transfers of every planned outlet go in one task (a transfer-in needs another outlet's out)."""
        codes = [code for entry in plan for code in entry.get("outlet_codes") or [entry["outlet_code"]]]
        return [{"outlet_codes": codes, "window_start": plan[0]["window_start"], "window_end": plan[0]["window_end"],
                 "catch_up": plan[0]["catch_up"]}]

    return _sync_operator("transfers").partial(
        task_id="sync_transfers", integration_name=integration.name, pool=integration.target_pool,
        # a product that failed fails only the documents that move it, with that reason
        map_index_template="{{ task.outlet_codes | join(',') }}", trigger_rule=TriggerRule.ALL_DONE,
    ).expand_kwargs(plan_transfers(plan))


def build_master_dag(integration: Integration, flow: str) -> DAG:
    """Customers or products on their own, hourly and on demand (the sales DAG also runs both first)."""
    with DAG(
        dag_id=f"{integration.name}__{flow}",
        description=f"POS {flow} → {integration.target} ({integration.name})",
        schedule="@hourly",
        start_date=datetime.combine(integration.start_date, time(), tzinfo=ZoneInfo(integration.timezone)),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[integration.target, flow, integration.name],
        doc_md=f"Syncs every POS {flow} record not yet in {integration.target}; one log line per record. "
               "A record failing for the first time or for a new reason (e.g. a product without SKU) turns the task "
               f"red (`red_on: {integration.red_on}`); later runs retry it and log it as a warning with its age. "
               "Repair the POS record and clear the task. "
               "Trigger with **Dry run** on to preview what would be posted, writing nothing.",
        params={"dry_run": dry_run_param()},
    ) as dag:
        _sync_task(integration, flow)
    return dag


def build_sales_dag(integration: Integration) -> DAG:
    name = integration.name
    outlets = sorted(integration.outlets)
    start_date = datetime.combine(integration.start_date, time(), tzinfo=ZoneInfo(integration.timezone))

    with DAG(
        dag_id=f"{name}__sales",
        description=f"POS sales → {integration.target} ({name})",
        schedule=sales_timetable(integration),
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[integration.target, "sales", name],
        doc_md=_sales_doc(integration),
        params={
            "outlets": Param(
                [], type="array", items={"type": "string", "enum": outlets}, uniqueItems=True,
                title="Outlets", description="Leave empty to sync every mapped outlet.",
            ),
            # plain strings, not format "date-time": that JSON-schema format demands an offset, and a time
            # typed without one is outlet time (window_time); a wrong one fails the run at once
            "window_start": Param(
                None, type=["null", "string"], title="Window start",
                description=f"Overrides the run's data interval (with window end): 2026-11-10T12:00 in outlet "
                            f"time ({integration.timezone}), or with an offset, 2026-11-10T12:00+07:00.",
                section="Window override",
            ),
            "window_end": Param(
                None, type=["null", "string"], title="Window end",
                description="Up to, not including, this time; same forms as window start.",
                section="Window override",
            ),
            "dry_run": dry_run_param(),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def plan_sales_windows(**context: Any) -> list[dict[str, Any]]:
            """One entry per group of outlets to sync in this run's window (``sales.outlets_per_task`` outlets
            at most, in code order)."""
            from possync.pipeline import outlet_groups

            params = context["params"]
            with _bad_parameters_fail_the_run():
                start, end = _window_from_context(context, params, integration.timezone)
            chosen = params.get("outlets") or outlets
            catch_up = _catches_up(context, params)
            if not params.get("dry_run"):  # a dry run writes nothing to the ledger (the sync tasks still warn)
                _report_unmapped_outlets(integration, context)
            return [
                {"outlet_codes": group, "window_start": start.isoformat(), "window_end": end.isoformat(),
                 "catch_up": catch_up}
                for group in outlet_groups(chosen, integration.sales.outlets_per_task)
            ]

        customers, products = _sync_task(integration, "customers"), _sync_task(integration, "products")
        sales = _sync_operator("sales").partial(
            task_id="sync_sales",
            integration_name=name,
            pool=integration.target_pool,
            map_index_template="{{ task.outlets_label }}",
            # A customer or product that failed fails only the invoices that need it (with that reason);
            # every other sale still goes.
            trigger_rule=TriggerRule.ALL_DONE,
        ).expand_kwargs(windows := plan_sales_windows())
        [customers, products] >> sales
        if integration.transfers.mode == "realtime":  # the transfer schedule is off: each side rides this window
            products >> _transfers_tasks(integration, windows)
        _run_result(dag)

    return dag


def transfers_timetable(integration: Integration) -> Any:
    """Automatic: runs at the configured hours, each over the time since the previous one. Manual and realtime
    (transfers ride the real-time sales runs): none, ops trigger a date range."""
    if integration.transfers.mode != "automatic":
        return None
    return ScheduledHoursTimetable.at_hours(integration.transfers.hours, integration.timezone)


def _date_window(params: dict[str, Any], timezone: str) -> tuple[datetime, datetime] | None:
    """The window of the ``from_date`` / ``to_date`` params: both days whole, in the integration's timezone."""
    first, last = params.get("from_date"), params.get("to_date")
    if not (first or last):
        return None
    if not (first and last):
        raise ValueError("set both from_date and to_date, or neither")
    start_day, end_day = date.fromisoformat(first), date.fromisoformat(last)
    if end_day < start_day:
        raise ValueError(f"to_date {end_day} is before from_date {start_day}: nothing to sync")
    zone = ZoneInfo(timezone)
    return (datetime.combine(start_day, time(), tzinfo=zone),
            datetime.combine(end_day + timedelta(days=1), time(), tzinfo=zone))


def _transfers_doc(integration: Integration) -> str:
    transfers = integration.transfers
    if transfers.mode == "automatic":
        when = (f"Runs automatically at {', '.join(t.strftime('%H:%M') for t in transfers.hours)} "
                f"{integration.timezone} time, each run over the time since the previous one (backfill a date range "
                "from Trigger → Backfill). Trigger it by hand with `from_date` / `to_date` to sync other days.")
    else:
        when = ("Manual: ops trigger it with a date range (`from_date`, `to_date`, both days included, "
                f"{integration.timezone} time) and, optionally, a choice of outlets. Nothing runs on a schedule.")
        if transfers.mode == "realtime":
            when += (f" Transfers themselves sync in real time (`transfers.mode: realtime`): each side in the next "
                     f"run of `{integration.name}__sales`; run this DAG for stock adjustments and stock takes, or "
                     "to sync a date range again.")
    return f"""
### Transfers and stock from the POS to {integration.target} ({integration.name})

{when}

1. `sync_products` makes sure every product (and warehouse) the documents name exists in {integration.target}.
2. `sync_transfers` (one task for all outlets): transfer-outs as goods leave an outlet, then transfer-ins as
   they arrive, oldest first. A transfer-in whose transfer-out failed fails with
   "transfer-out TO-… has not been synced yet; repair it first", and is retried by every later run until the
   out document goes through.
3. `sync_stock` (one task per outlet): stock adjustments, then stock takes.

Each task logs one line per record (`SYNCED`, `SKIPPED`, `FAILED` with the reason) and a summary
`read = synced + skipped + failed`; a record failing for the first time or for a new reason turns its task red
without retries (`red_on: {integration.red_on}`), one still failing for a reason already reported is logged as a
warning with its age. Repair the POS record, then clear the task (or wait for the next run): earlier failures
are always retried, oldest first. `run_result` is red whenever any task of the run is.
Trigger with `dry_run` on to preview the documents and the exact request bodies, writing nothing.
"""


def build_transfers_dag(integration: Integration) -> DAG:
    """Transfers, stock adjustments and stock takes: automatic at the configured hours, or manual."""
    name = integration.name
    outlets = sorted(integration.outlets)
    manual = integration.transfers.mode != "automatic"
    date_param: dict[str, Any] = {"type": "string", "format": "date"} if manual else {
        "type": ["null", "string"], "format": "date", "section": "Date range (instead of the run's window)"}
    if not manual:
        date_param["default"] = None

    with DAG(
        dag_id=f"{name}__transfers",
        description=f"POS transfers and stock → {integration.target} ({name})",
        schedule=transfers_timetable(integration),
        start_date=_start_date(integration),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[integration.target, "transfers", "stock", name],
        doc_md=_transfers_doc(integration),
        params={
            "from_date": Param(title="From date", description="First day to sync (outlet time).", **date_param),
            "to_date": Param(title="To date", description="Last day to sync, included.", **date_param),
            "outlets": Param(
                [], type="array", items={"type": "string", "enum": outlets}, uniqueItems=True,
                title="Outlets", description="Leave empty to sync every mapped outlet.",
            ),
            "dry_run": dry_run_param(),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def plan_stock_windows(**context: Any) -> list[dict[str, Any]]:
            """One entry per outlet to sync in this run's window (the date range, or the run's interval)."""
            params = context["params"]
            with _bad_parameters_fail_the_run():
                start, end = _date_window(params, integration.timezone) or _window_from_context(context, {})
            chosen = params.get("outlets") or outlets
            catch_up = _stock_catches_up(context, params)
            return [
                {"outlet_code": code, "window_start": start.isoformat(), "window_end": end.isoformat(),
                 "catch_up": catch_up}
                for code in chosen
            ]

        windows = plan_stock_windows()
        products = _sync_task(integration, "products")
        transfers = _transfers_tasks(integration, windows)
        stock = _sync_operator("stock").partial(
            task_id="sync_stock", integration_name=name, pool=integration.target_pool,
            map_index_template="{{ task.outlet_code }}", trigger_rule=TriggerRule.ALL_DONE,
        ).expand_kwargs(windows)
        products >> transfers >> stock
        _run_result(dag)

    return dag


INBOUND_EVERY_MINUTES = 5


def _start_date(integration: Integration) -> datetime:
    return datetime.combine(integration.start_date, time(), tzinfo=ZoneInfo(integration.timezone))


def build_inbound_dag(integration: Integration) -> DAG:
    """Target → POS: processes the webhook log (e.g. goods received from suppliers become POS stock).

    Triggered by the webhook endpoint as each delivery arrives; the 5-minute schedule is the safety net
    for deliveries whose trigger failed and for retrying failed events after a repair.
    """
    name = integration.name
    target = get_target(integration.target)
    inbound = target.inbound
    if inbound is None:
        raise ValueError(f"target {target.name!r} has no webhooks")

    with DAG(
        dag_id=f"{name}__inbound",
        description=f"{target.label} webhooks: {inbound.description} ({name})",
        schedule=windows_every(INBOUND_EVERY_MINUTES, integration.timezone),
        start_date=_start_date(integration),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[integration.target, "inbound", name],
        doc_md=f"""
### {target.label} into the POS ({name}): {inbound.description}
{inbound.doc_md}
The endpoint is `/possync/webhooks/{integration.target}/{name}?token=…` on the API server. This DAG also runs
every {INBOUND_EVERY_MINUTES} minutes, in case a trigger was lost.

* **Per-record status**: `process_webhooks` logs one line per document (`SYNCED`, `SKIPPED`, `FAILED` with
  the reason) and a summary `webhook events: n read = processed + ignored + failed`.
* **Failures** (an item with no POS product of that SKU, an unmapped warehouse) turn the task red without
  retries the first time (or when the reason changes; every time with `red_on: any`); the event stays in the
  log as `failed` and is retried by every later run, which logs it as a warning with since when it has been
  failing, so once the POS is repaired the next run (or clearing this task) writes it. Nothing is ever written
  twice.
* **{target.label} unreachable** (timeouts, 429, 5xx): the events stay pending and Airflow retries the task.
""",
    ) as dag:

        @task(task_id="process_webhooks", pool=integration.target_pool, multiple_outputs=False)
        def process_webhooks(**context: Any) -> dict[str, int]:
            """Process the pending webhook events of this integration, oldest first; red for a new failure (or any,
            with ``red_on: any``), green with a warning per event still failing for a reason already reported."""
            import logging

            from possync.ledger.reasons import run_key
            from possync.pipeline import process_webhooks
            from possync.targets.base.operators import report_failures

            logger = logging.getLogger("possync.inbound")
            ti = context["ti"]
            summary = process_webhooks(integration, target, logger, run=run_key(ti.dag_id, ti.run_id))
            if summary.failed:
                report_failures(logger, "webhook event(s)", getattr(summary, "failed_events", []), summary.failed,
                                red_on=integration.red_on)
            return summary.as_dict()

        process_webhooks()
    return dag


def build_webhook_renew_dag(integration: Integration) -> DAG:
    """Renews the target's webhook subscription on its schedule (targets expire subscriptions)."""
    from airflow.sdk import CronTriggerTimetable

    name = integration.name
    target = get_target(integration.target)
    inbound = target.inbound
    if inbound is None or inbound.renew_schedule is None:
        raise ValueError(f"target {target.name!r} has no webhook subscription to renew")
    with DAG(
        dag_id=f"{name}__webhook_renew",
        description=f"Renew the {target.label} webhook subscription ({name})",
        schedule=CronTriggerTimetable(inbound.renew_schedule, timezone=integration.timezone,
                                      interval=timedelta(days=1)),
        start_date=_start_date(integration),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[integration.target, "webhook_renew", name],
        doc_md=f"""
### Keep the {target.label} webhook alive ({name})

{target.label} stops sending webhooks some days after they were last renewed. This DAG renews the subscription
(`{inbound.renew_schedule}`, {integration.timezone}) and logs the new expiry date. If it is red for days,
inbound documents stop arriving in real time (the inbound DAG still runs, but has nothing to process): check
the connection `{integration.conn_id}`.
""",
    ) as dag:

        @task(task_id="renew_webhook", pool=integration.target_pool)
        def renew_webhook() -> str:
            import logging

            expiry = inbound.renew(target.hook(integration))
            logging.getLogger("possync.inbound").info("%s webhook renewed; it now expires on %s", target.label,
                                                      expiry)
            return expiry

        renew_webhook()
    return dag


def inbound_dags(integration: Integration) -> list[DAG]:
    """The DAGs of a target's webhooks; none for targets without them."""
    target = get_target(integration.target)
    if target.inbound is None:
        return []
    dags = [build_inbound_dag(integration)]
    if target.inbound.renew_schedule:
        dags.append(build_webhook_renew_dag(integration))
    return dags


def _exchange_doc(headoffice: HeadOffice) -> str:
    return f"""
### Head office exchange ({headoffice.name})

Every {headoffice.every_minutes} minutes ({headoffice.timezone}), for each store ({", ".join(headoffice.stores)}):

1. `check_headoffice` tests the connection `{headoffice.conn_id}` and compares HO's major schema version with
   this exchange's ({headoffice.schema_version}). A mismatch or an unreachable HO stops the run here, naming
   both versions or the database, and nothing moves.
2. `receive` (one task per store) applies what HO published for the store, items first: item masters and
   prices (POS products by SKU), promotions, transfer orders, sales orders and invoices, audit plans. Each
   document is acknowledged `PROCESSED`, or `FAILED` with the reason (e.g. an unknown item); one failed
   document does not stop the others.
3. `send` (one task per store, after every receive) records the store's new or changed documents as
   business events (the POS outbox), brings back HO's verdict on earlier uploads (`PROCESSED`, or `FAILED`
   with HO's reason) and uploads the pending events: customers (with store
   {headoffice.customer_sender}), sales, goods received and returned, each `UPLOADED` once.

One log line per document (`APPLIED`, `UPLOADED`, `SKIPPED`, `PROCESSED`, `FAILED` with the reason) and a
summary per task. A failed document turns its task red once, in the run that met it; the lists stay in
`possync headoffice status` (Sent Data / Received Data): `run_result`, after every task, makes the run red
whenever one of them is (`send` runs after a failed `receive`, so the run's last tasks alone may all be green).

**Sync now**: Trigger, choose stores (empty = all stores).
"""


def build_exchange_dag(headoffice: HeadOffice) -> DAG:
    """Store ↔ head office: check, then receive, then send, per store."""
    from possync.targets.headoffice.operators import (
        HeadOfficeCheckOperator,
        HeadOfficeReceiveOperator,
        HeadOfficeSendOperator,
    )

    name, stores = headoffice.name, list(headoffice.stores)
    with DAG(
        dag_id=f"{name}__exchange",
        description=f"Stores ↔ head office database ({name})",
        schedule=windows_every(headoffice.every_minutes, headoffice.timezone),
        start_date=datetime.combine(headoffice.start_date, time(), tzinfo=ZoneInfo(headoffice.timezone)),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["headoffice", "exchange", name],
        doc_md=_exchange_doc(headoffice),
        params={
            "stores": Param(
                [], type="array", items={"type": "string", "enum": stores}, uniqueItems=True,
                title="Stores", description="Sync now: the stores to exchange for. Leave empty for every store.",
            ),
        },
    ) as dag:
        check = HeadOfficeCheckOperator(task_id="check_headoffice", headoffice_name=name)

        @task(multiple_outputs=False)
        def plan_stores(**context: Any) -> list[str]:
            """The stores of this run: the ones chosen in the trigger form, else every configured store."""
            return list(context["params"].get("stores") or stores)

        planned = plan_stores()
        receive = HeadOfficeReceiveOperator.partial(
            task_id="receive", headoffice_name=name, map_index_template="{{ task.store_code }}",
        ).expand(store_code=planned)
        send = HeadOfficeSendOperator.partial(
            task_id="send", headoffice_name=name, map_index_template="{{ task.store_code }}",
            # a store whose received document failed still sends; after a failed check the store list was never
            # planned, so nothing expands (and every task checks HO's version itself before touching anything)
            trigger_rule=TriggerRule.ALL_DONE,
        ).expand(store_code=planned)
        check >> planned >> receive >> send
        _run_result(dag)
    return dag


#: how long after the day's last scheduled sales window the reconciliation runs (that run's sync has finished)
RECONCILE_AFTER_LAST_WINDOW = timedelta(minutes=15)
#: realtime and shift-close modes sync all day: reconcile at 23:55 (the last minutes are not due yet, and
#: the reconciliation explains them as such)
RECONCILE_ALL_DAY_AT = time(23, 55)


def _last_sync_hour(integration: Integration) -> time | None:
    """The day's last scheduled sync window that the reconciliation reads after: the last ``sales.hours`` entry
    and, when transfers sync automatically, the last ``transfers.hours`` entry; None when neither is scheduled."""
    hours = [*(integration.sales.hours if integration.sales.mode == "scheduled" else []),
             *(integration.transfers.hours if integration.transfers.mode == "automatic" else [])]
    return max(hours) if hours else None


def reconcile_time(integration: Integration) -> time:
    """When the daily reconciliation runs (integration time): a little after the day's last scheduled sales or
    transfers window (so that day's stock is due too), or 23:55 when nothing is scheduled by the hour."""
    last = _last_sync_hour(integration)
    if last is None:
        return RECONCILE_ALL_DAY_AT
    return (datetime.combine(date(2000, 1, 1), last) + RECONCILE_AFTER_LAST_WINDOW).time()


def reconcile_day(integration: Integration, run_end: datetime) -> date:
    """The business day a scheduled reconcile run covers: the day of the last window before it (a run at 00:00
    after a 23:45 window reconciles the day before)."""
    after = RECONCILE_AFTER_LAST_WINDOW if _last_sync_hour(integration) is not None else timedelta(0)
    local = run_end.astimezone(ZoneInfo(integration.timezone))
    return (local - after - timedelta(minutes=1)).date()


def _reconcile_doc(integration: Integration, target_label: str) -> str:
    at = reconcile_time(integration).strftime("%H:%M")
    return f"""
### Reconciliation: the POS against the ledger against {target_label} ({integration.name})

Runs daily at {at} {integration.timezone} time, after the day's last sales (and automatic transfers) window. For
each outlet and business day it compares the documents the POS makes (invoices, payments, returns; voided
orders must be absent; transfer sides, stock adjustments and stock takes), what the sync ledger says was done,
and what {target_label} holds, read through its list endpoints by date (paced, in the
`{integration.target_pool}` pool beside the syncs).

* **Totals** per outlet and day: invoices (count, total), tax (POS side), payments per method, returns; transfers
  out and in (count, quantity), adjustments (count, net quantity).
* **Differences** per document: missing, extra (in {target_label} but not in the POS), amount, payment method or
  quantities differing, synced in the ledger but absent, present while the ledger says failed or pending, voided but
  present, duplicated. Each is *explained* (a failure with its reason, pending, a change after sync waiting,
  not due yet) or *unexplained*.
* **The task fails only on unexplained differences**, naming them; every result is kept in the ledger
  (`possync reconcile --integration {integration.name} --from … --to …` prints them).
* **A range of days**: Trigger with `from_date` / `to_date` (and optionally outlets).
* **Re-sync missing**: Trigger with `resync_missing` on: documents the ledger says synced but {target_label} no
  longer holds are set back to pending, and the next sales (or transfers and stock) run posts them again (a log
  line each).
"""


def build_reconcile_dag(integration: Integration) -> DAG:
    """The daily reconciliation of an integration (targets that can read their books back)."""

    name = integration.name
    target = get_target(integration.target)
    outlets = sorted(integration.outlets)
    at = reconcile_time(integration)
    date_param: dict[str, Any] = {"type": ["null", "string"], "format": "date", "default": None,
                                  "section": "Date range (instead of the run's day)"}
    with DAG(
        dag_id=f"{name}__reconcile",
        description=f"POS ↔ ledger ↔ {target.label}, per outlet and day ({name})",
        schedule=_daily(integration, at),
        start_date=_start_date(integration),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[integration.target, "reconcile", name],
        doc_md=_reconcile_doc(integration, target.label),
        params={
            "from_date": Param(title="From date", description="First day to reconcile (outlet time).", **date_param),
            "to_date": Param(title="To date", description="Last day, included.", **date_param),
            "outlets": Param(
                [], type="array", items={"type": "string", "enum": outlets}, uniqueItems=True,
                title="Outlets", description="Leave empty to reconcile every mapped outlet.",
            ),
            "resync_missing": Param(
                False, type="boolean", title="Re-sync missing",
                description="Set documents synced in the ledger but absent from the target back to pending, "
                            "so the next sales (or transfers and stock) run posts them again.",
            ),
        },
    ) as dag:

        @task(task_id="reconcile", pool=integration.target_pool, multiple_outputs=False)
        def reconcile(**context: Any) -> dict[str, Any]:
            """Reconcile the run's day (or the chosen range), keep the results, fail on unexplained ones."""
            import logging

            from airflow.sdk.exceptions import AirflowFailException

            from possync.ledger import RunRef
            from possync.reconcile import failure_message, run_reconciliation

            logger = logging.getLogger("possync.reconcile")
            params = context["params"]
            with _bad_parameters_fail_the_run():
                window = _date_window(params, integration.timezone)
                if window is not None:
                    first, last = window[0].date(), (window[1] - timedelta(days=1)).date()
                else:
                    end = context.get("data_interval_end")
                    if end is None:
                        raise ValueError("this run has no data interval (triggered without a logical date): "
                                         "trigger it from the UI form, or pass from_date and to_date")
                    first = last = reconcile_day(integration, end)
            # outside the parameter check: a target's odd reply is not a bad parameter (Airflow may retry it)
            run = RunRef.from_context(context)
            results = run_reconciliation(integration, first, last, outlets=params.get("outlets") or None,
                                         run=run, logger=logger)
            reset: list[tuple[str, str]] = []
            if params.get("resync_missing"):
                from possync.db import engine_for_conn
                from possync.i18n import with_language
                from possync.ledger import SyncLedger
                from possync.reconcile import resync_missing

                reset = resync_missing(SyncLedger(engine_for_conn(integration.ledger_conn_id)), name, results,
                                       run=run, logger=with_language(logger, integration.language))
            message = failure_message(results)
            if message:  # a reset record is repaired only by the next sync run: stay red until it is
                raise AirflowFailException(message + (
                    f"\n{len(reset)} record(s) set back to pending: the next sales (or transfers and stock) run "
                    "posts them" if reset else ""))
            return {"days": len({r.business_date for r in results}), "outlets": len({r.outlet_code for r in results}),
                    "explained": sum(len(r.explained) for r in results)}

        reconcile()
    return dag


def _digest_doc(integration: Integration) -> str:
    alerts = integration.alerts
    assert alerts is not None
    channels = ", ".join(
        [*([f"e-mail to {', '.join(alerts.email.to)} (connection `{alerts.email.conn_id}`)"] if alerts.email else []),
         *([f"chat (connection `{alerts.chat.conn_id}`)"] if alerts.chat else [])])
    return f"""
### Daily digest of open failures ({integration.name})

Runs daily at {alerts.digest_time.strftime("%H:%M")} {integration.timezone} time. Reads the sync ledger's records of
{integration.name} whose status is failed, groups them by flow and reason (counts, oldest first, how long the oldest
has been in the ledger, links to Sync Status) and sends the digest to: {channels}. No open failure, no digest.

A channel that cannot deliver is logged as an error; the task fails only when no channel got the digest, and is
retried. Failed tasks of the other DAGs alert on their own, as they fail.
"""


def _daily(integration: Integration, at: time) -> Any:
    """The schedule of a once-a-day DAG at ``at`` outlet time (reconcile, alerts digest), each run's data
    interval the day before it."""
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable(f"{at.minute} {at.hour} * * *", timezone=integration.timezone,
                                interval=timedelta(days=1))


def build_digest_dag(integration: Integration) -> DAG:
    """The daily digest of an integration's open failures (only with ``alerts`` configured, ``digest`` on)."""

    alerts = integration.alerts
    if alerts is None or not alerts.digest:
        raise ValueError(f"integration {integration.name!r} has no alerts digest configured")
    name, at = integration.name, alerts.digest_time
    with DAG(
        dag_id=f"{name}__alerts_digest",
        description=f"Daily digest of open sync failures ({name})",
        schedule=_daily(integration, at),
        start_date=_start_date(integration),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[integration.target, "alerts_digest", name],
        doc_md=_digest_doc(integration),
    ) as dag:

        @task(task_id="send_digest", multiple_outputs=False)
        def send_digest() -> dict[str, Any]:
            """Read the ledger's open failures of the integration and send the digest to its channels."""
            from possync.alerts import send_digest

            return send_digest(integration)

        send_digest()
    return dag


def alerting(dag: DAG, owner: Integration | HeadOffice) -> DAG:
    """With ``alerts`` configured, every task of ``dag`` alerts the owner's channels when it fails
    (``possync.alerts.TaskFailureNotifier`` as its ``on_failure_callback``: a task-level callback runs in the
    task's own process right after the failure, under the scheduler as in ``dag.test``). No I/O."""
    if owner.alerts is None:
        return dag
    from possync.alerts import TaskFailureNotifier

    if isinstance(owner, Integration):
        notifier = TaskFailureNotifier(name=owner.name, alerts=owner.alerts, target=owner.target,
                                       language=owner.language)
    else:  # a head office keeps no sync ledger: its message points at its own lists, not Sync Status
        notifier = TaskFailureNotifier(name=owner.name, alerts=owner.alerts, target="head office", ledger=False)
    for operator in dag.tasks:
        callbacks = operator.on_failure_callback
        operator.on_failure_callback = [
            *(callbacks if isinstance(callbacks, list) else [callbacks] if callbacks else []), notifier]
    return dag


def config_error_dag_id(name: str) -> str:
    """The placeholder DAG of an integration or head office whose settings are wrong."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) + "__config_error"


def build_config_error_dag(kind: str, name: str, error: str) -> DAG:
    """What stands in for the DAGs of one integration (or head office) whose settings are wrong, so the
    others keep theirs: the error is its description and doc, and its one task fails with it, at once."""
    what = "integration" if kind == "integration" else "head office"
    with DAG(
        dag_id=config_error_dag_id(name),
        description=f"integrations.yaml is wrong for {what} {name}: {error}"[:1000],
        schedule=None,
        start_date=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
        catchup=False,
        default_args={**DEFAULT_ARGS, "retries": 0},
        tags=["config-error", name],
        doc_md=f"""### The settings of {what} `{name}` are wrong: it has no DAGs until they are fixed

```
{error}
```

Fix `integrations.yaml` (`possync config check` checks it from a terminal); the DAGs come back at the next
parse and this one goes away. The other integrations' DAGs are not affected.
""",
    ) as dag:
        @task(task_id="config_error")
        def config_error() -> None:
            """Fails with what is wrong in integrations.yaml."""
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(error)

        config_error()
    return dag


def build_dags(config: PossyncConfig, config_errors: dict[tuple[str, str], str] | None = None) -> dict[str, DAG]:
    """Every DAG of every enabled integration, keyed by dag_id; a placeholder ``<name>__config_error`` DAG for
    each integration or head office whose settings are wrong (``possync.config.load_config_for_dags``)."""
    dags: dict[str, DAG] = {}
    for (kind, name), error in (config_errors or {}).items():
        dag = build_config_error_dag(kind, name, error)
        dags[dag.dag_id] = dag
    for integration in config.enabled():
        for dag in (
            build_master_dag(integration, "customers"),
            build_master_dag(integration, "products"),
            build_sales_dag(integration),
            build_transfers_dag(integration),
            *inbound_dags(integration),
            *([build_reconcile_dag(integration)] if get_target(integration.target).reconciles else []),
        ):
            dags[dag.dag_id] = alerting(dag, integration)
        if integration.alerts and integration.alerts.digest:
            dag = build_digest_dag(integration)
            dags[dag.dag_id] = dag
    for headoffice in config.enabled_headoffices():
        dag = alerting(build_exchange_dag(headoffice), headoffice)
        dags[dag.dag_id] = dag
    return dags
