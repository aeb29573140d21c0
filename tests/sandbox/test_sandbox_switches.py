"""The sandboxes' switches for what the vendors leave undocumented, over real HTTP with the independent clients
of the sandbox tests: ``batch_failure`` (both), ``conflict_id`` and ``list_lines`` (Jurnal), ``throttle_response``
(Accurate).

Each reading must be what the package docstrings say, and above all write nothing where they say so: a client
is allowed to send again what was refused as a whole or throttled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from possync_devkit.sandbox.accurate import RateLimits as AccurateLimits
from possync_devkit.sandbox.jurnal import SandboxConfig as JurnalConfig
from possync_devkit.sandbox.jurnal import create_app

from .conftest import LiveServer
from .test_accurate_sandbox import NO_LIMITS as ACCURATE_NO_LIMITS
from .test_accurate_sandbox import Sandbox
from .test_jurnal_sandbox import NO_LIMITS, Jurnal


def jurnal(live_server: Callable[[Any], LiveServer], **config: Any) -> Jurnal:
    return Jurnal(live_server(create_app(JurnalConfig(limits=NO_LIMITS, **config))).url)


def test_jurnal_whole_batch_failure_refuses_the_call_and_writes_nothing(live_server) -> None:
    api = jurnal(live_server, batch_failure="whole")
    body = {"customers": [{"customer": {"display_name": "Ani", "custom_id": "C-1"}},
                          {"customer": {"email": "no-name@example.com"}},
                          {"customer": {"display_name": "Budi", "custom_id": "C-1"}}]}  # C-1 taken by the first
    response = api.post("/customers/batch_create", body)

    assert response.status_code == 422, response.text
    refusal = response.json()
    assert refusal["customers"] == "(2 of 3 customers are not valid; none was created.)"
    assert refusal["id"] is None
    assert [(e["index"], e["status"]) for e in refusal["errors"]] == [(1, 422), (2, 422)]
    assert refusal["errors"][0]["content"]["display_name"] == "can't be blank"
    assert refusal["errors"][1]["content"]["custom_id"] == "(Custom id attribute had already been used.)"
    assert refusal["error_full_messages"][1:] == [
        "Item 2: Display name can't be blank", "Item 3: Custom (Custom id attribute had already been used.)"]
    assert api.get("/customers").json()["total_count"] == 0, "nothing written, not even the valid first item"
    # the valid items alone go through, as one call
    good = api.post("/customers/batch_create", {"customers": [body["customers"][0]]})
    assert good.status_code == 200 and good.json()["customers"][0]["customer"]["status"] == 201


def test_jurnal_partial_batch_failure_creates_the_valid_items(live_server) -> None:
    api = jurnal(live_server)  # the default reading
    body = {"customers": [{"customer": {"display_name": "Ani"}}, {"customer": {"email": "x@example.com"}}]}
    response = api.post("/customers/batch_create", body)
    assert response.status_code == 200
    assert [r["customer"]["status"] for r in response.json()["customers"]] == [201, 422]
    assert api.get("/customers").json()["total_count"] == 1


def test_jurnal_conflict_id_null_names_no_holder(live_server) -> None:
    for setting, names_holder in (("existing", True), ("null", False)):
        api = jurnal(live_server, conflict_id=setting)
        first = api.created("/customers", "customer", {"display_name": "Ani", "custom_id": "C-1"})
        again = api.post("/customers", {"customer": {"display_name": "Ani Lain", "custom_id": "C-1"}})
        assert again.status_code == 422
        assert again.json()["custom_id"] == "(Custom id attribute had already been used.)"
        assert again.json()["id"] == (first["id"] if names_holder else None), setting
        in_batch = api.post("/customers/batch_create", {"customers": [{"customer": {"display_name": "Ani 2",
                                                                                     "custom_id": "C-1"}}]})
        assert in_batch.json()["customers"][0]["customer"]["content"]["id"] == (first["id"] if names_holder else None)


def test_accurate_whole_bulk_save_saves_nothing_and_says_so_per_item(live_server) -> None:
    box = Sandbox(live_server, limits=ACCURATE_NO_LIMITS, batch_failure="whole")
    items = [{"no": "A-1", "name": "Kopi", "itemType": "SERVICE"},
             {"no": "A-2", "itemType": "SERVICE"},  # no name
             {"no": "A-3", "name": "Teh", "itemType": "SERVICE"}]
    reply = box.data.api("item/bulk-save", {"data": items})

    assert reply["s"] is False
    assert [entry["s"] for entry in reply["d"]] == [False, False, False]
    assert all("r" not in entry for entry in reply["d"])
    assert "harus diisi" in reply["d"][1]["d"][0]
    for index in (0, 2):
        assert reply["d"][index]["d"] == [
            "Data tidak disimpan karena data[1] gagal; tidak ada data dalam request ini yang disimpan"]
    listed = box.data.get("item/list", fields="no")["d"]
    assert [row["no"] for row in listed] == [], "nothing saved"
    assert box.admin("stats")["drops"] == 0
    again = box.data.api("item/bulk-save", {"data": [items[0], items[2]]})
    assert again["s"] is True and [entry["r"]["no"] for entry in again["d"]] == ["A-1", "A-3"]


def test_accurate_throttle_response_200_is_an_envelope_refusal_before_any_work(live_server) -> None:
    for setting, status in (("429", 429), ("200", 200)):
        box = Sandbox(live_server, limits=AccurateLimits(per_second=1, in_flight=None), throttle_response=setting)
        assert box.data.api("customer/save", {"customerNo": "C-1", "name": "Ani", "transDate": "01/03/2026"})["s"]
        throttled = box.data.raw("POST", "/accurate/api/customer/save.do",
                                 json={"customerNo": "C-2", "name": "Budi", "transDate": "01/03/2026"})
        assert throttled.status_code == status, setting
        assert throttled.json() == {"s": False, "d": ["Terlalu banyak request, batas 1 panggilan per detik dan - "
                                                      "bersamaan"]}
        assert ("Retry-After" in throttled.headers) is (setting == "429")
        assert box.admin("stats")["refused_rate"] == 1
        box.admin("limits", {"per_second": None, "in_flight": None})
        assert box.data.get("customer/detail", customerNo="C-2")["s"] is False, "the throttled save wrote nothing"


def test_jurnal_list_lines_none_leaves_the_lines_out_of_list_rows_only(live_server) -> None:
    for setting, listed in (("full", True), ("none", False)):
        api = jurnal(live_server, list_lines=setting)
        customer = api.created("/customers", "customer", {"display_name": "Ani"})
        api.created("/products", "product", {"name": "Kopi", "product_code": "KOPI-1", "unit_name": "Pcs",
                                                 "sell_price_per_unit": 25000})
        invoice = api.created("/sales_invoices", "sales_invoice", {
            "person_id": customer["id"], "transaction_date": "10/11/2026", "transaction_no": "INV-1",
            "transaction_lines_attributes": [{"product_code": "KOPI-1", "quantity": 2, "rate": 25000}]})
        [row] = api.get("/sales_invoices").json()["sales_invoices"]
        assert ("transaction_lines_attributes" in row) is listed, setting
        assert row["original_amount"] == invoice["original_amount"] and row["transaction_no"] == "INV-1"
        whole = api.get(f"/sales_invoices/{invoice['id']}").json()["sales_invoice"]
        assert [line["quantity"] for line in whole["transaction_lines_attributes"]] == [2], "its own GET: whole"
