"""Stock in the Jurnal sandbox over real HTTP: warehouse transfers, stock adjustments and counts, invoices and
returns moving stock, and the SCM quantity-per-warehouse endpoint, checked against the documentation.

Signing reuses the independent client of test_jurnal_sandbox (written from accounting_apis.md §1.2).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from possync_devkit.sandbox.jurnal import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, RateLimits, SandboxConfig, create_app

from .conftest import LiveServer
from .test_jurnal_sandbox import NO_LIMITS, Jurnal, http_date, number_and_custom_id_taken, sign

SCM_QUANTITY_PATH = "/public/jurnal/scm/public/lo/v1/products/get_product_quantity_per_warehouse"

_counter = iter(range(1, 1_000_000))


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter):04d}"


class StockJurnal(Jurnal):
    def delete(self, path: str) -> requests.Response:
        return self.request("DELETE", path)

    def scm_get(self, params: dict[str, Any] | None = None, *, signed: bool = True) -> requests.Response:
        """The SCM route lives outside /public/jurnal/api/v1 but behind the same HMAC gateway."""
        path_with_query = SCM_QUANTITY_PATH + (f"?{urlencode(params)}" if params else "")
        date_header = http_date(datetime.now(UTC))
        headers = {"Date": date_header, "Accept": "application/json"}
        if signed:
            signature = sign("GET", path_with_query, date_header, self.secret)
            headers["Authorization"] = (
                f'hmac username="{self.client_id}", algorithm="hmac-sha256", '
                f'headers="date request-line", signature="{signature}"'
            )
        return self.session.get(self.base_url + path_with_query, headers=headers, timeout=10)

    def stock(self, product_id: int, **params: Any) -> dict[str, Decimal]:
        """{warehouse name: quantity} of one product, from the documented quantity endpoint (exact decimals)."""
        response = self.scm_get({"ids": str(product_id), **params})
        assert response.status_code == 200, response.text
        (item,) = response.json(parse_float=Decimal)["data"]
        return {w["name"]: w["quantity"] for w in item["warehouse_inventory"]}

    def product(self, name: str | None = None, *, track_inventory: bool = True) -> dict[str, Any]:
        code = unique("SKU")
        doc: dict[str, Any] = {
            "name": name or unique("Produk"),
            "product_code": code,
            "custom_id": f"pos-{code}",
            "unit_name": "Pcs",
            "sell_price_per_unit": 10000,
            "buy_price_per_unit": "6000",
            "track_inventory": track_inventory,
        }
        if track_inventory:
            doc["inventory_asset_account_name"] = "Persediaan Barang"
        return self.created("/products", "product", doc)

    def warehouse(self) -> dict[str, Any]:
        return self.created("/warehouses", "warehouse", {"name": unique("Gudang"), "code": unique("G")})

    def stock_in(self, product: dict[str, Any], warehouse: dict[str, Any], quantity: Any, day: str) -> dict[str, Any]:
        return self.created(
            "/stock_adjustments",
            "stock_adjustment",
            {
                "stock_adjustment_type": "General",
                "date": day,
                "warehouse_id": warehouse["id"],
                "maintain_actual": False,
                "lines_attributes": [{"product_id": product["id"], "difference": quantity}],
            },
        )


@pytest.fixture(scope="module")
def server(module_live_server: Callable[[Any], LiveServer]) -> LiveServer:
    return module_live_server(create_app(SandboxConfig(limits=NO_LIMITS)))


@pytest.fixture(scope="module")
def jurnal(server: LiveServer) -> StockJurnal:
    client = StockJurnal(server.url)
    client.created("/customers", "customer", {"display_name": "Pelanggan Stok"})
    return client


def transfer_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"transaction_date": "05/03/2026", "memo": "restock outlet"}
    doc.update(overrides)
    return doc


# ---------------------------------------------------------------------------------------------- warehouse transfers


def test_transfer_moves_stock_and_is_read_listed_and_deleted(jurnal: StockJurnal) -> None:
    product = jurnal.product("Kopi Bubuk")
    source, target = jurnal.warehouse(), jurnal.warehouse()
    jurnal.stock_in(product, source, 10, "01/03/2026")
    number, custom_id = unique("WT"), unique("pos-transfer")
    created = jurnal.post(
        "/warehouse_transfers",
        {
            "warehouse_transfer": transfer_doc(
                from_warehouse_name=source["name"].upper(),  # names match case-insensitively
                to_warehouse_id=target["id"],
                transaction_no=number,
                custom_id=custom_id,
                warehouse_transfer_lines_attributes=[{"product_code": product["product_code"], "quantity": "4"}],
            )
        },
    )
    assert created.status_code == 201, created.text
    transfer = created.json()["warehouse_transfer"]
    assert transfer["transaction_no"] == number and transfer["custom_id"] == custom_id
    assert transfer["transaction_date"] == "2026-03-05"  # the swagger example's yyyy-mm-dd
    assert transfer["memo"] == "restock outlet"
    assert transfer["from_warehouse"] == {"id": source["id"], "name": source["name"], "code": source["code"]}
    assert transfer["to_warehouse"] == {"id": target["id"], "name": target["name"], "code": target["code"]}
    (line,) = transfer["warehouse_transfer_line_attributes"]
    assert line["quantity"] == "4.0"
    assert line["product"] == {"id": product["id"], "name": "Kopi Bubuk", "code": product["product_code"]}
    levels = jurnal.stock(product["id"])
    assert (levels[source["name"]], levels[target["name"]]) == (6, 4)

    # GET by id, transaction_no ("id/transaction_no" in the swagger) and custom_id.
    for ident in (transfer["id"], number, custom_id):
        fetched = jurnal.get(f"/warehouse_transfers/{ident}")
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["warehouse_transfer"] == transfer

    listed = jurnal.get("/warehouse_transfers", params={"start_date": "05/03/2026", "end_date": "05-03-2026"}).json()
    assert transfer["id"] in [t["id"] for t in listed["warehouse_transfers"]]
    assert {"total_count", "current_page", "total_pages", "links"} <= set(listed)
    outside = jurnal.get("/warehouse_transfers", params={"start_date": "06/03/2026"}).json()
    assert transfer["id"] not in [t["id"] for t in outside["warehouse_transfers"]]

    deleted = jurnal.delete(f"/warehouse_transfers/{transfer['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert jurnal.get(f"/warehouse_transfers/{transfer['id']}").status_code == 404
    assert jurnal.delete(f"/warehouse_transfers/{transfer['id']}").json() == {"error": "Warehouse transfer not found"}
    levels = jurnal.stock(product["id"])
    assert (levels[source["name"]], levels[target["name"]]) == (10, 0)
    # The number is free again once its holder is deleted.
    again = transfer_doc(
        from_warehouse_id=source["id"],
        to_warehouse_id=target["id"],
        transaction_no=number,
        warehouse_transfer_lines_attributes=[{"product_id": product["id"], "quantity": 1}],
    )
    assert jurnal.post("/warehouse_transfers", {"warehouse_transfer": again}).status_code == 201


def test_transfer_to_the_unassigned_warehouse_by_minus_one(jurnal: StockJurnal) -> None:
    product = jurnal.product()
    outlet = jurnal.warehouse()
    jurnal.stock_in(product, outlet, "2.5", "01/03/2026")
    transfer = jurnal.created(
        "/warehouse_transfers",
        "warehouse_transfer",
        transfer_doc(
            from_warehouse_id=outlet["id"],
            to_warehouse_id=-1,
            warehouse_transfer_lines_attributes=[{"product_custom_id": product["custom_id"], "quantity": "1.5"}],
        ),
    )
    assert transfer["to_warehouse"] == {"id": -1, "name": "Unassigned", "code": ""}
    assert transfer["warehouse_transfer_line_attributes"][0]["quantity"] == "1.5"
    levels = jurnal.stock(product["id"])
    assert (levels[outlet["name"]], levels["Unassigned"]) == (1, Decimal("1.5"))


def test_transfer_numbers_and_custom_ids_are_unique_and_name_the_holder(jurnal: StockJurnal) -> None:
    product = jurnal.product()
    source, target = jurnal.warehouse(), jurnal.warehouse()
    doc = transfer_doc(
        from_warehouse_name=source["name"],
        to_warehouse_name=target["name"],
        transaction_no=unique("WT"),
        custom_id=unique("pos-transfer"),
        warehouse_transfer_lines_attributes=[{"product_name": product["name"], "quantity": 1}],
    )
    first = jurnal.created("/warehouse_transfers", "warehouse_transfer", doc)
    again = jurnal.post("/warehouse_transfers", {"warehouse_transfer": doc})
    assert again.status_code == 422
    assert again.json() == number_and_custom_id_taken(first["id"])
    # Unique per transaction type: an invoice may carry the same number.
    invoice = jurnal.post(
        "/sales_invoices",
        {
            "sales_invoice": {
                "transaction_date": "05/03/2026",
                "person_name": "Pelanggan Stok",
                "transaction_no": doc["transaction_no"],
                "transaction_lines_attributes": [{"product_id": product["id"], "quantity": 1}],
            }
        },
    )
    assert invoice.status_code == 201, invoice.text
    assert jurnal.stock(product["id"])[target["name"]] == 1  # the refused retry moved nothing


def test_transfer_refusals_name_what_is_wrong_and_write_nothing(jurnal: StockJurnal) -> None:
    product = jurnal.product()
    untracked = jurnal.product(track_inventory=False)
    source, target = jurnal.warehouse(), jurnal.warehouse()
    before = jurnal.get("/warehouse_transfers").json()["total_count"]

    def refused(**fields: Any) -> dict[str, Any]:
        base = transfer_doc(
            from_warehouse_id=source["id"],
            to_warehouse_id=target["id"],
            warehouse_transfer_lines_attributes=[{"product_id": product["id"], "quantity": 1}],
        )
        response = jurnal.post("/warehouse_transfers", {"warehouse_transfer": {**base, **fields}})
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["id"] is None
        return body

    unknown_warehouse = refused(from_warehouse_id=None, from_warehouse_name="Gudang Mars")
    assert unknown_warehouse["from_warehouse"] == "(Warehouse with from_warehouse_name 'Gudang Mars' was not found.)"
    unknown_target = refused(to_warehouse_id=987654)
    assert unknown_target["to_warehouse"] == "(Warehouse with to_warehouse_id 987654 was not found.)"

    unknown_product = refused(
        warehouse_transfer_lines_attributes=[
            {"product_id": product["id"], "quantity": 1},
            {"product_code": "GHOST-9", "quantity": 1},
        ]
    )
    assert unknown_product["product"] == "(Product with product_code 'GHOST-9' was not found (line 2).)"
    assert unknown_product["warehouse_transfer_lines"] == "is not valid"

    same = refused(to_warehouse_id=None, to_warehouse_name=source["name"])
    assert same["to_warehouse"] == (
        f"(The destination warehouse must be different from the source warehouse {source['name']!r}.)"
    )
    assert refused(warehouse_transfer_lines_attributes=[])["warehouse_transfer_lines_attributes"] == "can't be blank"
    zero = refused(warehouse_transfer_lines_attributes=[{"product_id": product["id"], "quantity": 0}])
    assert zero["quantity"] == "(Value must be greater than 0 (line 1).)"
    negative = refused(warehouse_transfer_lines_attributes=[{"product_id": product["id"], "quantity": -2}])
    assert negative["quantity"] == "(Value must be greater than 0 (line 1).)"
    missing_quantity = refused(warehouse_transfer_lines_attributes=[{"product_id": product["id"]}])
    assert missing_quantity["quantity"] == "can't be blank (line 1)"
    assert refused(transaction_date=None)["transaction_date"] == "can't be blank"
    not_inventory = refused(warehouse_transfer_lines_attributes=[{"product_id": untracked["id"], "quantity": 1}])
    assert "does not track inventory" in not_inventory["product"]
    everything = refused(
        from_warehouse_id=None, to_warehouse_id=None, transaction_date=None, warehouse_transfer_lines_attributes=None
    )
    assert {"from_warehouse", "to_warehouse", "transaction_date", "warehouse_transfer_lines_attributes"} <= set(
        everything
    )
    assert jurnal.get("/warehouse_transfers").json()["total_count"] == before
    assert jurnal.stock(product["id"])[source["name"]] == 0


# ---------------------------------------------------------------------------------------------- stock adjustments


def test_stock_in_and_out_by_difference(jurnal: StockJurnal) -> None:
    product = jurnal.product("Gula Aren")
    warehouse = jurnal.warehouse()
    number = unique("SA")
    created = jurnal.post(
        "/stock_adjustments",
        {
            "stock_adjustment": {
                "stock_adjustment_type": "General",
                "transaction_no": number,
                "custom_id": unique("pos-adj"),
                "warehouse_name": warehouse["name"],
                "account_name": "Beban Penyesuaian Persediaan",
                "date": "02/03/2026",
                "memo": "barang datang",
                "tags": ["opname"],
                "lines_attributes": [
                    {
                        "product_name": "gula aren",
                        "difference": 12,
                        "actual_quantity": 999,  # ignored: not a count
                        "use_custom_average_price": True,
                        "average_price": 50000,
                    }
                ],
            }
        },
    )
    assert created.status_code == 201, created.text
    adjustment = created.json()["stock_adjustment"]
    assert adjustment["transaction_no"] == number and adjustment["maintain_actual"] is False
    assert (adjustment["date"], adjustment["adjustment_type"], adjustment["memo"]) == (
        "02/03/2026",
        "General",
        "barang datang",
    )
    assert adjustment["account"]["name"] == "Inventory Adjustments"
    assert adjustment["account"]["category"]["name"] == "Other Expense"
    assert adjustment["warehouse"] == {"id": warehouse["id"], "name": warehouse["name"], "code": warehouse["code"]}
    assert adjustment["entry"] == {"transaction_number": f"Stock In/Out#{number}"}
    assert [t["name"] for t in adjustment["tag"]] == ["opname"] and adjustment["tags_string"] == "opname"
    (line,) = adjustment["stock_adjustment_lines_attributes"]
    assert line["product"] == {"id": product["id"], "name": "Gula Aren", "code": product["product_code"]}
    assert (line["recorded_quantity"], line["actual_quantity"], line["difference"]) == (0, 12, 12)
    assert (line["average_price"], line["average_price_currency_format"]) == (50000, "Rp. 50.000,00")
    assert line["difference_company_quantity_format"] == "12"

    out = jurnal.created(
        "/stock_adjustments",
        "stock_adjustment",
        {
            "stock_adjustment_type": "Barang Rusak",
            "date": "2026-03-03",
            "warehouse_id": warehouse["id"],
            "lines_attributes": [{"product_id": product["id"], "difference": "-2.5"}],
        },
    )
    assert (out["adjustment_type"], out["account"]["name"]) == ("Waste", "Waste Goods Expense")
    (line,) = out["stock_adjustment_lines_attributes"]
    assert (line["recorded_quantity"], line["actual_quantity"], line["difference"]) == (12, 9.5, -2.5)
    assert line["average_price"] == 6000  # the product's buy price when no custom average price is sent
    assert line["actual_quantity_company_quantity_format"] == "9,5"
    assert jurnal.stock(product["id"])[warehouse["name"]] == Decimal("9.5")

    assert jurnal.get(f"/stock_adjustments/{out['id']}").json()["stock_adjustment"] == out
    assert jurnal.delete(f"/stock_adjustments/{out['id']}").status_code == 204
    assert jurnal.stock(product["id"])[warehouse["name"]] == 12
    assert jurnal.get(f"/stock_adjustments/{out['id']}").status_code == 404


def test_stock_adjustment_refusals(jurnal: StockJurnal) -> None:
    product = jurnal.product()
    warehouse = jurnal.warehouse()

    def refused(**fields: Any) -> dict[str, Any]:
        base = {
            "date": "02/03/2026",
            "warehouse_id": warehouse["id"],
            "lines_attributes": [{"product_id": product["id"], "difference": 1}],
        }
        response = jurnal.post("/stock_adjustments", {"stock_adjustment": {**base, **fields}})
        assert response.status_code == 422, response.text
        return response.json()

    assert refused(lines_attributes=[{"product_id": product["id"], "difference": 0}])["difference"] == (
        "(Value must not be 0 (line 1).)"
    )
    assert refused(lines_attributes=[{"product_id": product["id"]}])["difference"] == "can't be blank (line 1)"
    count_without_actual = refused(
        maintain_actual=True, lines_attributes=[{"product_id": product["id"], "difference": 3}]
    )
    assert count_without_actual["actual_quantity"] == "can't be blank (line 1)"
    negative_count = refused(
        maintain_actual=True, lines_attributes=[{"product_id": product["id"], "actual_quantity": -1}]
    )
    assert negative_count["actual_quantity"] == "(Value must be greater than or equal to 0 (line 1).)"
    ghost = refused(lines_attributes=[{"product_name": "Produk Hantu", "difference": 1}])
    assert ghost["product"] == "(Product with product_name 'Produk Hantu' was not found (line 1).)"
    assert ghost["stock_adjustment_lines"] == "is not valid"
    assert refused(warehouse_id=None, warehouse_code="NOPE")["warehouse"] == (
        "(Warehouse with warehouse_code 'NOPE' was not found.)"
    )
    assert refused(account_name="Akun Hantu")["account"] == "(Account with account_name 'Akun Hantu' was not found.)"
    assert "cannot be used for a stock adjustment" in refused(account_name="Kas")["account"]
    assert "can only be one of" in refused(stock_adjustment_type="Sometimes")["stock_adjustment_type"]
    assert refused(date=None)["date"] == "can't be blank"
    assert refused(lines_attributes=[])["lines_attributes"] == "can't be blank"
    twice = refused(
        lines_attributes=[
            {"product_id": product["id"], "difference": 1},
            {"product_id": product["id"], "difference": 2},
        ]
    )
    assert twice["product"] == f"(Product {product['name']!r} is already on line 1 (line 2).)"
    assert jurnal.stock(product["id"])[warehouse["name"]] == 0


def test_counts_and_in_out_are_numbered_separately(jurnal: StockJurnal) -> None:
    product = jurnal.product()
    warehouse = jurnal.warehouse()
    number = unique("NO")

    def post(maintain_actual: bool) -> requests.Response:
        line = {"product_id": product["id"], "actual_quantity": 5, "difference": 5}
        doc = {
            "date": "02/03/2026",
            "transaction_no": number,
            "warehouse_id": warehouse["id"],
            "maintain_actual": maintain_actual,
            "lines_attributes": [line],
        }
        return jurnal.post("/stock_adjustments", {"stock_adjustment": doc})

    movement, count = post(False), post(True)
    assert (movement.status_code, count.status_code) == (201, 201)
    movement_id, count_id = movement.json()["stock_adjustment"]["id"], count.json()["stock_adjustment"]["id"]
    duplicate = post(True)
    assert duplicate.status_code == 422
    assert (duplicate.json()["transaction_no"], duplicate.json()["id"]) == (
        "(Transaction number had already been used)",
        count_id,
    )
    for transaction_type, expected in (("movement", movement_id), ("adjustment", count_id)):
        found = jurnal.get(
            f"/stock_adjustments/{number}", params={"search_by": "transaction_no", "transaction_type": transaction_type}
        )
        assert found.status_code == 200 and found.json()["stock_adjustment"]["id"] == expected
    half = jurnal.get(f"/stock_adjustments/{number}", params={"search_by": "transaction_no"})
    assert half.status_code == 400 and "together" in half.json()["error"]
    listed = jurnal.get("/stock_adjustments", params={"transaction_no": number}).json()
    assert sorted(a["id"] for a in listed["stock_adjustments"]) == sorted([movement_id, count_id])


def test_a_count_keeps_the_actual_quantity_and_backdated_documents_change_its_difference(jurnal: StockJurnal) -> None:
    product = jurnal.product()
    outlet = jurnal.warehouse()
    jurnal.stock_in(product, outlet, 10, "01/04/2026")
    count = jurnal.created(
        "/stock_adjustments",
        "stock_adjustment",
        {
            "date": "10/04/2026",
            "warehouse_id": outlet["id"],
            "maintain_actual": True,
            "lines_attributes": [{"product_id": product["id"], "actual_quantity": 7, "difference": 55}],
        },
    )
    assert count["entry"]["transaction_number"].startswith("Stock Adjustment#")
    (line,) = count["stock_adjustment_lines_attributes"]
    assert (line["recorded_quantity"], line["actual_quantity"], line["difference"]) == (10, 7, -3)
    assert jurnal.stock(product["id"])[outlet["name"]] == 7

    def sell(day: str, quantity: int) -> None:
        jurnal.created(
            "/sales_invoices",
            "sales_invoice",
            {
                "transaction_date": day,
                "person_name": "Pelanggan Stok",
                "warehouse_id": outlet["id"],
                "transaction_lines_attributes": [{"product_id": product["id"], "quantity": quantity, "rate": 10000}],
            },
        )

    sell("2026-04-05", 2)  # entered after the count, dated before it
    assert jurnal.stock(product["id"])[outlet["name"]] == 7  # the count still holds
    recount = jurnal.get(f"/stock_adjustments/{count['id']}").json()["stock_adjustment"]
    (line,) = recount["stock_adjustment_lines_attributes"]
    assert (line["recorded_quantity"], line["actual_quantity"], line["difference"]) == (8, 7, -1)

    sell("2026-04-12", 1)  # after the count: counts against the counted level
    assert jurnal.stock(product["id"])[outlet["name"]] == 6
    assert jurnal.stock(product["id"], transaction_date="2026-04-10")[outlet["name"]] == 7
    assert jurnal.stock(product["id"], transaction_date="2026-04-07")[outlet["name"]] == 8

    assert jurnal.delete(f"/stock_adjustments/{count['id']}").status_code == 204
    assert jurnal.stock(product["id"])[outlet["name"]] == 10 - 2 - 1


# ---------------------------------------------------------------------------------------------- invoices and returns


def test_invoices_and_returns_move_stock(jurnal: StockJurnal) -> None:
    tracked = jurnal.product()
    untracked = jurnal.product(track_inventory=False)
    outlet = jurnal.warehouse()
    jurnal.stock_in(tracked, outlet, 20, "01/03/2026")
    unassigned_before = jurnal.stock(tracked["id"])["Unassigned"]

    at_outlet = jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        {
            "transaction_date": "2026-03-06",
            "person_name": "Pelanggan Stok",
            "warehouse_code": outlet["code"],
            "transaction_lines_attributes": [
                {"product_id": tracked["id"], "quantity": 5, "rate": 10000},
                {"product_id": untracked["id"], "quantity": 3, "rate": 10000},
            ],
        },
    )
    assert jurnal.stock(tracked["id"])[outlet["name"]] == 15
    untracked_stock = jurnal.scm_get({"ids": untracked["id"]}).json()["data"][0]
    assert untracked_stock["track_inventory"] is False and untracked_stock["quantity"] == 0

    jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        {
            "transaction_date": "2026-03-06",
            "person_name": "Pelanggan Stok",
            "transaction_lines_attributes": [{"product_id": tracked["id"], "quantity": 2, "rate": 10000}],
        },
    )
    assert jurnal.stock(tracked["id"])["Unassigned"] == unassigned_before - 2  # no warehouse: Unassigned (-1)

    returned = jurnal.post(
        "/sales_returns",
        {
            "sales_return": {
                "transaction_date": "07/03/2026",
                "invoice_id": at_outlet["id"],
                "transaction_return_lines_attributes": [{"product_id": tracked["id"], "return_quantity": 4}],
            }
        },
    )
    assert returned.status_code == 201, returned.text
    assert jurnal.stock(tracked["id"])[outlet["name"]] == 19  # back into the invoice's warehouse
    product = jurnal.get(f"/products/{tracked['id']}").json()["product"]
    assert product["quantity"] == "17"  # 20 - 5 - 2 + 4 over every warehouse


# ---------------------------------------------------------------------------------------------- quantity endpoint


def test_quantity_per_warehouse_endpoint(jurnal: StockJurnal) -> None:
    first, second = jurnal.product("Teh Melati"), jurnal.product()
    north, south = jurnal.warehouse(), jurnal.warehouse()
    jurnal.stock_in(first, north, 50, "01/03/2026")
    jurnal.stock_in(first, south, 30, "01/03/2026")
    jurnal.stock_in(second, south, 1, "01/03/2026")

    response = jurnal.scm_get({"ids": f"{first['id']},{second['id']},999999"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["message"]) == (200, "Product quantity per warehouse retrieved")
    assert [item["id"] for item in body["data"]] == [first["id"], second["id"]]  # unknown ids are left out
    item = body["data"][0]
    assert {k: item[k] for k in ("code", "name", "quantity", "track_inventory", "unit")} == {
        "code": first["product_code"],
        "name": "Teh Melati",
        "quantity": 80,
        "track_inventory": True,
        "unit": "Pcs",
    }
    rows = {w["id"]: w for w in item["warehouse_inventory"]}
    assert rows[north["id"]] == {
        "id": north["id"],
        "name": north["name"],
        "code": north["code"],
        "address": "",
        "quantity": 50,
    }
    assert rows[south["id"]]["quantity"] == 30 and rows[-1]["name"] == "Unassigned"
    assert body["data"][1]["quantity"] == 1

    empty = jurnal.scm_get({"ids": ""})
    assert (empty.status_code, empty.json()) == (400, {"message": "Query ids cannot be empty", "status": 400})
    assert jurnal.scm_get({"ids": "abc"}).status_code == 400
    assert jurnal.scm_get({"ids": first["id"], "transaction_date": "01/03/2026"}).status_code == 400
    unsigned = jurnal.scm_get({"ids": first["id"]}, signed=False)
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "Unauthorized"

    warehouse = jurnal.get(f"/warehouses/{north['id']}").json()["warehouse"]
    assert warehouse["warehouse_inventory"] == [
        {"id": first["id"], "name": "Teh Melati", "code": first["product_code"], "quantity": "50"}
    ]


# ---------------------------------------------------------------------------------------------- gateway


def test_new_routes_go_through_the_gateway(live_server: Callable[[Any], LiveServer]) -> None:
    limits = RateLimits(per_minute=1000, per_hour=1000, per_ip_minute=None, per_ip_hour=None)
    jurnal = StockJurnal(live_server(create_app(SandboxConfig(limits=limits))).url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    product = jurnal.product()
    warehouse = jurnal.warehouse()
    doc = transfer_doc(
        from_warehouse_id=-1,
        to_warehouse_id=warehouse["id"],
        warehouse_transfer_lines_attributes=[{"product_id": product["id"], "quantity": 3}],
    )

    jurnal.admin.faults({"error_rate": 1.0, "error_status": 503})
    faulted = jurnal.post("/warehouse_transfers", {"warehouse_transfer": doc})
    assert faulted.status_code == 503 and "injected" in faulted.json()["message"]
    assert jurnal.scm_get({"ids": product["id"]}).status_code == 503
    jurnal.admin.faults({})
    assert jurnal.get("/warehouse_transfers").json()["total_count"] == 0

    # A dropped reply after commit: the transfer exists, the retry is a conflict naming it.
    jurnal.admin.faults({"drop_after_commit_next": 1})
    keyed = {**doc, "custom_id": "pos-transfer-77"}
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        jurnal.post("/warehouse_transfers", {"warehouse_transfer": keyed})
    retry = jurnal.post("/warehouse_transfers", {"warehouse_transfer": keyed})
    assert retry.status_code == 422 and retry.json()["custom_id"] == "(Custom id attribute had already been used.)"
    assert jurnal.stock(product["id"])[warehouse["name"]] == 3

    bad_digest = jurnal.request("DELETE", f"/warehouse_transfers/{retry.json()['id']}", digest="SHA-256=AAAA")
    assert bad_digest.status_code == 401
    assert jurnal.delete(f"/warehouse_transfers/{retry.json()['id']}").status_code == 204
    response = jurnal.get("/stock_adjustments")
    assert response.headers["x-ratelimit-limit-minute"] == "1000"

    stats = jurnal.admin.stats()
    by_endpoint = stats["by_endpoint"]
    assert by_endpoint["DELETE /warehouse_transfers/{id}"] >= 2
    assert by_endpoint["GET /scm/public/lo/v1/products/get_product_quantity_per_warehouse"] >= 2
    assert stats["faults_injected"] == 2 and stats["drops"] == 1


def test_stock_of_a_sandbox_file_written_before_stock_was_tracked(
    live_server: Callable[[Any], LiveServer], tmp_path: Any
) -> None:
    config = SandboxConfig(db_path=str(tmp_path / "jurnal.db"), limits=NO_LIMITS)
    first = live_server(create_app(config))
    jurnal = StockJurnal(first.url)
    jurnal.created("/customers", "customer", {"display_name": "Ani"})
    product = jurnal.product()
    jurnal.created(
        "/sales_invoices",
        "sales_invoice",
        {
            "transaction_date": "2026-01-05",
            "person_name": "Ani",
            "transaction_lines_attributes": [{"product_id": product["id"], "quantity": 3, "rate": 7000}],
        },
    )
    first.stop()
    # What an older sandbox file looks like: documents, no stock moves.
    with sqlite3.connect(config.db_path) as conn:
        conn.execute("DELETE FROM stock_moves")
        conn.execute("DELETE FROM counters WHERE name = 'stock_moves:backfilled'")

    jurnal = StockJurnal(live_server(create_app(config)).url)
    assert jurnal.stock(product["id"])["Unassigned"] == -3
