"""Both sandboxes answer the same admin API (possync_devkit.sandbox.harness): health, faults, limits, stats,
stats reset and reset with flags. Vendor behaviour (auth, envelopes, limits' semantics) is tested beside each
sandbox; this checks only that the shared part is shared."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from possync_devkit.sandbox import accurate, jurnal
from possync_devkit.sandbox.harness import BASE_COUNTERS


@dataclass
class Box:
    name: str
    client: TestClient
    api_path: str  # a vendor API call that an unsigned request is refused on (401)
    limits_change: dict[str, int]  # a valid POST /_sandbox/limits body
    own_flags: list[str]  # the sandbox's own reset flags


@pytest.fixture(params=["jurnal", "accurate"])
def box(request: pytest.FixtureRequest) -> Iterator[Box]:
    if request.param == "jurnal":
        app = jurnal.create_app(jurnal.SandboxConfig())
        spec = ("/public/jurnal/api/v1/customers", {"per_minute": 5}, [])
    else:
        app = accurate.create_app(accurate.SandboxConfig())
        spec = ("/accurate/api/glaccount/list.do", {"per_second": 3}, ["webhooks", "clock"])
    with TestClient(app) as client:
        yield Box(request.param, client, *spec)


def admin(box: Box, path: str, body: Any = None, status: int = 200) -> Any:
    url = f"/_sandbox/{path}"
    reply = box.client.get(url) if body is None else box.client.post(url, json=body)
    assert reply.status_code == status, reply.text
    return reply.json()


def test_health(box: Box) -> None:
    health = admin(box, "health")
    assert health["ok"] is True and health["db_path"] == ":memory:"


def test_faults_replace_the_whole_setting(box: Box) -> None:
    assert admin(box, "faults")["error_rate"] == 0
    set_ = admin(box, "faults", {"error_rate": 0.5, "drop_after_commit_next": 2, "seed": 1})
    assert (set_["error_rate"], set_["drops_left"], set_["latency_ms"]) == (0.5, 2, 0)
    assert admin(box, "faults", {"latency_ms": 5}) == {**admin(box, "faults"), "error_rate": 0.0, "drops_left": 0}
    admin(box, "faults", {"error_status": 200}, status=422)


def test_limits_are_set_validated_and_restored_by_reset(box: Box) -> None:
    started = admin(box, "limits")
    changed = admin(box, "limits", box.limits_change)
    assert changed != started and all(changed[key] == value for key, value in box.limits_change.items())
    assert admin(box, "limits") == changed
    admin(box, "limits", {key: 0 for key in box.limits_change}, status=422)
    admin(box, "limits", [1], status=422)
    assert admin(box, "reset", {"data": False, "stats": False, "faults": False})["reset"] == ["limits",
                                                                                              *box.own_flags]
    assert admin(box, "limits") == started


def test_stats_count_every_call_and_reset(box: Box) -> None:
    assert box.client.get(box.api_path).status_code == 401
    stats = admin(box, "stats")
    assert set(BASE_COUNTERS) | {"by_status", "by_endpoint"} <= set(stats)
    assert (stats["requests"], stats["unauthorized"], stats["by_status"]) == (1, 1, {"401": 1})
    assert sum(stats["by_endpoint"].values()) == 1
    admin(box, "health")  # admin routes are not counted
    assert admin(box, "stats")["requests"] == 1
    zeroed = admin(box, "stats/reset", {})
    assert zeroed["requests"] == 0 and zeroed["by_endpoint"] == {}
    assert admin(box, "stats") == zeroed


def test_reset_flags_are_shared_and_unknown_ones_refused(box: Box) -> None:
    assert admin(box, "reset", {})["reset"] == ["data", "stats", "faults", "limits", *box.own_flags]
    admin(box, "faults", {"error_rate": 1.0})
    assert admin(box, "reset", {"data": False, "stats": False, "limits": False})["reset"] == ["faults",
                                                                                              *box.own_flags]
    assert admin(box, "faults")["error_rate"] == 0
    refused = admin(box, "reset", {"rate_limits": True}, status=422)
    assert "unknown reset flags ['rate_limits']" in refused["detail"]
    admin(box, "reset", [True], status=422)
