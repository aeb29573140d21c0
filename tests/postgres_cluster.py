"""A throwaway PostgreSQL cluster for tests and benchmarks, from the Debian server packages.

``python tests/postgres_cluster.py start DIR`` initialises and starts a cluster in DIR on a free loopback
port and prints its URL; ``stop DIR`` stops it. The test suite uses the same functions when
``POSSYNC_TEST_PG_URL`` is not set. PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` system user (created by the Debian package).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise RuntimeError(
        f"PostgreSQL's {name} was not found: install the server (apt-get install postgresql) "
        "or point POSSYNC_TEST_PG_URL at a running server"
    )


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data_dir: Path) -> str:
    """Initialise and start a cluster in ``data_dir``; return a superuser URL for it."""
    data_dir = Path(data_dir).resolve()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    if os.geteuid() == 0:
        server_user = pwd.getpwnam("postgres")
        for path in (data_dir, *data_dir.parents):
            if path == Path("/"):
                break
            # the server user must be able to reach its data directory
            path.chmod(path.stat().st_mode | 0o011)
        shutil.chown(data_dir, server_user.pw_uid, server_user.pw_gid)
    port = _free_port()
    pgdata = data_dir / "pgdata"
    subprocess.run(
        _as_server_user(
            [_pg_bin("initdb"), "-D", str(pgdata), "-U", "possync", "--auth=trust", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        _as_server_user(
            [_pg_bin("pg_ctl"), "-D", str(pgdata), "-o", options, "-l", str(data_dir / "server.log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    return f"postgresql+psycopg2://possync@127.0.0.1:{port}/postgres"


def stop(data_dir: Path) -> None:
    pgdata = Path(data_dir).resolve() / "pgdata"
    if pgdata.exists():
        subprocess.run(
            _as_server_user([_pg_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit("usage: postgres_cluster.py start|stop DIR")
    if sys.argv[1] == "start":
        print(start(Path(sys.argv[2])))
    else:
        stop(Path(sys.argv[2]))
