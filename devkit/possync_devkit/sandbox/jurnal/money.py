"""Exact money: parse request numbers into Decimal, render them the way Jurnal's responses do."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")


def q2(value: Decimal) -> Decimal:
    """Round to cents, half up (the sandbox's rounding rule; Jurnal does not document one)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_decimal(value: object) -> Decimal:
    """A JSON number or a numeric string as Decimal; ``ValueError`` for anything else.

    Bodies are parsed with ``parse_float=Decimal`` so no float ever reaches this function from the wire;
    a float from Python callers is converted through ``str`` to keep its shortest repr.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("empty")
        try:
            result = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    else:
        raise ValueError(f"not a number: {value!r}")
    if not result.is_finite():
        raise ValueError("not finite")
    return result


def fmt_amount(value: Decimal) -> str:
    """Ruby ``BigDecimal#to_s('F')`` style, as in Jurnal's responses: ``"10702000.0"``, ``"1.25"``."""
    if value == value.to_integral_value():
        return f"{int(value)}.0"
    text = format(value.normalize(), "f")
    return text


def fmt_currency(value: Decimal, symbol: str = "Rp.") -> str:
    """Indonesian display format with two spaces after the symbol: ``"Rp.  10.702.000,00"``."""
    rounded = q2(value)
    sign = "-" if rounded < 0 else ""
    units, cents = f"{abs(rounded):.2f}".split(".")
    grouped = f"{int(units):,}".replace(",", ".")
    return f"{sign}{symbol}  {grouped},{cents}"


def json_number(value: Decimal) -> int | float:
    """For the few response fields Jurnal documents as JSON numbers (``witholding_amount``, ``total``).

    Only the wire representation is a float; nothing is computed from it.
    """
    if value == value.to_integral_value():
        return int(value)
    return float(value)
