"""Accurate Online: connection type ``accurate`` (API token and signature secret).

Every call carries ``Authorization: Bearer <API token>``, ``X-Api-Timestamp`` and ``X-Api-Signature`` =
base64(HMAC-SHA256(signature secret, timestamp)). The data host is discovered per token through
``api-token.do`` on the account host configured in the connection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from zoneinfo import ZoneInfo

from possync.targets.base.hook import TargetHttpHook
from possync.targets.base.pacing import Limit

WIB = ZoneInfo("Asia/Jakarta")


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


class AccurateHook(TargetHttpHook):
    """Talks to Accurate Online (or its sandbox) with API-token signed requests."""

    conn_name_attr = "accurate_conn_id"
    default_conn_name = "accurate_default"
    conn_type = "accurate"
    hook_name = "Accurate Online"
    secret_extras = ("signature_secret",)

    def pacing_limits(self) -> list[Limit]:
        return [Limit(int(self.settings.get("requests_per_second") or 8), 1)]

    def sign(self, method: str, path_with_query: str, body: bytes | None) -> dict[str, str]:
        return sign_request(self.connection.password, self.settings.get("signature_secret") or "")
