"""The ``possync-devkit`` command line (also ``python -m possync_devkit``): the demo's POS and head office.

    possync-devkit demo seed --pos-url sqlite:///var/data/pos.db [--seed 42] [--days 7] [--replace]
    possync-devkit demo summary --pos-url sqlite:///var/data/pos.db [--json]
    possync-devkit kasir load --pos-url sqlite:///var/data/pos.db --kasir-url sqlite:///var/data/kasir.db [--replace]
    possync-devkit headoffice seed-demo --ho-url ... --pos-url ... --store JKT01 [--store ...]
    possync-devkit headoffice apply --ho-url ...

Production commands (status, ledger, config, deploy, headoffice status) are ``possync``'s.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import date


def _demo_seed(args: argparse.Namespace) -> int:
    from possync.cli import database_url
    from possync.db import make_engine
    from possync_devkit.demo_pos import DemoSpec, generate

    spec = DemoSpec(
        seed=args.seed,
        start_date=args.start_date,
        days=args.days,
        outlets=args.outlets,
        orders_per_day=args.orders_per_day,
        target_order_lines=args.order_lines,
    )
    engine = make_engine(database_url(args.pos_url, pos=True))
    if args.keep_existing and not args.replace:
        from sqlalchemy import func, inspect, select

        from possync.pos.schema import orders

        if inspect(engine).has_table(orders.name):
            with engine.connect() as conn:
                held = conn.execute(select(func.count()).select_from(orders)).scalar_one()
            if held:
                print(f"kept the POS at {engine.url.render_as_string(hide_password=True)}: it already holds "
                      f"{held} orders")
                return 0
    stats = generate(engine, spec, replace=args.replace)
    print(
        f"seeded {args.pos_url}: "
        + ", ".join(f"{count} {name}" for name, count in stats.items())
        + f" (seed {spec.seed})"
    )
    return 0


def _demo_summary(args: argparse.Namespace) -> int:
    from possync.cli import database_url, existing_database
    from possync_devkit.demo_pos import format_summary, summarize

    summary = summarize(existing_database(database_url(args.pos_url, pos=True), "POS database"))
    print(json.dumps(summary, indent=2, default=str) if args.json else format_summary(summary))
    return 0


def _kasir_load(args: argparse.Namespace) -> int:
    """Write the facts of a reference POS database (the demo) into a kasir POS database (docs/kasir-schema.md)."""
    from possync.cli import UsageError, database_url, existing_database
    from possync.db import make_engine
    from possync_devkit.kasir_pos import load_kasir

    reference = existing_database(database_url(args.pos_url, pos=True), "POS database")
    try:
        written = load_kasir(reference, make_engine(database_url(args.kasir_url, pos=True)), replace=args.replace)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(f"loaded {args.kasir_url} from {args.pos_url}: " + ", ".join(f"{n} {t}" for t, n in written.items()))
    return 0


def _headoffice_seed_demo(args: argparse.Namespace) -> int:
    """Play the demo head office: publish the POS's items (with SKUs), a promotion, a transfer order and an
    audit plan to each store."""
    from sqlalchemy import select

    from possync.db import make_engine
    from possync.pos.schema import products
    from possync_devkit.headoffice_simulator import HeadOfficeSimulator, seed_demo

    with make_engine(args.pos_url).connect() as conn:
        items = [(sku, name, str(price)) for sku, name, price in conn.execute(
            select(products.c.sku, products.c.name, products.c.price).where(products.c.sku.is_not(None))
            .order_by(products.c.id))]
    engine = make_engine(args.ho_url)
    HeadOfficeSimulator(engine, version=args.version)
    published = seed_demo(engine, args.store, items)
    print(f"head office {args.ho_url} (schema version {args.version}) published to {', '.join(args.store)}: "
          + ", ".join(f"{n} {doc_type}" for doc_type, n in published.items()))
    return 0


def _headoffice_apply(args: argparse.Namespace) -> int:
    """Play the demo head office: apply what stores uploaded (PROCESSED, or FAILED with the reason)."""
    from possync.db import make_engine
    from possync_devkit.headoffice_simulator import HeadOfficeSimulator

    outcome = HeadOfficeSimulator(make_engine(args.ho_url)).apply_uploads()
    print("head office applied the stores' uploads: " + ", ".join(f"{n} {s}" for s, n in outcome.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``possync-devkit`` argument parser."""
    parser = argparse.ArgumentParser(prog="possync-devkit", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="the demo POS database").add_subparsers(dest="action", required=True)
    seed = demo.add_parser("seed", help="generate a deterministic demo POS database")
    seed.add_argument("--pos-url", required=True, help="SQLAlchemy URL of the POS database")
    seed.add_argument("--seed", type=int, default=42, help="random seed: same seed, same data")
    seed.add_argument("--start-date", type=date.fromisoformat, default=date(2026, 11, 9),
                      help="first business day (outlet time), default 2026-11-09")
    seed.add_argument("--days", type=int, default=7, help="business days of sales (default 7)")
    seed.add_argument("--outlets", type=int, default=3, help="number of outlets, besides one warehouse")
    seed.add_argument("--orders-per-day", type=int, default=60, help="orders per outlet per day")
    seed.add_argument("--order-lines", type=int, default=None,
                      help="scale: generate about this many order lines in total (e.g. 1000000)")
    seed.add_argument("--replace", action="store_true", help="drop and recreate the POS tables first")
    seed.add_argument("--keep-existing", action="store_true",
                      help="leave a POS that already holds orders as it is (exit 0) instead of refusing it")
    seed.set_defaults(func=_demo_seed)

    summary = demo.add_parser("summary", help="print what the POS database holds, broken records included")
    summary.add_argument("--pos-url", required=True)
    summary.add_argument("--json", action="store_true")
    summary.set_defaults(func=_demo_summary)

    kasir = commands.add_parser("kasir", help="the kasir POS database (a POS built differently)").add_subparsers(
        dest="action", required=True)
    load = kasir.add_parser("load", help="write a reference POS database's facts (the demo) into a kasir database")
    load.add_argument("--pos-url", required=True, help="SQLAlchemy URL of the reference POS database to read")
    load.add_argument("--kasir-url", required=True, help="SQLAlchemy URL of the kasir database to write")
    load.add_argument("--replace", action="store_true", help="drop and recreate the kasir tables first")
    load.set_defaults(func=_kasir_load)

    headoffice = commands.add_parser("headoffice", help="the demo head office (a simulator)").add_subparsers(
        dest="action", required=True)
    ho_seed = headoffice.add_parser("seed-demo", help="demo head office: publish items, promotions, orders, plans")
    ho_seed.add_argument("--ho-url", required=True)
    ho_seed.add_argument("--pos-url", required=True, help="the POS whose SKUs become HO's item master")
    ho_seed.add_argument("--store", action="append", required=True, help="a store code (repeatable)")
    ho_seed.add_argument("--version", default="2.4.0", help="the schema version HO announces")
    ho_seed.set_defaults(func=_headoffice_seed_demo)
    ho_apply = headoffice.add_parser("apply", help="demo head office: apply the stores' uploads")
    ho_apply.add_argument("--ho-url", required=True)
    ho_apply.set_defaults(func=_headoffice_apply)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``possync-devkit`` command; returns the exit status (bad input: one line on stderr, status 2)."""
    from possync.cli import run_cli

    return run_cli(build_parser(), argv)
