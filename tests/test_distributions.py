"""The two distributions this repository builds: ``possync`` (pyproject.toml, production) ships production code
only; ``possync-devkit`` (devkit/pyproject.toml) ships the sandboxes, the demo POS generator and the head-office
simulator, and its sandboxes import nothing from possync.

Each is built into a real wheel (``pip wheel --no-deps --no-build-isolation``, offline, with the venv's
setuptools and ``wheel`` from requirements-dev.txt) and its contents read from the archive.
"""

from __future__ import annotations

import ast
import configparser
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]
SANDBOX = ("possync_devkit", "sandbox")


@dataclass(frozen=True)
class Built:
    """What one distribution would install: its files (posix paths under site-packages) and entry points."""

    root: Path
    files: frozenset[str]
    entry_points: dict[str, dict[str, str]]

    def python_files(self, prefix: str) -> list[PurePosixPath]:
        return sorted(PurePosixPath(f) for f in self.files if f.startswith(prefix) and f.endswith(".py"))


#: what each distribution is built from, as the Dockerfile copies it (never a build/ left in the checkout)
SOURCES = {"possync": (ROOT, ("pyproject.toml", "README.md", "include")),
           "possync-devkit": (ROOT / "devkit", ("pyproject.toml", "possync_devkit"))}


def build(name: str, out: Path) -> Built:
    """Build the distribution's wheel from a clean copy of its sources into ``out`` and unpack it there."""
    origin, parts = SOURCES[name]
    project = out / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for part in parts:
        source = origin / part
        if source.is_dir():
            shutil.copytree(source, project / part, ignore=ignore)
        else:
            project.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / part)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--no-index", "--wheel-dir", str(out), str(project)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (wheel,) = out.glob("*.whl")
    assert wheel.name.startswith(name.replace("-", "_") + "-"), wheel.name
    lib = out / "lib"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(lib)
    files = frozenset(p.relative_to(lib).as_posix() for p in lib.rglob("*")
                      if p.is_file() and not p.relative_to(lib).parts[0].endswith(".dist-info"))
    (dist_info,) = lib.glob("*.dist-info")
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # entry point names are case-sensitive
    parser.read(dist_info / "entry_points.txt")
    entry_points = {section: dict(parser[section]) for section in parser.sections()}
    return Built(lib, files, entry_points)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build("possync", tmp_path_factory.mktemp("possync"))


@pytest.fixture(scope="module")
def devkit(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build("possync-devkit", tmp_path_factory.mktemp("possync-devkit"))


def imported_modules(path: Path, module: tuple[str, ...]) -> list[str]:
    """Every module a file imports, relative imports resolved against its package (``module`` is its dotted
    name as parts, ``__init__`` included for a package's own file)."""
    package = module[:-1]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                names.append(".".join([*base, *([node.module] if node.module else [])]))
            else:
                names.append(node.module or "")
    return names


def test_the_production_distribution_holds_production_code_only(production: Built) -> None:
    assert production.files, "the wheel is empty"
    assert all(f.startswith("possync/") for f in production.files), sorted(production.files)
    for forbidden in ("sandbox", "devkit", "demo", "simulator"):
        assert not [f for f in production.files if forbidden in f], forbidden
    assert "possync/cli.py" in production.files
    assert "possync/pos/schema.py" in production.files
    assert "possync/targets/headoffice/schema.py" in production.files
    assert "possync/pos/profiles/shipped/reference.yaml" in production.files  # profile: reference
    assert production.entry_points["console_scripts"] == {"possync": "possync.cli:main"}


def test_no_production_module_imports_the_devkit(production: Built) -> None:
    for path in production.python_files("possync/"):
        module = tuple(path.with_suffix("").parts)
        for name in imported_modules(production.root / path, module):
            assert not name.startswith("possync_devkit"), (str(path), name)


def test_the_devkit_distribution_holds_the_sandboxes_the_generator_and_the_simulator(devkit: Built) -> None:
    assert all(f.startswith("possync_devkit/") for f in devkit.files), sorted(devkit.files)
    for expected in ("possync_devkit/cli.py", "possync_devkit/__main__.py", "possync_devkit/demo_pos.py",
                     "possync_devkit/headoffice_simulator.py", "possync_devkit/sandbox/harness.py",
                     "possync_devkit/sandbox/jurnal/__main__.py", "possync_devkit/sandbox/jurnal/service.py",
                     "possync_devkit/sandbox/accurate/__main__.py", "possync_devkit/sandbox/accurate/service.py"):
        assert expected in devkit.files, expected
    assert devkit.entry_points["console_scripts"] == {"possync-devkit": "possync_devkit.cli:main"}


def test_the_sandboxes_import_nothing_from_possync(devkit: Built) -> None:
    """A misreading of a vendor's protocol in possync's client must not be able to hide behind the same
    misreading in the emulator: a sandbox imports only the standard library, its own third-party
    dependencies and the sandboxes' shared harness."""
    files = devkit.python_files("possync_devkit/sandbox/")
    assert len(files) > 20
    for path in files:
        module = tuple(path.with_suffix("").parts)
        for name in imported_modules(devkit.root / path, module):
            top = name.split(".")[0]
            if top in ("possync", "possync_devkit"):
                assert tuple(name.split("."))[:2] == SANDBOX, (str(path), name)


def test_the_commands_are_split_between_the_distributions() -> None:
    from possync.cli import build_parser as production_parser
    from possync_devkit.cli import build_parser as devkit_parser

    def commands(parser: object) -> dict[str, list[str]]:
        (top,) = [a for a in parser._actions if a.dest == "command"]  # type: ignore[attr-defined]
        return {name: sorted(action.choices)
                for name, sub in top.choices.items() for action in sub._actions if action.dest == "action"}

    production = commands(production_parser())
    assert "demo" not in production
    assert production["headoffice"] == ["status"]
    assert commands(devkit_parser()) == {"demo": ["seed", "summary"], "kasir": ["load"],
                                         "headoffice": ["apply", "seed-demo"]}
    # `python -m possync_devkit` is the same command (what demo-seed.sh and scripts/demo.py run)
    result = subprocess.run([sys.executable, "-m", "possync_devkit", "demo", "seed", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--keep-existing" in result.stdout
