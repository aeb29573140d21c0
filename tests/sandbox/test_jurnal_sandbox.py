"""The Jurnal sandbox over real HTTP, checked against the documentation (not against possync's client).

The HMAC signing below is written from accounting_apis.md §1.2 on purpose: it shares no code with
possync.targets, so a misreading there cannot pass here by agreeing with itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from possync_devkit.sandbox.jurnal import (
    API_PREFIX,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    FaultConfig,
    RateLimits,
    SandboxConfig,
    create_app,
)
from support.sandbox_admin import SandboxAdmin

from .conftest import LiveServer

NO_LIMITS = RateLimits(per_minute=None, per_hour=None, per_ip_minute=None, per_ip_hour=None)


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def sign(method: str, path_with_query: str, date_header: str, secret: str) -> str:
    signing_string = f"date: {date_header}\n{method} {path_with_query} HTTP/1.1"
    return base64.b64encode(hmac.new(secret.encode(), signing_string.encode(), hashlib.sha256).digest()).decode()


class Jurnal:
    """A minimal, independent Jurnal client: signs, sends, returns the raw response."""

    def __init__(self, base_url: str, client_id: str = DEMO_CLIENT_ID, secret: str = DEMO_CLIENT_SECRET) -> None:
        self.base_url = base_url
        self.client_id = client_id
        self.secret = secret
        self.session = requests.Session()
        self.admin = SandboxAdmin(base_url, timeout=5)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        date_header: str | None = None,
        digest: str | None = None,
        omit_digest: bool = False,
        signed_path: str | None = None,
        secret: str | None = None,
    ) -> requests.Response:
        path_with_query = API_PREFIX + path + (f"?{urlencode(params)}" if params else "")
        date_header = date_header or http_date(datetime.now(UTC))
        signature = sign(method, signed_path or path_with_query, date_header, secret or self.secret)
        headers = {
            "Date": date_header,
            "Authorization": f'hmac username="{self.client_id}", algorithm="hmac-sha256", '
            f'headers="date request-line", signature="{signature}"',
            "Accept": "application/json",
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method in ("POST", "PUT", "PATCH", "DELETE") and not omit_digest:
            headers["Digest"] = digest or "SHA-256=" + base64.b64encode(hashlib.sha256(data or b"").digest()).decode()
        return self.session.request(method, self.base_url + path_with_query, data=data, headers=headers, timeout=10)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def created(self, path: str, envelope: str, document: dict[str, Any]) -> dict[str, Any]:
        response = self.post(path, {envelope: document})
        assert response.status_code == 201, response.text
        return response.json()[envelope]


@pytest.fixture(scope="module")
def server(module_live_server: Callable[[Any], LiveServer]) -> LiveServer:
    config = SandboxConfig(limits=NO_LIMITS, taxes={"PPN": "11", "PPN 10": "10"}, accounts=["Kas Outlet Senayan"])
    return module_live_server(create_app(config))


@pytest.fixture(scope="module")
def jurnal(server: LiveServer) -> Jurnal:
    return Jurnal(server.url)


_counter = iter(range(1, 1_000_000))


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter):04d}"


@pytest.fixture(scope="module")
def catalog(jurnal: Jurnal) -> dict[str, Any]:
    """A customer and three products every invoice test can use."""
    customer = jurnal.created("/customers", "customer", {"display_name": "Budi Santoso", "custom_id": "POS-C-1"})
    products = {
        code: jurnal.created(
            "/products",
            "product",
            {"name": name, "product_code": code, "unit_name": "Pcs", "sell_price_per_unit": price, "custom_id": code},
        )
        for code, name, price in (
            ("KOPI-1", "Kopi Susu", "25000"),
            ("ROTI-1", "Roti Bakar", 40000),
            ("AIR-1", "Air Mineral", "15000.00"),
        )
    }
    return {"customer": customer, "products": products}


def invoice_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "transaction_date": "2024-03-15",
        "person_name": "Budi Santoso",
        "transaction_no": unique("INV"),
        "transaction_lines_attributes": [{"product_code": "KOPI-1", "quantity": 2, "rate": 50000}],
    }
    doc.update(overrides)
    return doc


# ---------------------------------------------------------------------------------------------- auth


def test_signed_request_is_accepted(jurnal: Jurnal) -> None:
    response = jurnal.get("/warehouses")
    assert response.status_code == 200, response.text
    names = [w["name"] for w in response.json()["warehouses"]]
    assert "Unassigned" in names
    assert jurnal.get("/warehouses/-1").json()["warehouse"]["name"] == "Unassigned"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bad_signature", "signature does not match"),
        ("stale_date", "away from the server clock"),
        ("future_date", "away from the server clock"),
        ("missing_digest", "Digest header is missing"),
        ("wrong_digest", "Digest header does not match"),
        ("unknown_client", "Unknown HMAC username"),
        ("query_not_signed", "signature does not match"),
    ],
)
def test_requests_failing_a_check_are_refused_with_401(jurnal: Jurnal, case: str, expected: str) -> None:
    body = {"customer": {"display_name": unique("never-created")}}
    now = datetime.now(UTC)
    if case == "bad_signature":
        response = jurnal.post("/customers", body, secret="wrong-secret")
    elif case == "stale_date":
        response = jurnal.post("/customers", body, date_header=http_date(now - timedelta(seconds=400)))
    elif case == "future_date":
        response = jurnal.post("/customers", body, date_header=http_date(now + timedelta(seconds=400)))
    elif case == "missing_digest":
        response = jurnal.post("/customers", body, omit_digest=True)
    elif case == "wrong_digest":
        response = jurnal.post("/customers", body, digest="SHA-256=" + base64.b64encode(b"x" * 32).decode())
    elif case == "unknown_client":
        response = Jurnal(jurnal.base_url, client_id="nobody", secret="whatever").post("/customers", body)
    else:
        response = jurnal.get("/customers", params={"page": 2}, signed_path=API_PREFIX + "/customers")
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "Unauthorized"
    assert expected in response.json()["message"]
    listed = jurnal.get("/customers", params={"display_name": body["customer"]["display_name"]}).json()
    assert listed["total_count"] == 0


def test_date_within_the_allowed_skew_is_accepted(jurnal: Jurnal) -> None:
    old = http_date(datetime.now(UTC) - timedelta(seconds=250))
    assert jurnal.get("/customers", date_header=old).status_code == 200


# ---------------------------------------------------------------------------------------------- create, get, list


def test_create_get_and_paginate_customers(jurnal: Jurnal) -> None:
    tag = unique("Pelanggan")
    ids = [jurnal.created("/customers", "customer", {"display_name": f"{tag} {n}"})["id"] for n in range(5)]
    fetched = jurnal.get(f"/customers/{ids[0]}")
    assert fetched.status_code == 200
    assert fetched.json()["customer"]["display_name"] == f"{tag} 0"

    page = jurnal.get("/customers", params={"page": 2, "page_size": 2, "sort_key": "id", "sort_order": "asc"}).json()
    total = page["total_count"]
    assert total >= 5
    assert page["current_page"] == 2
    assert page["total_pages"] == -(-total // 2)
    assert len(page["customers"]) == 2
    assert "page=1" in page["links"]["prev_link"] and "page=3" in page["links"]["next_link"]

    everyone: list[int] = []
    for number in range(1, page["total_pages"] + 1):
        chunk = jurnal.get("/customers", params={"page": number, "page_size": 2, "sort_key": "id", "sort_order": "asc"})
        everyone += [c["id"] for c in chunk.json()["customers"]]
    assert everyone == sorted(everyone) and set(ids) <= set(everyone) and len(everyone) == total


def test_page_size_is_capped(jurnal: Jurnal) -> None:
    for n in range(3):
        jurnal.created("/warehouses", "warehouse", {"name": unique(f"Gudang {n}"), "code": unique("G")})
    listed = jurnal.get("/warehouses", params={"page_size": 5000}).json()
    assert listed["total_pages"] == 1 and len(listed["warehouses"]) == listed["total_count"]


def test_invoice_list_filters_on_transaction_date(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    tag = unique("DATE")
    for when in ("2023-02-01", "15/02/2023", "01-03-2023"):
        jurnal.created("/sales_invoices", "sales_invoice", invoice_doc(transaction_date=when, memo=tag))
    february = jurnal.get("/sales_invoices", params={"start_date": "01/02/2023", "end_date": "28/02/2023"}).json()
    assert sorted(i["transaction_date"] for i in february["sales_invoices"]) == ["01/02/2023", "15/02/2023"]
    from_mid_feb = jurnal.get("/sales_invoices", params={"start_date": "10-02-2023", "end_date": "31-03-2023"}).json()
    assert [i["transaction_date"] for i in from_mid_feb["sales_invoices"]] == ["01/03/2023", "15/02/2023"]
    refused = jurnal.get("/sales_invoices", params={"start_date": "2023-02-01"})
    assert refused.status_code == 400 and "dd/mm/yyyy" in refused.json()["error"]


def test_product_list_filters_on_created_date(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    wib_today = (datetime.now(UTC) + timedelta(hours=7)).date()
    tomorrow = (wib_today + timedelta(days=1)).strftime("%d/%m/%Y")
    today = wib_today.strftime("%d/%m/%Y")
    assert jurnal.get("/products", params={"created_start_date": today}).json()["total_count"] >= 3
    assert jurnal.get("/products", params={"created_start_date": tomorrow}).json()["total_count"] == 0
    assert jurnal.get("/products", params={"updated_end_date": today}).json()["total_count"] >= 3


def test_records_are_found_by_their_keys(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    product = catalog["products"]["ROTI-1"]
    assert jurnal.get("/products/ROTI-1").json()["product"]["id"] == product["id"]
    assert jurnal.get(f"/products/{product['id']}").json()["product"]["product_code"] == "ROTI-1"
    # customers/{id} and sales_invoices/{id} are documented as "ID" only.
    missing = jurnal.get("/customers/POS-C-1")
    assert missing.status_code == 404 and missing.json() == {"error": "Customer not found"}
    invoice = jurnal.created("/sales_invoices", "sales_invoice", invoice_doc(custom_id=unique("pos-sale")))
    assert jurnal.get(f"/sales_invoices/{invoice['custom_id']}").status_code == 404
    # Sandbox convenience filters (not in the swagger).
    found = jurnal.get("/sales_invoices", params={"transaction_no": invoice["transaction_no"]}).json()
    assert [i["id"] for i in found["sales_invoices"]] == [invoice["id"]]
    assert jurnal.get("/products", params={"product_code": "AIR-1"}).json()["products"][0]["name"] == "Air Mineral"


def test_product_rules(jurnal: Jurnal) -> None:
    missing = jurnal.post("/products", {"product": {"name": "Gula"}})
    assert missing.status_code == 422
    assert missing.json()["error_full_messages"] == ["Unit name can't be blank", "Product code can't be blank"]
    tracked = {"name": "Gula Aren", "product_code": unique("GULA"), "unit_name": "Kg", "track_inventory": "true"}
    untracked_account = jurnal.post("/products", {"product": tracked})
    assert untracked_account.json()["inventory_asset_account"] == "can't be blank"
    ok = jurnal.post("/products", {"product": tracked | {"inventory_asset_account_name": "Persediaan Barang"}})
    assert ok.status_code == 201, ok.text
    assert ok.json()["product"]["inventory_asset_account"]["number"] == "1-10200"


def test_concurrent_duplicates_create_one_record(jurnal: Jurnal) -> None:
    body = {"customer": {"display_name": unique("Race"), "custom_id": unique("RACE")}}

    def attempt(_: int) -> int:
        return Jurnal(jurnal.base_url).post("/customers", body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))
    assert statuses == [201] + [422] * 7


def test_documented_alternatives_can_be_switched_on(live_server: Callable[[Any], LiveServer]) -> None:
    config = SandboxConfig(limits=NO_LIMITS, key_filters=False, not_found_status=422)
    jurnal = Jurnal(live_server(create_app(config)).url)
    for name in ("Ani", "Budi"):
        jurnal.created("/customers", "customer", {"display_name": name, "custom_id": name.upper()})
    # Without the sandbox-only filters an unknown parameter is ignored, as the real API would.
    assert jurnal.get("/customers", params={"custom_id": "ANI"}).json()["total_count"] == 2
    missing = jurnal.get("/customers/999999")
    assert (missing.status_code, missing.json()) == (422, {"errors": "Data not found."})


# ---------------------------------------------------------------------------------------------- batches


def test_batch_create_is_per_item(jurnal: Jurnal) -> None:
    names = [unique("Batch"), unique("Batch")]
    body = {
        "customers": [
            {"customer": {"display_name": names[0], "custom_id": unique("C")}},
            {"customer": {"email": "no-name@example.com"}},
            {"customer": {"display_name": names[1]}},
        ]
    }
    response = jurnal.post("/customers/batch_create", body)
    assert response.status_code == 200, response.text
    results = [item["customer"] for item in response.json()["customers"]]
    assert [r["status"] for r in results] == [201, 422, 201]
    assert results[0]["content"]["display_name"] == names[0]
    assert results[1]["content"] == {
        "display_name": "can't be blank",
        "id": None,
        "error_full_messages": ["Display name can't be blank"],
    }
    for name, result in zip(names, (results[0], results[2]), strict=True):
        assert jurnal.get(f"/customers/{result['content']['id']}").json()["customer"]["display_name"] == name


def test_sales_invoice_batch_answers_201_with_per_item_results(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    docs = [invoice_doc(), invoice_doc(person_name="Nobody Here"), invoice_doc()]
    response = jurnal.post("/sales_invoices/batch_create", {"sales_invoices": [{"sales_invoice": d} for d in docs]})
    assert response.status_code == 201
    results = [item["sales_invoice"] for item in response.json()["sales_invoices"]]
    assert [r["status"] for r in results] == [201, 422, 201]
    assert results[1]["content"]["person"] == "(Customer with person_name 'Nobody Here' was not found.)"
    created = jurnal.get("/sales_invoices", params={"transaction_no": docs[2]["transaction_no"]}).json()
    assert created["total_count"] == 1


def test_batch_over_100_items_is_refused_whole(jurnal: Jurnal) -> None:
    tag = unique("TooMany")
    body = {"customers": [{"customer": {"display_name": f"{tag} {n}"}} for n in range(101)]}
    response = jurnal.post("/customers/batch_create", body)
    assert response.status_code == 422
    assert "up to 100" in response.json()["customers"]
    assert jurnal.get("/customers", params={"display_name": f"{tag} 0"}).json()["total_count"] == 0


# ---------------------------------------------------------------------------------------------- business rules


def number_and_custom_id_taken(existing_id: int) -> dict[str, Any]:
    """Jurnal's 422 body for a document whose transaction number and custom_id are both taken by ``existing_id``."""
    return {
        "transaction_no": "(Transaction number had already been used)",
        "custom_id": "(Custom id attribute had already been used.)",
        "id": existing_id,
        "error_full_messages": [
            "Transaction no (Transaction number had already been used)",
            "Custom (Custom id attribute had already been used.)",
        ],
    }


def test_duplicate_transaction_no_and_custom_id_name_the_existing_record(
    jurnal: Jurnal, catalog: dict[str, Any]
) -> None:
    doc = invoice_doc(custom_id=unique("sale"))
    first = jurnal.created("/sales_invoices", "sales_invoice", doc)
    again = jurnal.post("/sales_invoices", {"sales_invoice": doc})
    assert again.status_code == 422
    assert again.json() == number_and_custom_id_taken(first["id"])
    product = jurnal.post("/products", {"product": {"name": "Kopi Lagi", "product_code": "KOPI-1", "unit_name": "Pcs"}})
    assert product.status_code == 422
    assert product.json()["product_code"] == "(Product code had already been used.)"
    assert product.json()["id"] == catalog["products"]["KOPI-1"]["id"]
    customer = jurnal.post("/customers", {"customer": {"display_name": "budi santoso"}})
    assert customer.status_code == 422
    assert customer.json()["display_name"] == "(Display name had already been used.)"
    assert customer.json()["id"] == catalog["customer"]["id"]


def test_unknown_references_are_named(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    bad_product = jurnal.post(
        "/sales_invoices",
        {
            "sales_invoice": invoice_doc(
                transaction_lines_attributes=[
                    {"product_code": "KOPI-1", "quantity": 1},
                    {"product_code": "GHOST-9", "quantity": 1},
                ]
            )
        },
    )
    assert bad_product.status_code == 422
    assert bad_product.json()["product"] == "(Product with product_code 'GHOST-9' was not found (line 2).)"
    assert bad_product.json()["transaction_lines"] == "is not valid"
    assert bad_product.json()["id"] is None

    bad_customer = jurnal.post("/sales_invoices", {"sales_invoice": invoice_doc(person_name="Siti")})
    assert bad_customer.json()["person"] == "(Customer with person_name 'Siti' was not found.)"

    bad_warehouse = jurnal.post("/sales_invoices", {"sales_invoice": invoice_doc(warehouse_name="Gudang Mars")})
    assert bad_warehouse.json()["warehouse"] == "(Warehouse with warehouse_name 'Gudang Mars' was not found.)"

    missing = jurnal.post("/sales_invoices", {"sales_invoice": {"transaction_lines_attributes": []}})
    assert missing.status_code == 422
    assert {"transaction_date", "person", "transaction_lines_attributes"} <= set(missing.json())


def test_payments_settle_invoices_and_may_not_exceed_remaining(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    invoice = jurnal.created("/sales_invoices", "sales_invoice", invoice_doc())  # 2 x 50,000
    assert invoice["remaining"] == "100000.0"
    assert invoice["transaction_status"]["name"] in ("Open", "Overdue")

    def pay(amount: Any, **extra: Any) -> requests.Response:
        doc = {
            "transaction_date": "2024-03-16",
            "records_attributes": [{"transaction_no": invoice["transaction_no"], "amount": amount}],
            "payment_method_name": "QRIS",
            **extra,
        }
        return jurnal.post("/receive_payments", {"receive_payment": doc})

    first = pay("60000", custom_id=unique("pay"), deposit_to_name="Kas Outlet Senayan")
    assert first.status_code == 201, first.text
    payment = first.json()["receive_payment"]
    assert payment["payment_method"]["name"] == "QRIS"  # created on the fly
    assert payment["deposit_to"]["name"] == "Kas Outlet Senayan"
    assert payment["records"][0]["transaction_balance_due"] == 40000
    assert jurnal.get(f"/receive_payments/{payment['custom_id']}").json()["receive_payment"]["id"] == payment["id"]
    after_first = jurnal.get(f"/sales_invoices/{invoice['id']}").json()["sales_invoice"]
    assert (after_first["remaining"], after_first["transaction_status"]["name"]) == ("40000.0", "Partial")
    assert after_first["amount_receive"] == after_first["payment_received_amount"] == "60000.0"

    too_much = pay(50000)
    assert too_much.status_code == 422
    assert too_much.json()["amount_receive"] == "(Value received cannot be greater than remaining balance.)"

    no_method = jurnal.post(
        "/receive_payments",
        {
            "receive_payment": {
                "transaction_date": "2024-03-16",
                "records_attributes": [{"transaction_no": invoice["transaction_no"], "amount": 1}],
            }
        },
    )
    assert no_method.status_code == 422 and "payment_method" in no_method.json()

    assert pay(40000).status_code == 201
    settled = jurnal.get(f"/sales_invoices/{invoice['id']}").json()["sales_invoice"]
    assert (settled["remaining"], settled["transaction_status"]["name"]) == ("0.0", "Paid")
    history = jurnal.get(f"/sales_invoices/{invoice['id']}/receive_payments").json()
    assert history["total_count"] == 2
    assert sorted(p["total"] for p in history["receive_payments"]) == [40000, 60000]


def test_returns_are_limited_to_what_was_sold(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    invoice = jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        invoice_doc(
            transaction_lines_attributes=[
                {"product_code": "KOPI-1", "quantity": 2, "rate": 25000},
                {"product_name": "roti bakar", "quantity": 1, "rate": 40000},
            ]
        ),
    )

    def give_back(lines: list[dict[str, Any]], **extra: Any) -> requests.Response:
        doc = {
            "transaction_date": "16/03/2024",
            "invoice_no": invoice["transaction_no"],
            "transaction_return_lines_attributes": lines,
            **extra,
        }
        return jurnal.post("/sales_returns", {"sales_return": doc})

    kopi_id = catalog["products"]["KOPI-1"]["id"]
    over = give_back([{"product_id": kopi_id, "return_quantity": 3}])
    assert over.status_code == 422
    assert over.json()["return_quantity"].startswith("(Return quantity 3.0 of 'Kopi Susu' is greater than")
    assert over.json()["transaction_return_lines"] == "is not valid"

    not_sold = give_back([{"product_name": "Air Mineral", "return_quantity": 1}])
    assert not_sold.status_code == 422 and "does not match a line of invoice" in not_sold.json()["product"]

    ok = give_back([{"product_id": kopi_id, "return_quantity": 1}], custom_id=unique("ret"))
    assert ok.status_code == 201, ok.text
    returned = ok.json()["sales_return"]
    assert returned["return_amount"] == 25000 and returned["invoice_id"] == invoice["id"]
    assert jurnal.get(f"/sales_returns/{returned['custom_id']}").status_code == 200
    after = jurnal.get(f"/sales_invoices/{invoice['id']}").json()["sales_invoice"]
    assert after["remaining"] == "65000.0"
    assert [line["has_return_line"] for line in after["transaction_lines_attributes"]] == [True, False]

    line_id = after["transaction_lines_attributes"][0]["id"]
    second = give_back([{"transaction_line_id": line_id, "return_quantity": 2}])
    assert second.status_code == 422 and "can still be returned: 1.0" in second.json()["return_quantity"]


def test_a_bank_withdrawal_pays_money_out_of_a_cash_account_keyed_like_the_swagger(
        jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    key = unique("BW")
    doc = {  # the swagger's example, plus a credit line as the reply's lines show them
        "refund_from_name": "Kas", "person_name": "Budi Santoso", "transaction_date": "15-06-2016",
        "transaction_no": key, "memo": "memo goes here", "custom_id": key,
        "transaction_account_lines_attributes": [
            {"account_name": "Piutang Usaha", "description": "memo goes here", "debit": 300000},
            {"account_name": "Retur Penjualan", "credit": "0.01"},
        ],
    }
    made = jurnal.created("/bank_withdrawals", "bank_withdrawal", doc)
    assert str(made["original_amount"]) == "299999.99" and made["transaction_date"] == "15/06/2016"
    assert made["refund_from"]["name"] == "Cash" and made["person"]["name"] == "Budi Santoso"
    assert [(line["debit"], line["credit"]) for line in made["transaction_account_lines"]] == [(300000, 0), (0, 0.01)]
    assert jurnal.get(f"/bank_withdrawals/{key}").json()["bank_withdrawal"]["id"] == made["id"]  # ID or Custom ID

    again = jurnal.post("/bank_withdrawals", {"bank_withdrawal": doc})
    assert again.status_code == 422 and again.json()["id"] == made["id"]
    assert again.json()["custom_id"] == "(Custom id attribute had already been used.)"

    not_cash = jurnal.post("/bank_withdrawals", {"bank_withdrawal": {**doc, "transaction_no": None,
                                                                     "custom_id": None, "refund_from_name": "Sales"}})
    assert not_cash.status_code == 422 and "is not a Cash & Bank account" in not_cash.json()["refund_from"]
    nothing = jurnal.post("/bank_withdrawals", {"bank_withdrawal": {
        **doc, "transaction_no": None, "custom_id": None,
        "transaction_account_lines_attributes": [{"account_name": "Kas", "credit": 5}]}})
    assert nothing.status_code == 422 and "must total more than 0" in nothing.json()["transaction_account_lines"]


@pytest.mark.parametrize("dedup", ["transaction_no", "none"])
def test_return_keys_are_kept_or_ignored_as_the_switch_says(
        dedup: str, live_server: Callable[[Any], LiveServer]) -> None:
    client = Jurnal(live_server(create_app(SandboxConfig(limits=NO_LIMITS, return_dedup=dedup))).url)
    client.created("/customers", "customer", {"display_name": "Sari"})
    client.created("/products", "product", {"name": "Teh", "product_code": "TEH", "unit_name": "Pcs"})
    invoice = client.created("/sales_invoices", "sales_invoice", {
        "transaction_date": "2024-03-15", "person_name": "Sari", "transaction_no": "INV-1",
        "transaction_lines_attributes": [{"product_code": "TEH", "quantity": 2, "rate": 5000}]})
    doc = {"transaction_date": "16/03/2024", "invoice_no": "INV-1", "transaction_no": "RF-1", "memo": "POS refund RF-1",
           "transaction_return_lines_attributes": [{"product_name": "Teh", "return_quantity": 1}]}
    first = client.created("/sales_returns", "sales_return", doc)
    second = client.post("/sales_returns", {"sales_return": doc})
    if dedup == "transaction_no":
        assert first["transaction_no"] == "RF-1"
        assert second.status_code == 422 and second.json()["id"] == first["id"]
    else:  # ignored as an undocumented attribute: numbered by Jurnal, and a repeat is a second return
        assert first["transaction_no"] == "10001" and second.status_code == 201
        listed = client.get(f"/sales_invoices/{invoice['id']}").json()["sales_invoice"]["sales_returns"]
        assert len(listed) == 2


# ---------------------------------------------------------------------------------------------- amounts


def _amounts(invoice: dict[str, Any]) -> dict[str, Any]:
    keys = ("subtotal", "discount_per_lines", "discount_price", "tax_amount", "original_amount", "remaining")
    return {key: invoice[key] for key in keys}


AMOUNT_LINES = [
    {"product_code": "KOPI-1", "quantity": 3, "rate": "25000", "discount": 10, "line_tax_name": "PPN"},
    {"product_code": "ROTI-1", "quantity": 2, "rate": 40000, "line_tax_name": "ppn"},
    {"product_code": "AIR-1", "quantity": 1},  # rate from the product, no tax
]


def test_amounts_with_line_discount_value_discount_and_exclusive_ppn(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    # Lines 67,500 (75,000 less 10 %) + 80,000 + 15,000 = 162,500. Value discount 16,250 spread pro rata:
    # taxed bases 60,750 + 72,000 = 132,750; PPN 11 % = 14,602.50; total 162,500 - 16,250 + 14,602.50.
    invoice = jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        invoice_doc(
            transaction_lines_attributes=AMOUNT_LINES,
            discount_type_name="Value",
            discount_unit="16250",
        ),
    )
    assert _amounts(invoice) == {
        "subtotal": "170000.0",
        "discount_per_lines": "7500.0",
        "discount_price": "16250.0",
        "tax_amount": "14602.5",
        "original_amount": "160852.5",
        "remaining": "160852.5",
    }
    assert invoice["original_amount_currency_format"] == "Rp.  160.852,50"
    assert [line["amount"] for line in invoice["transaction_lines_attributes"]] == ["67500.0", "80000.0", "15000.0"]
    assert invoice["tax_details"] == [
        {"name": "PPN 11.0%", "tax_amount": 14602.5, "tax_amount_currency_format": "Rp.  14.602,50"}
    ]


def test_amounts_with_inclusive_ppn(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    # Same lines, prices include PPN: tax = 132,750 x 11 / 111 = 13,155.41; the total is not grossed up.
    invoice = jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        invoice_doc(
            transaction_lines_attributes=AMOUNT_LINES,
            discount_type_name="Value",
            discount_unit=16250,
            use_tax_inclusive=True,
        ),
    )
    assert _amounts(invoice) == {
        "subtotal": "170000.0",
        "discount_per_lines": "7500.0",
        "discount_price": "16250.0",
        "tax_amount": "13155.41",
        "original_amount": "146250.0",
        "remaining": "146250.0",
    }


def test_amounts_with_tax_before_discount(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    # tax_after_discount false: PPN on 67,500 + 80,000 = 147,500 -> 16,225.
    invoice = jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        invoice_doc(
            transaction_lines_attributes=AMOUNT_LINES,
            discount_type_name="Value",
            discount_unit=16250,
            tax_after_discount=False,
        ),
    )
    assert (invoice["tax_amount"], invoice["original_amount"]) == ("16225.0", "162475.0")


def test_swagger_worked_examples_are_reproduced(jurnal: Jurnal, catalog: dict[str, Any]) -> None:
    penjualan = {"name": "Penjualan", "product_code": "PJ-1", "unit_name": "Buah"}
    jurnal.created("/products", "product", penjualan)
    line = {"quantity": 1, "rate": 12000000, "discount": 10, "product_name": "Penjualan", "line_tax_name": "ppn 10"}
    common = {
        "discount_unit": 10,
        "discount_type_name": "percent",
        "witholding_value": 10,
        "witholding_type": "percent",
        "witholding_account_name": "Kas",
        "tax_after_discount": True,
    }
    # POST /sales_invoices/batch_create example: shipping 10,000.
    batch_example = jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        invoice_doc(transaction_lines_attributes=[line], shipping_price=10000, **common),
    )
    assert (batch_example["original_amount"], batch_example["remaining"]) == ("10702000.0", "9730000.0")
    assert (batch_example["subtotal"], batch_example["discount_per_lines"]) == ("12000000.0", "1200000.0")
    assert (batch_example["discount_price"], batch_example["tax_amount"]) == ("1080000.0", "972000.0")
    assert batch_example["witholding_amount"] == 972000
    # POST /sales_invoices example: deposit 30,000 to "Kas".
    post_example = jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        invoice_doc(
            transaction_lines_attributes=[line], shipping_price=0, deposit=30000, deposit_to_name="Kas", **common
        ),
    )
    assert (post_example["original_amount"], post_example["remaining"]) == ("10692000.0", "9690000.0")
    assert (post_example["amount_receive"], post_example["transaction_status"]["name"]) == ("30000.0", "Partial")
    # POST /sales_returns example: one of 100 returned from an untaxed line.
    untaxed = {k: v for k, v in line.items() if k != "line_tax_name"} | {"quantity": 100}
    invoice = jurnal.created(
        "/sales_invoices", "sales_invoice", invoice_doc(transaction_lines_attributes=[untaxed], **common)
    )
    returned = jurnal.created(
        "/sales_returns",
        "sales_return",
        {
            "transaction_date": "21-04-2018",
            "invoice_id": invoice["id"],
            "invoice_no": invoice["transaction_no"],
            "transaction_return_lines_attributes": [{"product_name": "Penjualan", "return_quantity": 1}],
        },
    )
    assert (returned["discount_lines"], returned["discount_whole"]) == (1200000, 1080000)
    assert (returned["returned_witholding_amount"], returned["return_amount"]) == (972000, 8748000)


# ---------------------------------------------------------------------------------------------- rate limits


def _away_from_minute_boundary(margin: float = 3.0) -> None:
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.1)


def test_rate_limit_per_minute(live_server: Callable[[Any], LiveServer]) -> None:
    limits = RateLimits(per_minute=5, per_hour=1000, per_ip_minute=None, per_ip_hour=None)
    jurnal = Jurnal(live_server(create_app(SandboxConfig(limits=limits))).url)
    _away_from_minute_boundary()
    batch = jurnal.post(
        "/customers/batch_create", {"customers": [{"customer": {"display_name": f"Rate {n}"}} for n in range(3)]}
    )
    assert batch.status_code == 200
    assert batch.headers["x-ratelimit-remaining-minute"] == "4"  # a batch call counts once
    for expected_left in ("3", "2", "1", "0"):
        response = jurnal.get("/customers")
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit-minute"] == "5"
        assert response.headers["x-ratelimit-limit-hour"] == "1000"
        assert response.headers["x-ratelimit-remaining-minute"] == expected_left
    sixth = jurnal.get("/customers")
    assert sixth.status_code == 429
    assert sixth.json() == {"message": "API rate limit exceeded"}
    assert 1 <= int(sixth.headers["Retry-After"]) <= 60
    assert sixth.headers["x-ratelimit-remaining-minute"] == "0"
    assert sixth.headers["x-ratelimit-remaining-hour"] == "995"
    stats = jurnal.admin.stats()
    assert stats["rate_limited"] == 1 and stats["by_endpoint"]["GET /customers"] == 5


# ---------------------------------------------------------------------------------------------- persistence


def test_documents_survive_a_restart(live_server: Callable[[Any], LiveServer], tmp_path: Any) -> None:
    config = SandboxConfig(db_path=str(tmp_path / "jurnal.db"), limits=NO_LIMITS)
    first = live_server(create_app(config))
    jurnal = Jurnal(first.url)
    jurnal.created("/customers", "customer", {"display_name": "Ani"})
    jurnal.created("/products", "product", {"name": "Teh", "product_code": "TEH", "unit_name": "Gelas"})
    invoice = jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        {
            "transaction_date": "2024-01-05",
            "person_name": "Ani",
            "transaction_lines_attributes": [{"product_code": "TEH", "quantity": 3, "rate": 7000}],
        },
    )
    assert invoice["transaction_no"] == "10001"
    first.stop()

    jurnal = Jurnal(live_server(create_app(config)).url)
    again = jurnal.get(f"/sales_invoices/{invoice['id']}").json()["sales_invoice"]
    assert (again["transaction_no"], again["original_amount"]) == ("10001", "21000.0")
    assert jurnal.get("/warehouses/-1").status_code == 200
    assert jurnal.post("/customers", {"customer": {"display_name": "Ani"}}).status_code == 422
    following = jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        {
            "transaction_date": "2024-01-06",
            "person_name": "Ani",
            "transaction_lines_attributes": [{"product_code": "TEH"}],
        },
    )
    assert following["transaction_no"] == "10002" and following["id"] > invoice["id"]


# ---------------------------------------------------------------------------------------------- faults


@pytest.fixture
def faulty(live_server: Callable[[Any], LiveServer]) -> Iterator[Jurnal]:
    yield Jurnal(live_server(create_app(SandboxConfig(limits=NO_LIMITS))).url)


def test_error_faults_answer_before_writing(faulty: Jurnal) -> None:
    faulty.admin.faults({"error_rate": 1.0, "error_status": 503, "seed": 1})
    response = faulty.post("/customers", {"customer": {"display_name": "Never"}})
    assert response.status_code == 503
    assert response.json()["error"] == "Service Unavailable"
    faulty.admin.faults({})
    assert faulty.get("/customers").json()["total_count"] == 0
    stats = faulty.admin.stats()
    assert stats["faults_injected"] == 1


def test_some_requests_fail_at_the_configured_rate(live_server: Callable[[Any], LiveServer]) -> None:
    faults = FaultConfig(error_rate=0.5, error_status=[500, 502], seed=7)
    jurnal = Jurnal(live_server(create_app(SandboxConfig(limits=NO_LIMITS, faults=faults))).url)
    statuses = [jurnal.get("/warehouses").status_code for _ in range(40)]
    assert set(statuses) == {200, 500, 502}
    assert 10 <= statuses.count(200) <= 30


def test_drop_after_commit_loses_the_reply_but_keeps_the_document(faulty: Jurnal) -> None:
    faulty.admin.faults({"drop_after_commit_next": 1})
    body = {"customer": {"display_name": "Dewi", "custom_id": "POS-C-77"}}
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        faulty.post("/customers", body)
    # The documented recovery: the retry is refused as a duplicate naming the record that was created.
    retry = faulty.post("/customers", body)
    assert retry.status_code == 422
    assert retry.json()["custom_id"] == "(Custom id attribute had already been used.)"
    created = faulty.get(f"/customers/{retry.json()['id']}")
    assert created.status_code == 200 and created.json()["customer"]["custom_id"] == "POS-C-77"
    assert faulty.get("/customers").json()["total_count"] == 1
    stats = faulty.admin.stats()
    assert stats["drops"] == 1


def test_reset_empties_the_sandbox_but_keeps_the_seed(faulty: Jurnal) -> None:
    faulty.created("/customers", "customer", {"display_name": "Temporary"})
    assert faulty.admin.reset()["reset"] == [
        "data",
        "stats",
        "faults",
        "limits",
    ]
    assert faulty.get("/customers").json()["total_count"] == 0
    assert faulty.get("/warehouses/-1").status_code == 200
    # The name is free again, and the seeded PPN is back.
    faulty.created("/customers", "customer", {"display_name": "Temporary"})
    faulty.created("/products", "product", {"name": "Es Teh", "product_code": "ET", "unit_name": "Gelas"})
    invoice = faulty.created(
        "/sales_invoices",
        "sales_invoice",
        {
            "transaction_date": "2024-01-06",
            "person_name": "Temporary",
            "transaction_lines_attributes": [{"product_code": "ET", "rate": 10000, "line_tax_name": "PPN"}],
        },
    )
    assert invoice["original_amount"] == "11100.0"


@pytest.mark.parametrize("mode", ["exact", "trimmed", "casefold"])
def test_number_match_picks_how_keys_are_kept_and_matched(live_server: Callable[[Any], LiveServer],
                                                          mode: str) -> None:
    """The docs do not say whether Jurnal trims keys or ignores their case: each reading is a switch."""
    jurnal = Jurnal(live_server(create_app(SandboxConfig(limits=NO_LIMITS, number_match=mode))).url)
    first = jurnal.created("/customers", "customer", {"display_name": "Ani", "custom_id": "POS-1"})
    spaced = jurnal.post("/customers", {"customer": {"display_name": "Ani 2", "custom_id": "POS-1 "}})
    lower = jurnal.post("/customers", {"customer": {"display_name": "Ani 3", "custom_id": "pos-1"}})
    if mode == "exact":
        assert spaced.status_code == 201 and spaced.json()["customer"]["custom_id"] == "POS-1 "
    else:
        assert spaced.status_code == 422 and spaced.json()["id"] == first["id"]
    if mode == "casefold":
        assert lower.status_code == 422 and lower.json()["id"] == first["id"]
    else:
        assert lower.status_code == 201 and lower.json()["customer"]["custom_id"] == "pos-1"
