"""Jurnal's books read back for the reconciliation: ``GET /sales_invoices``, ``/receive_payments`` and
``/sales_returns`` with ``start_date`` / ``end_date`` (``dd/mm/yyyy``, on the transaction date, as Jurnal
documents for transaction lists) and ``page_size`` pages; one call per page, paced by ``JurnalHook``.

What each list row gives: an invoice its ``transaction_no``, ``transaction_date``, ``original_amount`` and
``warehouse`` (the outlet); a payment the ``custom_id`` possync gave it (its POS key; a payment made by hand in
Jurnal has none, so its ``transaction_no`` stands in), ``total``, ``payment_method`` and the invoice in
``records``; a return its ``transaction_no``, ``invoice_no``, ``return_amount`` and ``warehouse``.

The money a refund paid back is a bank withdrawal (``GET /bank_withdrawals``, same filters) whose ``custom_id`` is
the refund number and whose ``original_amount`` is the refund to the sen: it is what is compared by amount.

Stock moves: warehouse transfers (``GET /warehouse_transfers``) and stock adjustments (``GET /stock_adjustments``),
whose list rows carry their lines (product ``code`` = the SKU), so no detail call is needed. Neither list documents a
transaction-date filter (the swagger gives warehouse transfers no parameter at all and stock adjustments only
``created_start_date`` / ``updated_*``), so: transfers are read as the whole paged list and filtered here on
``transaction_date``; adjustments with the documented ``created_start_date`` = the day before the range (a document
is created on or after the day it is dated, unless someone dates it ahead; the day before covers an outlet whose
day starts before the company's) and filtered here on ``date``. A transfer
is a transfer-out when it goes into the transit warehouse (``bookkeeping.transit_warehouse``), a transfer-in when it
comes out of it (so a side typed by hand is typed by its warehouses too, whatever its number); a stock adjustment
with ``maintain_actual`` is a stock take (its ``actual_quantity`` per line, the counted quantities), one of the transit
warehouse a transfer's loss on the road (``transit_loss``), any other an adjustment (its ``difference`` per line).

An invoice's lines (``transaction_lines_attributes``: product ``code`` = the SKU, ``quantity``, ``amount``) give its
products and quantities, and its tax: Jurnal's ``tax_amount`` (every rate's tax, computed by Jurnal on lines
possync posted so that it is the till's) plus any line of the output-VAT item (how invoices posted before tax
per rate carried a tax-exclusive receipt's VAT). The swagger gives the list's rows no example, so
whether they carry the lines is not documented: a row without ``transaction_lines_attributes`` gives neither lines
nor VAT (the output-VAT line is not in sight), so neither is compared (the sandbox's ``list_lines`` switch plays
both).

Not compared by amount: returns (Jurnal's sales return takes quantities and prices them from the invoice line,
so it rarely equals the POS refund; the bank withdrawal completes it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, get_args

from possync.documents import PaymentMethod
from possync.targets.base.books import BookDocument, TargetBooks, money, quantities, stock_document
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
            given = row.get("transaction_lines_attributes")
            lines, tax = self.invoice_lines(
                None if given is None else [(_sku(line), line.get("quantity"), line.get("amount")) for line in given],
                row.get("tax_amount"))
            yield BookDocument("invoice", str(row["transaction_no"]), _day(row["transaction_date"]),
                               money(row.get("original_amount")), str(row["id"]), outlet_code=outlet, tax=tax,
                               lines=lines)

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

    # ------------------------------------------------------------------------------------------ stock moves

    def stock_documents(self, first: date, last: date) -> Iterator[BookDocument]:
        transit = self.integration.bookkeeping.transit_warehouse.casefold()
        # no documented date filter: the whole list, filtered here (see the module docstring)
        for row in self.hook.iterate("warehouse_transfers", page_size=self.page_size):
            day = _day(row["transaction_date"])
            if not first <= day <= last:
                continue
            source = str((row.get("from_warehouse") or {}).get("name") or "")
            destination = str((row.get("to_warehouse") or {}).get("name") or "")
            into_transit = destination.casefold() == transit
            record_type = "transfer_out" if into_transit else "transfer_in"
            outlet = self.outlet_named(source if into_transit else destination)
            lines = (row.get("warehouse_transfer_line_attributes")  # the reply's name (swagger example)
                     or row.get("warehouse_transfer_lines_attributes") or [])
            yield stock_document(record_type, str(row.get("transaction_no") or row["id"]), day, str(row["id"]),
                                 [(_sku(line), line.get("quantity")) for line in lines], outlet)
        # documented filter: created since the day before the first (the company's day may start after an
        # outlet's); the transaction date is filtered here
        for row in self.hook.iterate("stock_adjustments", page_size=self.page_size,
                                     created_start_date=_filter_date(first - timedelta(days=1))):
            day = _day(row.get("date") or row.get("transaction_date"))
            if not first <= day <= last:
                continue
            warehouse = str((row.get("warehouse") or {}).get("name") or "")
            counted = bool(row.get("maintain_actual"))
            lines = row.get("stock_adjustment_lines_attributes") or []
            if counted:
                record_type, pairs = "stock_take", [(_sku(line), line.get("actual_quantity")) for line in lines]
            else:
                record_type = "transit_loss" if warehouse.casefold() == transit else "adjustment"
                pairs = [(_sku(line), line.get("difference")) for line in lines]
            yield stock_document(record_type, str(row.get("transaction_no") or row["id"]), day, str(row["id"]),
                                 pairs, self.outlet_named(warehouse))

    def expected_stock(self, document: Any) -> list[tuple[str, tuple[tuple[str, Decimal], ...]]]:
        """A transfer-in is the received quantities (none when nothing arrived) and, when goods were lost on the
        road, a stock adjustment of the transit warehouse taking the shortage off (``transit_loss``); a stock take
        keeps the counted quantities (``maintain_actual``)."""
        if document.record_type != "transfer_in":
            return super().expected_stock(document)
        found = []
        received = quantities((line.sku, line.quantity) for line in document.lines)
        if received:
            found.append(("transfer_in", received))
        lost = quantities((line.sku, -line.shortage) for line in document.lines)
        if lost:
            found.append(("transit_loss", lost))
        return found


def _sku(line: dict[str, Any]) -> str:
    product = line.get("product") or {}
    return str(product.get("code") or product.get("name") or product.get("id") or "")
