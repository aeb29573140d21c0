"""Mekari Jurnal: connection type ``jurnal`` (API base URL, HMAC client id and secret).

Requests are signed with Mekari's HMAC scheme: base64(HMAC-SHA256(secret, "date: <Date>\\n<request-line>")),
sent as ``Authorization: hmac username=..., algorithm="hmac-sha256", headers="date request-line",
signature=...``, with a ``Digest`` of the body on writes. Jurnal allows an API consumer 30 requests a
minute and 1,800 an hour (configurable per connection for other plans); the hook paces below both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, Sequence
from decimal import Decimal
from email.utils import formatdate
from typing import Any

from requests import Response

from possync.targets.base.errors import RejectedError, TransientTargetError
from possync.targets.base.hook import BatchItemResult, TargetHttpHook
from possync.targets.base.pacing import Limit

API_PREFIX = "/public/jurnal/api/v1"
#: record type → the web app's page of that document (my.jurnal.id/<page>/<id>)
DOCUMENT_PAGES = {
    "customer": "contacts", "item": "products", "invoice": "invoices", "payment": "receive_payments",
    "return": "sales_returns", "transfer_out": "warehouse_transfers", "transfer_in": "warehouse_transfers",
    "adjustment": "stock_adjustments", "stock_take": "stock_adjustments",
}
#: Jurnal's supply-chain service (stock per warehouse) sits beside the core API on the same gateway
SCM_PREFIX = "/public/jurnal/scm/public/lo/v1"
BATCH_LIMIT = 100
#: resource (URL segment) → the singular wrapper its bodies use
WRAPPERS = {
    "customers": "customer",
    "products": "product",
    "warehouses": "warehouse",
    "sales_invoices": "sales_invoice",
    "receive_payments": "receive_payment",
    "sales_returns": "sales_return",
    "bank_withdrawals": "bank_withdrawal",
    "warehouse_transfers": "warehouse_transfer",
    "stock_adjustments": "stock_adjustment",
}


def sign_request(client_id: str, client_secret: str, method: str, path_with_query: str,
                 body: bytes | None, date_header: str | None = None) -> dict[str, str]:
    """The auth headers for one request (``Date``, ``Authorization`` and, with a body or on a write, ``Digest``:
    the gateway wants it on every POST/PUT/PATCH/DELETE, of the empty body when there is none)."""
    date_header = date_header or formatdate(usegmt=True)
    request_line = f"{method.upper()} {path_with_query} HTTP/1.1"
    signed = f"date: {date_header}\n{request_line}".encode()
    signature = base64.b64encode(hmac.new(client_secret.encode(), signed, hashlib.sha256).digest()).decode()
    headers = {
        "Date": date_header,
        "Authorization": (
            f'hmac username="{client_id}", algorithm="hmac-sha256", '
            f'headers="date request-line", signature="{signature}"'
        ),
    }
    if body is not None or method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
        headers["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(body or b"").digest()).decode()
    return headers


def jurnal_error_message(body: Any) -> str | None:
    """Jurnal's own words from any of its error shapes (Rails attribute errors, ``error_full_messages``,
    ``{"error": ...}``, ``{"errors": ...}``, ``{"message": ...}``)."""
    if isinstance(body, list):
        return "; ".join(str(item) for item in body) or None
    if not isinstance(body, dict):
        return None
    if body.get("error_full_messages"):
        return "; ".join(str(m) for m in body["error_full_messages"])
    for key in ("message", "error", "errors"):
        value = body.get(key)
        if value:
            return "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    attributes = [
        f"{key} {'; '.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in body.items()
        if key != "id" and value
    ]
    return "; ".join(attributes) or None


class JurnalHook(TargetHttpHook):
    """Talks to Mekari Jurnal (or its sandbox) with HMAC-signed, paced, retried requests."""

    conn_name_attr = "jurnal_conn_id"
    default_conn_name = "jurnal_default"
    conn_type = "jurnal"
    hook_name = "Mekari Jurnal"

    def pacing_limits(self) -> list[Limit]:
        return [
            Limit(int(self.settings.get("requests_per_minute") or 30), 60),
            Limit(int(self.settings.get("requests_per_hour") or 1800), 3600),
        ]

    def sign(self, method: str, path_with_query: str, body: bytes | None) -> dict[str, str]:
        conn = self.connection
        if not conn.login or not conn.password:
            raise RejectedError(
                f"connection {self.http_conn_id!r} needs the HMAC client id (login) and secret (password)",
                status=0,
            )
        return sign_request(conn.login, conn.password, method, path_with_query, body)

    def error_message(self, body: Any, response: Response) -> str:
        return jurnal_error_message(body) or super().error_message(body, response)

    @property
    def web_url(self) -> str:
        """Where people open documents in Jurnal's web app (for task links)."""
        return str(self.settings.get("web_url") or "https://my.jurnal.id").rstrip("/")

    def document_url(self, record_type: str, target_id: str | None) -> str | None:
        """The page of a synced document in Jurnal's web app, for the Sync Status page and task links."""
        path = DOCUMENT_PAGES.get(record_type)
        return f"{self.web_url}/{path}/{target_id}" if path and target_id else None

    # -- the API -------------------------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, API_PREFIX + path, **kwargs)

    def create(self, resource: str, fields: dict[str, Any], *, idempotent: bool = False) -> dict[str, Any]:
        """Create one record; return the created record (unwrapped). ``idempotent``: repeating the create is
        safe (the record's name is unique, so a second one is refused), and the hook may retry it blindly."""
        wrapper = WRAPPERS[resource]
        reply = self.api("POST", f"/{resource}", body={wrapper: fields}, idempotent=idempotent)
        return reply.get(wrapper, reply)

    def batch_create(self, resource: str, items: Sequence[dict[str, Any]]) -> list[BatchItemResult]:
        """Create up to 100 records in one call; one result per item, in order."""
        if not 0 < len(items) <= BATCH_LIMIT:
            raise ValueError(f"batch_create takes 1 to {BATCH_LIMIT} items, got {len(items)}")
        wrapper = WRAPPERS[resource]
        reply = self.api("POST", f"/{resource}/batch_create", body={resource: [{wrapper: item} for item in items]})
        entries = reply.get(resource) if isinstance(reply, dict) else reply
        if not isinstance(entries, list) or len(entries) != len(items):
            raise TransientTargetError(
                f"batch_create of {len(items)} {resource} answered {len(entries) if isinstance(entries, list) else 0}"
                " results; the outcome of each item is unknown"
            )
        results = []
        for entry in entries:
            inner = entry.get(wrapper, entry) if isinstance(entry, dict) else {}
            status = int(inner.get("status", 0))
            content = inner.get("content") or {}
            error = None if 200 <= status < 300 else (jurnal_error_message(content) or f"HTTP {status}")
            results.append(BatchItemResult(200 <= status < 300, content if isinstance(content, dict) else {}, error))
        return results

    def get(self, resource: str, record_id: str | int) -> dict[str, Any] | None:
        """One record by id (or custom id where Jurnal accepts it); None when it does not exist (404, or the
        other not-found shape the docs show, 422 ``{"errors": "Data not found."}``)."""
        try:
            reply = self.api("GET", f"/{resource}/{record_id}")
        except RejectedError as error:
            if error.status == 404 or (error.status == 422 and "not found" in error.message.casefold()):
                return None
            raise
        return reply.get(WRAPPERS[resource], reply)

    def delete(self, resource: str, record_id: str | int) -> bool:
        """Delete one record by id; False when Jurnal has none (a delete whose reply was lost already did it,
        so repeating a delete is safe and the hook retries it like a read)."""
        try:
            self.api("DELETE", f"/{resource}/{record_id}", idempotent=True)
        except RejectedError as error:
            if error.status == 404 or (error.status == 422 and "not found" in error.message.casefold()):
                return False
            raise
        return True

    def iterate(self, resource: str, *, page_size: int = 100, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every record of a list endpoint, page by page."""
        page = 1
        while True:
            reply = self.api("GET", f"/{resource}", params={"page": page, "page_size": page_size, **filters})
            yield from reply.get(resource, [])
            if page >= int(reply.get("total_pages") or 1):
                return
            page += 1

    def stock_per_warehouse(self, product_ids: Sequence[str | int], chunk: int = 50) -> dict[str, dict[str, Decimal]]:
        """Product id → {warehouse name → quantity on hand}, from the supply-chain service (exact decimals)."""
        stock: dict[str, dict[str, Decimal]] = {}
        ids = [str(product_id) for product_id in product_ids]
        for start in range(0, len(ids), chunk):
            reply = self.call("GET", SCM_PREFIX + "/products/get_product_quantity_per_warehouse",
                              params={"ids": ",".join(ids[start:start + chunk])})
            for product in reply.get("data") or []:
                stock[str(product["id"])] = {
                    str(warehouse["name"]): Decimal(str(warehouse.get("quantity") or 0))
                    for warehouse in product.get("warehouse_inventory") or []
                }
        return stock

    def check_connection(self) -> str:
        """A one-item list of warehouses: signed like every call, changes nothing."""
        self.api("GET", "/warehouses", params={"page": 1, "page_size": 1})
        return f"Connected to Jurnal at {self.base_url}"
