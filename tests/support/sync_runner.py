"""Every sync of one integration, run the way the DAGs' tasks run it, as a process of its own that a fault test
can SIGKILL mid-load: ``python -m support.sync_runner --integration jurnal_demo --start 2026-11-09 --days 5``.

The tasks run in the order a day's DAG runs give them: customers, products, then each day's sales per outlet
(scheduled runs: ``catch_up`` with the clock pinned an hour after the window), then the transfers of the whole
period (all outlets in one task, as ``SyncTransfersOperator`` does) and each outlet's stock. Each is the
pipeline function its operator calls, on a ``SyncJob`` of the integration's own connections (Airflow
connections from the environment, as the operators get them).

A task that still fails after the hook's retries (``TransientTargetError``) is what Airflow would retry: it
is reported and the runner goes on with the next task; the next run retries it. Anything else (a bug) ends the
process with its traceback. Each task's start is printed (``TASK <flow> ...``) and flushed, so whoever kills the
process can tell what it was doing; ``DONE`` ends a run that was not killed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)


def day_window(start: date, n: int, timezone: str) -> Any:
    """The window of business day ``n`` (0-based) from ``start``, in the integration's timezone."""
    from possync.pos.extract import Window

    begin = datetime.combine(start + timedelta(days=n), time(), ZoneInfo(timezone))
    return Window(begin, begin + timedelta(days=1))


def task_labels(outlets: list[str], start: date, days: int, sales_days: range | None = None) -> list[str]:
    """The label of every task ``tasks`` runs, in its order (what a kill can aim at)."""
    sales = [f"sales {outlet} {start + timedelta(days=n)}" for n in sales_days or range(days) for outlet in outlets]
    return ["customers", "products", *sales, "transfers", *(f"stock {outlet}" for outlet in outlets)]


def tasks(job: Any, start: date, days: int, sales_days: range | None = None
          ) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(label, call) of every task, in the order the DAGs run them: the sales of each of ``sales_days`` (day
    indices from ``start``; all ``days`` by default), the transfers and stock of the whole period."""
    from possync.pipeline import sync_customers, sync_products, sync_sales, sync_stock, sync_transfers
    from possync.pos.extract import Window

    integration = job.integration
    outlets = list(integration.outlets)
    yield "customers", lambda: sync_customers(job)
    yield "products", lambda: sync_products(job)
    for n in sales_days or range(days):
        window = day_window(start, n, integration.timezone)
        for outlet in outlets:
            yield (f"sales {outlet} {start + timedelta(days=n)}",
                   lambda o=outlet, w=window: sync_sales(job, outlet_codes=[o], window=w, catch_up=True,
                                                         now=w.end + HOUR))
    period = Window(day_window(start, 0, integration.timezone).start,
                    day_window(start, days - 1, integration.timezone).end)
    yield "transfers", lambda: sync_transfers(job, outlet_codes=outlets, window=period)
    for outlet in outlets:
        yield f"stock {outlet}", lambda o=outlet: sync_stock(job, outlet_code=o, window=period)


def run(integration_name: str, start: date, days: int, sales_days: range | None = None,
        out: Any = sys.stdout) -> int:
    """Run every task once; the number of tasks that ended with a transient failure."""
    from possync.config import load_config
    from possync.pipeline import SyncJob
    from possync.targets.base.errors import TransientTargetError
    from possync.targets.base.registry import get_target

    integration = next(i for i in load_config().integrations if i.name == integration_name)
    target = get_target(integration.target)
    job = SyncJob.connect(integration, target, target.hook(integration))
    transient = 0
    for label, call in tasks(job, start, days, sales_days):
        print(f"TASK {label}", file=out, flush=True)
        try:
            summary = call()
        except TransientTargetError as error:  # Airflow retries the task; here the next run does
            transient += 1
            print(f"RETRY {label}: {error}", file=out, flush=True)
            continue
        print(f"  {label}: read {summary.read} = synced {summary.synced} + skipped {summary.skipped}"
              f" + failed {summary.failed}", file=out, flush=True)
    print(f"DONE transient={transient}", file=out, flush=True)
    return transient


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--integration", required=True)
    parser.add_argument("--start", required=True, type=date.fromisoformat, help="first business day")
    parser.add_argument("--days", required=True, type=int, help="business days of the period")
    parser.add_argument("--sales-days", default=None, metavar="FROM:TO",
                        help="the day indices whose sales windows run (TO exclusive, may pass the period: a run of"
                        " a later window, which only catches up and retries); default: every day of the period")
    args = parser.parse_args(argv)
    sales_days = None
    if args.sales_days:
        first, last = (int(part) for part in args.sales_days.split(":"))
        sales_days = range(first, last)
    run(args.integration, args.start, args.days, sales_days)
    return 0


if __name__ == "__main__":
    sys.exit(main())
