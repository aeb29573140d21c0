"""scripts/system_packages.sh: what `make test`, `make stack-test` and `make demo` find missing, and what they do
about it (install with apt-get as root, otherwise name the packages and the command, and stop).

Real installs cannot be tested here: the script runs with a PATH of stubs (``id``, ``apt-get``, ``python3``, the
commands it looks for) and an empty system root, so nothing on this machine counts as installed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "system_packages.sh"


def _stub(bin_dir: Path, name: str, body: str = "exit 0") -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/bash\n{body}\n")
    path.chmod(0o755)


def _run(tmp_path: Path, target: str, *, uid: int, apt: bool, present: tuple[str, ...] = (),
         venv_module: bool = False) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    _stub(bin_dir, "id", f"echo {uid}")
    _stub(bin_dir, "python3", "exit 0" if venv_module else "exit 1")
    if apt:
        _stub(bin_dir, "apt-get", f'echo "$*" >> {tmp_path}/apt-get.calls')
    for command in present:
        _stub(bin_dir, command)
    (tmp_path / "root").mkdir(exist_ok=True)
    work = tmp_path / "checkout"
    work.mkdir(exist_ok=True)
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), target], cwd=work, capture_output=True, text=True, timeout=30,
        env={"PATH": str(bin_dir), "POSSYNC_SYSTEM_ROOT": str(tmp_path / "root")},
    )


def test_not_root_names_what_make_test_needs_and_the_command(tmp_path: Path) -> None:
    result = _run(tmp_path, "test", uid=1000, apt=True)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "make test needs: python3-venv postgresql mariadb-server chromium redis-server docker-compose; "
        "install them with: sudo apt-get install -y python3-venv postgresql mariadb-server chromium redis-server "
        "docker-compose"
    )
    assert not (tmp_path / "apt-get.calls").exists()


def test_root_without_apt_get_names_them_too(tmp_path: Path) -> None:
    result = _run(tmp_path, "stack-test", uid=0, apt=False)
    assert result.returncode == 1
    assert "make stack-test needs: python3-venv postgresql util-linux redis-server docker-compose;" in result.stderr


def test_root_with_apt_get_installs_only_what_is_missing(tmp_path: Path) -> None:
    result = _run(tmp_path, "test", uid=0, apt=True, present=("chromium", "runuser", "redis-server"),
                  venv_module=True)
    assert result.returncode == 0, result.stderr
    assert "installing postgresql mariadb-server docker-compose (apt-get)" in result.stdout
    calls = (tmp_path / "apt-get.calls").read_text().splitlines()
    assert calls == ["update -qq", "install -y -qq postgresql mariadb-server docker-compose"]


def test_mariadb_found_in_sbin_or_on_path_is_not_installed_again(tmp_path: Path) -> None:
    (tmp_path / "root" / "usr/sbin").mkdir(parents=True)
    (tmp_path / "root" / "usr/sbin/mariadbd").touch(mode=0o755)
    in_sbin = _run(tmp_path, "test", uid=0, apt=True, venv_module=True,
                   present=("initdb", "chromium", "runuser", "redis-server", "docker-compose"))
    assert (in_sbin.returncode, in_sbin.stdout) == (0, "")
    (tmp_path / "root" / "usr/sbin/mariadbd").unlink()
    on_path = _run(tmp_path, "test", uid=0, apt=True, venv_module=True,
                   present=("initdb", "mariadbd", "chromium", "runuser", "redis-server", "docker-compose"))
    assert (on_path.returncode, on_path.stdout) == (0, "")
    assert not (tmp_path / "apt-get.calls").exists()


def test_stack_test_and_demo_need_no_mariadb(tmp_path: Path) -> None:
    result = _run(tmp_path, "stack-test", uid=1000, apt=False, venv_module=True,
                  present=("initdb", "redis-server", "docker-compose"))
    assert (result.returncode, result.stderr) == (0, "")


def test_nothing_missing_does_nothing(tmp_path: Path) -> None:
    (tmp_path / "root" / "usr/lib/postgresql/15/bin").mkdir(parents=True)
    (tmp_path / "root" / "usr/lib/postgresql/15/bin/initdb").touch()
    result = _run(tmp_path, "stack-test", uid=1000, apt=True, venv_module=True,
                  present=("redis-server", "docker-compose"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not (tmp_path / "apt-get.calls").exists()


@pytest.mark.parametrize("uid", [0, 1000])
def test_the_demo_needs_no_server_package(tmp_path: Path, uid: int) -> None:
    result = _run(tmp_path, "demo", uid=uid, apt=False, venv_module=True)
    assert (result.returncode, result.stderr) == (0, "")


def test_an_unknown_target_is_refused(tmp_path: Path) -> None:
    result = _run(tmp_path, "bench", uid=1000, apt=False)
    assert result.returncode == 2
    assert "unknown target 'bench'" in result.stderr
