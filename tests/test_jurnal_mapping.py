"""Jurnal request bodies, what only Jurnal has: the configured payment accounts per method. What every
target's bodies share (totals to the sen, VAT, exact amounts, returns): test_sales_mapping.py."""

from __future__ import annotations

from possync.config import load_config


def test_payment_accounts_follow_the_method() -> None:
    bookkeeping = load_config().integrations[0].bookkeeping
    assert bookkeeping.payment_accounts["cash"] == "Kas"
    assert set(bookkeeping.payment_accounts) == {"cash", "card", "qris", "ewallet", "bank_transfer"}
