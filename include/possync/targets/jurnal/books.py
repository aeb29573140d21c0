"""Jurnal's books read back for the reconciliation: ``GET /sales_invoices``, ``/receive_payments`` and
``/sales_returns`` with ``start_date`` / ``end_date`` (``dd/mm/yyyy``, on the transaction date, as Jurnal
documents for transaction lists) and ``page_size`` pages; one call per page, paced by ``JurnalHook``.

What each list row gives: an invoice its ``transaction_no``, ``transaction_date``, ``original_amount`` and
``warehouse`` (the outlet); a payment the ``custom_id`` possync gave it (its POS key; a payment made by hand in
Jurnal has none, so its ``transaction_no`` stands in), ``total``, ``payment_method`` and the invoice in
``records``; a return its ``transaction_no``, ``invoice_no``, ``return_amount`` and ``warehouse``.

The money a refund paid back is a bank withdrawal (``GET /bank_withdrawals``, same filters) whose ``custom_id`` is
the refund number and whose ``original_amount`` is the refund to the sen: it is what is compared by amount.

Not compared by amount: returns (Jurnal's sales return takes quantities and prices them from the invoice line,
so it rarely equals the POS refund; the bank withdrawal completes it) and tax (a tax-exclusive receipt's tax is
a product line, so ``tax_amount`` shows only Jurnal's own inclusive-tax split): ``tax`` is left None.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, get_args

from possync.documents import PaymentMethod
from possync.targets.base.books import BookDocument, TargetBooks, money
from possync.targets.jurnal.mapping import payment_method_name


def _filter_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _day(text: Any) -> date:
    """Jurnal answers transaction dates ``dd/mm/yyyy`` (``yyyy-mm-dd`` is read too)."""
    value = str(text)
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"Jurnal transaction date {value!r} is not a date")


class JurnalBooks(TargetBooks):
    """See the module docstring."""

    #: Jurnal's payment method name (case-insensitive) → the POS method possync writes it for
    POS_METHODS = {payment_method_name(method).casefold(): method for method in get_args(PaymentMethod)}

    def _list(self, resource: str, first: date, last: date) -> Iterator[dict[str, Any]]:
        return self.hook.iterate(resource, page_size=self.page_size, start_date=_filter_date(first),
                                 end_date=_filter_date(last))

    def invoices(self, first: date, last: date) -> Iterator[BookDocument]:
        for row in self._list("sales_invoices", first, last):
            warehouse = (row.get("warehouse") or {}).get("name")
            tags = [tag.get("name") for tag in row.get("tags") or [] if isinstance(tag, dict)]
            outlet = self.outlet_named(warehouse) or next((t for t in tags if t in self.integration.outlets), None)
            yield BookDocument("invoice", str(row["transaction_no"]), _day(row["transaction_date"]),
                               money(row.get("original_amount")), str(row["id"]), outlet_code=outlet)

    def payments(self, first: date, last: date) -> Iterator[BookDocument]:
        for row in self._list("receive_payments", first, last):
            records = row.get("records") or []
            invoice = records[0].get("transaction_no") if records else None
            method = str((row.get("payment_method") or {}).get("name") or "")
            yield BookDocument("payment", str(row.get("custom_id") or row["transaction_no"]),
                               _day(row["transaction_date"]), money(row.get("total")), str(row["id"]),
                               invoice_number=invoice, method=self.POS_METHODS.get(method.casefold(), method))

    def returns(self, first: date, last: date) -> Iterator[BookDocument]:
        for row in self._list("sales_returns", first, last):
            warehouse = (row.get("warehouse") or {}).get("name")
            yield BookDocument("return", str(row["transaction_no"]), _day(row["transaction_date"]),
                               money(row.get("return_amount")), str(row["id"]),
                               outlet_code=self.outlet_named(warehouse), invoice_number=row.get("invoice_no"))

    def refunds(self, first: date, last: date) -> Iterator[BookDocument]:
        for row in self._list("bank_withdrawals", first, last):
            yield BookDocument("refund", str(row.get("custom_id") or row["transaction_no"]),
                               _day(row["transaction_date"]), money(row.get("original_amount")), str(row["id"]))
