"""What the load benchmarks share: memory high-water marks, free ports, batch helpers.

The benchmarks run as scripts (``python bench/bench_<target>_load.py``), so this module is imported from
their folder.
"""

from __future__ import annotations

import resource
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux: the high-water mark of this process so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def server_peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def created(results: Sequence[Any], what: str) -> None:
    refused = [result.error for result in results if not result.created]
    if refused:
        raise RuntimeError(f"the sandbox refused {len(refused)} {what}: {refused[:3]}")


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
