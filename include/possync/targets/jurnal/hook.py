"""Mekari Jurnal: connection type ``jurnal`` (HMAC client id and secret).

Requests are signed with Mekari's HMAC scheme: base64(HMAC-SHA256(secret, "date: <Date>\\n<request-line>")),
sent as ``Authorization: hmac username=..., algorithm="hmac-sha256", headers="date request-line",
signature=...``, with a ``Digest`` of the body on writes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate

from possync.targets.base.hook import TargetHttpHook

API_PREFIX = "/public/jurnal/api/v1"


def sign_request(client_id: str, client_secret: str, method: str, path_with_query: str,
                 body: bytes | None, date_header: str | None = None) -> dict[str, str]:
    """The auth headers for one request (``Date``, ``Authorization`` and, with a body, ``Digest``)."""
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
    if body is not None:
        headers["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    return headers


class JurnalHook(TargetHttpHook):
    """Talks to Mekari Jurnal (or its sandbox) with HMAC-signed requests."""

    conn_name_attr = "jurnal_conn_id"
    default_conn_name = "jurnal_default"
    conn_type = "jurnal"
    hook_name = "Mekari Jurnal"
