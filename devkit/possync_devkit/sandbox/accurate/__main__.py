"""``python -m possync_devkit.sandbox.accurate``: both Accurate sandbox hosts in one process (see the package doc)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

import uvicorn

from ..harness import add_shared_arguments, faults_from_args, limit_arg, pair_arg
from .app import create_apps, create_state
from .config import (
    ACCOUNT_TYPES,
    DEMO_ACCOUNT_PORT,
    DEMO_API_TOKEN,
    DEMO_DATA_PORT,
    DEMO_DB_PATH,
    DEMO_HOST,
    DEMO_SIGNATURE_SECRET,
    RateLimits,
    SandboxConfig,
)

_token = pair_arg("TOKEN", "SECRET")


def _account(value: str) -> tuple[str, str, str]:
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise argparse.ArgumentTypeError("expected NO:NAME[:ACCOUNT_TYPE] (type defaults to CASH_BANK)")
    account_type = parts[2].upper() if len(parts) == 3 else "CASH_BANK"
    if account_type not in ACCOUNT_TYPES:
        raise argparse.ArgumentTypeError(f"account type must be one of {', '.join(ACCOUNT_TYPES)}")
    return parts[0], parts[1], account_type


_limit = limit_arg


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m possync_devkit.sandbox.accurate",
        description="Local emulator of the Accurate Online API (account host + data host, API-token auth).",
    )
    parser.add_argument("--host", default=DEMO_HOST)
    parser.add_argument("--account-port", type=int, default=DEMO_ACCOUNT_PORT)
    parser.add_argument("--data-port", type=int, default=DEMO_DATA_PORT)
    parser.add_argument(
        "--data-host-url", default=None, help="database.host answered by api-token.do (default http://HOST:DATA_PORT)"
    )
    parser.add_argument("--db", default=DEMO_DB_PATH, help="SQLite file (created if missing) or :memory:")
    parser.add_argument(
        "--token",
        action="append",
        type=_token,
        metavar="TOKEN:SECRET",
        help=f"another API token and its signature secret (repeatable), besides {DEMO_API_TOKEN}",
    )
    parser.add_argument("--per-second", type=_limit, default=8, help="calls per sliding second per token ('off')")
    parser.add_argument("--in-flight", type=_limit, default=8, help="concurrent calls per token ('off')")
    parser.add_argument("--throttle-response", choices=("429", "200"), default="429",
                        help="beyond the limit: HTTP 429 with Retry-After, or HTTP 200 {s: false} (undocumented)")
    parser.add_argument("--timestamp-skew", type=int, default=300, help="allowed X-Api-Timestamp skew, seconds")
    parser.add_argument("--tax-rate", default="11", help="PPN (useTax1) rate in percent")
    parser.add_argument("--webhook-numbers", choices=("sent", "omitted"), default="sent",
                        help="webhook entries with the document number besides the id, or the id alone (undocumented)")
    parser.add_argument("--item-transfer-webhook", choices=("once", "per_warehouse"), default="once",
                        help="one webhook entry per item transfer, or one per warehouse it touches (undocumented)")
    add_shared_arguments(parser)
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        type=_account,
        metavar="NO:NAME[:TYPE]",
        help="extra GL account (repeatable), e.g. 1101.002:Kas Outlet Senayan (type CASH_BANK by default)",
    )
    parser.add_argument("--log-level", default="info")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        db_path=args.db,
        tokens={DEMO_API_TOKEN: DEMO_SIGNATURE_SECRET, **dict(args.token or [])},
        data_host_url=(args.data_host_url or f"http://{args.host}:{args.data_port}").rstrip("/"),
        timestamp_skew_seconds=args.timestamp_skew,
        limits=RateLimits(per_second=args.per_second, in_flight=args.in_flight),
        faults=faults_from_args(args),
        tax1_rate_percent=args.tax_rate,
        extra_accounts=args.account,
        number_match=args.number_match,
        batch_failure=args.batch_failure,
        deleted_numbers=args.deleted_numbers,
        tax_rounding=args.tax_rounding,
        throttle_response=args.throttle_response,
        webhook_numbers=args.webhook_numbers,
        item_transfer_webhook=args.item_transfer_webhook,
    )


class _Server(uvicorn.Server):
    """One Ctrl-C / SIGTERM stops both hosts gracefully (uvicorn's handler would stop only the last one)."""

    siblings: list[uvicorn.Server]

    def handle_exit(self, sig: int, frame: Any) -> None:
        for server in self.siblings:
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True


async def serve(config: SandboxConfig, host: str, account_port: int, data_port: int, log_level: str) -> None:
    state = create_state(config)
    state.service.add_accounts(config.extra_accounts)  # also on an existing database file
    account_app, data_app = create_apps(state=state)
    servers = [
        _Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
        for app, port in ((account_app, account_port), (data_app, data_port))
    ]
    for server in servers:
        server.siblings = list(servers)
    try:
        await asyncio.gather(*(server.serve() for server in servers))
    finally:
        state.db.close()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config_from_args(args)
    print(
        f"Accurate sandbox: account host http://{args.host}:{args.account_port}/api/api-token.do, data host "
        f"{config.data_host_url}/accurate/api/<module>/<action>.do (db {config.db_path}; tokens "
        f"{', '.join(config.tokens)}; admin /_sandbox on both)",
        flush=True,
    )
    asyncio.run(serve(config, args.host, args.account_port, args.data_port, args.log_level))


if __name__ == "__main__":
    main()
