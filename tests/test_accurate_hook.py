"""AccurateHook against a live Accurate sandbox (account host + data host): host discovery and signed calls,
and pacing keeps a pool of hooks under 8 calls a second and 8 in flight. Retries, ``s:false`` refusals,
Retry-After and bodies validated against the OpenAPI description, the same for every target:
test_target_hooks_live.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from possync.targets.accurate.hook import AccurateHook
from support.live_targets import AccurateLive, running


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[AccurateLive]:
    yield from running(AccurateLive, tmp_path)


def test_the_data_host_is_discovered_and_test_connection_reports(monkeypatch, sandbox) -> None:
    hook = sandbox.connect(monkeypatch)
    ok, message = hook.test_connection()
    assert ok and sandbox.data.url in message, message
    assert hook.data_host == sandbox.data.url
    ok, message = sandbox.connect(monkeypatch, secret="wrong", conn_id="accurate_bad").test_connection()
    assert not ok and message.startswith("credentials refused (HTTP 401)") and "X-Api-Signature" in message, message


def test_a_pool_of_hooks_stays_under_8_per_second_and_8_in_flight(monkeypatch, sandbox) -> None:
    sandbox.admin.faults({"latency_ms": 150})  # slow replies, so in-flight calls may overlap
    sandbox.admin.reset_stats()
    pool = 3
    hooks = [sandbox.connect(monkeypatch, conn_id=f"accurate_p{n}", share=pool) for n in range(pool)]
    errors: list[BaseException] = []

    def work(hook: AccurateHook) -> None:
        try:
            for _ in range(8):
                hook.api("glaccount", "list", params={"sp.pageSize": 1})
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(hook,)) for hook in hooks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stats = sandbox.admin.stats()
    assert not errors, errors
    assert stats["refused_rate"] == 0 and stats["refused_in_flight"] == 0
    # whether calls overlap depends on how the threads' turns fall (a call counts against the second from its
    # allowance until a second after its answer), never more than the pool's size
    assert 1 <= stats["max_in_flight_seen"] <= pool
    assert stats["requests"] >= pool * 8, stats
    assert sum(hook.throttled for hook in hooks) == 0
