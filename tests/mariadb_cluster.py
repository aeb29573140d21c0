"""A throwaway MariaDB server for tests, from Debian's ``mariadb-server`` package.

``python tests/mariadb_cluster.py start DIR`` initialises a data directory in DIR, starts ``mariadbd`` on a
free loopback port and prints a URL for it; ``stop DIR`` stops it. The test suite uses the same functions when
``POSSYNC_TEST_MARIADB_URL`` is not set. MariaDB refuses to run as root, so as root the server drops to the
``mysql`` system user (created by the Debian package) with ``--user``; otherwise it runs as whoever starts it.

The server has real authentication: an init file creates the ``possync`` account (password ``possync``,
loopback only) with every privilege, and the URL logs in with it over TCP through PyMySQL, as a production
connection would.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

USER = "possync"
PASSWORD = "possync"
DRIVER = "mysql+pymysql"
START_TIMEOUT_S = 60
#: the servers this process started, by data directory: kept so they are waited for (not left to the garbage
#: collector, which warns about a child still running)
_servers: dict[Path, subprocess.Popen[bytes]] = {}


def _bin(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(
        f"MariaDB's {name} was not found: install the server (apt-get install mariadb-server, which "
        "scripts/system_packages.sh test does as root) or point POSSYNC_TEST_MARIADB_URL at a running server"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user_args(data_dir: Path) -> list[str]:
    """``--user=mysql`` when running as root (the server refuses root), after giving that user the folder."""
    if os.geteuid() != 0:
        return []
    try:
        server_user = pwd.getpwnam("mysql")
    except KeyError as missing:
        raise RuntimeError(
            "running as root, MariaDB needs the 'mysql' system user, which the mariadb-server package creates"
        ) from missing
    for path in (data_dir, *data_dir.parents):
        if path == Path("/"):
            break
        # the server user must be able to reach its data directory
        path.chmod(path.stat().st_mode | 0o011)
    shutil.chown(data_dir, server_user.pw_uid, server_user.pw_gid)
    return ["--user=mysql"]


def _log_tail(data_dir: Path, lines: int = 25) -> str:
    log = data_dir / "server.log"
    if not log.exists():
        return "(no server log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def start(data_dir: Path) -> str:
    """Initialise and start a server in ``data_dir``; return a URL (with every privilege) for it."""
    data_dir = Path(data_dir).resolve()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    # a temporary directory of its own: servers bootstrapping side by side in the shared /tmp collide on the
    # names of their temporary tables ("Unknown table 'mysql.tmp_proxies_priv'")
    user_args = _server_user_args(data_dir)
    tmpdir = data_dir / "tmp"
    tmpdir.mkdir()
    shutil.chown(tmpdir, data_dir.stat().st_uid, data_dir.stat().st_gid)  # the server's user, like its folder
    datadir = data_dir / "data"
    installed = subprocess.run(
        [_bin("mariadb-install-db"), "--no-defaults", f"--datadir={datadir}", *user_args,
         "--auth-root-authentication-method=socket", "--skip-test-db", f"--tmpdir={tmpdir}"],
        capture_output=True, text=True,
    )
    if installed.returncode != 0:
        raise RuntimeError(f"mariadb-install-db failed ({installed.returncode}): "
                           f"{(installed.stderr or installed.stdout)[-2000:]}")
    init = data_dir / "init.sql"
    init.write_text(
        f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';\n"
        f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1' WITH GRANT OPTION;\n"
    )
    init.chmod(0o644)
    port = _free_port()
    socket_path = data_dir / "mariadb.sock"
    if len(str(socket_path)) > 100:  # a Unix socket's path has at most 107 bytes
        socket_path = Path(tempfile.mkdtemp(prefix="mdb-")) / "s"
        socket_path.parent.chmod(0o777)
    server = subprocess.Popen(
        [_bin("mariadbd"), "--no-defaults", f"--datadir={datadir}", *user_args, f"--tmpdir={tmpdir}",
         f"--port={port}", "--bind-address=127.0.0.1", f"--socket={socket_path}",
         f"--pid-file={data_dir / 'mariadb.pid'}", f"--log-error={data_dir / 'server.log'}",
         f"--init-file={init}", "--skip-name-resolve", "--character-set-server=utf8mb4",
         "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
         "--max-connections=200", "--skip-log-bin"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    (data_dir / "server.pid").write_text(str(server.pid))
    _servers[data_dir] = server
    deadline = time.monotonic() + START_TIMEOUT_S
    import pymysql

    while True:
        if server.poll() is not None:
            raise RuntimeError(f"mariadbd exited with {server.returncode} while starting:\n{_log_tail(data_dir)}")
        try:
            pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, connect_timeout=2).close()
            break
        except pymysql.err.OperationalError as error:
            if time.monotonic() > deadline:
                stop(data_dir)
                raise RuntimeError(
                    f"mariadbd did not accept connections within {START_TIMEOUT_S}s ({error}):\n{_log_tail(data_dir)}"
                ) from error
            time.sleep(0.2)
    return f"{DRIVER}://{USER}:{PASSWORD}@127.0.0.1:{port}/mysql?charset=utf8mb4"


def stop(data_dir: Path) -> None:
    """Stop the server started in ``data_dir`` (SIGTERM: a clean shutdown), waiting for it to exit."""
    server = _servers.pop(Path(data_dir).resolve(), None)
    if server is not None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        return
    pid_file = Path(data_dir).resolve() / "server.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it
        except ChildProcessError:  # started by another process (the CLI): poll for it
            done = 0
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        if done:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit("usage: mariadb_cluster.py start|stop DIR")
    if sys.argv[1] == "start":
        print(start(Path(sys.argv[2])))
    else:
        stop(Path(sys.argv[2]))
