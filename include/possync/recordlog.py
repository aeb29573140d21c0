"""The one shape of a per-record log line, everywhere: outcome, record type, key, then what happened.

    SYNCED   invoice   INV-JKT01-20261109-0001      → Jurnal #1203 (INV-JKT01-20261109-0001)
    FAILED   invoice   INV-JKT01-20261111-0017      product 'Kopi Susu Gula Aren Seasonal 1L' has no SKU
"""

from __future__ import annotations

import logging
from typing import Any


def log_record(logger: logging.Logger | logging.LoggerAdapter | Any, outcome: str, record_type: str, key: str,
               detail: str) -> None:
    logger.info("%-8s %-9s %-28s %s", outcome, record_type, key, detail)
