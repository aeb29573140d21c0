"""Live-server fixtures for the sandbox tests: a real uvicorn on a free 127.0.0.1 port, in a thread.

Generic on purpose (any ASGI app), so every sandbox's tests talk real HTTP the way the hooks do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from support.live_server import LiveServer


def _servers() -> Iterator[Callable[[Any], LiveServer]]:
    """``start(app)`` starts ``app`` and returns the running server; all are stopped, newest first, after."""
    started: list[LiveServer] = []

    def start(app: Any) -> LiveServer:
        server = LiveServer(app).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def live_server() -> Iterator[Callable[[Any], LiveServer]]:
    """``live_server(app)`` starts ``app`` and returns the running server; all are stopped after the test."""
    yield from _servers()


@pytest.fixture(scope="module")
def module_live_server() -> Iterator[Callable[[Any], LiveServer]]:
    """Like ``live_server`` but shared by a test module, for the fixtures that build one sandbox per module."""
    yield from _servers()
