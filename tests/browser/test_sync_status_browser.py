"""What ops do when a sale did not reach the accounting system, in a real browser against ``airflow standalone``.

Sign in to Airflow, open Sync Status from the navigation (Browse menu: it opens in a tab of its own), filter
the failed sales records, find the invoice that sells a product without SKU with its reason, follow its
task-log link to Airflow's task page and see the log line that names it, go back, press "Retry failed" for
the sales flow without repairing anything, see the confirmation naming the new run, see that run in the
DAG's runs and, once it has run, the invoice failed again (the run green: an earlier run reported that
failure); set it aside (Ignore, with a reason), see it listed as ignored with who and why, and undo that. A
viewer sees the same failures but may not retry or ignore them. And the first run's failed tasks alerted (e-mail
and chat) from their workers, under the real scheduler. A screenshot of every step is saved in
``test-artifacts/browser/``.

The stack (demo POS, ledger, Jurnal sandbox, Airflow, the first failed run) is ``airflow_stack`` in
conftest.py.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from possync.ledger import SyncLedger
from possync.ledger.quarantine import history
from support.net import listening

from .browser_stack import BROKEN_INVOICE, AirflowStack, tail, wait_until

pytestmark = pytest.mark.browser

RETRY_RUN_TIMEOUT = 300  # s: the retry run finishing, on a busy 2-core machine
UI_TIMEOUT = 60_000  # ms: one page or element of the UI appearing


class Steps:
    """Numbered screenshots of one test, and what the browser said along the way (for failure messages)."""

    def __init__(self, folder: Path, prefix: str = "") -> None:
        self.folder, self.prefix, self.number = folder, prefix, 0
        self.console: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))
        return page

    def shot(self, page: Page, name: str, *, element: Locator | None = None) -> Path:
        self.number += 1
        path = self.folder / f"{self.prefix}{self.number:02d}-{name}.png"
        if element is not None:
            element.scroll_into_view_if_needed()
        page.screenshot(path=str(path))
        print(f"screenshot: {path}")
        return path

    def said(self, last: int = 15) -> str:
        return "\n".join(self.console[-last:]) or "(nothing)"


def sign_in(page: Page, stack: AirflowStack, user: str, steps: Steps | None = None) -> None:
    """Through Airflow's own login page, where the UI sends a visitor without a session."""
    page.goto(stack.url)
    # The UI redirects a visitor without a session more than once on its way to the login form (the SPA, then
    # /auth/login?next=…); waiting for one navigation to finish can meet the next one aborting it
    # (net::ERR_ABORTED), so wait for the form itself, then check where it is.
    expect(page.get_by_label("Username"), "the UI did not send a visitor without a session to its login form"
           ).to_be_visible(timeout=UI_TIMEOUT)
    assert "/auth/login" in page.url, page.url
    if steps:
        steps.shot(page, "login-page")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(stack.passwords[user])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=UI_TIMEOUT)
    expect(page.get_by_role("button", name="Browse"), f"{user} is not signed in").to_be_visible(timeout=UI_TIMEOUT)


def open_sync_status(page: Page, steps: Steps) -> Page:
    """Browse → Sync Status, as a user would. The plugin's nav entry is a link (no ``url_route``: Airflow's iframe
    is sandboxed without top navigation, so the page's links to task logs could not open there), and Airflow
    opens such links in a new tab; that tab."""
    page.get_by_role("button", name="Browse").click()
    item = page.get_by_role("menuitem", name="Sync Status")
    expect(item, "no Sync Status in the Browse menu").to_be_visible()
    assert item.get_attribute("target") == "_blank", (
        "Sync Status is no longer a link opening a tab of its own (an iframe view?): adapt open_sync_status")
    with page.context.expect_page(timeout=UI_TIMEOUT) as opened:
        item.click()
    tab = steps.watch(opened.value)
    tab.wait_for_url(re.compile(r"/sync-status/"), timeout=UI_TIMEOUT)
    expect(tab.locator("form#filters"), "the Sync Status page did not load").to_be_visible(timeout=UI_TIMEOUT)
    return tab


def filter_records(page: Page, **choices: str) -> None:
    """Choose filters in ``form#filters`` (selects and text inputs by name), apply, wait for the filtered page."""
    form = page.locator("form#filters")
    for name, value in choices.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button#apply").click()
    for name, value in choices.items():
        page.wait_for_url(re.compile(rf"[?&]{name}={re.escape(value)}(&|$)"), timeout=UI_TIMEOUT)
    for name, value in choices.items():
        expect(form.locator(f"[name={name}]"), f"the filter {name} did not stick").to_have_value(value)


def record_row(page: Page, key: str) -> Locator:
    """The row of the record ``key`` (exactly: not its payments ``key/P1``)."""
    exact = re.compile(rf"^\s*{re.escape(key)}\s*$")
    return page.locator("table#records tr.record").filter(has=page.locator("td.key", has_text=exact))


def test_each_failed_task_of_the_run_alerts_from_its_worker_under_the_scheduler(airflow_stack: AirflowStack) -> None:
    """Alerts fire under the real scheduler, not only in ``dag.test``: the stack's first run (red by design) made
    every failed task's worker e-mail the stack's SMTP receiver and post to its chat receiver (``browser_stack``)."""
    stack = airflow_stack
    assert stack.smtp is not None and stack.chat is not None
    assert listening(stack.smtp.port)
    run_id = stack.first_run_id
    failed = sorted(task for task, state in stack.first_run_tasks.items() if state == "failed")
    assert {("sync_customers", -1), ("sync_products", -1), ("sync_sales", 0)} <= set(failed), stack.describe_run(run_id)

    def mails() -> list:  # the callback runs after the task's state is reported: give the last one a moment
        found = [m for m in stack.smtp.messages if f"Run:         {run_id}" in m.body]
        return found if len(found) >= len(failed) else []

    found = wait_until(f"an e-mail per failed task of {run_id}", mails, 90, on_timeout=lambda: tail(stack.log))
    assert {m.subject for m in found} == {f"[possync] jurnal_demo: {task}{' [JKT01]' if index >= 0 else ''} failed in "
                                          f"{stack.dag_id}" for task, index in failed}
    sales = next(m.body for m in found if "sync_sales [JKT01]" in m.subject)
    assert "invoice INV-JKT01-20261111-0017: " in sales and "has no SKU" in sales
    assert f"{stack.url}/dags/{stack.dag_id}/runs/" in sales, "links use the stack's [api] base_url"
    chats = wait_until("a chat post per failed task", lambda: [t for t in stack.chat.texts if run_id in t]
                       if len([t for t in stack.chat.texts if run_id in t]) >= len(failed) else [], 60)
    assert len(chats) == len(failed)


def test_ops_follow_a_failed_invoice_to_its_log_and_retry_it(
    airflow_stack: AirflowStack, browser: Any, artifacts: Path
) -> None:
    stack = airflow_stack
    tasks = stack.first_run_tasks
    assert tasks.get(("sync_sales", 0)) == "failed", f"the first run should fail its JKT01 sales task: {tasks}"
    steps = Steps(artifacts)
    airflow = steps.watch(browser.new_page())

    # 1. Sign in through Airflow's login page.
    sign_in(airflow, stack, "admin", steps)
    steps.shot(airflow, "signed-in")

    # 2. Sync Status from the navigation.
    page = open_sync_status(airflow, steps)
    expect(page.locator("table#counts")).to_contain_text("sales")
    steps.shot(page, "sync-status")

    # 3. Failed sales records only, among them the invoice selling a product without SKU, with its reason.
    filter_records(page, flow="sales", status="failed")
    records = page.locator("table#records tr.record")
    expect(records.first).to_be_visible(timeout=UI_TIMEOUT)
    statuses = records.locator("td.status").all_inner_texts()
    # each status cell: the status, then since when it has been failing (red means new)
    assert statuses and all(s.strip().splitlines()[0] == "failed" and "failing since" in s for s in statuses), (
        f"not only failed records: {statuses}")
    invoice = record_row(page, BROKEN_INVOICE)
    expect(invoice, f"{BROKEN_INVOICE} is not among the failed sales records").to_have_count(1)
    expect(invoice.locator("td.status")).to_have_text(re.compile(r"failed"))
    expect(invoice.locator("td.reason")).to_contain_text("has no SKU")
    steps.shot(page, "failed-sales", element=invoice)
    filtered = page.url

    # 4. Its task log: Airflow's task attempt page, with the log line naming the invoice.
    log_link = invoice.locator("a.log-link")
    href = log_link.get_attribute("href") or ""
    assert log_link.get_attribute("target") == "_top", "the task-log link should open in the top window"
    task_page = re.compile(rf"/dags/{stack.dag_id}/runs/[^/]+/tasks/sync_sales/mapped/0\?try_number=\d+$")
    assert task_page.search(href), f"the task-log link is not a task attempt page of sync_sales[0]: {href!r}"
    log_link.click()
    try:
        page.wait_for_url(task_page, timeout=30_000)
    except PlaywrightTimeoutError:
        steps.shot(page, "log-link-did-not-navigate")
        raise AssertionError(
            f"clicking the task-log link ({href}) did not open the task page; the tab stayed at {page.url}.\n"
            f"What the browser said:\n{steps.said()}"
        ) from None
    search = page.get_by_placeholder("Search logs...")
    expect(search, "the task page shows no log").to_be_visible(timeout=UI_TIMEOUT)
    search.fill(BROKEN_INVOICE)  # the log viewer renders only the lines in view: its search brings the line there
    line = page.get_by_text(re.compile(rf"FAILED\s+invoice\s+{re.escape(BROKEN_INVOICE)}\b.*has no SKU"))
    expect(line.first, f"the task log has no FAILED line for {BROKEN_INVOICE}").to_be_visible(timeout=UI_TIMEOUT)
    steps.shot(page, "task-log", element=line.first)

    # 5. Back to the failed sales records; retry them without repairing anything.
    page.go_back()
    page.wait_for_url(lambda url: url == filtered, timeout=UI_TIMEOUT)
    invoice = record_row(page, BROKEN_INVOICE)
    expect(invoice, "going back did not return to the filtered records").to_have_count(1, timeout=UI_TIMEOUT)
    before = {r["dag_run_id"] for r in stack.api.runs(stack.dag_id)}
    retry = page.locator("form#retry-flow button#retry-failed")
    expect(retry).to_have_text(re.compile(r"Retry failed"))
    steps.shot(page, "before-retry", element=retry)
    retry.click()
    message = page.locator("#message")
    expect(message, "no confirmation after Retry failed").to_contain_text("Triggered", timeout=UI_TIMEOUT)
    text = message.inner_text()
    new_runs = {r["dag_run_id"] for r in stack.api.runs(stack.dag_id)} - before
    assert len(new_runs) == 1, f"Retry failed should trigger exactly one run of {stack.dag_id}: {new_runs}"
    (retry_run,) = new_runs
    assert retry_run in text, f"the confirmation does not name the new run {retry_run}: {text!r}"
    steps.shot(page, "retry-triggered", element=message)

    # 6. The retry run in the DAG's runs (Airflow's Runs page, beside the grid), and its outcome once it has run.
    runs_page = f"{stack.url}/dags/{stack.dag_id}/runs"
    airflow.goto(runs_page)
    retry_row = airflow.get_by_role("row").filter(has_text=retry_run)
    expect(retry_row, f"the Runs page does not list {retry_run}").to_have_count(1, timeout=UI_TIMEOUT)
    expect(retry_row).to_contain_text("Manual")
    steps.shot(airflow, "runs-with-retry")

    def finished() -> bool:
        return stack.api.run(stack.dag_id, retry_run)["state"] in ("success", "failed")

    started = time.monotonic()
    wait_until(f"the retry run {retry_run} finishes", finished, RETRY_RUN_TIMEOUT,
               on_timeout=lambda: stack.describe_run(retry_run))
    print(f"retry run finished {time.monotonic() - started:.0f} s later: {stack.describe_run(retry_run)}")
    airflow.reload()
    retry_row = airflow.get_by_role("row").filter(has_text=retry_run)
    # Red means new: the retry run met only the failure the first run reported, so it ends green (its task log
    # warns that the invoice is still failing); the record below says it was attempted again, and failed.
    expect(retry_row, "the retry run ended red for a failure an earlier run had reported").to_contain_text(
        "Success", timeout=UI_TIMEOUT)
    steps.shot(airflow, "runs-after-retry")

    # Nothing was repaired: the invoice failed again, for the same reason, in the retry run.
    page.goto(filtered)
    filter_records(page, flow="sales", status="", q=BROKEN_INVOICE)
    invoice = record_row(page, BROKEN_INVOICE)
    expect(invoice).to_have_count(1, timeout=UI_TIMEOUT)
    expect(invoice.locator("td.status")).to_have_text(re.compile(r"failed"))
    expect(invoice.locator("td.reason")).to_contain_text("has no SKU")
    steps.shot(page, "still-failed-after-retry", element=invoice)
    ledger = SyncLedger.from_url(stack.ledger_url)
    record = ledger.get("jurnal_demo", "invoice", BROKEN_INVOICE)
    ledger.engine.dispose()
    assert record is not None and (record.status, record.run_id) == ("failed", retry_run), (
        f"the retry run should have attempted {BROKEN_INVOICE} again (and failed it): {record}")

    # 7. Set it aside from its row: Ignore, with a reason; it is listed as ignored with who and why; then Undo.
    why = "test sale on the training till; never to be booked"
    ignore_form = invoice.locator("form.ignore-form")
    ignore_form.locator("input.ignore-reason").fill(why)
    steps.shot(page, "before-ignore", element=ignore_form)
    ignore_form.locator("button.ignore-record").click()
    expect(page.locator("#message"), "no confirmation after Ignore").to_contain_text(
        f"Ignored invoice {BROKEN_INVOICE}", timeout=UI_TIMEOUT)
    expect(page.locator("form#filters [name=status]")).to_have_value("ignored")
    ignored = record_row(page, BROKEN_INVOICE)
    expect(ignored, f"{BROKEN_INVOICE} is not listed among the ignored records").to_have_count(1)
    expect(ignored.locator("td.status")).to_have_text(re.compile(r"ignored"))
    expect(ignored.locator(".ignored-note")).to_contain_text("ignored by admin on 20")
    expect(ignored.locator(".ignored-note")).to_contain_text(why)
    expect(ignored.locator("td.reason")).to_contain_text("has no SKU")  # the failure reason is kept
    steps.shot(page, "ignored", element=ignored)
    ignored.locator("button.undo-ignore").click()
    expect(page.locator("#message"), "no confirmation after Undo").to_contain_text("is failed again",
                                                                                     timeout=UI_TIMEOUT)
    invoice = record_row(page, BROKEN_INVOICE)
    expect(invoice.locator("td.status")).to_have_text(re.compile(r"failed"))
    expect(invoice.locator("form.ignore-form"), "Ignore is offered again").to_have_count(1)
    steps.shot(page, "ignore-undone", element=invoice)
    ledger = SyncLedger.from_url(stack.ledger_url)
    kept = [(h.action, h.by, h.reason) for h in history(ledger, "jurnal_demo", "invoice", BROKEN_INVOICE)]
    ledger.engine.dispose()
    assert kept == [("ignore", "admin", why), ("undo", "admin", None)], kept


def test_a_viewer_sees_the_failures_but_cannot_retry_them(
    airflow_stack: AirflowStack, browser: Any, artifacts: Path
) -> None:
    stack = airflow_stack
    steps = Steps(artifacts, prefix="viewer-")
    airflow = steps.watch(browser.new_page())
    sign_in(airflow, stack, "viewer")
    page = open_sync_status(airflow, steps)
    filter_records(page, flow="sales", status="failed")
    invoice = record_row(page, BROKEN_INVOICE)
    expect(invoice.locator("td.reason")).to_contain_text("has no SKU", timeout=UI_TIMEOUT)
    expect(invoice.locator("form.ignore-form"), "a viewer is offered Ignore").to_have_count(0)
    steps.shot(page, "failed-sales", element=invoice)

    runs_before = len(stack.api.runs(stack.dag_id))
    page.locator("form#retry-flow button#retry-failed").click()
    expect(page.locator("body"), "a viewer's retry should be refused").to_contain_text(
        "may not trigger", timeout=UI_TIMEOUT)
    steps.shot(page, "retry-refused")
    assert len(stack.api.runs(stack.dag_id)) == runs_before, "a viewer's retry must not trigger a run"


def test_ops_see_the_day_that_differs_on_the_chart_and_drill_down_to_its_document(
    airflow_stack: AirflowStack, browser: Any, artifacts: Path
) -> None:
    """The Reconciliation page in a real browser: the chart (SVG drawn by matplotlib on the server) shows the
    kept days with the one that differs marked; clicking it lists that day's differing documents; a document's
    link opens its ledger record. The kept results are written here (the reconciliation itself runs against live
    sandboxes in tests/test_reconciliation.py); the record they point at is the stack's real failed invoice."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from possync.reconcile import DayResult, Difference, ReconciliationLog, Totals

    stack = airflow_stack
    ledger = SyncLedger.from_url(stack.ledger_url)
    at = datetime(2026, 11, 11, 16, 45, tzinfo=UTC)
    same = Totals(invoices=20, invoice_total=Decimal("2000000.00"))
    ReconciliationLog(ledger.engine).save([
        DayResult("jurnal_demo", date(2026, 11, 10), "JKT01", at, same, same),
        DayResult("jurnal_demo", date(2026, 11, 11), "JKT01", at, Totals(21, Decimal("2100000.00")),
                  Totals(21, Decimal("2150000.00")), differences=[
                      Difference("missing", "invoice", BROKEN_INVOICE, "in the POS, not in the target",
                                 "failed in the ledger: product has no SKU", "90000.00"),
                      Difference("extra", "invoice", "HAND-0001", "in the target but not among the POS's documents",
                                 None, None, "50000.00", "9001")]),
    ])
    ledger.engine.dispose()
    steps = Steps(artifacts, prefix="reconciliation-")
    airflow = steps.watch(browser.new_page())
    sign_in(airflow, stack, "viewer")
    page = open_sync_status(airflow, steps)

    page.get_by_role("link", name="Reconciliation").click()
    page.wait_for_url(re.compile(r"/sync-status/reconciliation"), timeout=UI_TIMEOUT)
    chart = page.locator("svg#reconciliation-chart")
    expect(chart, "no chart on the Reconciliation page").to_be_visible(timeout=UI_TIMEOUT)
    expect(chart.locator("g#pos-line path")).to_have_count(1)
    expect(chart.locator("g#target-line path")).to_have_count(1)
    marked = chart.locator("g[id^='marked-day-']")
    expect(marked, "exactly the day with an unexplained difference is marked").to_have_count(1)
    assert marked.get_attribute("id") == "marked-day-2026-11-11"
    expect(chart.locator("g#unexplained-markers a")).to_have_count(1)
    steps.shot(page, "chart", element=chart)

    marked.locator("a path").click()
    page.wait_for_url(re.compile(r"date=2026-11-11"), timeout=UI_TIMEOUT)
    differences = page.locator("table#differences tr.difference")
    expect(differences).to_have_count(2, timeout=UI_TIMEOUT)
    expect(page.locator("table#differences tr.difference.unexplained")).to_contain_text("HAND-0001")
    steps.shot(page, "drill-down", element=page.locator("table#differences"))

    page.locator("table#differences a.record-link", has_text=BROKEN_INVOICE).click()
    page.wait_for_url(re.compile(r"[?&]q="), timeout=UI_TIMEOUT)
    invoice = record_row(page, BROKEN_INVOICE)
    expect(invoice, "the drill-down's link does not open the invoice's ledger record").to_have_count(
        1, timeout=UI_TIMEOUT)
    expect(invoice.locator("td.reason")).to_contain_text("has no SKU")
    steps.shot(page, "record", element=invoice)
