"""The one shape of a per-record log line, everywhere: outcome, record type, key, then what happened.

    SYNCED   invoice   INV-JKT01-20261109-0001      → Jurnal #1203 (INV-JKT01-20261109-0001)
    FAILED   invoice   INV-JKT01-20261111-0017      product 'Kopi Susu Gula Aren Seasonal 1L' has no SKU
    REVERSED payment   INV-JKT01-20261109-0004/P1   changed in the POS after it was synced (...): deleted ...

A record whose key does not name its outlet gets the outlet after the detail (`` · outlet JKT01``), so a task
that syncs a group of outlets still says whose record each line is.

The detail is written in the language the logger carries (``possync.i18n.LanguageAdapter``, set from the
integration's ``language``); the outcome, record type and key stay as they are (ops grep for them):

    FAILED   invoice   INV-JKT01-20261111-0017      produk 'Kopi Susu Gula Aren Seasonal 1L' tidak punya SKU
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from possync.i18n import language_of, translate

#: every outcome a log line can have; DAG docs tell ops to look for these and no others
OUTCOMES = ("SYNCED", "SKIPPED", "FAILED", "REVERSED", "CREATED", "APPLIED", "UPLOADED", "PROCESSED")


def log_record(logger: logging.Logger | logging.LoggerAdapter | Any, outcome: str, record_type: str, key: str,
               detail: str, *, level: int = logging.INFO, outlet: str | None = None) -> None:
    """One per-record line: outcome, record type, key, then the detail (in the logger's language); ``outlet``
    is added after the detail when the key does not already name it."""
    if outcome not in OUTCOMES:
        raise ValueError(f"log outcome {outcome!r} is not one of {OUTCOMES}")
    language = language_of(logger)
    if language != "en":
        detail = translate(detail, language)
    if outlet and outlet not in key:
        detail = f"{detail} · outlet {outlet}"
    logger.log(level, "%-8s %-9s %-28s %s", outcome, record_type, key, detail)


def utc_minute(moment: datetime) -> str:
    """``2026-11-09 10:15 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def failing_for(since: datetime, now: datetime | None = None) -> str:
    """How long something has been failing, in words: "40 min", "5 h", "1 day", "12 days"."""
    seconds = max(0, int(((now or datetime.now(UTC)) - since).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''}"


def ignored_note(record: Any) -> str:
    """The detail of the SKIPPED line of a record someone set aside (a ledger record with status ``ignored``)."""
    when = f" on {record.ignored_at:%Y-%m-%d %H:%M} UTC" if getattr(record, "ignored_at", None) else ""
    return (f"ignored by {record.ignored_by}{when}: {record.ignored_reason} (not retried; undo it on Sync Status "
            "or with `possync unignore`, or repair it in the POS)")
