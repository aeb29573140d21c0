"""Jurnal's resources and the business rules its service enforces, over the SQLite store.

Each ``create_*`` validates one request object completely (collecting every error, like ActiveRecord), then
writes it in the caller's transaction. Rendering follows the swagger's response examples.
"""

from __future__ import annotations

import contextlib
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from . import stock
from .amounts import PERCENT, VALUE, LineInput, invoice_totals, return_totals
from .config import SandboxConfig
from .dates import company_date, fmt_date, fmt_timestamp, now_utc, parse_filter_date, parse_timestamp
from .db import Database, Repo, Row, norm
from .errors import (
    CUSTOM_ID_TAKEN,
    TRANSACTION_NO_TAKEN,
    ApiError,
    Errors,
    parameter_missing,
    unprocessable,
    whole_batch_refusal,
)
from .money import ZERO, fmt_amount, fmt_currency, json_number, parse_decimal, q2
from .payload import Payload
from .reference import (
    DEFAULT_ACCOUNTS,
    DEFAULT_PAYMENT_METHODS,
    DISCOUNT_TYPES,
    FIRST_EXTRA_ACCOUNT_NUMBER,
    STATUS_CLOSED,
    STATUS_OPEN,
    STATUS_OVERDUE,
    STATUS_PAID,
    STATUS_PARTIAL,
    STOCK_ADJUSTMENT_ACCOUNT_CATEGORIES,
    STOCK_ADJUSTMENT_TYPES,
    UNASSIGNED_WAREHOUSE_ID,
    UNASSIGNED_WAREHOUSE_NAME,
)

D = Decimal


@dataclass(frozen=True)
class Resource:
    path: str
    kind: str
    label: str
    custom_id_lookup: bool  # does GET /{resource}/{id} also accept a custom_id? (swagger path param text)
    transaction: bool
    batch_status: int | None  # HTTP status of POST /batch_create, None when there is no batch endpoint
    deletable: bool = False  # DELETE /{resource}/{id}
    transaction_no_lookup: bool = False  # does GET /{resource}/{id} also accept a transaction_no?


RESOURCES: dict[str, Resource] = {
    r.path: r
    for r in (
        Resource("warehouses", "warehouse", "Warehouse", True, False, None),
        Resource("products", "product", "Product", True, False, 200),
        Resource("customers", "customer", "Customer", False, False, 200),
        # The swagger's batch examples answer 201 for sales invoices and 200 for the others.
        Resource("sales_invoices", "sales_invoice", "Sales invoice", False, True, 201, deletable=True),
        Resource("receive_payments", "receive_payment", "Receive payment", True, True, 200, deletable=True),
        Resource("sales_returns", "sales_return", "Sales return", True, True, None, deletable=True),
        # Path parameter "Bank Withdrawal ID or Custom ID" (swagger). Its batch_create is not emulated.
        Resource("bank_withdrawals", "bank_withdrawal", "Bank withdrawal", True, True, None, deletable=True),
        Resource("accounts", "account", "Account", False, False, None),
        # Path parameter "id/transaction_no" (swagger); custom_id is accepted too.
        Resource(
            "warehouse_transfers",
            "warehouse_transfer",
            "Warehouse transfer",
            True,
            True,
            None,
            deletable=True,
            transaction_no_lookup=True,
        ),
        # By id, or by transaction_no with ?search_by=transaction_no&transaction_type=adjustment|movement.
        Resource("stock_adjustments", "stock_adjustment", "Stock adjustment", False, True, None, deletable=True),
    )
}

# Stock adjustments number counts and stock in/out separately (GET /stock_adjustments/{id}'s transaction_type):
# the key column holds "<series>:<transaction_no>".
COUNT_SERIES = "adjustment"
MOVEMENT_SERIES = "movement"
STOCK_MOVES_BACKFILLED = "stock_moves:backfilled"


class _WholeBatchRefused(Exception):
    """Raised inside an all-or-nothing batch's transaction to roll every item back."""


@dataclass
class InvoiceState:
    paid: Decimal
    returned: Decimal
    amount_receive: Decimal
    remaining: Decimal
    status: tuple[int, str, str]


def _retired(kind: str, field: str, value: str) -> str:
    """The flag that keeps a deleted document's key taken (``deleted_numbers = "kept"``)."""
    return f"retired:{kind}:{field}:{value}"


def _status(state: tuple[int, str, str]) -> dict[str, Any]:
    return {"id": state[0], "name": state[1], "name_bahasa": state[2]}


def _amount_fields(values: Mapping[str, Decimal]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        out[name] = fmt_amount(value)
        out[f"{name}_currency_format"] = fmt_currency(value)
    return out


def _quantity(value: Decimal) -> int | float:
    return json_number(value)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _from_iso(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _plain(value: Decimal) -> str:
    """A quantity as a plain decimal string, as product and warehouse quantities are shown: ``"80"``, ``"2.5"``."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _quantity_format(value: Decimal) -> str:
    """``*_company_quantity_format``: Indonesian grouping, ``"1.500"``, ``"2,5"``, ``"-3"`` (inferred)."""
    sign = "-" if value < 0 else ""
    text = _plain(abs(value))
    units, _, decimals = text.partition(".")
    grouped = f"{int(units):,}".replace(",", ".")
    return f"{sign}{grouped}" + (f",{decimals}" if decimals else "")


class JurnalService:
    def __init__(self, db: Database, config: SandboxConfig) -> None:
        self.db = db
        self.config = config
        self.seed()

    # ------------------------------------------------------------------ seeding

    def seed(self) -> None:
        """Idempotent: fills in the reference data a fresh company has, keeps everything already there."""
        with self.db.transaction() as repo:
            now = fmt_timestamp(now_utc())
            if repo.by_id("warehouse", UNASSIGNED_WAREHOUSE_ID) is None:
                repo.insert(
                    "warehouse",
                    {"name": UNASSIGNED_WAREHOUSE_NAME, "code": None, "address": "", "description": ""},
                    now=now,
                    record_id=UNASSIGNED_WAREHOUSE_ID,
                    name=UNASSIGNED_WAREHOUSE_NAME,
                )
            for name, rate in self.config.taxes.items():
                if not repo.by_name("tax", name):
                    repo.insert("tax", {"name": name, "rate": str(parse_decimal(rate))}, now=now, name=name)
            for number, name, category, aliases in DEFAULT_ACCOUNTS:
                if repo.by_key("account", number) is None:
                    self._insert_account(repo, number, name, category, aliases, now)
            extra_number = FIRST_EXTRA_ACCOUNT_NUMBER
            for name in self.config.accounts:
                if self._account_by_name(repo, name) is None:
                    while repo.by_key("account", f"1-{extra_number}") is not None:
                        extra_number += 1
                    self._insert_account(repo, f"1-{extra_number}", name, "Cash & Bank", [], now)
            for name in DEFAULT_PAYMENT_METHODS:
                if not repo.by_name("payment_method", name):
                    repo.insert("payment_method", {"name": name}, now=now, name=name)
            if not repo.has_flag(STOCK_MOVES_BACKFILLED):
                # A sandbox file written before stock was tracked: give its invoices and returns their moves.
                for invoice in repo.select("sales_invoice"):
                    repo.delete_moves(invoice.id)
                    self._record_invoice_moves(repo, invoice)
                for sales_return in repo.select("sales_return"):
                    repo.delete_moves(sales_return.id)
                    self._record_return_moves(repo, sales_return)
                repo.set_flag(STOCK_MOVES_BACKFILLED)

    @staticmethod
    def _insert_account(repo: Repo, number: str, name: str, category: str, aliases: list[str], now: str) -> None:
        repo.insert(
            "account",
            {"name": name, "number": number, "category": category, "aliases": [norm(a) for a in aliases]},
            now=now,
            key=number,
            name=name,
        )

    def reset(self) -> None:
        self.db.wipe()
        self.seed()

    # ------------------------------------------------------------------ public operations

    def create(self, resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
        creator: Callable[[Repo, dict[str, Any], str], Row] = getattr(self, f"_create_{resource.kind}")
        try:
            with self.db.transaction() as repo:
                row = creator(repo, body, fmt_timestamp(now_utc()))
                return self.render(repo, row)
        except ApiError as error:
            raise self._as_answered(error) from None

    def create_all_or_nothing(self, resource: Resource, singular: str, items: list[Any]) -> list[dict[str, Any]]:
        """``batch_failure='whole'``: every item in one transaction, in order (later items see earlier ones); when
        any is refused the whole call is a 422 naming each refused item, and nothing is written."""
        creator: Callable[[Repo, dict[str, Any], str], Row] = getattr(self, f"_create_{resource.kind}")
        refused: list[tuple[int, ApiError]] = []
        rendered: list[dict[str, Any]] = []
        try:
            with self.db.transaction() as repo:
                now = fmt_timestamp(now_utc())
                for index, item in enumerate(items):
                    inner = item.get(singular) if isinstance(item, dict) else None
                    try:
                        if not isinstance(inner, dict):
                            raise parameter_missing(singular)
                        with self.db.savepoint():
                            rendered.append(self.render(repo, creator(repo, inner, now)))
                    except ApiError as error:
                        refused.append((index, self._as_answered(error)))
                if refused:
                    raise _WholeBatchRefused
        except _WholeBatchRefused:
            raise whole_batch_refusal(resource.path, len(items), refused) from None
        return rendered

    def _as_answered(self, error: ApiError) -> ApiError:
        """The error as this sandbox answers it: with ``conflict_id='null'`` a conflict names no holder."""
        if self.config.conflict_id == "null" and isinstance(error.body, dict) and error.body.get("id") is not None:
            return ApiError(error.status, {**error.body, "id": None})
        return error

    def get(self, resource: Resource, ident: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        with self.db.transaction() as repo:
            return self.render(repo, self._find(repo, resource, ident, params or {}))

    def delete(self, resource: Resource, ident: str) -> None:
        """Removes the document, its effect on stock (its moves) and on invoices (its payment and return links).
        An invoice that still has payments or returns is refused: they must be deleted first."""
        with self.db.transaction() as repo:
            row = self._find(repo, resource, ident)
            if resource.kind == "sales_invoice":
                used = [label for kind, label in (("payment", "payments"), ("return_applied", "returns"))
                        if repo.links(kind, invoice_id=row.id)]
                if used:
                    raise unprocessable("sales_invoice", f"(Sales invoice {row.data.get('transaction_no')} has "
                                        f"{' and '.join(used)}; delete them before deleting the invoice.)")
            if self.config.deleted_numbers == "kept":  # the keys stay taken although nothing holds them
                for field, value in (("key", row.key), ("custom_id", row.custom_id)):
                    if value is not None:
                        repo.set_flag(_retired(resource.kind, field, value))
            repo.delete(row.id)

    def product_quantities(self, params: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """``GET /public/jurnal/scm/public/lo/v1/products/get_product_quantity_per_warehouse?ids=1,2``."""
        raw_ids = [part.strip() for part in (params.get("ids") or "").split(",") if part.strip()]
        if not raw_ids:
            return 400, {"message": "Query ids cannot be empty", "status": 400}
        try:
            ids = list(dict.fromkeys(int(part) for part in raw_ids))
        except ValueError:
            return 400, {
                "message": f"Query ids must be comma-separated product ids, got {params['ids']!r}",
                "status": 400,
            }
        until = company_date(now_utc(), self.config.company_utc_offset_hours)
        if params.get("transaction_date"):
            try:
                until = date.fromisoformat(params["transaction_date"].strip())
            except ValueError:
                return 400, {
                    "message": f"transaction_date must be YYYY-MM-DD, got {params['transaction_date']!r}",
                    "status": 400,
                }
        with self.db.transaction() as repo:
            found = [row for product_id in ids if (row := repo.by_id("product", product_id)) is not None]
            stock_levels = stock.levels(repo, product_ids=[row.id for row in found], until=until.isoformat())
            warehouses = sorted(repo.select("warehouse"), key=lambda row: row.id)
            data = []
            for product in found:
                unit = repo.by_id("unit", product.data["unit_id"])
                per_warehouse = [
                    {
                        "id": warehouse.id,
                        "name": warehouse.data["name"],
                        "code": warehouse.data.get("code") or "",
                        "address": warehouse.data.get("address") or "",
                        "quantity": json_number(stock_levels.get((warehouse.id, product.id), ZERO)),
                    }
                    for warehouse in warehouses
                ]
                total = sum((level for (_, pid), level in stock_levels.items() if pid == product.id), ZERO)
                data.append(
                    {
                        "id": product.id,
                        "code": product.data["product_code"],
                        "name": product.data["name"],
                        "quantity": json_number(total),
                        "track_inventory": product.data["track_inventory"],
                        "unit": unit.data["name"] if unit else None,
                        "warehouse_inventory": per_warehouse,
                    }
                )
        return 200, {"data": data, "message": "Product quantity per warehouse retrieved", "status": 200}

    def list(self, resource: Resource, params: Mapping[str, str], page_url: Callable[[int], str]) -> dict[str, Any]:
        with self.db.transaction() as repo:
            rows = self._filtered(repo, resource, params)
            return self._page(repo, resource.path, rows, params, page_url)

    def invoice_payments(self, ident: str, params: Mapping[str, str], page_url: Callable[[int], str]) -> dict[str, Any]:
        with self.db.transaction() as repo:
            invoice = self._find(repo, RESOURCES["sales_invoices"], ident)
            rows = [
                row
                for row in repo.select("receive_payment")
                if any(record["invoice_id"] == invoice.id for record in row.data["records"])
            ]
            rows.sort(key=lambda row: row.id, reverse=True)
            return self._page(repo, "receive_payments", rows, params, page_url)

    def render(self, repo: Repo, row: Row) -> dict[str, Any]:
        renderer: Callable[[Repo, Row], dict[str, Any]] = getattr(self, f"_render_{row.kind}")
        return renderer(repo, row)

    # ------------------------------------------------------------------ lookups

    def not_found(self, resource: Resource) -> ApiError:
        if self.config.not_found_status == 422:
            return ApiError(422, {"errors": "Data not found."})
        return ApiError(404, {"error": f"{resource.label} not found"})

    def _number(self, p: Payload, key: str, *, required: bool = False) -> str | None:
        """A key as this sandbox keeps it (``number_match``): as sent with 'exact', else stripped."""
        value = p.required_text(key) if required else p.text(key)
        raw = p.data.get(key)
        if value is not None and self.config.number_match == "exact" and isinstance(raw, str):
            return raw
        return value

    def _find(self, repo: Repo, resource: Resource, ident: str, params: Mapping[str, str] | None = None) -> Row:
        ident = ident if self.config.number_match == "exact" else ident.strip()
        row = None
        if (
            resource.kind == "stock_adjustment"
            and params
            and (params.get("search_by") or params.get("transaction_type"))
        ):
            return self._find_stock_adjustment(repo, resource, ident, params)
        with contextlib.suppress(ValueError):
            row = repo.by_id(resource.kind, int(ident))
        # The numeric id wins; a key that looks like another record's id is reached only when no id matches.
        if row is None and resource.transaction_no_lookup:
            row = repo.by_key(resource.kind, ident)
        if row is None and resource.custom_id_lookup:
            row = repo.by_custom_id(resource.kind, ident)
        if row is None:
            raise self.not_found(resource)
        return row

    def _account_by_name(self, repo: Repo, name: str) -> Row | None:
        found = repo.by_name("account", name)
        if found:
            return found[0]
        wanted = norm(name)
        for row in repo.select("account"):
            if wanted in row.data.get("aliases", []):
                return row
        return None

    def _resolve_account(
        self, repo: Repo, p: Payload, prefix: str, attribute: str, *, required: bool = False
    ) -> Row | None:
        """``<prefix>_id`` / ``<prefix>_name`` / ``<prefix>_number``: each one sent must name the same account."""
        found: list[tuple[str, Row | None]] = []
        account_id = p.integer_id(f"{prefix}_id")
        if account_id is not None:
            found.append((f"{prefix}_id {account_id}", repo.by_id("account", account_id)))
        name = p.text(f"{prefix}_name")
        if name is not None:
            found.append((f"{prefix}_name {name!r}", self._account_by_name(repo, name)))
        number = p.text(f"{prefix}_number")
        if number is not None:
            found.append((f"{prefix}_number {number!r}", repo.by_key("account", number)))
        return self._agree(p.errors, attribute, "Account", found, required=required, where=p.where)

    @staticmethod
    def _agree(
        errors: Errors,
        attribute: str,
        label: str,
        found: list[tuple[str, Row | None]],
        *,
        required: bool,
        where: str = "",
    ) -> Row | None:
        if not found:
            if required:
                errors.add(attribute, "can't be blank" + where)
            return None
        for described, row in found:
            if row is None:
                errors.add(attribute, f"({label} with {described} was not found{where}.)")
                return None
        rows = {row.id for _, row in found if row is not None}
        if len(rows) > 1:
            sent = " and ".join(described for described, _ in found)
            errors.add(attribute, f"({sent} point to different {label.lower()}s{where}.)")
            return None
        return found[0][1]

    def _one_by_name(self, repo: Repo, kind: str, name: str) -> Row | str | None:
        rows = repo.by_name(kind, name)
        if len(rows) > 1:
            return "ambiguous"
        return rows[0] if rows else None

    def _resolve_named(
        self,
        repo: Repo,
        p: Payload,
        *,
        kind: str,
        label: str,
        attribute: str,
        by_id: str | None,
        by_name: str | None,
        by_key: str | None = None,
        by_custom_id: str | None = None,
        required: bool,
        id_wins: bool = False,
    ) -> Row | None:
        """Each reference sent must name the same record; with ``id_wins`` an id or custom_id decides alone."""
        found: list[tuple[str, Row | None]] = []
        if by_id and p.has(by_id):
            record_id = p.integer_id(by_id)
            found.append((f"{by_id} {p.text(by_id)}", repo.by_id(kind, record_id) if record_id is not None else None))
        if by_custom_id and p.has(by_custom_id):
            custom_id = p.text(by_custom_id) or ""
            found.append((f"{by_custom_id} {custom_id!r}", repo.by_custom_id(kind, custom_id)))
        if found and id_wins:
            # Swagger rule 2.2 for invoice lines: names and codes sent along with an id are ignored.
            return self._agree(p.errors, attribute, label, found, required=required, where=p.where)
        if by_key and p.text(by_key) is not None:
            key = p.text(by_key) or ""
            found.append((f"{by_key} {key!r}", repo.by_key(kind, key)))
        if by_name and p.text(by_name) is not None:
            name = p.text(by_name) or ""
            match = self._one_by_name(repo, kind, name)
            if match == "ambiguous":
                p.errors.add(attribute, f"({label} name {name!r} matches more than one {label.lower()}{p.where}.)")
                return None
            found.append((f"{by_name} {name!r}", match if isinstance(match, Row) else None))
        return self._agree(p.errors, attribute, label, found, required=required, where=p.where)

    def _ensure_ref(self, repo: Repo, kind: str, name: str, now: str) -> Row:
        rows = repo.by_name(kind, name)
        return rows[0] if rows else repo.insert(kind, {"name": name}, now=now, name=name)

    @staticmethod
    def _check_custom_id(repo: Repo, kind: str, custom_id: str | None, errors: Errors) -> None:
        if custom_id is not None and (existing := repo.by_custom_id(kind, custom_id)) is not None:
            errors.conflict("custom_id", CUSTOM_ID_TAKEN, existing.id)
        elif custom_id is not None and repo.has_flag(_retired(kind, "custom_id", custom_id)):
            errors.conflict("custom_id", CUSTOM_ID_TAKEN, None)

    @staticmethod
    def _check_transaction_no(repo: Repo, kind: str, number: str | None, errors: Errors) -> None:
        if number is not None and (existing := repo.by_key(kind, number)) is not None:
            errors.conflict("transaction_no", TRANSACTION_NO_TAKEN, existing.id)
        elif number is not None and repo.has_flag(_retired(kind, "key", number)):
            errors.conflict("transaction_no", TRANSACTION_NO_TAKEN, None)

    def _tags(self, repo: Repo, p: Payload, now: str) -> list[int]:
        tags = p.items("tags") or []
        return [self._ensure_ref(repo, "tag", str(tag), now).id for tag in tags if str(tag).strip()]

    def _render_tags(self, repo: Repo, tag_ids: list[int]) -> dict[str, Any]:
        tags = [{"id": row.id, "name": row.data["name"]} for t in tag_ids if (row := repo.by_id("tag", t))]
        return {"tags": tags, "tags_string": ", ".join(tag["name"] for tag in tags)}

    # ------------------------------------------------------------------ warehouses

    def _create_warehouse(self, repo: Repo, body: dict[str, Any], now: str) -> Row:
        errors = Errors()
        p = Payload(body, errors)
        name = p.required_text("name")
        code = p.text("code")
        custom_id = self._number(p, "custom_id")
        if name is not None and (same := repo.by_name("warehouse", name)):
            errors.conflict("name", "(Warehouse name had already been used.)", same[0].id)
        if code is not None and (same_code := repo.by_key("warehouse", code)) is not None:
            errors.conflict("code", "(Warehouse code had already been used.)", same_code.id)
        self._check_custom_id(repo, "warehouse", custom_id, errors)
        errors.raise_if_any()
        data = {
            "name": name,
            "code": code,
            "address": p.raw_text("address") or "",
            "description": p.raw_text("description") or "",
        }
        return repo.insert("warehouse", data, now=now, custom_id=custom_id, key=code, name=name)

    def _render_warehouse(self, repo: Repo, row: Row) -> dict[str, Any]:
        d = row.data
        return {
            "id": row.id,
            "name": d["name"],
            "code": d.get("code") or "",
            "address": d.get("address", ""),
            "description": d.get("description", ""),
            "custom_id": row.custom_id,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "deleted_at": None,
            "deletable": row.id != UNASSIGNED_WAREHOUSE_ID,
            "editable": row.id != UNASSIGNED_WAREHOUSE_ID,
            "warehouse_inventory": self._warehouse_inventory(repo, row.id),
            "transactions": [],
        }

    def _today(self) -> str:
        return company_date(now_utc(), self.config.company_utc_offset_hours).isoformat()

    def _warehouse_inventory(self, repo: Repo, warehouse_id: int) -> list[dict[str, Any]]:
        """Every product with a stock document at this warehouse, with its level today (swagger example shape)."""
        out = []
        for (_, product_id), level in sorted(
            stock.levels(repo, warehouse_id=warehouse_id, until=self._today()).items()
        ):
            product = repo.by_id("product", product_id)
            if product is not None:
                out.append(
                    {
                        "id": product.id,
                        "name": product.data["name"],
                        "code": product.data["product_code"],
                        "quantity": _plain(level),
                    }
                )
        return out

    def _warehouse_ref(self, repo: Repo, warehouse_id: int | None) -> dict[str, Any]:
        row = repo.by_id("warehouse", warehouse_id) if warehouse_id is not None else None
        if row is None:
            return {"id": None, "name": None, "code": None}
        return {"id": row.id, "name": row.data["name"], "code": row.data.get("code")}

    def _resolve_warehouse(self, repo: Repo, p: Payload) -> Row | None:
        return self._resolve_named(
            repo,
            p,
            kind="warehouse",
            label="Warehouse",
            attribute="warehouse",
            by_id="warehouse_id",
            by_name="warehouse_name",
            by_key="warehouse_code",
            required=False,
        )

    # ------------------------------------------------------------------ accounts, taxes

    def _render_account(self, repo: Repo, row: Row) -> dict[str, Any]:
        return {
            "id": row.id,
            "name": row.data["name"],
            "number": row.data["number"],
            "category": {"id": None, "name": row.data["category"]},
            "custom_id": row.custom_id,
        }

    def _account_ref(self, repo: Repo, account_id: int | None, *, with_category: bool = True) -> dict[str, Any]:
        row = repo.by_id("account", account_id) if account_id is not None else None
        ref: dict[str, Any] = {
            "id": row.id if row else None,
            "name": row.data["name"] if row else None,
            "number": row.data["number"] if row else None,
        }
        if with_category:
            ref["category"] = {"id": None, "name": row.data["category"] if row else None}
        return ref

    def _default_account(self, repo: Repo, number: str) -> int:
        row = repo.by_key("account", number)
        assert row is not None, f"seeded account {number} is missing"
        return row.id

    def _resolve_tax(self, repo: Repo, p: Payload, id_key: str, name_key: str | None, attribute: str) -> Row | None:
        return self._resolve_named(
            repo, p, kind="tax", label="Tax", attribute=attribute, by_id=id_key, by_name=name_key, required=False
        )

    @staticmethod
    def _tax_ref(row: Row | None) -> dict[str, Any]:
        if row is None:
            return {"id": None, "name": None, "rate": None}
        return {"id": row.id, "name": row.data["name"], "rate": fmt_amount(D(row.data["rate"]))}

    # ------------------------------------------------------------------ products

    def _create_product(self, repo: Repo, body: dict[str, Any], now: str) -> Row:
        errors = Errors()
        p = Payload(body, errors)
        name = p.required_text("name")
        unit_name = p.required_text("unit_name")
        product_code = self._number(p, "product_code", required=True)
        custom_id = self._number(p, "custom_id")
        if product_code is not None and (same := repo.by_key("product", product_code)) is not None:
            errors.conflict("product_code", "(Product code had already been used.)", same.id)
        self._check_custom_id(repo, "product", custom_id, errors)
        sell_price = p.decimal("sell_price_per_unit", default=ZERO, minimum=ZERO)
        buy_price = p.decimal("buy_price_per_unit", default=ZERO, minimum=ZERO)
        track_inventory = p.boolean("track_inventory", False)
        inventory_account = self._resolve_account(
            repo, p, "inventory_asset_account", "inventory_asset_account", required=track_inventory
        )
        if inventory_account is not None and inventory_account.data["category"] != "Inventory":
            errors.add("inventory_asset_account", "(Account must be an active account of category Inventory.)")
        sell_account = self._resolve_account(repo, p, "sell_account", "sell_account")
        buy_account = self._resolve_account(repo, p, "buy_account", "buy_account")
        sell_tax = self._resolve_tax(repo, p, "sell_tax_id", None, "sell_tax")
        buy_tax = self._resolve_tax(repo, p, "buy_tax_id", None, "buy_tax")
        data = {
            "name": name,
            "product_code": product_code,
            "description": p.raw_text("description"),
            "sell_price_per_unit": sell_price,
            "buy_price_per_unit": buy_price,
            "is_sold": p.boolean("is_sold", True),
            "is_bought": p.boolean("is_bought", True),
            "taxable_sell": p.boolean("taxable_sell", False),
            "taxable_buy": p.boolean("taxable_buy", False),
            "track_inventory": track_inventory,
            "source": p.text("source") or "apikey",
        }
        errors.raise_if_any()
        assert unit_name is not None
        data.update(
            unit_id=self._ensure_ref(repo, "unit", unit_name, now).id,
            sell_account_id=sell_account.id if sell_account else self._default_account(repo, "4-40000"),
            buy_account_id=buy_account.id if buy_account else self._default_account(repo, "5-50000"),
            inventory_asset_account_id=inventory_account.id if inventory_account else None,
            sell_tax_id=sell_tax.id if sell_tax else None,
            buy_tax_id=buy_tax.id if buy_tax else None,
        )
        return repo.insert("product", data, now=now, custom_id=custom_id, key=product_code, name=name)

    def _render_product(self, repo: Repo, row: Row) -> dict[str, Any]:
        d = row.data
        unit = repo.by_id("unit", d["unit_id"])
        out: dict[str, Any] = {
            "id": row.id,
            "name": d["name"],
            "product_code": d["product_code"],
            "source": d.get("source"),
            "description": d.get("description"),
            "init_date": None,
            "init_quantity": "0.0",
            "active": True,
            "is_bought": d["is_bought"],
            "is_sold": d["is_sold"],
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "deleted_at": None,
            "is_system": False,
            "custom_id": row.custom_id,
            "archive": False,
            "track_inventory": d["track_inventory"],
            "taxable_buy": d["taxable_buy"],
            "taxable_sell": d["taxable_sell"],
            "deletable": True,
            "editable": True,
            "quantity": _plain(sum(stock.levels(repo, product_ids=[row.id], until=self._today()).values(), ZERO)),
            "is_bundle": False,
            "unit": {"id": unit.id if unit else None, "name": unit.data["name"] if unit else None},
            "has_purchase": False,
            "has_sales": False,
            "product_categories": None,
            "product_categories_string": "",
            "buy_tax_id": d.get("buy_tax_id"),
            "buy_account": self._account_ref(repo, d.get("buy_account_id"), with_category=False),
            "sell_tax_id": d.get("sell_tax_id"),
            "sell_account": self._account_ref(repo, d.get("sell_account_id"), with_category=False),
            "company_currency": {"code": "IDR", "symbol": "Rp."},
        }
        out.update(
            _amount_fields(
                {
                    "buy_price_per_unit": D(d["buy_price_per_unit"]),
                    "sell_price_per_unit": D(d["sell_price_per_unit"]),
                }
            )
        )
        if d.get("inventory_asset_account_id"):
            out["inventory_asset_account"] = self._account_ref(
                repo, d["inventory_asset_account_id"], with_category=False
            )
        return out

    def _product_ref(self, repo: Repo, product_id: int) -> dict[str, Any]:
        row = repo.by_id("product", product_id)
        if row is None:
            return {"id": product_id, "name": None, "code": None, "product_custom_id": None}
        return {
            "id": row.id,
            "name": row.data["name"],
            "code": row.data["product_code"],
            "product_custom_id": row.custom_id,
            "archive": False,
            "quantity": 0,
            "track_inventory": row.data["track_inventory"],
        }

    # ------------------------------------------------------------------ customers

    _CUSTOMER_TEXT = (
        "title",
        "first_name",
        "middle_name",
        "last_name",
        "associate_company",
        "email",
        "phone",
        "mobile",
        "fax",
        "address",
        "billing_address",
        "tax_no",
        "other_detail",
        "source",
        "start_balance",
    )

    def _create_customer(self, repo: Repo, body: dict[str, Any], now: str) -> Row:
        errors = Errors()
        p = Payload(body, errors)
        display_name = p.required_text("display_name")
        custom_id = self._number(p, "custom_id")
        if (
            display_name is not None
            and self.config.unique_customer_display_name
            and (same := repo.by_name("customer", display_name))
        ):
            errors.conflict("display_name", "(Display name had already been used.)", same[0].id)
        self._check_custom_id(repo, "customer", custom_id, errors)
        opening_balance = p.decimal("opening_balance", minimum=ZERO)
        max_credit_limit = p.decimal("max_credit_limit", minimum=ZERO)
        ar = self._resolve_account(repo, p, "default_ar_account", "default_ar_account")
        ap = self._resolve_account(repo, p, "default_ap_account", "default_ap_account")
        errors.raise_if_any()
        data: dict[str, Any] = {key: p.raw_text(key) for key in self._CUSTOMER_TEXT}
        data.update(
            display_name=display_name,
            opening_balance=opening_balance,
            max_credit_limit=max_credit_limit,
            disable_max_credit_limit=p.boolean("disable_max_credit_limit", True),
            default_ar_account_id=ar.id if ar else self._default_account(repo, "1-10100"),
            default_ap_account_id=ap.id if ap else self._default_account(repo, "2-20100"),
        )
        return repo.insert("customer", data, now=now, custom_id=custom_id, name=display_name)

    def _render_customer(self, repo: Repo, row: Row) -> dict[str, Any]:
        d = row.data
        invoices = repo.select("sales_invoice", "person_id = ?", (row.id,))
        balance = sum((self._invoice_state(repo, inv).remaining for inv in invoices), ZERO)
        opening = D(d["opening_balance"]) if d.get("opening_balance") is not None else ZERO
        out: dict[str, Any] = {"id": row.id}
        out.update({key: d.get(key) for key in self._CUSTOMER_TEXT if key != "start_balance"})
        out.update(
            display_name=d["display_name"],
            opening_balance=fmt_amount(opening),
            opening_balance_currency_format=fmt_currency(opening),
            start_balance=d.get("start_balance"),
            disable_max_credit_limit=d["disable_max_credit_limit"],
            custom_id=row.custom_id,
            archive=False,
            created_at=row.created_at,
            updated_at=row.updated_at,
            deleted_at=None,
            deletable=not invoices,
            editable=True,
            has_transactions=bool(invoices),
            has_close_the_book=False,
            balance=json_number(balance),
            balance_currency_format=fmt_currency(balance),
            max_credit_limit=fmt_amount(D(d["max_credit_limit"])) if d.get("max_credit_limit") is not None else None,
            default_term={"id": None, "name": None, "longetivity": None},
            default_ar_account=self._account_ref(repo, d.get("default_ar_account_id"), with_category=False),
            default_ap_account=self._account_ref(repo, d.get("default_ap_account_id"), with_category=False),
        )
        return out

    def _person_ref(self, repo: Repo, person_id: int | None, *, style: str = "invoice") -> dict[str, Any]:
        row = repo.by_id("customer", person_id) if person_id is not None else None
        d = row.data if row else {}
        ref: dict[str, Any] = {"id": row.id if row else None}
        if style == "invoice":
            ref["display_name"] = d.get("display_name")
            ref.update({k: d.get(k) for k in ("title", "first_name", "middle_name", "last_name", "tax_no")})
        else:
            ref["name"] = d.get("display_name")
        ref.update({k: d.get(k) for k in ("email", "address", "billing_address", "phone", "fax")})
        return ref

    def _resolve_customer(self, repo: Repo, p: Payload, *, required: bool) -> Row | None:
        return self._resolve_named(
            repo,
            p,
            kind="customer",
            label="Customer",
            attribute="person",
            by_id="person_id",
            by_name="person_name",
            required=required,
        )

    # ------------------------------------------------------------------ sales invoices

    def _create_sales_invoice(self, repo: Repo, body: dict[str, Any], now: str) -> Row:
        errors = Errors()
        p = Payload(body, errors)
        transaction_date = p.date("transaction_date", required=True)
        due_date = p.date("due_date", required=False)
        shipping_date = p.date("shipping_date", required=False)
        person = self._resolve_customer(repo, p, required=True)
        warehouse = self._resolve_warehouse(repo, p)
        transaction_no = self._number(p, "transaction_no")
        custom_id = self._number(p, "custom_id")
        self._check_transaction_no(repo, "sales_invoice", transaction_no, errors)
        self._check_custom_id(repo, "sales_invoice", custom_id, errors)
        if p.has("selected_po_id") or p.has("selected_pq_id"):
            errors.add("selected_po_id", "(Creating an invoice from a sales order or quote is not emulated.)")

        discount_type = self._choice(p, "discount_type_name", default=PERCENT)
        discount_unit = p.decimal("discount_unit", default=ZERO, minimum=ZERO)
        if discount_type == PERCENT and discount_unit is not None and discount_unit > 100:
            errors.add("discount_unit", "(Value must be less than or equal to 100.)")
        witholding_type = self._choice(p, "witholding_type", default=None)
        witholding_value = p.decimal("witholding_value", default=ZERO, minimum=ZERO) or ZERO
        witholding_account = self._resolve_account(repo, p, "witholding_account", "witholding_account")
        shipping_price = p.decimal("shipping_price", default=ZERO, minimum=ZERO) or ZERO
        deposit = p.decimal("deposit", default=ZERO, minimum=ZERO) or ZERO
        deposit_to = self._resolve_account(repo, p, "deposit_to", "deposit_to", required=deposit > 0)
        tax_after_discount = p.boolean("tax_after_discount", True)
        tax_inclusive = p.boolean("use_tax_inclusive", False)
        lines, inputs = self._invoice_lines(repo, p)

        if errors:
            errors.raise_if_any()
        assert transaction_date is not None and person is not None
        totals = invoice_totals(
            inputs,
            discount_type=discount_type or PERCENT,
            discount_unit=discount_unit or ZERO,
            tax_after_discount=tax_after_discount,
            tax_inclusive=tax_inclusive,
            shipping_price=shipping_price,
            witholding_type=witholding_type,
            witholding_value=witholding_value,
            per_line_tax=self.config.tax_rounding == "line",
        )
        if discount_type == VALUE and totals.discount_price > totals.line_total:
            errors.add("discount_unit", "(Discount cannot be greater than the total of the lines.)")
        if deposit > totals.original_amount - totals.witholding_amount:
            errors.add("deposit", "(Deposit cannot be greater than the invoice total.)")
        errors.raise_if_any()

        for line, gross, amount in zip(lines, totals.line_gross, totals.line_amounts, strict=True):
            line.update(id=repo.next_id(), gross=gross, amount=amount)
        data = {
            "transaction_no": transaction_no or repo.next_transaction_no("sales_invoice"),
            "token": secrets.token_urlsafe(16),
            "transaction_date": _iso(transaction_date),
            "due_date": _iso(due_date or transaction_date),
            "shipping_date": _iso(shipping_date),
            "warehouse_id": warehouse.id if warehouse else None,
            "lines": lines,
            "discount_type": discount_type or PERCENT,
            "discount_unit": discount_unit or ZERO,
            "tax_after_discount": tax_after_discount,
            "use_tax_inclusive": tax_inclusive,
            "witholding_type": witholding_type,
            "witholding_value": witholding_value,
            "witholding_account_id": witholding_account.id if witholding_account else None,
            "deposit": deposit,
            "deposit_to_id": deposit_to.id if deposit_to else None,
            "subtotal": totals.subtotal,
            "discount_per_lines": totals.discount_per_lines,
            "line_total": totals.line_total,
            "discount_price": totals.discount_price,
            "tax_amount": totals.tax_amount,
            "taxes": [{"tax_id": t.tax_id, "rate": t.rate, "base": t.base, "amount": t.amount} for t in totals.taxes],
            "shipping_price": shipping_price,
            "original_amount": totals.original_amount,
            "witholding_amount": totals.witholding_amount,
            "term_name": p.text("term_name"),
            "tag_ids": self._tags(repo, p, now),
        }
        for key in (
            "reference_no",
            "email",
            "address",
            "message",
            "memo",
            "shipping_address",
            "ship_via",
            "tracking_no",
            "source",
        ):
            data[key] = p.raw_text(key)
        data["is_shipped"] = p.boolean("is_shipped", False) if p.has("is_shipped") else None
        row = repo.insert(
            "sales_invoice",
            data,
            now=now,
            custom_id=custom_id,
            key=data["transaction_no"],
            person_id=person.id,
            tx_date=data["transaction_date"],
        )
        self._record_invoice_moves(repo, row)
        return row

    @staticmethod
    def _tracks_inventory(repo: Repo, product_id: int) -> bool:
        product = repo.by_id("product", product_id)
        return product is not None and bool(product.data.get("track_inventory"))

    def _record_invoice_moves(self, repo: Repo, invoice: Row) -> None:
        """A sale takes each inventory line's quantity out of the invoice's warehouse (Unassigned when none)."""
        warehouse_id = invoice.data.get("warehouse_id")
        for line in invoice.data["lines"]:
            if self._tracks_inventory(repo, line["product_id"]):
                repo.add_move(
                    source_id=invoice.id,
                    line_id=line["id"],
                    warehouse_id=UNASSIGNED_WAREHOUSE_ID if warehouse_id is None else warehouse_id,
                    product_id=line["product_id"],
                    tx_date=invoice.data["transaction_date"],
                    mode="delta",
                    quantity=-D(line["quantity"]),
                )

    def _record_return_moves(self, repo: Repo, sales_return: Row) -> None:
        """A return puts the returned quantity back into the return's warehouse (the invoice's by default)."""
        invoice = repo.by_id("sales_invoice", sales_return.data["invoice_id"])
        if invoice is None:
            return
        products = {line["id"]: line["product_id"] for line in invoice.data["lines"]}
        warehouse_id = sales_return.data.get("warehouse_id")
        for line in sales_return.data["lines"]:
            product_id = products.get(line["invoice_line_id"])
            if product_id is not None and self._tracks_inventory(repo, product_id):
                repo.add_move(
                    source_id=sales_return.id,
                    line_id=line["id"],
                    warehouse_id=UNASSIGNED_WAREHOUSE_ID if warehouse_id is None else warehouse_id,
                    product_id=product_id,
                    tx_date=sales_return.data["transaction_date"],
                    mode="delta",
                    quantity=D(line["return_quantity"]),
                )

    @staticmethod
    def _choice(p: Payload, key: str, *, default: str | None) -> str | None:
        """``Percent`` / ``Value``, any case (the swagger examples send ``percent``)."""
        value = p.text(key)
        if value is None:
            return default
        for choice in (PERCENT, VALUE):
            if value.lower() == choice.lower():
                return choice
        p.errors.add(key, f"(Value {value!r} is invalid; it can only be filled with Percent or Value.)")
        return default

    def _invoice_lines(self, repo: Repo, p: Payload) -> tuple[list[dict[str, Any]], list[LineInput]]:
        raw_lines = p.items("transaction_lines_attributes")
        errors = p.errors
        if not raw_lines:
            errors.add("transaction_lines_attributes", "can't be blank")
            return [], []
        lines: list[dict[str, Any]] = []
        inputs: list[LineInput] = []
        invalid = False
        for index, raw in enumerate(raw_lines, start=1):
            line_errors = Errors()
            if not isinstance(raw, dict):
                errors.add("transaction_lines", f"(Line {index} must be an object.)")
                invalid = True
                continue
            lp = Payload(raw, line_errors, where=f" (line {index})")
            if lp.has("id"):
                line_errors.add("transaction_lines", f"(id must not be sent on a new transaction (line {index}).)")
            product = self._line_product(repo, lp)
            quantity = lp.decimal("quantity", default=D(1), strictly_positive=True) or D(1)
            discount = lp.decimal("discount", default=ZERO, minimum=ZERO, maximum=D(100)) or ZERO
            rate = lp.decimal("rate", minimum=ZERO)
            if rate is None:
                amount = lp.decimal("amount", minimum=ZERO)
                if amount is not None:
                    rate = amount / quantity
                elif product is not None:
                    rate = D(product.data["sell_price_per_unit"])
                else:
                    rate = ZERO
            tax = self._resolve_tax(repo, lp, "line_tax_id", "line_tax_name", "line_tax")
            if line_errors:
                invalid = True
                for attribute, message in line_errors.body().items():
                    if attribute not in ("id", "error_full_messages"):
                        errors.add(attribute, message)
                continue
            assert product is not None
            lines.append(
                {
                    "product_id": product.id,
                    "description": lp.raw_text("description") or product.data.get("description"),
                    "quantity": quantity,
                    "rate": rate,
                    "discount": discount,
                    "tax_id": tax.id if tax else None,
                    "custom_id": self._number(lp, "custom_id"),
                    "unit_id": product.data.get("unit_id"),
                }
            )
            inputs.append(
                LineInput(quantity, rate, discount, tax.id if tax else None, D(tax.data["rate"]) if tax else None)
            )
        if invalid:
            errors.add("transaction_lines", "is not valid")
        return lines, inputs

    def _invoice_state(self, repo: Repo, row: Row) -> InvoiceState:
        d = row.data
        paid = sum((D(link["amount"]) for link in repo.links("payment", invoice_id=row.id)), ZERO)
        returned = sum((D(link["amount"]) for link in repo.links("return_applied", invoice_id=row.id)), ZERO)
        deposit = D(d["deposit"])
        remaining = D(d["original_amount"]) - D(d["witholding_amount"]) - deposit - paid - returned
        remaining = max(remaining, ZERO)
        amount_receive = deposit + paid
        today = company_date(now_utc(), self.config.company_utc_offset_hours)
        due = _from_iso(d.get("due_date"))
        if remaining == 0:
            status = STATUS_PAID
        elif amount_receive > 0:
            status = STATUS_PARTIAL
        elif due is not None and due < today:
            status = STATUS_OVERDUE
        else:
            status = STATUS_OPEN
        return InvoiceState(paid, returned, amount_receive, remaining, status)

    def _render_sales_invoice(self, repo: Repo, row: Row) -> dict[str, Any]:
        d = row.data
        state = self._invoice_state(repo, row)
        returned_qty: dict[int, Decimal] = {}
        for link in repo.links("return_line", invoice_id=row.id):
            returned_qty[link["line_id"]] = returned_qty.get(link["line_id"], ZERO) + D(link["quantity"])
        payments = []
        for link in repo.links("payment", invoice_id=row.id):
            payment = repo.by_id("receive_payment", link["source_id"])
            if payment is not None and all(p["id"] != payment.id for p in payments):
                payments.append(
                    {
                        "id": payment.id,
                        "transaction_no": payment.key,
                        "transaction_date": fmt_date(_from_iso(payment.tx_date)),
                    }
                )
        returns = []
        for link in repo.links("return_applied", invoice_id=row.id):
            ret = repo.by_id("sales_return", link["source_id"])
            if ret is not None:
                returns.append(
                    {"id": ret.id, "transaction_no": ret.key, "transaction_date": fmt_date(_from_iso(ret.tx_date))}
                )
        lines = []
        for line in d["lines"]:
            tax = repo.by_id("tax", line["tax_id"]) if line.get("tax_id") else None
            unit = repo.by_id("unit", line["unit_id"]) if line.get("unit_id") else None
            lines.append(
                {
                    "id": line["id"],
                    "custom_id": line.get("custom_id"),
                    "description": line.get("description"),
                    **_amount_fields({"amount": D(line["amount"]), "rate": D(line["rate"])}),
                    "discount": fmt_amount(D(line["discount"])),
                    "tax": None,
                    "line_tax": self._tax_ref(tax),
                    "has_return_line": returned_qty.get(line["id"], ZERO) > 0,
                    "quantity": _quantity(D(line["quantity"])),
                    "product": self._product_ref(repo, line["product_id"]),
                    "unit": {"id": unit.id if unit else None, "name": unit.data["name"] if unit else None},
                }
            )
        tax_details = []
        for tax_total in d["taxes"]:
            tax = repo.by_id("tax", tax_total["tax_id"])
            amount = D(tax_total["amount"])
            tax_details.append(
                {
                    "name": f"{tax.data['name'] if tax else '?'} {fmt_amount(D(tax_total['rate']))}%",
                    "tax_amount": json_number(amount),
                    "tax_amount_currency_format": fmt_currency(amount),
                }
            )
        witholding_amount = D(d["witholding_amount"])
        out: dict[str, Any] = {
            "id": row.id,
            "transaction_no": row.key,
            "selected_po_id": None,
            "selected_pq_id": None,
            "token": d["token"],
            "email": d.get("email"),
            "source": d.get("source") or "apikey",
            "address": d.get("address"),
            "message": d.get("message"),
            "memo": d.get("memo"),
            "shipping_address": d.get("shipping_address"),
            "is_shipped": d.get("is_shipped"),
            "ship_via": d.get("ship_via"),
            "reference_no": d.get("reference_no"),
            "tracking_no": d.get("tracking_no"),
            "tax_after_discount": d["tax_after_discount"],
            "use_tax_inclusive": d["use_tax_inclusive"],
            "witholding_value": fmt_amount(D(d["witholding_value"])),
            "witholding_type": d["witholding_type"].lower() if d.get("witholding_type") else None,
            "status": "approved",
            "custom_id": row.custom_id,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "deleted_at": None,
            "deletable": not payments and not returns,
            "editable": True,
            "audited_by": None,
            "transaction_date": fmt_date(_from_iso(d["transaction_date"])),
            "due_date": fmt_date(_from_iso(d.get("due_date"))),
            "shipping_date": fmt_date(_from_iso(d.get("shipping_date"))),
            "witholding_amount": json_number(witholding_amount),
            "witholding_amount_currency_format": fmt_currency(witholding_amount),
            "has_deliveries": False,
            "transaction_status": _status(state.status),
            "transaction_lines_attributes": lines,
            "payments": payments,
            "sales_returns": returns,
            "sales_deliveries": [],
            "credit_memos": [],
            "sales_quote": {"id": None, "transaction_no": None},
            "person": self._person_ref(repo, row.person_id),
            "discount_type": _status(DISCOUNT_TYPES[d["discount_type"]]),
            "discount_unit": fmt_amount(D(d["discount_unit"])),
            "warehouse": self._warehouse_ref(repo, d.get("warehouse_id")),
            "deposit_to": self._account_ref(repo, d.get("deposit_to_id")),
            "term": {"id": None, "name": d.get("term_name"), "longetivity": None},
            **self._render_tags(repo, d.get("tag_ids", [])),
            "has_payments": bool(payments),
            "earliest_payment_date": min(
                (p["transaction_date"] for p in payments), default="", key=lambda text: text[6:] + text[3:5] + text[:2]
            ),
            "tax": {"id": None, "name": None, "rate": None},
            "tax_details": tax_details,
            "attachments": [],
            "is_reconciled": False,
            "witholding_account": self._account_ref(repo, d.get("witholding_account_id")),
            "currency_code": "IDR",
            "currency_rate": 1,
            "company_currency": {"code": "IDR", "symbol": "Rp."},
        }
        out.update(
            _amount_fields(
                {
                    "remaining": state.remaining,
                    "original_amount": D(d["original_amount"]),
                    "shipping_price": D(d["shipping_price"]),
                    "tax_amount": D(d["tax_amount"]),
                    "discount_price": D(d["discount_price"]),
                    "amount_receive": state.amount_receive,
                    "subtotal": D(d["subtotal"]),
                    "deposit": D(d["deposit"]),
                    "discount_per_lines": D(d["discount_per_lines"]),
                    "payment_received_amount": state.paid,
                }
            )
        )
        return out

    # ------------------------------------------------------------------ receive payments

    def _create_receive_payment(self, repo: Repo, body: dict[str, Any], now: str) -> Row:
        errors = Errors()
        p = Payload(body, errors)
        transaction_date = p.date("transaction_date", required=True)
        transaction_no = self._number(p, "transaction_no")
        custom_id = self._number(p, "custom_id")
        self._check_transaction_no(repo, "receive_payment", transaction_no, errors)
        self._check_custom_id(repo, "receive_payment", custom_id, errors)
        is_draft = p.boolean("is_draft", False)

        records: list[dict[str, Any]] = []
        invoices: dict[int, Row] = {}
        per_invoice: dict[int, Decimal] = {}
        raw_records = p.items("records_attributes")
        if not raw_records:
            errors.add("records_attributes", "can't be blank")
        for index, raw in enumerate(raw_records or [], start=1):
            if not isinstance(raw, dict):
                errors.add("records", f"(Record {index} must be an object.)")
                continue
            rp = Payload(raw, errors, where=f" (record {index})")
            number = rp.required_text("transaction_no", "records")
            amount = rp.decimal("amount", strictly_positive=True, attribute="amount")
            if not rp.has("amount"):
                errors.add("amount", f"can't be blank (record {index})")
            if number is None:
                continue
            invoice = repo.by_key("sales_invoice", number)
            if invoice is None:
                errors.add("records", f"(Invoice with transaction_no {number!r} was not found (record {index}).)")
                continue
            invoices[invoice.id] = invoice
            if amount is not None and amount > 0:
                per_invoice[invoice.id] = per_invoice.get(invoice.id, ZERO) + amount
                records.append({"invoice_id": invoice.id, "amount": amount, "description": rp.raw_text("description")})

        for invoice_id, total in per_invoice.items():
            remaining = self._invoice_state(repo, invoices[invoice_id]).remaining
            if total > remaining:
                errors.add("amount_receive", "(Value received cannot be greater than remaining balance.)")
                errors.add(
                    "records",
                    f"(Invoice {invoices[invoice_id].key!r} has a remaining balance of "
                    f"{fmt_amount(remaining)}; {fmt_amount(total)} was received.)",
                )
        persons = {invoice.person_id for invoice in invoices.values()}
        if len(persons) > 1:
            errors.add("person", "(All invoices paid by one receive payment must belong to the same customer.)")
        person = self._resolve_customer(repo, p, required=False)
        if person is not None and persons and person.id not in persons:
            errors.add("person", f"(Customer {person.data['display_name']!r} is not the invoices' customer.)")

        method = self._resolve_payment_method(repo, p)
        deposit_to = self._resolve_account(repo, p, "deposit_to", "deposit_to")
        witholding_type = self._choice(p, "witholding_type", default=None)
        witholding_value = p.decimal("witholding_value", default=ZERO, minimum=ZERO) or ZERO
        witholding_account = self._resolve_account(repo, p, "witholding_account", "witholding_account")
        errors.raise_if_any()
        assert transaction_date is not None

        if method is None:
            name = p.text("payment_method_name")
            assert name is not None
            method = repo.insert("payment_method", {"name": name}, now=now, name=name)
        total = sum((r["amount"] for r in records), ZERO)
        if witholding_type == PERCENT:
            witholding_amount = q2(total * witholding_value / 100)
        elif witholding_type == VALUE:
            witholding_amount = witholding_value
        else:
            witholding_amount = ZERO
        person_id = person.id if person else (next(iter(persons)) if persons else None)
        for record in records:
            record["id"] = repo.next_id()
        data = {
            "transaction_no": transaction_no or repo.next_transaction_no("receive_payment"),
            "token": secrets.token_urlsafe(16),
            "transaction_date": _iso(transaction_date),
            "records": records,
            "payment_method_id": method.id,
            "deposit_to_id": deposit_to.id if deposit_to else self._default_account(repo, "1-10001"),
            "is_draft": is_draft,
            "memo": p.raw_text("memo"),
            "witholding_type": witholding_type,
            "witholding_value": witholding_value,
            "witholding_amount": witholding_amount,
            "witholding_account_id": witholding_account.id if witholding_account else None,
            "tag_ids": self._tags(repo, p, now),
        }
        row = repo.insert(
            "receive_payment",
            data,
            now=now,
            custom_id=custom_id,
            key=data["transaction_no"],
            person_id=person_id,
            tx_date=data["transaction_date"],
        )
        if not is_draft:
            # A draft is kept but does not settle anything until it is approved (not emulated).
            for record in records:
                repo.add_link("payment", source_id=row.id, invoice_id=record["invoice_id"], amount=record["amount"])
                repo.touch(record["invoice_id"], now)
        return row

    def _resolve_payment_method(self, repo: Repo, p: Payload) -> Row | None:
        """Swagger rules: id and name must match; an unknown id is an error; an unknown name is created later."""
        method_id = p.integer_id("payment_method_id")
        name = p.text("payment_method_name")
        if method_id is None and name is None:
            p.errors.add("payment_method", "(payment_method_id or payment_method_name must be sent.)")
            return None
        by_id = repo.by_id("payment_method", method_id) if method_id is not None else None
        if method_id is not None and by_id is None:
            p.errors.add("payment_method", f"(Payment method with payment_method_id {method_id} was not found.)")
            return None
        if by_id is not None and name is not None and norm(by_id.data["name"]) != norm(name):
            p.errors.add(
                "payment_method", f"(payment_method_id {method_id} and payment_method_name {name!r} do not match.)"
            )
            return None
        if by_id is not None:
            return by_id
        rows = repo.by_name("payment_method", name or "")
        return rows[0] if rows else None

    def _render_receive_payment(self, repo: Repo, row: Row) -> dict[str, Any]:
        d = row.data
        method = repo.by_id("payment_method", d["payment_method_id"])
        records = []
        for record in d["records"]:
            invoice = repo.by_id("sales_invoice", record["invoice_id"])
            amount = D(record["amount"])
            rendered: dict[str, Any] = {
                "id": record.get("id"),
                "transaction_id": record["invoice_id"],
                "amount": fmt_amount(amount),
                "amount_currency_format": fmt_currency(amount),
                "description": record.get("description"),
                "transaction_type_id": 1,
                "transaction_type": "Invoice",
            }
            if invoice is not None:
                state = self._invoice_state(repo, invoice)
                total = D(invoice.data["original_amount"])
                rendered.update(
                    transaction_no=invoice.key,
                    transaction_due_date=fmt_date(_from_iso(invoice.data.get("due_date"))),
                    transaction_total=json_number(total),
                    transaction_total_currency_format=fmt_currency(total),
                    transaction_balance_due=json_number(state.remaining),
                    transaction_balance_due_currency_format=fmt_currency(state.remaining),
                )
            records.append(rendered)
        total = sum((D(r["amount"]) for r in d["records"]), ZERO)
        witholding_amount = D(d.get("witholding_amount") or 0)
        witholding_account = self._account_ref(repo, d.get("witholding_account_id"))
        return {
            "id": row.id,
            "transaction_no": row.key,
            "token": d["token"],
            "memo": d.get("memo"),
            "custom_id": row.custom_id,
            "status": "draft" if d["is_draft"] else "approved",
            "transaction_status": _status(STATUS_OPEN if d["is_draft"] else STATUS_PAID),
            "deleted_at": None,
            "deletable": True,
            "editable": True,
            "transaction_date": fmt_date(_from_iso(row.tx_date)),
            "person": self._person_ref(repo, row.person_id, style="payment"),
            "transaction_type": {"id": 2, "name": "Receive Payment"},
            "payment_method": {"id": method.id if method else None, "name": method.data["name"] if method else None},
            "deposit_to": self._account_ref(repo, d.get("deposit_to_id")),
            "is_draft": d["is_draft"],
            "witholding": {
                "witholding_account_name": witholding_account["name"],
                "witholding_account_number": witholding_account["number"],
                "account_id": witholding_account["id"],
                "value": fmt_amount(D(d.get("witholding_value") or 0)),
                "type": (d.get("witholding_type") or "percent").lower(),
                "amount": json_number(witholding_amount),
                "amount_currency_format": fmt_currency(witholding_amount),
                "category": witholding_account["category"],
            },
            "total": json_number(total),
            "total_currency_format": fmt_currency(total),
            "records": records,
            "is_reconciled": False,
            "attachments": [],
            **self._render_tags(repo, d.get("tag_ids", [])),
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "currency_code": "IDR",
            "currency_rate": 1,
        }

    # ------------------------------------------------------------------ sales returns

    def _create_sales_return(self, repo: Repo, body: dict[str, Any], now: str) -> Row:
        errors = Errors()
        p = Payload(body, errors)
        transaction_date = p.date("transaction_date", required=True)
        # The swagger's sales-return body has neither key: with return_dedup "none" they are ignored as the real
        # API ignores undocumented attributes, and every return is numbered here.
        keyed = self.config.return_dedup == "transaction_no"
        transaction_no = self._number(p, "transaction_no") if keyed else None
        custom_id = self._number(p, "custom_id") if keyed else None
        self._check_transaction_no(repo, "sales_return", transaction_no, errors)
        self._check_custom_id(repo, "sales_return", custom_id, errors)
        invoice = self._resolve_named(
            repo,
            p,
            kind="sales_invoice",
            label="Sales invoice",
            attribute="invoice",
            by_id="invoice_id",
            by_name=None,
            by_key="invoice_no",
            required=True,
        )
        warehouse = self._resolve_warehouse(repo, p)
        raw_lines = p.items("transaction_return_lines_attributes")
        if not raw_lines:
            errors.add("transaction_return_lines_attributes", "can't be blank")
        chosen: list[tuple[dict[str, Any], Decimal]] = []
        if invoice is not None and raw_lines:
            chosen = self._return_lines(repo, invoice, raw_lines, errors)
        errors.raise_if_any()
        assert transaction_date is not None and invoice is not None

        d = invoice.data
        totals = return_totals(
            [(self._line_input(repo, line), quantity) for line, quantity in chosen],
            invoice_line_total=D(d["line_total"]),
            discount_type=d["discount_type"],
            discount_unit=D(d["discount_unit"]),
            discount_price=D(d["discount_price"]),
            tax_after_discount=d["tax_after_discount"],
            tax_inclusive=d["use_tax_inclusive"],
            witholding_type=d.get("witholding_type"),
            witholding_value=D(d["witholding_value"]),
            witholding_amount=D(d["witholding_amount"]),
            per_line_tax=self.config.tax_rounding == "line",
        )
        remaining = self._invoice_state(repo, invoice).remaining
        # The part of the return the invoice still owes is taken off its balance; the rest would be a credit
        # memo in Jurnal, which the sandbox does not emulate.
        applied = min(totals.return_amount, remaining)
        lines = [
            {"id": repo.next_id(), "invoice_line_id": line["id"], "return_quantity": quantity, "amount": amount}
            for (line, quantity), amount in zip(chosen, totals.line_amounts, strict=True)
        ]
        data = {
            "transaction_no": transaction_no or repo.next_transaction_no("sales_return"),
            "token": secrets.token_urlsafe(16),
            "transaction_date": _iso(transaction_date),
            "invoice_id": invoice.id,
            "warehouse_id": warehouse.id if warehouse else d.get("warehouse_id"),
            "lines": lines,
            "discount_lines": totals.discount_lines,
            "discount_whole": totals.discount_whole,
            "returned_tax": totals.returned_tax,
            "returned_witholding_amount": totals.returned_witholding_amount,
            "return_amount": totals.return_amount,
            "applied_to_invoice": applied,
            "memo": p.raw_text("memo"),
            "message": p.raw_text("message"),
            "email": p.raw_text("email") or d.get("email"),
            "tag_ids": self._tags(repo, p, now),
        }
        row = repo.insert(
            "sales_return",
            data,
            now=now,
            custom_id=custom_id,
            key=data["transaction_no"],
            person_id=invoice.person_id,
            tx_date=data["transaction_date"],
        )
        for line in lines:
            repo.add_link(
                "return_line",
                source_id=row.id,
                invoice_id=invoice.id,
                line_id=line["invoice_line_id"],
                quantity=line["return_quantity"],
            )
        repo.add_link("return_applied", source_id=row.id, invoice_id=invoice.id, amount=applied)
        repo.touch(invoice.id, now)
        self._record_return_moves(repo, row)
        return row

    def _line_input(self, repo: Repo, line: dict[str, Any]) -> LineInput:
        tax = repo.by_id("tax", line["tax_id"]) if line.get("tax_id") else None
        return LineInput(
            D(line["quantity"]),
            D(line["rate"]),
            D(line["discount"]),
            tax.id if tax else None,
            D(tax.data["rate"]) if tax else None,
        )

    def _return_lines(
        self, repo: Repo, invoice: Row, raw_lines: list[Any], errors: Errors
    ) -> list[tuple[dict[str, Any], Decimal]]:
        """Match each return line to an invoice line; the quantity may not exceed sold - already returned."""
        invoice_lines = invoice.data["lines"]
        returned: dict[int, Decimal] = {}
        for link in repo.links("return_line", invoice_id=invoice.id):
            returned[link["line_id"]] = returned.get(link["line_id"], ZERO) + D(link["quantity"])
        requested: dict[int, Decimal] = {}
        chosen: list[tuple[dict[str, Any], Decimal]] = []
        invalid = False
        for index, raw in enumerate(raw_lines, start=1):
            where = f" (return line {index})"
            if not isinstance(raw, dict):
                errors.add("transaction_return_lines", f"(Return line {index} must be an object.)")
                invalid = True
                continue
            lp = Payload(raw, errors, where=where)
            line_id = lp.integer_id("transaction_line_id")
            product_id = lp.integer_id("product_id")
            product_name = lp.text("product_name")
            quantity = lp.decimal("return_quantity", minimum=ZERO)
            if not lp.has("return_quantity"):
                errors.add("return_quantity", "can't be blank" + where)
            candidates = invoice_lines
            if line_id is not None:
                candidates = [line for line in invoice_lines if line["id"] == line_id]
                if not candidates:
                    errors.add("transaction_line", f"(Line {line_id} is not a line of invoice {invoice.key!r}{where}.)")
            if product_id is not None:
                candidates = [line for line in candidates if line["product_id"] == product_id]
            if product_name is not None:
                candidates = [
                    line
                    for line in candidates
                    if (product := repo.by_id("product", line["product_id"])) is not None
                    and norm(product.data["name"]) == norm(product_name)
                ]
            if line_id is None and product_id is None and product_name is None:
                errors.add("product", f"(transaction_line_id, product_id or product_name must be sent{where}.)")
                invalid = True
                continue
            if not candidates:
                sent = ", ".join(
                    f"{key} {raw[key]!r}"
                    for key in ("transaction_line_id", "product_id", "product_name")
                    if raw.get(key) is not None
                )
                errors.add("product", f"({sent} does not match a line of invoice {invoice.key!r}{where}.)")
                invalid = True
                continue
            if quantity is None:
                invalid = True
                continue

            def available(line: dict[str, Any]) -> Decimal:
                return D(line["quantity"]) - returned.get(line["id"], ZERO) - requested.get(line["id"], ZERO)

            # Matched by product only: take the first invoice line with this product that still has enough.
            line = next((c for c in candidates if available(c) >= quantity), candidates[0])
            if quantity > available(line):
                product = repo.by_id("product", line["product_id"])
                errors.add(
                    "return_quantity",
                    f"(Return quantity {fmt_amount(quantity)} of {product.data['name'] if product else '?'!r} is "
                    f"greater than the quantity that can still be returned: {fmt_amount(available(line))} "
                    f"(sold {fmt_amount(D(line['quantity']))}, already returned "
                    f"{fmt_amount(returned.get(line['id'], ZERO) + requested.get(line['id'], ZERO))}){where}.)",
                )
                invalid = True
                continue
            requested[line["id"]] = requested.get(line["id"], ZERO) + quantity
            chosen.append((line, quantity))
        if invalid:
            errors.add("transaction_return_lines", "is not valid")
        return chosen

    def _render_sales_return(self, repo: Repo, row: Row) -> dict[str, Any]:
        d = row.data
        invoice = repo.by_id("sales_invoice", d["invoice_id"])
        inv = invoice.data if invoice else {}
        invoice_lines = {line["id"]: line for line in inv.get("lines", [])}
        lines = []
        for line in d["lines"]:
            source = invoice_lines.get(line["invoice_line_id"], {})
            product = repo.by_id("product", source["product_id"]) if source else None
            tax = repo.by_id("tax", source["tax_id"]) if source.get("tax_id") else None
            unit = repo.by_id("unit", source["unit_id"]) if source.get("unit_id") else None
            amount = D(line["amount"])
            lines.append(
                {
                    "id": line["id"],
                    "transaction_line_id": line["invoice_line_id"],
                    "return_quantity": _quantity(D(line["return_quantity"])),
                    "line_return_amount": json_number(amount),
                    "line_return_amount_currency_format": fmt_currency(amount),
                    "transaction_line": {
                        "product": {
                            "id": product.id if product else None,
                            "product_code": product.data["product_code"] if product else None,
                            "name": product.data["name"] if product else None,
                        },
                        "description": source.get("description"),
                        "quantity": _quantity(D(source.get("quantity", 0))),
                        **_amount_fields({"rate": D(source.get("rate", 0)), "amount": D(source.get("amount", 0))}),
                        "tax": None,
                        "line_tax": self._tax_ref(tax),
                        "discount": fmt_amount(D(source.get("discount", 0))),
                        "unit": unit.data["name"] if unit else None,
                    },
                }
            )
        out: dict[str, Any] = {
            "id": row.id,
            "transaction_no": row.key,
            "token": d["token"],
            "message": d.get("message"),
            "email": d.get("email"),
            "memo": d.get("memo"),
            "custom_id": row.custom_id,
            "status": "approved",
            "transaction_status": _status(STATUS_CLOSED),
            "address": inv.get("address"),
            "shipping_address": inv.get("shipping_address"),
            "deleted_at": None,
            "deletable": True,
            "editable": True,
            "audited_by": None,
            "transaction_date": fmt_date(_from_iso(row.tx_date)),
            "due_date": fmt_date(_from_iso(inv.get("due_date"))),
            "shipping_date": fmt_date(_from_iso(inv.get("shipping_date"))),
            "invoice_no": invoice.key if invoice else None,
            "invoice_date": fmt_date(_from_iso(inv.get("transaction_date"))),
            "invoice_id": d["invoice_id"],
            "invoice_tax_after_discount": inv.get("tax_after_discount"),
            "invoice_has_discount_lines": D(inv.get("discount_per_lines", 0)) > 0,
            "has_discount_in_invoice": D(inv.get("discount_price", 0)) > 0,
            "transaction_type": {"id": 12, "name": "Sales Return"},
            "transaction_return_lines_attributes": lines,
            "person": self._person_ref(repo, row.person_id, style="return"),
            "warehouse": self._warehouse_ref(repo, d.get("warehouse_id")),
            "is_reconciled": False,
            "attachments": [],
            **self._render_tags(repo, d.get("tag_ids", [])),
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "currency_code": "IDR",
            "currency_rate": 1,
        }
        for name in ("returned_tax", "discount_lines", "discount_whole", "return_amount", "returned_witholding_amount"):
            value = D(d[name])
            out[name] = json_number(value)
            out[f"{name}_currency_format"] = fmt_currency(value)
        return out

    # ------------------------------------------------------------------ bank withdrawals

    def _create_bank_withdrawal(self, repo: Repo, body: dict[str, Any], now: str) -> Row:
        """Money paid out of a Cash & Bank account (``refund_from_*``) to a contact, booked against the accounts of
        ``transaction_account_lines_attributes``: ``debit`` (the swagger's request field) adds to the withdrawal,
        ``credit`` (shown on the reply's lines) takes off; the total must be > 0."""
        errors = Errors()
        p = Payload(body, errors)
        transaction_date = p.date("transaction_date", required=True)
        transaction_no = self._number(p, "transaction_no")
        custom_id = self._number(p, "custom_id")
        self._check_transaction_no(repo, "bank_withdrawal", transaction_no, errors)
        self._check_custom_id(repo, "bank_withdrawal", custom_id, errors)
        refund_from = self._resolve_account(repo, p, "refund_from", "refund_from", required=True)
        if refund_from is not None and refund_from.data["category"] != "Cash & Bank":
            errors.add("refund_from", f"(Account '{refund_from.data['name']}' is not a Cash & Bank account.)")
        person = self._resolve_customer(repo, p, required=False)
        raw_lines = p.items("transaction_account_lines_attributes")
        if not raw_lines:
            errors.add("transaction_account_lines_attributes", "can't be blank")
        lines: list[dict[str, Any]] = []
        for index, raw in enumerate(raw_lines or [], start=1):
            where = f" (line {index})"
            if not isinstance(raw, dict):
                errors.add("transaction_account_lines", f"(Line {index} must be an object.)")
                continue
            lp = Payload(raw, errors, where=where)
            account = self._resolve_account(repo, lp, "account", "account", required=True)
            debit = lp.decimal("debit", default=ZERO, minimum=ZERO)
            credit = lp.decimal("credit", default=ZERO, minimum=ZERO)
            if debit and credit:
                errors.add("debit", f"(A line takes a debit or a credit, not both{where}.)")
            elif not debit and not credit:
                errors.add("debit", f"(Value must be greater than 0{where}.)")
            if account is not None and debit is not None and credit is not None:
                lines.append({"id": repo.next_id(), "account_id": account.id, "debit": q2(debit),
                              "credit": q2(credit), "description": lp.raw_text("description")})
        errors.raise_if_any()
        total = sum((line["debit"] - line["credit"] for line in lines), ZERO)
        if total <= 0:
            message = f"(The withdrawal must total more than 0, not {fmt_amount(total)}.)"
            errors.add("transaction_account_lines", message)
            errors.raise_if_any()
        assert transaction_date is not None and refund_from is not None
        data = {
            "transaction_no": transaction_no or repo.next_transaction_no("bank_withdrawal"),
            "token": secrets.token_urlsafe(16),
            "transaction_date": _iso(transaction_date),
            "refund_from_id": refund_from.id,
            "lines": [{**line, "debit": str(line["debit"]), "credit": str(line["credit"])} for line in lines],
            "original_amount": str(total),
            "memo": p.raw_text("memo"),
            "tag_ids": self._tags(repo, p, now),
        }
        return repo.insert(
            "bank_withdrawal",
            data,
            now=now,
            custom_id=custom_id,
            key=data["transaction_no"],
            person_id=person.id if person else None,
            tx_date=data["transaction_date"],
        )

    def _render_bank_withdrawal(self, repo: Repo, row: Row) -> dict[str, Any]:
        d = row.data
        person = repo.by_id("customer", row.person_id) if row.person_id is not None else None
        lines = []
        for line in d["lines"]:
            debit, credit = D(line["debit"]), D(line["credit"])
            lines.append({
                "id": line["id"],
                "description": line.get("description"),
                "debit": json_number(debit),
                "credit": json_number(credit),
                "debit_currency_format": fmt_currency(debit),
                "credit_currency_format": fmt_currency(credit),
                "line_tax": self._tax_ref(None),
                "account": self._account_ref(repo, line["account_id"]),
            })
        total = D(d["original_amount"])
        return {
            "id": row.id,
            "transaction_no": row.key,
            "token": d["token"],
            "memo": d.get("memo"),
            "custom_id": row.custom_id,
            "tax_amount": fmt_amount(ZERO),
            "remaining": fmt_amount(total),
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "deleted_at": None,
            "deletable": True,
            "editable": True,
            "transaction_date": fmt_date(_from_iso(row.tx_date)),
            "transaction_status": _status(STATUS_CLOSED),
            "person": {"id": person.id if person else None, "name": person.data["display_name"] if person else None,
                       "is_customer": person is not None, "is_vendor": False},
            "refund_from": self._account_ref(repo, d["refund_from_id"]),
            "original_amount": json_number(total),
            "original_amount_currency_format": fmt_currency(total),
            "subtotal": json_number(total),
            "subtotal_currency_format": fmt_currency(total),
            "transaction_account_lines": lines,
            "attachments": [],
            "tax_details": [],
            **self._render_tags(repo, d.get("tag_ids", [])),
            "is_reconciled": False,
            "currency_code": "IDR",
            "currency_rate": 1,
        }

    # ------------------------------------------------------------------ stock: shared line reading

    def _line_product(self, repo: Repo, lp: Payload) -> Row | None:
        """A transaction line's product: ``product_id`` / ``product_custom_id`` win over code / name."""
        return self._resolve_named(
            repo,
            lp,
            kind="product",
            label="Product",
            attribute="product",
            by_id="product_id",
            by_custom_id="product_custom_id",
            by_key="product_code",
            by_name="product_name",
            required=True,
            id_wins=True,
        )

    def _stock_product(self, repo: Repo, lp: Payload, index: int) -> Row | None:
        """A line's product by the invoice-line rules (id / custom_id win over code / name); it must track stock."""
        product = self._line_product(repo, lp)
        if product is not None and not product.data.get("track_inventory"):
            lp.errors.add(
                "product",
                f"(Product {product.data['name']!r} does not track inventory; only inventory products have stock"
                f" (line {index}).)",
            )
            return None
        return product

    def _stock_lines(
        self,
        repo: Repo,
        p: Payload,
        key: str,
        invalid_attribute: str,
        read_line: Callable[[Payload, Row, int], dict[str, Any] | None],
    ) -> list[dict[str, Any]]:
        """Reads ``key`` (non-empty list of objects); each line's errors are reported with its line number."""
        raw_lines = p.items(key)
        errors = p.errors
        if not raw_lines:
            errors.add(key, "can't be blank")
            return []
        lines: list[dict[str, Any]] = []
        invalid = False
        for index, raw in enumerate(raw_lines, start=1):
            if not isinstance(raw, dict):
                errors.add(invalid_attribute, f"(Line {index} must be an object.)")
                invalid = True
                continue
            line_errors = Errors()
            lp = Payload(raw, line_errors, where=f" (line {index})")
            product = self._stock_product(repo, lp, index)
            line = read_line(lp, product, index) if product is not None else None
            if line_errors or line is None:
                invalid = True
                for attribute, message in line_errors.body().items():
                    if attribute not in ("id", "error_full_messages"):
                        errors.add(attribute, message)
                continue
            lines.append(line)
        if invalid:
            errors.add(invalid_attribute, "is not valid")
        return lines

    @staticmethod
    def _required_decimal(lp: Payload, key: str, **rules: Any) -> Decimal | None:
        if not lp.has(key) or (isinstance(lp.data[key], str) and not lp.data[key].strip()):
            lp.errors.add(key, "can't be blank" + lp.where)
            return None
        return lp.decimal(key, **rules)

    def _stock_product_ref(self, repo: Repo, product_id: int) -> dict[str, Any]:
        row = repo.by_id("product", product_id)
        return {
            "id": product_id,
            "name": row.data["name"] if row else None,
            "code": (row.data["product_code"] or "") if row else None,
        }

    # ------------------------------------------------------------------ warehouse transfers

    def _create_warehouse_transfer(self, repo: Repo, body: dict[str, Any], now: str) -> Row:
        errors = Errors()
        p = Payload(body, errors)
        transaction_date = p.date("transaction_date", required=True)
        sides: dict[str, Row | None] = {}
        for side in ("from", "to"):
            sides[side] = self._resolve_named(
                repo,
                p,
                kind="warehouse",
                label="Warehouse",
                attribute=f"{side}_warehouse",
                by_id=f"{side}_warehouse_id",
                by_name=f"{side}_warehouse_name",
                required=True,
            )
        source, target = sides["from"], sides["to"]
        if source is not None and target is not None and source.id == target.id:
            errors.add(
                "to_warehouse",
                f"(The destination warehouse must be different from the source warehouse {source.data['name']!r}.)",
            )
        transaction_no = self._number(p, "transaction_no")
        custom_id = self._number(p, "custom_id")
        self._check_transaction_no(repo, "warehouse_transfer", transaction_no, errors)
        self._check_custom_id(repo, "warehouse_transfer", custom_id, errors)

        def read_line(lp: Payload, product: Row, index: int) -> dict[str, Any] | None:
            quantity = self._required_decimal(lp, "quantity", strictly_positive=True)
            if quantity is None or quantity <= 0:
                return None
            return {"product_id": product.id, "quantity": quantity}

        lines = self._stock_lines(repo, p, "warehouse_transfer_lines_attributes", "warehouse_transfer_lines", read_line)
        errors.raise_if_any()
        assert transaction_date is not None and source is not None and target is not None
        for line in lines:
            line["id"] = repo.next_id()
        data = {
            "transaction_no": transaction_no or repo.next_transaction_no("warehouse_transfer"),
            "transaction_date": _iso(transaction_date),
            "from_warehouse_id": source.id,
            "to_warehouse_id": target.id,
            "memo": p.raw_text("memo"),
            "lines": lines,
        }
        row = repo.insert(
            "warehouse_transfer",
            data,
            now=now,
            custom_id=custom_id,
            key=data["transaction_no"],
            tx_date=data["transaction_date"],
        )
        for line in lines:
            for warehouse_id, sign in ((source.id, -1), (target.id, 1)):
                repo.add_move(
                    source_id=row.id,
                    line_id=line["id"],
                    warehouse_id=warehouse_id,
                    product_id=line["product_id"],
                    tx_date=data["transaction_date"],
                    mode="delta",
                    quantity=sign * line["quantity"],
                )
        return row

    def _transfer_warehouse_ref(self, repo: Repo, warehouse_id: int) -> dict[str, Any]:
        row = repo.by_id("warehouse", warehouse_id)
        if row is None:
            return {"id": warehouse_id, "name": None, "code": None}
        return {"id": row.id, "name": row.data["name"], "code": row.data.get("code") or ""}

    def _render_warehouse_transfer(self, repo: Repo, row: Row) -> dict[str, Any]:
        d = row.data
        return {
            "id": row.id,
            # The swagger's examples give this resource's transaction_date as yyyy-mm-dd ("2016-07-18").
            "transaction_date": row.tx_date,
            "transaction_no": row.key,
            "memo": d.get("memo"),
            "custom_id": row.custom_id,
            "from_warehouse": self._transfer_warehouse_ref(repo, d["from_warehouse_id"]),
            "to_warehouse": self._transfer_warehouse_ref(repo, d["to_warehouse_id"]),
            "warehouse_transfer_line_attributes": [
                {
                    "id": line["id"],
                    "quantity": fmt_amount(D(line["quantity"])),
                    "product": self._stock_product_ref(repo, line["product_id"]),
                }
                for line in d["lines"]
            ],
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "deleted_at": None,
            "deletable": True,
            "editable": False,
        }

    # ------------------------------------------------------------------ stock adjustments

    @staticmethod
    def _adjustment_type(p: Payload) -> int | None:
        value = p.text("stock_adjustment_type")
        if value is None:
            return 1
        wanted = value.casefold()
        for type_id, (_, _, spellings, _) in STOCK_ADJUSTMENT_TYPES.items():
            if wanted == str(type_id) or wanted in spellings:
                return type_id
        accepted = ", ".join(
            f"{english} / {bahasa} / {type_id}" for type_id, (english, bahasa, _, _) in STOCK_ADJUSTMENT_TYPES.items()
        )
        p.errors.add("stock_adjustment_type", f"(Value {value!r} is invalid; it can only be one of {accepted}.)")
        return None

    def _create_stock_adjustment(self, repo: Repo, body: dict[str, Any], now: str) -> Row:
        errors = Errors()
        p = Payload(body, errors)
        type_id = self._adjustment_type(p)
        adjustment_date = p.date("date", required=True)
        maintain_actual = p.boolean("maintain_actual", False)
        series = COUNT_SERIES if maintain_actual else MOVEMENT_SERIES
        warehouse = self._resolve_warehouse(repo, p)
        account = None
        if any(p.has(f"account_{suffix}") for suffix in ("id", "name", "number")):
            account = self._resolve_account(repo, p, "account", "account")
            if account is not None and account.data["category"] not in STOCK_ADJUSTMENT_ACCOUNT_CATEGORIES:
                errors.add(
                    "account",
                    f"(Account {account.data['name']!r} ({account.data['category']}) cannot be used for a stock"
                    f" adjustment; use an account of category {', '.join(STOCK_ADJUSTMENT_ACCOUNT_CATEGORIES)}.)",
                )
                account = None
        transaction_no = self._number(p, "transaction_no")
        custom_id = self._number(p, "custom_id")
        if transaction_no is not None and (existing := repo.by_key("stock_adjustment", f"{series}:{transaction_no}")):
            errors.conflict("transaction_no", TRANSACTION_NO_TAKEN, existing.id)
        self._check_custom_id(repo, "stock_adjustment", custom_id, errors)
        seen: dict[int, int] = {}

        def read_line(lp: Payload, product: Row, index: int) -> dict[str, Any] | None:
            if product.id in seen:
                lp.errors.add(
                    "product",
                    f"(Product {product.data['name']!r} is already on line {seen[product.id]} (line {index}).)",
                )
            seen.setdefault(product.id, index)
            if maintain_actual:
                # Stock count: only actual_quantity is read (difference is ignored).
                quantity = self._required_decimal(lp, "actual_quantity", minimum=ZERO)
                if quantity is not None and quantity < 0:
                    return None
            else:
                # Stock in/out: only difference is read (actual_quantity is ignored).
                quantity = self._required_decimal(lp, "difference")
                if quantity is not None and quantity == 0:
                    lp.errors.add("difference", f"(Value must not be 0 (line {index}).)")
            use_custom = lp.boolean("use_custom_average_price", False)
            average_price = lp.decimal("average_price", minimum=ZERO)
            if use_custom and not lp.has("average_price"):
                lp.errors.add("average_price", f"can't be blank (line {index})")
            if quantity is None:
                return None
            if not use_custom:
                average_price = D(product.data["buy_price_per_unit"])
            return {
                "product_id": product.id,
                "quantity": quantity,
                "use_custom_average_price": use_custom,
                "average_price": average_price if average_price is not None else ZERO,
            }

        lines = self._stock_lines(repo, p, "lines_attributes", "stock_adjustment_lines", read_line)
        errors.raise_if_any()
        assert type_id is not None and adjustment_date is not None
        if account is None:
            account = repo.by_key("account", STOCK_ADJUSTMENT_TYPES[type_id][3])
            assert account is not None
        for line in lines:
            line["id"] = repo.next_id()
        number = transaction_no or repo.next_transaction_no("stock_adjustment", key_prefix=f"{series}:")
        data = {
            "transaction_no": number,
            "type_id": type_id,
            "maintain_actual": maintain_actual,
            "date": _iso(adjustment_date),
            "warehouse_id": warehouse.id if warehouse else None,
            "account_id": account.id,
            "memo": p.raw_text("memo"),
            "lines": lines,
            "tag_ids": self._tags(repo, p, now),
        }
        row = repo.insert(
            "stock_adjustment",
            data,
            now=now,
            custom_id=custom_id,
            key=f"{series}:{number}",
            tx_date=data["date"],
        )
        for line in lines:
            repo.add_move(
                source_id=row.id,
                line_id=line["id"],
                warehouse_id=UNASSIGNED_WAREHOUSE_ID if warehouse is None else warehouse.id,
                product_id=line["product_id"],
                tx_date=data["date"],
                mode="actual" if maintain_actual else "delta",
                quantity=line["quantity"],
            )
        return row

    def _find_stock_adjustment(self, repo: Repo, resource: Resource, ident: str, params: Mapping[str, str]) -> Row:
        """Swagger: ``search_by`` (id | transaction_no) and ``transaction_type`` (adjustment | movement) are a pair."""
        search_by = (params.get("search_by") or "").strip()
        transaction_type = (params.get("transaction_type") or "").strip()
        if not search_by or not transaction_type:
            raise ApiError(400, {"error": "search_by and transaction_type must be sent together"})
        if search_by not in ("id", "transaction_no"):
            raise ApiError(400, {"error": f"search_by must be id or transaction_no, got {search_by!r}"})
        if transaction_type not in (COUNT_SERIES, MOVEMENT_SERIES):
            raise ApiError(400, {"error": f"transaction_type must be adjustment or movement, got {transaction_type!r}"})
        row = None
        if search_by == "transaction_no":
            row = repo.by_key(resource.kind, f"{transaction_type}:{ident}")
        else:
            with contextlib.suppress(ValueError):
                row = repo.by_id(resource.kind, int(ident))
            if row is not None and (row.key or "").partition(":")[0] != transaction_type:
                row = None
        if row is None:
            raise self.not_found(resource)
        return row

    def _render_stock_adjustment(self, repo: Repo, row: Row) -> dict[str, Any]:
        d = row.data
        type_name = STOCK_ADJUSTMENT_TYPES[d["type_id"]][0]
        effects = stock.effects(repo, row.id)
        lines = []
        for line in d["lines"]:
            effect = effects.get(line["id"])
            if effect is None:  # no move (cannot happen while the document exists): report the stored figure
                effect = stock.LineEffect(ZERO, D(line["quantity"]))
            average_price = D(line["average_price"])
            lines.append(
                {
                    "id": line["id"],
                    "product": self._stock_product_ref(repo, line["product_id"]),
                    "recorded_quantity": json_number(effect.recorded),
                    "actual_quantity": json_number(effect.actual),
                    "difference": json_number(effect.difference),
                    "average_price": json_number(average_price),
                    "use_custom_average_price": line["use_custom_average_price"],
                    "recorded_quantity_company_quantity_format": _quantity_format(effect.recorded),
                    "actual_quantity_company_quantity_format": _quantity_format(effect.actual),
                    "difference_company_quantity_format": _quantity_format(effect.difference),
                    # One space after "Rp." in this resource's examples ("Rp. 50.000,00").
                    "average_price_currency_format": fmt_currency(average_price).replace("Rp.  ", "Rp. "),
                }
            )
        tags = self._render_tags(repo, d.get("tag_ids", []))
        entry_label = "Stock Adjustment" if d["maintain_actual"] else "Stock In/Out"
        return {
            "id": row.id,
            "transaction_no": d["transaction_no"],
            "custom_id": row.custom_id,
            "memo": d.get("memo"),
            "date": fmt_date(_from_iso(d["date"])),
            "adjustment_type": type_name,
            "maintain_actual": d["maintain_actual"],
            "account": self._account_ref(repo, d["account_id"]),
            "warehouse": self._warehouse_ref(repo, d.get("warehouse_id")),
            "stock_adjustment_lines_attributes": lines,
            "tag": tags["tags"],
            "tags_string": tags["tags_string"],
            "entry": {"transaction_number": f"{entry_label}#{d['transaction_no']}"},
            "editable": True,
            "deletable": True,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "deleted_at": None,
        }

    # ------------------------------------------------------------------ lists

    _SORT_KEYS: dict[str, dict[str, Callable[[JurnalService, Repo, Row], Any]]] = {
        "warehouses": {
            "name": lambda s, r, row: row.name_norm,
            "code": lambda s, r, row: row.key,
        },
        "products": {
            "product_code": lambda s, r, row: row.key,
            "name": lambda s, r, row: row.name_norm,
            "sell_price_per_unit": lambda s, r, row: D(row.data["sell_price_per_unit"]),
            "buy_price_per_unit": lambda s, r, row: D(row.data["buy_price_per_unit"]),
        },
        "customers": {
            "display_name": lambda s, r, row: row.name_norm,
            "email": lambda s, r, row: row.data.get("email"),
            "phone": lambda s, r, row: row.data.get("phone"),
            "billing_address": lambda s, r, row: row.data.get("billing_address"),
        },
        "sales_invoices": {
            "transaction_date": lambda s, r, row: row.tx_date,
            "get_number": lambda s, r, row: row.key,
            "transaction_no": lambda s, r, row: row.key,
            "people_display_name": lambda s, r, row: (c := r.by_id("customer", row.person_id)) and c.name_norm,
            "person_id": lambda s, r, row: row.person_id,
            "remaining": lambda s, r, row: s._invoice_state(r, row).remaining,
            "original_amount": lambda s, r, row: D(row.data["original_amount"]),
            "transaction_status_name": lambda s, r, row: s._invoice_state(r, row).status[1],
        },
        "receive_payments": {
            "transaction_date": lambda s, r, row: row.tx_date,
            "transaction_no": lambda s, r, row: row.key,
        },
        "sales_returns": {
            "transaction_date": lambda s, r, row: row.tx_date,
            "transaction_no": lambda s, r, row: row.key,
        },
        "bank_withdrawals": {
            "transaction_date": lambda s, r, row: row.tx_date,
            "transaction_no": lambda s, r, row: row.key,
        },
        "accounts": {
            "name": lambda s, r, row: row.name_norm,
            "number": lambda s, r, row: row.key,
        },
        "warehouse_transfers": {
            "transaction_date": lambda s, r, row: row.tx_date,
            "transaction_no": lambda s, r, row: row.key,
        },
        # The swagger's GET /stock_adjustments sort keys.
        "stock_adjustments": {
            "date": lambda s, r, row: row.tx_date,
            "type": lambda s, r, row: row.data["type_id"],
            "account_id": lambda s, r, row: row.data["account_id"],
            "warehouse_id": lambda s, r, row: row.data.get("warehouse_id"),
            "tags_name": lambda s, r, row: s._render_tags(r, row.data.get("tag_ids", []))["tags_string"],
        },
    }
    _COMMON_SORT_KEYS: dict[str, Callable[[JurnalService, Repo, Row], Any]] = {
        "id": lambda s, r, row: row.id,
        "created_at": lambda s, r, row: row.created_at,
        "updated_at": lambda s, r, row: row.updated_at,
    }
    # Sandbox-only exact-match filters (see the package docstring); column per resource.
    _KEY_FILTERS: dict[str, dict[str, str]] = {
        "warehouses": {"custom_id": "custom_id", "code": "key", "name": "name_norm"},
        "products": {"custom_id": "custom_id", "product_code": "key", "name": "name_norm"},
        "customers": {"custom_id": "custom_id", "display_name": "name_norm"},
        "sales_invoices": {"custom_id": "custom_id", "transaction_no": "key"},
        "receive_payments": {"custom_id": "custom_id", "transaction_no": "key"},
        "sales_returns": {"custom_id": "custom_id", "transaction_no": "key"},
        "bank_withdrawals": {"custom_id": "custom_id", "transaction_no": "key"},
        "accounts": {"name": "name_norm", "number": "key"},
        "warehouse_transfers": {"custom_id": "custom_id", "transaction_no": "key"},
        # transaction_no matches a count or an in/out with that number (the key column is "<series>:<number>").
        "stock_adjustments": {"custom_id": "custom_id", "transaction_no": "key"},
    }

    def _filtered(self, repo: Repo, resource: Resource, params: Mapping[str, str]) -> list[Row]:
        where: list[str] = []
        values: list[Any] = []
        if self.config.key_filters:
            for param, column in self._KEY_FILTERS[resource.path].items():
                if params.get(param) not in (None, ""):
                    value = params[param]
                    if resource.kind == "stock_adjustment" and param == "transaction_no":
                        where.append(f"{column} IN (?, ?)")
                        values.extend((f"{COUNT_SERIES}:{value}", f"{MOVEMENT_SERIES}:{value}"))
                        continue
                    where.append(f"{column} = ?")
                    values.append(norm(value) if column == "name_norm" else value)
        if resource.transaction:
            for param, op in (("start_date", ">="), ("end_date", "<=")):
                if params.get(param):
                    where.append(f"tx_date {op} ?")
                    values.append(self._filter_date(param, params[param]).isoformat())
        rows = repo.select(resource.kind, " AND ".join(where), tuple(values))
        offset = self.config.company_utc_offset_hours
        for column in ("created", "updated"):
            start, end = params.get(f"{column}_start_date"), params.get(f"{column}_end_date")
            if not start and not end:
                continue
            low = self._filter_date(f"{column}_start_date", start) if start else date.min
            high = self._filter_date(f"{column}_end_date", end) if end else date.max

            def stamp(row: Row, column: str = column) -> date:
                return company_date(parse_timestamp(getattr(row, f"{column}_at")), offset)

            rows = [row for row in rows if low <= stamp(row) <= high]
        return self._sorted(repo, resource, rows, params)

    @staticmethod
    def _filter_date(param: str, value: str) -> date:
        try:
            return parse_filter_date(value)
        except ValueError:
            raise ApiError(400, {"error": f"{param} must be dd/mm/yyyy or dd-mm-yyyy, got {value!r}"}) from None

    def _sorted(self, repo: Repo, resource: Resource, rows: list[Row], params: Mapping[str, str]) -> list[Row]:
        sort_key = params.get("sort_key")
        order = (params.get("sort_order") or "").lower()
        if order not in ("", "asc", "desc"):
            raise ApiError(400, {"error": f"sort_order must be asc or desc, got {params.get('sort_order')!r}"})
        getter = {**self._COMMON_SORT_KEYS, **self._SORT_KEYS[resource.path]}.get(sort_key or "")
        if getter is None:
            # No (or an unknown) sort_key: newest first, as the swagger's list examples are ordered.
            return sorted(rows, key=lambda row: row.id, reverse=order != "asc")

        def key(row: Row) -> tuple[bool, Any, int]:
            value = getter(self, repo, row)
            return (value is None, value if value is not None else 0, row.id)

        return sorted(rows, key=key, reverse=order == "desc")

    def _page(
        self,
        repo: Repo,
        plural: str,
        rows: list[Row],
        params: Mapping[str, str],
        page_url: Callable[[int], str],
    ) -> dict[str, Any]:
        page = self._positive_int(params, "page", 1)
        page_size = min(
            self._positive_int(params, "page_size", self.config.page_size_default), self.config.page_size_max
        )
        total = len(rows)
        total_pages = math.ceil(total / page_size)
        chunk = rows[(page - 1) * page_size : page * page_size]
        return {
            plural: [self._list_row(self.render(repo, row)) for row in chunk],
            "total_count": total,
            "current_page": page,
            "total_pages": total_pages,
            "links": {
                "prev_link": page_url(page - 1) if 1 < page <= total_pages + 1 else None,
                "next_link": page_url(page + 1) if page < total_pages else None,
            },
        }

    def _list_row(self, rendered: dict[str, Any]) -> dict[str, Any]:
        """A list's row (``list_lines``): the document as its own GET answers it, or without its lines."""
        if self.config.list_lines == "none" and "transaction_lines_attributes" in rendered:
            return {k: v for k, v in rendered.items() if k != "transaction_lines_attributes"}
        return rendered

    @staticmethod
    def _positive_int(params: Mapping[str, str], name: str, default: int) -> int:
        value = params.get(name)
        if value in (None, ""):
            return default
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            raise ApiError(400, {"error": f"{name} must be a positive integer, got {value!r}"})
        return number
