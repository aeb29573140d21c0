"""The two FastAPI apps (account host, data host) over one shared :class:`SandboxState`.

Every non-admin call goes: authenticate (401) -> rate limit per token (429, no work) -> latency fault ->
error fault (no work) -> route -> webhooks in the background -> maybe drop the connection after a committed write.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..harness import (
    ADMIN_PREFIX,
    Admin,
    DroppedAfterCommit,
    FaultState,
    Stats,
    add_admin_routes,
    install_quiet_drops,
)
from . import auth
from .config import SEED_VENDOR_NO, SEED_WAREHOUSE, RateLimits, SandboxConfig
from .db import Database
from .runtime import Clock, RateLimiter, WebhookSender, envelope
from .service import MODULES, AccurateService, Event
from .wire import BAD_URL, WIB, ApiError, dumps, fmt_date, parse_body, unflatten

log = logging.getLogger("possync_devkit.sandbox.accurate")

DATA_PATH = re.compile(r"^/accurate/api/([a-z0-9-]+)/([a-z0-9-]+)\.do$")
ACCOUNT_PATH = re.compile(r"^/api/([a-z0-9-]+)\.do$")
ACCOUNT_ACTIONS = ("api-token", "webhook-renew")
WRITE_ACTIONS = ("save", "bulk-save", "delete")
RATE_MESSAGE = "Terlalu banyak request, batas {per_second} panggilan per detik dan {in_flight} bersamaan"
DAY = 86400


class AccurateJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class DropResponse(AccurateJSON):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        raise DroppedAfterCommit(f"{scope['path']} committed; connection dropped on purpose (drop_after_commit)")


@dataclass
class SandboxState:
    config: SandboxConfig
    db: Database
    service: AccurateService
    limiter: RateLimiter
    faults: FaultState
    stats: Stats
    clock: Clock
    webhooks: WebhookSender

    # ------------------------------------------------------------ webhook subscription
    def subscription(self) -> dict[str, Any] | None:
        with self.db.read() as repo:
            return repo.get_meta("webhook")

    def set_subscription(self, value: dict[str, Any] | None) -> None:
        with self.db.transaction() as repo:
            repo.set_meta("webhook", value)

    def renew(self) -> float:
        expires = self.clock.now() + self.config.webhook_lifetime_days * DAY
        current = self.subscription() or {"url": None, "types": []}
        self.set_subscription({**current, "expires_at": expires})
        return expires

    def dispatch(self, events: list[Event]) -> None:
        """POST the events to the registered URL (background thread), if the subscription is alive."""
        if not events:
            return
        sub = self.subscription()
        if not sub or not sub.get("url") or self.clock.now() >= float(sub.get("expires_at") or 0):
            return
        types = set(sub.get("types") or [])
        grouped: dict[str, list[dict[str, Any]]] = {}
        for kind, entry in events:
            if kind in types:
                grouped.setdefault(kind, []).append(entry)
        if grouped:
            envelopes = [envelope(self.config.database_id, kind, entries) for kind, entries in grouped.items()]
            self.webhooks.send(sub["url"], envelopes)


def create_state(config: SandboxConfig | None = None) -> SandboxState:
    config = config or SandboxConfig()
    db = Database(config.db_path)
    return SandboxState(
        config=config,
        db=db,
        service=AccurateService(db, config),
        limiter=RateLimiter(config.limits),
        faults=FaultState(config.faults),
        # Accurate's own counters: calls past auth and the limits, refusals by cause, the most ever in flight
        stats=Stats(extra=("accepted", "refused_rate", "refused_in_flight", "max_in_flight_seen")),
        clock=Clock(),
        webhooks=WebhookSender(config.webhook_retries, config.webhook_backoff_seconds, config.webhook_timeout_seconds),
    )


def _flat(pairs: list[tuple[str, str]], into: dict[str, Any]) -> dict[str, Any]:
    for key, value in pairs:
        if key in into:
            previous = into[key]
            into[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            into[key] = value
    return into


def _reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> AccurateJSON:
    return AccurateJSON(body, status_code=status, headers=headers)


def _committed(action: str, body: dict[str, Any]) -> bool:
    if action == "bulk-save":
        return any(item.get("s") for item in body.get("d", []))
    return action in WRITE_ACTIONS and bool(body.get("s"))


def create_apps(config: SandboxConfig | None = None, state: SandboxState | None = None) -> tuple[FastAPI, FastAPI]:
    """``(account_app, data_app)`` sharing one state (``app.state.sandbox``). Set
    ``state.config.data_host_url`` (or ``POST /_sandbox/data-host``) to the data app's public URL."""
    state = state or create_state(config)
    return _build(state, "account"), _build(state, "data")


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Only the data host (its admin routes included), for callers that do not need api-token.do."""
    return create_apps(config)[1]


def _build(state: SandboxState, host: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncGenerator[None]:
        yield

    app = FastAPI(
        title=f"Accurate Online sandbox, {host} host (possync)",
        description="A local emulator of the Accurate Online API; see possync_devkit.sandbox.accurate's docstring.",
        lifespan=lifespan,
        default_response_class=AccurateJSON,
    )
    app.state.sandbox = state
    install_quiet_drops()
    add_sandbox_routes(app, state)

    async def api(request: Request, path: str) -> Response:
        return await _handle(state, host, request)

    app.add_api_route("/{path:path}", api, methods=["GET", "POST", "DELETE", "PUT"], include_in_schema=False)
    return app


def _route(host: str, path: str) -> tuple[str, str] | None:
    if host == "data":
        match = DATA_PATH.match(path)
        if match and match.group(1) in MODULES and match.group(2) in MODULES[match.group(1)].actions:
            return match.group(1), match.group(2)
        return None
    match = ACCOUNT_PATH.match(path)
    if match and match.group(1) in ACCOUNT_ACTIONS:
        return "account", match.group(1)
    return None


async def _handle(state: SandboxState, host: str, request: Request) -> Response:
    """Answer one API call and count it (route label and status) in the shared stats."""
    route = _route(host, request.url.path)
    label = f"{route[0]}/{route[1]}" if route else "unknown"
    try:
        response = await _answer(state, route, request)
    except Exception:
        state.stats.record(label, 500)
        raise
    state.stats.record(label, response.status_code)
    return response


async def _answer(state: SandboxState, route: tuple[str, str] | None, request: Request) -> Response:
    headers = {key.lower(): value for key, value in request.headers.items()}
    config = state.config
    try:
        token = auth.verify(headers, config.tokens, config.timestamp_skew_seconds, datetime.now(WIB))
    except auth.AuthError as error:
        return _reply(error.body, 401)
    refusal = state.limiter.acquire(token, time.monotonic())
    if refusal is not None:
        state.stats.bump("refused_rate" if refusal == "rate" else "refused_in_flight")
        limits = state.limiter.limits
        message = RATE_MESSAGE.format(per_second=limits.per_second or "-", in_flight=limits.in_flight or "-")
        if config.throttle_response == "200":  # refused before any work either way: a retry is safe
            return _reply({"s": False, "d": [message]}, 200)
        return _reply({"s": False, "d": [message]}, 429, {"Retry-After": "1"})
    try:
        state.stats.bump("accepted")
        state.stats.peak("max_in_flight_seen", state.limiter.in_flight(token))
        if state.faults.latency_seconds:
            await asyncio.sleep(state.faults.latency_seconds)
        fault = state.faults.error_status()
        if fault is not None:
            state.stats.bump("faults_injected")
            phrase = HTTPStatus(fault).phrase
            return _reply({"s": False, "d": [f"{phrase} (injected by the sandbox's error_rate fault)"]}, fault)
        if route is None:
            return _reply({"s": False, "d": [BAD_URL]}, 404)
        module, action = route
        raw = await request.body()
        try:
            body, events = await _run(state, module, action, request, raw)
        except ApiError as error:
            return _reply(error.body, error.status)
        await run_in_threadpool(state.dispatch, events)
        if _committed(action, body) and state.faults.should_drop():
            state.stats.bump("drops")
            return DropResponse(body)
        return _reply(body)
    finally:
        state.limiter.release(token)


async def _run(state: SandboxState, module: str, action: str, request: Request, raw: bytes) -> tuple[dict, list]:
    service = state.service
    if module == "account":
        if action == "api-token":
            return {
                "s": True,
                "d": {
                    "user": {"id": 1, "name": "POSSYNC Demo", "email": "demo@possync.local"},
                    "database": {
                        "id": state.config.database_id,
                        "alias": state.config.database_alias,
                        "host": state.config.data_host_url,
                    },
                },
            }, []
        expires = await run_in_threadpool(state.renew)
        return {"s": True, "d": fmt_date(datetime.fromtimestamp(expires, WIB).date())}, []
    query = request.query_params.multi_items()
    structured, pairs = parse_body(raw, request.headers.get("content-type", ""))
    if action in ("save", "bulk-save"):
        if not isinstance(structured, dict):
            if action == "bulk-save" and isinstance(structured, list):
                structured = {"data": structured}
            else:
                raise ApiError("Isi request harus berupa objek JSON atau form")
        data = {**unflatten(query), **structured}
        if action == "save":
            return await run_in_threadpool(service.save, module, data)
        return await run_in_threadpool(service.bulk_save, module, data.get("data"))
    params = _flat(query, {})
    _flat(pairs, params)
    if isinstance(structured, dict) and not pairs:
        params.update({key: value for key, value in structured.items() if not isinstance(value, dict)})
    if action == "list":
        return await run_in_threadpool(service.list, module, params), []
    if action == "detail":
        return await run_in_threadpool(service.detail, module, params), []
    if action == "get-stock":
        return await run_in_threadpool(service.get_stock, params), []
    if action == "delete":
        return await run_in_threadpool(service.delete, module, params)
    raise ApiError(BAD_URL, 404)


def add_sandbox_routes(app: FastAPI, state: SandboxState) -> None:
    """Sandbox-only controls (no auth, no rate limit), served by both hosts: the harness's shared admin routes
    (health, faults, limits, stats, reset) and Accurate's own (data host, clock, webhooks, a simulated purchase)."""

    def reset_clock() -> None:
        state.clock.offset_seconds = 0

    add_admin_routes(app, Admin(
        faults=state.faults,
        stats=state.stats,
        limiter=state.limiter,
        limits_model=RateLimits,
        initial_limits=state.config.limits,
        reset_data=state.service.reset,
        health=lambda: {"db_path": state.config.db_path, "data_host_url": state.config.data_host_url},
        resets={"webhooks": state.webhooks.reset, "clock": reset_clock},
    ))

    @app.post(f"{ADMIN_PREFIX}/data-host", tags=["sandbox"])
    async def set_data_host(body: dict[str, Any]) -> dict[str, Any]:
        """``{"url": "http://127.0.0.1:8603"}``: what api-token.do answers as database.host."""
        state.config.data_host_url = str(body["url"]).rstrip("/")
        return {"data_host_url": state.config.data_host_url}

    @app.get(f"{ADMIN_PREFIX}/clock", tags=["sandbox"])
    async def get_clock() -> dict[str, Any]:
        return {"offset_seconds": state.clock.offset_seconds, "now": state.clock.now()}

    @app.post(f"{ADMIN_PREFIX}/clock", tags=["sandbox"])
    async def set_clock(body: dict[str, Any]) -> dict[str, Any]:
        """``{"offset_seconds": N}`` shifts the sandbox's now for webhook expiry only (auth uses the real clock)."""
        state.clock.offset_seconds = float(body.get("offset_seconds", 0))
        return {"offset_seconds": state.clock.offset_seconds, "now": state.clock.now()}

    def describe(sub: dict[str, Any] | None) -> dict[str, Any]:
        if not sub:
            return {"url": None, "types": [], "expires_at": None, "active": False}
        expires = float(sub.get("expires_at") or 0)
        return {
            "url": sub.get("url"),
            "types": sub.get("types", []),
            "expires_at": expires,
            "expires_at_wib": datetime.fromtimestamp(expires, WIB).strftime(auth.TIMESTAMP_FORMAT),
            "active": bool(sub.get("url")) and state.clock.now() < expires,
        }

    @app.get(f"{ADMIN_PREFIX}/webhooks", tags=["sandbox"])
    async def get_webhooks() -> dict[str, Any]:
        return describe(await run_in_threadpool(state.subscription))

    @app.post(f"{ADMIN_PREFIX}/webhooks", tags=["sandbox"])
    async def set_webhooks(body: dict[str, Any]) -> dict[str, Any]:
        """``{"url": "https://consumer/hook?token=...", "types": ["RECEIVE_ITEM"]}``: active for 7 days."""
        types = body.get("types") or ["RECEIVE_ITEM"]
        sub = {
            "url": str(body["url"]),
            "types": [str(kind) for kind in types],
            "expires_at": state.clock.now() + state.config.webhook_lifetime_days * DAY,
        }
        await run_in_threadpool(state.set_subscription, sub)
        return describe(sub)

    @app.delete(f"{ADMIN_PREFIX}/webhooks", tags=["sandbox"])
    async def delete_webhooks() -> dict[str, Any]:
        await run_in_threadpool(state.set_subscription, None)
        return describe(None)

    @app.get(f"{ADMIN_PREFIX}/webhook-deliveries", tags=["sandbox"])
    async def deliveries() -> list[dict[str, Any]]:
        return state.webhooks.snapshot()

    @app.post(f"{ADMIN_PREFIX}/simulate/purchase", tags=["sandbox"])
    async def simulate_purchase(request: Request) -> Response:
        """A receive-item entered "in Accurate's UI": same validation as receive-item/save.do, fires the webhook."""
        raw = await request.body()
        body = parse_body(raw, "application/json")[0] if raw.strip() else {}
        body = body if isinstance(body, dict) else {}
        warehouse = body.get("warehouseName") or SEED_WAREHOUSE
        data: dict[str, Any] = {
            "vendorNo": body.get("vendorNo") or SEED_VENDOR_NO,
            "receiveNumber": body.get("receiveNumber") or f"SJ-{int(time.time() * 1000)}",
            "transDate": body.get("transDate") or fmt_date(datetime.now(WIB).date()),
            "detailItem": [
                {"warehouseName": line.get("warehouseName") or warehouse, **line}
                for line in body.get("lines") or []
                if isinstance(line, dict)
            ],
        }
        for name in ("number", "branchName", "description"):
            if body.get(name):
                data[name] = body[name]
        try:
            result, events = await run_in_threadpool(state.service.save, "receive-item", data)
        except ApiError as error:
            return _reply(error.body, error.status)
        await run_in_threadpool(state.dispatch, events)
        return _reply(result)
