"""Jurnal request bodies, what only Jurnal has: the configured payment accounts per method. What every
target's bodies share (totals to the sen, VAT, exact amounts, returns): test_sales_mapping.py."""

from __future__ import annotations

from possync.config import load_config


def test_payment_accounts_follow_the_method() -> None:
    bookkeeping = load_config().integrations[0].bookkeeping
    assert bookkeeping.payment_accounts["cash"] == "Kas"
    assert set(bookkeeping.payment_accounts) == {"cash", "card", "qris", "ewallet", "bank_transfer"}


def test_the_refund_withdrawal_completes_what_the_sales_return_carries() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from possync.documents import ReturnLine, SalesReturn
    from possync.targets.jurnal import mapping

    bookkeeping = load_config().integrations[0].bookkeeping
    lines = (ReturnLine(1, "KOP-1", "Kopi", Decimal(1), Decimal("22000"), Decimal("20000.00"), Decimal("2200.00")),)
    refund = SalesReturn("RF-1", "INV-1", "JKT01", datetime(2026, 11, 9, tzinfo=UTC), False, "qris", lines,
                         Decimal("22200.00"))
    # Jurnal returned the line at its invoice price less a share of the invoice discount, without the VAT line
    body = mapping.refund_withdrawal_body(refund, returned=Decimal("20000.01"), returned_tax=Decimal("0.00"),
                                          customer_name="Sari", bookkeeping=bookkeeping)
    assert body["refund_from_name"] == "Bank" and body["transaction_no"] == body["custom_id"] == "RF-1"
    assert body["transaction_account_lines_attributes"] == [
        {"account_name": "Piutang Usaha", "debit": Decimal("20000.01"), "description": "sales return RF-1"},
        {"account_name": "PPN Keluaran", "debit": Decimal("2200.00"), "description": "VAT of refund RF-1"},
        {"account_name": "Retur Penjualan", "credit": Decimal("0.01"),
         "description": "refund RF-1 beyond the sales return"},
    ]
    assert mapping.return_memo(refund) == "POS refund RF-1"
