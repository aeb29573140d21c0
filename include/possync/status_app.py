"""The Sync Status pages: a FastAPI app the possync plugin mounts on Airflow's API server at ``/sync-status``.

What the brief calls the Synchronization Status panel, inside Airflow: every record of the sync ledger with
Success or Failed and the reason, across runs, and a way to re-sync after a repair.

    GET  /sync-status/                  the page: counts per flow, a filtered, paged table of records
    GET  /sync-status/webhooks          the webhook log of an integration
    GET  /sync-status/reconciliation    per day and outlet, POS against target totals and the difference, a chart
                                        of the daily totals (SVG drawn by matplotlib) with the days that differ
                                        marked, and a day's differing documents (``?date=``)
    POST /sync-status/reconciliation/resync  "Re-sync missing": the day's documents synced in the ledger but
                                        absent from the target go back to pending; the sales DAG is triggered
                                        for that day and those outlets, so they go through the normal path
    POST /sync-status/retry             "Retry failed" (a flow, or one record): triggers the owning DAG
    GET  /sync-status/preview?dag_id=&run_id=   a dry run's preview (``possync.preview``): every document its sync
                                        tasks would post, each request body pretty-printed, read from the tasks'
                                        ``dry_run_preview`` XCom (the user must also be allowed to read the DAG's XComs)
    GET  /sync-status/api/preview       the same as JSON
    POST /sync-status/ignore            "Ignore" a failed record with a reason (``ledger/quarantine.py``): not
                                        retried, not open, who/when/why kept with its history
    POST /sync-status/unignore          "Undo": the ignored record is failed again, with its reason, and retried
    POST /sync-status/webhooks/ignore   the same for a failed webhook event (and /webhooks/unignore)
    GET  /sync-status/api/counts        the same as JSON, for scripts
    GET  /sync-status/api/records
    GET  /sync-status/api/webhooks
    POST /sync-status/api/retry
    POST /sync-status/api/ignore        {"integration", "record_type", "key", "reason"}; /api/unignore likewise
    GET  /sync-status/api/history       ?integration=&record_type=&key= : every ignore, undo and reopen of it
    POST /sync-status/api/webhooks/ignore  {"integration", "uuid", "reason"}; /api/webhooks/unignore likewise
    GET  /sync-status/stock             "Stock": per warehouse and product, the POS's stock against the target's
                                        (read now through the target's API, paced), differences first
                                        (``possync.stocksync``); ``?warehouse=`` an outlet code or warehouse
    POST /sync-status/stock/adjust      "Adjust the target to the POS" for a product (``sku``), a ``warehouse`` or
                                        all: stock adjustments through the normal path (ledger ``stock_correction``
                                        kept with who asked, log lines); the same right as Retry on the stock DAG
    GET  /sync-status/api/stock         the comparison as JSON; POST /sync-status/api/stock/adjust likewise

Every route requires an authenticated Airflow user allowed to see plugin views (anonymous: 401, not
allowed: 403; the API server's JWT, as a bearer token or the UI's session cookie). A retry also requires
the right to trigger the DAG it runs: it is refused with 403 for a user who may not (e.g. a viewer). Ignoring
a record and undoing it need the same right on the DAG that owns the record's flow (``owning_dag``), asked the
same way before anything changes; the page shows the Ignore and Undo buttons only to users who have it. Like
Retry, these are POSTs authenticated by the API server's JWT: a bearer token, or the UI's ``_token`` cookie,
which the API server sets ``SameSite=Lax``, so a form on another site cannot post them with it.

A retry never invents a new way of syncing: it triggers the DAG that owns the flow with parameters its
trigger form accepts (validated against the DAG's params like any trigger), chosen so the run re-syncs the
failed records oldest first. Sales: a window at the latest failed record's business time, for the outlets
with failures; every sales run retries its outlets' earlier unsynced records, oldest first. Transfers and
stock: that record's day and outlets; every run retries the flow's unsynced records by number. Customers,
products and inbound webhook events: a plain run, which syncs whatever is not synced yet.

Nothing here shows a secret: the page reads the sync ledger and the webhook log, never connections beyond
the public web address of a target's documents.
"""

from __future__ import annotations

import html
import io
import json
import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from possync.money import rupiah

log = logging.getLogger(__name__)

FLOWS = ("sales", "customers", "products", "transfers", "stock")
#: the HTTP status of each way an ignore or undo is refused (``ledger.quarantine.QuarantineRefused.kind``)
QUARANTINE_STATUS = {"bad": 400, "missing": 404, "conflict": 409}
PAGE_SIZE = 50
RETRY_LIMIT = 1000


class Refused(Exception):
    """A request the page cannot carry out (a bad filter, an unknown record, no right to trigger): its HTTP
    status and the reason shown to the user."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def owning_dag(integration_name: str, flow: str) -> str:
    """The DAG that syncs a flow's records (and the inbound webhook events): the one a retry triggers, and whose
    trigger right it takes to ignore or undo them."""
    if flow in ("transfers", "stock"):
        return f"{integration_name}__transfers"
    return f"{integration_name}__{flow}"


@dataclass(frozen=True)
class Retry:
    dag_id: str
    conf: dict[str, Any]
    records: int


# ------------------------------------------------------------------------------------------ what a retry runs


def plan_retry(integration: Any, ledger: Any, flow: str, key: str | None = None,
               record_type: str | None = None) -> Retry:
    """The DAG and conf that re-sync the failed records of ``flow`` (or one record), oldest first."""

    if flow not in FLOWS:
        raise Refused(400, f"flow {flow!r} is not one of {', '.join(FLOWS)}")
    if key is not None:
        record = ledger.get(integration.name, record_type or "", key)
        if record is None or record.flow != flow:
            raise Refused(404, f"{integration.name} has no {flow} record {record_type} {key!r}")
        if record.status not in ("failed", "pending"):
            raise Refused(409, f"{record_type} {key} is {record.status}: there is nothing to retry")
        failed = [record]
    else:
        failed = ledger.unsynced(integration.name, flow, statuses=("failed",), limit=RETRY_LIMIT)
        if not failed:
            raise Refused(409, f"{integration.name} has no failed {flow} records to retry")
    name = integration.name
    if flow in ("customers", "products"):
        return Retry(f"{name}__{flow}", {}, len(failed))
    timed = [r for r in failed if r.business_time is not None]
    if not timed:
        raise Refused(409, f"the failed {flow} records have no business time to place a run at")
    latest = max(r.business_time for r in timed)  # type: ignore[type-var]
    outlets = sorted({r.outlet_code for r in timed if r.outlet_code in integration.outlets})
    if flow == "sales":
        start = latest.astimezone(ZoneInfo(integration.timezone))
        conf = {"window_start": start.isoformat(), "window_end": (start + timedelta(microseconds=1)).isoformat(),
                "outlets": outlets}
        return Retry(f"{name}__sales", conf, len(failed))
    day = latest.astimezone(ZoneInfo(integration.timezone)).date().isoformat()
    return Retry(f"{name}__transfers", {"from_date": day, "to_date": day, "outlets": outlets}, len(failed))


def trigger_retry(dag_id: str, conf: dict[str, Any], user_name: str) -> str:
    """Trigger ``dag_id`` with ``conf`` in the API server (which owns the metadata DB); the run id."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    now = datetime.now(UTC)
    run = trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.UI, conf=conf,
                      run_id=f"retry__{now.strftime('%Y%m%dT%H%M%S.%f')}",
                      note=f"Retry failed, from Sync Status by {user_name}", triggering_user_name=user_name)
    if run is None:
        raise Refused(409, f"{dag_id} did not create a run")
    return run.run_id


# ------------------------------------------------------------------------------------------------- settings


def _integrations() -> dict[str, Any]:
    from possync.config import load_config

    return {i.name: i for i in load_config().enabled()}


def _ledger(integration: Any) -> Any:
    from possync.db import shared_engine_for_conn
    from possync.ledger import SyncLedger

    return SyncLedger(shared_engine_for_conn(integration.ledger_conn_id))


def _stock_job(integration: Any, write: bool) -> Any:
    """A job that reads the integration's POS, ledger and target (``write``: and records an adjustment)."""
    from possync.stocksync import connect

    return connect(integration, write=write)


def _document_links(integration: Any) -> Callable[[str, str | None], str | None]:
    """record type, target id → the document's page in the target's web app (None where it has none)."""
    from possync.targets.base.registry import get_target

    try:
        return get_target(integration.target).hook(integration).document_url  # reads its connection when asked
    except Exception:
        log.warning("sync status: no document links for %s", integration.name, exc_info=True)
        return lambda _record_type, _target_id: None


def _ui_base() -> str:
    """The path the Airflow UI is served under (the API server's base_url), for links to task logs."""
    from urllib.parse import urlsplit

    from airflow.configuration import conf

    return urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")


def task_log_url(record: Any, base: str = "") -> str | None:
    """Airflow's page of the task attempt that last wrote ``record`` (its Logs tab), or None."""
    if not (record.dag_id and record.run_id and record.task_id):
        return None
    url = f"{base}/dags/{quote(record.dag_id)}/runs/{quote(record.run_id, safe='')}/tasks/{quote(record.task_id)}"
    if record.map_index is not None and record.map_index >= 0:
        url += f"/mapped/{record.map_index}"
    return url + f"?try_number={record.try_number or 1}"


# -------------------------------------------------------------------------------------------- query strings


def _local_day(value: str | None, timezone: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=ZoneInfo(timezone))
    except ValueError:
        raise Refused(400, f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def _record_query(params: dict[str, str], integration: Any) -> Any:
    from possync.ledger.status import BadQuery, RecordQuery

    flow = params.get("flow") or None
    if flow is not None and flow not in FLOWS:
        raise Refused(400, f"flow {flow!r} is not one of {', '.join(FLOWS)}")
    until = _local_day(params.get("date_to"), integration.timezone, "date_to")
    map_index = params.get("map_index")
    try:
        return RecordQuery(
            integration=integration.name, flow=flow, status=params.get("status") or None,
            outlet=params.get("outlet") or None,
            since=_local_day(params.get("date_from"), integration.timezone, "date_from"),
            until=until + timedelta(days=1) if until else None,
            key_prefix=(params.get("q") or "").strip() or None,
            dag_id=params.get("dag_id") or None, run_id=params.get("run_id") or None,
            task_id=params.get("task_id") or None, map_index=int(map_index) if map_index else None,
        )
    except BadQuery as error:
        raise Refused(400, str(error)) from None
    except ValueError:
        raise Refused(400, f"map_index {map_index!r} is not a number") from None


def _integration(params: dict[str, str], integrations: dict[str, Any]) -> Any:
    if not integrations:
        raise Refused(404, "no integration is enabled in integrations.yaml")
    name = params.get("integration") or next(iter(integrations))
    if name not in integrations:
        raise Refused(404, f"no enabled integration {name!r}")
    _LANGUAGE.set(getattr(integrations[name], "language", "en"))  # the page speaks the integration's language
    return integrations[name]


# --------------------------------------------------------------------------------------------------- pages

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1rem 1.5rem;color:#1a202c;font-size:14px}
h1{font-size:1.4rem;margin:.2rem 0 .8rem} nav a{margin-right:1rem}
form#filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.8rem 0}
form#filters label{display:flex;flex-direction:column;font-size:12px;color:#4a5568}
table{border-collapse:collapse;margin:.5rem 0 1rem} th,td{border-bottom:1px solid #e2e8f0;padding:.3rem .5rem;
text-align:left;vertical-align:top} th{background:#f7fafc}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.o-unexplained{color:#c53030;font-weight:600}.o-explained{color:#b7791f}.o-equal{color:#2f855a}
.s-failed{color:#c53030;font-weight:600}.s-synced{color:#2f855a}.s-pending{color:#b7791f}.s-skipped{color:#718096}
.s-ignored{color:#718096;font-style:italic} .ignored-note{color:#4a5568;font-size:12px;margin-top:.2rem}
form.ignore-form{display:flex;gap:.3rem;margin-top:.2rem} form.ignore-form input{width:12rem}
#message{padding:.5rem .8rem;border-radius:4px;background:#ebf8ff;border:1px solid #90cdf4;margin:.5rem 0}
#message.error{background:#fff5f5;border-color:#feb2b2}
button{cursor:pointer} .reason{max-width:38rem} .failing-since{font-weight:400;font-size:.85em;color:#4a5568}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


#: the language of the page being drawn: the chosen integration's (``language: id`` → Bahasa Indonesia)
_LANGUAGE: ContextVar[str] = ContextVar("possync_page_language", default="en")


def _t(text: str) -> str:
    """One of the page's own words in the page's language (``possync.i18n.ui``)."""
    from possync.i18n import ui

    return ui(text, _LANGUAGE.get())


def _reason(text: str | None) -> str | None:
    """A ledger reason (kept in English) in the page's language (``possync.i18n.translate``)."""
    from possync.i18n import translate

    return text if text is None else translate(text, _LANGUAGE.get())


def _page(title: str, body: str, message: str | None = None, error: bool = False) -> HTMLResponse:
    note = f'<div id="message" class="{"error" if error else ""}">{_e(message)}</div>' if message else ""
    return HTMLResponse(f"""<!doctype html><html><head><meta charset="utf-8"><title>{_e(title)}</title>
<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1>
<nav><a href="/">← Airflow</a><a href="./">{_t("Records")}</a><a href="webhooks">{_t("Webhook log")}</a>
<a href="reconciliation">{_t("Reconciliation")}</a><a href="stock">{_t("Stock")}</a></nav>{note}{body}
</body></html>""")


def _select(name: str, options: list[tuple[str, str]], chosen: str | None) -> str:
    items = "".join(f'<option value="{_e(v)}"{" selected" if v == (chosen or "") else ""}>{_e(t)}</option>'
                    for v, t in options)
    return f'<label>{_t(name.replace("_", " ").title())}<select name="{name}">{items}</select></label>'


def _age(item: Any, zone: ZoneInfo) -> str:
    """"failing since 2026-11-09 17:15, 7 days" under a failed record's or webhook event's status (local time)."""
    from possync.recordlog import failing_for

    since = getattr(item, "failing_since", None)
    if item.status != "failed" or since is None:
        return ""
    return (f'<div class="failing-since">{_t("failing since")} {since.astimezone(zone):%Y-%m-%d %H:%M}, '
            f'{failing_for(since)}</div>')


def _hidden(**fields: Any) -> str:
    return "".join(f'<input type="hidden" name="{k}" value="{_e(v)}">' for k, v in fields.items() if v is not None)


def _ignored_note(by: str | None, at: datetime | None, why: str | None, zone: ZoneInfo) -> str:
    when = f" on {at.astimezone(zone):%Y-%m-%d %H:%M}" if at else ""
    return f'<div class="ignored-note">ignored by {_e(by)}{when}: {_e(why)}</div>'


def _ignore_form(action: str, what: str, **fields: Any) -> str:
    """Ignore (a reason required, here and on the server) for a failed record or event."""
    return (f'<form class="ignore-form" method="post" action="{action}">{_hidden(**fields)}'
            f'<input name="reason" class="ignore-reason" required placeholder="why ignore this {what}?" '
            f'aria-label="reason to ignore {_e(fields.get("key") or fields.get("uuid"))}">'
            '<button class="ignore-record">Ignore</button></form>')


def _undo_form(action: str, **fields: Any) -> str:
    return (f'<form class="undo-form" method="post" action="{action}">{_hidden(**fields)}'
            '<button class="undo-ignore">Undo ignore</button></form>')


def _records_page(integrations: dict[str, Any], params: dict[str, str], message: str | None,
                  error: bool, may_edit: Callable[[str], bool] = lambda _dag_id: False) -> HTMLResponse:
    from possync.ledger.schema import STATUSES
    from possync.ledger.status import BadQuery, flow_counts, record_page

    integration = _integration(params, integrations)
    ledger = _ledger(integration)
    query = _record_query(params, integration)
    try:
        page = record_page(ledger, query, cursor=params.get("cursor") or None, limit=PAGE_SIZE)
    except BadQuery as bad:
        raise Refused(400, str(bad)) from None
    counts = flow_counts(ledger, integration.name)
    zone = ZoneInfo(integration.timezone)
    links = _document_links(integration)
    base = _ui_base()

    filters = "".join([
        _select("integration", [(n, n) for n in integrations], integration.name),
        _select("flow", [("", _t("all flows")), *((f, f) for f in FLOWS)], query.flow),
        _select("status", [("", _t("any status")), *((s, _t(s)) for s in STATUSES)], query.status),
        _select("outlet", [("", _t("all outlets")), *((o, o) for o in sorted(integration.outlets))], query.outlet),
        f'<label>{_t("From")}<input type="date" name="date_from" value="{_e(params.get("date_from"))}"></label>',
        f'<label>{_t("To")}<input type="date" name="date_to" value="{_e(params.get("date_to"))}"></label>',
        f'<label>{_t("Number starts with")}<input name="q" value="{_e(params.get("q"))}" '
        'placeholder="INV-JKT01-…"></label>',
        *(f'<input type="hidden" name="{k}" value="{_e(params[k])}">'
          for k in ("dag_id", "run_id", "task_id", "map_index") if params.get(k)),
        f'<button id="apply" type="submit">{_t("Filter")}</button>',
    ])
    count_rows = "".join(
        f'<tr><td>{_e(flow)}</td>' + "".join(f'<td class="num">{n[s]}</td>' for s in STATUSES) + "</tr>"
        for (_name, flow), n in counts.items()
    ) or f'<tr><td colspan="{len(STATUSES) + 1}">{_t("no records yet")}</td></tr>'
    failed_here = counts.get((integration.name, query.flow or ""), {}).get("failed", 0)
    retry_flow = (f"""<form id="retry-flow" method="post" action="retry">
<input type="hidden" name="integration" value="{_e(integration.name)}">
<input type="hidden" name="flow" value="{_e(query.flow)}">
<button id="retry-failed" type="submit">Retry failed</button> re-syncs the {failed_here} failed {_e(query.flow)}
records of {_e(integration.name)}, oldest first (after you have repaired them in the POS)</form>"""
                  if query.flow and failed_here else "")

    rows = []
    for record in page.records:
        when = record.business_time.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if record.business_time else ""
        number = _e(record.target_number or record.target_id)
        url = links(record.record_type, record.target_id) if record.target_id else None
        target = f'<a href="{_e(url)}" target="_blank" rel="noopener">{number}</a>' if url else number
        log_url = task_log_url(record, base)
        log_link = f'<a class="log-link" href="{_e(log_url)}" target="_top">log</a>' if log_url else ""
        retry = (f'<form method="post" action="retry"><input type="hidden" name="integration" '
                 f'value="{_e(record.integration)}"><input type="hidden" name="flow" value="{_e(record.flow)}">'
                 f'<input type="hidden" name="key" value="{_e(record.key)}"><input type="hidden" '
                 f'name="record_type" value="{_e(record.record_type)}"><button class="retry-record">{_t("Retry")}'
                 '</button></form>' if record.status == "failed" else "")
        identity = {"integration": record.integration, "flow": record.flow, "record_type": record.record_type,
                    "key": record.key}
        if record.status in ("failed", "ignored") and may_edit(owning_dag(record.integration, record.flow)):
            retry += (_ignore_form("ignore", "record", **identity) if record.status == "failed"
                      else _undo_form("unignore", **identity))
        note = (_ignored_note(record.ignored_by, record.ignored_at, record.ignored_reason, zone)
                if record.status == "ignored" else "")
        last = record.last_attempt_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if record.last_attempt_at else ""
        age = _age(record, zone)
        rows.append(
            f'<tr class="record"><td class="key">{_e(record.key)}</td><td>{_e(record.record_type)}</td>'
            f'<td>{_e(record.flow)}</td><td>{_e(record.outlet_code)}</td><td>{when}</td>'
            f'<td class="status s-{_e(record.status)}">{_e(_t(record.status))}{age}</td><td>{target}</td>'
            f'<td class="reason">{_e(_reason(record.reason))}{note}</td><td class="num">{record.attempts}</td>'
            f"<td>{last}</td><td>{log_link}</td><td>{retry}</td></tr>"
        )
    table = "".join(rows) or f'<tr><td colspan="12">{_t("no records match these filters")}</td></tr>'
    kept = {k: v for k, v in params.items() if v and k not in ("cursor", "message", "error")}
    pager = (f'<a id="older" href="?{_e(urlencode({**kept, "cursor": page.next_cursor}))}">{_t("older →")}</a>'
             if page.next_cursor else "")
    newest = f'<a href="?{_e(urlencode(kept))}">{_t("newest")}</a> ' if params.get("cursor") else ""
    body = f"""<form id="filters" method="get" action="./">{filters}</form>
<table id="counts"><tr><th>{_t("flow")}</th>{"".join(f"<th>{_t(s)}</th>" for s in STATUSES)}</tr>{count_rows}
</table>
{retry_flow}
<table id="records"><tr><th>{_t("number")}</th><th>{_t("record")}</th><th>{_t("flow")}</th><th>{_t("outlet")}</th>
<th>{_t("business time")} ({_e(integration.timezone)})</th><th>{_t("status")}</th>
<th>{_e(integration.target)} {_t("document")}</th><th>{_t("reason")}</th><th>{_t("attempts")}</th>
<th>{_t("last attempt")}</th><th>{_t("task log")}</th><th></th></tr>{table}</table>
<p>{newest}{pager}</p>"""
    return _page(f"{_t('Sync Status')}: {integration.name} → {integration.target}", body, message, error)


def _webhooks_page(integrations: dict[str, Any], params: dict[str, str],
                   may_edit: Callable[[str], bool] = lambda _dag_id: False) -> HTMLResponse:
    from possync.ledger.quarantine import ignored_webhooks
    from possync.ledger.webhooks import WEBHOOK_STATUSES, WebhookLog

    integration = _integration(params, integrations)
    status = params.get("status") or None
    if status is not None and status not in WEBHOOK_STATUSES:
        raise Refused(400, f"status {status!r} is not one of {', '.join(WEBHOOK_STATUSES)}")
    ledger = _ledger(integration)
    webhook_log = WebhookLog(ledger.engine)
    events = webhook_log.events(integration.name, status, limit=200)
    counts = webhook_log.counts(integration.name)
    zone = ZoneInfo(integration.timezone)
    editable = may_edit(owning_dag(integration.name, "inbound"))
    set_aside = ignored_webhooks(ledger, integration.name, [e.uuid for e in events if e.status == "ignored"])
    rows = []
    for e in events:
        action = ""
        if editable and e.status == "failed":
            action = _ignore_form("webhooks/ignore", "event", integration=integration.name, uuid=e.uuid)
        elif editable and e.uuid in set_aside:  # ignored by someone (not: nothing to do for it)
            action = _undo_form("webhooks/unignore", integration=integration.name, uuid=e.uuid)
        rows.append(
            f'<tr class="event"><td>{e.received_at.astimezone(zone):%Y-%m-%d %H:%M:%S}</td><td>{_e(e.event_type)}</td>'
            f'<td>{_e(e.document_numbers)}</td>'
            f'<td class="status s-{_e(e.status)}">{_e(_t(e.status))}{_age(e, zone)}</td>'
            f'<td class="reason">{_e(_reason(e.reason))}</td><td class="num">{e.attempts}</td>'
            f'<td class="uuid">{_e(e.uuid)}</td>'
            f"<td>{action}</td></tr>")
    table = "".join(rows) or f'<tr><td colspan="8">{_t("no webhook events")}</td></tr>'
    retry = (f"""<form id="retry-webhooks" method="post" action="retry">{_hidden(
        integration=integration.name, flow="inbound", back="webhooks")}<button id="retry-failed" type="submit">
Retry failed</button> triggers {_e(owning_dag(integration.name, "inbound"))}, which processes the {counts["failed"]}
failed event(s) again (after you have repaired them in the POS)</form>""" if counts.get("failed") else "")
    body = f"""<form id="filters" method="get">{_select("integration", [(n, n) for n in integrations],
    integration.name)}{_select("status", [("", _t("any status")), *((s, _t(s)) for s in WEBHOOK_STATUSES)],
    status)}
<button id="apply" type="submit">{_t("Filter")}</button></form>
<p>{", ".join(f"{n} {_t(s)}" for s, n in counts.items())} ({_t("newest 200 shown")})</p>{retry}
<table id="webhooks"><tr><th>{_t("received")}</th><th>{_t("event")}</th><th>{_t("documents")}</th>
<th>{_t("status")}</th><th>{_t("reason")}</th><th>{_t("attempts")}</th><th>uuid</th><th></th></tr>{table}</table>"""
    return _page(f"{_t('Webhook log')}: {integration.name}", body, params.get("message"), params.get("error") == "1")


# ------------------------------------------------------------------------------------------- reconciliation

RECONCILIATION_DAYS = 28
RECONCILIATION_HEADS = ("day", "outlet", "outcome", "POS invoices", "POS total", "target invoices", "target total",
                        "difference", "POS VAT", "target VAT", "POS payments", "target payments", "explained",
                        "unexplained", "reconciled")
DRILLDOWN_ROWS = 500  # differing documents listed for a day (each looks its ledger record up)
_CHART_LOCK = threading.Lock()  # matplotlib's rcParams are process-wide; the API server renders on threads


def daily_chart_svg(days: list[tuple[date, Decimal, Decimal, bool]], *, width: int = 760, height: int = 240,
                    href: Callable[[date], str] = lambda day: f"reconciliation?date={day.isoformat()}") -> str:
    """The daily invoice totals, POS against target, drawn by matplotlib as SVG on the server (no script, no
    CDN: the page works offline), for inline use in the page. ``days``: (day, POS total, target total, marked)
    oldest first. The two series are the groups ``pos-line`` and ``target-line``; every day is a column (group
    ``day-<date>``) linking to its drill-down; a marked day (an unexplained difference) is a red column (group
    ``marked-day-<date>``) with a red dot on its target total (group ``unexplained-markers``, legend
    "unexplained")."""
    if not days:
        return '<svg id="reconciliation-chart" width="0" height="0"></svg>'
    # matplotlib is imported here, when a page is drawn: never at DAG parse or plugin import
    import matplotlib
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    xs = [mdates.date2num(day) for day, _pos, _target, _marked in days]
    # Money stays Decimal everywhere else; matplotlib places points in floating point, so the totals become
    # floats here only as plot coordinates (exact to the rupiah far beyond any day's total, below 2**53), and
    # the exact amounts are in the table under the chart.
    pos = [float(p) for _day, p, _target, _marked in days]
    target = [float(t) for _day, _pos, t, _marked in days]
    span = (days[-1][0] - days[0][0]).days + 1
    with _CHART_LOCK, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "possync-reconciliation",
                                              "font.size": 9}):
        # the object API (no pyplot): no global figure or GUI backend; 96 px to the inch, as a browser draws
        fig = Figure(figsize=(width / 96, height / 96), layout="constrained")
        ax = fig.add_subplot()
        for x, (day, _pos, _target, marked) in zip(xs, days, strict=True):
            # a day's column, under the lines: the click target of its drill-down. A fully transparent face is
            # written as fill:none, which a browser does not let one click, hence the barely-there opacity.
            band = ax.axvspan(x - 0.5, x + 0.5, facecolor="#fed7d7" if marked else (1, 1, 1, 0.01),
                              edgecolor="none", zorder=0, gid=f"{'marked-day' if marked else 'day'}-{day}")
            band.set_url(href(day))
        ax.plot(xs, pos, color="#2b6cb0", linewidth=2, label="POS", gid="pos-line")
        ax.plot(xs, target, color="#38a169", linewidth=2, linestyle="--", label="target", gid="target-line")
        marked_rows = [(x, t, day) for x, t, (day, _p, _t, marked) in zip(xs, target, days, strict=True) if marked]
        if marked_rows:
            dots = ax.scatter([x for x, _t, _d in marked_rows], [t for _x, t, _d in marked_rows], s=36,
                              color="#c53030", zorder=3, label="unexplained", gid="unexplained-markers")
            dots.set_urls([href(day) for _x, _t, day in marked_rows])
        ax.set_xlim(xs[0] - 0.5, xs[-1] + 0.5)
        ax.set_ylim(bottom=0, top=max(max(pos), max(target), 1.0) * 1.1)
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, span // 7)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: rupiah(round(value))))
        ax.grid(axis="y", color="#e2e8f0")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(loc="lower left", ncols=3, frameon=False, fontsize=8)
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    svg = svg[svg.index("<svg"):]  # inline in the page: no XML declaration or DOCTYPE
    # matplotlib's SVG links always open a new window; a day's drill-down opens in the page, as the table's do
    svg = svg.replace(' target="_blank"', "")
    return svg.replace("<svg ", '<svg id="reconciliation-chart" role="img" '
                       'aria-label="Daily invoice totals, POS against target" ', 1)


def _reconciliation_page(integrations: dict[str, Any], params: dict[str, str]) -> HTMLResponse:
    from possync.reconcile import ReconciliationLog

    integration = _integration(params, integrations)
    zone = ZoneInfo(integration.timezone)
    try:
        days = int(params.get("days") or RECONCILIATION_DAYS)
    except ValueError:
        raise Refused(400, f"days {params.get('days')!r} is not a number") from None
    if not 1 <= days <= 366:
        raise Refused(400, "days must be 1 to 366")
    chosen = _local_day(params.get("date"), integration.timezone, "date")
    outlet = params.get("outlet") or None
    ledger = _ledger(integration)
    log_ = ReconciliationLog(ledger.engine)
    last = (chosen.date() if chosen else datetime.now(zone).date())
    first = last - timedelta(days=days - 1)
    results = log_.history(integration.name, first, last, latest_only=True)
    if not results and chosen is None:  # nothing lately: show the weeks up to the newest kept result
        newest = log_.newest_day(integration.name)
        if newest is not None:
            last, first = newest, newest - timedelta(days=days - 1)
            results = log_.history(integration.name, first, last, latest_only=True)
    per_day: dict[date, list[Any]] = {}
    for result in results:
        per_day.setdefault(result.business_date, []).append(result)
    chart = daily_chart_svg([
        (day, sum((r.pos.invoice_total for r in rows), Decimal("0.00")),
         sum((r.target.invoice_total for r in rows), Decimal("0.00")), any(r.unexplained for r in rows))
        for day, rows in sorted(per_day.items())],
        href=lambda day: "reconciliation?" + urlencode({"integration": integration.name, "date": day.isoformat()}))
    rows = []
    for result in sorted(results, key=lambda r: (r.business_date, r.outlet_code), reverse=True):
        difference = result.target.invoice_total - result.pos.invoice_total
        pos_paid = sum(result.pos.payments.values(), Decimal("0.00"))
        target_paid = sum(result.target.payments.values(), Decimal("0.00"))
        link = "reconciliation?" + urlencode({"integration": integration.name, "outlet": result.outlet_code,
                                              "date": result.business_date.isoformat()})
        rows.append(
            f'<tr class="day-outlet"><td><a href="{_e(link)}">{result.business_date}</a></td>'
            f'<td>{_e(result.outlet_code)}</td><td class="o-{result.outcome}">{_t(result.outcome)}</td>'
            f'<td class="num">{result.pos.invoices}</td>'
            f'<td class="num">{_amount(result.pos.invoice_total)}</td><td class="num">{result.target.invoices}</td>'
            f'<td class="num">{_amount(result.target.invoice_total)}</td><td class="num">{_amount(difference)}</td>'
            f'<td class="num">{_amount(result.pos.tax)}</td><td class="num">{_amount(result.target.tax)}</td>'
            f'<td class="num">{_amount(pos_paid)}</td><td class="num">{_amount(target_paid)}</td>'
            f'<td class="num">{len(result.explained)}</td><td class="num">{len(result.unexplained)}</td>'
            f"<td>{result.run_at.astimezone(zone):%Y-%m-%d %H:%M}</td></tr>")
    table = "".join(rows) or f'<tr><td colspan="15">{_t("no reconciliation kept for these days yet")}</td></tr>'
    body = f"""<form id="filters" method="get" action="reconciliation">{_select(
        "integration", [(n, n) for n in integrations], integration.name)}
<label>Days<input name="days" value="{days}" size="4"></label><button id="apply" type="submit">Show</button></form>
<p>Daily invoice totals of every outlet, POS against {_e(integration.target)}, {first} to {last}; a red day has
differences nothing in the ledger explains. Click a day for its documents.</p>
{chart}
{_drilldown(integration, ledger, per_day.get(chosen.date(), []) if chosen else [], outlet)}
<table id="reconciliations"><tr>{"".join(f"<th>{_t(head)}</th>" for head in RECONCILIATION_HEADS)}</tr>
{table}</table>"""
    return _page(f"{_t('Reconciliation')}: {integration.name} → {integration.target}", body, params.get("message"),
                 params.get("error") == "1")


STOCK_HEADS = ("outlet", "warehouse", "SKU", "product", "POS stock", "target stock", "difference", "why", "")


def _adjust_form(label: str, integration: str, **fields: Any) -> str:
    return (f'<form class="adjust-form" method="post" action="stock/adjust">'
            f'{_hidden(integration=integration, **fields)}<button class="adjust">{_e(label)}</button></form>')


def _stock_page(integrations: dict[str, Any], params: dict[str, str], job_for: Callable[[Any, bool], Any],
                may_edit: Callable[[str], bool]) -> HTMLResponse:
    """Per warehouse and product, POS against target stock, differences first; Adjust buttons for editors."""
    from possync.stocksync import compare_stock

    integration = _integration(params, integrations)
    warehouse = params.get("warehouse") or None
    try:
        rows = compare_stock(job_for(integration, False), warehouse=warehouse)
    except ValueError as error:
        raise Refused(400, str(error)) from None
    editable = may_edit(owning_dag(integration.name, "stock"))
    different = [row for row in rows if row.difference]
    lines = []
    for row in rows:
        action = (_adjust_form(_t("Adjust"), integration.name, warehouse=row.outlet_code, sku=row.sku)
                  if editable and row.difference else "")
        state = "" if not row.difference else " differs explained" if row.explained else " differs unexplained"
        lines.append(f'<tr class="stock{state}"><td>{_e(row.outlet_code)}</td>'
                     f'<td>{_e(row.warehouse)}</td><td>{_e(row.sku)}</td><td>{_e(row.product_name)}</td>'
                     f'<td class="num">{row.pos}</td><td class="num">{row.target}</td>'
                     f'<td class="num">{row.difference}</td><td class="why">{_e(row.explanation)}</td>'
                     f'<td>{action}</td></tr>')
    table = "".join(lines) or f'<tr><td colspan="9">{_t("no products synced yet")}</td></tr>'
    outlets = [("", _t("all warehouses"))] + [(code, f"{code} ({m.warehouse})")
                                               for code, m in integration.outlets.items()]
    buttons = ""
    if editable and different:
        per_warehouse = sorted({row.outlet_code for row in different})
        buttons = "".join(_adjust_form(f"{_t('Adjust the target to the POS')}: {code}", integration.name,
                                       warehouse=code) for code in per_warehouse)
        buttons += _adjust_form(f"{_t('Adjust the target to the POS')}: {_t('all')}", integration.name,
                                warehouse=warehouse)
    body = f"""<form id="filters" method="get" action="stock">{_select(
        "integration", [(n, n) for n in integrations], integration.name)}{_select("warehouse", outlets, warehouse)}
<button id="apply" type="submit">{_t("Show")}</button></form>
<p id="stock-summary">{len(different)} {_t("difference(s)")} / {len(rows)} ({sum(r.explained for r in different)}
 {_t("explained")}): {_e(integration.target)} {_t("read now, POS stock now")}.</p><div id="adjust-all">{buttons}</div>
<table id="stock"><tr>{"".join(f"<th>{_t(head)}</th>" for head in STOCK_HEADS)}</tr>
{table}</table>"""
    return _page(f"{_t('Stock')}: {integration.name} → {integration.target}", body, params.get("message"),
                 params.get("error") == "1")


def _amount(value: Decimal | None) -> str:
    """An amount cell; a dash where the side shows none (results kept before it was read)."""
    return "–" if value is None else rupiah(value)


def _drilldown(integration: Any, ledger: Any, results: list[Any], outlet: str | None) -> str:
    """The differing documents of one day (one outlet, or all), with links to the ledger record, the task log
    of the attempt that last wrote it, and the target's document; and the Re-sync missing button."""
    if not results:
        return ""
    chosen = [r for r in results if outlet is None or r.outlet_code == outlet]
    links = _document_links(integration)
    base = _ui_base()
    rows = []
    missing = sum(d.kind == "synced_but_absent" for r in chosen for d in r.differences)
    shown = 0
    for result in chosen:
        for d in result.differences:
            shown += 1
            if shown > DRILLDOWN_ROWS:  # a day never synced differs on every document: the first ones say it
                continue
            record = ledger.get(integration.name, d.record_type, d.key)
            ledger_link = f'./?{urlencode({"integration": integration.name, "q": d.key})}'
            log_url = task_log_url(record, base) if record else None
            target_id = d.target_id or (record.target_id if record else None)
            url = links(d.record_type, target_id) if target_id else None
            # the ledger record, where the ledger has one (a document added in the target by hand has none)
            number = f'<a class="record-link" href="{_e(ledger_link)}">{_e(d.key)}</a>' if record else _e(d.key)
            log_link = f'<a class="log-link" href="{_e(log_url)}" target="_top">log</a>' if log_url else ""
            target = (f'<a class="target-link" href="{_e(url)}" target="_blank" rel="noopener">#{_e(target_id)}</a>'
                      if url else _e(target_id))
            outcome = "o-explained" if d.explained else "o-unexplained"
            rows.append(
                f'<tr class="difference {"explained" if d.explained else "unexplained"}"><td>'
                f'{_e(result.outlet_code)}</td><td>{_e(d.kind)}</td><td>{_e(d.record_type)}</td>'
                f"<td>{number}</td><td>{_e(d.detail)}</td>"
                f'<td class="{outcome}">{_e(d.explanation or "unexplained")}</td><td>{log_link}</td>'
                f"<td>{target}</td></tr>")
    day = chosen[0].business_date if chosen else results[0].business_date
    resync = (f"""<form id="resync-missing" method="post" action="reconciliation/resync">
<input type="hidden" name="integration" value="{_e(integration.name)}"><input type="hidden" name="date"
value="{day.isoformat()}"><input type="hidden" name="outlet" value="{_e(outlet or "")}">
<button type="submit">Re-sync missing</button> sets the {missing} document(s) synced in the ledger but absent from
{_e(integration.target)} back to pending and triggers the sales sync of {day} for them</form>""" if missing else "")
    table = "".join(rows) or '<tr><td colspan="8">no differences: the books equal the POS</td></tr>'
    if shown > DRILLDOWN_ROWS:
        table += (f'<tr><td colspan="8">… and {shown - DRILLDOWN_ROWS:,} more '
                  f"(possync reconcile --integration {_e(integration.name)} --from {chosen[0].business_date} --json)"
                  "</td></tr>")
    return f"""<h2 id="drilldown">{day}{" " + _e(outlet) if outlet else ""}: differing documents</h2>{resync}
<table id="differences"><tr><th>outlet</th><th>difference</th><th>record</th><th>number</th><th>what</th>
<th>explained by</th><th>task log</th><th>{_e(integration.target)} document</th></tr>{table}</table>"""


def plan_resync(integration: Any, ledger: Any, day: date, outlet: str | None) -> tuple[list[tuple[str, str]],
                                                                                       Retry]:
    """Re-sync missing for one day: reset the kept result's synced-but-absent records to pending, and the sales
    run (a window over the whole day, for their outlets) that posts them again."""
    from possync.reconcile import ReconciliationLog, resync_missing

    results = [r for r in ReconciliationLog(ledger.engine).history(integration.name, day, day, latest_only=True)
               if outlet is None or r.outlet_code == outlet]
    if not results:
        raise Refused(404, f"no reconciliation of {integration.name} is kept for {day}")
    outlets = sorted({r.outlet_code for r in results for d in r.differences if d.kind == "synced_but_absent"
                      and r.outlet_code in integration.outlets})
    if not outlets:
        raise Refused(409, f"nothing is missing on {day}: no document synced in the ledger is absent from the target")
    zone = ZoneInfo(integration.timezone)
    start = datetime.combine(day, time(), tzinfo=zone)
    run = Retry(f"{integration.name}__sales", {"window_start": start.isoformat(),
                                               "window_end": (start + timedelta(days=1)).isoformat(),
                                               "outlets": outlets}, 0)
    reset = resync_missing(ledger, integration.name, results)
    return reset, Retry(run.dag_id, run.conf, len(reset))


# ------------------------------------------------------------------------------------------ dry-run preview


def read_previews(dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The dry-run previews the tasks of one DAG run pushed (XCom ``dry_run_preview``), read from the metadata DB
    the API server owns: ``[{"task_id", "map_index", "preview"}]`` in task order."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from possync.preview import PREVIEW_XCOM

    with create_session() as session:
        query = XComModel.get_many(run_id=run_id, key=PREVIEW_XCOM, dag_ids=dag_id).order_by(
            XComModel.task_id, XComModel.map_index)
        return [{"task_id": row.task_id, "map_index": row.map_index, "preview": XComModel.deserialize_value(row)}
                for row in session.scalars(query)]


def _may_read_xcoms(user: Any, dag_id: str) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return get_auth_manager().is_authorized_dag(method="GET", access_entity=DagAccessEntity.XCOM,
                                                details=DagDetails(id=dag_id), user=user)


_OUTCOME_CLASS = {"would post": "s-pending", "would fail": "s-failed", "skip": "s-skipped", "would match": "s-synced"}


def _preview_page(dag_id: str, run_id: str, previews: list[dict[str, Any]]) -> HTMLResponse:
    title = "Dry-run preview"
    where = f"<p>DAG <code>{_e(dag_id)}</code>, run <code>{_e(run_id)}</code>. Nothing of this was written to the "
    where += "target or the sync ledger.</p>"
    if not previews:
        return _page(title, where + "<p>This run has no dry-run preview: it was not triggered with "
                     "<code>dry_run</code> on, or its sync tasks have not run yet.</p>")
    parts = [where]
    for entry in previews:
        preview = entry["preview"] or {}
        label = entry["task_id"] + (f" [{entry['map_index']}]" if entry["map_index"] not in (None, -1) else "")
        counts = "; ".join(f"{kind}: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(per.items()))
                           for kind, per in sorted((preview.get("counts") or {}).items())) or "nothing to do"
        first = ", ".join(f"{n} {kind}" for kind, n in (preview.get("first_created") or {}).items())
        scope = ", ".join(f"{k} {v}" for k, v in (preview.get("scope") or {}).items() if v not in (None, "", []))
        parts.append(f"<h2>{_e(label)}: {_e(preview.get('flow'))} → {_e(preview.get('target'))}</h2>"
                     f"<p>{_e(scope)}</p><p class=\"counts\">{_e(counts)}</p>")
        if first:
            parts.append(f"<p>First, the master-data tasks would create {_e(first)} the documents need.</p>")
        rows = []
        for record in preview.get("records") or []:
            needs = "".join(f"<div>{_e(need)}</div>" for need in record.get("needs") or [])
            requests = []
            for request in record.get("requests") or []:
                if request["action"] == "delete":
                    requests.append(f"<div>DELETE {_e(request['what'])} #{_e(request.get('target_id'))}</div>")
                    continue
                note = (f" (built from {_e(', '.join(request['depends_on_reply']))} of the target's reply, unknown "
                        "before the real run)") if request.get("depends_on_reply") else ""
                body = json.dumps(request.get("body"), indent=2, ensure_ascii=False)
                requests.append(f"<details><summary>POST {_e(request['what'])}{note}</summary>"
                                f"<pre class=\"body\">{_e(body)}</pre></details>")
            css = _OUTCOME_CLASS.get(record["outcome"].rsplit(", then ", 1)[-1], "")
            rows.append(f"<tr><td class=\"{css}\">{_e(record['outcome'])}</td><td>{_e(record['record_type'])}</td>"
                        f"<td>{_e(record['key'])}</td><td class=\"reason\">{_e(record['detail'])}{needs}</td>"
                        f"<td>{''.join(requests)}</td></tr>")
        parts.append("<table><tr><th>Outcome</th><th>Type</th><th>Key</th><th>Detail</th><th>Requests</th></tr>"
                     + "".join(rows) + "</table>")
        left = preview.get("left_out") or {}
        if left:
            parts.append("<p>Shown: the first {} records of each type; not shown: {} (the counts include them; the "
                         "task log has every one).</p>".format(
                             _e(preview.get("limit_per_type")), _e(", ".join(f"{n} {k}" for k, n in left.items()))))
    return _page(title, "".join(parts))


# ----------------------------------------------------------------------------------------------------- app


def _guarded() -> list[Any]:
    """Authenticated Airflow users allowed to see plugin views; anonymous 401, others 403."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import requires_access_view

    return [Depends(requires_access_view(AccessView.PLUGINS))]


def _may_trigger(user: Any, dag_id: str) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return get_auth_manager().is_authorized_dag(method="POST", access_entity=DagAccessEntity.RUN,
                                                details=DagDetails(id=dag_id), user=user)


def create_app(
    *,
    integrations: Callable[[], dict[str, Any]] = _integrations,
    trigger: Callable[[str, dict[str, Any], str], str] = trigger_retry,
    previews: Callable[[str, str], list[dict[str, Any]]] = read_previews,
    stock_job: Callable[[Any, bool], Any] = _stock_job,
) -> FastAPI:
    """The Sync Status app; ``integrations``, ``trigger``, ``previews`` and ``stock_job`` are where it reads
    settings, starts runs, reads dry-run previews and reads (and adjusts) the stock."""
    from airflow.api_fastapi.core_api.security import get_user

    current_user = Depends(get_user)  # a default, not an annotation: this module's annotations are strings

    api = FastAPI(title="possync sync status", dependencies=_guarded(), docs_url=None, redoc_url=None,
                  openapi_url=None)

    def refused(error: Refused, as_json: bool) -> Response:
        if as_json:
            return JSONResponse({"detail": error.detail}, status_code=error.status)
        return _page("Sync Status", '<p><a href="./">Back to the records</a></p>', error.detail, error=True)

    async def run(work: Callable[[], Response], as_json: bool) -> Response:
        try:
            return await run_in_threadpool(work)
        except Refused as error:
            response = refused(error, as_json)
            response.status_code = error.status
            return response

    def editor(user: Any) -> Callable[[str], bool]:
        """Whether ``user`` may ignore and undo the records of a DAG (asked once per DAG and page)."""
        answers: dict[str, bool] = {}

        def may(dag_id: str) -> bool:
            if dag_id not in answers:
                answers[dag_id] = _may_trigger(user, dag_id)
            return answers[dag_id]
        return may

    @api.get("/", response_class=HTMLResponse)
    async def records_page(request: Request, user: Any = current_user) -> Response:
        params = dict(request.query_params)
        return await run(lambda: _records_page(integrations(), params, params.get("message"),
                                               params.get("error") == "1", editor(user)), as_json=False)

    @api.get("/webhooks", response_class=HTMLResponse)
    async def webhooks_page(request: Request, user: Any = current_user) -> Response:
        params = dict(request.query_params)
        return await run(lambda: _webhooks_page(integrations(), params, editor(user)), as_json=False)

    @api.get("/reconciliation", response_class=HTMLResponse)
    async def reconciliation_page(request: Request) -> Response:
        params = dict(request.query_params)
        return await run(lambda: _reconciliation_page(integrations(), params), as_json=False)

    @api.post("/reconciliation/resync")
    async def resync_form(request: Request, user: Any = current_user) -> Response:
        fields = dict(await request.form())

        def work() -> Response:
            known = integrations()
            name = str(fields.get("integration") or "")
            if name not in known:
                raise Refused(404, f"no enabled integration {name!r}")
            integration = known[name]
            if not _may_trigger(user, f"{name}__sales"):  # asked before anything is reset
                raise Refused(403, f"you may not trigger {name}__sales, so you cannot re-sync its documents")
            day = _local_day(str(fields.get("date") or ""), integration.timezone, "date")
            if day is None:
                raise Refused(400, "date is required")
            back = {"integration": name, "date": day.date().isoformat()}
            try:
                reset, plan = plan_resync(integration, _ledger(integration), day.date(),
                                          str(fields.get("outlet") or "") or None)
                run_id = trigger(plan.dag_id, plan.conf, user.get_name())
            except Refused as error:
                back.update(message=error.detail, error="1")
                return RedirectResponse(f"../reconciliation?{urlencode(back)}", status_code=303)
            log.info("sync status: %s re-synced %d missing document(s) of %s %s → %s run %s", user.get_name(),
                     len(reset), name, day.date(), plan.dag_id, run_id)
            back["message"] = (f"{len(reset)} document(s) set back to pending; triggered run {run_id} of "
                               f"{plan.dag_id} to post them again.")
            return RedirectResponse(f"../reconciliation?{urlencode(back)}", status_code=303)
        return await run(work, as_json=False)

    def preview_of(params: dict[str, str], user: Any) -> tuple[str, str, list[dict[str, Any]]]:
        dag_id, run_id = params.get("dag_id") or "", params.get("run_id") or ""
        if not dag_id or not run_id:
            raise Refused(400, "dag_id and run_id are required (the task's \"Dry-run preview\" link has both)")
        if not _may_read_xcoms(user, dag_id):
            raise Refused(403, f"you may not read the XComs of {dag_id}, where its dry-run previews are kept")
        found = previews(dag_id, run_id)
        if not found and " " in run_id:  # a link that put the run id in the query unencoded: "+00:00" read as " 00:00"
            run_id = run_id.replace(" ", "+")
            found = previews(dag_id, run_id)
        return dag_id, run_id, found

    @api.get("/preview", response_class=HTMLResponse)
    async def preview_page(request: Request, user: Any = current_user) -> Response:
        params = dict(request.query_params)
        return await run(lambda: _preview_page(*preview_of(params, user)), as_json=False)

    @api.get("/api/preview")
    async def preview_api(request: Request, user: Any = current_user) -> Response:
        params = dict(request.query_params)

        def work() -> Response:
            dag_id, run_id, found = preview_of(params, user)
            return JSONResponse({"dag_id": dag_id, "run_id": run_id, "previews": found})
        return await run(work, as_json=True)

    @api.get("/api/counts")
    async def counts_api(request: Request) -> Response:
        from possync.ledger.status import flow_counts

        def work() -> Response:
            integration = _integration(dict(request.query_params), integrations())
            counts = flow_counts(_ledger(integration), integration.name)
            return JSONResponse({"integration": integration.name,
                                 "flows": {flow: n for (_i, flow), n in counts.items()}})
        return await run(work, as_json=True)

    @api.get("/api/records")
    async def records_api(request: Request) -> Response:
        from possync.ledger.status import BadQuery, describe, record_page

        def work() -> Response:
            params = dict(request.query_params)
            integration = _integration(params, integrations())
            try:
                limit = int(params.get("limit") or PAGE_SIZE)
                page = record_page(_ledger(integration), _record_query(params, integration),
                                   cursor=params.get("cursor") or None, limit=limit)
            except (BadQuery, ValueError) as error:
                raise Refused(400, str(error)) from None
            return JSONResponse({"records": [describe(r) for r in page.records], "next_cursor": page.next_cursor})
        return await run(work, as_json=True)

    @api.get("/api/webhooks")
    async def webhooks_api(request: Request) -> Response:
        from possync.ledger.webhooks import WebhookLog

        def work() -> Response:
            integration = _integration(dict(request.query_params), integrations())
            events = WebhookLog(_ledger(integration).engine).events(integration.name, limit=200)
            return JSONResponse({"events": [
                {"uuid": e.uuid, "event_type": e.event_type, "status": e.status, "reason": e.reason,
                 "documents": e.document_numbers, "received_at": e.received_at.isoformat(),
                 "attempts": e.attempts} for e in events]})
        return await run(work, as_json=True)

    def retry(fields: dict[str, Any], user: Any) -> Retry | tuple[Retry, str]:
        known = integrations()
        name = fields.get("integration")
        if name not in known:
            raise Refused(404, f"no enabled integration {name!r}")
        flow = str(fields.get("flow") or "")
        if flow == "inbound":
            plan = Retry(f"{name}__inbound", {}, 0)
        else:
            plan = plan_retry(known[name], _ledger(known[name]), flow, fields.get("key") or None,
                              fields.get("record_type") or None)
        if not _may_trigger(user, plan.dag_id):
            raise Refused(403, f"you may not trigger {plan.dag_id}, so you cannot retry its records")
        try:
            run_id = trigger(plan.dag_id, plan.conf, user.get_name())
        except Refused:
            raise
        except Exception as error:  # a conf the DAG's params refuse, a paused or unknown DAG
            raise Refused(400, f"{plan.dag_id} was not triggered: {error}") from None
        log.info("sync status: %s retried %s %s → %s run %s", user.get_name(), name, flow, plan.dag_id, run_id)
        return plan, run_id

    def set_aside(fields: dict[str, Any], user: Any, action: str) -> Any:
        """Ignore (``action`` "ignore") or undo a record: the record as it now is. Refused before anything
        changes: 404 unknown, 403 no right to trigger the DAG that owns its flow, 400 no reason, 409 wrong status."""
        from possync.ledger.quarantine import QuarantineRefused, ignore, undo

        known = integrations()
        name = str(fields.get("integration") or "")
        if name not in known:
            raise Refused(404, f"no enabled integration {name!r}")
        record_type, key = str(fields.get("record_type") or ""), str(fields.get("key") or "")
        if not record_type or not key:
            raise Refused(400, "record_type and key are required: which record?")
        ledger = _ledger(known[name])
        record = ledger.get(name, record_type, key)
        if record is None:
            raise Refused(404, f"{name} has no {record_type} record {key!r}")
        dag_id = owning_dag(name, record.flow)
        verb = "ignore" if action == "ignore" else "undo ignoring"
        if not _may_trigger(user, dag_id):
            raise Refused(403, f"you may not trigger {dag_id}, so you cannot {verb} its records")
        reason = fields.get("reason")
        reason = reason if isinstance(reason, str) else None
        try:
            if action == "ignore":
                record = ignore(ledger, name, record_type, key, by=user.get_name(), reason=reason)
            else:
                record = undo(ledger, name, record_type, key, by=user.get_name(), reason=reason)
        except QuarantineRefused as error:
            raise Refused(QUARANTINE_STATUS[error.kind], str(error)) from None
        log.info("sync status: %s %s %s %s %s: %s", user.get_name(), "ignored" if action == "ignore" else "undid",
                 name, record_type, key, reason or "")
        return record

    def set_aside_webhook(fields: dict[str, Any], user: Any, action: str) -> str | None:
        """Ignore or undo a failed webhook event (``uuid``); its reason now. Refused as ``set_aside``."""
        from possync.ledger.quarantine import QuarantineRefused, ignore_webhook, undo_webhook

        known = integrations()
        name = str(fields.get("integration") or "")
        if name not in known:
            raise Refused(404, f"no enabled integration {name!r}")
        uuid = str(fields.get("uuid") or "")
        if not uuid:
            raise Refused(400, "uuid is required: which webhook event?")
        dag_id = owning_dag(name, "inbound")
        if not _may_trigger(user, dag_id):
            raise Refused(403, f"you may not trigger {dag_id}, so you cannot "
                               f"{'ignore' if action == 'ignore' else 'undo ignoring'} its webhook events")
        reason = fields.get("reason")
        reason = reason if isinstance(reason, str) else None
        try:
            if action == "ignore":
                return ignore_webhook(_ledger(known[name]), name, uuid, by=user.get_name(), reason=reason)
            return undo_webhook(_ledger(known[name]), name, uuid, by=user.get_name(), reason=reason)
        except QuarantineRefused as error:
            raise Refused(QUARANTINE_STATUS[error.kind], str(error)) from None

    async def json_fields(request: Request) -> dict[str, Any] | None:
        try:
            fields = await request.json()
        except ValueError:
            return None
        return fields if isinstance(fields, dict) else None

    # The same four routes for Ignore and its Undo ("unignore"): a record and a webhook event, as JSON and as a form
    for action in ("ignore", "unignore"):
        def routes(action: str = action) -> None:
            step = "ignore" if action == "ignore" else "undo"

            @api.post(f"/api/{action}", name=f"{action}_api")
            async def record_api(request: Request, user: Any = current_user) -> Response:
                fields = await json_fields(request)
                if fields is None:
                    return JSONResponse({"detail": "send a JSON object: integration, record_type, key, reason"}, 400)

                def work() -> Response:
                    from possync.ledger.quarantine import describe_entry, history
                    from possync.ledger.status import describe

                    record = set_aside(fields, user, step)
                    entries = history(_ledger(integrations()[record.integration]), record.integration,
                                      record.record_type, record.key)
                    return JSONResponse({"record": describe(record),
                                         "history": [describe_entry(e) for e in entries]})
                return await run(work, as_json=True)

            @api.post(f"/api/webhooks/{action}", name=f"webhooks_{action}_api")
            async def webhook_api(request: Request, user: Any = current_user) -> Response:
                fields = await json_fields(request)
                if fields is None:
                    return JSONResponse({"detail": "send a JSON object: integration, uuid, reason"}, 400)

                def work() -> Response:
                    reason = set_aside_webhook(fields, user, step)
                    status = "ignored" if step == "ignore" else "failed"
                    return JSONResponse({"uuid": fields["uuid"], "status": status, "reason": reason})
                return await run(work, as_json=True)

            @api.post(f"/{action}", name=f"{action}_form")
            async def record_form(request: Request, user: Any = current_user) -> Response:
                fields = dict(await request.form())

                def work() -> Response:
                    back = {k: v for k, v in (("integration", fields.get("integration")),
                                              ("flow", fields.get("flow"))) if v}
                    try:
                        record = set_aside(fields, user, step)
                    except Refused as error:
                        if error.status == 403:
                            raise
                        back.update(status="failed" if step == "ignore" else "ignored", message=error.detail,
                                    error="1")
                        return RedirectResponse(f"./?{urlencode(back)}", status_code=303)
                    if step == "ignore":
                        back.update(status="ignored", message=(
                            f"Ignored {record.record_type} {record.key}: it is not retried and not counted as open. "
                            "Undo puts it back to failed."))
                    else:
                        back.update(status="failed", message=(
                            f"{record.record_type} {record.key} is failed again ({record.reason}); the next run "
                            "retries it."))
                    return RedirectResponse(f"./?{urlencode(back)}", status_code=303)
                return await run(work, as_json=False)

            @api.post(f"/webhooks/{action}", name=f"webhooks_{action}_form")
            async def webhook_form(request: Request, user: Any = current_user) -> Response:
                fields = dict(await request.form())

                def work() -> Response:
                    back = {"integration": str(fields.get("integration") or "")}
                    try:
                        set_aside_webhook(fields, user, step)
                    except Refused as error:
                        if error.status == 403:
                            raise
                        back.update(message=error.detail, error="1")
                        return RedirectResponse(f"../webhooks?{urlencode(back)}", status_code=303)
                    back["message"] = (f"Ignored webhook event {fields.get('uuid')}: it is not processed again."
                                       if step == "ignore" else
                                       f"Webhook event {fields.get('uuid')} is failed again; the next inbound run "
                                       "retries it.")
                    return RedirectResponse(f"../webhooks?{urlencode(back)}", status_code=303)
                return await run(work, as_json=False)
        routes()

    @api.get("/api/history")
    async def history_api(request: Request) -> Response:
        from possync.ledger.quarantine import describe_entry, history

        def work() -> Response:
            params = dict(request.query_params)
            integration = _integration(params, integrations())
            if not params.get("record_type") or not params.get("key"):
                raise Refused(400, "record_type and key are required (record_type webhook_event: key is its uuid)")
            entries = history(_ledger(integration), integration.name, params["record_type"], params["key"])
            return JSONResponse({"history": [describe_entry(e) for e in entries]})
        return await run(work, as_json=True)

    @api.post("/api/retry")
    async def retry_api(request: Request, user: Any = current_user) -> Response:
        try:
            fields = await request.json()
        except ValueError:
            return JSONResponse({"detail": "send a JSON object: integration, flow, and optionally key"}, 400)
        if not isinstance(fields, dict):
            return JSONResponse({"detail": "send a JSON object: integration, flow, and optionally key"}, 400)

        def work() -> Response:
            plan, run_id = retry(fields, user)  # type: ignore[misc]
            return JSONResponse({"dag_id": plan.dag_id, "run_id": run_id, "conf": plan.conf,
                                 "records": plan.records})
        return await run(work, as_json=True)

    @api.post("/retry")
    async def retry_form(request: Request, user: Any = current_user) -> Response:
        fields = dict(await request.form())

        def work() -> Response:
            back = {k: v for k, v in (("integration", fields.get("integration")), ("flow", fields.get("flow")),
                                       ("status", "failed")) if v}
            try:
                plan, run_id = retry(fields, user)  # type: ignore[misc]
            except Refused as error:
                if error.status == 403:
                    raise
                back.update(message=error.detail, error="1")
                if fields.get("back") == "webhooks":
                    return RedirectResponse("webhooks?" + urlencode({"integration": fields.get("integration"),
                                                                     "message": error.detail, "error": "1"}),
                                            status_code=303)
                return RedirectResponse(f"./?{urlencode(back)}", status_code=303)
            what = f"record {fields['key']}" if fields.get("key") else f"{plan.records} failed record(s)"
            if fields.get("back") == "webhooks":  # the webhook log's Retry failed: its failed events
                return RedirectResponse("webhooks?" + urlencode({
                    "integration": fields.get("integration"),
                    "message": f"Triggered run {run_id} of {plan.dag_id} to process the failed events again."}),
                    status_code=303)
            back["message"] = f"Triggered run {run_id} of {plan.dag_id} to re-sync {what}, oldest first."
            return RedirectResponse(f"./?{urlencode(back)}", status_code=303)
        return await run(work, as_json=False)

    @api.get("/stock", response_class=HTMLResponse)
    async def stock_page(request: Request, user: Any = current_user) -> Response:
        params = dict(request.query_params)
        return await run(lambda: _stock_page(integrations(), params, stock_job, editor(user)), as_json=False)

    @api.get("/api/stock")
    async def stock_api(request: Request) -> Response:
        params = dict(request.query_params)

        def work() -> Response:
            from possync.stocksync import compare_stock, describe

            integration = _integration(params, integrations())
            try:
                rows = compare_stock(stock_job(integration, False), warehouse=params.get("warehouse") or None)
            except ValueError as error:
                raise Refused(400, str(error)) from None
            return JSONResponse({"integration": integration.name, **describe(rows)})
        return await run(work, as_json=True)

    def adjust_stock(fields: dict[str, Any], user: Any) -> Any:
        """Adjust the target to the POS (a product, a warehouse or all): refused before anything is posted, 404
        unknown integration, 403 no right to trigger the stock DAG, 400 an unknown warehouse."""
        from possync.stocksync import adjust_to_pos

        known = integrations()
        name = str(fields.get("integration") or "")
        if name not in known:
            raise Refused(404, f"no enabled integration {name!r}")
        dag_id = owning_dag(name, "stock")
        if not _may_trigger(user, dag_id):
            raise Refused(403, f"you may not trigger {dag_id}, so you cannot adjust its stock")
        warehouse, sku = (str(fields.get(k) or "") or None for k in ("warehouse", "sku"))
        log.info("sync status: %s asked to adjust %s stock to the POS (warehouse %s, product %s)", user.get_name(),
                 name, warehouse or "all", sku or "all")
        try:
            return adjust_to_pos(stock_job(known[name], True), who=user.get_name(), warehouse=warehouse, sku=sku)
        except ValueError as error:
            raise Refused(400, str(error)) from None

    @api.post("/api/stock/adjust")
    async def stock_adjust_api(request: Request, user: Any = current_user) -> Response:
        fields = await json_fields(request)
        if fields is None:
            return JSONResponse({"detail": "send a JSON object: integration, and optionally warehouse and sku"}, 400)

        def work() -> Response:
            summary = adjust_stock(fields, user)
            return JSONResponse({**summary.as_dict(), "failures": summary.failures})
        return await run(work, as_json=True)

    @api.post("/stock/adjust")
    async def stock_adjust_form(request: Request, user: Any = current_user) -> Response:
        fields = dict(await request.form())

        def work() -> Response:
            back = {"integration": fields.get("integration")}
            try:
                summary = adjust_stock(fields, user)
            except Refused as error:
                if error.status == 403:
                    raise
                return RedirectResponse("?".join(("stock", urlencode({**back, "message": error.detail, "error": "1"}))),
                                        status_code=303)
            message = (f"Posted {summary.synced} stock adjustment(s) bringing the target to the POS"
                       + (f"; {summary.failed} failed: {'; '.join(summary.failures)}" if summary.failed else ""))
            back.update(message=message, **({"error": "1"} if summary.failed else {}))
            return RedirectResponse("stock?" + urlencode(back), status_code=303)
        return await run(work, as_json=False)

    return api


app = create_app()
