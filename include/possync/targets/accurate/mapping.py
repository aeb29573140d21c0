"""Canonical documents → Accurate Online ``save.do`` / ``bulk-save.do`` items.

How a receipt becomes an Accurate sales invoice, so that Accurate's total equals the POS total to the sen
whatever rounding Accurate applies to tax (the same choices as for Jurnal, in Accurate's vocabulary):

* product lines carry the quantity and the unit price **as on the receipt** (``itemNo`` = SKU), each with
  its own discount as an amount (``itemCashDiscount``: the line discount and its share of the order
  discount, as priced), so no percentage has to approximate an amount;
* tax-exclusive receipts: the tax the till charged is a line of the output-VAT item, and the invoice is
  not ``taxable`` (Accurate does not recompute it);
* tax-inclusive receipts: ``taxable`` + ``inclusiveTax`` with ``useTax1`` on taxed lines, so Accurate
  splits the VAT out of prices whose sum it does not change;
* a service charge is a line of the service item; positive cash rounding a line of the rounding item,
  negative rounding the invoice's ``cashDiscount`` (lines cannot be negative).

Every line names the outlet's warehouse and the header its branch. Amounts stay ``Decimal``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from possync.config import Bookkeeping, OutletMapping
from possync.documents import Customer, Item, Payment, SalesInvoice, SalesReturn

ZERO = Decimal("0.00")
ONE = Decimal(1)
#: POS payment method → Accurate's ``paymentMethod`` of a sales receipt
PAYMENT_METHODS = {
    "cash": "CASH_OTHER",
    "card": "EDC",
    "qris": "QRIS",
    "ewallet": "OTHERS",
    "bank_transfer": "BANK_TRANSFER",
}


def accurate_date(moment: date | datetime) -> str:
    """Accurate writes every date ``dd/MM/yyyy``."""
    return moment.strftime("%d/%m/%Y")


def customer_body(customer: Customer, *, use_pos_customer_id: bool, since: date) -> dict[str, Any]:
    """``customerNo`` is the till's customer ID when that option is on and an ID exists; otherwise Accurate
    numbers the customer and possync remembers the mapping by the POS key."""
    body: dict[str, Any] = {"name": customer.name.strip(), "transDate": accurate_date(since)}
    if use_pos_customer_id and customer.customer_code:
        body["customerNo"] = customer.customer_code
    if customer.email:
        body["email"] = customer.email
    if customer.phone:
        body["mobilePhone"] = customer.phone
    return body


def item_body(item: Item) -> dict[str, Any]:
    return {
        "no": item.key,
        "name": item.name,
        "itemType": "INVENTORY" if item.track_stock else "NON_INVENTORY",
        "unit1Name": item.unit,
        "unitPrice": item.price,
        "vendorPrice": item.cost,
    }


def _line(sku: str, quantity: Decimal, price: Decimal, warehouse: str, **extra: Any) -> dict[str, Any]:
    return {"itemNo": sku, "quantity": quantity, "unitPrice": price, "warehouseName": warehouse, **extra}


def invoice_body(invoice: SalesInvoice, *, customer_no: str, outlet: OutletMapping,
                 bookkeeping: Bookkeeping) -> dict[str, Any]:
    warehouse = outlet.warehouse
    lines = []
    for line in invoice.lines:
        gross_as_priced = (line.quantity * line.unit_price).quantize(Decimal("0.01"))
        # what the customer paid for the line, as priced: net, plus tax when the price includes it
        paid = line.net + (line.tax if invoice.tax_inclusive else ZERO)
        extra: dict[str, Any] = {}
        if gross_as_priced != paid:
            extra["itemCashDiscount"] = gross_as_priced - paid
        if invoice.tax_inclusive and line.tax_rate > 0:
            extra["useTax1"] = True
        lines.append(_line(line.sku, line.quantity, line.unit_price, warehouse, **extra))
    if not invoice.tax_inclusive and invoice.tax_total:
        lines.append(_line(bookkeeping.output_vat_sku, ONE, invoice.tax_total, warehouse))
    if invoice.service_charge:
        lines.append(_line(bookkeeping.service_charge_sku, ONE, invoice.service_charge, warehouse))
    if invoice.rounding > 0:
        lines.append(_line(bookkeeping.rounding_sku, ONE, invoice.rounding, warehouse))

    body: dict[str, Any] = {
        "number": invoice.key,
        "customerNo": customer_no,
        "transDate": accurate_date(invoice.business_time),
        "description": f"POS {invoice.outlet_code}" + (f", shift {shift}" if (shift := invoice.shift_number) else ""),
        "taxable": invoice.tax_inclusive,
        "inclusiveTax": invoice.tax_inclusive,
        "detailItem": lines,
    }
    if outlet.branch:
        body["branchName"] = outlet.branch
    if invoice.rounding < 0:
        body["cashDiscount"] = -invoice.rounding
    return body


def receipt_body(payment: Payment, *, customer_no: str, outlet: OutletMapping,
                 bookkeeping: Bookkeeping) -> dict[str, Any]:
    """A sales receipt paying one invoice, into the cash/bank account of the payment method."""
    body: dict[str, Any] = {
        "number": payment.key,
        "customerNo": customer_no,
        "bankNo": bookkeeping.payment_accounts[payment.method],
        "chequeAmount": payment.amount,
        "transDate": accurate_date(payment.paid_at),
        "paymentMethod": PAYMENT_METHODS[payment.method],
        "detailInvoice": [{"invoiceNo": payment.invoice_key, "paymentAmount": payment.amount}],
        "description": f"POS payment {payment.key}" + (f" ref {payment.reference}" if payment.reference else ""),
    }
    if outlet.branch:
        body["branchName"] = outlet.branch
    return body


def return_body(sales_return: SalesReturn, *, customer_no: str, outlet: OutletMapping) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": sales_return.key,
        "customerNo": customer_no,
        "transDate": accurate_date(sales_return.business_time),
        "returnType": "INVOICE",
        "invoiceNumber": sales_return.invoice_key,
        "detailItem": [
            {"itemNo": line.sku, "quantity": line.quantity, "unitPrice": line.unit_price,
             "warehouseName": outlet.warehouse}
            for line in sales_return.lines
        ],
        "description": f"POS refund {sales_return.key}" + (f": {sales_return.reason}" if sales_return.reason else ""),
    }
    if outlet.branch:
        body["branchName"] = outlet.branch
    return body
