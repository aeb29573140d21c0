"""Reference data a fresh Jurnal company starts with (inferred: a subset of Jurnal's default chart of accounts).

Jurnal companies are created with a default chart of accounts in Indonesian or English; the swagger examples
use names from both ("Kas", "Cash", "Account Receivable", "Accounts Receivable", "Pendapatan", ...). Each
seeded account answers to its English name, its number and the aliases listed here.
"""

from __future__ import annotations

# (number, name, category, aliases)
DEFAULT_ACCOUNTS: list[tuple[str, str, str, list[str]]] = [
    ("1-10001", "Cash", "Cash & Bank", ["Kas"]),
    ("1-10002", "Bank Account", "Cash & Bank", ["Rekening Bank", "Bank"]),
    ("1-10003", "Giro", "Cash & Bank", []),
    ("1-10100", "Account Receivable", "Account Receivable (A/R)", ["Accounts Receivable", "Piutang Usaha"]),
    ("1-10200", "Inventory", "Inventory", ["Persediaan Barang"]),
    ("1-10500", "VAT In", "Other Current Assets", ["PPN Masukan"]),
    ("2-20100", "Trade Payable", "Account Payable (A/P)", ["Accounts Payable", "Account Payable", "Hutang Usaha"]),
    ("2-20500", "VAT Out", "Other Current Liabilities", ["PPN Keluaran"]),
    ("2-20300", "Witholding Tax Payable", "Other Current Liabilities", ["Hutang Pajak"]),
    ("4-40000", "Revenue", "Income", ["Revenues", "Sales", "Pendapatan", "Service Revenue"]),
    ("4-40100", "Sales Discount", "Income", ["Diskon Penjualan"]),
    ("4-40200", "Sales Return", "Income", ["Retur Penjualan"]),
    ("5-50000", "Cost of Sales", "Cost of Sales", ["Beban Pokok Pendapatan", "Cost of Goods Sold"]),
    # Stock adjustment accounts: the default account of each stock adjustment type in the swagger's
    # GET /select2_resources/get_stock_adjustment_type example, plus the equity account of its list example.
    ("3-30999", "Opening Balance Equity", "Equity", ["Ekuitas Saldo Awal"]),
    ("5-50900", "Cost of Production", "Cost of Sales", ["Biaya Produksi"]),
    ("6-60900", "Waste Goods Expense", "Expenses", ["Beban Barang Rusak"]),
    (
        "8-80900",
        "Inventory Adjustments",
        "Other Expense",
        ["Inventory Adjustment", "Penyesuaian Persediaan", "Beban Penyesuaian Persediaan"],
    ),
]

# Extra cash & bank accounts added from the config get numbers from here on.
FIRST_EXTRA_ACCOUNT_NUMBER = 10010

DEFAULT_PAYMENT_METHODS = ["Cash", "Bank Transfer", "Credit Card", "Debit Card", "Cheque & Giro"]

UNASSIGNED_WAREHOUSE_ID = -1
UNASSIGNED_WAREHOUSE_NAME = "Unassigned"

# transaction_status ids/names as in the swagger examples.
STATUS_OPEN = (1, "Open", "Belum Dibayar")
STATUS_CLOSED = (2, "Closed", "Selesai")
STATUS_PAID = (3, "Paid", "Lunas")
STATUS_PARTIAL = (4, "Partial", "Terbayar Sebagian")
STATUS_OVERDUE = (5, "Overdue", "Lewat Jatuh Tempo")

# Stock adjustment types (swagger GET /select2_resources/get_stock_adjustment_type: Umum=1, Barang Rusak=2,
# Produksi=3, Kuantitas Awal=4; GET /stock_adjustments/new: "1: general, 2: waste, 3: production"; the POST
# example sends "General"). id -> (English name rendered as adjustment_type, Indonesian name, spellings accepted
# case-insensitively besides the id, default account number).
STOCK_ADJUSTMENT_TYPES: dict[int, tuple[str, str, tuple[str, ...], str]] = {
    1: ("General", "Umum", ("general", "umum"), "8-80900"),
    2: ("Waste", "Barang Rusak", ("waste", "barang rusak"), "6-60900"),
    3: ("Production", "Produksi", ("production", "produksi"), "5-50900"),
    4: ("Initial Quantity", "Kuantitas Awal", ("initial quantity", "kuantitas awal"), "1-10200"),
}
# Categories of the accounts the swagger's GET /select2_resources/get_stock_adjustment_account example offers.
STOCK_ADJUSTMENT_ACCOUNT_CATEGORIES = ("Inventory", "Other Expense", "Expenses", "Equity", "Cost of Sales")

DISCOUNT_TYPES = {"Percent": (1, "Percent", "Persen"), "Value": (2, "Value", "Nilai")}
