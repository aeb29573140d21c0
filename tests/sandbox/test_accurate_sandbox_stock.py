"""The Accurate sandbox's stock documents over real HTTP: item-transfer (two-step, through the transit warehouse)
and item-adjustment, their effect on per-warehouse stock, refusals, bulk-save, delete, webhooks and faults.

Every well-formed body sent here is first validated against the spec's request schema (closed, with the spec's
array-level ``required`` applied to the array's items), so the tests keep to the documented field names.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from typing import Any

import jsonschema
import pytest
import requests

from possync_devkit.sandbox.accurate.service import (
    ADJUSTMENT_TYPES,
    APPROVAL_STATUSES,
    TRANSFER_OUT_STATUSES,
    TRANSFER_TYPES,
)

from .test_accurate_sandbox import NO_LIMITS, SPEC, Receiver, Sandbox

D = Decimal
TRANSIT = "Transit (AOL System)"
ADJUSTMENT_ACCOUNT = "5102.001"
DIFFERENCE_ACCOUNT = "6102.001"


# ---------------------------------------------------------------- the spec's request schemas
@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text())


def _strict(schema: Any) -> Any:
    """Closed objects (an undocumented field is an error); an array's ``required`` (where the spec puts the line
    fields' required list) is applied to its items."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if strict.get("type") == "array" and "required" in strict and isinstance(strict.get("items"), dict):
        items = dict(strict["items"])
        items["required"] = sorted(set(items.get("required", [])) | set(strict.pop("required")))
        strict["items"] = items
    if "properties" in strict:
        strict["additionalProperties"] = False
    return strict


@cache
def request_schema(module_action: str) -> dict[str, Any]:
    operation = spec()["paths"][f"/api/{module_action}.do"]["post"]
    return _strict(operation["requestBody"]["content"]["application/json"]["schema"])


def send(box: Sandbox, module_action: str, body: dict[str, Any], *, conforms: bool = True) -> dict[str, Any]:
    """POST a JSON body; ``conforms`` bodies must validate against the spec (deliberately bad ones opt out)."""
    if conforms:
        jsonschema.validate(body, request_schema(module_action))
    return box.data.api(module_action, body)


# ---------------------------------------------------------------- fixtures and helpers
@pytest.fixture
def box(live_server: Any) -> Sandbox:
    sandbox = Sandbox(live_server, limits=NO_LIMITS)
    items = [
        {
            "no": "KOPI",
            "name": "Kopi Susu",
            "itemType": "INVENTORY",
            "unitPrice": 18000,
            "detailOpenBalance": [{"quantity": 100, "warehouseName": "Utama"}],
        },
        {
            "no": "ROTI",
            "name": "Roti Bakar",
            "itemType": "INVENTORY",
            "unitPrice": 12500,
            "detailOpenBalance": [{"quantity": 40, "warehouseName": "Utama"}],
        },
        {"no": "JASA", "name": "Jasa Antar", "itemType": "SERVICE", "unitPrice": 5000},
    ]
    assert sandbox.data.api("item/bulk-save", {"data": items})["s"] is True
    for name in ("Outlet Senayan", "Outlet Kemang"):
        assert sandbox.data.api("warehouse/save", {"name": name})["s"] is True
    return sandbox


def stock(box: Sandbox, item_no: str) -> dict[str, Decimal]:
    """Non-zero balances by warehouse name (detail.do -> detailWarehouseData)."""
    detail = box.data.get("item/detail", no=item_no)["d"]
    return {row["warehouseName"]: row["balance"] for row in detail["detailWarehouseData"] if row["balance"] != 0}


def warehouse_id(box: Sandbox, name: str) -> int:
    return box.data.get("warehouse/detail", name=name)["d"]["id"]


def transfer_out(number: str | None, lines: list[dict[str, Any]], **header: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "itemTransferType": "TRANSFER_OUT",
        "transDate": "10/03/2026",
        "warehouseName": "Utama",
        "referenceWarehouseName": "Outlet Senayan",
        "detailItem": lines,
    }
    if number:
        body["number"] = number
    body.update(header)
    return body


def transfer_in(number: str | None, from_no: str | None, lines: list[dict[str, Any]], **header: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "itemTransferType": "TRANSFER_IN",
        "transDate": "11/03/2026",
        "warehouseName": "Outlet Senayan",
        "detailItem": lines,
    }
    if from_no:
        body["fromItemTransferNo"] = from_no
    if number:
        body["number"] = number
    body.update(header)
    return body


def listed(box: Sandbox, module: str, **params: Any) -> list[str]:
    reply = box.data.get(f"{module}/list", fields="number", **{"sp.pageSize": 100}, **params)
    assert reply["s"] is True, reply
    return [row["number"] for row in reply["d"]]


# ---------------------------------------------------------------- item transfer: the two steps
def test_transfer_out_then_in_moves_stock_through_transit(box: Sandbox) -> None:
    get = box.data.get
    sent = send(
        box,
        "item-transfer/save",
        transfer_out(
            "TO-001",
            [
                {"itemNo": "KOPI", "quantity": 30, "detailNotes": "untuk outlet"},
                {"itemNo": "ROTI", "quantity": 2.5, "itemUnitName": "PCS"},
            ],
            description="Kirim ke Senayan",
        ),
    )
    assert sent["s"] is True and sent["d"] == ['Pemindahan Barang "TO-001" berhasil disimpan']
    out = sent["r"]
    assert out["itemTransferType"] == "TRANSFER_OUT" and out["itemTransferOutStatus"] == "SENDING"
    assert out["warehouseName"] == "Utama" and out["referenceWarehouseName"] == "Outlet Senayan"
    assert out["totalQuantity"] == D("32.5") and out["totalQuantityInTransit"] == D("32.5")

    # source -> transit: the goods left Utama, are in no real warehouse, and show under the transit warehouse
    assert stock(box, "KOPI") == {"Utama": 70, TRANSIT: 30}
    assert stock(box, "ROTI") == {"Utama": D("37.5"), TRANSIT: D("2.5")}
    kopi = get("item/detail", no="KOPI")["d"]
    assert kopi["balance"] == 100 and kopi["availableToSell"] == 70  # transit is owned, not sellable
    assert get("item/get-stock", no="KOPI", warehouseName="Utama")["d"]["balance"] == 70
    assert get("item/get-stock", no="KOPI", warehouseName="Outlet Senayan")["d"]["balance"] == 0
    in_transit = get("item/get-stock", no="KOPI", warehouseName=TRANSIT)["d"]
    assert in_transit["balance"] == 30 and in_transit["availableStock"] == 0
    overall = get("item/get-stock", no="KOPI")["d"]
    assert overall["balance"] == 100 and overall["availableStock"] == 70

    detail = get("item-transfer/detail", number="TO-001")["d"]
    assert detail["id"] == out["id"] and detail["description"] == "Kirim ke Senayan"
    lines = {line["itemNo"]: line for line in detail["detailItem"]}
    assert lines["KOPI"]["quantity"] == 30 and lines["KOPI"]["quantityInTransit"] == 30
    assert lines["KOPI"]["quantityReceived"] == 0 and lines["KOPI"]["detailNotes"] == "untuk outlet"
    assert lines["ROTI"]["quantityInTransit"] == D("2.5") and lines["ROTI"]["item"]["name"] == "Roti Bakar"
    assert get("item-transfer/detail", id=out["id"])["d"] == detail

    utama, senayan = warehouse_id(box, "Utama"), warehouse_id(box, "Outlet Senayan")
    assert listed(box, "item-transfer", **{"filter.itemTransferOutStatus": "SENDING"}) == ["TO-001"]
    assert listed(box, "item-transfer", **{"filter.itemTransferType": "TRANSFER_IN"}) == []
    rows = get(
        "item-transfer/list",
        fields="number,itemTransferOutStatus,totalQuantityInTransit,warehouseId,referenceWarehouseId",
        **{"filter.warehouseId": utama, "filter.referenceWarehouseId": senayan},
    )["d"]
    assert rows == [
        {
            "id": out["id"],
            "number": "TO-001",
            "itemTransferOutStatus": "SENDING",
            "totalQuantityInTransit": D("32.5"),
            "warehouseId": utama,
            "referenceWarehouseId": senayan,
        }
    ]

    received = send(
        box,
        "item-transfer/save",
        transfer_in("TI-001", "TO-001", [{"itemNo": "KOPI", "quantity": 30}, {"itemNo": "ROTI", "quantity": 2.5}]),
    )
    assert received["s"] is True and received["d"] == ['Pemindahan Barang "TI-001" berhasil disimpan']
    tin = received["r"]
    assert tin["itemTransferType"] == "TRANSFER_IN" and tin["fromItemTransferNo"] == "TO-001"
    assert tin["warehouseName"] == "Outlet Senayan" and tin["referenceWarehouseName"] == "Utama"
    assert tin["detailDifference"] == [] and tin["totalQuantityDifference"] == 0
    assert "itemTransferOutStatus" not in tin

    # transit -> destination
    assert stock(box, "KOPI") == {"Utama": 70, "Outlet Senayan": 30}
    assert stock(box, "ROTI") == {"Utama": D("37.5"), "Outlet Senayan": D("2.5")}
    kopi = get("item/detail", no="KOPI")["d"]
    assert kopi["balance"] == 100 and kopi["availableToSell"] == 100
    closed = get("item-transfer/detail", number="TO-001")["d"]
    assert closed["itemTransferOutStatus"] == "FULL_RECEIVED" and closed["totalQuantityInTransit"] == 0
    assert closed["itemTransferInNo"] == "TI-001" and closed["itemTransferIn"] == {"id": tin["id"], "number": "TI-001"}
    assert [
        (line["quantityReceived"], line["quantityDifference"], line["quantityInTransit"])
        for line in closed["detailItem"]
    ] == [(30, 0, 0), (D("2.5"), 0, 0)]
    assert listed(box, "item-transfer", **{"filter.itemTransferOutStatus": "SENDING"}) == []
    assert listed(box, "item-transfer", **{"filter.itemTransferOutStatus": "FULL_RECEIVED"}) == ["TO-001"]
    assert listed(box, "item-transfer", **{"filter.itemTransferType": "TRANSFER_IN"}) == ["TI-001"]
    assert listed(box, "item-transfer", **{"filter.warehouseId": senayan}) == ["TI-001"]
    assert listed(box, "item-transfer", **{"filter.referenceWarehouseId": senayan}) == ["TO-001"]
    assert listed(box, "item-transfer", **{"filter.keywords": "senayan"}) == ["TO-001"]
    warehouses = get("warehouse/list", fields="name,systemWarehouse")["d"]
    assert {"name": TRANSIT, "systemWarehouse": True} in [
        {k: w.get(k) for k in ("name", "systemWarehouse")} for w in warehouses
    ]


def test_partial_receipt_needs_a_difference_account_and_writes_the_rest_off(box: Sandbox) -> None:
    get = box.data.get
    assert send(
        box,
        "item-transfer/save",
        transfer_out("TO-P", [{"itemNo": "KOPI", "quantity": 10}, {"itemNo": "ROTI", "quantity": 4}]),
    )["s"]
    short = transfer_in("TI-P", "TO-P", [{"itemNo": "KOPI", "quantity": 8}])
    refused = send(box, "item-transfer/save", short)
    assert refused == {
        "s": False,
        "d": [
            "Akun Selisih Pemindahan Barang (differenceItemTransferAccountNo) harus diisi: kuantitas terima lebih"
            ' kecil dari kuantitas kirim Pemindahan Barang "TO-P" (Barang "KOPI" kirim 10 terima 8; Barang "ROTI"'
            " kirim 4 terima 0)"
        ],
    }
    unknown = send(box, "item-transfer/save", {**short, "differenceItemTransferAccountNo": "9999.999"})
    assert unknown == {"s": False, "d": ['Akun Perkiraan "9999.999" tidak ditemukan']}
    assert stock(box, "KOPI") == {"Utama": 90, TRANSIT: 10}  # nothing moved by the refusals
    assert get("item-transfer/detail", number="TI-P")["d"] == ["Data tidak ditemukan"]

    saved = send(box, "item-transfer/save", {**short, "differenceItemTransferAccountNo": DIFFERENCE_ACCOUNT})
    assert saved["s"] is True
    tin = saved["r"]
    assert tin["differenceItemTransferAccountNo"] == DIFFERENCE_ACCOUNT
    assert tin["differenceItemTransferAccount"]["name"] == "Kerugian Selisih Barang dalam Perjalanan"
    assert tin["detailDifference"] == [
        {"itemNo": "KOPI", "quantitySent": 10, "quantityReceived": 8, "quantityDifference": 2},
        {"itemNo": "ROTI", "quantitySent": 4, "quantityReceived": 0, "quantityDifference": 4},
    ]
    assert tin["totalQuantity"] == 8 and tin["totalQuantityDifference"] == 6
    # received into the destination, the difference written off: nothing left in transit
    assert stock(box, "KOPI") == {"Utama": 90, "Outlet Senayan": 8}
    assert stock(box, "ROTI") == {"Utama": 36}
    assert get("item/detail", no="KOPI")["d"]["balance"] == 98
    out = get("item-transfer/detail", number="TO-P")["d"]
    assert out["itemTransferOutStatus"] == "PARTIAL_RECEIVED" and out["totalQuantityInTransit"] == 0
    assert [
        (line["itemNo"], line["quantityReceived"], line["quantityDifference"], line["quantityInTransit"])
        for line in out["detailItem"]
    ] == [("KOPI", 8, 2, 0), ("ROTI", 0, 4, 0)]
    assert listed(box, "item-transfer", **{"filter.itemTransferOutStatus": "PARTIAL_RECEIVED"}) == ["TO-P"]
    # NOT_EQUAL keeps records without the field (the INs), as for every list filter: add the type to exclude them
    closed = {"filter.itemTransferOutStatus.op": "NOT_EQUAL", "filter.itemTransferOutStatus.val": "SENDING"}
    assert listed(box, "item-transfer", **closed) == ["TO-P", "TI-P"]
    assert listed(box, "item-transfer", **closed, **{"filter.itemTransferType": "TRANSFER_OUT"}) == ["TO-P"]


def test_transfer_refusals(box: Sandbox) -> None:
    assert send(box, "item-transfer/save", transfer_out("TO-R", [{"itemNo": "KOPI", "quantity": 5}]))["s"]
    lines = [{"itemNo": "KOPI", "quantity": 5}]

    no_out = send(box, "item-transfer/save", transfer_in("TI-R", None, lines))
    assert no_out == {"s": False, "d": ["Pemindahan Barang asal (fromItemTransferNo) harus diisi untuk TRANSFER_IN"]}
    unknown = send(box, "item-transfer/save", transfer_in("TI-R", "TO-NOPE", lines))
    assert unknown == {"s": False, "d": ['Pemindahan Barang "TO-NOPE" tidak ditemukan']}
    wrong = send(box, "item-transfer/save", transfer_in("TI-R", "TO-R", lines, warehouseName="Outlet Kemang"))
    assert wrong == {
        "s": False,
        "d": [
            'Gudang (warehouseName) "Outlet Kemang" bukan Gudang Tujuan Pemindahan Barang "TO-R" (barang dikirim ke'
            ' "Outlet Senayan")'
        ],
    }
    wrong_source = send(
        box, "item-transfer/save", transfer_in("TI-R", "TO-R", lines, referenceWarehouseName="Outlet Kemang")
    )
    assert wrong_source["d"] == [
        'Gudang Asal (referenceWarehouseName) "Outlet Kemang" bukan gudang asal Pemindahan Barang "TO-R" ("Utama")'
    ]
    not_sent = send(box, "item-transfer/save", transfer_in("TI-R", "TO-R", [*lines, {"itemNo": "ROTI", "quantity": 1}]))
    assert not_sent == {"s": False, "d": ['detailItem[1]: Barang "ROTI" tidak ada di Pemindahan Barang "TO-R"']}
    too_many = send(box, "item-transfer/save", transfer_in("TI-R", "TO-R", [{"itemNo": "KOPI", "quantity": 6}]))
    assert too_many == {
        "s": False,
        "d": ['Kuantitas terima Barang "KOPI" (6) melebihi kuantitas kirim Pemindahan Barang "TO-R" (5)'],
    }
    early = send(box, "item-transfer/save", transfer_in("TI-R", "TO-R", lines, transDate="09/03/2026"))
    assert early["d"] == [
        'Tanggal terima (09/03/2026) tidak boleh lebih kecil dari tanggal Pemindahan Barang "TO-R" (10/03/2026)'
    ]
    assert stock(box, "KOPI") == {"Utama": 95, TRANSIT: 5}

    assert send(box, "item-transfer/save", transfer_in("TI-R", "TO-R", lines))["s"] is True
    again = send(box, "item-transfer/save", transfer_in("TI-R2", "TO-R", lines))
    assert again == {"s": False, "d": ['Pemindahan Barang "TO-R" sudah diterima dengan Pemindahan Barang "TI-R"']}
    from_in = send(box, "item-transfer/save", transfer_in("TI-R3", "TI-R", lines))
    assert from_in["s"] is False and "bukan pengiriman barang (TRANSFER_OUT)" in from_in["d"][0]
    assert stock(box, "KOPI") == {"Utama": 95, "Outlet Senayan": 5}

    # OUT-side rules, all reported together
    bad_out = send(
        box,
        "item-transfer/save",
        {
            "itemTransferType": "TRANSFER_OUT",
            "transDate": "10/03/2026",
            "warehouseName": "Gudang Hilang",
            "fromItemTransferNo": "TO-R",
            "detailItem": [
                {"itemNo": "GHOST", "quantity": 1},
                {"itemNo": "JASA", "quantity": 1},
                {"itemNo": "KOPI", "quantity": 0},
                {"itemNo": "ROTI"},
            ],
        },
    )
    assert bad_out["s"] is False
    assert bad_out["d"] == [
        'Gudang "Gudang Hilang" tidak ditemukan',
        "Gudang Tujuan (referenceWarehouseName) harus diisi untuk TRANSFER_OUT",
        "Pemindahan Barang asal (fromItemTransferNo) hanya dipakai untuk TRANSFER_IN",
        'detailItem[0]: Barang & Jasa "GHOST" tidak ditemukan',
        'detailItem[1]: Barang & Jasa "JASA" bukan barang persediaan (itemType SERVICE); hanya barang INVENTORY yang'
        " memiliki stok",
        "detailItem[2]: Kuantitas (quantity) harus lebih besar dari 0",
        "detailItem[3]: Kuantitas (quantity) harus diisi",
    ]
    same = send(box, "item-transfer/save", transfer_out(None, lines, referenceWarehouseName="utama"))
    assert same == {"s": False, "d": ['Gudang asal dan Gudang Tujuan tidak boleh sama ("Utama")']}
    missing = send(box, "item-transfer/save", {"detailItem": lines}, conforms=False)
    assert missing["d"] == [
        "Tipe Pemindahan (itemTransferType) harus diisi",
        "Tanggal (transDate) harus diisi",
        "Gudang (warehouseName) harus diisi",
    ]
    bad_type = send(box, "item-transfer/save", transfer_out(None, lines, itemTransferType="MOVE"), conforms=False)
    assert bad_type["d"] == [
        'Tipe Pemindahan (itemTransferType) "MOVE" tidak valid, gunakan TRANSFER_OUT atau TRANSFER_IN'
    ]
    draft = send(box, "item-transfer/save", transfer_out(None, lines, saveAsStatusType="DRAFT"))
    assert draft["s"] is False and "saveAsStatusType DRAFT tidak diemulasikan" in draft["d"][0]
    approved = send(box, "item-transfer/save", transfer_out("TO-AP", lines, saveAsStatusType="APPROVED"))
    assert approved["s"] is True and approved["r"]["approvalStatus"] == "APPROVED"
    bad_date = send(box, "item-transfer/save", transfer_out(None, lines, transDate="2026-03-10"))
    assert bad_date["d"] == ['Format tanggal transDate "2026-03-10" tidak tepat, gunakan dd/MM/yyyy']

    # the transit warehouse is the system's: not a source/destination, not creatable, not editable
    via_transit = send(box, "item-transfer/save", transfer_out(None, lines, referenceWarehouseName=TRANSIT))
    assert via_transit["d"] == [
        f'Gudang "{TRANSIT}" adalah gudang sistem (barang dalam perjalanan) dan tidak dapat dipakai di transaksi'
    ]
    sale_from_transit = box.data.api(
        "item-adjustment/save",
        {
            "adjustmentAccountNo": ADJUSTMENT_ACCOUNT,
            "transDate": "10/03/2026",
            "detailItem": [
                {
                    "itemNo": "KOPI",
                    "itemAdjustmentType": "ADJUSTMENT_OUT",
                    "quantity": 1,
                    "unitCost": 0,
                    "warehouseName": TRANSIT,
                }
            ],
        },
    )
    assert sale_from_transit["s"] is False and "gudang sistem" in sale_from_transit["d"][0]
    copy = box.data.api("warehouse/save", {"name": "transit (aol system)"})
    assert copy == {
        "s": False,
        "d": ['Nama Gudang "transit (aol system)" dipakai oleh sistem (gudang barang dalam perjalanan)'],
    }
    rename = box.data.api("warehouse/save", {"id": warehouse_id(box, TRANSIT), "name": "Gudang Lain"})
    assert rename == {"s": False, "d": [f'Gudang "{TRANSIT}" adalah gudang sistem dan tidak dapat diubah']}


def test_duplicate_numbers_are_refused_first(box: Sandbox) -> None:
    lines = [{"itemNo": "KOPI", "quantity": 3}]
    assert send(box, "item-transfer/save", transfer_out("TO-D", lines))["s"] is True
    dup = send(box, "item-transfer/save", transfer_out("TO-D", lines))
    assert dup == {"s": False, "d": ['Sudah ada data lain dengan Nomor Pemindahan Barang "TO-D"']}
    # the duplicate check runs before any other validation, so a retried write always learns "already there"
    dup_bad = send(box, "item-transfer/save", {"number": "TO-D", "detailItem": []}, conforms=False)
    assert dup_bad == dup
    dup_in = send(box, "item-transfer/save", transfer_in("TO-D", "TO-D", lines))
    assert dup_in == dup
    assert stock(box, "KOPI") == {"Utama": 97, TRANSIT: 3}  # moved once

    adjustment = {
        "number": "IA-D",
        "adjustmentAccountNo": ADJUSTMENT_ACCOUNT,
        "transDate": "12/03/2026",
        "detailItem": [{"itemNo": "KOPI", "itemAdjustmentType": "ADJUSTMENT_IN", "quantity": 1, "unitCost": 9000}],
    }
    assert send(box, "item-adjustment/save", adjustment)["s"] is True
    dup_adjustment = send(box, "item-adjustment/save", adjustment)
    assert dup_adjustment == {"s": False, "d": ['Sudah ada data lain dengan Nomor Penyesuaian Persediaan "IA-D"']}
    assert stock(box, "KOPI") == {"Utama": 98, TRANSIT: 3}

    auto_transfer = send(box, "item-transfer/save", transfer_out(None, lines))["r"]["number"]
    auto_adjustment = send(box, "item-adjustment/save", {**adjustment, "number": ""}, conforms=False)["r"]["number"]
    assert auto_transfer == "IT.2026.00001" and auto_adjustment == "IA.2026.00001"


def test_bulk_save_reports_one_result_per_item(box: Sandbox) -> None:
    lines = [{"itemNo": "ROTI", "quantity": 4}]
    body = {
        "data": [
            transfer_out("TO-B1", lines),
            transfer_in("TI-B1", "TO-B1", lines),  # sees the OUT saved just before it
            transfer_in("TI-B2", "TO-B9", lines),
            transfer_out("TO-B1", lines),
        ]
    }
    reply = send(box, "item-transfer/bulk-save", body)
    assert reply["s"] is False
    assert [item["s"] for item in reply["d"]] == [True, True, False, False]
    assert reply["d"][0]["d"] == ['Pemindahan Barang "TO-B1" berhasil disimpan']
    assert reply["d"][1]["r"]["fromItemTransferNo"] == "TO-B1"
    assert reply["d"][2] == {"s": False, "d": ['Pemindahan Barang "TO-B9" tidak ditemukan']}
    assert reply["d"][3] == {"s": False, "d": ['Sudah ada data lain dengan Nomor Pemindahan Barang "TO-B1"']}
    assert stock(box, "ROTI") == {"Utama": 36, "Outlet Senayan": 4}

    adjustments = {
        "data": [
            {
                "number": "IA-B1",
                "adjustmentAccountNo": ADJUSTMENT_ACCOUNT,
                "transDate": "12/03/2026",
                "detailItem": [
                    {"itemNo": "ROTI", "itemAdjustmentType": "ADJUSTMENT_OUT", "quantity": 1, "unitCost": 0},
                ],
            },
            {
                "number": "IA-B2",
                "adjustmentAccountNo": ADJUSTMENT_ACCOUNT,
                "transDate": "12/03/2026",
                "detailItem": [
                    {"itemNo": "GHOST", "itemAdjustmentType": "ADJUSTMENT_IN", "quantity": 1, "unitCost": 1},
                ],
            },
        ]
    }
    adjusted = send(box, "item-adjustment/bulk-save", adjustments)
    assert adjusted["s"] is False
    assert adjusted["d"][0]["s"] is True and adjusted["d"][0]["r"]["number"] == "IA-B1"
    assert adjusted["d"][1] == {"s": False, "d": ['detailItem[0]: Barang & Jasa "GHOST" tidak ditemukan']}
    assert stock(box, "ROTI") == {"Utama": 35, "Outlet Senayan": 4}
    too_many = send(box, "item-adjustment/bulk-save", {"data": adjustments["data"][:1] * 101})
    assert too_many == {"s": False, "d": ["Max: 100 data dalam 1 kali request"]}
    assert listed(box, "item-adjustment") == ["IA-B1"]


# ---------------------------------------------------------------- item adjustment
def test_adjustments_move_stock(box: Sandbox) -> None:
    get = box.data.get
    body = {
        "number": "IA-001",
        "adjustmentAccountNo": ADJUSTMENT_ACCOUNT,
        "transDate": "12/03/2026",
        "description": "Stok opname Maret",
        "detailItem": [
            {
                "itemNo": "KOPI",
                "itemAdjustmentType": "ADJUSTMENT_IN",
                "quantity": 5,
                "unitCost": 12000.5,
                "warehouseName": "Outlet Senayan",
                "detailNotes": "ditemukan",
            },
            {"itemNo": "ROTI", "itemAdjustmentType": "ADJUSTMENT_OUT", "quantity": 2, "unitCost": 0},
            {
                "itemNo": "KOPI",
                "itemAdjustmentType": "ADJUSTMENT_OUT",
                "quantity": 1.5,
                "unitCost": 0,
                "warehouseName": "Utama",
            },
        ],
    }
    saved = send(box, "item-adjustment/save", body)
    assert saved["s"] is True and saved["d"] == ['Penyesuaian Persediaan "IA-001" berhasil disimpan']
    record = saved["r"]
    assert record["adjustmentAccountNo"] == ADJUSTMENT_ACCOUNT
    assert record["adjustmentAccount"]["name"] == "Beban Penyesuaian Persediaan"
    assert stock(box, "KOPI") == {"Utama": D("98.5"), "Outlet Senayan": 5}
    assert stock(box, "ROTI") == {"Utama": 38}
    assert get("item/get-stock", no="KOPI", warehouseName="Outlet Senayan")["d"]["availableStock"] == 5

    detail = get("item-adjustment/detail", number="IA-001")["d"]
    assert detail["description"] == "Stok opname Maret" and detail["transDate"] == "12/03/2026"
    first, second, third = detail["detailItem"]
    assert first["itemAdjustmentType"] == "ADJUSTMENT_IN" and first["unitCost"] == D("12000.5")
    assert first["totalCost"] == D("60002.50") and first["warehouseName"] == "Outlet Senayan"
    assert first["detailNotes"] == "ditemukan" and first["itemUnitName"] == "PCS"
    assert second["warehouseName"] == "Utama" and second["unitCost"] is None and second["totalCost"] is None
    assert third["quantity"] == D("1.5")
    rows = get("item-adjustment/list", fields="number,adjustmentAccountNo,transDate", **{"filter.number": "IA-001"})
    assert rows["d"] == [
        {"id": record["id"], "number": "IA-001", "adjustmentAccountNo": ADJUSTMENT_ACCOUNT, "transDate": "12/03/2026"}
    ]

    # the documented form encoding works too
    form = {
        "number": "IA-002",
        "adjustmentAccountNo": ADJUSTMENT_ACCOUNT,
        "transDate": "13/03/2026",
        "detailItem[0].itemNo": "ROTI",
        "detailItem[0].itemAdjustmentType": "ADJUSTMENT_IN",
        "detailItem[0].quantity": "0.25",
        "detailItem[0].unitCost": "6000",
    }
    response = box.data.raw("POST", "/accurate/api/item-adjustment/save.do", data=form)
    assert response.status_code == 200 and response.json()["s"] is True
    assert stock(box, "ROTI") == {"Utama": D("38.25")}


def test_adjustment_refusals_name_every_problem(box: Sandbox) -> None:
    reply = send(
        box,
        "item-adjustment/save",
        {
            "adjustmentAccountNo": "0000.000",
            "transDate": "12/03/2026",
            "branchName": "Cabang Hilang",
            "detailItem": [
                {"itemNo": "GHOST", "itemAdjustmentType": "ADJUSTMENT_IN", "quantity": 1, "unitCost": 1},
                {
                    "itemNo": "KOPI",
                    "itemAdjustmentType": "ADJUSTMENT_IN",
                    "quantity": 1,
                    "unitCost": 1,
                    "warehouseName": "Gudang Hilang",
                },
                {"itemNo": "KOPI", "itemAdjustmentType": "ADJUSTMENT_OUT", "quantity": 1},
                {"itemNo": "KOPI", "itemAdjustmentType": "ADJUSTMENT_IN", "quantity": -1, "unitCost": 1},
                {"itemNo": "KOPI", "itemAdjustmentType": "SELISIH", "quantity": 1, "unitCost": 1},
                {"itemNo": "KOPI", "quantity": 1, "unitCost": -5},
                {"itemNo": "JASA", "itemAdjustmentType": "ADJUSTMENT_IN", "quantity": 1, "unitCost": 1},
            ],
        },
        conforms=False,
    )
    assert reply == {
        "s": False,
        "d": [
            'Akun Perkiraan "0000.000" tidak ditemukan',
            'Cabang "Cabang Hilang" tidak ditemukan',
            'detailItem[0]: Barang & Jasa "GHOST" tidak ditemukan',
            'detailItem[1]: Gudang "Gudang Hilang" tidak ditemukan',
            "detailItem[2]: Biaya Satuan (unitCost) harus diisi",
            "detailItem[3]: Kuantitas (quantity) harus lebih besar dari 0",
            'detailItem[4]: Tipe Penyesuaian (itemAdjustmentType) "SELISIH" tidak valid, gunakan ADJUSTMENT_IN atau'
            " ADJUSTMENT_OUT",
            "detailItem[5]: Tipe Penyesuaian (itemAdjustmentType) harus diisi",
            "detailItem[5]: Biaya Satuan (unitCost) tidak boleh negatif",
            'detailItem[6]: Barang & Jasa "JASA" bukan barang persediaan (itemType SERVICE); hanya barang INVENTORY'
            " yang memiliki stok",
        ],
    }
    missing = send(box, "item-adjustment/save", {"description": "kosong"}, conforms=False)
    assert missing["d"] == [
        "Akun Penyesuaian (adjustmentAccountNo) harus diisi",
        "Tanggal (transDate) harus diisi",
        "Rincian barang (detailItem) harus diisi",
    ]
    assert stock(box, "KOPI") == {"Utama": 100}
    assert listed(box, "item-adjustment") == []


# ---------------------------------------------------------------- delete reverses
def test_delete_reverses_stock(box: Sandbox) -> None:
    def delete(module: str, **params: Any) -> dict[str, Any]:
        return box.data.call(f"/accurate/api/{module}/delete.do", method="DELETE", params=params)

    adjustment = send(
        box,
        "item-adjustment/save",
        {
            "number": "IA-X",
            "adjustmentAccountNo": ADJUSTMENT_ACCOUNT,
            "transDate": "12/03/2026",
            "detailItem": [
                {
                    "itemNo": "KOPI",
                    "itemAdjustmentType": "ADJUSTMENT_IN",
                    "quantity": 7,
                    "unitCost": 1000,
                    "warehouseName": "Outlet Kemang",
                },
                {"itemNo": "ROTI", "itemAdjustmentType": "ADJUSTMENT_OUT", "quantity": 0.5, "unitCost": 0},
            ],
        },
    )["r"]
    assert stock(box, "KOPI") == {"Utama": 100, "Outlet Kemang": 7}
    assert delete("item-adjustment", id=adjustment["id"]) == {
        "s": True,
        "d": ['Penyesuaian Persediaan "IA-X" berhasil dihapus'],
    }
    assert stock(box, "KOPI") == {"Utama": 100} and stock(box, "ROTI") == {"Utama": 40}
    assert delete("item-adjustment", number="IA-X") == {"s": False, "d": ["Data tidak ditemukan"]}

    lines = [{"itemNo": "KOPI", "quantity": 12}]
    out = send(box, "item-transfer/save", transfer_out("TO-X", lines))["r"]
    assert delete("item-transfer", number="TO-X")["s"] is True  # never received: back to the source
    assert stock(box, "KOPI") == {"Utama": 100}
    assert box.data.get("item-transfer/detail", id=out["id"]) == {"s": False, "d": ["Data tidak ditemukan"]}

    assert send(box, "item-transfer/save", transfer_out("TO-Y", lines))["s"]
    assert send(box, "item-transfer/save", transfer_in("TI-Y", "TO-Y", [{"itemNo": "KOPI", "quantity": 12}]))["s"]
    assert stock(box, "KOPI") == {"Utama": 88, "Outlet Senayan": 12}
    blocked = delete("item-transfer", number="TO-Y")
    assert blocked == {
        "s": False,
        "d": [
            'Pemindahan Barang "TO-Y" sudah diterima dengan Pemindahan Barang "TI-Y"; hapus penerimaan tersebut'
            " terlebih dahulu"
        ],
    }
    assert delete("item-transfer", number="TI-Y")["s"] is True  # back into transit, the OUT open again
    assert stock(box, "KOPI") == {"Utama": 88, TRANSIT: 12}
    reopened = box.data.get("item-transfer/detail", number="TO-Y")["d"]
    assert reopened["itemTransferOutStatus"] == "SENDING" and reopened["itemTransferInNo"] is None
    assert reopened["detailItem"][0]["quantityInTransit"] == 12 and reopened["totalQuantityInTransit"] == 12
    # received again, short this time, then both removed: everything back where it started
    again = transfer_in(
        "TI-Y2", "TO-Y", [{"itemNo": "KOPI", "quantity": 11}], differenceItemTransferAccountNo=DIFFERENCE_ACCOUNT
    )
    assert send(box, "item-transfer/save", again)["s"] is True
    assert stock(box, "KOPI") == {"Utama": 88, "Outlet Senayan": 11}
    assert delete("item-transfer", number="TI-Y2")["s"] is True
    assert delete("item-transfer", number="TO-Y")["s"] is True
    assert stock(box, "KOPI") == {"Utama": 100}
    assert box.data.get("item/detail", no="KOPI")["d"]["balance"] == 100
    assert listed(box, "item-transfer") == []


# ---------------------------------------------------------------- webhooks, faults, seeds, spec
def test_webhooks_for_transfers_and_adjustments(live_server: Any) -> None:
    box = Sandbox(live_server, limits=NO_LIMITS, webhook_backoff_seconds=[0.05])
    box.data.api("item/save", {"no": "STOK", "name": "Stok", "itemType": "INVENTORY"})
    box.data.api("warehouse/save", {"name": "Outlet Senayan"})
    receiver = Receiver(live_server)
    box.admin("webhooks", {"url": receiver.url, "types": ["ITEM_TRANSFER", "ITEM_ADJUSTMENT"]})
    out = send(box, "item-transfer/save", transfer_out("TO-W", [{"itemNo": "STOK", "quantity": 1}]))["r"]
    [call] = receiver.wait(1)
    [envelope] = call["body"]
    assert envelope["type"] == "ITEM_TRANSFER"
    assert envelope["data"] == [{"itemTransferId": out["id"], "itemTransferNo": "TO-W", "action": "WRITE"}]
    adjustment = send(
        box,
        "item-adjustment/save",
        {
            "adjustmentAccountNo": ADJUSTMENT_ACCOUNT,
            "transDate": "12/03/2026",
            "detailItem": [{"itemNo": "STOK", "itemAdjustmentType": "ADJUSTMENT_IN", "quantity": 2, "unitCost": 5}],
        },
    )["r"]
    calls = receiver.wait(2)
    assert calls[1]["body"][0]["type"] == "ITEM_ADJUSTMENT"
    assert calls[1]["body"][0]["data"] == [
        {"itemAdjustmentId": adjustment["id"], "itemAdjustmentNo": adjustment["number"], "action": "WRITE"}
    ]
    box.data.call("/accurate/api/item-transfer/delete.do", method="DELETE", params={"number": "TO-W"})
    calls = receiver.wait(3)
    assert calls[2]["body"][0]["data"] == [{"itemTransferId": out["id"], "itemTransferNo": "TO-W", "action": "DELETE"}]


def test_dropped_reply_then_retry_learns_already_there(box: Sandbox) -> None:
    box.admin("faults", {"drop_after_commit_next": 1})
    body = transfer_out("TO-F", [{"itemNo": "KOPI", "quantity": 4}])
    with pytest.raises(requests.exceptions.RequestException):
        send(box, "item-transfer/save", body)
    retry = send(box, "item-transfer/save", body)
    assert retry == {"s": False, "d": ['Sudah ada data lain dengan Nomor Pemindahan Barang "TO-F"']}
    assert stock(box, "KOPI") == {"Utama": 96, TRANSIT: 4}  # committed once
    box.admin("faults", {"error_rate": 1.0, "error_status": 503})
    failed = box.data.raw("GET", "/accurate/api/item-adjustment/list.do")
    assert failed.status_code == 503 and failed.json()["s"] is False
    box.admin("faults", {})
    stats = box.admin("stats")
    assert stats["by_endpoint"]["item-transfer/save"] == 2 and stats["drops"] == 1


def test_seeded_accounts_and_enums_match_the_spec(box: Sandbox) -> None:
    adjustment = box.data.get("glaccount/detail", no=ADJUSTMENT_ACCOUNT)["d"]
    assert adjustment["name"] == "Beban Penyesuaian Persediaan" and adjustment["accountType"] == "COGS"
    difference = box.data.get("glaccount/detail", no=DIFFERENCE_ACCOUNT)["d"]
    assert difference["name"] == "Kerugian Selisih Barang dalam Perjalanan"
    assert difference["accountType"] == "OTHER_EXPENSE"

    paths = spec()["paths"]
    transfer = request_schema("item-transfer/save")["properties"]
    assert set(TRANSFER_TYPES) == set(transfer["itemTransferType"]["enum"])
    assert set(APPROVAL_STATUSES) == set(transfer["saveAsStatusType"]["enum"])
    filters = {p["name"]: p for p in paths["/api/item-transfer/list.do"]["get"]["parameters"]}
    assert set(TRANSFER_OUT_STATUSES) == set(filters["filter.itemTransferOutStatus.val"]["schema"]["items"]["enum"])
    assert {"filter.itemTransferType.val", "filter.warehouseId.val", "filter.referenceWarehouseId.val"} <= set(filters)
    adjustment_line = request_schema("item-adjustment/save")["properties"]["detailItem"]["items"]
    assert set(ADJUSTMENT_TYPES) == set(adjustment_line["properties"]["itemAdjustmentType"]["enum"])
    assert {"itemNo", "itemAdjustmentType", "unitCost"} <= set(adjustment_line["required"])  # what the sandbox enforces
    for module in ("item-transfer", "item-adjustment"):
        for action in ("save", "bulk-save", "list", "detail", "delete"):
            assert f"/api/{module}/{action}.do" in paths
