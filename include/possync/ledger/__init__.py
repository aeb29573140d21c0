"""The sync ledger: per-record sync status, target ids, id maps and watermarks.

from possync.ledger import RecordOutcome, RunRef, SyncLedger, content_hash

ledger = SyncLedger.from_url("sqlite:///var/data/ledger.db", ensure_schema=True)
done = ledger.lookup("jurnal_demo", "invoice", keys)          # which keys are already synced
ledger.record("jurnal_demo", outcomes, RunRef.from_context(context))
"""

from possync.ledger.schema import STATUSES, create_schema, drop_schema, metadata
from possync.ledger.store import (
    LOAD_ATTEMPT_STATUSES,
    UNSYNCED_STATUSES,
    LedgerRecord,
    RecordOutcome,
    RecordVersion,
    Reversal,
    RunRef,
    Status,
    SyncLedger,
    content_hash,
)

__all__ = [
    "LOAD_ATTEMPT_STATUSES",
    "STATUSES",
    "UNSYNCED_STATUSES",
    "LedgerRecord",
    "RecordOutcome",
    "RecordVersion",
    "Reversal",
    "RunRef",
    "Status",
    "SyncLedger",
    "content_hash",
    "create_schema",
    "drop_schema",
    "metadata",
]
