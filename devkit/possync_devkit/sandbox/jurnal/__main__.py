"""``python -m possync_devkit.sandbox.jurnal``: run the Jurnal sandbox with uvicorn (see the package docstring)."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from ..harness import add_shared_arguments, faults_from_args, limit_arg, pair_arg
from .app import create_app
from .config import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_DB_PATH,
    DEMO_HOST,
    DEMO_PORT,
    RateLimits,
    SandboxConfig,
)

_client = pair_arg("CLIENT_ID", "CLIENT_SECRET")
_limit = limit_arg


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m possync_devkit.sandbox.jurnal",
        description="Local emulator of the Mekari Jurnal API (HMAC auth, rate limits, batch endpoints, faults).",
    )
    parser.add_argument("--host", default=DEMO_HOST)
    parser.add_argument("--port", type=int, default=DEMO_PORT)
    parser.add_argument("--db", default=DEMO_DB_PATH, help="SQLite file (created if missing) or :memory:")
    parser.add_argument(
        "--client",
        action="append",
        type=_client,
        metavar="ID:SECRET",
        help=f"HMAC credential to accept (repeatable); default {DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}",
    )
    parser.add_argument("--per-minute", type=_limit, default=30, help="requests per minute per consumer ('off')")
    parser.add_argument("--per-hour", type=_limit, default=1800, help="requests per hour per consumer ('off')")
    parser.add_argument("--per-ip-minute", type=_limit, default=40, help="requests per minute per IP ('off')")
    parser.add_argument("--per-ip-hour", type=_limit, default=2500, help="requests per hour per IP ('off')")
    add_shared_arguments(parser)
    parser.add_argument("--account", action="append", default=[], help="extra Cash & Bank account name (repeatable)")
    parser.add_argument("--no-key-filters", action="store_true", help="ignore the sandbox-only list filters")
    parser.add_argument("--not-found-status", type=int, choices=(404, 422), default=404)
    parser.add_argument("--conflict-id", choices=("existing", "null"), default="existing",
                        help="the id in an 'already been used' 422: the holder's (existing) or null")
    parser.add_argument("--return-dedup", choices=("transaction_no", "none"), default="transaction_no",
                        help="sales returns keep a sent transaction_no/custom_id unique, or ignore both (undocumented)")
    parser.add_argument("--list-lines", choices=("full", "none"), default="full",
                        help="transaction list rows carry their lines, or not (undocumented)")
    parser.add_argument("--log-level", default="info")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        db_path=args.db,
        clients=dict(args.client) if args.client else {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET},
        limits=RateLimits(
            per_minute=args.per_minute,
            per_hour=args.per_hour,
            per_ip_minute=args.per_ip_minute,
            per_ip_hour=args.per_ip_hour,
        ),
        faults=faults_from_args(args),
        accounts=args.account,
        key_filters=not args.no_key_filters,
        not_found_status=args.not_found_status,
        number_match=args.number_match,
        batch_failure=args.batch_failure,
        deleted_numbers=args.deleted_numbers,
        tax_rounding=args.tax_rounding,
        conflict_id=args.conflict_id,
        return_dedup=args.return_dedup,
        list_lines=args.list_lines,
    )


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config_from_args(args)
    app = create_app(config)
    # The one line an operator needs when the sandbox starts.
    print(
        f"Jurnal sandbox on http://{args.host}:{args.port}/public/jurnal/api/v1 "
        f"(db {config.db_path}; clients {', '.join(config.clients)}; admin /_sandbox)",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
