"""Reading one request object (the inside of ``{"sales_invoice": {...}}``) while collecting its errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from .dates import parse_body_date
from .errors import Errors
from .money import parse_decimal

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


class Payload:
    def __init__(self, data: dict[str, Any], errors: Errors, where: str = "") -> None:
        self.data = data
        self.errors = errors
        # e.g. " (line 2)", appended to messages about one nested item
        self.where = where

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str) -> str | None:
        """A stripped string, or None when absent, null or blank (numbers are accepted and stringified)."""
        value = self.data.get(key)
        if value is None or isinstance(value, (dict, list)):
            return None
        if isinstance(value, bool):
            return str(value).lower()
        text = str(value).strip()
        return text or None

    def raw_text(self, key: str) -> str | None:
        """Free text kept as sent (memo, address), None when absent."""
        value = self.data.get(key)
        return None if value is None else str(value)

    def required_text(self, key: str, attribute: str | None = None) -> str | None:
        value = self.text(key)
        if value is None:
            self.errors.add(attribute or key, "can't be blank" + self._suffix())
        return value

    def decimal(
        self,
        key: str,
        *,
        default: Decimal | None = None,
        minimum: Decimal | None = None,
        maximum: Decimal | None = None,
        strictly_positive: bool = False,
        attribute: str | None = None,
    ) -> Decimal | None:
        attribute = attribute or key
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        try:
            number = parse_decimal(value)
        except ValueError:
            self.errors.add(attribute, self._sentence(f"Value {value!r} is not a number"))
            return default
        if strictly_positive and number <= 0:
            self.errors.add(attribute, self._sentence("Value must be greater than 0"))
        elif minimum is not None and number < minimum:
            self.errors.add(attribute, self._sentence(f"Value must be greater than or equal to {minimum}"))
        elif maximum is not None and number > maximum:
            self.errors.add(attribute, self._sentence(f"Value must be less than or equal to {maximum}"))
        return number

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.errors.add(key, self._sentence(f"Value {value!r} is not a boolean"))
        return default

    def date(self, key: str, *, required: bool) -> date | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.errors.add(key, "can't be blank" + self._suffix())
            return None
        try:
            return parse_body_date(value)
        except ValueError:
            self.errors.add(key, self._sentence(f"Date {value!r} is invalid; use yyyy-mm-dd, dd/mm/yyyy or dd-mm-yyyy"))
            return None

    def integer_id(self, key: str) -> int | None:
        """An id sent as a number or a numeric string; a non-numeric id becomes 0, which matches nothing."""
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return None
        try:
            return int(str(value).strip())
        except ValueError:
            return 0

    def items(self, key: str) -> list[Any] | None:
        value = self.data.get(key)
        return value if isinstance(value, list) else None

    def _suffix(self) -> str:
        return self.where

    def _sentence(self, text: str) -> str:
        """Jurnal's custom messages are one parenthesised sentence: ``(Value must be greater than 0.)``."""
        return f"({text}{self.where}.)"
