"""Builds the DAGs of every enabled integration from the settings in integrations.yaml.

One DAG per integration and flow (``<integration>__sales``), tagged with target, flow and integration.
Each run covers a real window of business time (see ``possync.timetables``); tasks map over outlets,
never over records. Nothing here does
I/O at parse time: the tasks import pandas, SQLAlchemy and the targets when they run.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import DAG, Param, get_current_context, task

from possync.config import Integration, PossyncConfig
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
last {integration.sales.lookback_hours} hours.

* **Per-record status**: the task log of each outlet has one line per record (`STAGED`, `SKIPPED`, `FAILED`
  with the reason) and a summary `read = staged + skipped + failed`.
* **Failures** (e.g. a product without SKU) turn the outlet's task red without retries; repair the POS
  record, then clear the task to sync it again.
* **Backfill**: Trigger → Backfill with a date range re-syncs exactly that range; nothing is duplicated.
* **Manual window**: Trigger with `window_start` / `window_end` (and optionally a choice of outlets).
"""


def _window_from_context(context: Any, params: dict[str, Any]) -> tuple[datetime, datetime]:
    start, end = params.get("window_start"), params.get("window_end")
    if start or end:
        if not (start and end):
            raise ValueError("set both window_start and window_end, or neither")
        return datetime.fromisoformat(start), datetime.fromisoformat(end)
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:
        raise ValueError(
            "this run has no data interval (triggered without a logical date): "
            "trigger it from the UI form, or pass window_start and window_end in the conf"
        )
    return start, end


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
            "window_start": Param(
                None, type=["null", "string"], format="date-time", title="Window start",
                description="Overrides the run's data interval (with window end).", section="Window override",
            ),
            "window_end": Param(
                None, type=["null", "string"], format="date-time", title="Window end",
                section="Window override",
            ),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def plan_sales_windows(**context: Any) -> list[dict[str, str]]:
            """One entry per outlet to sync in this run's window."""
            params = context["params"]
            start, end = _window_from_context(context, params)
            if start >= end:
                raise ValueError(f"empty window: {start.isoformat()} → {end.isoformat()}")
            chosen = params.get("outlets") or outlets
            return [
                {"outlet_code": code, "window_start": start.isoformat(), "window_end": end.isoformat()}
                for code in chosen
            ]

        @task(map_index_template="{{ outlet_code }}", multiple_outputs=False)
        def stage_sales(outlet_code: str, window_start: str, window_end: str) -> dict[str, object]:
            """Extract, transform and record one outlet's sales in the sync ledger."""
            from airflow.sdk.exceptions import AirflowFailException

            from possync.db import engine_for_conn
            from possync.ledger import RunRef, SyncLedger
            from possync.pipeline import failures_text
            from possync.pipeline import stage_sales as stage
            from possync.pos.extract import Window

            context = get_current_context()
            context["outlet_code"] = outlet_code  # type: ignore[typeddict-unknown-key]  # labels the map index
            window = Window(datetime.fromisoformat(window_start), datetime.fromisoformat(window_end))
            ledger = SyncLedger(engine_for_conn(integration.ledger_conn_id))
            ledger.create_schema()  # idempotent: a fresh ledger database needs no separate init step
            summary, _documents = stage(
                engine_for_conn(integration.pos_conn_id), ledger,
                integration=name, outlet_code=outlet_code, window=window,
                lookback=timedelta(hours=integration.sales.lookback_hours),
                window_on="shift_close" if integration.sales.mode == "shift_close" else "business_time",
                run=RunRef.from_context(context),
            )
            if summary.failed:
                # Permanent: retrying cannot fix POS data. Red until repaired, then cleared.
                raise AirflowFailException(failures_text([summary]))
            return summary.as_dict()

        stage_sales.expand_kwargs(plan_sales_windows())

    return dag


def build_dags(config: PossyncConfig) -> dict[str, DAG]:
    """Every DAG of every enabled integration, keyed by dag_id."""
    dags: dict[str, DAG] = {}
    for integration in config.enabled():
        dag = build_sales_dag(integration)
        dags[dag.dag_id] = dag
    return dags
