"""Sandbox settings: credentials, limits, fault injection, and the choices the documentation leaves open."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from ..harness import FaultConfig, UndocumentedReadings

DEMO_CLIENT_ID = "possync-demo"
DEMO_CLIENT_SECRET = "possync-demo-secret"
DEMO_HOST = "127.0.0.1"
DEMO_PORT = 8601
DEMO_DB_PATH = "var/sandbox/jurnal.db"

API_PREFIX = "/public/jurnal/api/v1"
# The SCM service behind the same gateway (get_product_quantity_per_warehouse); HMAC, limits and faults apply.
SCM_PREFIX = "/public/jurnal/scm/public/lo/v1"
GATEWAY_PREFIXES = (API_PREFIX, SCM_PREFIX)


class RateLimits(BaseModel):
    """Fixed windows per API consumer and per IP (accounting_apis.md §1.6). ``None`` disables a window."""

    per_minute: int | None = Field(30, ge=1)
    per_hour: int | None = Field(1800, ge=1)
    per_ip_minute: int | None = Field(40, ge=1)
    per_ip_hour: int | None = Field(2500, ge=1)


class SandboxConfig(UndocumentedReadings):
    db_path: str = Field(":memory:", description="SQLite file, or ':memory:' for a throwaway sandbox")
    clients: dict[str, str] = Field(default_factory=lambda: {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET})
    limits: RateLimits = Field(default_factory=RateLimits)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    clock_skew_seconds: int = Field(300, ge=0, description="allowed |now - Date| (devcenter-kb: 300 s)")
    page_size_default: int = Field(20, ge=1)
    page_size_max: int = Field(100, ge=1, description="larger page_size values are clamped (undocumented upstream)")
    batch_max: int = Field(100, ge=1, description="'1 batch of request can handle up to 100' (swagger)")
    unique_customer_display_name: bool = Field(
        True, description="reported by a partner integration (accounting_apis.md §1.3), enforced by default"
    )
    key_filters: bool = Field(
        True,
        description="sandbox-only list filters (custom_id, transaction_no, product_code, display_name, code);"
        " when False they are ignored, as the real API would ignore an undocumented parameter",
    )
    conflict_id: Literal["existing", "null"] = Field(
        "existing",
        description="the 'id' of an 'already been used' 422, which the docs leave open: 'existing' = the id of the"
        " record holding the key; 'null' = null, as in every other 422",
    )
    return_dedup: Literal["transaction_no", "none"] = Field(
        "transaction_no",
        description="how a sales return whose reply was lost is refused when sent again, which the docs leave open"
        " (the swagger's sales-return body has no transaction_no and no custom_id): 'transaction_no' keeps a sent"
        " transaction_no / custom_id unique (422 'already been used' naming the return); 'none' ignores both, as"
        " the real API would ignore undocumented attributes, and numbers every return itself",
    )
    list_lines: Literal["full", "none"] = Field(
        "full",
        description="what a transaction list's rows carry, which the swagger leaves open (its list replies have no"
        " example): 'full' = each row as GET /<resource>/{id} answers it, lines included; 'none' = the rows without"
        " their transaction_lines_attributes (a summary list)",
    )
    not_found_status: int = Field(404, description="404 {'error': ...} or 422 {'errors': 'Data not found.'}")
    taxes: dict[str, str] = Field(default_factory=lambda: {"PPN": "11", "PB1": "10"},
                                  description="tax name -> rate in percent")
    accounts: list[str] = Field(
        default_factory=list,
        description="extra Cash & Bank accounts (e.g. 'Kas Outlet Senayan') on top of the seeded default chart",
    )
    company_utc_offset_hours: int = Field(7, description="WIB; decides 'today' for Overdue and date filters")

    @field_validator("not_found_status")
    @classmethod
    def _known_not_found_style(cls, value: int) -> int:
        if value not in (404, 422):
            raise ValueError("not_found_status must be 404 or 422 (the two shapes Jurnal documents)")
        return value
