"""The Accurate sandbox over real HTTP: API-token signing, envelopes, documents, totals, limits, faults, webhooks.

The signer below is written here on purpose (from the documentation), not imported from possync's client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from possync_devkit.sandbox.accurate import (
    DEMO_API_TOKEN,
    DEMO_DATABASE_ID,
    DEMO_SIGNATURE_SECRET,
    RateLimits,
    SandboxConfig,
    create_apps,
    create_state,
)
from possync_devkit.sandbox.accurate.service import MODULES
from support.net import free_port
from support.sandbox_admin import SandboxAdmin

SPEC = Path(__file__).resolve().parents[2] / "specs" / "accurate_openapi.json"
WIB = timezone(timedelta(hours=7))
D = Decimal


def wib_now(offset_seconds: float = 0) -> str:
    return (datetime.now(WIB) + timedelta(seconds=offset_seconds)).strftime("%d/%m/%Y %H:%M:%S")


def signature(secret: str, timestamp: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode(), hashlib.sha256).digest()).decode()


class Client:
    """A minimal API-token client: Bearer token + X-Api-Timestamp (WIB) + base64 HMAC-SHA256 signature."""

    def __init__(self, base: str, token: str = DEMO_API_TOKEN, secret: str = DEMO_SIGNATURE_SECRET) -> None:
        self.base = base
        self.token = token
        self.secret = secret
        self.session = requests.Session()

    def headers(self, **override: str | None) -> dict[str, str]:
        stamp = wib_now()
        values = {
            "Authorization": f"Bearer {self.token}",
            "X-Api-Timestamp": stamp,
            "X-Api-Signature": signature(self.secret, stamp),
        }
        values.update(override)  # type: ignore[arg-type]
        return {key: value for key, value in values.items() if value is not None}

    def raw(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base + path, headers=headers or self.headers(), timeout=10, **kwargs)

    def call(self, path: str, body: Any = None, *, method: str = "POST", **kwargs: Any) -> dict[str, Any]:
        if body is not None:
            kwargs["data"] = json.dumps(body, default=str)
            kwargs.setdefault("headers", {**self.headers(), "Content-Type": "application/json"})
        response = self.raw(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json(parse_float=Decimal)

    def api(self, module_action: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.call(f"/accurate/api/{module_action}.do", body, **kwargs)

    def get(self, module_action: str, **params: Any) -> dict[str, Any]:
        return self.call(f"/accurate/api/{module_action}.do", method="GET", params=params)


class Sandbox:
    def __init__(self, start: Any, **config: Any) -> None:
        self.state = create_state(SandboxConfig(**config))
        account_app, data_app = create_apps(state=self.state)
        self.account_url = start(account_app).url
        self.data_url = start(data_app).url
        self.state.config.data_host_url = self.data_url
        self.account = Client(self.account_url)
        self.data = Client(self.data_url)
        self._admin = SandboxAdmin(self.data_url, parse_float=Decimal)

    def admin(self, path: str, body: Any = None) -> Any:
        """``GET /_sandbox/<path>``, or ``POST`` with ``body``; amounts as Decimal."""
        return self._admin.get(path) if body is None else self._admin.post(path, body)


NO_LIMITS = RateLimits(per_second=None, in_flight=None)
TOKENS = {DEMO_API_TOKEN: DEMO_SIGNATURE_SECRET, "aat.second-app": "second-secret"}


@pytest.fixture(scope="module")
def sandbox(module_live_server: Any) -> Sandbox:
    box = Sandbox(module_live_server, limits=NO_LIMITS, tokens=TOKENS)
    api = box.data.api
    assert api("customer/save", {"customerNo": "CUST-1", "name": "Budi", "transDate": "01/03/2026"})["s"]
    assert api("customer/save", {"customerNo": "CUST-2", "name": "Sari", "transDate": "01/03/2026"})["s"]
    items = [
        {"no": "KOPI", "name": "Kopi Susu", "itemType": "INVENTORY", "unitPrice": 18000},
        {"no": "ROTI", "name": "Roti Bakar", "itemType": "INVENTORY", "unitPrice": 12500},
        {"no": "JASA", "name": "Jasa Antar", "itemType": "SERVICE", "unitPrice": 5000},
    ]
    assert api("item/bulk-save", {"data": items})["s"]
    assert api("warehouse/save", {"name": "Outlet Senayan"})["s"]
    return box


def invoice(number: str | None = None, **header: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customerNo": "CUST-1",
        "transDate": "05/03/2026",
        "detailItem": [{"itemNo": "KOPI", "quantity": 2, "unitPrice": 18000}],
    }
    if number:
        body["number"] = number
    body.update(header)
    return body


# ---------------------------------------------------------------- signing and hosts
def test_signing(sandbox: Sandbox) -> None:
    client = sandbox.data
    ok = client.raw("GET", "/accurate/api/glaccount/list.do")
    assert ok.status_code == 200 and ok.json()["s"] is True

    bad_token = client.raw("GET", "/accurate/api/glaccount/list.do", headers=client.headers(Authorization="Bearer x"))
    assert bad_token.status_code == 401 and bad_token.json()["error"] == "invalid_token"
    no_token = client.raw("GET", "/accurate/api/glaccount/list.do", headers=client.headers(Authorization=None))
    assert no_token.status_code == 401 and no_token.json()["error"] == "invalid_token"

    stamp = wib_now()
    wrong = client.raw(
        "GET",
        "/accurate/api/glaccount/list.do",
        headers=client.headers(**{"X-Api-Timestamp": stamp, "X-Api-Signature": signature("other", stamp)}),
    )
    assert wrong.status_code == 401 and wrong.json() == {"s": False, "d": ["Header X-Api-Signature invalid"]}

    old = wib_now(-301)
    stale = client.raw(
        "GET",
        "/accurate/api/glaccount/list.do",
        headers=client.headers(**{"X-Api-Timestamp": old, "X-Api-Signature": signature(DEMO_SIGNATURE_SECRET, old)}),
    )
    assert stale.status_code == 401 and stale.json()["s"] is False
    assert "X-Api-Timestamp" in stale.json()["d"][0]
    iso = datetime.now(WIB).isoformat()
    unparseable = client.raw(
        "GET",
        "/accurate/api/glaccount/list.do",
        headers=client.headers(**{"X-Api-Timestamp": iso, "X-Api-Signature": signature(DEMO_SIGNATURE_SECRET, iso)}),
    )
    assert unparseable.status_code == 401 and "X-Api-Timestamp" in unparseable.json()["d"][0]
    other = Client(sandbox.data_url, "aat.second-app", "second-secret")
    assert other.raw("GET", "/accurate/api/glaccount/list.do").status_code == 200
    mixed = Client(sandbox.data_url, "aat.second-app", DEMO_SIGNATURE_SECRET)
    assert mixed.raw("GET", "/accurate/api/glaccount/list.do").json()["d"] == ["Header X-Api-Signature invalid"]
    # the account host authenticates too
    assert sandbox.account.raw("POST", "/api/api-token.do", headers={"Accept": "*/*"}).status_code == 401


def test_api_token_and_host_routing(sandbox: Sandbox) -> None:
    reply = sandbox.account.call("/api/api-token.do")
    assert reply["s"] is True
    assert reply["d"]["database"] == {"id": DEMO_DATABASE_ID, "alias": "POSSYNC DEMO", "host": sandbox.data_url}
    assert sandbox.account.call("/api/api-token.do", method="GET")["d"]["database"]["host"] == sandbox.data_url

    not_here = {"s": False, "d": ["URL API tidak tepat"]}
    for client, path in (
        (sandbox.data, "/api/api-token.do"),
        (sandbox.data, "/api/webhook-renew.do"),
        (sandbox.account, "/accurate/api/customer/list.do"),
        (sandbox.data, "/accurate/api/customer/nope.do"),
        (sandbox.data, "/accurate/api/sales-invoice/pay.do"),
        (sandbox.data, "/accurate/api/warehouse/bulk-save.do"),
        (sandbox.data, "/accurate/api/unknown/list.do"),
    ):
        response = client.raw("POST", path)
        assert response.status_code == 404, path
        assert response.json() == not_here, path


# ---------------------------------------------------------------- envelope, encodings, uniqueness
def test_validation_error_envelope_and_dates(sandbox: Sandbox) -> None:
    reply = sandbox.data.api("customer/save", {"customerNo": "X-1"})
    assert reply["s"] is False
    assert any("name" in message for message in reply["d"]) and any("transDate" in m for m in reply["d"])
    bad_date = sandbox.data.api("customer/save", {"name": "A", "transDate": "2026-03-01"})
    assert bad_date["s"] is False and "transDate" in bad_date["d"][0]
    bad_filter = sandbox.data.get("sales-invoice/list", **{"filter.transDate.op": "EQUAL", "filter.transDate.val": "x"})
    assert bad_filter["s"] is False and "transDate" in bad_filter["d"][0]


def test_form_and_json_bodies(sandbox: Sandbox) -> None:
    client = sandbox.data
    form = client.raw(
        "POST",
        "/accurate/api/customer/save.do",
        data={"customerNo": "FORM-1", "name": "Form Customer", "transDate": "02/03/2026"},
    )
    assert form.status_code == 200 and form.json()["s"] is True
    assert form.json()["d"] == ['Pelanggan "FORM-1" berhasil disimpan']
    assert form.json()["r"]["customerNo"] == "FORM-1" and isinstance(form.json()["r"]["id"], int)

    fields = {
        "customerNo": "FORM-1",
        "transDate": "02/03/2026",
        "number": "FORM-INV-1",
        "detailItem[0].itemNo": "ROTI",
        "detailItem[0].quantity": "3",
        "detailItem[0].unitPrice": "12500.50",
        "detailItem[1].itemNo": "JASA",
        "detailItem[1].quantity": "1",
        "detailItem[1].unitPrice": "5000",
    }
    saved = client.raw("POST", "/accurate/api/sales-invoice/save.do", data=fields).json(parse_float=Decimal)
    assert saved["s"] is True, saved
    assert saved["r"]["totalAmount"] == D("42501.50")
    assert [line["itemNo"] for line in saved["r"]["detailItem"]] == ["ROTI", "JASA"]

    bulk = client.raw(
        "POST",
        "/accurate/api/customer/bulk-save.do",
        data={"data[0].name": "Bulk A", "data[0].transDate": "01/03/2026", "data[1].name": "Bulk B"},
    ).json()
    assert bulk["s"] is False and bulk["d"][0]["s"] is True and bulk["d"][1]["s"] is False
    assert bulk["d"][0]["r"]["customerNo"].startswith("C.")


def test_duplicates(sandbox: Sandbox) -> None:
    api = sandbox.data.api
    dup = api("customer/save", {"customerNo": "CUST-1", "name": "Lain", "transDate": "01/03/2026"})
    assert dup == {"s": False, "d": ['Sudah ada data lain dengan ID Pelanggan "CUST-1"']}
    dup_item = api("item/save", {"no": "KOPI", "name": "Kopi lain", "itemType": "INVENTORY"})
    assert dup_item == {"s": False, "d": ['Sudah ada data lain dengan Kode Barang "KOPI"']}
    assert api("sales-invoice/save", invoice("DUP-1"))["s"] is True
    dup_invoice = api("sales-invoice/save", invoice("DUP-1"))
    assert dup_invoice == {"s": False, "d": ['Sudah ada data lain dengan Nomor Faktur "DUP-1"']}
    dup_warehouse = api("warehouse/save", {"name": "outlet senayan"})
    assert dup_warehouse["s"] is False and dup_warehouse["d"][0].startswith("Sudah ada data lain dengan Nama")
    auto = api("sales-invoice/save", invoice())
    assert auto["r"]["number"].startswith("SI.2026.")
    # update by id keeps the key unique and changes the record
    customer = api("customer/save", {"customerNo": "UPD-1", "name": "Lama", "transDate": "01/03/2026"})["r"]
    updated = api("customer/save", {"id": customer["id"], "name": "Baru"})
    assert updated["s"] is True and updated["r"]["name"] == "Baru" and updated["r"]["customerNo"] == "UPD-1"
    assert api("customer/save", {"id": customer["id"], "customerNo": "CUST-2"})["s"] is False


def test_unknown_references(sandbox: Sandbox) -> None:
    api = sandbox.data.api
    reply = api(
        "sales-invoice/save",
        {
            "customerNo": "NOPE",
            "transDate": "05/03/2026",
            "detailItem": [
                {"itemNo": "GHOST", "quantity": 1, "unitPrice": 1},
                {"itemNo": "KOPI", "quantity": 1, "unitPrice": 1, "warehouseName": "Gudang Hilang"},
            ],
        },
    )
    assert reply["s"] is False
    text = " | ".join(reply["d"])
    assert 'Pelanggan "NOPE" tidak ditemukan' in text
    assert 'Barang & Jasa "GHOST" tidak ditemukan' in text
    assert 'Gudang "Gudang Hilang" tidak ditemukan' in text
    assert api("sales-invoice/save", invoice(detailItem=[]))["s"] is False
    zero = api("sales-invoice/save", invoice(detailItem=[{"itemNo": "KOPI", "quantity": 0, "unitPrice": 1}]))
    assert zero["s"] is False and "quantity" in zero["d"][0]


def test_bulk_save_partial_and_limit(sandbox: Sandbox) -> None:
    api = sandbox.data.api
    reply = api(
        "sales-invoice/bulk-save", {"data": [invoice("B-1"), invoice("B-2", customerNo="NOPE"), invoice("B-3")]}
    )
    assert reply["s"] is False
    assert [item["s"] for item in reply["d"]] == [True, False, True]
    assert reply["d"][0]["d"] == ['Faktur Penjualan "B-1" berhasil disimpan'] and reply["d"][2]["r"]["number"] == "B-3"
    assert reply["d"][1]["d"] == ['Pelanggan "NOPE" tidak ditemukan']
    assert sandbox.data.get("sales-invoice/detail", number="B-3")["s"] is True
    assert sandbox.data.get("sales-invoice/detail", number="B-2") == {"s": False, "d": ["Data tidak ditemukan"]}
    within = api("sales-invoice/bulk-save", {"data": [invoice("B-1"), invoice("B-4")]})
    assert within["d"][0]["d"] == ['Sudah ada data lain dengan Nomor Faktur "B-1"'] and within["d"][1]["s"] is True

    too_many = api("sales-invoice/bulk-save", {"data": [invoice(f"MANY-{n}") for n in range(101)]})
    assert too_many == {"s": False, "d": ["Max: 100 data dalam 1 kali request"]}
    assert sandbox.data.get("sales-invoice/detail", number="MANY-0")["s"] is False
    assert api("sales-invoice/bulk-save", {"data": []})["s"] is False

    started = time.perf_counter()
    hundred = api("sales-invoice/bulk-save", {"data": [invoice(f"FAST-{n}") for n in range(100)]})
    assert hundred["s"] is True and len(hundred["d"]) == 100
    assert time.perf_counter() - started < 1.0


def test_list_paging_fields_filters(sandbox: Sandbox) -> None:
    api = sandbox.data.api
    for n in range(1, 6):
        api("sales-invoice/save", invoice(f"LIST-{n}", transDate=f"1{n}/04/2026", customerNo="CUST-2"))
    get = sandbox.data.get
    only_ids = get("sales-invoice/list", **{"filter.number.op": "CONTAIN", "filter.number.val[0]": "LIST-"})
    assert only_ids["sp"]["rowCount"] == 5 and set(only_ids["d"][0]) == {"id"}
    page = get(
        "sales-invoice/list",
        fields="id,number,totalAmount,bogus",
        **{"filter.customerNo": "CUST-2", "sp.page": 2, "sp.pageSize": 2, "sp.sort": "number|desc"},
    )
    assert [row["number"] for row in page["d"]] == ["LIST-3", "LIST-2"]
    assert set(page["d"][0]) == {"id", "number", "totalAmount"} and page["d"][0]["totalAmount"] == 36000
    assert page["sp"] == {
        "page": 2,
        "sort": "number|desc",
        "pageSize": 2,
        "pageCount": 3,
        "rowCount": 5,
        "start": 2,
        "limit": None,
    }
    between = get(
        "sales-invoice/list",
        fields="number",
        **{
            "filter.transDate.op": "BETWEEN",
            "filter.transDate.val[0]": "12/04/2026",
            "filter.transDate.val[1]": "14/04/2026",
        },
    )
    assert sorted(row["number"] for row in between["d"]) == ["LIST-2", "LIST-3", "LIST-4"]
    ge = get(
        "sales-invoice/list",
        fields="number",
        **{"filter.transDate.op": "GREATER_EQUAL_THAN", "filter.transDate.val": "14/04/2026"},
    )
    assert sorted(row["number"] for row in ge["d"]) == ["LIST-4", "LIST-5"]
    le = get(
        "sales-invoice/list",
        fields="number",
        **{"filter.number.op": "LESS_EQUAL_THAN", "filter.number.val": "LIST-2", "filter.customerNo": "CUST-2"},
    )
    assert sorted(row["number"] for row in le["d"]) == ["LIST-1", "LIST-2"]
    customers = get("customer/list", fields="customerNo,name", **{"filter.no.op": "EQUAL", "filter.no.val": "cust-1"})
    assert customers["d"] == [{"id": customers["d"][0]["id"], "customerNo": "CUST-1", "name": "Budi"}]
    by_name = get("item/list", fields="no,name", **{"filter.name.op": "CONTAIN", "filter.name.val": "roti"})
    assert [row["no"] for row in by_name["d"]] == ["ROTI"]
    ignored = get(
        "sales-invoice/list",
        **{
            "filter.number": "LIST-1",
            "filter.lastUpdate.op": "GREATER_THAN",
            "filter.lastUpdate.val": "01/01/2026 00:00:00",
        },
    )
    assert ignored["sp"]["rowCount"] == 1
    keywords = get(
        "customer/list", fields="customerNo", **{"filter.keywords.op": "CONTAIN", "filter.keywords.val": "sar"}
    )
    assert [row["customerNo"] for row in keywords["d"]] == ["CUST-2"]
    by_post = sandbox.data.api("sales-invoice/list", {"fields": "number", "filter.number": "LIST-5"})
    assert [row["number"] for row in by_post["d"]] == ["LIST-5"]
    big = get("glaccount/list", **{"sp.pageSize": 5000})
    assert big["sp"]["pageSize"] == 1000


def test_detail_by_number_and_not_found(sandbox: Sandbox) -> None:
    saved = sandbox.data.api("sales-invoice/save", invoice("DET-1"))["r"]
    get = sandbox.data.get
    by_number = get("sales-invoice/detail", number="DET-1")
    by_id = get("sales-invoice/detail", id=saved["id"])
    assert by_number["s"] is True and by_number["d"]["id"] == saved["id"] and by_id["d"] == by_number["d"]
    assert by_number["d"]["customer"]["customerNo"] == "CUST-1"
    assert get("sales-invoice/detail", number="NOPE-404") == {"s": False, "d": ["Data tidak ditemukan"]}
    assert get("sales-invoice/detail", id=999999) == {"s": False, "d": ["Data tidak ditemukan"]}
    assert get("customer/detail", customerNo="CUST-1")["d"]["name"] == "Budi"
    assert get("item/detail", no="KOPI")["d"]["itemType"] == "INVENTORY"
    assert get("vendor/detail", vendorNo="V.00001")["d"]["name"] == "PT Pemasok Demo"
    assert get("glaccount/detail", no="1102.001")["d"]["accountType"] == "CASH_BANK"
    names = [row["name"] for row in get("branch/list", fields="name")["d"]]
    assert names == ["Kantor Pusat"]


# ---------------------------------------------------------------- totals, receipts, returns
def test_invoice_totals_exclusive(sandbox: Sandbox) -> None:
    body = invoice(
        "TOT-EX",
        taxable=True,
        cashDiscount=5000,
        detailItem=[
            # 3 x 18,333.33 = 54,999.99 - 1,000 - 0 = 53,999.99 (taxed)
            {"itemNo": "KOPI", "quantity": 3, "unitPrice": "18333.33", "itemCashDiscount": 1000, "useTax1": True},
            # 2 x 12,500 = 25,000 less 10% = 22,500 (not taxed)
            {"itemNo": "ROTI", "quantity": 2, "unitPrice": 12500, "itemDiscPercent": "10", "useTax1": False},
            # 1 x 5,000 less 5% then 2% = 5,000 x 0.931 = 4,655 (taxed)
            {"itemNo": "JASA", "quantity": 1, "unitPrice": 5000, "itemDiscPercent": "5+2", "useTax1": True},
        ],
        detailExpense=[{"accountNo": "4201.001", "expenseAmount": "7500.50", "expenseName": "Service charge"}],
    )
    r = sandbox.data.api("sales-invoice/save", body)["r"]
    assert [line["totalPrice"] for line in r["detailItem"]] == [D("53999.99"), 22500, 4655]
    assert r["subTotal"] == D("81154.99")
    assert r["cashDiscount"] == 5000
    # taxed 58,654.99 less its share of 5,000 (x 58,654.99 / 81,154.99) = 55,041.2263...,
    # x 11% = 6,054.5349... -> 6,054.53 (half up at the sen)
    assert r["taxAmount"] == D("6054.53") and r["tax1Amount"] == D("6054.53")
    assert r["totalExpense"] == D("7500.50")
    assert r["totalAmount"] == D("81154.99") - 5000 + D("6054.53") + D("7500.50")
    assert r["primeOwing"] == r["totalAmount"]
    detail = sandbox.data.get("sales-invoice/detail", number="TOT-EX")["d"]
    assert detail["totalAmount"] == D("89710.02")


def test_invoice_totals_inclusive_and_untaxed(sandbox: Sandbox) -> None:
    body = invoice(
        "TOT-IN",
        taxable=True,
        inclusiveTax=True,
        detailItem=[{"itemNo": "KOPI", "quantity": 1, "unitPrice": 111000, "useTax1": True}],
        detailExpense=[{"accountNo": "6101.001", "expenseAmount": 10000}],
    )
    r = sandbox.data.api("sales-invoice/save", body)["r"]
    assert r["subTotal"] == 111000 and r["taxAmount"] == 11000 and r["totalAmount"] == 121000
    untaxed = sandbox.data.api("sales-invoice/save", invoice("TOT-NO", cashDiscPercent="10"))["r"]
    assert untaxed["taxAmount"] == 0 and untaxed["cashDiscount"] == 3600 and untaxed["totalAmount"] == 32400
    half_up = sandbox.data.api(
        "sales-invoice/save",
        invoice("TOT-HALF", detailItem=[{"itemNo": "KOPI", "quantity": "0.5", "unitPrice": "0.05", "useTax1": True}]),
    )["r"]
    # 0.025 -> 0.03 (half up); tax 0.03 x 11% = 0.0033 -> 0.00
    assert half_up["subTotal"] == D("0.03") and half_up["taxAmount"] == 0
    bad_expense = sandbox.data.api(
        "sales-invoice/save", invoice(detailExpense=[{"accountNo": "9999", "expenseAmount": 1}])
    )
    assert bad_expense["s"] is False and 'Akun Perkiraan "9999" tidak ditemukan' in bad_expense["d"][0]


def test_receipts_reduce_prime_owing(sandbox: Sandbox) -> None:
    api = sandbox.data.api
    api("sales-invoice/save", invoice("PAY-1"))  # 36,000
    api("sales-invoice/save", invoice("PAY-2"))
    receipt = {
        "customerNo": "CUST-1",
        "bankNo": "1102.001",
        "transDate": "06/03/2026",
        "chequeAmount": 46000,
        "paymentMethod": "QRIS",
        "number": "RCPT-1",
        "detailInvoice": [
            {"invoiceNo": "PAY-1", "paymentAmount": 36000},
            {"invoiceNo": "PAY-2", "paymentAmount": 10000},
        ],
    }
    saved = api("sales-receipt/save", receipt)
    assert saved["s"] is True and saved["d"] == ['Penerimaan Penjualan "RCPT-1" berhasil disimpan']
    get = sandbox.data.get
    assert get("sales-invoice/detail", number="PAY-1")["d"]["primeOwing"] == 0
    assert get("sales-invoice/detail", number="PAY-2")["d"]["primeOwing"] == 26000
    assert api("sales-receipt/save", receipt)["d"] == ['Sudah ada data lain dengan Nomor Penerimaan "RCPT-1"']

    def refused(**change: Any) -> list[str]:
        reply = api("sales-receipt/save", {**receipt, "number": None, **change})
        assert reply["s"] is False, reply
        return reply["d"]

    over = refused(chequeAmount=26001, detailInvoice=[{"invoiceNo": "PAY-2", "paymentAmount": 26001}])
    assert "melebihi sisa piutang" in over[0] and "PAY-2" in over[0]
    assert (
        "lebih besar dari 0" in refused(chequeAmount=0, detailInvoice=[{"invoiceNo": "PAY-2", "paymentAmount": 0}])[0]
    )
    assert "chequeAmount" in refused(chequeAmount=5, detailInvoice=[{"invoiceNo": "PAY-2", "paymentAmount": 10}])[0]
    assert "Kas/Bank" in refused(bankNo="4101.001", detailInvoice=[{"invoiceNo": "PAY-2", "paymentAmount": 1}])[0]
    assert "bukan milik" in refused(customerNo="CUST-2", detailInvoice=[{"invoiceNo": "PAY-2", "paymentAmount": 1}])[0]
    assert "paymentMethod" in refused(paymentMethod="GOPAY")[0]
    assert "tidak ditemukan" in refused(detailInvoice=[{"invoiceNo": "NOPE", "paymentAmount": 1}])[0]
    rest = api(
        "sales-receipt/save",
        {
            **receipt,
            "number": None,
            "chequeAmount": "26000",
            "detailInvoice": [{"invoiceNo": "PAY-2", "paymentAmount": "26000"}],
        },
    )
    assert rest["s"] is True and rest["r"]["number"].startswith("CR.2026.")
    assert get("sales-invoice/detail", number="PAY-2")["d"]["primeOwing"] == 0


def test_returns_limit_quantity_and_reduce_owing(sandbox: Sandbox) -> None:
    api = sandbox.data.api
    get = sandbox.data.get
    before = get("item/detail", no="KOPI")["d"]["balance"]
    api("sales-invoice/save", invoice("RET-INV", detailItem=[{"itemNo": "KOPI", "quantity": 3, "unitPrice": 18000}]))
    assert get("item/detail", no="KOPI")["d"]["balance"] == before - 3
    ret = {
        "customerNo": "CUST-1",
        "transDate": "07/03/2026",
        "returnType": "INVOICE",
        "invoiceNumber": "RET-INV",
        "number": "RET-1",
        "detailItem": [{"itemNo": "KOPI", "quantity": 2}],
    }
    saved = api("sales-return/save", ret)
    assert saved["s"] is True and saved["r"]["totalAmount"] == 36000
    assert get("sales-invoice/detail", number="RET-INV")["d"]["primeOwing"] == 18000
    assert get("item/detail", no="KOPI")["d"]["balance"] == before - 1
    assert api("sales-return/save", ret)["d"] == ['Sudah ada data lain dengan Nomor Retur "RET-1"']
    beyond = api("sales-return/save", {**ret, "number": "RET-2"})
    assert beyond["s"] is False and "melebihi sisa yang dapat diretur" in beyond["d"][0]
    other_item = api("sales-return/save", {**ret, "number": "RET-3", "detailItem": [{"itemNo": "ROTI", "quantity": 1}]})
    assert other_item["s"] is False
    last = api("sales-return/save", {**ret, "number": "RET-4", "detailItem": [{"itemNo": "KOPI", "quantity": 1}]})
    assert last["s"] is True
    assert get("sales-invoice/detail", number="RET-INV")["d"]["primeOwing"] == 0


def test_other_payment_pays_out_of_a_cash_account(sandbox: Sandbox) -> None:
    api = sandbox.data.api
    payment = {
        "number": "OUT-1", "transDate": "06/03/2026", "bankNo": "1101.001", "payee": "CUST-1",
        "detailAccount": [{"accountNo": "1103.001", "amount": 30000, "expenseName": "Refund"},
                          {"accountNo": "2102.001", "amount": "3300.50", "expenseName": "PPN"}],
    }
    saved = api("other-payment/save", payment)
    assert saved["s"] is True and saved["d"] == ['Pembayaran "OUT-1" berhasil disimpan']
    detail = sandbox.data.get("other-payment/detail", number="OUT-1")["d"]
    assert detail["amount"] == Decimal("33300.50") and detail["bankNo"] == "1101.001"
    assert [line["accountNo"] for line in detail["detailAccount"]] == ["1103.001", "2102.001"]
    assert api("other-payment/save", payment)["d"] == ['Sudah ada data lain dengan Nomor Pembayaran "OUT-1"']

    def refused(**change: Any) -> list[str]:
        reply = api("other-payment/save", {**payment, "number": None, **change})
        assert reply["s"] is False, reply
        return reply["d"]

    assert "Kas/Bank" in refused(bankNo="1103.001")[0]
    assert "Penerima (payee) harus diisi" in refused(payee=None)
    assert "expenseName" in refused(detailAccount=[{"accountNo": "1103.001", "amount": 1}])[0]
    zero = [{"accountNo": "1103.001", "amount": 0, "expenseName": "x"}]
    assert "lebih besar dari 0" in refused(detailAccount=zero)[0]
    assert api("other-payment/save", {**payment, "number": None})["r"]["number"].startswith("OP.2026.")


def test_receive_item_increases_stock(sandbox: Sandbox) -> None:
    api = sandbox.data.api
    get = sandbox.data.get
    body = {
        "vendorNo": "V.00001",
        "receiveNumber": "SJ-001",
        "transDate": "04/03/2026",
        "detailItem": [
            {"itemNo": "ROTI", "quantity": 40, "unitPrice": 6000, "warehouseName": "Outlet Senayan"},
            {"itemNo": "ROTI", "quantity": "2.5", "unitPrice": 6000, "warehouseName": "Utama"},
        ],
    }
    saved = api("receive-item/save", body)
    assert saved["s"] is True and saved["r"]["number"].startswith("RI.2026.")
    detail = get("receive-item/detail", number=saved["r"]["number"])["d"]
    line = detail["detailItem"][0]
    assert line["itemNo"] == "ROTI" and line["item"]["no"] == "ROTI" and line["item"]["name"] == "Roti Bakar"
    assert line["quantity"] == 40 and line["unitPrice"] == 6000 and line["warehouseName"] == "Outlet Senayan"
    assert detail["vendor"]["vendorNo"] == "V.00001" and detail["receiveNumber"] == "SJ-001"
    stock = get("item/get-stock", no="ROTI", warehouseName="Outlet Senayan")["d"]
    assert stock["availableStock"] == 40
    item = get("item/detail", no="ROTI")["d"]
    by_warehouse = {row["warehouseName"]: row["balance"] for row in item["detailWarehouseData"]}
    assert by_warehouse["Outlet Senayan"] == 40
    assert api("receive-item/save", {**body, "vendorNo": "V.404"})["d"] == ['Pemasok "V.404" tidak ditemukan']
    missing = api("receive-item/save", {k: v for k, v in body.items() if k != "receiveNumber"})
    assert missing["s"] is False and "receiveNumber" in missing["d"][0]


# ---------------------------------------------------------------- rate limits, faults
def test_rate_limit_per_second(live_server: Any) -> None:
    box = Sandbox(live_server, tokens=TOKENS)
    statuses = []
    retry_after = None
    body = None
    for _ in range(14):
        response = box.data.raw("GET", "/accurate/api/glaccount/list.do")
        statuses.append(response.status_code)
        if response.status_code == 429 and retry_after is None:
            retry_after, body = response.headers.get("Retry-After"), response.json()
    assert statuses[:8] == [200] * 8 and 429 in statuses
    assert retry_after == "1"
    assert body == {"s": False, "d": ["Terlalu banyak request, batas 8 panggilan per detik dan 8 bersamaan"]}
    stats = box.admin("stats")
    assert stats["refused_rate"] >= 1 and stats["accepted"] == statuses.count(200)
    other = Client(box.data_url, "aat.second-app", "second-secret")  # the limit is per token
    assert other.raw("GET", "/accurate/api/glaccount/list.do").status_code == 200
    time.sleep(1.05)
    assert box.data.raw("GET", "/accurate/api/glaccount/list.do").status_code == 200


def test_rate_limit_in_flight(live_server: Any) -> None:
    box = Sandbox(live_server, limits=RateLimits(per_second=100, in_flight=8))
    box.admin("faults", {"latency_ms": 600})
    box.admin("stats/reset", {})
    barrier = threading.Barrier(9)

    def one(_: int) -> int:
        client = Client(box.data_url)
        headers = client.headers()
        barrier.wait()
        return client.raw("GET", "/accurate/api/glaccount/list.do", headers=headers).status_code

    with ThreadPoolExecutor(9) as pool:
        statuses = list(pool.map(one, range(9)))
    assert sorted(statuses) == [200] * 8 + [429]
    stats = box.admin("stats")
    assert stats["refused_in_flight"] == 1 and stats["max_in_flight_seen"] == 8 and stats["refused_rate"] == 0
    # every call is counted by route and status, the refused one too (the shared harness's counters)
    assert stats["accepted"] == 8 and stats["requests"] == 9 and stats["rate_limited"] == 1
    assert stats["by_endpoint"]["glaccount/list"] == 9 and stats["by_status"] == {"200": 8, "429": 1}


def test_drop_after_commit_and_error_fault(sandbox: Sandbox) -> None:
    sandbox.admin("faults", {"drop_after_commit_next": 1})
    with pytest.raises(requests.exceptions.RequestException):
        sandbox.data.api("customer/save", {"customerNo": "DROP-1", "name": "Drop", "transDate": "01/03/2026"})
    assert sandbox.data.get("customer/detail", customerNo="DROP-1")["d"]["name"] == "Drop"
    sandbox.admin("faults", {"error_rate": 1.0, "error_status": 503})
    failed = sandbox.data.raw("POST", "/accurate/api/customer/save.do", data={"name": "X", "transDate": "01/03/2026"})
    assert failed.status_code == 503 and failed.json()["s"] is False
    sandbox.admin("faults", {})
    assert sandbox.data.get("customer/list", **{"filter.name": "X"})["sp"]["rowCount"] == 0


# ---------------------------------------------------------------- webhooks
class Receiver:
    def __init__(self, start: Any, fail_first: int = 0) -> None:
        self.bodies: list[Any] = []
        self.fail_left = fail_first
        self.lock = threading.Lock()
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> JSONResponse:
            body = json.loads(await request.body())
            with self.lock:
                self.bodies.append(
                    {
                        "body": body,
                        "query": dict(request.query_params),
                        "content_type": request.headers.get("content-type"),
                    }
                )
                if self.fail_left > 0:
                    self.fail_left -= 1
                    return JSONResponse({"error": "try later"}, status_code=500)
            return JSONResponse({"ok": True})

        self.url = start(app).url + "/hook?token=consumer-secret"

    def wait(self, count: int, timeout: float = 5.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.bodies) >= count:
                    return list(self.bodies)
            time.sleep(0.02)
        return list(self.bodies)


PURCHASE = {
    "vendorNo": "V.00001",
    "receiveNumber": "SJ-WH",
    "transDate": "04/03/2026",
    "detailItem": [{"itemNo": "STOK", "quantity": 5, "unitPrice": 1000, "warehouseName": "Utama"}],
}


@pytest.fixture
def hooked(live_server: Any) -> tuple[Sandbox, Any]:
    box = Sandbox(live_server, limits=NO_LIMITS, webhook_backoff_seconds=[0.05])
    box.data.api("item/save", {"no": "STOK", "name": "Stok", "itemType": "INVENTORY"})
    return box, live_server


def test_webhook_on_save_and_simulated_purchase(hooked: tuple[Sandbox, Any]) -> None:
    box, start = hooked
    receiver = Receiver(start)
    registered = box.admin("webhooks", {"url": receiver.url, "types": ["RECEIVE_ITEM"]})
    assert registered["active"] is True and registered["expires_at"] > time.time() + 6.9 * 86400
    saved = box.data.api("receive-item/save", PURCHASE)["r"]
    [call] = receiver.wait(1)
    assert call["query"] == {"token": "consumer-secret"} and call["content_type"] == "application/json"
    [envelope] = call["body"]
    assert envelope["databaseId"] == DEMO_DATABASE_ID and envelope["type"] == "RECEIVE_ITEM"
    assert isinstance(envelope["timestamp"], int) and abs(envelope["timestamp"] / 1000 - time.time()) < 30
    assert len(envelope["uuid"]) == 36
    assert envelope["data"] == [{"receiveItemId": saved["id"], "receiveItemNo": saved["number"], "action": "WRITE"}]

    simulated = box.admin("simulate/purchase", {"lines": [{"itemNo": "STOK", "quantity": 3, "unitPrice": 900}]})
    assert simulated["s"] is True and simulated["r"]["vendorNo"] == "V.00001"
    calls = receiver.wait(2)
    assert calls[1]["body"][0]["data"][0]["receiveItemNo"] == simulated["r"]["number"]
    assert box.data.get("item/get-stock", no="STOK")["d"]["availableStock"] == 8
    refused = box.admin("simulate/purchase", {"lines": [{"itemNo": "NOPE", "quantity": 1, "unitPrice": 1}]})
    assert refused["s"] is False

    deleted = box.data.call("/accurate/api/receive-item/delete.do", method="DELETE", params={"id": saved["id"]})
    assert deleted["s"] is True
    calls = receiver.wait(3)
    assert calls[2]["body"][0]["data"] == [
        {"receiveItemId": saved["id"], "receiveItemNo": saved["number"], "action": "DELETE"}
    ]
    assert box.data.get("item/get-stock", no="STOK")["d"]["availableStock"] == 3
    # invoices are not subscribed: nothing sent
    box.data.api("customer/save", {"customerNo": "W", "name": "W", "transDate": "01/03/2026"})
    time.sleep(0.2)
    assert len(receiver.bodies) == 3


def test_purchase_orders_move_no_stock_and_undocumented_webhook_entries_follow_their_switches(live_server: Any) -> None:
    box = Sandbox(live_server, limits=NO_LIMITS, webhook_numbers="omitted", item_transfer_webhook="per_warehouse")
    box.data.api("item/save", {"no": "STOK", "name": "Stok", "itemType": "INVENTORY"})
    box.data.api("warehouse/save", {"name": "Cabang"})
    receiver = Receiver(live_server)
    box.admin("webhooks", {"url": receiver.url, "types": ["PURCHASE_ORDER", "ITEM_TRANSFER"]})
    order = box.data.api("purchase-order/save", {
        "vendorNo": "V.00001", "transDate": "04/03/2026", "shipDate": "06/03/2026", "branchName": "Kantor Pusat",
        "detailItem": [{"itemNo": "STOK", "quantity": 4, "unitPrice": 1500, "warehouseName": "Cabang"}]})["r"]
    assert (order["number"], order["branchName"], order["totalAmount"]) == ("PO.2026.00001", "Kantor Pusat", 6000)
    assert "warehouseName" not in order["detailItem"][0]  # an order names no warehouse; goods arrive by receive-item
    assert box.data.get("item/get-stock", no="STOK")["d"]["balance"] == 0
    assert box.data.api("purchase-order/save", {"vendorNo": "V.00001", "transDate": "04/03/2026"})["s"] is False
    moved = box.data.api("item-transfer/save", {
        "itemTransferType": "TRANSFER_OUT", "transDate": "04/03/2026", "warehouseName": "Utama",
        "referenceWarehouseName": "Cabang", "detailItem": [{"itemNo": "STOK", "quantity": 1}]})["r"]
    first, second = receiver.wait(2)
    assert first["body"][0]["data"] == [{"purchaseOrderId": order["id"], "action": "WRITE"}]  # ids only
    assert [entry["warehouseId"] for entry in second["body"][0]["data"]] == [
        moved["warehouseId"], moved["referenceWarehouseId"]]  # one entry per warehouse, the same transfer
    assert {(e["itemTransferId"], e["action"], "itemTransferNo" in e) for e in second["body"][0]["data"]} == {
        (moved["id"], "WRITE", False)}
    box.data.call("/accurate/api/purchase-order/delete.do", method="DELETE", params={"id": order["id"]})
    assert receiver.wait(3)[2]["body"][0]["data"] == [{"purchaseOrderId": order["id"], "action": "DELETE"}]


def test_webhook_retries_with_same_uuid(hooked: tuple[Sandbox, Any]) -> None:
    box, start = hooked
    receiver = Receiver(start, fail_first=1)
    box.admin("webhooks", {"url": receiver.url, "types": ["RECEIVE_ITEM"]})
    box.data.api("receive-item/bulk-save", {"data": [PURCHASE]})
    first, second = receiver.wait(2)
    assert first["body"][0]["uuid"] == second["body"][0]["uuid"]
    time.sleep(0.1)
    deliveries = box.admin("webhook-deliveries")
    assert [(row["attempt"], row["status"]) for row in deliveries] == [(1, 500), (2, 200)]
    assert {row["uuid"] for row in deliveries} == {first["body"][0]["uuid"]}


def test_webhook_expires_and_renews(hooked: tuple[Sandbox, Any]) -> None:
    box, start = hooked
    receiver = Receiver(start)
    box.admin("webhooks", {"url": receiver.url, "types": ["RECEIVE_ITEM"]})
    box.admin("clock", {"offset_seconds": 8 * 86400})
    assert box.admin("webhooks")["active"] is False
    assert box.data.api("receive-item/save", PURCHASE)["s"] is True  # auth still uses the real clock
    time.sleep(0.3)
    assert receiver.bodies == [] and box.admin("webhook-deliveries") == []
    renewed = box.account.call("/api/webhook-renew.do", method="GET")
    expected = (datetime.now(WIB) + timedelta(days=15)).strftime("%d/%m/%Y")
    assert renewed == {"s": True, "d": expected}
    assert box.admin("webhooks")["active"] is True
    box.data.api("receive-item/save", PURCHASE)
    assert len(receiver.wait(1)) == 1


# ---------------------------------------------------------------- the spec
def test_served_actions_and_request_shapes_exist_in_the_spec() -> None:
    spec = json.loads(SPEC.read_text())
    paths = spec["paths"]
    for module in MODULES.values():
        for action in module.actions:
            assert f"/api/{module.name}/{action}.do" in paths, (module.name, action)
    assert "/api/webhook-renew.do" in paths

    def schema(path: str) -> dict[str, Any]:
        return paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]

    shapes = {
        "/api/sales-invoice/save.do": invoice(
            "X",
            taxable=True,
            inclusiveTax=False,
            cashDiscount=1,
            branchName="B",
            description="d",
            detailExpense=[{"accountNo": "1", "expenseAmount": 1, "expenseName": "e"}],
        ),
        "/api/receive-item/save.do": PURCHASE,
        "/api/customer/save.do": {"customerNo": "C", "name": "N", "transDate": "01/01/2026"},
        "/api/item/save.do": {"no": "I", "name": "N", "itemType": "INVENTORY", "unitPrice": 1},
        "/api/sales-return/save.do": {
            "customerNo": "C",
            "transDate": "01/01/2026",
            "returnType": "INVOICE",
            "invoiceNumber": "X",
            "number": "R",
            "taxable": False,
            "inclusiveTax": False,
            "detailItem": [{"itemNo": "I", "quantity": 1, "unitPrice": 1, "itemCashDiscount": 0, "useTax1": False,
                            "warehouseName": "W"}],
            "detailExpense": [{"accountNo": "1", "expenseAmount": 1, "expenseName": "e", "expenseNotes": "n"}],
        },
        "/api/other-payment/save.do": {  # the money a refund pays back, as possync sends it
            "number": "R", "transDate": "01/01/2026", "bankNo": "1", "payee": "C", "description": "d",
            "branchName": "B", "detailAccount": [{"accountNo": "1", "amount": 1, "expenseName": "e", "memo": "m"}],
        },
        "/api/sales-receipt/save.do": {
            "customerNo": "C",
            "bankNo": "1",
            "chequeAmount": 1,
            "transDate": "01/01/2026",
            "paymentMethod": "QRIS",
            "number": "N",
            "detailInvoice": [{"invoiceNo": "X", "paymentAmount": 1}],
        },
    }
    for path, body in shapes.items():
        properties = schema(path)["properties"]
        for key, value in body.items():
            assert key in properties, (path, key)
            if isinstance(value, list):
                line_props = properties[key]["items"]["properties"]
                for line in value:
                    assert set(line) <= set(line_props), (path, key, set(line) - set(line_props))
    enum = paths["/api/sales-receipt/save.do"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    from possync_devkit.sandbox.accurate.service import ITEM_TYPES, PAYMENT_METHODS, RETURN_TYPES

    assert set(PAYMENT_METHODS) == set(enum["properties"]["paymentMethod"]["enum"])
    assert set(ITEM_TYPES) == set(schema("/api/item/save.do")["properties"]["itemType"]["enum"])
    assert set(RETURN_TYPES) == set(schema("/api/sales-return/save.do")["properties"]["returnType"]["enum"])
    from possync_devkit.sandbox.accurate.config import ACCOUNT_TYPES, SEED_ACCOUNTS

    assert set(ACCOUNT_TYPES) == set(schema("/api/glaccount/save.do")["properties"]["accountType"]["enum"])
    assert {account_type for _, _, account_type in SEED_ACCOUNTS} <= set(ACCOUNT_TYPES)
    bulk = schema("/api/sales-invoice/bulk-save.do")
    assert (
        "Max: 100" in paths["/api/sales-invoice/bulk-save.do"]["post"]["description"] and "data" in bulk["properties"]
    )


# ---------------------------------------------------------------- persistence, CLI
def test_state_persists_in_the_sqlite_file(tmp_path: Path) -> None:
    from possync_devkit.sandbox.accurate.app import create_state as fresh

    db = str(tmp_path / "accurate.db")
    first = fresh(SandboxConfig(db_path=db))
    body, _ = first.service.save("customer", {"customerNo": "P-1", "name": "Tetap", "transDate": "01/03/2026"})
    first.service.save("item", {"no": "P-I", "name": "Barang", "itemType": "INVENTORY"})
    first.service.save(
        "receive-item",
        {
            "vendorNo": "V.00001",
            "receiveNumber": "X",
            "transDate": "01/03/2026",
            "detailItem": [{"itemNo": "P-I", "quantity": "1.5", "unitPrice": "0.10"}],
        },
    )
    first.set_subscription({"url": "http://127.0.0.1:1/hook", "types": ["RECEIVE_ITEM"], "expires_at": 1.0})
    first.db.close()
    second = fresh(SandboxConfig(db_path=db))
    assert second.service.detail("customer", {"customerNo": "P-1"})["d"]["id"] == body["r"]["id"]
    assert second.service.get_stock({"no": "P-I"})["d"]["availableStock"] == D("1.5")
    assert second.service.detail("receive-item", {"number": "RI.2026.00001"})["d"]["totalAmount"] == D("0.15")
    assert second.subscription()["url"] == "http://127.0.0.1:1/hook"
    assert len(second.service.list("warehouse", {})["d"]) == 1  # seeded once, not again
    second.db.close()


def test_cli_runs_both_hosts(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from possync_devkit.sandbox.accurate.__main__ import build_parser, config_from_args

    config = config_from_args(
        build_parser().parse_args(
            [
                "--token",
                "aat.x:s1",
                "--token",
                "aat.y:s2",
                "--per-second",
                "off",
                "--account",
                "1101.009:Kas Outlet",
                "--db",
                ":memory:",
            ]
        )
    )
    assert config.tokens == {DEMO_API_TOKEN: DEMO_SIGNATURE_SECRET, "aat.x": "s1", "aat.y": "s2"}
    assert config.limits.per_second is None
    assert config.limits.in_flight == 8 and config.extra_accounts == [("1101.009", "Kas Outlet", "CASH_BANK")]

    ports = [free_port(), free_port()]
    include = str(Path(__file__).resolve().parents[2] / "include")
    env = {**os.environ, "PYTHONPATH": include + os.pathsep + os.environ.get("PYTHONPATH", "")}
    args = [
        sys.executable,
        "-m",
        "possync_devkit.sandbox.accurate",
        "--account-port",
        str(ports[0]),
        "--data-port",
        str(ports[1]),
        "--db",
        str(tmp_path / "cli.db"),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        account = Client(f"http://127.0.0.1:{ports[0]}")
        deadline = time.monotonic() + 15
        while True:
            try:
                reply = account.call("/api/api-token.do")
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, "sandbox did not start"
                time.sleep(0.1)
        assert reply["d"]["database"]["host"] == f"http://127.0.0.1:{ports[1]}"
        data = Client(reply["d"]["database"]["host"])
        assert data.get("glaccount/detail", no="1101.001")["d"]["name"] == "Kas"
    finally:
        process.terminate()
        returncode = process.wait(timeout=10)
    assert returncode == 0  # SIGTERM stops both hosts gracefully


@pytest.mark.parametrize("mode", ["exact", "trimmed", "casefold"])
def test_number_match_picks_how_numbers_are_kept_and_matched(live_server: Any, mode: str) -> None:
    """The docs do not say whether Accurate trims numbers or ignores their case: each reading is a switch."""
    api = Sandbox(live_server, limits=NO_LIMITS, number_match=mode).data.api
    assert api("customer/save", {"customerNo": "C-1", "name": "Ani", "transDate": "01/03/2026"})["s"]
    spaced = api("customer/save", {"customerNo": "C-1 ", "name": "Ani 2", "transDate": "01/03/2026"})
    lower = api("customer/save", {"customerNo": "c-1", "name": "Ani 3", "transDate": "01/03/2026"})
    assert spaced["s"] is (mode == "exact"), spaced
    assert lower["s"] is (mode != "casefold"), lower
    if mode == "casefold":
        assert "Sudah ada data lain" in lower["d"][0]
