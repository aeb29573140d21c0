"""The ``possync`` command line (also ``python -m possync``).

    possync ledger init --ledger-url sqlite:///var/data/ledger.db
    possync status [--ledger-conn possync_ledger | --ledger-url sqlite:///var/data/ledger.db] [--integration X] [--json]
    possync ignore --ledger-url ... --integration jurnal_demo --type invoice --key INV-... --reason "..." [--by NAME]
    possync unignore --ledger-url ... --integration jurnal_demo --type invoice --key INV-... [--reason "..."]
    possync config check [--config include/config/integrations.yaml]
    possync deploy pools           (the target pools, for `airflow pools import`)
    possync deploy connections     (POSSYNC_CONN_<ID> variables, for `airflow connections import`)
    possync reconcile --integration jurnal_demo --from 2026-11-09 --to 2026-11-15 [--outlet JKT01] [--json] [--run]
    possync preview --integration jurnal_demo --from 2026-11-10 --to 2026-11-10 [--flow sales] [--outlet JKT01] [--json]
    possync headoffice status --ho-url sqlite:///var/data/headoffice.db [--store JKT01] [--pos-url ...] [--json]
    possync source check --integration jurnal_demo [--profile reference|path.yaml] --from 2026-11-10 [--to ...]
                         [--outlet JKT01] [--pos-url sqlite:///...]

The demo's commands (seeding the demo POS, playing the head office) are the development kit's:
``possync-devkit`` (devkit/), which production does not install.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

    from possync.config import Alerts


class UsageError(Exception):
    """Bad input on the command line (a URL, a date, a name): one line on stderr, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (yyyy-mm-dd)") from None


def database_url(text: str, *, pos: bool = False) -> URL:
    """A SQLAlchemy URL that parses and names a driver this installation has. A POS database (``pos``) may
    also be MySQL / MariaDB (``mysql+pymysql://user:password@host/db``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(text)
        if url.get_backend_name() not in ("sqlite", "postgresql", *(("mysql", "mariadb") if pos else ())):
            raise UsageError(f"{text!r}: possync's databases are SQLite or PostgreSQL"
                             f"{' (a POS database also MySQL or MariaDB)' if pos else ''}, "
                             f"not {url.get_backend_name()}")
        url.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError):
        raise UsageError(f"{text!r}: no database driver {text.partition(':')[0]!r} in this installation "
                         "(sqlite and postgresql+psycopg2 are)") from None
    except ArgumentError:
        raise UsageError(f"{text!r} is not a database URL (e.g. sqlite:///var/data/ledger.db or "
                         "postgresql+psycopg2://user:password@host/db)") from None
    return url


def existing_database(url: URL, what: str) -> Engine:
    """An engine for a database that must already exist: a read never creates a file, a folder or a table."""
    from possync.db import make_engine

    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise UsageError(f"no {what} at {url.render_as_string(hide_password=True)}: name its file")
        if not Path(url.database).expanduser().is_file():
            raise UsageError(f"no {what} at {url.database}: the file does not exist")
    return make_engine(url)


def _ledger_for_reading(args: argparse.Namespace) -> Engine:
    """The sync ledger's engine, through the Airflow connection (default) or ``--ledger-url``, read only."""
    from sqlalchemy import create_engine, inspect

    from possync.ledger.schema import sync_records

    if args.ledger_url:
        url, where = database_url(args.ledger_url), args.ledger_url
        engine = existing_database(url, "sync ledger")
    else:
        import contextlib

        from possync.db import sqlalchemy_url_for_conn

        # stdout carries only the report (``--json`` is piped): what Airflow's SDK logs goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            url = sqlalchemy_url_for_conn(args.ledger_conn)
        where = f"connection {args.ledger_conn!r}"
        engine = existing_database(url, f"sync ledger (connection {args.ledger_conn!r})")
    # looked at without make_engine's pragmas (they would write WAL into a file that is no ledger)
    probe = create_engine(engine.url)
    try:
        has_ledger = inspect(probe).has_table(sync_records.name)
    finally:
        probe.dispose()
    if not has_ledger:
        engine.dispose()
        raise UsageError(f"{where} holds no sync ledger (no {sync_records.name} table); "
                         "`possync ledger init` creates one")
    return engine


def _ledger_init(args: argparse.Namespace) -> int:
    from possync.db import make_engine
    from possync.ledger.schema import create_schema

    create_schema(make_engine(database_url(args.ledger_url)))
    print(f"sync ledger ready at {args.ledger_url}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from datetime import datetime

    from possync.ledger import SyncLedger
    from possync.recordlog import failing_for, utc_minute

    ledger = SyncLedger(_ledger_for_reading(args))
    rows = ledger.breakdown(args.integration)
    integrations = sorted({row[0] for row in rows})
    failures = {
        name: [
            {"flow": r.flow, "record_type": r.record_type, "key": r.key, "outlet": r.outlet_code,
             "reason": r.reason, "attempts": r.attempts,
             "failing_since": r.failing_since.isoformat() if r.failing_since else None}
            for flow in sorted({row[1] for row in rows if row[0] == name})
            for r in ledger.unsynced(name, flow, statuses=("failed",), limit=args.limit)
        ]
        for name in integrations
    }
    ignored = {
        name: [
            {"flow": r.flow, "record_type": r.record_type, "key": r.key, "outlet": r.outlet_code,
             "ignored_by": r.ignored_by, "ignored_at": r.ignored_at, "ignored_reason": r.ignored_reason,
             "reason": r.reason}
            for flow in sorted({row[1] for row in rows if row[0] == name})
            for r in ledger.unsynced(name, flow, statuses=("ignored",), limit=args.limit)
        ]
        for name in integrations
    }
    report = {
        "counts": [
            {"integration": i, "flow": f, "record_type": t, "status": st, "records": n} for i, f, t, st, n in rows
        ],
        "failures": failures,
        "ignored": ignored,
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    if not rows:
        print("the sync ledger holds no records yet")
        return 0
    for name in integrations:
        print(f"{name}")
        table: dict[tuple[str, str], dict[str, int]] = {}
        for i, flow, record_type, status, count in rows:
            if i == name:
                table.setdefault((flow, record_type), {})[status] = count
        print(f"  {'flow':<10} {'record':<12} {'synced':>7} {'skipped':>7} {'failed':>7} {'pending':>7} "
              f"{'ignored':>7}")
        for (flow, record_type), counts in table.items():
            print(f"  {flow:<10} {record_type:<12} " + " ".join(
                f"{counts.get(status, 0):>7}" for status in ("synced", "skipped", "failed", "pending", "ignored")
            ))
    for name, items in failures.items():
        if items:
            print(f"\n{name}: failed records (oldest first) and why:")
            for failure in items:
                since = failure["failing_since"]
                age = (f"  (failing since {utc_minute(datetime.fromisoformat(since))}, "
                       f"{failing_for(datetime.fromisoformat(since))})" if since else "")
                print(f"  {failure['record_type']:<12} {failure['key']:<28} {failure['reason']}{age}")
    for name, items in ignored.items():
        if items:
            print(f"\n{name}: ignored records (not retried, not open), who set them aside and why:")
            for item in items:
                print(f"  {item['record_type']:<12} {item['key']:<28} {item['ignored_by']} "
                      f"{item['ignored_at']:%Y-%m-%d %H:%M} UTC: {item['ignored_reason']}")
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    """``possync ignore`` / ``possync unignore``: set a failed record aside with a reason, or take it back."""
    import getpass
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from possync.ledger import SyncLedger
    from possync.ledger.quarantine import QuarantineRefused, ignore, undo

    command = args.command
    try:
        url = make_url(args.ledger_url)
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).expanduser().exists():
            raise QuarantineRefused("missing", f"no sync ledger at {url.database}")  # not a new, empty one
        ledger = SyncLedger.from_url(url, ensure_schema=True)
        by = args.by or f"{getpass.getuser()} (possync CLI)"
        if command == "ignore":
            record = ignore(ledger, args.integration, args.type, args.key, by=by, reason=args.reason)
            print(f"IGNORED  {record.record_type} {record.key}: by {by}: {record.ignored_reason} "
                  f"(failed with: {record.reason}); it is not retried until `possync unignore`")
        else:
            record = undo(ledger, args.integration, args.type, args.key, by=by, reason=args.reason)
            print(f"FAILED   {record.record_type} {record.key}: back to failed ({record.reason}); "
                  "the next run retries it")
    except QuarantineRefused as error:
        print(f"possync {command}: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # an unreachable or unreadable ledger: one line, no traceback
        print(f"possync {command}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
              file=sys.stderr)
        return 2
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    """The reconciliation of each outlet's days: kept results (the newest per outlet and day), or with
    ``--run`` computed now through the target's API (paced) and kept."""
    import contextlib

    from possync.config import load_config
    from possync.money import rupiah
    from possync.reconcile import ReconciliationLog, run_reconciliation

    config = load_config(args.config)
    integration = next((i for i in config.integrations if i.name == args.integration), None)
    if integration is None:
        raise UsageError(f"no integration {args.integration!r} (known: "
                         f"{', '.join(i.name for i in config.integrations)})")
    first, last = args.from_date, args.to_date or args.from_date
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    try:
        # stdout carries only the report (``--json`` is piped): what Airflow's SDK logs when it reads a
        # connection, and what the hooks log while the target is read, goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            if args.run:
                results = run_reconciliation(integration, first, last, outlets=args.outlet or None)
            else:
                from sqlalchemy import inspect

                from possync.db import sqlalchemy_url_for_conn
                from possync.ledger.schema import reconciliations

                # a read: never creates the ledger database or its tables (nothing kept yet is no results)
                engine = existing_database(sqlalchemy_url_for_conn(integration.ledger_conn_id),
                                           f"sync ledger (connection {integration.ledger_conn_id!r})")
                results = (ReconciliationLog(engine).history(integration.name, first, last,
                                                             outlets=args.outlet or None, latest_only=True)
                           if inspect(engine).has_table(reconciliations.name) else [])
                engine.dispose()
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.json:
        print(json.dumps([result.as_dict() for result in results], indent=2))
        return 0
    if not results:
        print(f"no reconciliation of {integration.name} kept for {first} → {last} (run one with --run)")
        return 0
    for result in results:
        print(result.summary() + f" [{result.run_at:%Y-%m-%d %H:%M} UTC]")
        pos, target = result.pos.payments, result.target.payments
        for method in sorted(set(pos) | set(target)):
            print(f"    payments {method:<14} POS {rupiah(pos.get(method, 0)):>19}  "
                  f"target {rupiah(target.get(method, 0)):>19}")
        for difference in result.differences:
            print(f"    {difference.line()}")
    return 0


def _preview(args: argparse.Namespace) -> int:
    """Dry run from the shell: the documents and exact request bodies a sync of the date range would post now;
    nothing is written to the target or the ledger (``possync.preview``)."""
    import contextlib
    from datetime import date

    from possync.config import load_config
    from possync.targets.base.errors import TargetError

    with contextlib.redirect_stdout(sys.stderr):  # importing Airflow may print; stdout carries only the preview
        from airflow.sdk.exceptions import AirflowNotFoundException

    config = load_config(args.config)
    integration = next((i for i in config.integrations if i.name == args.integration), None)
    if integration is None:
        print(f"possync preview: no integration {args.integration!r} (known: "
              f"{', '.join(i.name for i in config.integrations)})", file=sys.stderr)
        return 2
    try:
        first, last = date.fromisoformat(args.from_date), date.fromisoformat(args.to_date or args.from_date)
        from possync.pipeline import SyncJob
        from possync.preview import day_window, preview_range
        from possync.targets.base.registry import get_target

        day_window(first, last, integration.timezone)  # a bad range is refused before anything is read
        target = get_target(integration.target)
        # stdout carries only the preview (``--json`` is piped); logs go to stderr
        with contextlib.redirect_stdout(sys.stderr):
            job = SyncJob.connect(integration, target, target.hook(integration), ensure_schema=False)
            preview = preview_range(job, args.flow, first, last, args.outlet or None)
    except ValueError as error:
        print(f"possync preview: {error}", file=sys.stderr)
        return 2
    except (AirflowNotFoundException, TargetError) as error:  # a connection not set, the target unreachable
        print(f"possync preview: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(preview.as_dict(limit=None), indent=2, ensure_ascii=False))
        return 0
    print("\n".join(preview.lines(bodies=not args.no_bodies)))
    return 0


def _stock_line(row: Any) -> str:
    mark = "=" if not row.difference else "≈" if row.explained else "≠"
    line = (f"{mark} {row.outlet_code:<8} {row.warehouse:<16} {row.sku:<14} POS {row.pos:>12}  target {row.target:>12}"
            f"  difference {row.difference:>12}  {row.product_name}")
    return line + (f"\n      {row.explanation}" if row.difference else "")


def _stock(args: argparse.Namespace) -> int:
    """``stock compare``: the POS's stock per warehouse and product against the target's, differences first
    (read through the target's API, paced). ``stock adjust``: post the differences as stock adjustments that bring
    the target to the POS (ledger record ``stock_correction``, kept with who asked)."""
    import contextlib

    from possync.config import load_config
    from possync.stocksync import adjust_to_pos, compare_stock, connect, describe

    config = load_config(args.config)
    integration = next((i for i in config.integrations if i.name == args.integration), None)
    if integration is None:
        raise UsageError(f"no integration {args.integration!r} (known: "
                         f"{', '.join(i.name for i in config.integrations)})")
    # stdout carries only the report (``--json`` is piped): Airflow's and the hooks' logs go to stderr
    with contextlib.redirect_stdout(sys.stderr):
        job = connect(integration, write=args.action == "adjust")
        if args.action == "adjust":
            summary = adjust_to_pos(job, who=args.by, warehouse=args.warehouse, sku=args.sku)
        rows = compare_stock(job, warehouse=args.warehouse)
    if args.action == "adjust":
        print(f"adjusted {integration.name} to the POS: {summary.synced} adjustment(s) posted, {summary.failed} "
              f"failed" + "".join(f"\n    {failure}" for failure in summary.failures))
        return 1 if summary.failed else 0
    if args.json:
        print(json.dumps(describe(rows), indent=2, ensure_ascii=False))
        return 0
    report = describe(rows)
    print(f"{integration.name}: {report['differences']} difference(s) in {len(rows)} product(s) and warehouse(s) "
          f"compared, {report['explained']} explained by POS records the target misses, {report['unexplained']} "
          "unexplained")
    for row in rows:
        print(_stock_line(row))
    return 0


def _headoffice_status(args: argparse.Namespace) -> int:
    """Sent Data and Received Data: every document exchanged with the head office, its status and reason."""
    from possync.targets.headoffice.exchange import status_report

    report = status_report(existing_database(database_url(args.ho_url), "head office database"), args.store or None,
                           limit=args.limit)
    if args.pos_url:
        from sqlalchemy import func, select

        from possync.pos.schema import business_events

        query = select(business_events.c.status, func.count()).group_by(business_events.c.status)
        if args.store:
            query = query.where(business_events.c.outlet_code.in_(args.store))
        with existing_database(database_url(args.pos_url, pos=True), "POS database").connect() as conn:
            report["pos_outbox"] = dict(conn.execute(query).all())
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    titles = (("sent", "Sent Data (store → head office)"), ("received", "Received Data (head office → store)"))
    for side, title in titles:
        counts = report["counts"].get(side, {})
        print(f"{title}: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing yet"))
        for row in report[side]:
            print(f"  {row['store']:<8} {row['type']:<15} {row['key']:<28} {row['status']:<10} {row['reason'] or ''}")
    if "pos_outbox" in report:
        print("POS outbox (business events): " + (", ".join(
            f"{n} {status}" for status, n in sorted(report["pos_outbox"].items())) or "empty"))
    return 0


def _source_check(args: argparse.Namespace) -> int:
    """Run every query of a source profile against the POS over the days given: rows, values that could not be
    coerced, a few documents. Exit status 1 (and one line per problem on stderr) when anything is wrong."""
    import contextlib

    from possync.config import load_config
    from possync.pos.profiles.check import check_profile
    from possync.pos.profiles.model import ProfileError, load_profile
    from possync.preview import day_window

    config = load_config(args.config)
    integration = next((i for i in config.integrations if i.name == args.integration), None)
    if integration is None:
        raise UsageError(f"no integration {args.integration!r} (known: "
                         f"{', '.join(i.name for i in config.integrations)})")
    window = day_window(args.from_date, args.to_date or args.from_date, integration.timezone)
    reference = args.profile or integration.profile or "reference"
    try:
        loaded = load_profile(reference)  # --profile: a name, or a path from here; the integration's: resolved
    except ProfileError as error:
        print(f"possync source check: {_one_line(error)}", file=sys.stderr)
        return 1
    if args.pos_url:
        engine = existing_database(database_url(args.pos_url), "POS database")
    else:
        from possync.db import engine_for_conn

        with contextlib.redirect_stdout(sys.stderr):  # what Airflow's SDK logs reading a connection
            engine = engine_for_conn(integration.pos_conn_id)
    if not (args.profile or integration.profile):
        print(f"{integration.name} reads the POS with the built-in extract (no profile:); checking the shipped "
              "reference profile, which reads the same schema")
    report = check_profile(engine, loaded, window, args.outlet or None)
    print("\n".join(report.lines()))
    problems = report.problems()
    for problem in problems:
        print(f"possync source check: {_one_line(Exception(problem))}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in profile {loaded.profile.name}", file=sys.stderr)
    return 1 if problems else 0


def _config_check(args: argparse.Namespace) -> int:
    from possync.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    for integration in config.integrations:
        print(f"{integration.name}: {integration.target} via connection {integration.conn_id!r}; "
              f"{_alerts_summary(integration.alerts)}")
    for headoffice in config.headoffices:
        print(f"{headoffice.name}: head office via connection {headoffice.conn_id!r}; "
              f"{_alerts_summary(headoffice.alerts, digest=False)}")
    return 0


def _alerts_summary(alerts: Alerts | None, *, digest: bool = True) -> str:
    """Where alerts go, in one phrase (the channels are connections: no secret is printed)."""
    if alerts is None:
        return "no alerts"
    channels = [*([f"e-mail to {', '.join(alerts.email.to)} via {alerts.email.conn_id!r}"] if alerts.email else []),
                *([f"chat via {alerts.chat.conn_id!r}"] if alerts.chat else [])]
    when = f", digest daily at {alerts.digest_time:%H:%M}" if digest and alerts.digest else ""
    return "alerts: " + " and ".join(channels) + when


def _deploy_pools(args: argparse.Namespace) -> int:
    from possync.config import load_config
    from possync.deploy import target_pools

    print(json.dumps(target_pools(load_config(args.config)), indent=2))
    return 0


def _deploy_connections(args: argparse.Namespace) -> int:
    import os

    from possync.deploy import connections_from_env

    try:
        connections = connections_from_env(os.environ)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(json.dumps(connections, indent=2))
    print(f"{len(connections)} connection(s) from the environment: {', '.join(connections) or 'none'}",
          file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="possync", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    ledger = commands.add_parser("ledger", help="the sync ledger").add_subparsers(dest="action", required=True)
    init = ledger.add_parser("init", help="create the ledger tables")
    init.add_argument("--ledger-url", required=True)
    init.set_defaults(func=_ledger_init)

    status = commands.add_parser("status", help="sync status from the ledger: counts and failures")
    source = status.add_mutually_exclusive_group()
    source.add_argument("--ledger-conn", default="possync_ledger",
                        help="the Airflow connection of the sync ledger (default possync_ledger)")
    source.add_argument("--ledger-url", default=None, help="or the ledger's SQLAlchemy URL")
    status.add_argument("--integration", default=None)
    status.add_argument("--limit", type=_positive_int, default=200, help="failed records to list per flow")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)

    for name, summary in (("ignore", "set a failed record aside with a reason: not retried, not open"),
                          ("unignore", "take an ignored record back: failed again, retried by the next run")):
        quarantine = commands.add_parser(name, help=summary)
        quarantine.add_argument("--ledger-url", required=True)
        quarantine.add_argument("--integration", required=True)
        quarantine.add_argument("--type", required=True, help="record type: invoice, payment, return, transfer_in, …")
        quarantine.add_argument("--key", required=True, help="the record's number (business key)")
        quarantine.add_argument("--reason", required=name == "ignore", default=None,
                                help="why it is set aside (required)" if name == "ignore" else "why (optional)")
        quarantine.add_argument("--by", default=None, help="who (default: your login name, via the CLI)")
        quarantine.set_defaults(func=_quarantine)

    reconcile = commands.add_parser(
        "reconcile", help="POS ↔ ledger ↔ target per outlet and day: kept results, or --run one now")
    reconcile.add_argument("--integration", required=True)
    reconcile.add_argument("--from", dest="from_date", type=_iso_date, required=True,
                           help="first day (yyyy-mm-dd, outlet time)")
    reconcile.add_argument("--to", dest="to_date", type=_iso_date, default=None,
                           help="last day, included (default: --from)")
    reconcile.add_argument("--outlet", action="append", help="only this outlet (repeatable)")
    reconcile.add_argument("--run", action="store_true",
                           help="reconcile now through the target's API (Airflow connections) and keep the result")
    reconcile.add_argument("--config", default=None, help="path (default: $POSSYNC_CONFIG or the project's file)")
    reconcile.add_argument("--json", action="store_true")
    reconcile.set_defaults(func=_reconcile)

    preview = commands.add_parser(
        "preview", help="dry run: what a sync of a date range would post now (exact bodies); writes nothing")
    preview.add_argument("--integration", required=True)
    preview.add_argument("--from", dest="from_date", required=True, help="first day (yyyy-mm-dd, outlet time)")
    preview.add_argument("--to", dest="to_date", default=None, help="last day, included (default: --from)")
    preview.add_argument("--flow", default="sales", choices=("sales", "transfers", "stock", "customers", "products"))
    preview.add_argument("--outlet", action="append", help="only this outlet (repeatable)")
    preview.add_argument("--no-bodies", action="store_true", help="list the records without their request bodies")
    preview.add_argument("--config", default=None, help="path (default: $POSSYNC_CONFIG or the project's file)")
    preview.add_argument("--json", action="store_true", help="the whole preview as JSON (amounts as strings)")
    preview.set_defaults(func=_preview)

    stock = commands.add_parser("stock", help="the POS's stock against the target's").add_subparsers(
        dest="action", required=True)
    compare = stock.add_parser("compare", help="per warehouse and product, POS vs target, differences first")
    adjust = stock.add_parser("adjust", help="post stock adjustments bringing the target to the POS")
    for parser_ in (compare, adjust):
        parser_.add_argument("--integration", required=True)
        parser_.add_argument("--warehouse", default=None, help="only this outlet code or target warehouse")
        parser_.add_argument("--config", default=None, help="path (default: $POSSYNC_CONFIG or the project's file)")
        parser_.set_defaults(func=_stock)
    compare.add_argument("--json", action="store_true", help="counts and every row (quantities as strings)")
    adjust.add_argument("--sku", default=None, help="only this product")
    adjust.add_argument("--by", required=True, help="who asks (kept in the ledger and the adjustment's memo)")

    headoffice = commands.add_parser("headoffice", help="the head office exchange").add_subparsers(
        dest="action", required=True)
    ho_status = headoffice.add_parser("status", help="Sent Data and Received Data with their statuses")
    ho_status.add_argument("--ho-url", required=True, help="SQLAlchemy URL of the head office database")
    ho_status.add_argument("--pos-url", default=None, help="also count the POS outbox's events by status")
    ho_status.add_argument("--store", action="append", help="only this store (repeatable)")
    ho_status.add_argument("--limit", type=_positive_int, default=500, help="documents to list, newest first")
    ho_status.add_argument("--json", action="store_true")
    ho_status.set_defaults(func=_headoffice_status)

    source_parser = commands.add_parser("source", help="the POS as a source profile reads it").add_subparsers(
        dest="action", required=True)
    source_check = source_parser.add_parser(
        "check", help="run every query of a source profile over a window: rows, type problems, a few documents")
    source_check.add_argument("--integration", required=True, help="whose POS connection (and profile) to check")
    source_check.add_argument("--profile", default=None,
                              help="a shipped profile's name or a YAML file (default: the integration's profile)")
    source_check.add_argument("--from", dest="from_date", type=_iso_date, required=True,
                              help="first day (yyyy-mm-dd, the integration's timezone)")
    source_check.add_argument("--to", dest="to_date", type=_iso_date, default=None,
                              help="last day, included (default: --from)")
    source_check.add_argument("--outlet", action="append", help="only this outlet (repeatable)")
    source_check.add_argument("--pos-url", default=None,
                              help="the POS database's SQLAlchemy URL instead of the integration's connection")
    source_check.add_argument("--config", default=None, help="path (default: $POSSYNC_CONFIG or the project's file)")
    source_check.set_defaults(func=_source_check)

    config = commands.add_parser("config", help="integration settings").add_subparsers(dest="action", required=True)
    check = config.add_parser("check", help="validate integrations.yaml")
    check.add_argument("--config", default=None, help="path (default: $POSSYNC_CONFIG or the project's file)")
    check.set_defaults(func=_config_check)

    deploy = commands.add_parser("deploy", help="what airflow-init writes into Airflow").add_subparsers(
        dest="action", required=True)
    pools = deploy.add_parser("pools", help="the target pools from integrations.yaml, as `airflow pools import` JSON")
    pools.add_argument("--config", default=None, help="path (default: $POSSYNC_CONFIG or the project's file)")
    pools.set_defaults(func=_deploy_pools)
    connections = deploy.add_parser(
        "connections", help="POSSYNC_CONN_<ID> variables as `airflow connections import` JSON (holds secrets)")
    connections.set_defaults(func=_deploy_connections)
    return parser


def _input_errors() -> tuple[type[BaseException], ...]:
    """What bad input raises below the commands: said in one line, never as a traceback."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from possync.config import ConfigError

    errors: list[type[BaseException]] = [UsageError, ConfigError, ValueError, ArgumentError, NoSuchModuleError]
    try:
        from airflow.sdk.exceptions import AirflowNotFoundException  # a connection that is not defined
    except ImportError:  # pragma: no cover - Airflow is installed wherever possync runs
        pass
    else:
        errors.append(AirflowNotFoundException)
    return tuple(errors)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``possync`` command; bad input is one line on stderr and exit status 2 (as argparse does),
    a database that cannot be reached is one line and status 1."""
    return run_cli(build_parser(), argv)


def run_cli(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command's ``func``, turning bad input into one line on stderr and
    exit status 2, an unreachable database into one line and status 1 (``possync`` and ``possync-devkit``)."""
    from sqlalchemy.exc import OperationalError

    args = parser.parse_args(argv)
    command = " ".join(part for part in (parser.prog, args.command, getattr(args, "action", None)) if part)
    try:
        return args.func(args)
    except _input_errors() as error:
        print(f"{command}: {_one_line(error)}", file=sys.stderr)
        return 2
    except OperationalError as error:
        print(f"{command}: cannot read the database: {_one_line(error.orig or error)}", file=sys.stderr)
        return 1


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text
