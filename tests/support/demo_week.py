"""The demo week the end-to-end tests sync through Airflow, and what the POS says each target must hold.

Shared by the Jurnal and Accurate end-to-end tests, so both are judged against the same POS facts.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from possync.pos import schema
from possync_devkit.demo_pos import DemoSpec, expected_broken_records

SPEC = DemoSpec(start_date=date(2026, 11, 9), days=5, orders_per_day=32)
WINDOW = {"window_start": "2026-11-09T00:00:00+07:00", "window_end": "2026-11-14T00:00:00+07:00"}
DAGS = Path(__file__).resolve().parents[2] / "dags"


def run_sales(dag_id: str) -> dict[tuple[str, int], str]:
    """Run a sales DAG over the demo window with ``dag.test``; the state of each task instance."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS)).get_dag(dag_id)
    run = dag.test(run_conf=WINDOW)
    return {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}


def pos_orders(pos: Any) -> dict[str, tuple[str, Decimal]]:
    """Order number → (status, total) of every POS order."""
    with pos.connect() as conn:
        rows = conn.execute(select(schema.orders.c.number, schema.orders.c.status, schema.orders.c.total_amount))
        return {number: (status, total) for number, status, total in rows}


def broken_keys() -> dict[str, str]:
    """Key → kind of each record the demo breaks on purpose."""
    return {key: kind for kind, key, _ in expected_broken_records(SPEC)}


def expected_invoices(pos: Any) -> set[str]:
    """The orders of the window that must become exactly one invoice each: completed, not broken, sold at an
    outlet (the warehouse sells nothing) and in the window's days."""
    broken = broken_keys()
    return {
        number for number, (status, _) in pos_orders(pos).items()
        if status == "completed" and number not in broken and number[4:9] != "WH01-"
        and "20261109" <= number.split("-")[2] <= "20261113"
    }


def run_transfers(dag_id: str, conf: dict[str, Any]) -> dict[tuple[str, int], str]:
    """Run a transfers DAG with ``conf`` (a date range, outlets) through ``dag.test``; each task's state."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS)).get_dag(dag_id)
    run = dag.test(run_conf=conf)
    return {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}


WEEK_DATES = {"from_date": "2026-11-09", "to_date": "2026-11-13"}


def stock_movements(pos: Any, ledger: Any, integration: str) -> tuple[dict, dict]:
    """What the POS says the target's stock must be, from the documents the ledger says are synced.

    Returns ``(moved, in_transit)``: (outlet code, SKU) → the net quantity moved by synced sales, returns,
    transfers, adjustments and stock-take differences; SKU → quantity sent by a synced transfer-out whose
    transfer-in is not synced (on the road). Only stock-tracked products with a SKU count.
    """
    from collections import defaultdict

    s = schema
    by_type: dict[str, set[str]] = {}
    for record_type, flow in (("invoice", "sales"), ("return", "sales"), ("transfer_out", "transfers"),
                              ("transfer_in", "transfers"), ("adjustment", "stock"), ("stock_take", "stock")):
        by_type[record_type] = {r.key for r in ledger.unsynced(integration, flow, statuses=["synced"])
                                if r.record_type == record_type}
    moved: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    transit: dict[str, Decimal] = defaultdict(Decimal)
    tracked = s.products.c.track_stock.is_(True) & s.products.c.sku.is_not(None)
    source, destination = s.outlets.alias("src"), s.outlets.alias("dst")
    with pos.connect() as conn:
        for number, code, sku, quantity in conn.execute(
            select(s.orders.c.number, s.outlets.c.code, s.products.c.sku, s.order_lines.c.quantity)
            .join(s.order_lines, s.order_lines.c.order_id == s.orders.c.id)
            .join(s.products, s.products.c.id == s.order_lines.c.product_id)
            .join(s.outlets, s.outlets.c.id == s.orders.c.outlet_id).where(tracked)
        ):
            if number in by_type["invoice"]:
                moved[code, sku] -= quantity
        for number, code, sku, quantity in conn.execute(
            select(s.refunds.c.number, s.outlets.c.code, s.products.c.sku, s.refund_lines.c.quantity)
            .join(s.refund_lines, s.refund_lines.c.refund_id == s.refunds.c.id)
            .join(s.order_lines, s.order_lines.c.id == s.refund_lines.c.order_line_id)
            .join(s.products, s.products.c.id == s.order_lines.c.product_id)
            .join(s.outlets, s.outlets.c.id == s.refunds.c.outlet_id).where(tracked)
        ):
            if number in by_type["return"]:
                moved[code, sku] += quantity
        for number, src, dst, sku, sent, received in conn.execute(
            select(s.transfers.c.number, source.c.code, destination.c.code, s.products.c.sku,
                   s.transfer_lines.c.quantity_sent, s.transfer_lines.c.quantity_received)
            .join(s.transfer_lines, s.transfer_lines.c.transfer_id == s.transfers.c.id)
            .join(s.products, s.products.c.id == s.transfer_lines.c.product_id)
            .join(source, source.c.id == s.transfers.c.from_outlet_id)
            .join(destination, destination.c.id == s.transfers.c.to_outlet_id).where(tracked)
        ):
            if number in by_type["transfer_out"]:
                moved[src, sku] -= sent
                if number not in by_type["transfer_in"]:
                    transit[sku] += sent
            if number in by_type["transfer_in"]:
                moved[dst, sku] += received
        for number, kind, code, sku, change in conn.execute(
            select(s.stock_adjustments.c.number, s.stock_adjustments.c.kind, s.outlets.c.code, s.products.c.sku,
                   s.stock_adjustment_lines.c.quantity_change)
            .join(s.stock_adjustment_lines, s.stock_adjustment_lines.c.adjustment_id == s.stock_adjustments.c.id)
            .join(s.products, s.products.c.id == s.stock_adjustment_lines.c.product_id)
            .join(s.outlets, s.outlets.c.id == s.stock_adjustments.c.outlet_id).where(tracked)
        ):
            if number in by_type["stock_take" if kind == "stock_take" else "adjustment"]:
                moved[code, sku] += change
    return dict(moved), {sku: quantity for sku, quantity in transit.items() if quantity}


def counted_levels(pos: Any) -> dict[tuple[str, str], Decimal]:
    """(outlet code, SKU) → the quantity the week's closing stock take counted."""
    s = schema
    with pos.connect() as conn:
        rows = conn.execute(
            select(s.outlets.c.code, s.products.c.sku, s.stock_adjustment_lines.c.counted_quantity)
            .join(s.stock_adjustments, s.stock_adjustments.c.id == s.stock_adjustment_lines.c.adjustment_id)
            .join(s.products, s.products.c.id == s.stock_adjustment_lines.c.product_id)
            .join(s.outlets, s.outlets.c.id == s.stock_adjustments.c.outlet_id)
            .where(s.stock_adjustments.c.kind == "stock_take")
        )
        return {(code, sku): counted for code, sku, counted in rows}


def shorted(transfer_in: Any) -> Any:
    """The same transfer-in with one unit lost on the road (of its first line of two or more)."""
    lines = list(transfer_in.lines)
    index = next(i for i, line in enumerate(lines) if line.quantity >= 2)
    lines[index] = dataclasses.replace(lines[index], quantity=lines[index].quantity - 1)
    return dataclasses.replace(transfer_in, lines=tuple(lines))


def transformed_demo_sales(folder: Path) -> Any:
    """The sales of a three-day demo POS (in ``folder``), transformed: the documents the mapping tests map."""
    from datetime import UTC, datetime

    from possync.db import make_engine
    from possync.pos.extract import Window, extract_sales
    from possync.transform.sales import transform_sales
    from possync_devkit.demo_pos import generate

    engine = make_engine(f"sqlite:///{folder / 'pos.db'}")
    generate(engine, DemoSpec(start_date=date(2026, 11, 9), days=3, orders_per_day=40))
    window = Window(datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 13, tzinfo=UTC))
    return transform_sales(extract_sales(engine, window))
