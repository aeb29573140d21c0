"""Accurate request bodies, what only Accurate has: an invoice names its number, branch, warehouse and date;
a receipt pays its invoice into the configured account; a return is an invoice return; the customer number
follows the switch. What every target's bodies share (totals to the sen, VAT, exact amounts, returns):
test_sales_mapping.py."""

from __future__ import annotations

from datetime import date

import pytest

from possync.config import load_config
from possync.targets.accurate import mapping
from possync.targets.base.hook import exact_json
from support.demo_week import transformed_demo_sales


@pytest.fixture(scope="module")
def demo_batch(tmp_path_factory: pytest.TempPathFactory):
    return transformed_demo_sales(tmp_path_factory.mktemp("pos"))


@pytest.fixture(scope="module")
def accurate():
    return next(i for i in load_config().integrations if i.target == "accurate")


def test_an_invoice_names_its_number_branch_warehouse_and_date(demo_batch, accurate) -> None:
    outlet = accurate.outlets["JKT01"]
    for invoice in demo_batch.invoices:
        body = mapping.invoice_body(invoice, customer_no="C-1", outlet=outlet, bookkeeping=accurate.bookkeeping)
        assert body["number"] == invoice.key and body["branchName"] == "Jakarta"
        assert all(line["warehouseName"] == "Kemang" for line in body["detailItem"])
        assert body["transDate"] == invoice.business_time.strftime("%d/%m/%Y")


def test_receipt_pays_its_invoice_into_the_method_account(demo_batch, accurate) -> None:
    payment = next(p for p in demo_batch.payments if p.method == "cash")
    body = mapping.receipt_body(payment, customer_no="C-9", outlet=accurate.outlets["JKT01"],
                                bookkeeping=accurate.bookkeeping)
    assert body["bankNo"] == "1101.001" and body["paymentMethod"] == "CASH_OTHER"
    assert body["detailInvoice"] == [{"invoiceNo": payment.invoice_key, "paymentAmount": payment.amount}]
    assert body["chequeAmount"] == payment.amount and body["customerNo"] == "C-9"
    assert f'"chequeAmount":{payment.amount}' in exact_json(body)


def test_customer_number_follows_the_switch(accurate) -> None:
    from possync.documents import Customer

    customer = Customer(key="CUST-1", name=" Sari ", customer_code="M-001", email="s@x.id")
    assert mapping.customer_body(customer, use_pos_customer_id=True, since=date(2026, 11, 9)) == {
        "name": "Sari", "transDate": "09/11/2026", "customerNo": "M-001", "email": "s@x.id",
        "notes": "possync POS customer [CUST-1]",  # how a customer whose create reply was lost is found again
    }
    assert "customerNo" not in mapping.customer_body(customer, use_pos_customer_id=False, since=date(2026, 11, 9))


def test_a_return_is_an_invoice_return(demo_batch, accurate) -> None:
    body = mapping.return_body(demo_batch.returns[0], customer_no="C", outlet=accurate.outlets["JKT01"],
                               bookkeeping=accurate.bookkeeping)
    assert body["returnType"] == "INVOICE"


def test_a_return_carries_the_refund_to_the_sen_with_its_own_vat(demo_batch, accurate) -> None:
    bookkeeping = accurate.bookkeeping
    for sales_return in demo_batch.returns:
        body = mapping.return_body(sales_return, customer_no="C", outlet=accurate.outlets["JKT01"],
                                   bookkeeping=bookkeeping)
        lines = sum(((line["quantity"] * line["unitPrice"]).quantize(sales_return.total)
                     - line.get("itemCashDiscount", 0) for line in body["detailItem"]), 0)
        vat = sum(e["expenseAmount"] for e in body.get("detailExpense", []) if e["accountNo"] == "2102.001")
        assert (lines + vat, vat) == (sales_return.total, sum(line.tax for line in sales_return.lines))
        assert body["taxable"] is False and not any(line["useTax1"] for line in body["detailItem"])
        # sent on every line, zero too: one left out takes a share of its invoice line's discount in Accurate
        assert all("itemCashDiscount" in line for line in body["detailItem"])


def test_the_money_paid_back_leaves_the_method_account(demo_batch, accurate) -> None:
    sales_return = demo_batch.returns[0]
    body = mapping.refund_payment_body(sales_return, payee="C", outlet=accurate.outlets["JKT01"],
                                       bookkeeping=accurate.bookkeeping)
    assert body["number"] == sales_return.key
    assert body["bankNo"] == accurate.bookkeeping.payment_accounts[sales_return.method]
    assert body["detailAccount"] == [{"accountNo": "1103.001", "amount": sales_return.total,
                                      "expenseName": f"Refund {sales_return.key}",
                                      "memo": f"sales return {sales_return.key} of {sales_return.invoice_key}"}]
