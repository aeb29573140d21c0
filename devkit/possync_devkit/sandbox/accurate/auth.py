"""API-token authentication: Bearer token, X-Api-Timestamp (WIB ``dd/MM/yyyy HH:mm:ss``), X-Api-Signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from .wire import WIB, ApiError

TIMESTAMP_FORMAT = "%d/%m/%Y %H:%M:%S"


def sign(secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(key=secret, msg=timestamp)), the standard alphabet with padding."""
    digest = hmac.new(secret.encode(), timestamp.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def wib_timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(WIB)).astimezone(WIB).strftime(TIMESTAMP_FORMAT)


class AuthError(ApiError):
    def __init__(self, body: dict, kind: str) -> None:
        super().__init__([str(body)], status=401)
        self._body = body
        self.kind = kind

    @property
    def body(self) -> dict:  # type: ignore[override]
        return self._body


def verify(headers: Mapping[str, str], tokens: Mapping[str, str], skew_seconds: int, now: datetime) -> str:
    """The token of a well-signed call, or AuthError (HTTP 401). Checks: token, then timestamp, then signature."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError(
            {"error": "invalid_token", "error_description": "Header Authorization: Bearer <API token> wajib diisi"},
            "token",
        )
    secret = tokens.get(token)
    if secret is None:
        raise AuthError(
            {"error": "invalid_token", "error_description": "API token tidak dikenal atau expired"}, "token"
        )
    stamp = headers.get("x-api-timestamp", "").strip()
    try:
        sent = datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=WIB)
    except ValueError:
        sent = None
    if sent is None or abs((now - sent).total_seconds()) > skew_seconds:
        why = "missing or not dd/MM/yyyy HH:mm:ss WIB" if sent is None else f"more than {skew_seconds} s from now"
        raise AuthError({"s": False, "d": [f"Header X-Api-Timestamp invalid or expired ({why})"]}, "timestamp")
    signature = headers.get("x-api-signature", "").strip()
    if not signature or not hmac.compare_digest(signature, sign(secret, stamp)):
        raise AuthError({"s": False, "d": ["Header X-Api-Signature invalid"]}, "signature")
    return token
