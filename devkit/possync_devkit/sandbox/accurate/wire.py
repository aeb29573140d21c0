"""Wire helpers: the ``{"s", "d"}`` errors, JSON with exact Decimals, flattened form keys, dates and numbers."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

WIB = timezone(timedelta(hours=7), "WIB")  # Asia/Jakarta has had no DST since 1964
CENT = Decimal("0.01")


class ApiError(Exception):
    """A refusal: ``status`` (200 for business errors) and the list of Indonesian messages for ``d``."""

    def __init__(self, messages: str | list[str], status: int = 200) -> None:
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.status = status
        super().__init__("; ".join(self.messages))

    @property
    def body(self) -> dict[str, Any]:
        return {"s": False, "d": self.messages}


NOT_FOUND = "Data tidak ditemukan"
BAD_URL = "URL API tidak tepat"


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- JSON out: Decimals as exact JSON numbers
_MARK = "\x00dec:"
_MARK_RE = re.compile(r'"\\u0000dec:(-?[0-9.]+)"')


def _fmt(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _mark(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _MARK + _fmt(value)
    if isinstance(value, dict):
        return {key: _mark(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(item) for item in value]
    return value


def dumps(value: Any) -> bytes:
    text = json.dumps(_mark(value), ensure_ascii=False, separators=(",", ":"))
    return _MARK_RE.sub(r"\1", text).encode()


# ---------------------------------------------------------------- request bodies
_TOKEN_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _split(key: str) -> list[str | int]:
    parts: list[str | int] = []
    for name, index in _TOKEN_RE.findall(key):
        parts.append(int(index) if index else name)
    return parts


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``detailItem[0].itemNo=A`` -> ``{"detailItem": [{"itemNo": "A"}]}`` (gaps in indexes are closed up)."""
    return _finish(_walk(pairs))


def _walk(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[Any, Any] = {}
    for key, value in pairs:
        parts = _split(key)
        if not parts or not isinstance(parts[0], str):
            continue
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return root


def _finish(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(key, int) for key in node):
        return [_finish(node[key]) for key in sorted(node)]
    return {key: _finish(value) for key, value in node.items() if isinstance(key, str)}


def parse_form(raw: bytes | str) -> list[tuple[str, str]]:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return parse_qsl(text, keep_blank_values=True)


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise ApiError(f"Format JSON tidak tepat: {exc}") from None


def parse_body(raw: bytes, content_type: str) -> tuple[Any, list[tuple[str, str]]]:
    """(structured body, flat pairs). JSON bodies give no flat pairs; form bodies give both."""
    if not raw.strip():
        return {}, []
    stripped = raw.lstrip()
    if "json" in content_type or stripped[:1] in (b"{", b"["):
        return parse_json(raw), []
    pairs = parse_form(raw)
    return unflatten(pairs), pairs


# ---------------------------------------------------------------- values
def parse_date(value: Any, field: str) -> date:
    if isinstance(value, str):
        try:
            return datetime.strptime(value.strip(), "%d/%m/%Y").date()
        except ValueError:
            pass
    raise ApiError(f'Format tanggal {field} "{value}" tidak tepat, gunakan dd/MM/yyyy')


def fmt_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def parse_number(value: Any, field: str) -> Decimal:
    if isinstance(value, bool):
        raise ApiError(f'Nilai {field} "{value}" bukan angka')
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str) and value.strip():
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ApiError(f'Nilai {field} "{value}" bukan angka') from None
    else:
        raise ApiError(f'Nilai {field} "{value}" bukan angka')
    if not result.is_finite():
        raise ApiError(f'Nilai {field} "{value}" bukan angka')
    if abs(result) >= Decimal("1e12"):
        raise ApiError(f"Nilai {field} terlalu besar (maksimum 999 miliar)")
    return result


def parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    if isinstance(value, int):
        return bool(value)
    raise ApiError(f'Nilai {field} "{value}" harus true atau false')


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def text(value: Any) -> str | None:
    if blank(value):
        return None
    if isinstance(value, Decimal | int):
        return _fmt(Decimal(value))
    return str(value).strip()
