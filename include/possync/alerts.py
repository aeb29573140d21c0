"""Alerts: a message when a possync task fails, and a daily digest of the failures still open in the ledger.

Both go through Airflow's notifier mechanism (``airflow.sdk.BaseNotifier``) to the channels an integration's
``alerts`` settings name (``possync.config.Alerts``), each an Airflow connection, so no secret lives in the
config or the code:

* **e-mail**: the SMTP provider's ``SmtpNotifier`` on an ``smtp`` connection;
* **chat**: the Slack provider's ``SlackWebhookNotifier`` on a ``slackwebhook`` connection (Slack, or any
  service that takes Slack's incoming-webhook JSON, ``{"text": ...}``, at the connection's URL).

**On a red run** every failed task of a possync DAG sends one message (``TaskFailureNotifier``, the tasks'
``on_failure_callback``): integration, DAG, run, task (with its outlet), the task's failure message split
into one reason line per failed record, and links to the task in the Airflow UI and to Sync Status filtered
to the run's failed records. A task-level callback, not a DAG-level one, on purpose: Airflow runs it in the
task's own process after the task failed (``task_runner.finalize``), the same code path under the scheduler
as in ``dag.test``, with the task's exception in the context; a DAG-level callback runs in the DAG processor
and knows only the last failed task, without its message. A task that is retried alerts only when its last
try fails.

**The daily digest** (``<integration>__alerts_digest``, at ``alerts.digest_time``) lists the ledger's open
failures (status ``failed``) grouped by flow and reason, with counts, oldest first and how long they have been
in the ledger. No open failure, no digest.

A channel that cannot deliver (SMTP server down, webhook refused) is logged as an error naming the channel
and its connection; it never changes a task's state, and the other channel still gets the message.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from possync.config import Alerts, Integration
    from possync.ledger import SyncLedger

log = logging.getLogger("possync.alerts")

#: at most this many reason lines in a failure message (the rest: "and N more", the task log has them all)
MAX_REASON_LINES = 20
#: at most this many failed records the digest reads per integration (it counts them all)
DIGEST_READ_LIMIT = 50_000
#: at most this many groups (flow and reason) in a digest, the oldest; the rest are counted in one line
DIGEST_GROUPS = 50
#: a failure message's reasons, as the sync operators join them: "<record type> <key>: <reason>; ..."
_NEXT_RECORD = re.compile(r"; (?=[a-z][a-z_]* \S+: )")
_COUNTED = re.compile(r"^(\d+ (?:record\(s\) failed|data gagal)): (.*)$", re.DOTALL)  # en, id (possync.i18n)
_MORE = re.compile(r" \((?:and \d+ more in the log|dan \d+ lagi di log)\)$")
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True, slots=True)
class Message:
    """One alert, channel-neutral: a subject and plain-text lines (the e-mail gets them as HTML)."""

    subject: str
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def html(self) -> str:
        def line(text: str) -> str:
            escaped = html.escape(text)
            return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)

        body = "\n".join(line(text) for text in self.lines)
        return f"<pre style=\"font-family: monospace\">{body}</pre>"

    @property
    def chat(self) -> str:
        """The chat text: the subject in bold (Slack's mrkdwn), then the lines."""
        return f"*{self.subject}*\n{self.text}"


# -- links ---------------------------------------------------------------------------------------------------


def ui_base_url() -> str:
    """The Airflow UI's public address (``[api] base_url``), without a trailing slash."""
    from airflow.configuration import conf

    return (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")


def task_url(dag_id: str, run_id: str, task_id: str | None = None, map_index: int = -1) -> str:
    """The run (or one of its tasks) in the Airflow UI."""
    url = f"{ui_base_url()}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    if task_id:
        url += f"/tasks/{quote(task_id, safe='')}"
        if map_index >= 0:
            url += f"/mapped/{map_index}"
    return url


def sync_status_url(integration: str, **filters: Any) -> str:
    """The Sync Status page of an integration, filtered (e.g. ``status="failed"``, ``dag_id``, ``run_id``)."""
    query = {"integration": integration, **{k: v for k, v in filters.items() if v is not None}}
    return f"{ui_base_url()}/sync-status/?{urlencode(query)}"


# -- delivery ------------------------------------------------------------------------------------------------


def _notifiers(alerts: Alerts, message: Message) -> Iterator[tuple[str, str, BaseNotifier]]:
    if alerts.email is not None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        yield "email", alerts.email.conn_id, SmtpNotifier(
            smtp_conn_id=alerts.email.conn_id, to=list(alerts.email.to), from_email=alerts.email.from_email,
            subject=message.subject, html_content=message.html,
        )
    if alerts.chat is not None:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        yield "chat", alerts.chat.conn_id, SlackWebhookNotifier(
            slack_webhook_conn_id=alerts.chat.conn_id, text=message.chat, unfurl_links=False,
        )


def deliver(alerts: Alerts | None, message: Message, context: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Send ``message`` to every channel of ``alerts``; channel → ``sent`` or ``failed: <why>``. Never raises:
    a channel that fails is logged as an error and the next one is tried. No alerts configured: nothing."""
    outcomes: dict[str, str] = {}
    if alerts is None:
        return outcomes
    for channel, conn_id, notifier in _notifiers(alerts, message):
        try:
            # notify(), not __call__: the text is ours, never rendered as a Jinja template
            notifier.notify(dict(context or {}))  # type: ignore[arg-type]
        except Exception as error:  # any channel's failure is logged, never the task's
            log.error("ALERT NOT SENT  %s via connection %r: %s: %s (subject: %s)", channel, conn_id,
                      type(error).__name__, error, message.subject)
            outcomes[channel] = f"failed: {type(error).__name__}: {error}"
        else:
            log.info("ALERT SENT  %s via connection %r: %s", channel, conn_id, message.subject)
            outcomes[channel] = "sent"
    return outcomes


# -- a failed task -------------------------------------------------------------------------------------------


def reason_lines(error: str) -> list[str]:
    """A task's failure message as lines: the sync operators' ``"3 record(s) failed: invoice A: why; ..."``
    becomes its head and one line per record; anything else its own lines."""
    error = error.strip()
    if not error:
        return []
    counted = _COUNTED.match(error)
    if counted:
        head, rest = counted.groups()
        more = ""
        tail = _MORE.search(rest)
        if tail:
            rest, more = rest[: tail.start()], tail.group(0).strip()
        return [f"{head}:", *(f"  - {item}" for item in _NEXT_RECORD.split(rest)), *([f"  {more}"] if more else [])]
    return [line.rstrip() for line in error.splitlines() if line.strip()]


#: the link lines' labels are padded to this width ("Task in Airflow:")
LINK_WIDTH = 16


def _labelled(label: str, value: str, width: int = 12) -> str:
    """``Label: value``, the label padded so that the values of a message's lines line up."""
    return f"{label + ':':<{width}} {value}"


def failure_message(context: Mapping[str, Any], *, name: str, target: str | None = None,
                    ledger: bool = True, language: str = "en") -> Message:
    """The alert for a failed task, from the failure callback's context. ``ledger``: the integration keeps a sync
    ledger, so the message links Sync Status (a head office keeps its lists in its own database). ``language``:
    the integration's; the sync tasks' failure messages arrive in it already (``possync.i18n.failure_message``)."""
    from possync.i18n import alert_word

    def w(text: str) -> str:
        return alert_word(text, language)

    ti = context.get("ti")
    dag = context.get("dag")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag, "dag_id", "?")
    run_id = getattr(ti, "run_id", None) or context.get("run_id") or "?"
    task_id = getattr(ti, "task_id", None) or "?"
    map_index = getattr(ti, "map_index", -1)
    map_index = -1 if map_index is None else int(map_index)
    label = getattr(ti, "rendered_map_index", None) or (str(map_index) if map_index >= 0 else "")
    task = f"{task_id} [{label}]" if label else task_id
    error = context.get("exception")
    reasons = reason_lines(str(error)) if error is not None else []
    if not reasons:
        reasons = [w("(no failure message: the task was killed or lost its heartbeat; see its log)")]
    if len(reasons) > MAX_REASON_LINES:
        reasons = [*reasons[:MAX_REASON_LINES],
                   f"  … {w('and')} {len(reasons) - MAX_REASON_LINES} {w('more lines in the task log')}"]
    try_number = getattr(ti, "try_number", None)
    lines = [
        _labelled(w("Integration"), name + (f" ({w(target)})" if target else "")),
        _labelled("DAG", dag_id),
        _labelled("Run", run_id),
        _labelled(w("Task"), task + (f" (try {try_number})" if try_number else "")),
        "",
        f"{w('Reason')}:",
        *(f"  {line}" for line in reasons),
        "",
        _labelled(w("Run in Airflow"), task_url(dag_id, run_id), LINK_WIDTH),
        _labelled(w("Task in Airflow"), task_url(dag_id, run_id, task_id, map_index), LINK_WIDTH),
        _labelled(w("Sync Status"), sync_status_url(name, dag_id=dag_id, run_id=run_id, status="failed"), LINK_WIDTH)
        if ledger else _labelled(w("Documents"), w(HO_DOCUMENTS), LINK_WIDTH),
    ]
    return Message(f"[possync] {name}: {task} {w('failed in')} {dag_id}", lines)


#: where a head office's documents and their reasons are listed (it keeps no sync ledger)
HO_DOCUMENTS = "possync headoffice status (Sent Data / Received Data, with HO's reasons)"


class TaskFailureNotifier(BaseNotifier):
    """The ``on_failure_callback`` of every task of a possync DAG whose integration (or head office) has alerts:
    sends the failed task's message (``failure_message``) to the configured channels.

    :param name: the integration or head office.
    :param alerts: its alert settings (channels and their connections).
    :param target: the target's name, shown beside the integration.
    :param ledger: whether it keeps a sync ledger (then the message links Sync Status); not a head office.
    :param language: the integration's language (``en`` or ``id``) for the message's own words.
    """

    template_fields = ()

    def __init__(self, *, name: str, alerts: Alerts, target: str | None = None, ledger: bool = True,
                 language: str = "en") -> None:
        super().__init__()
        self.name = name
        self.alerts = alerts
        self.target = target
        self.ledger = ledger
        self.language = language

    def notify(self, context: Any) -> None:
        from possync.i18n import alert_word

        try:
            message = failure_message(context, name=self.name, target=self.target, ledger=self.ledger,
                                      language=self.language)
        except Exception:  # a message that cannot be built must not hide the failure: say so, plainly
            log.exception("could not build the failure alert of %s", self.name)
            message = Message(f"[possync] {self.name}: {alert_word('a task failed', self.language)}", [
                _labelled(alert_word("Integration", self.language), self.name),
                alert_word("A task failed; its details could not be read. See the Airflow UI.", self.language),
                *([f"{alert_word('Sync Status', self.language)}: {sync_status_url(self.name, status='failed')}"]
                  if self.ledger else [])])
        deliver(self.alerts, message, context)


# -- the daily digest of open failures -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """Open failures of one flow with one reason: how many, and the oldest of them."""

    flow: str
    reason: str
    count: int
    oldest_type: str
    oldest_key: str
    oldest_since: datetime  # when the oldest record entered the ledger (UTC)
    oldest_business_time: datetime | None


def open_failures(ledger: SyncLedger, integration: str) -> tuple[list[FailureGroup], int]:
    """The integration's records whose ledger status is ``failed``, grouped by flow and reason, oldest group
    first (by when its oldest record entered the ledger); and how many records failed in all."""
    from sqlalchemy import func, select

    from possync.ledger.schema import sync_records

    c = sync_records.c
    where = (c.integration == integration, c.status == "failed")
    query = (select(c.flow, c.reason, c.record_type, c.business_key, c.first_seen_at, c.business_time)
             .where(*where).order_by(c.first_seen_at, c.business_time, c.business_key).limit(DIGEST_READ_LIMIT))
    with ledger.engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(sync_records).where(*where)).scalar() or 0)
        rows = conn.execute(query).all()
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        groups.setdefault((row.flow, row.reason or "(no reason recorded)"), []).append(row)
    result = []
    for (flow, reason), members in groups.items():
        oldest = members[0]
        result.append(FailureGroup(
            flow=flow, reason=reason, count=len(members), oldest_type=oldest.record_type,
            oldest_key=oldest.business_key,
            oldest_since=oldest.first_seen_at, oldest_business_time=oldest.business_time,  # aware UTC
        ))
    return result, total


def age(delta: timedelta) -> str:
    """A duration as ops read it: ``3 d 4 h``, ``5 h 12 min``, ``12 min``."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def digest_message(integration: Integration, groups: Sequence[FailureGroup], total: int,
                   now: datetime | None = None) -> Message:
    """The digest of an integration's open failures (``open_failures``)."""
    from zoneinfo import ZoneInfo

    now = now or datetime.now(UTC)
    from possync.i18n import alert_word, translate

    language = integration.language

    def w(text: str) -> str:
        return alert_word(text, language)

    zone = ZoneInfo(integration.timezone)
    flows = sorted({g.flow for g in groups})
    lines = [
        _labelled(w("Integration"), f"{integration.name} ({integration.target})"),
        f"{w('Open failures')}: {total} {w('record(s) in')} {len(groups)} "
        f"{w('group(s) (flow and reason), oldest first:')}",
        "",
    ]
    for group in groups[:DIGEST_GROUPS]:
        sold = (f", {w('business time')} {group.oldest_business_time.astimezone(zone):%Y-%m-%d %H:%M}"
                if group.oldest_business_time else "")
        lines += [
            f"{group.count:>5} x {group.flow}: {translate(group.reason, language)}",
            f"        {w('oldest')} {group.oldest_type} {group.oldest_key}{sold}, {w('in the ledger for')} "
            f"{age(now - group.oldest_since)}",
        ]
    shown = sum(g.count for g in groups[:DIGEST_GROUPS])
    if total > shown:
        lines.append(f"  … {w('and')} {total - shown} {w('more failed record(s)')}"
                     + (f" {w('in')} {len(groups) - DIGEST_GROUPS} {w('more group(s)')}"
                        if len(groups) > DIGEST_GROUPS else "")
                     + f" {w('(Sync Status lists them all)')}")
    lines += [
        "",
        w("Repair the POS records, then retry from Sync Status (Retry failed) or wait for the next runs."),
        *(f"{w('Sync Status')} ({flow}): {sync_status_url(integration.name, flow=flow, status='failed')}"
          for flow in flows),
    ]
    oldest = age(now - groups[0].oldest_since) if groups else "0 min"
    return Message(f"[possync] {integration.name}: {total} {w('open failure(s)')}, {w('oldest')} {oldest}", lines)


def send_digest(integration: Integration, ledger: SyncLedger | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    """Read the integration's open failures and send the digest to its channels; a summary of what was done.

    Nothing to send (no alerts configured, digest off, no open failure): nothing is sent. Raises
    ``RuntimeError`` when every channel failed, so the digest task turns red and is retried.
    """
    alerts = integration.alerts
    if alerts is None or not alerts.digest:
        log.info("%s: no digest configured; nothing sent", integration.name)
        return {"open_failures": None, "sent": {}}
    if ledger is None:
        from possync.db import engine_for_conn
        from possync.ledger import SyncLedger

        own = SyncLedger(engine_for_conn(integration.ledger_conn_id))
        try:
            own.create_schema()
            return send_digest(integration, own, now)
        finally:
            own.dispose()
    groups, total = open_failures(ledger, integration.name)
    if not total:
        log.info("%s: no open failures in the ledger; no digest sent", integration.name)
        return {"open_failures": 0, "sent": {}}
    message = digest_message(integration, groups, total, now)
    for line in message.lines:
        log.info("%s", line)
    outcomes = deliver(alerts, message)
    if outcomes and all(outcome != "sent" for outcome in outcomes.values()):
        raise RuntimeError(f"the digest of {integration.name} reached no channel: {outcomes}")
    return {"open_failures": total, "groups": len(groups), "sent": outcomes}
