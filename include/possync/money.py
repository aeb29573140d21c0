"""Money as people in Indonesia read it, the one way possync prints it everywhere (log lines, the CLI, the Sync
Status pages, reconciliation summaries, the demo's output): ``Rp 52.720``, ``Rp 52.720,50``, ``-Rp 5.000``.

Dots group the thousands; a comma and two digits of sen follow only when there are sen.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_SEN = Decimal("0.01")


def rupiah(amount: Decimal | int | str | float) -> str:
    """``Rp 1.234.567``, ``Rp 1.234,50``, ``-Rp 5.000`` (rounded half up to the sen)."""
    value = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    value = value.quantize(_SEN, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    whole, _, sen = f"{abs(value):f}".partition(".")
    text = f"{int(whole):,}".replace(",", ".")
    if sen.strip("0"):
        text += f",{sen}"
    return f"{sign}Rp {text}"


def rupiah_number(amount: Decimal | int | str | float) -> str:
    """The same without the currency, for a table column headed in rupiah: ``52.720``, ``52.720,50``."""
    text = rupiah(amount)
    return text.replace("Rp ", "", 1)
