"""Accurate's books read back for the reconciliation: ``sales-invoice``, ``sales-receipt`` and ``sales-return``
``list.do`` with ``filter.transDate.op=BETWEEN`` (``dd/MM/yyyy``, Accurate's general filter form), the fields
asked for by name (``list.do`` gives only ``id`` otherwise) and ``sp.pageSize`` pages; one call per page, paced
by ``AccurateHook``.

The outlet of a document is its branch, else the warehouse of its first line (both are possync's mapping).
Payment methods come back from Accurate's ``paymentMethod`` codes to the POS's words (``EDC`` → ``card``).

An invoice's lines (``detailItem``: ``itemNo``, ``quantity``, ``totalPrice``) give its products and quantities, and its
tax: Accurate's ``taxAmount`` (every tax, computed by Accurate on lines possync posted so that it is the till's)
plus any line of the output-VAT item (how invoices posted before tax per rate carried a tax-exclusive VAT).

Returns are compared by amount: possync posts each line's net refund and the refund's VAT (an expense line), so
Accurate's ``totalAmount`` is the POS refund to the sen. The money a refund paid back is an other payment
(``other-payment/list.do``) of the refund's number and amount.

Stock moves, with the same date filter: ``item-transfer/list.do`` (``itemTransferType`` TRANSFER_OUT / TRANSFER_IN;
the outlet is the ``warehouseName``: an OUT's source, an IN's destination) and ``item-adjustment/list.do`` (each
line ``ADJUSTMENT_IN`` adds its ``quantity``, ``ADJUSTMENT_OUT`` takes it off), their lines (``detailItem``:
``itemNo`` = the SKU) asked for among the fields. An item adjustment does not say whether it was a stock take:
it is an ``adjustment`` here and the reconciliation takes the POS's word for its number. A transfer-in carries
only the received quantities (the loss on the road is Accurate's transfer difference of the same document); a stock
take is posted as its differences, and not at all when the count matched the till.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from possync.targets.accurate.mapping import PAYMENT_METHODS
from possync.targets.base.books import BookDocument, TargetBooks, money, quantities, stock_document

POS_METHODS = {code: method for method, code in PAYMENT_METHODS.items()}


def _day(text: Any) -> date:
    return datetime.strptime(str(text), "%d/%m/%Y").date()


class AccurateBooks(TargetBooks):
    """See the module docstring."""

    comparable_amounts = frozenset({"invoice", "payment", "return", "refund"})

    def _list(self, module: str, fields: list[str], first: date, last: date) -> Iterator[dict[str, Any]]:
        return self.hook.iterate(module, fields=fields, page_size=self.page_size, **{
            "filter.transDate.op": "BETWEEN",
            "filter.transDate.val[0]": first.strftime("%d/%m/%Y"),
            "filter.transDate.val[1]": last.strftime("%d/%m/%Y"),
        })

    def _outlet(self, row: dict[str, Any]) -> str | None:
        lines = row.get("detailItem") or []
        warehouse = lines[0].get("warehouseName") if lines and isinstance(lines[0], dict) else None
        return self.outlet_named(row.get("branchName"), warehouse)

    def invoices(self, first: date, last: date) -> Iterator[BookDocument]:
        fields = ["id", "number", "transDate", "totalAmount", "taxAmount", "branchName", "detailItem"]
        for row in self._list("sales-invoice", fields, first, last):
            given = [line for line in row.get("detailItem") or [] if isinstance(line, dict)]
            lines, tax = self.invoice_lines([(_item(line), line.get("quantity"), line.get("totalPrice"))
                                             for line in given], row.get("taxAmount"))
            yield BookDocument("invoice", str(row["number"]), _day(row["transDate"]), money(row.get("totalAmount")),
                               str(row["id"]), outlet_code=self._outlet(row), tax=tax, lines=lines)

    def payments(self, first: date, last: date) -> Iterator[BookDocument]:
        fields = ["id", "number", "transDate", "chequeAmount", "paymentMethod", "branchName", "detailInvoice"]
        for row in self._list("sales-receipt", fields, first, last):
            paid = row.get("detailInvoice") or []
            invoice = paid[0].get("invoiceNo") if paid and isinstance(paid[0], dict) else None
            method = str(row.get("paymentMethod") or "")
            yield BookDocument("payment", str(row["number"]), _day(row["transDate"]), money(row.get("chequeAmount")),
                               str(row["id"]), outlet_code=self.outlet_named(row.get("branchName")),
                               invoice_number=invoice, method=POS_METHODS.get(method, method))

    def returns(self, first: date, last: date) -> Iterator[BookDocument]:
        fields = ["id", "number", "transDate", "totalAmount", "invoiceNumber", "branchName", "detailItem"]
        for row in self._list("sales-return", fields, first, last):
            yield BookDocument("return", str(row["number"]), _day(row["transDate"]), money(row.get("totalAmount")),
                               str(row["id"]), outlet_code=self._outlet(row), invoice_number=row.get("invoiceNumber"))

    def refunds(self, first: date, last: date) -> Iterator[BookDocument]:
        for row in self._list("other-payment", ["id", "number", "transDate", "amount", "branchName"], first, last):
            yield BookDocument("refund", str(row["number"]), _day(row["transDate"]), money(row.get("amount")),
                               str(row["id"]), outlet_code=self.outlet_named(row.get("branchName")))

    def stock_documents(self, first: date, last: date) -> Iterator[BookDocument]:
        fields = ["id", "number", "transDate", "itemTransferType", "warehouseName", "branchName", "detailItem"]
        for row in self._list("item-transfer", fields, first, last):
            record_type = "transfer_in" if str(row.get("itemTransferType")) == "TRANSFER_IN" else "transfer_out"
            lines = [line for line in row.get("detailItem") or [] if isinstance(line, dict)]
            yield stock_document(record_type, str(row["number"]), _day(row["transDate"]), str(row["id"]),
                                 [(_item(line), line.get("quantity")) for line in lines],
                                 self.outlet_named(row.get("warehouseName"), row.get("branchName")))
        for row in self._list("item-adjustment", ["id", "number", "transDate", "branchName", "detailItem"], first,
                              last):
            lines = [line for line in row.get("detailItem") or [] if isinstance(line, dict)]
            pairs = [(_item(line), (-1 if str(line.get("itemAdjustmentType")) == "ADJUSTMENT_OUT" else 1)
                      * Decimal(str(line.get("quantity") or 0))) for line in lines]
            yield stock_document("adjustment", str(row["number"]), _day(row["transDate"]), str(row["id"]), pairs,
                                 self._outlet(row))

    def expected_stock(self, document: Any) -> list[tuple[str, tuple[tuple[str, Decimal], ...]]]:
        """A stock take is an item adjustment of the count's differences, nothing when the count matched."""
        if document.record_type != "stock_take":
            return super().expected_stock(document)
        differences = quantities((line.sku, line.difference) for line in document.lines)
        return [("stock_take", differences)] if differences else []


def _item(line: dict[str, Any]) -> str:
    return str(line.get("itemNo") or (line.get("item") or {}).get("no") or "")
