"""Sandbox settings: credentials, limits, faults, seeds, and the choices the documentation leaves open."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..harness import FaultConfig, UndocumentedReadings

DEMO_API_TOKEN = "aat.possync-demo-token"
DEMO_SIGNATURE_SECRET = "possync-demo-signature-secret"
DEMO_DATABASE_ID = 1742775
DEMO_DATABASE_ALIAS = "POSSYNC DEMO"
DEMO_HOST = "127.0.0.1"
DEMO_ACCOUNT_PORT = 8602
DEMO_DATA_PORT = 8603
DEMO_DB_PATH = "var/sandbox/accurate.db"

DATA_PREFIX = "/accurate/api/"
ACCOUNT_PREFIX = "/api/"

# glaccount accountType values (the spec's enum of glaccount/save.do).
ACCOUNT_TYPES = (
    "ACCOUNT_PAYABLE",
    "ACCOUNT_RECEIVABLE",
    "ACCUMULATED_DEPRECIATION",
    "CASH_BANK",
    "COGS",
    "EQUITY",
    "EXPENSE",
    "FIXED_ASSET",
    "INVENTORY",
    "LONG_TERM_LIABILITY",
    "OTHER_ASSET",
    "OTHER_CURRENT_ASSET",
    "OTHER_CURRENT_LIABILITY",
    "OTHER_EXPENSE",
    "OTHER_INCOME",
    "REVENUE",
)

# (number, name, accountType): a small chart of accounts seeded into every new database.
SEED_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("1101.001", "Kas", "CASH_BANK"),
    ("1102.001", "Bank BCA", "CASH_BANK"),
    ("1102.002", "Bank Mandiri", "CASH_BANK"),
    ("1103.001", "Piutang Usaha", "ACCOUNT_RECEIVABLE"),
    ("1104.001", "Persediaan Barang Dagang", "INVENTORY"),
    ("2101.001", "Utang Usaha", "ACCOUNT_PAYABLE"),
    ("2102.001", "PPN Keluaran", "OTHER_CURRENT_LIABILITY"),
    ("4101.001", "Penjualan", "REVENUE"),
    ("4102.001", "Retur Penjualan", "REVENUE"),
    ("4103.001", "Diskon Penjualan", "REVENUE"),
    ("4104.001", "Pembulatan Penjualan", "REVENUE"),  # possync: negative rounding and tax cents, detailExpense
    ("4201.001", "Pendapatan Service Charge", "OTHER_INCOME"),
    ("5101.001", "Beban Pokok Penjualan", "COGS"),
    ("5102.001", "Beban Penyesuaian Persediaan", "COGS"),  # item-adjustment adjustmentAccountNo
    ("6101.001", "Biaya Pengiriman", "EXPENSE"),
    ("6102.001", "Kerugian Selisih Barang dalam Perjalanan", "OTHER_EXPENSE"),  # differenceItemTransferAccountNo
)
SEED_BRANCH = "Kantor Pusat"
SEED_WAREHOUSE = "Utama"
# The system warehouse holding goods sent by an item-transfer TRANSFER_OUT and not yet received (the name Accurate
# shows in its "Kuantitas Barang per Gudang" report). Created on the first TRANSFER_OUT; not usable in documents.
TRANSIT_WAREHOUSE = "Transit (AOL System)"
SEED_VENDOR_NO = "V.00001"
SEED_VENDOR_NAME = "PT Pemasok Demo"


class RateLimits(BaseModel):
    """accurate.id 'Batasan Pemanggilan API': 8 calls per second and 8 in flight. ``None`` disables one."""

    per_second: int | None = Field(8, ge=1, description="calls started in any sliding 1 s window, per token")
    in_flight: int | None = Field(8, ge=1, description="concurrent calls per token")


class SandboxConfig(UndocumentedReadings):
    db_path: str = Field(":memory:", description="SQLite file, or ':memory:'")
    tokens: dict[str, str] = Field(
        default_factory=lambda: {DEMO_API_TOKEN: DEMO_SIGNATURE_SECRET}, description="API token -> signature secret"
    )
    database_id: int = DEMO_DATABASE_ID
    database_alias: str = DEMO_DATABASE_ALIAS
    data_host_url: str = Field(
        f"http://{DEMO_HOST}:{DEMO_DATA_PORT}",
        description="what api-token.do answers as database.host; settable after start (tests set it)",
    )
    timestamp_skew_seconds: int = Field(300, ge=0, description="allowed |now - X-Api-Timestamp|")
    limits: RateLimits = Field(default_factory=RateLimits)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    throttle_response: Literal["429", "200"] = Field(
        "429",
        description="the undocumented answer beyond the rate limit: HTTP 429 with Retry-After: 1, or HTTP 200 with"
        " s:false and the throttle message (no Retry-After), the shape of Accurate's business errors",
    )
    page_size_default: int = 20
    page_size_max: int = 1000
    bulk_max: int = 100
    tax1_rate_percent: str = Field("11", description="PPN rate in percent (useTax1 of an item without tax1Name)")
    taxes: dict[str, str] = Field(
        default_factory=lambda: {"PPN": "11", "PB1": "10"},
        description="tax records (name -> rate in percent) an item may name as tax1Name",
    )
    extra_accounts: list[tuple[str, str, str]] = Field(
        default_factory=list, description="(no, name, accountType) seeded on top of SEED_ACCOUNTS"
    )
    webhook_numbers: Literal["sent", "omitted"] = Field(
        "sent",
        description="whether a webhook data entry carries the document's number (<prefix>No) besides its id: only"
        " SALES_INVOICE's shape is documented (both); 'omitted' sends the id alone for every other type",
    )
    item_transfer_webhook: Literal["once", "per_warehouse"] = Field(
        "once",
        description="how many data entries an item-transfer save or delete notifies (undocumented): 'once', or"
        " 'per_warehouse': one per warehouse it moves goods between (the same id and number, with warehouseId)",
    )
    webhook_retries: int = Field(3, ge=0, description="extra attempts after a failed webhook delivery")
    webhook_backoff_seconds: list[float] = Field(default_factory=lambda: [0.2, 0.5, 1.0])
    webhook_timeout_seconds: float = 5.0
    webhook_lifetime_days: int = 7
