"""A client of the admin API every sandbox shares (possync_devkit/sandbox/harness.py): faults, limits,
stats and reset, so tests drive the Jurnal and Accurate sandboxes the same way."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

PREFIX = "/_sandbox"


class SandboxAdmin:
    """``/_sandbox/*`` of one sandbox host (Jurnal's only host, Accurate's data host).

    Every call must answer 200, else it raises with the sandbox's reply, so a misspelt setting fails the
    test that made it instead of silently configuring nothing. ``parse_float=Decimal`` reads amounts
    exactly, for the tests that compare them to the sen.
    """

    def __init__(self, url: str, *, timeout: float = 10, parse_float: Callable[[str], Any] = float) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.parse_float = parse_float

    def get(self, path: str) -> Any:
        return self._reply(requests.get(f"{self.url}{PREFIX}/{path}", timeout=self.timeout))

    def post(self, path: str, body: Any = None) -> Any:
        return self._reply(requests.post(f"{self.url}{PREFIX}/{path}", json=body, timeout=self.timeout))

    def _reply(self, response: requests.Response) -> Any:
        if response.status_code != 200:
            raise AssertionError(f"{response.request.method} {response.url} answered "
                                 f"{response.status_code}: {response.text}")
        return json.loads(response.text, parse_float=self.parse_float)

    def health(self) -> dict[str, Any]:
        return self.get("health")

    def faults(self, settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """The fault settings; with ``settings``, replace them first (``{}`` clears every fault)."""
        return self.get("faults") if settings is None else self.post("faults", settings)

    def limits(self, settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """The rate limits; with ``settings``, change them first."""
        return self.get("limits") if settings is None else self.post("limits", settings)

    def stats(self) -> dict[str, Any]:
        return self.get("stats")

    def reset_stats(self) -> dict[str, Any]:
        return self.post("stats/reset", {})

    def reset(self, flags: dict[str, Any] | None = None) -> dict[str, Any]:
        """Reset the sandbox (its data, faults, limits, stats; ``flags`` choose, as the harness documents)."""
        return self.post("reset", flags)
