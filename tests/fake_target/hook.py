"""Ledgerbook's hook: bearer auth, its limits, batch creates and lookups; retries and pacing come from the base."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from possync.targets.base.hook import BatchItemResult, TargetHttpHook
from possync.targets.base.pacing import Limit


class LedgerbookHook(TargetHttpHook):
    conn_name_attr = "ledgerbook_conn_id"
    default_conn_name = "ledgerbook_default"
    conn_type = "ledgerbook"
    hook_name = "Ledgerbook"

    def pacing_limits(self) -> list[Limit]:
        return [Limit(int(self.settings.get("requests_per_second") or 50), 1)]

    def sign(self, method: str, path_with_query: str, body: bytes | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.connection.password}"}

    @property
    def web_url(self) -> str:
        return str(self.settings.get("web_url") or "https://ledgerbook.test")

    def document_url(self, record_type: str, target_id: str | None) -> str | None:
        return f"{self.web_url}/{record_type}/{target_id}" if target_id else None

    def batch_create(self, kind: str, items: Sequence[dict[str, Any]]) -> list[BatchItemResult]:
        reply = self.call("POST", f"/v1/{kind}/batch", body={"items": list(items)})
        return [BatchItemResult(result["ok"], result.get("record") or {}, result.get("error"))
                for result in reply["results"]]

    def find(self, kind: str, number: str) -> dict[str, Any] | None:
        items = self.call("GET", f"/v1/{kind}", params={"number": number})["items"]
        return items[0] if items else None
