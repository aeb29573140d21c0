"""Money prints one way everywhere (possync.money.rupiah): Indonesian grouping, sen only when there are any."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from possync.money import rupiah, rupiah_number

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("amount", "text"), [
    (Decimal("52720"), "Rp 52.720"),
    (Decimal("52720.00"), "Rp 52.720"),
    (Decimal("52720.50"), "Rp 52.720,50"),
    (Decimal("0.005"), "Rp 0,01"),
    (Decimal("1234567.89"), "Rp 1.234.567,89"),
    (Decimal("-5000"), "-Rp 5.000"),
    (0, "Rp 0"),
    (1500000, "Rp 1.500.000"),
    (2500.0, "Rp 2.500"),
])
def test_rupiah_is_written_the_indonesian_way(amount: Decimal | int | float, text: str) -> None:
    assert rupiah(amount) == text


def test_a_column_headed_in_rupiah_drops_the_currency() -> None:
    assert rupiah_number(Decimal("52720.50")) == "52.720,50"


def test_no_english_grouping_of_rupiah_is_left_in_the_code() -> None:
    """``Rp {x:,}`` (``Rp 52,720.00``) was the other way money printed; it must not come back."""
    offenders = []
    for folder in ("include", "scripts", "plugins", "dags", "devkit/possync_devkit"):
        for path in (ROOT / folder).rglob("*.py"):
            if "sandbox" in path.parts:  # the sandboxes answer in the vendors' own formats
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"Rp \{[^}]*:[^}]*,", line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
