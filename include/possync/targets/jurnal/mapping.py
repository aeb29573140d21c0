"""Canonical documents → Mekari Jurnal request bodies (the part inside the ``{"<resource>": ...}`` wrapper).

Stock moves: Jurnal's warehouse transfers are single-step, so goods on the road between two outlets are
held in a transit warehouse (``bookkeeping.transit_warehouse``): the transfer-out moves the sent
quantities source → transit, the transfer-in moves the received ones transit → destination, and what was
lost on the way leaves the transit warehouse as a stock adjustment of the same number. Stock takes are
stock adjustments with ``maintain_actual`` (the counted quantities), other adjustments carry differences.

How a receipt becomes a Jurnal sales invoice whose total equals the POS total and whose tax per rate equals
the till's, to the sen:

* product lines are referenced by Jurnal product id (from the products sync) with the SKU as ``product_code``;
* each product line carries the quantity as on the receipt and the amount the till charged for it (its
  discounts taken off; net of tax on a tax-exclusive receipt, tax included on an inclusive one, with
  ``use_tax_inclusive`` as the receipt priced) as ``rate`` = amount / quantity, and the tax of its rate
  (``line_tax_name``, from ``bookkeeping.taxes``: PPN 11 %, PB1 10 %, ...; none for an exempt rate), so each
  tax Jurnal computes is the till's exactly (``possync.targets.base.taxes``: Jurnal rounds once per tax per
  invoice, the till per line, so the largest line of a rate may move by a few sen and an untaxed adjustment
  moves them back);
* tax-exclusive VAT is Jurnal's own tax on the lines (not a line of an output-VAT item any more);
* a service charge is a line of the service item; a positive adjustment (cash rounding, plus the cents moved
  off the taxed lines) a line of the rounding item, a negative one the invoice's ``Value`` discount with
  ``tax_after_discount`` off, so it changes no tax base (Jurnal lines cannot be negative).

How a POS refund becomes Jurnal documents equal to it to the sen, tax and discounts included:

* Jurnal's sales return takes quantities only (its swagger body: the invoice, lines with ``return_quantity``, a
  memo) and prices them from the invoice line: its rate, less a pro-rata share of the invoice's ``Value``
  discount (spread over every line, the service and rounding lines too), plus its line tax (Jurnal's
  rounding over the returned lines, not the till's per line).
  So the return rarely equals the refund (the refund is what the till paid back; the return is Jurnal's
  pro-rata arithmetic), and no shaping of the invoice makes it exact: a per-line percentage cannot carry an
  amount to the sen, and Jurnal's own tax rounding would put the invoice total off the POS total.
* Instead the refund's money carries the difference: a **bank withdrawal** (documented with ``transaction_no``
  and ``custom_id``) out of the refund method's account (``bookkeeping.payment_accounts``) that totals the POS
  refund and books Jurnal's return amount against receivables (clearing exactly the customer's credit the
  return of a paid invoice left), the refund's VAT that the return did not carry against output VAT, and what
  is left (discount cents; a line the return overshot is a credit) against ``bookkeeping.sales_return_account``.
  The return plus the withdrawal's non-receivable lines equal the refund; its VAT lines its VAT. Not a credit
  memo: the difference has either sign, and a credit memo (a customer credit) cannot be negative.
* The sales-return body has no key of ours, so the return is found again by its memo (``return_memo``, the
  POS refund number), which works whether or not Jurnal keeps the ``transaction_no`` it is also sent.

Amounts stay ``Decimal``; the hook writes them as exact JSON numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from possync.config import Bookkeeping
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


def jurnal_date(moment: Any) -> str:
    """Transaction dates as Jurnal's sales examples write them (``yyyy-mm-dd``)."""
    return moment.strftime("%Y-%m-%d")


def customer_display_name(customer: Customer) -> str:
    return customer.name.strip()


def customer_body(customer: Customer, *, use_pos_customer_id: bool, bookkeeping: Bookkeeping) -> dict[str, Any]:
    """The customer keeps the till's customer ID as ``custom_id`` when that option is on and an ID exists;
    otherwise its ``custom_id`` is its POS key (``pos_custom_id``): Jurnal's ``custom_id`` is unique, so a
    customer whose create reply was lost is refused ("already been used") and found again when sent a second
    time, even where display names are not unique."""
    body: dict[str, Any] = {
        "display_name": customer_display_name(customer),
        "source": "possync",
        "default_ar_account_name": bookkeeping.receivable_account,
        "default_ap_account_name": bookkeeping.payable_account,
    }
    if customer.email:
        body["email"] = customer.email
    if customer.phone:
        body["mobile"] = customer.phone
    if use_pos_customer_id and customer.customer_code:
        body["custom_id"] = customer.customer_code
    else:
        body["custom_id"] = pos_custom_id(customer.key)
    return body


def pos_custom_id(key: str) -> str:
    """The ``custom_id`` of a customer without a till ID of ours: its POS key, marked as possync's."""
    return f"possync:{key}"


def product_body(item: Item, bookkeeping: Bookkeeping) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": item.name,
        "product_code": item.key,
        "unit_name": item.unit,
        "sell_price_per_unit": str(item.price),
        "buy_price_per_unit": str(item.cost),
        "is_sold": True,
        "is_bought": True,
        "taxable_sell": item.tax_rate > 0,
        "track_inventory": "true" if item.track_stock else "false",
    }
    if item.track_stock:
        body["inventory_asset_account_name"] = bookkeeping.inventory_account
    if item.key == bookkeeping.output_vat_sku:
        body["sell_account_name"] = bookkeeping.output_vat_account
    if item.barcode:
        body["description"] = f"Barcode {item.barcode}"
    return body


def product_id(target_id: str) -> int | str:
    """Jurnal's product id as its bodies take it (an integer); a dry run's placeholder for a product not created
    yet (``possync.preview``) stays as it is."""
    return int(target_id) if str(target_id).isdigit() else target_id


def _line(sku: str, product_ids: dict[str, str], quantity: Decimal, rate: Decimal, **extra: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"product_code": sku, "quantity": quantity, "rate": rate, **extra}
    if sku in product_ids:
        line["product_id"] = product_id(product_ids[sku])
    return line


def invoice_body(
    invoice: SalesInvoice,
    *,
    warehouse: str,
    customer_name: str,
    product_ids: dict[str, str],
    bookkeeping: Bookkeeping,
) -> dict[str, Any]:
    """The receipt as a Jurnal sales invoice whose tax per rate is the till's (``possync.targets.base.taxes``):
    each product line its amount as the till charged it (``rate`` = that amount over the quantity), tagged with
    the tax of its rate (``line_tax_name``); ``use_tax_inclusive`` as the receipt priced; ``tax_after_discount``
    off, so the invoice's ``Value`` discount (a negative adjustment) leaves the tax bases alone."""
    date = jurnal_date(invoice.business_time)
    plan = plan_invoice(invoice, bookkeeping)
    lines = []
    for posted in plan.lines:
        line = posted.line
        extra = {} if posted.tax.exempt else {"line_tax_name": posted.tax.name}
        lines.append(_line(line.sku, product_ids, line.quantity, unit_rate(posted.amount, line.quantity), **extra))
    if invoice.service_charge:
        lines.append(_line(bookkeeping.service_charge_sku, product_ids, ONE, invoice.service_charge))
    if plan.adjustment > 0:
        lines.append(_line(bookkeeping.rounding_sku, product_ids, ONE, plan.adjustment))

    body: dict[str, Any] = {
        "transaction_no": invoice.key,
        "transaction_date": date,
        "due_date": date,
        "person_name": customer_name,
        "warehouse_name": warehouse,
        "use_tax_inclusive": invoice.tax_inclusive,
        "tax_after_discount": False,
        "transaction_lines_attributes": lines,
        "memo": f"POS {invoice.outlet_code}" + (f", shift {invoice.shift_number}" if invoice.shift_number else ""),
        "tags": [invoice.outlet_code],
    }
    if plan.adjustment < 0:
        body.update(discount_type_name="Value", discount_unit=-plan.adjustment)
    return body


def invoice_total_as_priced(invoice: SalesInvoice) -> Decimal:
    """What the Jurnal invoice must total: the POS total."""
    return invoice.total


def payment_method_name(method: str) -> str:
    """The name of a POS payment method in Jurnal (a method Jurnal lacks is created under this name)."""
    return "QRIS" if method == "qris" else method.replace("_", " ").title()


def payment_body(payment: Payment, bookkeeping: Bookkeeping) -> dict[str, Any]:
    return {
        "transaction_date": jurnal_date(payment.paid_at),
        "custom_id": payment.key,
        "records_attributes": [{"transaction_no": payment.invoice_key, "amount": payment.amount}],
        "payment_method_name": payment_method_name(payment.method),
        "deposit_to_name": bookkeeping.payment_accounts[payment.method],
        "memo": f"POS payment {payment.key}" + (f" ref {payment.reference}" if payment.reference else ""),
    }


RETURN_MEMO = "POS refund "


def return_memo(sales_return: SalesReturn) -> str:
    """The sales return's memo: the POS refund number, by which a return whose reply was lost is found again
    (the swagger's sales-return body documents no ``transaction_no`` and no ``custom_id``)."""
    return f"{RETURN_MEMO}{sales_return.key}" + (f": {sales_return.reason}" if sales_return.reason else "")


def return_body(sales_return: SalesReturn, product_ids: dict[str, str]) -> dict[str, Any]:
    """The returned quantities of the invoice's lines; Jurnal prices them from the invoice. ``transaction_no`` is
    sent although the swagger does not document it: where Jurnal keeps it, a repeat is refused as a duplicate;
    where it is ignored, the memo finds the return (``senders.ReturnSender.find_created``)."""
    lines = []
    for line in sales_return.lines:
        entry: dict[str, Any] = {"product_name": line.product_name, "return_quantity": line.quantity}
        if line.sku in product_ids:
            entry["product_id"] = product_id(product_ids[line.sku])
        lines.append(entry)
    return {
        "transaction_no": sales_return.key,
        "transaction_date": sales_return.business_time.strftime("%d-%m-%Y"),
        "invoice_no": sales_return.invoice_key,
        "transaction_return_lines_attributes": lines,
        "memo": return_memo(sales_return),
    }


def _signed_line(account: str, amount: Decimal, description: str) -> dict[str, Any]:
    side = "debit" if amount > 0 else "credit"
    return {"account_name": account, side: abs(amount), "description": description}


def refund_withdrawal_body(sales_return: SalesReturn, *, returned: Decimal, returned_tax: Decimal,
                           customer_name: str | None, bookkeeping: Bookkeeping) -> dict[str, Any]:
    """The money paid back, out of the refund method's account, and what the sales return did not carry.

    ``returned`` is what Jurnal's sales return came to (``return_amount``, priced from the invoice) and
    ``returned_tax`` the VAT in it. The withdrawal totals the POS refund: ``returned`` against receivables (the
    customer's credit the return left on a paid invoice), the refund's VAT that the return did not carry against
    output VAT (the cents by which Jurnal's rounding over the returned lines differs from the till's), and what
    is left (discount cents, Jurnal's pro-rata pricing) against
    ``bookkeeping.sales_return_account``; a line the return overshot is a credit."""
    key = sales_return.key
    tax = sum((line.tax for line in sales_return.lines), ZERO)
    vat = tax - returned_tax
    rest = sales_return.total - returned - vat
    lines = []
    if returned:
        lines.append(_signed_line(bookkeeping.receivable_account, returned, f"sales return {key}"))
    if vat:
        lines.append(_signed_line(bookkeeping.output_vat_account, vat, f"VAT of refund {key}"))
    if rest:
        lines.append(_signed_line(bookkeeping.sales_return_account, rest, f"refund {key} beyond the sales return"))
    body: dict[str, Any] = {
        "transaction_no": key,
        "custom_id": key,
        "transaction_date": sales_return.business_time.strftime("%d-%m-%Y"),
        "refund_from_name": bookkeeping.payment_accounts[sales_return.method],
        "memo": f"POS refund {key} paid back ({sales_return.method})",
        "transaction_account_lines_attributes": lines,
    }
    if customer_name:
        body["person_name"] = customer_name
    return body


def stock_date(moment: Any) -> str:
    """Warehouse transfers and stock adjustments take ``dd/mm/yyyy`` (their swagger examples and format)."""
    return moment.strftime("%d/%m/%Y")


def _product(line: StockLine, product_ids: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"product_name": line.product_name}
    if line.sku in product_ids:
        entry["product_id"] = product_id(product_ids[line.sku])  # wins over the name, which the POS may have changed
    return entry


def _transfer(number: str, date: Any, source: str, destination: str, lines: list[dict[str, Any]],
              memo: str) -> dict[str, Any]:
    return {
        "transaction_no": number,
        "transaction_date": stock_date(date),
        "from_warehouse_name": source,
        "to_warehouse_name": destination,
        "memo": memo,
        "warehouse_transfer_lines_attributes": lines,
    }


def transfer_out_body(transfer: TransferOut, *, number: str, source: str, transit: str,
                      product_ids: dict[str, str]) -> dict[str, Any]:
    lines = [{**_product(line, product_ids), "quantity": line.quantity} for line in transfer.lines]
    memo = f"POS transfer {transfer.key} {transfer.outlet_code} → {transfer.to_outlet_code}, sent"
    return _transfer(number, transfer.business_time, source, transit, lines,
                     memo + (f": {transfer.note}" if transfer.note else ""))


def transfer_in_body(transfer: TransferIn, *, number: str, transit: str, destination: str,
                     product_ids: dict[str, str]) -> dict[str, Any] | None:
    """The received quantities, transit → destination; None when nothing at all arrived."""
    lines = [{**_product(line, product_ids), "quantity": line.quantity} for line in transfer.lines if line.quantity]
    if not lines:
        return None
    memo = f"POS transfer {transfer.key} {transfer.from_outlet_code} → {transfer.outlet_code}, received"
    return _transfer(number, transfer.business_time, transit, destination, lines,
                     memo + (f": {transfer.note}" if transfer.note else ""))


def transit_loss_body(transfer: TransferIn, *, number: str, transit: str, product_ids: dict[str, str],
                      bookkeeping: Bookkeeping) -> dict[str, Any] | None:
    """What was sent but never received leaves the transit warehouse; None when everything arrived."""
    lines = [{**_product(line, product_ids), "difference": -line.shortage} for line in transfer.lines if line.shortage]
    if not lines:
        return None
    return _adjustment(number, transfer.business_time, transit, lines, bookkeeping, maintain_actual=False,
                       memo=f"POS transfer {transfer.key}: lost in transit")


def _adjustment(number: str, date: Any, warehouse: str, lines: list[dict[str, Any]], bookkeeping: Bookkeeping,
                *, maintain_actual: bool, memo: str) -> dict[str, Any]:
    return {
        "stock_adjustment_type": "General",
        "transaction_no": number,
        "date": stock_date(date),
        "warehouse_name": warehouse,
        "account_name": bookkeeping.stock_adjustment_account,
        "maintain_actual": maintain_actual,
        "memo": memo,
        "lines_attributes": lines,
    }


def adjustment_body(adjustment: StockAdjustment, *, warehouse: str, product_ids: dict[str, str],
                    bookkeeping: Bookkeeping) -> dict[str, Any]:
    lines = [{**_product(line, product_ids), "difference": line.quantity} for line in adjustment.lines]
    memo = f"POS adjustment {adjustment.key}" + (f": {adjustment.reason}" if adjustment.reason else "")
    return _adjustment(adjustment.key, adjustment.business_time, warehouse, lines, bookkeeping,
                       maintain_actual=False, memo=memo)


def stock_take_body(stock_take: StockTake, *, warehouse: str, product_ids: dict[str, str],
                    bookkeeping: Bookkeeping) -> dict[str, Any]:
    """A stock count: Jurnal keeps the counted (actual) quantities and works the differences out itself."""
    lines = [{**_product(line, product_ids), "actual_quantity": line.quantity} for line in stock_take.lines]
    memo = f"POS stock take {stock_take.key}" + (f": {stock_take.reason}" if stock_take.reason else "")
    return _adjustment(stock_take.key, stock_take.business_time, warehouse, lines, bookkeeping,
                       maintain_actual=True, memo=memo)


def opening_stock_body(adjustment: StockAdjustment, *, warehouse: str, product_ids: dict[str, str],
                       bookkeeping: Bookkeeping) -> dict[str, Any]:
    """A product's opening quantity in one warehouse: a stock adjustment of Jurnal's documented type "Initial
    Quantity" (Kuantitas Awal, 4), stock in/out (``maintain_actual`` false: only ``difference`` is read, so it adds
    to whatever moves the warehouse already holds) at the POS's cost (``use_custom_average_price``)."""
    lines = [{**_product(line, product_ids), "difference": line.quantity, "use_custom_average_price": True,
              "average_price": line.unit_cost if line.unit_cost is not None else Decimal("0")}
             for line in adjustment.lines]
    body = _adjustment(adjustment.key, adjustment.business_time, warehouse, lines, bookkeeping,
                       maintain_actual=False, memo=adjustment.reason or f"Opening stock {adjustment.key}")
    body["stock_adjustment_type"] = "Initial Quantity"
    return body


def correction_body(adjustment: StockAdjustment, *, warehouse: str, product_ids: dict[str, str],
                    bookkeeping: Bookkeeping) -> dict[str, Any]:
    """Stock in/out that brings Jurnal to the POS's quantity (Sync Status "adjust the target to the POS")."""
    lines = [{**_product(line, product_ids), "difference": line.quantity} for line in adjustment.lines]
    return _adjustment(adjustment.key, adjustment.business_time, warehouse, lines, bookkeeping,
                       maintain_actual=False, memo=adjustment.reason or f"Stock correction {adjustment.key}")
