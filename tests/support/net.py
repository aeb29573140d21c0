"""Ports for tests: a free one to start a server on, or to point a client at where nothing listens."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now. The socket is closed again, so a server can bind it (or, for
    "unreachable" tests, a client finds nobody there); another process could take it meanwhile, which on a
    test machine is rare enough."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on ``port``."""
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0
