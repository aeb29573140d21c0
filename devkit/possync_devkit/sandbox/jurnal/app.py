"""The FastAPI app: Jurnal's routes behind a gateway middleware (HMAC, rate limits, faults, statistics)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..harness import Admin, DroppedAfterCommit, FaultState, Stats, add_admin_routes, install_quiet_drops
from . import auth
from .config import API_PREFIX, GATEWAY_PREFIXES, SCM_PREFIX, RateLimits, SandboxConfig
from .dates import now_utc
from .db import Database
from .errors import ApiError, parameter_missing, unprocessable
from .runtime import RateLimiter
from .service import RESOURCES, JurnalService, Resource

log = logging.getLogger("possync_devkit.sandbox.jurnal")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SINGULAR = {
    "warehouses": "warehouse",
    "products": "product",
    "customers": "customer",
    "sales_invoices": "sales_invoice",
    "receive_payments": "receive_payment",
    "sales_returns": "sales_return",
    "bank_withdrawals": "bank_withdrawal",
    "accounts": "account",
    "warehouse_transfers": "warehouse_transfer",
    "stock_adjustments": "stock_adjustment",
}


@dataclass
class SandboxState:
    config: SandboxConfig
    db: Database
    service: JurnalService
    limiter: RateLimiter
    faults: FaultState
    stats: Stats


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _encode(body: Any) -> bytes:
    return json.dumps(body, default=_json_default, ensure_ascii=False, separators=(",", ":")).encode()


class JurnalJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return _encode(content)


def _endpoint_label(method: str, path: str) -> str:
    """``POST /sales_invoices/batch_create``, ``GET /products/{id}``: the route, not the concrete URL."""
    if not path.startswith(API_PREFIX):
        # SCM routes: ``GET /scm/public/lo/v1/products/get_product_quantity_per_warehouse``
        return f"{method} {path[len('/public/jurnal') :]}"
    parts = [part for part in path[len(API_PREFIX) :].split("/") if part]
    if len(parts) >= 2 and parts[1] != "batch_create":
        parts[1] = "{id}"
    return f"{method} /" + "/".join(parts)


class JurnalGateway:
    """What the Mekari API gateway does before Jurnal sees a request, plus the sandbox's fault injection.

    Order: authenticate (401), count against the rate limits (429), add latency, maybe fail (error_rate, before
    any write), run the route, maybe drop the connection after a committed write. Routes outside the Jurnal
    prefix (the ``/_sandbox`` admin routes) pass straight through.
    """

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(GATEWAY_PREFIXES):
            await self.app(scope, receive, send)
            return
        state = self.state
        method = scope["method"].upper()
        label = _endpoint_label(method, scope["path"])
        body = await _read_body(receive)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        path_with_query = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}

        try:
            client_id = auth.verify(
                method=method,
                path_with_query=path_with_query,
                headers=headers,
                body=body,
                clients=state.config.clients,
                clock_skew_seconds=state.config.clock_skew_seconds,
                now=now_utc(),
            )
        except ApiError as error:
            state.stats.record(label, error.status)
            await _send_json(send, error.status, error.body, {})
            return

        ip = (scope.get("client") or ("unknown", 0))[0]
        decision = state.limiter.check(client_id, ip, time.time())
        if not decision.allowed:
            state.stats.record(label, 429)
            await _send_json(send, 429, {"message": "API rate limit exceeded"}, decision.headers)
            return

        if state.faults.latency_seconds:
            await asyncio.sleep(state.faults.latency_seconds)
        fault_status = state.faults.error_status()
        if fault_status is not None:
            state.stats.bump("faults_injected")
            state.stats.record(label, fault_status)
            phrase = HTTPStatus(fault_status).phrase
            await _send_json(
                send,
                fault_status,
                {"error": phrase, "message": f"{phrase} (injected by the sandbox's error_rate fault)"},
                decision.headers,
            )
            return

        start, chunks = await self._run_route(scope, body, receive)
        status = start["status"]
        response_headers = list(start.get("headers", [])) + [
            (name.lower().encode(), value.encode()) for name, value in decision.headers.items()
        ]
        state.stats.record(label, status)
        payload = b"".join(chunks)
        if method in auth.BODY_METHODS and 200 <= status < 300 and state.faults.should_drop():
            state.stats.bump("drops")
            # Headers promise the whole body; half of it arrives, then the server closes the connection.
            await send({"type": "http.response.start", "status": status, "headers": response_headers})
            await send({"type": "http.response.body", "body": payload[: len(payload) // 2], "more_body": True})
            raise DroppedAfterCommit(f"{label} committed; connection dropped on purpose (drop_after_commit)")
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    async def _run_route(self, scope: Scope, body: bytes, receive: Receive) -> tuple[Message, list[bytes]]:
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:  # ruff: ignore[unused-async] - ASGI send is awaited
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, replay, capture)
        except Exception as exc:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            body_bytes = _encode({"error": "Internal Server Error", "message": f"{type(exc).__name__}: {exc}"})
            return (
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body_bytes)).encode()),
                    ],
                },
                [body_bytes],
            )
        return start, chunks


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send_json(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    payload = _encode(body)
    raw_headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
    ] + [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


def _parse_body(body: bytes, envelope: str) -> Any:
    if not body.strip():
        raise parameter_missing(envelope)
    try:
        return json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        raise ApiError(400, {"error": f"request body is not valid JSON: {exc}"}) from None


def _error_response(error: ApiError) -> JurnalJSONResponse:
    return JurnalJSONResponse(error.body, status_code=error.status)


def _page_url(request: Request) -> Callable[[int], str]:
    def url(page: int) -> str:
        return str(request.url.include_query_params(page=page))

    return url


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """A Jurnal sandbox app. Its state lives in ``app.state.sandbox`` (a :class:`SandboxState`)."""
    config = config or SandboxConfig()
    db = Database(config.db_path, config.number_match)
    state = SandboxState(
        config=config,
        db=db,
        service=JurnalService(db, config),
        limiter=RateLimiter(config.limits),
        faults=FaultState(config.faults),
        stats=Stats(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncGenerator[None]:
        try:
            yield
        finally:
            db.close()

    app = FastAPI(
        title="Mekari Jurnal sandbox (possync)",
        description="A local emulator of the Mekari Jurnal API; see possync_devkit.sandbox.jurnal's docstring.",
        lifespan=lifespan,
        default_response_class=JurnalJSONResponse,
    )
    app.state.sandbox = state
    app.add_middleware(JurnalGateway, state=state)
    install_quiet_drops()
    service = state.service

    def add_resource_routes(resource: Resource) -> None:
        plural = resource.path
        singular = SINGULAR[plural]
        base = f"{API_PREFIX}/{plural}"

        async def create(request: Request) -> Response:
            body = await request.body()
            try:
                parsed = _parse_body(body, singular)
                item = parsed.get(singular) if isinstance(parsed, dict) else None
                if not isinstance(item, dict):
                    raise parameter_missing(singular)
                rendered = await run_in_threadpool(service.create, resource, item)
            except ApiError as error:
                return _error_response(error)
            return JurnalJSONResponse({singular: rendered}, status_code=201)

        async def batch_create(request: Request) -> Response:
            body = await request.body()
            try:
                parsed = _parse_body(body, plural)
                items = parsed.get(plural) if isinstance(parsed, dict) else None
                if not isinstance(items, list):
                    raise parameter_missing(plural)
                if not items:
                    raise unprocessable(plural, "can't be blank")
                if len(items) > config.batch_max:
                    raise unprocessable(
                        plural,
                        f"(1 batch of request can handle up to {config.batch_max} {plural}; {len(items)} were sent.)",
                    )
                results = await run_in_threadpool(_run_batch, service, resource, singular, items)
            except ApiError as error:
                return _error_response(error)
            return JurnalJSONResponse({plural: results}, status_code=resource.batch_status or 200)

        async def list_all(request: Request) -> Response:
            try:
                result = await run_in_threadpool(service.list, resource, dict(request.query_params), _page_url(request))
            except ApiError as error:
                return _error_response(error)
            return JurnalJSONResponse(result)

        async def get_one(ident: str, request: Request) -> Response:
            try:
                rendered = await run_in_threadpool(service.get, resource, ident, dict(request.query_params))
            except ApiError as error:
                return _error_response(error)
            return JurnalJSONResponse({singular: rendered})

        async def delete_one(ident: str) -> Response:
            try:
                await run_in_threadpool(service.delete, resource, ident)
            except ApiError as error:
                return _error_response(error)
            return Response(status_code=204)

        if plural != "accounts":
            app.add_api_route(base, create, methods=["POST"], name=f"create_{singular}")
        if resource.batch_status is not None:
            app.add_api_route(f"{base}/batch_create", batch_create, methods=["POST"], name=f"batch_create_{plural}")
        app.add_api_route(base, list_all, methods=["GET"], name=f"list_{plural}")
        app.add_api_route(f"{base}/{{ident}}", get_one, methods=["GET"], name=f"get_{singular}")
        if resource.deletable:
            app.add_api_route(f"{base}/{{ident}}", delete_one, methods=["DELETE"], name=f"delete_{singular}")

    for resource in RESOURCES.values():
        add_resource_routes(resource)

    @app.get(f"{API_PREFIX}/sales_invoices/{{ident}}/receive_payments", name="invoice_receive_payments")
    async def invoice_receive_payments(ident: str, request: Request) -> Response:
        try:
            result = await run_in_threadpool(
                service.invoice_payments, ident, dict(request.query_params), _page_url(request)
            )
        except ApiError as error:
            return _error_response(error)
        return JurnalJSONResponse(result)

    @app.get(f"{SCM_PREFIX}/products/get_product_quantity_per_warehouse", name="product_quantity_per_warehouse")
    async def product_quantity_per_warehouse(request: Request) -> Response:
        status, body = await run_in_threadpool(service.product_quantities, dict(request.query_params))
        return JurnalJSONResponse(body, status_code=status)

    add_admin_routes(app, Admin(
        faults=state.faults,
        stats=state.stats,
        limiter=state.limiter,
        limits_model=RateLimits,
        initial_limits=config.limits,
        reset_data=state.service.reset,
        health=lambda: {"db_path": config.db_path},
    ))
    return app


def _run_batch(service: JurnalService, resource: Resource, singular: str, items: list[Any]) -> list[dict[str, Any]]:
    """``batch_failure='partial'``: each item is created (or refused) in its own transaction, in order, so one bad
    item never blocks the rest. ``'whole'``: one bad item refuses the call (422) and nothing is written."""
    if service.config.batch_failure == "whole":
        created = service.create_all_or_nothing(resource, singular, items)
        return [{singular: {"status": 201, "content": content}} for content in created]
    results: list[dict[str, Any]] = []
    for item in items:
        inner = item.get(singular) if isinstance(item, dict) else None
        try:
            if not isinstance(inner, dict):
                raise parameter_missing(singular)
            results.append({singular: {"status": 201, "content": service.create(resource, inner)}})
        except ApiError as error:
            results.append({singular: {"status": error.status, "content": error.body}})
    return results
