"""Accurate Online: connection type ``accurate`` (account URL, API token, signature secret).

Every call carries ``Authorization: Bearer <API token>``, ``X-Api-Timestamp`` and ``X-Api-Signature`` =
base64(HMAC-SHA256(signature secret, timestamp)). A token is bound to one database, whose data host is
discovered through ``api-token.do`` on the account host configured in the connection and never hard-coded.

Accurate answers business and validation errors with HTTP 200 and ``{"s": false, "d": ["<message>"]}``:
the hook turns those into ``RejectedError`` with Accurate's own words, like any other permanent refusal.
Accurate allows 8 calls a second and 8 in flight; every task calling it runs in the target's Airflow pool
(calls are sequential within a task, so the pool's size caps those in flight) and paces to its share of the 8
a second (``pacing_share``; or, with ``shared_pacing``, to one allowance shared by every process through the
integration's ledger), so neither limit is crossed.
Should a call be throttled all the same, the reply is recognised whether it is a 429 or a 200 ``s:false``
naming the limit (``is_throttled``; Accurate does not document which), waited out and sent again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from requests import Response

from possync.targets.base.errors import RejectedError, TransientTargetError
from possync.targets.base.hook import BatchItemResult, TargetHttpHook
from possync.targets.base.pacing import Limit

WIB = ZoneInfo("Asia/Jakarta")
BULK_LIMIT = 100
NOT_FOUND = "Data tidak ditemukan"


def sign_request(api_token: str, signature_secret: str, now: datetime | None = None) -> dict[str, str]:
    """The auth headers for one call; the timestamp is WIB ``dd/MM/yyyy HH:mm:ss`` as most clients send it."""
    timestamp = (now or datetime.now(WIB)).astimezone(WIB).strftime("%d/%m/%Y %H:%M:%S")
    signature = base64.b64encode(
        hmac.new(signature_secret.encode(), timestamp.encode(), hashlib.sha256).digest()
    ).decode()
    return {
        "Authorization": f"Bearer {api_token}",
        "X-Api-Timestamp": timestamp,
        "X-Api-Signature": signature,
    }


#: words of a throttle reply. Accurate documents its limit (8 calls a second, 8 in flight) but not the answer
#: beyond it: a 429, or a 200 ``{"s": false, "d": ["<message>"]}`` like its business errors, whose wording is
#: unknown; these cover the Indonesian and English phrasings such a refusal would plausibly use, and none a
#: business refusal would (a credit limit is "melebihi batas kredit", hence no bare "melebihi batas").
THROTTLE_MARKERS = (
    "terlalu banyak request", "terlalu banyak permintaan", "terlalu banyak panggilan", "too many request",
    "rate limit", "batas pemanggilan", "batasan pemanggilan", "panggilan per detik", "requests per second",
    "throttl",
)


def is_throttle_reply(body: Any) -> bool:
    """An ``{"s": false, "d": [...]}`` whose messages say the call was refused for going too fast."""
    if not isinstance(body, dict) or body.get("s") is not False:
        return False
    messages = body.get("d")
    texts = [messages] if isinstance(messages, str) else messages if isinstance(messages, list) else []
    return any(isinstance(text, str) and any(m in text.casefold() for m in THROTTLE_MARKERS) for text in texts)


def accurate_error_message(body: Any) -> str | None:
    """Accurate's own words from its envelope (``{"s": false, "d": [...]}``) or its OAuth-layer shape."""
    if isinstance(body, dict):
        messages = body.get("d")
        if isinstance(messages, list) and messages:
            return "; ".join(str(message) for message in messages)
        if isinstance(messages, str) and messages:
            return messages
        if body.get("error"):
            return "; ".join(str(body[key]) for key in ("error", "error_description") if body.get(key))
    return None


class AccurateHook(TargetHttpHook):
    """Talks to Accurate Online (or its sandbox) with API-token signed, paced, retried requests."""

    conn_name_attr = "accurate_conn_id"
    default_conn_name = "accurate_default"
    conn_type = "accurate"
    hook_name = "Accurate Online"
    secret_extras = ("signature_secret", "webhook_secret")

    def pacing_limits(self) -> list[Limit]:
        return [Limit(int(self.settings.get("requests_per_second") or 8), 1)]

    def sign(self, method: str, path_with_query: str, body: bytes | None) -> dict[str, str]:
        conn = self.connection
        secret = self.settings.get("signature_secret")
        if not conn.password or not secret:
            raise RejectedError(
                f"connection {self.http_conn_id!r} needs the API token (password) and the signature secret",
                status=0,
            )
        return sign_request(conn.password, secret)

    def error_message(self, body: Any, response: Response) -> str:
        return accurate_error_message(body) or super().error_message(body, response)

    def is_throttled(self, response: Response, body: Any) -> bool:
        """A 429, or a throttle message in Accurate's usual ``s:false`` envelope at any status (the answer beyond
        the limit is undocumented): either way refused before any work, so it is waited out and sent again,
        never a document's failure."""
        return response.status_code == 429 or is_throttle_reply(body)

    @property
    def web_url(self) -> str:
        """Where people open documents in Accurate's web app (for task links)."""
        return str(self.settings.get("web_url") or "https://accurate.id").rstrip("/")

    # -- hosts ---------------------------------------------------------------------------------------

    def url_for(self, path_with_query: str) -> str:
        if path_with_query.startswith("/accurate/"):
            return self.data_host + path_with_query
        return super().url_for(path_with_query)

    @cached_property
    def database(self) -> dict[str, Any]:
        """The database the token is bound to (``id``, ``alias``, ``host``), from the account host."""
        reply = self._envelope(self.call("POST", "/api/api-token.do", idempotent=True), "api-token.do")
        data = reply.get("d") or {}
        database = data.get("database") or data.get("data usaha") or {}
        if not database.get("host"):
            raise RejectedError(f"api-token.do named no data host for this token: {reply}", status=0)
        return database

    @property
    def data_host(self) -> str:
        return str(self.database["host"]).rstrip("/")

    # -- the API -------------------------------------------------------------------------------------

    def _envelope(self, reply: Any, what: str) -> dict[str, Any]:
        if not isinstance(reply, dict) or "s" not in reply:
            raise TransientTargetError(f"{what} answered without Accurate's envelope: {str(reply)[:200]}")
        if reply["s"] is not True:
            raise RejectedError(accurate_error_message(reply) or f"{what} refused", status=200, body=reply)
        return reply

    def api(self, module: str, action: str, *, params: dict[str, Any] | None = None, body: Any = None,
            method: str | None = None, idempotent: bool | None = None) -> dict[str, Any]:
        """Call ``/accurate/api/<module>/<action>.do``; return the envelope of a successful reply."""
        verb = method or ("POST" if body is not None else "GET")
        reply = self.call(verb, f"/accurate/api/{module}/{action}.do", params=params, body=body, idempotent=idempotent)
        return self._envelope(reply, f"{module}/{action}.do")

    def save(self, module: str, fields: dict[str, Any], *, idempotent: bool = False) -> dict[str, Any]:
        """Create (or, with ``id``, update) one record; return the saved record (``r``). ``idempotent``:
        repeating it is safe (its number or name is unique), and the hook may retry it blindly."""
        return self.api(module, "save", body=fields, idempotent=idempotent).get("r") or {}

    def bulk_save(self, module: str, items: Sequence[dict[str, Any]]) -> list[BatchItemResult]:
        """Save up to 100 records in one call; one result per item, in order (Accurate commits each item
        on its own, so one refused item does not undo the others)."""
        if not 0 < len(items) <= BULK_LIMIT:
            raise ValueError(f"bulk-save takes 1 to {BULK_LIMIT} items, got {len(items)}")
        reply = self.call("POST", f"/accurate/api/{module}/bulk-save.do", body={"data": list(items)})
        entries = reply.get("d") if isinstance(reply, dict) else None
        if not isinstance(entries, list) or len(entries) != len(items) or not all(
            isinstance(entry, dict) and "s" in entry for entry in entries
        ):
            # a refusal of the whole call (e.g. too many items) has messages, not per-item results
            if isinstance(reply, dict) and reply.get("s") is False and entries and isinstance(entries[0], str):
                raise RejectedError(accurate_error_message(reply) or "bulk-save refused", status=200, body=reply)
            raise TransientTargetError(
                f"{module}/bulk-save.do of {len(items)} answered no per-item results; the outcome of each is unknown"
            )
        return [
            BatchItemResult(entry["s"] is True, entry.get("r") or {},
                            None if entry["s"] is True else accurate_error_message(entry) or "refused")
            for entry in entries
        ]

    def detail(self, module: str, **key: Any) -> dict[str, Any] | None:
        """One record by ``id`` or its number (``number``, ``no``, ``customerNo``); None when Accurate has none."""
        try:
            return self.api(module, "detail", params=key).get("d") or None
        except RejectedError as error:
            if error.status == 200 and NOT_FOUND.casefold() in error.message.casefold():
                return None
            raise

    def delete(self, module: str, record_id: str | int) -> bool:
        """Delete one record by id (``delete.do``); False when Accurate has none (a delete whose reply was lost
        already did it, so repeating a delete is safe and the hook retries it like a read)."""
        try:
            self.api(module, "delete", params={"id": record_id}, method="DELETE", idempotent=True)
        except RejectedError as error:
            if error.status == 200 and NOT_FOUND.casefold() in error.message.casefold():
                return False
            raise
        return True

    def iterate(self, module: str, *, fields: Sequence[str], page_size: int = 100,
                **filters: Any) -> Iterator[dict[str, Any]]:
        """Every record of ``list.do`` with the given fields (Accurate returns only ``id`` otherwise)."""
        page = 1
        while True:
            params = {"fields": ",".join(fields), "sp.page": page, "sp.pageSize": page_size, **filters}
            reply = self.api(module, "list", params=params)
            yield from reply.get("d") or []
            if page >= int((reply.get("sp") or {}).get("pageCount") or 1):
                return
            page += 1

    def renew_webhook(self) -> str:
        """Extend the application's webhook subscription (Accurate drops it after 7 days); the new expiry."""
        reply = self.call("POST", "/api/webhook-renew.do", idempotent=True)
        return str(self._envelope(reply, "webhook-renew.do").get("d"))

    def check_connection(self) -> str:
        """The token's database from the account host (``api-token.do``), then a one-row list of accounts on
        its data host: both signed like every call, neither changes anything."""
        database = self.database
        self.api("glaccount", "list", params={"sp.pageSize": 1})
        return f"Connected to Accurate database {database.get('alias') or database.get('id')} at {self.data_host}"
