"""The Accurate data host's modules: validation, numbering, totals, stock, and the list.do/detail.do readers.

Every ``save`` runs in one SQLite transaction; a bulk-save runs one transaction per item (partial commit).
Amounts are Decimal end to end (see ``_line_amount`` and ``_totals`` for the documented formulas).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .config import (
    SEED_ACCOUNTS,
    SEED_BRANCH,
    SEED_VENDOR_NAME,
    SEED_VENDOR_NO,
    SEED_WAREHOUSE,
    TRANSIT_WAREHOUSE,
    SandboxConfig,
)
from .db import Database, Repo
from .wire import (
    NOT_FOUND,
    ApiError,
    blank,
    fmt_date,
    parse_bool,
    parse_date,
    parse_number,
    round2,
    text,
)

ZERO = Decimal(0)
ITEM_TYPES = ("INVENTORY", "NON_INVENTORY", "SERVICE", "GROUP", "PRODUCTION_COST")
PAYMENT_METHODS = (
    "BANK_CHEQUE",
    "BANK_TRANSFER",
    "CASH_OTHER",
    "EDC",
    "OTHERS",
    "PAYMENT_LINK",
    "QRIS",
    "VIRTUAL_ACCOUNT",
)
RETURN_TYPES = ("DELIVERY", "INVOICE", "INVOICE_DP", "NO_INVOICE")
TRANSFER_TYPES = ("TRANSFER_IN", "TRANSFER_OUT")  # item-transfer itemTransferType (the spec's enum)
TRANSFER_OUT_STATUSES = ("FULL_RECEIVED", "PARTIAL_RECEIVED", "SENDING")  # list filter itemTransferOutStatus
ADJUSTMENT_TYPES = ("ADJUSTMENT_IN", "ADJUSTMENT_OUT")  # item-adjustment detailItem[].itemAdjustmentType
APPROVAL_STATUSES = ("APPROVED", "DRAFT", "NEXTUSER_TOAPPROVED", "REJECTED", "UNAPPROVED")  # saveAsStatusType
DATE_FIELDS = {"transDate", "dueDate", "shipDate", "chequeDate", "taxDate", "asOf"}

Event = tuple[str, dict[str, Any]]  # (webhook type, data entry)


@dataclass(frozen=True)
class Module:
    name: str  # URL module, e.g. "sales-invoice"
    label: str  # "Faktur Penjualan": used in "<label> "<no>" berhasil disimpan"
    key_field: str  # the record's natural key field
    key_label: str  # "Nomor Faktur": used in "Sudah ada data lain dengan <key_label> "<no>""
    actions: frozenset[str]
    detail_params: tuple[str, ...]  # detail.do/delete.do parameters besides id that name the natural key
    aliases: dict[str, str] = field(default_factory=dict)  # list filter/sort/fields aliases
    webhook: str | None = None  # webhook type, e.g. "RECEIVE_ITEM"
    webhook_prefix: str = ""  # "receiveItem" -> receiveItemId / receiveItemNo
    case_insensitive_key: bool = False


def _actions(*names: str) -> frozenset[str]:
    return frozenset(names)


MODULES: dict[str, Module] = {
    module.name: module
    for module in (
        Module(
            "customer",
            "Pelanggan",
            "customerNo",
            "ID Pelanggan",
            _actions("save", "bulk-save", "list", "detail"),
            ("customerNo",),
            {"no": "customerNo"},
            "CUSTOMER",
            "customer",
        ),
        Module(
            "item",
            "Barang & Jasa",
            "no",
            "Kode Barang",
            _actions("save", "bulk-save", "list", "detail", "get-stock"),
            ("no",),
            {},
            "ITEM",
            "item",
        ),
        Module(
            "warehouse",
            "Gudang",
            "name",
            "Nama",
            _actions("save", "list", "detail"),
            ("warehouseName", "name"),
            {},
            "WAREHOUSE",
            "warehouse",
            True,
        ),
        Module(
            "branch",
            "Cabang",
            "name",
            "Nama",
            _actions("save", "bulk-save", "list", "detail"),
            ("name",),
            {},
            None,
            "",
            True,
        ),
        Module(
            "vendor",
            "Pemasok",
            "vendorNo",
            "ID Pemasok",
            _actions("save", "bulk-save", "list", "detail"),
            ("vendorNo",),
            {"no": "vendorNo"},
        ),
        Module("glaccount", "Akun Perkiraan", "no", "Kode Perkiraan", _actions("list", "detail"), ("no",)),
        Module(
            "sales-invoice",
            "Faktur Penjualan",
            "number",
            "Nomor Faktur",
            _actions("save", "bulk-save", "list", "detail", "delete"),
            ("number",),
            {"no": "number"},
            "SALES_INVOICE",
            "salesInvoice",
        ),
        Module(
            "sales-receipt",
            "Penerimaan Penjualan",
            "number",
            "Nomor Penerimaan",
            _actions("save", "bulk-save", "list", "detail", "delete"),
            ("number",),
            {"no": "number"},
            "SALES_RECEIPT",
            "salesReceipt",
        ),
        Module(
            "sales-return",
            "Retur Penjualan",
            "number",
            "Nomor Retur",
            _actions("save", "bulk-save", "list", "detail", "delete"),
            ("number",),
            {"no": "number"},
            "SALES_RETURN",
            "salesReturn",
        ),
        Module(
            "other-payment",
            "Pembayaran",
            "number",
            "Nomor Pembayaran",
            _actions("save", "bulk-save", "list", "detail", "delete"),
            ("number",),
            {"no": "number"},
        ),
        Module(
            "receive-item",
            "Penerimaan Barang",
            "number",
            "Nomor Penerimaan Barang",
            _actions("save", "bulk-save", "list", "detail", "delete"),
            ("number",),
            {"no": "number"},
            "RECEIVE_ITEM",
            "receiveItem",
        ),
        Module(
            "purchase-order",
            "Pesanan Pembelian",
            "number",
            "Nomor Pesanan Pembelian",
            _actions("save", "bulk-save", "list", "detail", "delete"),
            ("number",),
            {"no": "number"},
            "PURCHASE_ORDER",
            "purchaseOrder",
        ),
        Module(
            "item-transfer",
            "Pemindahan Barang",
            "number",
            "Nomor Pemindahan Barang",
            _actions("save", "bulk-save", "list", "detail", "delete"),
            ("number",),
            {"no": "number"},
            "ITEM_TRANSFER",
            "itemTransfer",
        ),
        Module(
            "item-adjustment",
            "Penyesuaian Persediaan",
            "number",
            "Nomor Penyesuaian Persediaan",
            _actions("save", "bulk-save", "list", "detail", "delete"),
            ("number",),
            {"no": "number"},
            "ITEM_ADJUSTMENT",
            "itemAdjustment",
        ),
    )
}

AUTO_NUMBER = {  # module -> (prefix, per-year)
    "customer": ("C.", False),
    "vendor": ("V.", False),
    "item": ("", False),
    "sales-invoice": ("SI.", True),
    "sales-receipt": ("CR.", True),
    "sales-return": ("SRT.", True),
    "other-payment": ("OP.", True),
    "receive-item": ("RI.", True),
    "purchase-order": ("PO.", True),
    "item-transfer": ("IT.", True),
    "item-adjustment": ("IA.", True),
}

REF_LABEL = {
    "customer": "Pelanggan",
    "item": "Barang & Jasa",
    "warehouse": "Gudang",
    "branch": "Cabang",
    "vendor": "Pemasok",
    "glaccount": "Akun Perkiraan",
    "sales-invoice": "Faktur Penjualan",
    "item-transfer": "Pemindahan Barang",
    "purchase-order": "Pesanan Pembelian",
}


# Every valid item of a bulk-save refused as a whole (``batch_failure='whole'``).
NOT_SAVED = "Data tidak disimpan karena {refused} gagal; tidak ada data dalam request ini yang disimpan"


class _WholeBulkRefused(Exception):
    """Raised inside an all-or-nothing bulk-save's transaction to roll every item back."""


class Errors:
    """Collects messages so one reply names every problem found in a phase."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def guard(self, fn: Callable[[], Any], default: Any = None) -> Any:
        try:
            return fn()
        except ApiError as error:
            self.messages.extend(error.messages)
            return default

    def raise_if_any(self) -> None:
        if self.messages:
            raise ApiError(self.messages)


def _retired(module_name: str, key: str) -> str:
    """The counter that keeps a deleted document's number taken (``deleted_numbers = "kept"``)."""
    return f"retired:{module_name}:{key}"


def _key(module: Module, value: str, number_match: str = "trimmed") -> str:
    """The stored key of a record's number: as kept (``number_match``), case-folded where the module or the
    sandbox ignores case."""
    return value.casefold() if module.case_insensitive_key or number_match == "casefold" else value


def _required(errors: Errors, data: dict[str, Any], fields: dict[str, str], prefix: str = "") -> None:
    for name, label in fields.items():
        if blank(data.get(name)):
            errors.add(f"{prefix}{label} ({name}) harus diisi")


def _lines(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data.get(name)
    if blank(value):
        return []
    if isinstance(value, dict):  # a single object, or {"0": {...}} from odd form keys
        value = list(value.values()) if all(isinstance(v, dict) for v in value.values()) else [value]
    if not isinstance(value, list) or not all(isinstance(line, dict) for line in value):
        raise ApiError(f"{name} harus berupa daftar (array) objek")
    return [line for line in value if str(line.get("_status", "")).lower() != "delete"]


def _discount_factor(percent: Any, field_name: str) -> Decimal:
    """'5+2' -> 1 - 0.95 x 0.98 (cascading percentages), as a fraction of the gross amount."""
    raw = text(percent)
    if raw is None:
        return ZERO
    remaining = Decimal(1)
    for part in raw.split("+"):
        pct = parse_number(part, field_name)
        if pct < 0 or pct > 100:
            raise ApiError(f'{field_name} "{raw}" harus antara 0 dan 100')
        remaining *= 1 - pct / 100
    return 1 - remaining


def _dec(value: Any) -> Decimal:
    """A stored quantity (JSON ints load as int) as a Decimal."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _pick(record: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {name: record.get(name) for name in fields}


def _scalars(data: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    """Caller-sent fields echoed back as stored (unknown fields are kept, as Accurate ignores them)."""
    return {k: v for k, v in data.items() if k not in skip and not k.startswith("_") and not isinstance(v, dict)}


def _fraction(line: dict[str, Any], default: Decimal) -> Decimal:
    """A detail line's tax rate as a fraction (lines keep it in percent as ``tax1Rate``)."""
    return Decimal(str(line["tax1Rate"])) / 100 if line.get("tax1Rate") is not None else default


class AccurateService:
    def __init__(self, db: Database, config: SandboxConfig) -> None:
        self.db = db
        self.config = config
        self.tax_rate = Decimal(config.tax1_rate_percent) / 100
        self.seed()

    # ------------------------------------------------------------ seeding
    def seed(self) -> None:
        with self.db.transaction() as repo:
            # accounts first and on every start, so a database file seeded by an older sandbox gains new seed accounts
            for no, name, account_type in (*SEED_ACCOUNTS, *self.config.extra_accounts):
                if repo.by_key("glaccount", no) is None:
                    repo.insert(
                        "glaccount", no, {"no": no, "name": name, "accountType": account_type, "suspended": False}
                    )
            if repo.get_meta("seeded"):
                return
            repo.insert("branch", SEED_BRANCH.casefold(), {"name": SEED_BRANCH})
            repo.insert(
                "warehouse",
                SEED_WAREHOUSE.casefold(),
                {"name": SEED_WAREHOUSE, "suspended": False, "scrapWarehouse": False},
            )
            repo.insert(
                "vendor",
                SEED_VENDOR_NO,
                {"vendorNo": SEED_VENDOR_NO, "name": SEED_VENDOR_NAME, "transDate": fmt_date(date(2026, 1, 1))},
            )
            repo.set_meta("seeded", True)

    def add_accounts(self, accounts: list[tuple[str, str, str]]) -> None:
        with self.db.transaction() as repo:
            for no, name, account_type in accounts:
                if repo.by_key("glaccount", no) is None:
                    repo.insert(
                        "glaccount", no, {"no": no, "name": name, "accountType": account_type, "suspended": False}
                    )

    def reset(self) -> None:
        self.db.wipe()
        self.seed()

    # ------------------------------------------------------------ helpers
    def _kept(self, value: Any) -> str | None:
        """A number as this sandbox keeps it (``number_match``): as sent with 'exact', else stripped."""
        kept = text(value)
        if kept is not None and self.config.number_match == "exact" and isinstance(value, str):
            return value
        return kept

    def _auto_number(self, repo: Repo, module: Module, when: date | None) -> str:
        prefix, per_year = AUTO_NUMBER[module.name]
        year = (when or date.today()).year
        while True:
            if module.name == "item":
                candidate = str(repo.counter("no:item", 100001))
            elif per_year:
                candidate = f"{prefix}{year}.{repo.counter(f'no:{module.name}:{year}'):05d}"
            else:
                candidate = f"{prefix}{repo.counter(f'no:{module.name}', 2 if module.name == 'vendor' else 1):05d}"
            if repo.by_key(module.name, candidate) is None:
                return candidate

    def _ref(self, repo: Repo, module_name: str, value: Any, errors: Errors, prefix: str = "") -> dict | None:
        key = text(value)
        if key is None:
            return None
        module = MODULES[module_name]
        record = repo.by_key(module_name, _key(module, self._kept(value) or key, self.config.number_match))
        if record is None:
            errors.add(f'{prefix}{REF_LABEL[module_name]} "{key}" tidak ditemukan')
        return record

    def _warehouse(self, repo: Repo, value: Any, errors: Errors, prefix: str) -> dict | None:
        """The named warehouse (``Utama`` when blank); the transit system warehouse is refused."""
        if blank(value):
            return repo.by_key("warehouse", SEED_WAREHOUSE.casefold())
        record = self._ref(repo, "warehouse", value, errors, prefix)
        if record is not None and record.get("systemWarehouse"):
            errors.add(
                f'{prefix}Gudang "{record["name"]}" adalah gudang sistem (barang dalam perjalanan) dan tidak dapat'
                " dipakai di transaksi"
            )
            return None
        return record

    def _transit(self, repo: Repo) -> dict:
        """The system warehouse of goods in transit (TRANSFER_OUT sent, not yet received), created when first needed."""
        record = repo.by_key("warehouse", TRANSIT_WAREHOUSE.casefold())
        if record is None:
            record = {"name": TRANSIT_WAREHOUSE, "suspended": False, "scrapWarehouse": False, "systemWarehouse": True}
            repo.insert("warehouse", TRANSIT_WAREHOUSE.casefold(), record)
        return record

    def _unique_number(
        self, repo: Repo, module: Module, data: dict[str, Any], when: date | None, existing: dict | None = None
    ) -> str:
        """The caller's number (unique, else "Sudah ada data lain ..."), the record's own on update, or a new one."""
        existing_id = existing["id"] if existing else None
        number = self._kept(data.get(module.key_field))
        if number is None and existing is not None:
            return existing[module.key_field]
        if number is None:
            return self._auto_number(repo, module, when)
        if len(number) > 50:
            raise ApiError(f"{module.key_label} ({module.key_field}) terlalu besar. Maksimal 50 karakter")
        key = _key(module, number, self.config.number_match)
        other = repo.by_key(module.name, key)
        taken = other["id"] != existing_id if other is not None else repo.counter_value(
            _retired(module.name, key)) is not None
        if taken:
            raise ApiError(f'Sudah ada data lain dengan {module.key_label} "{number}"')
        return number

    def _existing(self, repo: Repo, module: Module, data: dict[str, Any]) -> dict | None:
        if blank(data.get("id")):
            return None
        try:
            record_id = int(str(data["id"]))
        except ValueError:
            raise ApiError(f'Nilai id "{data["id"]}" bukan angka') from None
        record = repo.by_id(module.name, record_id)
        if record is None:
            raise ApiError(NOT_FOUND)
        return record

    def _no_update(self, module: Module, data: dict[str, Any]) -> None:
        if not blank(data.get("id")):
            raise ApiError(f"Sandbox: perubahan {module.label} (save.do dengan id) tidak diemulasikan")

    def _branch(self, repo: Repo, data: dict[str, Any], errors: Errors) -> str | None:
        branch = self._ref(repo, "branch", data.get("branchName"), errors)
        return branch["name"] if branch else None

    def _branch_fields(self, repo: Repo, data: dict[str, Any], errors: Errors) -> dict[str, Any]:
        branch = self._ref(repo, "branch", data.get("branchName"), errors)
        return {"branchName": branch["name"] if branch else None, "branchId": branch["id"] if branch else None}

    def _stock_add(self, repo: Repo, item: dict, warehouse: dict, delta: Decimal) -> None:
        if item.get("itemType") == "INVENTORY":
            repo.add_stock(item["id"], warehouse["id"], delta)

    # ------------------------------------------------------------ dispatch
    def save(self, module_name: str, data: Any) -> tuple[dict[str, Any], list[Event]]:
        with self.db.transaction() as repo:
            return self._save_in(repo, module_name, data)

    def _save_in(self, repo: Repo, module_name: str, data: Any) -> tuple[dict[str, Any], list[Event]]:
        """One save.do inside the caller's transaction: its reply and webhook events."""
        module = MODULES[module_name]
        if not isinstance(data, dict):
            raise ApiError("Isi request harus berupa objek")
        saver = getattr(self, "_save_" + module_name.replace("-", "_"))
        record, _created = saver(repo, module, data)
        events = self._events(module, record, "WRITE")
        shown = record.get(module.key_field)
        message = f'{module.label} "{shown}" berhasil disimpan'
        return {"s": True, "d": [message], "r": self.render(module, record, repo)}, events

    def bulk_save(self, module_name: str, items: Any) -> tuple[dict[str, Any], list[Event]]:
        if not isinstance(items, list) or not items or len(items) > self.config.bulk_max:
            raise ApiError(f"Max: {self.config.bulk_max} data dalam 1 kali request")
        if self.config.batch_failure == "whole":
            return self._bulk_save_all_or_nothing(module_name, items)
        results: list[dict[str, Any]] = []
        events: list[Event] = []
        for item in items:
            try:
                body, item_events = self.save(module_name, item)
            except ApiError as error:
                results.append(error.body)
                continue
            results.append(body)
            events.extend(item_events)
        return {"s": all(result["s"] for result in results), "d": results}, events

    def _bulk_save_all_or_nothing(self, module_name: str, items: list[Any]) -> tuple[dict[str, Any], list[Event]]:
        """``batch_failure='whole'``: every item in one transaction, in order (later items see earlier ones). When
        any is refused nothing is saved: the reply keeps its per-item shape, ``s`` false everywhere, a refused item
        with its own messages and every other item with :data:`NOT_SAVED` naming the refused ones."""
        results: list[dict[str, Any]] = []
        events: list[Event] = []
        refused: list[int] = []
        try:
            with self.db.transaction() as repo:
                for index, item in enumerate(items):
                    try:
                        with self.db.savepoint():
                            body, item_events = self._save_in(repo, module_name, item)
                    except ApiError as error:
                        refused.append(index)
                        results.append(error.body)
                        continue
                    results.append(body)
                    events.extend(item_events)
                if refused:
                    raise _WholeBulkRefused
        except _WholeBulkRefused:
            named = ", ".join(f"data[{index}]" for index in refused)
            return {"s": False, "d": [
                result if index in refused else {"s": False, "d": [NOT_SAVED.format(refused=named)]}
                for index, result in enumerate(results)
            ]}, []
        return {"s": True, "d": results}, events

    def _events(self, module: Module, record: dict[str, Any], action: str) -> list[Event]:
        """The webhook entries of one saved or deleted record, shaped by the undocumented readings:
        ``webhook_numbers`` (entries of every type but SALES_INVOICE with or without ``<prefix>No``) and
        ``item_transfer_webhook`` (one entry per transfer, or one per warehouse it touches, with ``warehouseId``)."""
        if not module.webhook:
            return []
        prefix = module.webhook_prefix
        entry = {f"{prefix}Id": record["id"], f"{prefix}No": record.get(module.key_field), "action": action}
        if self.config.webhook_numbers == "omitted" and module.webhook != "SALES_INVOICE":
            del entry[f"{prefix}No"]
        if module.name == "item-transfer" and self.config.item_transfer_webhook == "per_warehouse":
            return [(module.webhook, {**entry, "warehouseId": record[field]})
                    for field in ("warehouseId", "referenceWarehouseId") if record.get(field) is not None]
        return [(module.webhook, entry)]

    # ------------------------------------------------------------ masters
    def _save_customer(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        existing = self._existing(repo, module, data)
        errors = Errors()
        if existing is None:
            _required(errors, data, {"name": "Nama", "transDate": "Tanggal"})
        errors.raise_if_any()
        trans = errors.guard(lambda: parse_date(data["transDate"], "transDate")) if "transDate" in data else None
        branch = self._branch(repo, data, errors)
        errors.raise_if_any()
        number = self._unique_number(repo, module, data, trans, existing)
        record = {**(existing or {}), **_scalars(data, {"id"}), "customerNo": number}
        record["name"] = text(record.get("name"))
        if trans:
            record["transDate"] = fmt_date(trans)
        if branch:
            record["branchName"] = branch
        return self._store(repo, module, record, existing, number)

    def _save_vendor(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        existing = self._existing(repo, module, data)
        errors = Errors()
        if existing is None:
            _required(errors, data, {"name": "Nama", "transDate": "Tanggal"})
        errors.raise_if_any()
        trans = errors.guard(lambda: parse_date(data["transDate"], "transDate")) if "transDate" in data else None
        errors.raise_if_any()
        number = self._unique_number(repo, module, data, trans, existing)
        record = {**(existing or {}), **_scalars(data, {"id"}), "vendorNo": number}
        if trans:
            record["transDate"] = fmt_date(trans)
        return self._store(repo, module, record, existing, number)

    def _save_item(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        existing = self._existing(repo, module, data)
        errors = Errors()
        if existing is None:
            _required(errors, data, {"itemType": "Jenis Barang", "name": "Nama"})
        item_type = text(data.get("itemType"))
        if item_type is not None and item_type not in ITEM_TYPES:
            errors.add(f'Jenis Barang (itemType) "{item_type}" tidak valid, gunakan {", ".join(ITEM_TYPES)}')
        if existing is not None and item_type is not None and item_type != existing["itemType"]:
            errors.add("Jenis Barang (itemType) tidak dapat diubah")
        record = {**(existing or {}), **_scalars(data, {"id", "detailOpenBalance"})}
        for name in ("unitPrice", "vendorPrice", "minimumQuantity"):
            if not blank(data.get(name)):
                record[name] = errors.guard(lambda name=name: parse_number(data[name], name))
        if not blank(data.get("tax1Name")):
            tax_name = self._tax_name(text(data.get("tax1Name")))
            if tax_name is None:
                errors.add(f'Pajak (tax1Name) "{text(data.get("tax1Name"))}" tidak ditemukan')
            record["tax1Name"] = tax_name
        record.setdefault("unitPrice", ZERO)
        record.setdefault("unit1Name", "PCS")
        record.setdefault("suspended", False)
        openings = []
        for index, line in enumerate(errors.guard(lambda: _lines(data, "detailOpenBalance"), []) or []):
            where = f"detailOpenBalance[{index}]: "
            quantity = errors.guard(lambda line=line: parse_number(line.get("quantity"), "quantity"))
            warehouse = self._warehouse(repo, line.get("warehouseName"), errors, where)
            if quantity is not None and warehouse is not None:
                openings.append((warehouse, quantity))
        errors.raise_if_any()
        number = self._unique_number(repo, module, data, None, existing)
        record["no"] = number
        record["name"] = text(record.get("name"))
        stored, created = self._store(repo, module, record, existing, number)
        if created:
            for warehouse, quantity in openings:
                self._stock_add(repo, stored, warehouse, quantity)
        return stored, created

    def _save_named(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        existing = self._existing(repo, module, data)
        errors = Errors()
        if module.name == "warehouse":
            if existing is not None and existing.get("systemWarehouse"):
                raise ApiError(f'Gudang "{existing["name"]}" adalah gudang sistem dan tidak dapat diubah')
            name = text(data.get("name"))
            if name is not None and name.casefold() == TRANSIT_WAREHOUSE.casefold():
                raise ApiError(f'Nama Gudang "{name}" dipakai oleh sistem (gudang barang dalam perjalanan)')
        if existing is None:
            _required(errors, data, {"name": "Nama"})
        errors.raise_if_any()
        record = {**(existing or {}), **_scalars(data, {"id"})}
        record["name"] = text(record["name"])
        number = self._unique_number(repo, module, {"name": record["name"]}, None, existing)
        if module.name == "warehouse":
            record.setdefault("suspended", False)
            record.setdefault("scrapWarehouse", False)
        return self._store(repo, module, record, existing, number)

    _save_warehouse = _save_named
    _save_branch = _save_named

    def _store(self, repo: Repo, module: Module, record: dict, existing: dict | None, key: str) -> tuple[dict, bool]:
        if existing is None:
            repo.insert(module.name, _key(module, key, self.config.number_match), record)
            return record, True
        repo.update(existing["id"], _key(module, key, self.config.number_match), record)
        return record, False

    def _tax_name(self, name: str | None) -> str | None:
        """The tax record named ``name`` (case-insensitive), as seeded (``SandboxConfig.taxes``)."""
        for known in self.config.taxes:
            if name is not None and known.casefold() == name.casefold():
                return known
        return None

    def _tax_rate(self, name: str | None) -> Decimal:
        """The rate (a fraction) of an item's tax1Name; PPN at tax1_rate_percent for an item without one."""
        known = self._tax_name(name)
        return Decimal(self.config.taxes[known]) / 100 if known else self.tax_rate

    # ------------------------------------------------------------ amounts
    def _line_amount(self, line: dict, errors: Errors, where: str) -> dict[str, Any] | None:
        """amount = round2(qty x unitPrice - itemCashDiscount - qty x unitPrice x discount%(cascading))."""
        quantity = errors.guard(lambda: parse_number(line.get("quantity"), f"{where}quantity"))
        price = errors.guard(lambda: parse_number(line.get("unitPrice"), f"{where}unitPrice"))
        cash = ZERO
        if not blank(line.get("itemCashDiscount")):
            cash = errors.guard(lambda: parse_number(line["itemCashDiscount"], f"{where}itemCashDiscount"), ZERO)
        factor = errors.guard(lambda: _discount_factor(line.get("itemDiscPercent"), f"{where}itemDiscPercent"), ZERO)
        use_tax = errors.guard(lambda: parse_bool(line["useTax1"], f"{where}useTax1")) if "useTax1" in line else None
        if quantity is None or price is None:
            return None
        if quantity <= 0:
            errors.add(f"{where}Kuantitas (quantity) harus lebih besar dari 0")
            return None
        if price < 0 or cash < 0:
            errors.add(f"{where}Harga (unitPrice) dan diskon (itemCashDiscount) tidak boleh negatif")
            return None
        gross = quantity * price
        amount = round2(gross - cash - gross * factor)
        if amount < 0:
            errors.add(f"{where}Diskon melebihi nilai barang")
            return None
        return {
            "quantity": quantity,
            "unitPrice": price,
            "itemCashDiscount": cash,
            "itemDiscPercent": text(line.get("itemDiscPercent")),
            "useTax1": use_tax,
            "totalPrice": amount,
        }

    def _totals(
        self, lines: list[dict], expenses: list[dict], data: dict, errors: Errors, defaults: dict | None = None
    ) -> dict[str, Any]:
        """subTotal = sum of line amounts; cashDiscount (or cashDiscPercent of subTotal); tax on the taxed lines
        less their pro-rata share of cashDiscount, x rate (exclusive) or x rate/(1+rate) (inclusive)."""
        defaults = defaults or {}
        taxable_default = defaults.get("taxable", any(line["useTax1"] for line in lines))
        taxable = errors.guard(lambda: parse_bool(data["taxable"], "taxable")) if "taxable" in data else None
        taxable = taxable_default if taxable is None else taxable
        inclusive = (
            errors.guard(lambda: parse_bool(data["inclusiveTax"], "inclusiveTax"))
            if "inclusiveTax" in data
            else defaults.get("inclusiveTax", False)
        )
        subtotal = sum((line["totalPrice"] for line in lines), ZERO)
        cash = ZERO
        if not blank(data.get("cashDiscount")):
            cash = errors.guard(lambda: parse_number(data["cashDiscount"], "cashDiscount"), ZERO)
        elif not blank(data.get("cashDiscPercent")):
            factor = errors.guard(lambda: _discount_factor(data["cashDiscPercent"], "cashDiscPercent"), ZERO)
            cash = round2(subtotal * factor)
        cash = round2(cash)
        if cash < 0 or cash > subtotal:
            errors.add(f"Diskon faktur (cashDiscount) {cash} harus antara 0 dan subtotal {subtotal}")
            cash = ZERO
        # Per tax (the item's tax1Name, else PPN at tax1_rate_percent): the taxed lines less their pro-rata share of
        # cashDiscount, rounded once per tax, or (tax_rounding "line") each line rounded, then summed.
        groups: dict[Decimal, list[Decimal]] = {}
        for line in lines:
            if taxable and line["useTax1"]:
                share = cash * line["totalPrice"] / subtotal if subtotal else ZERO
                groups.setdefault(_fraction(line, self.tax_rate), []).append(line["totalPrice"] - share)
        base = sum((sum(bases, ZERO) for bases in groups.values()), ZERO)
        details = []
        for tax_rate, bases in groups.items():
            rate = tax_rate / (1 + tax_rate) if inclusive else tax_rate
            amount = (sum((round2(b * rate) for b in bases), ZERO) if self.config.tax_rounding == "line"
                      else round2(sum(bases, ZERO) * rate))
            names = {line.get("tax1Name") or "PPN" for line in lines if line["useTax1"]
                     and _fraction(line, self.tax_rate) == tax_rate}
            details.append({"taxName": ", ".join(sorted(names)), "rate": tax_rate * 100,
                            "taxableAmount": round2(sum(bases, ZERO)), "taxAmount": amount})
        tax = sum((detail["taxAmount"] for detail in details), ZERO)
        total_expense = round2(sum((expense["expenseAmount"] for expense in expenses), ZERO))
        total = subtotal - cash + total_expense + (ZERO if inclusive else tax)
        return {
            "taxable": bool(taxable),
            "inclusiveTax": bool(inclusive),
            "subTotal": subtotal,
            "cashDiscount": cash,
            "taxAmount": tax,
            "tax1Amount": tax,
            "tax1Rate": Decimal(self.config.tax1_rate_percent),
            "taxableAmount": round2(base - tax) if inclusive else round2(base),
            "detailTax": details,
            "totalExpense": total_expense,
            "totalAmount": total,
        }

    def _expenses(self, repo: Repo, data: dict, errors: Errors) -> list[dict]:
        expenses = []
        for index, line in enumerate(errors.guard(lambda: _lines(data, "detailExpense"), []) or []):
            where = f"detailExpense[{index}]: "
            if blank(line.get("accountNo")):
                errors.add(f"{where}Akun (accountNo) harus diisi")
                continue
            account = self._ref(repo, "glaccount", line.get("accountNo"), errors, where)
            amount = errors.guard(
                lambda line=line, where=where: parse_number(line.get("expenseAmount"), f"{where}expenseAmount")
            )
            if account is None or amount is None:
                continue
            expenses.append(
                {
                    "accountNo": account["no"],
                    "account": _pick(account, "id", "no", "name"),
                    "expenseAmount": round2(amount),
                    "expenseName": text(line.get("expenseName")) or account["name"],
                    "expenseNotes": text(line.get("expenseNotes")),
                }
            )
        return expenses

    def _item_lines(
        self, repo: Repo, data: dict, errors: Errors, *, fill: Callable[[int, dict, dict], dict] | None = None
    ) -> list[tuple[dict, dict, dict]]:
        """(line values, item, warehouse) per detailItem; ``fill`` supplies defaults (sales returns)."""
        raw_lines = errors.guard(lambda: _lines(data, "detailItem"), []) or []
        if not raw_lines:
            errors.add("Rincian barang (detailItem) harus diisi")
            return []
        result = []
        for index, line in enumerate(raw_lines):
            where = f"detailItem[{index}]: "
            if blank(line.get("itemNo")):
                errors.add(f"{where}Barang (itemNo) harus diisi")
                continue
            item = self._ref(repo, "item", line.get("itemNo"), errors, where)
            if item is None:
                continue
            if fill is not None:
                line = fill(index, line, item)
                if line is None:
                    continue
            for name, label in (("quantity", "Kuantitas"), ("unitPrice", "Harga Satuan")):
                if blank(line.get(name)):
                    errors.add(f"{where}{label} ({name}) harus diisi")
            if blank(line.get("quantity")) or blank(line.get("unitPrice")):
                continue
            warehouse = self._warehouse(repo, line.get("warehouseName"), errors, where)
            values = self._line_amount(line, errors, where)
            if values is None or warehouse is None:
                continue
            values["useTax1"] = bool(values["useTax1"])
            values["tax1Name"] = item.get("tax1Name")
            values["tax1Rate"] = self._tax_rate(item.get("tax1Name")) * 100  # percent, as the header's
            values.update(
                {
                    "itemNo": item["no"],
                    "item": _pick(item, "id", "no", "name", "itemType"),
                    "detailName": text(line.get("detailName")) or item["name"],
                    "itemUnitName": text(line.get("itemUnitName")) or item.get("unit1Name"),
                    "warehouseName": warehouse["name"],
                    "warehouse": _pick(warehouse, "id", "name"),
                    "detailNotes": text(line.get("detailNotes")),
                }
            )
            result.append((values, item, warehouse))
        return result

    def _header(self, repo: Repo, module: Module, data: dict, errors: Errors, fields: dict[str, str]) -> date | None:
        self._no_update(module, data)
        if not blank(data.get(module.key_field)):  # a retried write learns "already there" before anything else
            self._unique_number(repo, module, data, None)
        _required(errors, data, fields)
        return (
            errors.guard(lambda: parse_date(data["transDate"], "transDate"))
            if not blank(data.get("transDate"))
            else None
        )

    # ------------------------------------------------------------ sales invoice
    def _save_sales_invoice(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        errors = Errors()
        trans = self._header(repo, module, data, errors, {"customerNo": "Pelanggan", "transDate": "Tanggal"})
        customer = self._ref(repo, "customer", data.get("customerNo"), errors)
        branch = self._branch(repo, data, errors)
        lines = self._item_lines(repo, data, errors)
        expenses = self._expenses(repo, data, errors)
        errors.raise_if_any()
        totals = self._totals([values for values, _, _ in lines], expenses, data, errors)
        errors.raise_if_any()
        number = self._unique_number(repo, module, data, trans)
        detail = []
        for values, item, warehouse in lines:
            values["id"] = repo.counter("line", 1)
            detail.append(values)
            self._stock_add(repo, item, warehouse, -values["quantity"])
        assert customer is not None and trans is not None
        record = {
            **_scalars(data, {"id", "detailItem", "detailExpense", "detailDownPayment"}),
            "number": number,
            "transDate": fmt_date(trans),
            "dueDate": fmt_date(trans),
            "customerNo": customer["customerNo"],
            "customer": _pick(customer, "id", "customerNo", "name"),
            "branchName": branch,
            "description": text(data.get("description")),
            "detailItem": detail,
            "detailExpense": expenses,
            **totals,
            "receiptAmount": ZERO,
            "returnAmount": ZERO,
            "primeOwing": totals["totalAmount"],
            "outstanding": totals["totalAmount"] > 0,
            "statusName": "Belum Lunas" if totals["totalAmount"] > 0 else "Lunas",
        }
        return self._store(repo, module, record, None, number)

    def _settle(self, invoice: dict) -> None:
        owing = invoice["totalAmount"] - invoice["receiptAmount"] - invoice["returnAmount"]
        invoice["primeOwing"] = owing
        invoice["outstanding"] = owing > 0
        invoice["statusName"] = "Belum Lunas" if owing > 0 else "Lunas"

    # ------------------------------------------------------------ sales receipt
    def _save_sales_receipt(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        errors = Errors()
        fields = {
            "customerNo": "Pelanggan",
            "bankNo": "Akun Kas/Bank",
            "chequeAmount": "Jumlah Cek",
            "transDate": "Tanggal",
        }
        trans = self._header(repo, module, data, errors, fields)
        customer = self._ref(repo, "customer", data.get("customerNo"), errors)
        bank = self._ref(repo, "glaccount", data.get("bankNo"), errors)
        if bank is not None and bank["accountType"] != "CASH_BANK":
            errors.add(f'Akun Perkiraan "{bank["no"]}" bukan akun Kas/Bank')
        branch = self._branch(repo, data, errors)
        cheque = (
            errors.guard(lambda: parse_number(data["chequeAmount"], "chequeAmount"))
            if not blank(data.get("chequeAmount"))
            else None
        )
        method = text(data.get("paymentMethod"))
        if method is not None and method not in PAYMENT_METHODS:
            errors.add(
                f'Metode Pembayaran (paymentMethod) "{method}" tidak valid, gunakan {", ".join(PAYMENT_METHODS)}'
            )
        pass_date = (
            parse_bool(data["passValidateInvoiceDate"], "passValidateInvoiceDate")
            if not blank(data.get("passValidateInvoiceDate"))
            else False
        )
        raw = errors.guard(lambda: _lines(data, "detailInvoice"), []) or []
        if not raw:
            errors.add("Rincian faktur (detailInvoice) harus diisi")
        errors.raise_if_any()
        assert customer is not None and trans is not None and cheque is not None
        paid: list[tuple[dict, dict]] = []
        seen: set[str] = set()
        total_paid = ZERO
        for index, line in enumerate(raw):
            where = f"detailInvoice[{index}]: "
            if blank(line.get("invoiceNo")):
                errors.add(f"{where}Faktur (invoiceNo) harus diisi")
                continue
            invoice = self._ref(repo, "sales-invoice", line.get("invoiceNo"), errors, where)
            amount = errors.guard(
                lambda line=line, where=where: parse_number(line.get("paymentAmount"), f"{where}paymentAmount")
            )
            if invoice is None or amount is None:
                continue
            number = invoice["number"]
            if number in seen:
                errors.add(f'{where}Faktur "{number}" muncul lebih dari sekali')
                continue
            seen.add(number)
            if invoice["customerNo"] != customer["customerNo"]:
                errors.add(f'{where}Faktur "{number}" bukan milik Pelanggan "{customer["customerNo"]}"')
                continue
            discounts = []
            for d_index, disc in enumerate(errors.guard(lambda line=line: _lines(line, "detailDiscount"), []) or []):
                d_where = f"{where}detailDiscount[{d_index}]: "
                account = self._ref(repo, "glaccount", disc.get("accountNo"), errors, d_where)
                d_amount = errors.guard(
                    lambda disc=disc, d_where=d_where: parse_number(disc.get("amount"), f"{d_where}amount")
                )
                if account is not None and d_amount is not None:
                    discounts.append(
                        {
                            "accountNo": account["no"],
                            "amount": round2(d_amount),
                            "discountNotes": text(disc.get("discountNotes")),
                        }
                    )
            discount_total = sum((disc["amount"] for disc in discounts), ZERO)
            if amount <= 0:
                errors.add(f'{where}Nilai pembayaran (paymentAmount) Faktur "{number}" harus lebih besar dari 0')
                continue
            owing = invoice["primeOwing"]
            if amount + discount_total > owing:
                errors.add(
                    f'{where}Nilai pembayaran Faktur "{number}" ({amount + discount_total}) melebihi sisa piutang'
                    f" ({owing})"
                )
                continue
            if not pass_date and trans < parse_date(invoice["transDate"], "transDate"):
                errors.add(f'{where}Tanggal pembayaran tidak boleh lebih kecil dari tanggal Faktur "{number}"')
                continue
            total_paid += amount
            paid.append(
                (
                    invoice,
                    {
                        "invoiceNo": number,
                        "invoice": _pick(invoice, "id", "number"),
                        "paymentAmount": round2(amount),
                        "detailDiscount": discounts,
                        "discountAmount": discount_total,
                    },
                )
            )
        errors.raise_if_any()
        if round2(cheque) != round2(total_paid):
            raise ApiError(f"Jumlah Cek (chequeAmount) {cheque} tidak sama dengan total pembayaran faktur {total_paid}")
        number = self._unique_number(repo, module, data, trans)
        detail = []
        for invoice, line in paid:
            line["id"] = repo.counter("line", 1)
            invoice["receiptAmount"] += line["paymentAmount"] + line["discountAmount"]
            self._settle(invoice)
            repo.update(invoice["id"], invoice["number"], invoice)
            detail.append(line)
        record = {
            **_scalars(data, {"id", "detailInvoice"}),
            "number": number,
            "transDate": fmt_date(trans),
            "customerNo": customer["customerNo"],
            "customer": _pick(customer, "id", "customerNo", "name"),
            "bankNo": bank["no"],  # type: ignore[index]
            "bank": _pick(bank, "id", "no", "name"),  # type: ignore[arg-type]
            "chequeAmount": round2(cheque),
            "totalPayment": total_paid,
            "paymentMethod": method,
            "branchName": branch,
            "detailInvoice": detail,
        }
        return self._store(repo, module, record, None, number)

    # ------------------------------------------------------------ sales return
    def _save_sales_return(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        errors = Errors()
        fields = {"customerNo": "Pelanggan", "transDate": "Tanggal", "returnType": "Tipe Retur"}
        trans = self._header(repo, module, data, errors, fields)
        customer = self._ref(repo, "customer", data.get("customerNo"), errors)
        branch = self._branch(repo, data, errors)
        return_type = text(data.get("returnType"))
        if return_type is not None and return_type not in RETURN_TYPES:
            errors.add(f'Tipe Retur (returnType) "{return_type}" tidak valid, gunakan {", ".join(RETURN_TYPES)}')
        elif return_type in ("DELIVERY", "INVOICE_DP"):
            errors.add(f"Sandbox: Tipe Retur {return_type} tidak diemulasikan (gunakan INVOICE atau NO_INVOICE)")
        invoice = None
        if return_type == "INVOICE":
            if blank(data.get("invoiceNumber")):
                errors.add("Faktur (invoiceNumber) harus diisi untuk Tipe Retur INVOICE")
            else:
                invoice = self._ref(repo, "sales-invoice", data.get("invoiceNumber"), errors)
        errors.raise_if_any()
        assert customer is not None and trans is not None
        if invoice is not None and invoice["customerNo"] != customer["customerNo"]:
            raise ApiError(f'Faktur "{invoice["number"]}" bukan milik Pelanggan "{customer["customerNo"]}"')
        returned_before: dict[str, Any] = dict(invoice.get("returnedQuantity", {})) if invoice else {}
        sold: dict[str, Decimal] = {}
        by_item: dict[str, dict] = {}
        if invoice is not None:
            for line in invoice["detailItem"]:
                sold[line["itemNo"]] = sold.get(line["itemNo"], ZERO) + line["quantity"]
                by_item.setdefault(line["itemNo"], line)

        def fill(index: int, line: dict, item: dict) -> dict | None:
            if invoice is None:
                return line
            source = by_item.get(item["no"])
            if source is None:
                errors.add(f'detailItem[{index}]: Barang "{item["no"]}" tidak ada di Faktur "{invoice["number"]}"')
                return None
            filled = dict(line)
            for name in ("unitPrice", "itemDiscPercent", "useTax1", "warehouseName"):
                if name not in filled or blank(filled[name]):
                    filled[name] = source.get(name)
            if "itemCashDiscount" not in filled and source["itemCashDiscount"] and not blank(line.get("quantity")):
                quantity = errors.guard(lambda: parse_number(line["quantity"], "quantity"), ZERO)
                filled["itemCashDiscount"] = round2(source["itemCashDiscount"] * quantity / source["quantity"])
            return filled

        lines = self._item_lines(repo, data, errors, fill=fill)
        expenses = self._expenses(repo, data, errors)
        errors.raise_if_any()
        if invoice is not None:
            wanted: dict[str, Decimal] = {}
            for values, _, _ in lines:
                wanted[values["itemNo"]] = wanted.get(values["itemNo"], ZERO) + values["quantity"]
            for item_no, quantity in wanted.items():
                before = Decimal(str(returned_before.get(item_no, 0)))
                left = sold[item_no] - before
                if quantity > left:
                    errors.add(
                        f'Kuantitas retur Barang "{item_no}" ({quantity}) melebihi sisa yang dapat diretur ({left};'
                        f" terjual {sold[item_no]}, sudah diretur {before})"
                    )
            errors.raise_if_any()
        defaults = {"taxable": invoice["taxable"], "inclusiveTax": invoice["inclusiveTax"]} if invoice else None
        totals = self._totals([values for values, _, _ in lines], expenses, data, errors, defaults)
        errors.raise_if_any()
        number = self._unique_number(repo, module, data, trans)
        detail = []
        for values, item, warehouse in lines:
            values["id"] = repo.counter("line", 1)
            detail.append(values)
            self._stock_add(repo, item, warehouse, values["quantity"])
            returned_before[values["itemNo"]] = (
                Decimal(str(returned_before.get(values["itemNo"], 0))) + values["quantity"]
            )
        applied = ZERO
        if invoice is not None:
            applied = min(totals["totalAmount"], max(invoice["primeOwing"], ZERO))
            invoice["returnAmount"] += applied
            invoice["returnedQuantity"] = returned_before
            self._settle(invoice)
            repo.update(invoice["id"], invoice["number"], invoice)
        record = {
            **_scalars(data, {"id", "detailItem", "detailExpense"}),
            "number": number,
            "transDate": fmt_date(trans),
            "returnType": return_type,
            "customerNo": customer["customerNo"],
            "customer": _pick(customer, "id", "customerNo", "name"),
            "invoiceNumber": invoice["number"] if invoice else None,
            "invoice": _pick(invoice, "id", "number") if invoice else None,
            "branchName": branch,
            "detailItem": detail,
            "detailExpense": expenses,
            **totals,
            "appliedToInvoiceAmount": applied,
        }
        return self._store(repo, module, record, None, number)

    # ------------------------------------------------------------ other payment
    def _save_other_payment(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        """Money paid out of a cash/bank account (``bankNo``) to a payee, booked to the accounts of its
        ``detailAccount`` lines (``accountNo``, ``amount``, ``expenseName`` required, as the openapi says)."""
        errors = Errors()
        fields = {"bankNo": "Akun Kas/Bank", "payee": "Penerima", "transDate": "Tanggal"}
        trans = self._header(repo, module, data, errors, fields)
        bank = self._ref(repo, "glaccount", data.get("bankNo"), errors)
        if bank is not None and bank["accountType"] != "CASH_BANK":
            errors.add(f'Akun Perkiraan "{bank["no"]}" bukan akun Kas/Bank')
        branch = self._branch(repo, data, errors)
        raw = errors.guard(lambda: _lines(data, "detailAccount"), []) or []
        if not raw:
            errors.add("Rincian akun (detailAccount) harus diisi")
        detail = []
        for index, line in enumerate(raw):
            where = f"detailAccount[{index}]: "
            for name, label in (("accountNo", "Akun"), ("amount", "Jumlah"), ("expenseName", "Nama")):
                if blank(line.get(name)):
                    errors.add(f"{where}{label} ({name}) harus diisi")
            if blank(line.get("accountNo")) or blank(line.get("amount")):
                continue
            account = self._ref(repo, "glaccount", line.get("accountNo"), errors, where)
            amount = errors.guard(lambda line=line, where=where: parse_number(line.get("amount"), f"{where}amount"))
            if account is None or amount is None:
                continue
            detail.append({
                "accountNo": account["no"],
                "account": _pick(account, "id", "no", "name"),
                "amount": round2(amount),
                "expenseName": text(line.get("expenseName")),
                "memo": text(line.get("memo")),
            })
        errors.raise_if_any()
        total = sum((line["amount"] for line in detail), ZERO)
        if total <= 0:
            raise ApiError(f"Jumlah pembayaran ({total}) harus lebih besar dari 0")
        assert trans is not None and bank is not None
        number = self._unique_number(repo, module, data, trans)
        for line in detail:
            line["id"] = repo.counter("line", 1)
        record = {
            **_scalars(data, {"id", "detailAccount"}),
            "number": number,
            "transDate": fmt_date(trans),
            "bankNo": bank["no"],
            "bank": _pick(bank, "id", "no", "name"),
            "payee": text(data.get("payee")),
            "branchName": branch,
            "description": text(data.get("description")),
            "detailAccount": detail,
            "amount": total,
        }
        return self._store(repo, module, record, None, number)

    def _delete_other_payment(self, repo: Repo, record: dict) -> None:
        """An other payment settles nothing and moves no stock: deleting it only removes it."""

    # ------------------------------------------------------------ receive item
    def _save_receive_item(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        errors = Errors()
        fields = {"vendorNo": "Pemasok", "receiveNumber": "No. Terima (receiveNumber)", "transDate": "Tanggal"}
        trans = self._header(repo, module, data, errors, fields)
        vendor = self._ref(repo, "vendor", data.get("vendorNo"), errors)
        branch = self._branch(repo, data, errors)
        ship = (
            errors.guard(lambda: parse_date(data["shipDate"], "shipDate")) if not blank(data.get("shipDate")) else None
        )
        lines = self._item_lines(repo, data, errors)
        errors.raise_if_any()
        assert vendor is not None and trans is not None
        number = self._unique_number(repo, module, data, trans)
        detail = []
        for values, item, warehouse in lines:
            values["id"] = repo.counter("line", 1)
            detail.append(values)
            self._stock_add(repo, item, warehouse, values["quantity"])
        subtotal = sum((values["totalPrice"] for values in detail), ZERO)
        record = {
            **_scalars(data, {"id", "detailItem"}),
            "number": number,
            "receiveNumber": text(data.get("receiveNumber")),
            "transDate": fmt_date(trans),
            "shipDate": fmt_date(ship) if ship else fmt_date(trans),
            "vendorNo": vendor["vendorNo"],
            "vendor": _pick(vendor, "id", "vendorNo", "name"),
            "branchName": branch,
            "description": text(data.get("description")),
            "detailItem": detail,
            "subTotal": subtotal,
            "totalAmount": subtotal,
        }
        return self._store(repo, module, record, None, number)

    # ------------------------------------------------------------ purchase order
    def _save_purchase_order(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        """An order to a vendor: priced lines, no stock and no warehouse (the spec's detailItem has none; goods
        reach a warehouse when received, receive-item ``purchaseOrderNumber``)."""
        errors = Errors()
        trans = self._header(repo, module, data, errors, {"vendorNo": "Pemasok", "transDate": "Tanggal"})
        vendor = self._ref(repo, "vendor", data.get("vendorNo"), errors)
        branch = self._branch_fields(repo, data, errors)
        ship = (
            errors.guard(lambda: parse_date(data["shipDate"], "shipDate")) if not blank(data.get("shipDate")) else None
        )
        raw = errors.guard(lambda: _lines(data, "detailItem"), []) or []
        lines = self._item_lines(repo, {"detailItem": [{k: v for k, v in line.items() if k != "warehouseName"}
                                                       for line in raw]}, errors)
        errors.raise_if_any()
        assert vendor is not None and trans is not None
        number = self._unique_number(repo, module, data, trans)
        detail = []
        for values, _item, _warehouse in lines:
            values.pop("warehouseName")
            values.pop("warehouse")
            values["id"] = repo.counter("line", 1)
            detail.append(values)
        subtotal = sum((values["totalPrice"] for values in detail), ZERO)
        record = {
            **_scalars(data, {"id", "detailItem"}),
            "number": number,
            "transDate": fmt_date(trans),
            "shipDate": fmt_date(ship) if ship else None,
            "vendorNo": vendor["vendorNo"],
            "vendor": _pick(vendor, "id", "vendorNo", "name"),
            **branch,
            "description": text(data.get("description")),
            "detailItem": detail,
            "subTotal": subtotal,
            "totalAmount": subtotal,
        }
        return self._store(repo, module, record, None, number)

    def _delete_purchase_order(self, repo: Repo, record: dict) -> None:
        """An order moves no stock: deleting it only removes it."""

    # ------------------------------------------------------------ stock documents: shared line checks
    def _stock_item(self, repo: Repo, line: dict, errors: Errors, where: str) -> dict | None:
        """The line's item: required, existing, and an INVENTORY item (only those have stock to move)."""
        if blank(line.get("itemNo")):
            errors.add(f"{where}Barang (itemNo) harus diisi")
            return None
        item = self._ref(repo, "item", line.get("itemNo"), errors, where)
        if item is not None and item.get("itemType") != "INVENTORY":
            errors.add(
                f'{where}Barang & Jasa "{item["no"]}" bukan barang persediaan (itemType {item.get("itemType")});'
                " hanya barang INVENTORY yang memiliki stok"
            )
            return None
        return item

    def _quantity(self, line: dict, errors: Errors, where: str) -> Decimal | None:
        if blank(line.get("quantity")):
            errors.add(f"{where}Kuantitas (quantity) harus diisi")
            return None
        quantity = errors.guard(lambda: parse_number(line["quantity"], f"{where}quantity"))
        if quantity is not None and quantity <= 0:
            errors.add(f"{where}Kuantitas (quantity) harus lebih besar dari 0")
            return None
        return quantity

    def _approval(self, data: dict, errors: Errors) -> str:
        status = text(data.get("saveAsStatusType"))
        if status is None or status == "APPROVED":
            return "APPROVED"
        if status not in APPROVAL_STATUSES:
            errors.add(f'Status (saveAsStatusType) "{status}" tidak valid, gunakan {", ".join(APPROVAL_STATUSES)}')
        else:
            errors.add(f"Sandbox: saveAsStatusType {status} tidak diemulasikan (kosongkan atau gunakan APPROVED)")
        return status

    # ------------------------------------------------------------ item transfer
    def _save_item_transfer(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        """TRANSFER_OUT: warehouseName -> transit; TRANSFER_IN (fromItemTransferNo): transit -> warehouseName,
        closing the OUT; what the IN does not receive is written off to differenceItemTransferAccountNo."""
        errors = Errors()
        fields = {"itemTransferType": "Tipe Pemindahan", "transDate": "Tanggal", "warehouseName": "Gudang"}
        trans = self._header(repo, module, data, errors, fields)
        kind = text(data.get("itemTransferType"))
        if kind is not None and kind not in TRANSFER_TYPES:
            errors.add(
                f'Tipe Pemindahan (itemTransferType) "{kind}" tidak valid, gunakan TRANSFER_OUT atau TRANSFER_IN'
            )
            kind = None
        self._approval(data, errors)
        branch = self._branch_fields(repo, data, errors)
        warehouse = (
            self._warehouse(repo, data["warehouseName"], errors, "") if not blank(data.get("warehouseName")) else None
        )
        reference = (
            self._warehouse(repo, data["referenceWarehouseName"], errors, "")
            if not blank(data.get("referenceWarehouseName"))
            else None
        )
        account = self._ref(repo, "glaccount", data.get("differenceItemTransferAccountNo"), errors)
        out = None
        if kind == "TRANSFER_OUT":
            if blank(data.get("referenceWarehouseName")):
                errors.add("Gudang Tujuan (referenceWarehouseName) harus diisi untuk TRANSFER_OUT")
            if not blank(data.get("fromItemTransferNo")):
                errors.add("Pemindahan Barang asal (fromItemTransferNo) hanya dipakai untuk TRANSFER_IN")
        elif kind == "TRANSFER_IN":
            if blank(data.get("fromItemTransferNo")):
                errors.add("Pemindahan Barang asal (fromItemTransferNo) harus diisi untuk TRANSFER_IN")
            else:
                out = self._ref(repo, "item-transfer", data.get("fromItemTransferNo"), errors)
        lines = self._transfer_lines(repo, data, errors)
        errors.raise_if_any()
        assert trans is not None and warehouse is not None
        common = {
            **_scalars(data, {"id", "detailItem"}),
            "transDate": fmt_date(trans),
            "warehouseName": warehouse["name"],
            "warehouseId": warehouse["id"],
            "warehouse": _pick(warehouse, "id", "name"),
            **branch,
            "description": text(data.get("description")),
            "approvalStatus": "APPROVED",
            "differenceItemTransferAccountNo": account["no"] if account else None,
            "differenceItemTransferAccount": _pick(account, "id", "no", "name") if account else None,
        }
        if kind == "TRANSFER_OUT":
            assert reference is not None
            return self._transfer_out(repo, module, data, trans, common, warehouse, reference, lines)
        assert out is not None
        return self._transfer_in(repo, module, data, trans, common, warehouse, reference, account, out, lines)

    def _transfer_lines(self, repo: Repo, data: dict, errors: Errors) -> list[tuple[dict, dict]]:
        raw_lines = errors.guard(lambda: _lines(data, "detailItem"), []) or []
        if not raw_lines:
            errors.add("Rincian barang (detailItem) harus diisi")
            return []
        result = []
        for index, line in enumerate(raw_lines):
            where = f"detailItem[{index}]: "
            item = self._stock_item(repo, line, errors, where)
            quantity = self._quantity(line, errors, where)
            if item is None or quantity is None:
                continue
            values = {
                "itemNo": item["no"],
                "item": _pick(item, "id", "no", "name", "itemType"),
                "detailName": text(line.get("detailName")) or item["name"],
                "quantity": quantity,
                "itemUnitName": text(line.get("itemUnitName")) or item.get("unit1Name"),
                "detailNotes": text(line.get("detailNotes")),
            }
            result.append((values, item))
        return result

    def _transfer_out(
        self,
        repo: Repo,
        module: Module,
        data: dict,
        trans: date,
        common: dict,
        warehouse: dict,
        reference: dict,
        lines: list[tuple[dict, dict]],
    ) -> tuple[dict, bool]:
        if warehouse["id"] == reference["id"]:
            raise ApiError(f'Gudang asal dan Gudang Tujuan tidak boleh sama ("{warehouse["name"]}")')
        number = self._unique_number(repo, module, data, trans)
        transit = self._transit(repo)
        detail = []
        for values, item in lines:
            quantity = values["quantity"]
            values.update(
                {
                    "id": repo.counter("line", 1),
                    "quantityReceived": ZERO,
                    "quantityDifference": ZERO,
                    "quantityInTransit": quantity,
                }
            )
            detail.append(values)
            self._stock_add(repo, item, warehouse, -quantity)
            self._stock_add(repo, item, transit, quantity)
        total = sum((values["quantity"] for values in detail), ZERO)
        record = {
            **common,
            "number": number,
            "itemTransferType": "TRANSFER_OUT",
            "referenceWarehouseName": reference["name"],
            "referenceWarehouseId": reference["id"],
            "referenceWarehouse": _pick(reference, "id", "name"),
            "itemTransferOutStatus": "SENDING",
            "itemTransferInNo": None,
            "itemTransferIn": None,
            "totalQuantity": total,
            "totalQuantityInTransit": total,
            "detailItem": detail,
        }
        return self._store(repo, module, record, None, number)

    def _transfer_in(
        self,
        repo: Repo,
        module: Module,
        data: dict,
        trans: date,
        common: dict,
        warehouse: dict,
        reference: dict | None,
        account: dict | None,
        out: dict,
        lines: list[tuple[dict, dict]],
    ) -> tuple[dict, bool]:
        out_no = out["number"]
        if out["itemTransferType"] != "TRANSFER_OUT":
            raise ApiError(
                f'Pemindahan Barang "{out_no}" bukan pengiriman barang (TRANSFER_OUT); fromItemTransferNo harus'
                " nomor Pemindahan Barang TRANSFER_OUT"
            )
        if out.get("itemTransferInNo"):
            raise ApiError(
                f'Pemindahan Barang "{out_no}" sudah diterima dengan Pemindahan Barang "{out["itemTransferInNo"]}"'
            )
        errors = Errors()
        if warehouse["id"] != out["referenceWarehouseId"]:
            errors.add(
                f'Gudang (warehouseName) "{warehouse["name"]}" bukan Gudang Tujuan Pemindahan Barang "{out_no}"'
                f' (barang dikirim ke "{out["referenceWarehouseName"]}")'
            )
        if reference is not None and reference["id"] != out["warehouseId"]:
            errors.add(
                f'Gudang Asal (referenceWarehouseName) "{reference["name"]}" bukan gudang asal Pemindahan Barang'
                f' "{out_no}" ("{out["warehouseName"]}")'
            )
        if trans < parse_date(out["transDate"], "transDate"):
            errors.add(
                f'Tanggal terima ({fmt_date(trans)}) tidak boleh lebih kecil dari tanggal Pemindahan Barang "{out_no}"'
                f" ({out['transDate']})"
            )
        sent: dict[str, Decimal] = {}
        for line in out["detailItem"]:
            sent[line["itemNo"]] = sent.get(line["itemNo"], ZERO) + _dec(line["quantity"])
        received: dict[str, Decimal] = {}
        for index, (values, _item) in enumerate(lines):
            if values["itemNo"] not in sent:
                errors.add(
                    f'detailItem[{index}]: Barang "{values["itemNo"]}" tidak ada di Pemindahan Barang "{out_no}"'
                )
                continue
            received[values["itemNo"]] = received.get(values["itemNo"], ZERO) + values["quantity"]
        for item_no, quantity in received.items():
            if quantity > sent[item_no]:
                errors.add(
                    f'Kuantitas terima Barang "{item_no}" ({quantity}) melebihi kuantitas kirim Pemindahan Barang'
                    f' "{out_no}" ({sent[item_no]})'
                )
        errors.raise_if_any()
        differences = [
            {
                "itemNo": item_no,
                "quantitySent": quantity,
                "quantityReceived": received.get(item_no, ZERO),
                "quantityDifference": quantity - received.get(item_no, ZERO),
            }
            for item_no, quantity in sent.items()
            if received.get(item_no, ZERO) < quantity
        ]
        if differences and account is None:
            listed = "; ".join(
                f'Barang "{d["itemNo"]}" kirim {d["quantitySent"]} terima {d["quantityReceived"]}' for d in differences
            )
            raise ApiError(
                "Akun Selisih Pemindahan Barang (differenceItemTransferAccountNo) harus diisi: kuantitas terima lebih"
                f' kecil dari kuantitas kirim Pemindahan Barang "{out_no}" ({listed})'
            )
        number = self._unique_number(repo, module, data, trans)
        transit = self._transit(repo)
        detail = []
        for values, item in lines:
            values["id"] = repo.counter("line", 1)
            detail.append(values)
            self._stock_add(repo, item, warehouse, values["quantity"])
        left = dict(received)
        for line in out["detailItem"]:
            quantity = _dec(line["quantity"])
            item = repo.by_id("item", line["item"]["id"])
            if item is not None:  # everything sent leaves transit: received into the warehouse, the rest written off
                self._stock_add(repo, item, transit, -quantity)
            got = min(quantity, left.get(line["itemNo"], ZERO))
            left[line["itemNo"]] = left.get(line["itemNo"], ZERO) - got
            line.update({"quantityReceived": got, "quantityDifference": quantity - got, "quantityInTransit": ZERO})
        record = {
            **common,
            "number": number,
            "itemTransferType": "TRANSFER_IN",
            "fromItemTransferNo": out_no,
            "fromItemTransfer": _pick(out, "id", "number"),
            "referenceWarehouseName": out["warehouseName"],
            "referenceWarehouseId": out["warehouseId"],
            "referenceWarehouse": out["warehouse"],
            "totalQuantity": sum((values["quantity"] for values in detail), ZERO),
            "totalQuantityDifference": sum((d["quantityDifference"] for d in differences), ZERO),
            "detailDifference": differences,
            "detailItem": detail,
        }
        stored, created = self._store(repo, module, record, None, number)
        out.update(
            {
                "itemTransferOutStatus": "PARTIAL_RECEIVED" if differences else "FULL_RECEIVED",
                "itemTransferInNo": number,
                "itemTransferIn": {"id": stored["id"], "number": number},
                "totalQuantityInTransit": ZERO,
            }
        )
        repo.update(out["id"], out["number"], out)
        return stored, created

    def _delete_item_transfer(self, repo: Repo, record: dict) -> None:
        """An OUT (not yet received) returns its goods from transit to its warehouse; an IN takes its goods out of
        its warehouse, puts everything the OUT sent back into transit and reopens the OUT (SENDING)."""
        transit = self._transit(repo)
        if record["itemTransferType"] == "TRANSFER_OUT":
            if record.get("itemTransferInNo"):
                raise ApiError(
                    f'Pemindahan Barang "{record["number"]}" sudah diterima dengan Pemindahan Barang'
                    f' "{record["itemTransferInNo"]}"; hapus penerimaan tersebut terlebih dahulu'
                )
            for line in record["detailItem"]:
                item = repo.by_id("item", line["item"]["id"])
                if item is not None:
                    self._stock_add(repo, item, transit, -_dec(line["quantity"]))
                    self._stock_add(repo, item, record["warehouse"], _dec(line["quantity"]))
            return
        for line in record["detailItem"]:
            item = repo.by_id("item", line["item"]["id"])
            if item is not None:
                self._stock_add(repo, item, record["warehouse"], -_dec(line["quantity"]))
        out = repo.by_id("item-transfer", record["fromItemTransfer"]["id"])
        if out is None:
            return
        for line in out["detailItem"]:
            quantity = _dec(line["quantity"])
            item = repo.by_id("item", line["item"]["id"])
            if item is not None:
                self._stock_add(repo, item, transit, quantity)
            line.update({"quantityReceived": ZERO, "quantityDifference": ZERO, "quantityInTransit": quantity})
        out.update(
            {
                "itemTransferOutStatus": "SENDING",
                "itemTransferInNo": None,
                "itemTransferIn": None,
                "totalQuantityInTransit": out["totalQuantity"],
            }
        )
        repo.update(out["id"], out["number"], out)

    # ------------------------------------------------------------ item adjustment
    def _save_item_adjustment(self, repo: Repo, module: Module, data: dict) -> tuple[dict, bool]:
        """ADJUSTMENT_IN lines add to their warehouse, ADJUSTMENT_OUT lines take away."""
        errors = Errors()
        fields = {"adjustmentAccountNo": "Akun Penyesuaian", "transDate": "Tanggal"}
        trans = self._header(repo, module, data, errors, fields)
        account = self._ref(repo, "glaccount", data.get("adjustmentAccountNo"), errors)
        branch = self._branch_fields(repo, data, errors)
        raw_lines = errors.guard(lambda: _lines(data, "detailItem"), []) or []
        if not raw_lines:
            errors.add("Rincian barang (detailItem) harus diisi")
        lines: list[tuple[dict, dict, dict]] = []
        for index, line in enumerate(raw_lines):
            where = f"detailItem[{index}]: "
            item = self._stock_item(repo, line, errors, where)
            kind = text(line.get("itemAdjustmentType"))
            if kind is None:
                errors.add(f"{where}Tipe Penyesuaian (itemAdjustmentType) harus diisi")
            elif kind not in ADJUSTMENT_TYPES:
                errors.add(
                    f'{where}Tipe Penyesuaian (itemAdjustmentType) "{kind}" tidak valid, gunakan ADJUSTMENT_IN atau'
                    " ADJUSTMENT_OUT"
                )
                kind = None
            quantity = self._quantity(line, errors, where)
            cost = None
            if blank(line.get("unitCost")):
                errors.add(f"{where}Biaya Satuan (unitCost) harus diisi")
            else:
                cost = errors.guard(lambda line=line, where=where: parse_number(line["unitCost"], f"{where}unitCost"))
                if cost is not None and cost < 0:
                    errors.add(f"{where}Biaya Satuan (unitCost) tidak boleh negatif")
                    cost = None
            warehouse = self._warehouse(repo, line.get("warehouseName"), errors, where)
            if item is None or kind is None or quantity is None or cost is None or warehouse is None:
                continue
            adds = kind == "ADJUSTMENT_IN"
            values = {
                "itemNo": item["no"],
                "item": _pick(item, "id", "no", "name", "itemType"),
                "detailName": text(line.get("detailName")) or item["name"],
                "itemAdjustmentType": kind,
                "quantity": quantity,
                "unitCost": cost if adds else None,  # read for ADJUSTMENT_IN only
                "totalCost": round2(quantity * cost) if adds else None,
                "itemUnitName": text(line.get("itemUnitName")) or item.get("unit1Name"),
                "warehouseName": warehouse["name"],
                "warehouse": _pick(warehouse, "id", "name"),
                "detailNotes": text(line.get("detailNotes")),
            }
            lines.append((values, item, warehouse))
        errors.raise_if_any()
        assert trans is not None and account is not None
        number = self._unique_number(repo, module, data, trans)
        detail = []
        for values, item, warehouse in lines:
            values["id"] = repo.counter("line", 1)
            detail.append(values)
            sign = 1 if values["itemAdjustmentType"] == "ADJUSTMENT_IN" else -1
            self._stock_add(repo, item, warehouse, sign * values["quantity"])
        record = {
            **_scalars(data, {"id", "detailItem"}),
            "number": number,
            "transDate": fmt_date(trans),
            "adjustmentAccountNo": account["no"],
            "adjustmentAccount": _pick(account, "id", "no", "name"),
            **branch,
            "description": text(data.get("description")),
            "detailItem": detail,
        }
        return self._store(repo, module, record, None, number)

    def _delete_item_adjustment(self, repo: Repo, record: dict) -> None:
        for line in record["detailItem"]:
            item = repo.by_id("item", line["item"]["id"])
            if item is not None:
                sign = -1 if line["itemAdjustmentType"] == "ADJUSTMENT_IN" else 1
                self._stock_add(repo, item, line["warehouse"], sign * _dec(line["quantity"]))

    def _delete_sales_invoice(self, repo: Repo, record: dict) -> None:
        used_by = [label for label, amount in (("Penerimaan Penjualan", record["receiptAmount"]),
                                               ("Retur Penjualan", record["returnAmount"])) if _dec(amount)]
        if used_by or record.get("returnedQuantity"):
            raise ApiError(f'Faktur Penjualan "{record["number"]}" tidak bisa dihapus karena sudah digunakan di '
                           f'{" dan ".join(used_by or ["Retur Penjualan"])}')
        for line in record["detailItem"]:
            item = repo.by_id("item", line["item"]["id"])
            if item is not None:
                self._stock_add(repo, item, line["warehouse"], _dec(line["quantity"]))

    def _delete_sales_receipt(self, repo: Repo, record: dict) -> None:
        for line in record["detailInvoice"]:
            invoice = repo.by_id("sales-invoice", line["invoice"]["id"])
            if invoice is not None:
                invoice["receiptAmount"] = _dec(invoice["receiptAmount"]) - _dec(line["paymentAmount"]) - _dec(
                    line.get("discountAmount") or 0)
                self._settle(invoice)
                repo.update(invoice["id"], invoice["number"], invoice)

    def _delete_sales_return(self, repo: Repo, record: dict) -> None:
        invoice = repo.by_id("sales-invoice", record["invoice"]["id"]) if record.get("invoice") else None
        for line in record["detailItem"]:
            item = repo.by_id("item", line["item"]["id"])
            if item is not None:
                self._stock_add(repo, item, line["warehouse"], -_dec(line["quantity"]))
            if invoice is not None:
                returned = invoice.get("returnedQuantity", {})
                left = _dec(returned.get(line["itemNo"], 0)) - _dec(line["quantity"])
                if left:
                    returned[line["itemNo"]] = left
                else:
                    returned.pop(line["itemNo"], None)
                invoice["returnedQuantity"] = returned
        if invoice is not None:
            invoice["returnAmount"] = _dec(invoice["returnAmount"]) - _dec(record.get("appliedToInvoiceAmount") or 0)
            self._settle(invoice)
            repo.update(invoice["id"], invoice["number"], invoice)

    def delete(self, module_name: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[Event]]:
        module = MODULES[module_name]
        with self.db.transaction() as repo:
            record = self._find(repo, module, params)
            if record is None:
                raise ApiError(NOT_FOUND)
            remover = getattr(self, "_delete_" + module_name.replace("-", "_"), None)
            if remover is not None:
                remover(repo, record)
            else:  # receive-item: its stock leaves the line warehouses again
                for line in record.get("detailItem", []):
                    item = repo.by_id("item", line["item"]["id"])
                    if item is not None:
                        self._stock_add(repo, item, line["warehouse"], -line["quantity"])
            if self.config.deleted_numbers == "kept":  # the number stays taken although nothing holds it
                repo.counter(_retired(module.name, _key(module, str(record[module.key_field]),
                                                        self.config.number_match)))
            repo.delete(record["id"])
        events = self._events(module, record, "DELETE")
        return {"s": True, "d": [f'{module.label} "{record[module.key_field]}" berhasil dihapus']}, events

    # ------------------------------------------------------------ readers
    def _find(self, repo: Repo, module: Module, params: dict[str, Any]) -> dict | None:
        if not blank(params.get("id")):
            try:
                return repo.by_id(module.name, int(str(params["id"])))
            except ValueError:
                return None
        for name in module.detail_params:
            value = self._kept(params.get(name))
            if value is not None:
                return repo.by_key(module.name, _key(module, value, self.config.number_match))
        raise ApiError(f"Parameter id atau {' / '.join(module.detail_params)} harus diisi")

    def detail(self, module_name: str, params: dict[str, Any]) -> dict[str, Any]:
        module = MODULES[module_name]
        with self.db.read() as repo:
            record = self._find(repo, module, params)
            if record is None:
                raise ApiError(NOT_FOUND)
            return {"s": True, "d": self.render(module, record, repo)}

    def render(self, module: Module, record: dict[str, Any], repo: Repo | None = None) -> dict[str, Any]:
        shown = {key: value for key, value in record.items() if not key.startswith("_") and key != "returnedQuantity"}
        if module.name == "item":
            if repo is None:
                with self.db.read() as own:
                    return self.render(module, record, own)
            warehouses = {row["id"]: row for row in repo.all("warehouse")}
            stock = repo.stock(record["id"])
            detail = [
                {"warehouseId": wid, "warehouseName": warehouses[wid]["name"], "balance": quantity}
                for wid, quantity in sorted(stock.items())
                if wid in warehouses
            ]
            shown["detailWarehouseData"] = detail
            shown["balance"] = sum((row["balance"] for row in detail), ZERO)  # goods in transit included
            shown["availableToSell"] = sum(
                (row["balance"] for row in detail if not warehouses[row["warehouseId"]].get("systemWarehouse")), ZERO
            )
        return shown

    def get_stock(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.read() as repo:
            no = text(params.get("no"))
            if no is None:
                raise ApiError("Parameter no harus diisi")
            item = repo.by_key("item", no)
            if item is None:
                raise ApiError(f'Barang & Jasa "{no}" tidak ditemukan')
            stock = repo.stock(item["id"])
            system = {row["id"] for row in repo.all("warehouse") if row.get("systemWarehouse")}
            name = text(params.get("warehouseName"))
            if name is not None:
                warehouse = repo.by_key("warehouse", name.casefold())
                if warehouse is None:
                    raise ApiError(f'Gudang "{name}" tidak ditemukan')
                quantity = stock.get(warehouse["id"], ZERO)
                available = ZERO if warehouse["id"] in system else quantity
            else:
                quantity = sum(stock.values(), ZERO)
                available = sum((q for wid, q in stock.items() if wid not in system), ZERO)
            return {
                "s": True,
                "d": {"itemNo": item["no"], "warehouseName": name, "availableStock": available, "balance": quantity},
            }

    def list(self, module_name: str, params: dict[str, Any]) -> dict[str, Any]:
        module = MODULES[module_name]
        try:
            page = max(int(str(params.get("sp.page") or 1)), 1)
            size = int(str(params.get("sp.pageSize") or self.config.page_size_default))
        except ValueError:
            raise ApiError("sp.page dan sp.pageSize harus berupa angka") from None
        size = min(max(size, 1), self.config.page_size_max)
        filters = _filters(params, module)
        with self.db.read() as repo:
            rows = repo.all(module.name)
            present = {key for row in rows for key in row}
            checks = [check for name, check in filters if name in present]
            rows = [row for row in rows if all(check(row) for check in checks)]
            sort = text(params.get("sp.sort"))
            if sort:
                for part in reversed([p for p in sort.split(";") if p.strip()]):
                    name, _, direction = part.partition("|")
                    name = module.aliases.get(name.strip(), name.strip())
                    rows.sort(
                        key=lambda row, name=name: _sort_key(row.get(name), name),
                        reverse=direction.strip().lower() == "desc",
                    )
            count = len(rows)
            start = (page - 1) * size
            chosen = rows[start : start + size]
            wanted = [f.strip() for f in str(params.get("fields") or "id").split(",") if f.strip()]
            wanted = [module.aliases.get(name, name) for name in wanted]
            if "id" not in wanted:
                wanted.insert(0, "id")
            needs_render = module.name == "item" and any(
                name in ("detailWarehouseData", "balance", "availableToSell") for name in wanted
            )
            out = []
            for row in chosen:
                full = self.render(module, row, repo) if needs_render else row
                out.append({name: full[name] for name in wanted if name in full and not name.startswith("_")})
        return {
            "s": True,
            "d": out,
            "sp": {
                "page": page,
                "sort": sort or None,
                "pageSize": size,
                "pageCount": math.ceil(count / size) if count else 0,
                "rowCount": count,
                "start": start,
                "limit": None,
            },
        }


# ---------------------------------------------------------------- list filters
OPS = (
    "EQUAL",
    "NOT_EQUAL",
    "CONTAIN",
    "BETWEEN",
    "NOT_BETWEEN",
    "GREATER_THAN",
    "GREATER_EQUAL_THAN",
    "LESS_THAN",
    "LESS_EQUAL_THAN",
    "EMPTY",
    "NOT_EMPTY",
)
KEYWORD_FIELDS = ("no", "number", "customerNo", "vendorNo", "name", "description")


def _sort_key(value: Any, name: str) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if name in DATE_FIELDS and isinstance(value, str):
        try:
            return (1, parse_date(value, name).isoformat())
        except ApiError:
            return (1, value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return (2, Decimal(value))
    return (3, str(value).casefold())


def _coerce(name: str, value: Any, sample: Any) -> Any:
    if name in DATE_FIELDS:
        return parse_date(value, f"filter.{name}")
    if isinstance(sample, bool):
        return parse_bool(value, f"filter.{name}")
    if isinstance(sample, int | Decimal):
        return parse_number(value, f"filter.{name}")
    return str(value).casefold()


def _filters(params: dict[str, Any], module: Module) -> list[tuple[str, Callable[[dict], bool]]]:
    """(record field, predicate) per ``filter.<field>``; ``keywords`` searches several fields."""
    specs: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        if not key.startswith("filter."):
            continue
        rest = key[len("filter.") :]
        name, _, tail = rest.partition(".")
        spec = specs.setdefault(name, {"op": None, "vals": {}})
        if tail == "op":
            spec["op"] = str(value).strip().upper()
        elif tail.startswith("val"):
            index = tail[3:].strip("[]") or "0"
            values = value if isinstance(value, list) else [value]
            for offset, item in enumerate(values):
                spec["vals"][(int(index) if index.isdigit() else 0) + offset] = item
        elif tail == "":
            values = value if isinstance(value, list) else [value]
            spec["vals"].update(dict(enumerate(values)))
    checks = []
    for name, spec in specs.items():
        op = spec["op"] or "EQUAL"
        vals = [spec["vals"][i] for i in sorted(spec["vals"])]
        if op not in OPS:
            raise ApiError(f'Operator filter.{name}.op "{op}" tidak dikenal')
        if not vals and op not in ("EMPTY", "NOT_EMPTY"):
            continue
        if name == "keywords":
            needle = str(vals[0]).casefold()
            checks.append(
                (
                    "id",
                    lambda row, needle=needle: any(needle in str(row.get(f) or "").casefold() for f in KEYWORD_FIELDS),
                )
            )
            continue
        field_name = module.aliases.get(name, name)
        if op in ("BETWEEN", "NOT_BETWEEN") and len(vals) < 2:
            raise ApiError(f"filter.{name} dengan operator {op} membutuhkan dua nilai (val[0] dan val[1])")
        if name in DATE_FIELDS:  # validate eagerly so a bad date is an error even on an empty list
            for val in vals:
                parse_date(val, f"filter.{name}")
        checks.append((field_name, _check(field_name, op, vals)))
    return checks


def _check(name: str, op: str, vals: list[Any]) -> Callable[[dict], bool]:
    def check(row: dict) -> bool:
        value = row.get(name)
        if op == "EMPTY":
            return blank(value)
        if op == "NOT_EMPTY":
            return not blank(value)
        if value is None:
            return op in ("NOT_EQUAL", "NOT_BETWEEN")
        if isinstance(value, dict | list):
            return False
        try:
            left = _coerce(name, value, value)
            rights = [_coerce(name, val, value) for val in vals]
        except ApiError:
            return False
        if op == "EQUAL":
            return left in rights
        if op == "NOT_EQUAL":
            return left not in rights
        if op == "CONTAIN":
            return any(str(right) in str(left) for right in rights)
        if op == "BETWEEN":
            return rights[0] <= left <= rights[1]
        if op == "NOT_BETWEEN":
            return not rights[0] <= left <= rights[1]
        if op == "GREATER_THAN":
            return left > rights[0]
        if op == "GREATER_EQUAL_THAN":
            return left >= rights[0]
        if op == "LESS_THAN":
            return left < rights[0]
        return left <= rights[0]  # LESS_EQUAL_THAN

    return check
