"""Fixtures of the browser test: the running stack (``browser_stack.running_stack``, once per module), Debian's
headless Chromium with a fresh profile per test, and the screenshots' folder ``test-artifacts/browser/``.

A failed test's report ends with the last lines of the standalone log; the session's summary names the
screenshots' folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser_stack import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, CURRENT, AirflowStack, running_stack, tail


@pytest.fixture(scope="module")
def airflow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStack]:
    """Module-scoped, so the stack stops as soon as the browser tests are done, not when the whole suite is."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium (`make test` does it as root)"
    with running_stack(tmp_path_factory.mktemp("browser-stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/browser/, emptied at the start of the session."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    CURRENT["artifacts"] = ARTIFACTS
    return ARTIFACTS


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright's driver (it ships in the wheel); it is never asked to download a browser."""
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # assertions wait this long for the page (Playwright's default: 5 s)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright: Any, tmp_path: Path) -> Iterator[Any]:
    """Debian's headless Chromium with a fresh profile (user-data-dir) for each test."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 900}, timeout=60_000,
    )
    context.set_default_timeout(60_000)
    context.set_default_navigation_timeout(90_000)
    try:
        yield context
    finally:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport() -> Any:
    report = yield
    if report.failed and "log" in CURRENT:
        report.sections.append(("airflow standalone log (last lines)", tail(CURRENT["log"])))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "artifacts" in CURRENT:
        shots = sorted(CURRENT["artifacts"].glob("*.png"))
        terminalreporter.write_line(f"browser test screenshots ({len(shots)}): {CURRENT['artifacts']}")
