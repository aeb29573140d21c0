"""The one shape of a per-record log line, everywhere: outcome, record type, key, then what happened.

    SYNCED   invoice   INV-JKT01-20261109-0001      → Jurnal #1203 (INV-JKT01-20261109-0001)
    FAILED   invoice   INV-JKT01-20261111-0017      product 'Kopi Susu Gula Aren Seasonal 1L' has no SKU
    REVERSED payment   INV-JKT01-20261109-0004/P1   changed in the POS after it was synced (...): deleted ...

The detail is written in the language the logger carries (``possync.i18n.LanguageAdapter``, set from the
integration's ``language``); the outcome, record type and key stay as they are (ops grep for them):

    FAILED   invoice   INV-JKT01-20261111-0017      produk 'Kopi Susu Gula Aren Seasonal 1L' tidak punya SKU
"""

from __future__ import annotations

import logging
from typing import Any

from possync.i18n import language_of, translate

#: every outcome a log line can have; DAG docs tell ops to look for these and no others
OUTCOMES = ("SYNCED", "SKIPPED", "FAILED", "REVERSED", "CREATED", "APPLIED", "UPLOADED", "PROCESSED")


def log_record(logger: logging.Logger | logging.LoggerAdapter | Any, outcome: str, record_type: str, key: str,
               detail: str) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"log outcome {outcome!r} is not one of {OUTCOMES}")
    language = language_of(logger)
    if language != "en":
        detail = translate(detail, language)
    logger.info("%-8s %-9s %-28s %s", outcome, record_type, key, detail)
