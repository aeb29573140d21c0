"""Canonical documents → Accurate Online ``save.do`` / ``bulk-save.do`` items.

How a receipt becomes an Accurate sales invoice, so that Accurate's total equals the POS total to the sen
and whose tax per rate equals the till's (the same choices as for Jurnal, in Accurate's vocabulary):

* product lines carry the quantity and the unit price **as on the receipt** (``itemNo`` = SKU), each with
  its own discount as an amount (``itemCashDiscount``) down to what the till charged for it, so no
  percentage has to approximate an amount;
* each taxed line has ``useTax1``: Accurate applies its item's tax (``tax1Name``, set from the item's rate
  and ``bookkeeping.taxes``: PPN 11 %, PB1 10 %, ...), so a line's tax follows its item, not the outlet; the
  invoice is ``taxable`` when a line is taxed and ``inclusiveTax`` as the receipt priced, so tax-exclusive VAT
  is Accurate's own tax, not a line of an output-VAT item. Accurate rounds each tax once per invoice, the till
  per line: the largest line of a rate may move by a few sen so that Accurate's tax is the till's exactly, and
  an untaxed adjustment moves them back (``possync.targets.base.taxes``);
* a service charge is a line of the service item; a positive adjustment (cash rounding, plus those cents) a
  line of the rounding item, a negative one an other charge (``detailExpense``) on
  ``bookkeeping.rounding_account``: not ``cashDiscount``, which Accurate spreads over the taxed lines' bases.

Every line names the outlet's warehouse and the header its branch. Amounts stay ``Decimal``.

A POS refund is an Accurate sales return equal to it to the sen, because Accurate's return lines take amounts
(``unitPrice``, ``itemCashDiscount``, ``useTax1``; the openapi's sales-return ``detailItem``): each line is the
receipt's price less a cash discount down to what the till paid back for it net of tax, and the refund's own
VAT is a ``detailExpense`` on ``bookkeeping.output_vat_account``, the return not ``taxable``, so Accurate
neither extracts a VAT of its own (its rounding over the whole return differs from the till's per line) nor
adds one. The money paid back is an other payment (``other-payment``, "Pembayaran") of the same number out of
the refund method's ``bookkeeping.payment_accounts``, against ``bookkeeping.receivable_account``, where the
return of a paid invoice left the customer's credit.

Stock moves:

* a transfer is two item transfers, as Accurate keeps goods on the road in transit: ``TRANSFER_OUT`` from
  the source's warehouse (``referenceWarehouseName`` = the destination) when the goods leave, and
  ``TRANSFER_IN`` into the destination with ``fromItemTransferNo`` = the out document when they arrive,
  with the received quantities; what was lost on the way is Accurate's transfer difference, posted to
  ``bookkeeping.transit_loss_account``;
* an adjustment is an item adjustment, ``ADJUSTMENT_IN`` / ``ADJUSTMENT_OUT`` per line;
* a stock take is an item adjustment of the count's differences (counted − what the till expected).
  Not ``save-target-quantity.do``: it takes no ``number`` (a lost reply could not be found again, so a
  retry could post the count twice) and works the difference out against whatever Accurate holds when
  the request lands, which depends on whether every earlier sale has synced yet; the POS's own
  difference is exact and independent of that order. Not the stock-opname documents either: they model
  a counting workflow (a person in charge, Accurate users, item categories) that a POS count has no
  values for, and post nothing until their result is processed in Accurate.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from possync.config import Bookkeeping, OutletMapping
from possync.documents import (
    Customer,
    Item,
    Payment,
    SalesInvoice,
    SalesReturn,
    StockAdjustment,
    StockLine,
    StockTake,
    TransferIn,
    TransferOut,
)
from possync.targets.base.taxes import plan_invoice, unit_rate

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


def pos_key_note(key: str) -> str:
    """The customer's ``notes``: its POS key, how possync finds a customer Accurate numbered itself again
    when the reply of its create was lost (brackets keep a key's own spaces from being trimmed away)."""
    return f"possync POS customer [{key}]"


def customer_body(customer: Customer, *, use_pos_customer_id: bool, since: date) -> dict[str, Any]:
    """``customerNo`` is the till's customer ID when that option is on and an ID exists; otherwise Accurate
    numbers the customer and possync remembers the mapping by the POS key, which the customer also keeps in
    its ``notes`` (``pos_key_note``)."""
    body: dict[str, Any] = {"name": customer.name.strip(), "transDate": accurate_date(since),
                            "notes": pos_key_note(customer.key)}
    if use_pos_customer_id and customer.customer_code:
        body["customerNo"] = customer.customer_code
    if customer.email:
        body["email"] = customer.email
    if customer.phone:
        body["mobilePhone"] = customer.phone
    return body


def _line(sku: str, quantity: Decimal, price: Decimal, warehouse: str, **extra: Any) -> dict[str, Any]:
    return {"itemNo": sku, "quantity": quantity, "unitPrice": price, "warehouseName": warehouse, **extra}


def item_body(item: Item, bookkeeping: Bookkeeping | None = None) -> dict[str, Any]:
    """An item; a taxed one carries the tax of its rate as ``tax1Name`` (Accurate takes a line's tax from its
    item: ``useTax1`` on the invoice line applies it)."""
    body: dict[str, Any] = {
        "no": item.key,
        "name": item.name,
        "itemType": "INVENTORY" if item.track_stock else "NON_INVENTORY",
        "unit1Name": item.unit,
        "unitPrice": item.price,
        "vendorPrice": item.cost,
    }
    code = bookkeeping.tax_for(item.tax_rate) if bookkeeping is not None and item.tax_rate else None
    if code is not None and not code.exempt:
        body["tax1Name"] = code.name
    return body


def invoice_body(invoice: SalesInvoice, *, customer_no: str, outlet: OutletMapping,
                 bookkeeping: Bookkeeping) -> dict[str, Any]:
    """The receipt as an Accurate sales invoice whose tax per rate is the till's (``possync.targets.base.taxes``):
    each product line at the receipt's price less a cash discount down to the amount the till charged for it,
    ``useTax1`` on a taxed line (its item's ``tax1Name`` is the tax of its rate); ``taxable`` when any line is
    taxed, ``inclusiveTax`` as the receipt priced; the untaxed adjustment a line of the rounding item when
    positive, else an other charge (``detailExpense``) on ``bookkeeping.rounding_account``: not the invoice's
    ``cashDiscount``, which Accurate spreads over the taxed lines' bases."""
    warehouse = outlet.warehouse
    plan = plan_invoice(invoice, bookkeeping)
    lines = []
    for posted in plan.lines:
        line = posted.line
        gross_as_priced = (line.quantity * line.unit_price).quantize(Decimal("0.01"))
        extra: dict[str, Any] = {}
        price = line.unit_price
        if posted.amount > gross_as_priced:  # a few sen moved onto a line sold without discount
            price = unit_rate(posted.amount, line.quantity)
            gross_as_priced = (line.quantity * price).quantize(Decimal("0.01"))
        if gross_as_priced != posted.amount:
            extra["itemCashDiscount"] = gross_as_priced - posted.amount
        extra["useTax1"] = not posted.tax.exempt
        lines.append(_line(line.sku, line.quantity, price, warehouse, **extra))
    if invoice.service_charge:
        lines.append(_line(bookkeeping.service_charge_sku, ONE, invoice.service_charge, warehouse, useTax1=False))
    if plan.adjustment > 0:
        lines.append(_line(bookkeeping.rounding_sku, ONE, plan.adjustment, warehouse, useTax1=False))

    taxed = bool(plan.taxes)
    body: dict[str, Any] = {
        "number": invoice.key,
        "customerNo": customer_no,
        "transDate": accurate_date(invoice.business_time),
        "description": f"POS {invoice.outlet_code}" + (f", shift {shift}" if (shift := invoice.shift_number) else ""),
        "taxable": taxed,
        "inclusiveTax": invoice.tax_inclusive and taxed,
        "detailItem": lines,
    }
    if outlet.branch:
        body["branchName"] = outlet.branch
    if plan.adjustment < 0:
        body["detailExpense"] = [{"accountNo": bookkeeping.rounding_account, "expenseAmount": plan.adjustment,
                                  "expenseName": "Pembulatan (POS)",
                                  "expenseNotes": f"rounding of {invoice.key}"}]
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


def return_body(sales_return: SalesReturn, *, customer_no: str, outlet: OutletMapping,
                bookkeeping: Bookkeeping) -> dict[str, Any]:
    """The refund to the sen: each line its net amount (the receipt's price, less a cash discount down to what
    the POS paid back for it net of tax), and the refund's own VAT as an expense line on the output-VAT account;
    not ``taxable``, so Accurate neither re-extracts nor adds a tax of its own."""
    lines = []
    for line in sales_return.lines:
        gross_as_priced = (line.quantity * line.unit_price).quantize(Decimal("0.01"))
        # always sent, zero too: a return line without one takes a pro-rata share of its invoice line's discount
        # (the invoice's line of the item, which for a day's summary sums other receipts' discounts)
        extra: dict[str, Any] = {"useTax1": False, "itemCashDiscount": gross_as_priced - line.net}
        lines.append(_line(line.sku, line.quantity, line.unit_price, outlet.warehouse, **extra))
    tax = sum((line.tax for line in sales_return.lines), ZERO)
    body: dict[str, Any] = {
        "number": sales_return.key,
        "customerNo": customer_no,
        "transDate": accurate_date(sales_return.business_time),
        "returnType": "INVOICE",
        "invoiceNumber": sales_return.invoice_key,
        "taxable": False,
        "inclusiveTax": False,
        "detailItem": lines,
        "description": f"POS refund {sales_return.key}" + (f": {sales_return.reason}" if sales_return.reason else ""),
    }
    if tax:
        body["detailExpense"] = [{"accountNo": bookkeeping.output_vat_account, "expenseAmount": tax,
                                  "expenseName": "PPN Keluaran (POS)", "expenseNotes": f"VAT of {sales_return.key}"}]
    if outlet.branch:
        body["branchName"] = outlet.branch
    return body


def return_tax(record: dict[str, Any], bookkeeping: Bookkeeping) -> Decimal:
    """The VAT an Accurate sales return of ours carries: its expense lines on the output-VAT account."""
    return sum((Decimal(str(line.get("expenseAmount") or 0)) for line in record.get("detailExpense") or []
                if str(line.get("accountNo")) == bookkeeping.output_vat_account), ZERO)


def refund_payment_body(sales_return: SalesReturn, *, payee: str, outlet: OutletMapping,
                        bookkeeping: Bookkeeping) -> dict[str, Any]:
    """The money paid back: an other payment (Pembayaran) out of the refund method's cash/bank account, booked
    against receivables, where the sales return of a paid invoice left the customer's credit."""
    body: dict[str, Any] = {
        "number": sales_return.key,
        "transDate": accurate_date(sales_return.business_time),
        "bankNo": bookkeeping.payment_accounts[sales_return.method],
        "payee": payee,
        "description": f"POS refund {sales_return.key} paid back ({sales_return.method})",
        "detailAccount": [{"accountNo": bookkeeping.receivable_account, "amount": sales_return.total,
                           "expenseName": f"Refund {sales_return.key}",
                           "memo": f"sales return {sales_return.key} of {sales_return.invoice_key}"}],
    }
    if outlet.branch:
        body["branchName"] = outlet.branch
    return body


def _stock_line(line: StockLine, quantity: Decimal, **extra: Any) -> dict[str, Any]:
    return {"itemNo": line.sku, "quantity": quantity, **extra}


def _with_branch(body: dict[str, Any], outlet: OutletMapping) -> dict[str, Any]:
    if outlet.branch:
        body["branchName"] = outlet.branch
    return body


def transfer_out_body(transfer: TransferOut, *, number: str, source: OutletMapping,
                      destination: OutletMapping) -> dict[str, Any]:
    return _with_branch({
        "itemTransferType": "TRANSFER_OUT",
        "number": number,
        "transDate": accurate_date(transfer.business_time),
        "warehouseName": source.warehouse,
        "referenceWarehouseName": destination.warehouse,
        "description": f"POS transfer {transfer.key} {transfer.outlet_code} → {transfer.to_outlet_code}"
                       + (f": {transfer.note}" if transfer.note else ""),
        "detailItem": [_stock_line(line, line.quantity) for line in transfer.lines],
    }, source)


def transfer_in_body(transfer: TransferIn, *, number: str, out_number: str, source: OutletMapping,
                     destination: OutletMapping, bookkeeping: Bookkeeping) -> dict[str, Any]:
    body = _with_branch({
        "itemTransferType": "TRANSFER_IN",
        "number": number,
        "transDate": accurate_date(transfer.business_time),
        "warehouseName": destination.warehouse,
        "referenceWarehouseName": source.warehouse,
        "fromItemTransferNo": out_number,
        "description": f"POS transfer {transfer.key} {transfer.from_outlet_code} → {transfer.outlet_code}, received"
                       + (f": {transfer.note}" if transfer.note else ""),
        "detailItem": [_stock_line(line, line.quantity) for line in transfer.lines if line.quantity],
    }, destination)
    if transfer.has_shortage:
        body["differenceItemTransferAccountNo"] = bookkeeping.transit_loss_account
    return body


def _adjustment_line(line: StockLine, difference: Decimal, warehouse: str) -> dict[str, Any]:
    return _stock_line(
        line, abs(difference),
        itemAdjustmentType="ADJUSTMENT_IN" if difference > 0 else "ADJUSTMENT_OUT",
        unitCost=line.unit_cost if line.unit_cost is not None else ZERO,
        warehouseName=warehouse,
    )


def _adjustment(number: str, moment: datetime, outlet: OutletMapping, lines: list[dict[str, Any]],
                description: str, bookkeeping: Bookkeeping) -> dict[str, Any]:
    return _with_branch({
        "number": number,
        "transDate": accurate_date(moment),
        "adjustmentAccountNo": bookkeeping.stock_adjustment_account,
        "description": description,
        "detailItem": lines,
    }, outlet)


def adjustment_body(adjustment: StockAdjustment, *, outlet: OutletMapping, bookkeeping: Bookkeeping) -> dict[str, Any]:
    lines = [_adjustment_line(line, line.quantity, outlet.warehouse) for line in adjustment.lines]
    return _adjustment(adjustment.key, adjustment.business_time, outlet, lines,
                       f"POS adjustment {adjustment.key}" + (f": {adjustment.reason}" if adjustment.reason else ""),
                       bookkeeping)


def stock_take_body(stock_take: StockTake, *, outlet: OutletMapping, bookkeeping: Bookkeeping) -> dict[str, Any] | None:
    """The count's differences; None when the count matched the till everywhere (nothing to post)."""
    lines = [_adjustment_line(line, line.difference, outlet.warehouse) for line in stock_take.lines if line.difference]
    if not lines:
        return None
    return _adjustment(stock_take.key, stock_take.business_time, outlet, lines,
                       f"POS stock take {stock_take.key}" + (f": {stock_take.reason}" if stock_take.reason else ""),
                       bookkeeping)


def opening_stock_body(adjustment: StockAdjustment, *, outlet: OutletMapping,
                       bookkeeping: Bookkeeping) -> dict[str, Any]:
    """A product's opening quantity in one warehouse: an item adjustment (``item-adjustment/save.do``), an
    ADJUSTMENT_IN line at the POS's unit cost (an opening below zero: ADJUSTMENT_OUT). Not the item's
    ``detailOpenBalance``: that is read only when item/save creates the item, so it cannot give a product
    matched by SKU or a warehouse mapped later its stock, and its result has no number to find it again by."""
    lines = [_adjustment_line(line, line.quantity, outlet.warehouse) for line in adjustment.lines]
    return _adjustment(adjustment.key, adjustment.business_time, outlet, lines,
                       adjustment.reason or f"Opening stock {adjustment.key}", bookkeeping)


def correction_body(adjustment: StockAdjustment, *, outlet: OutletMapping, bookkeeping: Bookkeeping) -> dict[str, Any]:
    """Item adjustment bringing Accurate to the POS's quantities (Sync Status "adjust the target to the POS")."""
    lines = [_adjustment_line(line, line.quantity, outlet.warehouse) for line in adjustment.lines]
    return _adjustment(adjustment.key, adjustment.business_time, outlet, lines,
                       adjustment.reason or f"Stock correction {adjustment.key}", bookkeeping)
