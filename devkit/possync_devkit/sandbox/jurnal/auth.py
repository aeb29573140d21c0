"""Mekari API gateway HMAC authentication (accounting_apis.md §1.2, devcenter-kb hmac-authentication).

``Authorization: hmac username="<id>", algorithm="hmac-sha256", headers="date request-line", signature="<b64>"``
where the signature is base64(HMAC-SHA256(secret, "date: <Date>\\n<METHOD> <path?query> HTTP/1.1")), the
``Date`` header is an RFC 7231 IMF-fixdate in GMT within the allowed skew, and bodies of POST/PUT/PATCH/DELETE
carry ``Digest: SHA-256=<base64(sha256(body))>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from .errors import ApiError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


def unauthorized(message: str) -> ApiError:
    # One of the two 401 shapes the swagger documents; the message says which check failed.
    return ApiError(401, {"error": "Unauthorized", "message": message})


def request_line(method: str, path_with_query: str) -> str:
    return f"{method.upper()} {path_with_query} HTTP/1.1"


def expected_signature(secret: str, date_header: str, method: str, path_with_query: str) -> str:
    signing_string = f"date: {date_header}\n{request_line(method, path_with_query)}"
    digest = hmac.new(secret.encode(), signing_string.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def body_digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def parse_http_date(value: str) -> datetime:
    """Strict IMF-fixdate (``Wed, 28 Oct 2020 06:23:23 GMT``): RFC 7231's preferred and only generated form."""
    return datetime.strptime(value.strip(), "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)


def verify(
    *,
    method: str,
    path_with_query: str,
    headers: Mapping[str, str],
    body: bytes,
    clients: Mapping[str, str],
    clock_skew_seconds: int,
    now: datetime,
) -> str:
    """The authenticated client id, or ``ApiError(401)`` naming the first check that failed."""
    authorization = headers.get("authorization")
    if not authorization:
        raise unauthorized("Authorization header is missing; expected 'hmac username=..., signature=...'")
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "hmac":
        raise unauthorized(f"Unsupported authorization scheme {scheme!r}; expected 'hmac'")
    params = dict(_PARAM.findall(rest))
    username = params.get("username")
    signature = params.get("signature")
    if not username or not signature:
        raise unauthorized("Authorization header must carry username and signature")
    if params.get("algorithm", "").lower() != "hmac-sha256":
        raise unauthorized("HMAC algorithm must be hmac-sha256")
    if params.get("headers", "").split() != ["date", "request-line"]:
        raise unauthorized('HMAC headers must be "date request-line"')
    secret = clients.get(username)
    if secret is None:
        raise unauthorized(f"Unknown HMAC username (client id) {username!r}")

    date_header = headers.get("date")
    if not date_header:
        raise unauthorized("Date header is missing; it is required for HMAC authentication")
    try:
        sent_at = parse_http_date(date_header)
    except ValueError:
        raise unauthorized(
            f"Date header {date_header!r} is not an RFC 7231 date like 'Wed, 28 Oct 2020 06:23:23 GMT'"
        ) from None
    skew = abs((now - sent_at).total_seconds())
    if skew > clock_skew_seconds:
        raise unauthorized(
            f"Date header is {skew:.0f} s away from the server clock; at most {clock_skew_seconds} s is allowed"
        )

    wanted = expected_signature(secret, date_header, method, path_with_query)
    if not hmac.compare_digest(wanted.encode(), signature.encode()):
        raise unauthorized(
            "HMAC signature does not match; sign 'date: <Date>\\n<METHOD> <path?query> HTTP/1.1' with the secret"
        )

    if method.upper() in BODY_METHODS:
        digest = headers.get("digest")
        if not digest:
            raise unauthorized(f"Digest header is missing; it is required on {method.upper()} requests")
        algorithm, _, value = digest.strip().partition("=")
        if algorithm.upper() != "SHA-256" or not hmac.compare_digest(
            value.encode(), body_digest(body).partition("=")[2].encode()
        ):
            raise unauthorized("Digest header does not match the request body (expected SHA-256=<base64>)")
    return username
