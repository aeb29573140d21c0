"""What a failure reason says, without the parts that change from one attempt to the next.

A record that keeps failing for the same reason is reported once (its task goes red the first time), then
retried quietly; a record whose reason changes is reported again. Some reasons carry text that changes on
every attempt without the reason changing: a timestamp, an Airflow run id, an attempt number, a request id,
or where the record sat in a batch the target refused as a whole ("Item 3: ...", "(2 of 17 invoices are not
valid ...)"). ``failure_key`` compares reasons without that noise:

    >>> failure_key("Jurnal: HTTP 503 at 2026-11-09T10:15:02Z, attempt 3 of 5") == \\
    ...     failure_key("Jurnal: HTTP 503 at 2026-11-10T08:00:41Z, attempt 1 of 5")
    True
    >>> failure_key("product 'Kopi Susu' has no SKU") == failure_key("product 'Teh Tarik' has no SKU")
    False
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

_NOISE: tuple[tuple[re.Pattern[str], str], ...] = (
    # a date with a time of day (ISO or "2026-11-09 10:15 UTC"); a plain date is kept: it names a day
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}|\s?UTC)?"), "<time>"),
    # Airflow run ids: manual__2026-..., scheduled__..., backfill__..., asset_triggered__...
    (re.compile(r"\b(?:manual|scheduled|backfill|dataset_triggered|asset_triggered)__\S+"), "<run>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<uuid>"),
    (re.compile(r"\b((?:x-)?(?:request|trace|correlation)[ _-]?id)\s*[:=#]?\s*[\w.-]+", re.IGNORECASE), r"\1 <id>"),
    # attempt and try numbers: "attempt 3", "try #2", "attempt 3 of 5", "after 4 attempts", "3 retries"
    (re.compile(r"\b(attempt|try|retry)\s*(?:number\s*)?#?\d+(?:\s*(?:of|/)\s*\d+)?", re.IGNORECASE), r"\1 <n>"),
    (re.compile(r"\b\d+\s+(attempts|tries|retries)\b", re.IGNORECASE), r"<n> \1"),
    # a record's place in a batch refused as a whole depends on what else was in the batch
    (re.compile(r"\bItem \d+:"), "Item <n>:"),
    (re.compile(r"\(\d+ of \d+ (\w+) (?:is|are) not valid"), r"(<n> of <n> \1 are not valid"),
    # elapsed times: "after 12.4 s", "took 830 ms"
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|sec|seconds)\b"), "<duration>"),
)


def normalised_reason(reason: str | None) -> str:
    """``reason`` with its volatile parts replaced by placeholders, spaces collapsed."""
    text = reason or ""
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def failure_key(reason: str | None) -> str:
    """A fixed-length key of the reason without its noise: equal keys, same failure (sha256 hex, 64 chars)."""
    return hashlib.sha256(normalised_reason(reason).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Failing:
    """What the ledger answered when it stored a failure: since when the record (or webhook event) has been failing
    for this reason, and whether the failure is ``new`` to the DAG run that wrote it. New: this write started it
    (a first failure, or another reason than before), or an earlier write of the same DAG run did (the run's other
    task, or an earlier try of this task: a retry of a red task stays red until the record is repaired). A failure
    that began in an earlier run was reported by that run; it is retried quietly. Runs are told apart by their
    ids, never by clocks: backfill runs seconds apart are as distinct as runs a day apart."""

    since: datetime
    new: bool


def run_key(dag_id: str | None, run_id: str | None) -> str | None:
    """The DAG run a failure began in, as the ledger keeps it (``failing_run``); None for writes outside a run."""
    return f"{dag_id}/{run_id}" if dag_id and run_id else None
