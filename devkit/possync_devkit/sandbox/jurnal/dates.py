"""Date formats on Jurnal's wire (accounting_apis.md §1.3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

# Request bodies: the swagger examples use both ISO dates and day-first dates.
_BODY_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y")
# List filters: "must equal to dd/mm/yyyy or dd-mm-yyyy" (swagger, GET /products).
_FILTER_FORMATS = ("%d/%m/%Y", "%d-%m-%Y")


def _parse(text: str, formats: tuple[str, ...]) -> date:
    for fmt in formats:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unrecognised date {text!r}")


def parse_body_date(value: object) -> date:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("blank")
    return _parse(value, _BODY_FORMATS)


def parse_filter_date(value: str) -> date:
    return _parse(value, _FILTER_FORMATS)


def fmt_date(value: date | None) -> str | None:
    """Responses give transaction dates as ``dd/mm/yyyy``."""
    return value.strftime("%d/%m/%Y") if value else None


def now_utc() -> datetime:
    return datetime.now(UTC)


def fmt_timestamp(moment: datetime) -> str:
    """``created_at`` / ``updated_at``: ISO 8601 UTC with milliseconds, ``2018-02-27T12:01:51.389Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def company_date(moment: datetime, utc_offset_hours: int) -> date:
    """The calendar date of ``moment`` in the company's time zone (WIB, UTC+7, by default)."""
    return moment.astimezone(timezone(timedelta(hours=utc_offset_hours))).date()
