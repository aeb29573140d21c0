"""What every target's senders share: batch creates, and recovering creates whose reply was lost.

A create the target refuses because the document's key is taken is the trace of an earlier attempt whose
reply was lost (a timeout, a dropped connection, a crash before the ledger was written). The sender looks
the holder of the key up and, if it is the same document (same total, same name), records it as synced
instead of creating it twice. A key taken by a *different* document fails with a reason saying so.

A create whose outcome is unknown (the connection broke after sending, a 5xx: ``OutcomeUnknownError``) is
never repeated blindly by the hook. The sender first looks up what the lost attempt may have created
(``find_created``: by default nothing, since re-sending a document with a key of ours is refused as "key
taken" and recovered as above; a target that numbers a document itself must find it by a POS key the
document carries), adopts what it finds and sends only the rest again.

A batch the target refuses as a whole for one bad document (the vendors leave open whether a batch fails per
item or all or nothing) is split and sent again until every good document is created and each bad one fails
with the target's own reason (``create_batch_surviving``).

A target's sender says how a batch is created (``create_batch``), how one is (``create_one``), how its
"key taken" refusals read (``is_duplicate``) and how the holder is found (``find_existing``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from possync.config import Bookkeeping, Integration
from possync.documents import SalesInvoice
from possync.ledger import SyncLedger
from possync.targets.base.bookkeeping import WALK_IN_KEY
from possync.targets.base.errors import OutcomeUnknownError, RejectedError
from possync.targets.base.hook import BatchItemResult
from possync.targets.base.loader import Prerequisite, SendResult

DIFFERENT_DOCUMENT = "already has a different document"
#: statuses of a refused batch call that may be about its documents (a whole batch refused for a bad item): a
#: validation answer, or an envelope refusal at 200 (Accurate). Others (401, 403, 404) are about the call itself.
CONTENT_REFUSALS = frozenset({200, 400, 409, 422})
LOST_REPLY = "a reply was lost"


def loose_match(ours: str, theirs: str) -> str | None:
    """How two different keys would still match a target that trims or ignores case, or None."""
    if ours.strip() == theirs.strip():
        return "only once spaces are trimmed"
    if ours.strip().casefold() == theirs.strip().casefold():
        return "only when case is ignored"
    return None


class TargetSender:
    record_type = ""
    flow = ""
    target_label = ""
    #: body fields holding the document's keys (number, custom id): a record found for the document must hold
    #: each exactly as the body does
    key_fields: tuple[str, ...] = ()
    #: the most documents the target takes in one create call (or, for targets that create one document per
    #: request, how many are sent between ledger writes)
    max_batch_size = 100
    #: whether the loader may send several batches at once (``Loader.batches_in_flight``): true where no batch
    #: depends on another of the same type and ``send`` keeps its per-batch state on the sender (``worker``)
    concurrent_batches = False

    def __init__(self, hook: Any, integration: Integration, ledger: SyncLedger) -> None:
        self.hook = hook
        self.integration = integration
        self.ledger = ledger

    def worker(self) -> TargetSender:
        """A copy that sends one batch beside others: what ``send`` sets for its batch is its own, the hook (its
        session and pacer), the ledger and the integration are shared."""
        return copy.copy(self)

    @property
    def batch_size(self) -> int:
        """Documents per batch: the integration's ``batch_size``, within what the target takes."""
        return max(1, min(self.integration.batch_size, self.max_batch_size))

    def prerequisites(self, document: Any) -> list[Prerequisite]:
        return []

    # -- per document type ---------------------------------------------------------------------------

    def body(self, document: Any) -> dict[str, Any]:
        raise NotImplementedError

    def same_document(self, document: Any, record: dict[str, Any]) -> bool:
        return True

    def result(self, document: Any, record: dict[str, Any], note: str | None = None) -> SendResult:
        raise NotImplementedError

    # -- per target ----------------------------------------------------------------------------------

    def create_batch(self, bodies: list[dict[str, Any]]) -> list[BatchItemResult]:
        raise NotImplementedError

    def create_one(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def is_duplicate(self, message: str | None) -> bool:
        raise NotImplementedError

    def find_existing(self, document: Any, conflict: Any) -> dict[str, Any] | None:
        """The target's record already holding this document's key, or None."""
        raise NotImplementedError

    def delete_document(self, target_id: str) -> bool:
        """Delete the target's document ``target_id`` (a change after sync reverses it); False when the target
        has no such document any more (an earlier delete whose reply was lost)."""
        raise NotImplementedError

    def find_created(self, documents: Sequence[Any]) -> dict[str, dict[str, Any]]:
        """POS key → the target's record, for documents an attempt whose reply was lost may have created and
        that re-sending would not find by itself (the target numbers them). By default none: a document
        carrying a key of ours is refused as "key taken" when sent again and found by ``find_existing``."""
        return {}

    # -- sending -------------------------------------------------------------------------------------

    def send(self, documents: Sequence[Any]) -> list[SendResult]:
        return self.create(documents)

    def create(self, documents: Sequence[Any]) -> list[SendResult]:
        """Create ``documents`` in one batch; a refused one whose key is taken is looked up (see above)."""
        return self._create_recovering(documents, self.create_batch_surviving)

    def create_batch_surviving(self, bodies: list[dict[str, Any]]) -> list[BatchItemResult]:
        """``create_batch``, whether the target refuses only a batch's bad items or the whole batch for them.

        Neither vendor documents which: a target may answer one bad item by refusing the call (Jurnal: a 422
        for the batch) or with per-item results of which none was saved (an all-or-nothing bulk-save). Then
        nothing was written, so sending again is safe: the batch is split in halves, each sent on its own, down
        to single documents, so every good document is still created and a bad one fails with its own reason
        (a batch of one refused as a whole is sent once more through the single create, whose refusal is the
        document's own). A refusal of a key already taken is always the item's own (the trace of a lost reply,
        recovered in ``refused``); when any item was created, the target commits per item and every refusal is
        the item's own too. Nothing is ever sent again that the target said it created."""
        try:
            items = self.create_batch(bodies)
        except RejectedError as error:
            if error.status not in CONTENT_REFUSALS:
                raise
            if len(bodies) == 1:
                return self._create_single(bodies)
            return self._split(bodies)
        if len(bodies) == 1 or any(item.created for item in items):
            return items
        unsure = [index for index, item in enumerate(items) if not self.is_duplicate(item.error)]
        if len(unsure) == len(items):
            return self._split(bodies)
        if unsure:
            again = self.create_batch_surviving([bodies[index] for index in unsure])
            for index, result in zip(unsure, again, strict=True):
                items[index] = result
        return items

    def _split(self, bodies: list[dict[str, Any]]) -> list[BatchItemResult]:
        middle = len(bodies) // 2
        return self.create_batch_surviving(bodies[:middle]) + self.create_batch_surviving(bodies[middle:])

    def send_one_by_one(self, documents: Sequence[Any]) -> list[SendResult]:
        results = []
        for document in documents:
            results.extend(self._create_recovering([document], self._create_single))
        return results

    def _create_single(self, bodies: list[dict[str, Any]]) -> list[BatchItemResult]:
        try:
            return [BatchItemResult(True, self.create_one(bodies[0]))]
        except RejectedError as error:
            return [BatchItemResult(False, error.body if isinstance(error.body, dict) else {}, error.message)]

    def _create_recovering(self, documents: Sequence[Any],
                           create: Callable[[list[dict[str, Any]]], list[BatchItemResult]]) -> list[SendResult]:
        """Create ``documents``; when the outcome of a create is unknown, adopt what it created
        (``find_created``) and send the rest again, up to the hook's ``max_attempts``."""
        results: dict[str, SendResult] = {}
        pending = list(documents)
        attempts = max(1, int(getattr(self.hook, "max_attempts", 1)))
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                note = f"already in {self.target_label} ({LOST_REPLY}); not created twice"
                found = self.find_created(pending)
                results.update({d.key: self.result(d, found[d.key], note=note) for d in pending if d.key in found})
                pending = [document for document in pending if document.key not in results]
                if not pending:
                    break
            try:
                items = create([self.body(document) for document in pending])
            except OutcomeUnknownError as error:
                if attempt == attempts:
                    raise
                self.hook.pause_before_retry(attempt, f"creating {len(pending)} {self.record_type}(s)", str(error))
                continue
            results.update({
                document.key: self.result(document, item.content) if item.created
                else self.refused(document, item.error, item.content)
                for document, item in zip(pending, items, strict=True)
            })
            break
        return [results[document.key] for document in documents]

    def create_unless_found(self, documents: Sequence[Any], found: dict[str, dict[str, Any]],
                            note: str) -> list[SendResult]:
        """Documents the target already holds (``found``: key → its record) are synced as found, with ``note``;
        the rest are created. Results in the order of ``documents``."""
        results = {d.key: self.result(d, found[d.key], note=note) for d in documents if d.key in found}
        missing = [document for document in documents if document.key not in found]
        if missing:
            results.update({result.key: result for result in self.create(missing)})
        return [results[document.key] for document in documents]

    def remember(self, kind: str, results: Sequence[SendResult]) -> None:
        """Keep POS key → target id and number of what synced, for the documents that point at them."""
        self.ledger.set_id_maps(self.integration.name, kind, {
            result.key: (str(result.target_id), result.target_number) for result in results if result.status == "synced"
        })

    def key_mismatch(self, document: Any, record: dict[str, Any]) -> tuple[str, str | None] | None:
        """How the keys of a record found for ``document`` differ from its own, or None when each is the same:
        (a description, and how they would still match loosely, or None when they do not)."""
        body = self.body(document)
        for field in self.key_fields:
            ours = body.get(field)
            if ours is None:
                continue
            theirs = record.get(field)
            if theirs is not None and str(theirs) != str(ours):  # a reply without the field says nothing
                how = loose_match(str(ours), str(theirs))
                return f"{field} {theirs!r}, not {ours!r}", how
        return None

    def refused(self, document: Any, message: str | None, body: Any = None) -> SendResult:
        if self.is_duplicate(message):
            existing = self.find_existing(document, body)
            mismatch = self.key_mismatch(document, existing) if existing is not None else None
            if existing is not None and mismatch is not None and mismatch[1] is not None:
                described, how = mismatch
                reason = (f"{self.target_label} #{existing.get('id')} holds {described}, which matches {how}:"
                          f" keys are compared exactly, so it is not taken as this record ({message})")
                return SendResult(document.key, "failed", reason=reason)
            if existing is not None and mismatch is None and self.same_document(document, existing):
                return self.result(
                    document, existing, note=f"already in {self.target_label} (a reply was lost); not created twice"
                )
            if existing is not None:
                reason = f"{self.target_label} {DIFFERENT_DOCUMENT} under this key (#{existing.get('id')}): {message}"
                return SendResult(document.key, "failed", reason=reason)
            return SendResult(document.key, "failed", reason=(
                f"{self.target_label}: {message}, yet no {self.target_label} document holds the key (the key of a"
                f" document deleted in {self.target_label} may stay taken): it cannot be posted under this number"))
        return SendResult(document.key, "failed", reason=f"{self.target_label}: {message}")


class SkuMatchedItemSender(TargetSender):
    """Products are matched by SKU; only SKUs the target lacks are created."""

    record_type, flow = "item", "products"

    def __init__(self, hook: Any, integration: Integration, ledger: SyncLedger) -> None:
        super().__init__(hook, integration, ledger)
        self._existing: dict[str, dict[str, Any]] | None = None  # read once per task

    def existing_by_sku(self) -> dict[str, dict[str, Any]]:
        """SKU → the target's item, for every item the target has."""
        raise NotImplementedError

    def send(self, documents: Sequence[Any]) -> list[SendResult]:
        if self._existing is None:
            self._existing = self.existing_by_sku()
        results = self.create_unless_found(documents, self._existing, note="matched by SKU")
        self.remember("product", results)
        return results


def same_lines(ours: Iterable[tuple[Any, Any]], theirs: Iterable[tuple[Any, Any]]) -> bool:
    """Two documents' lines hold the same products in the same quantities, whatever their order: the lines of
    a document found under our key must be ours before it counts as ours (an order edited after a lost reply
    keeps its number and total more often than its lines)."""
    def tally(lines: Iterable[tuple[Any, Any]]) -> dict[str, Decimal]:
        counts: dict[str, Decimal] = {}
        for product, quantity in lines:
            counts[str(product)] = counts.get(str(product), Decimal(0)) + Decimal(str(quantity or 0))
        return {product: quantity for product, quantity in counts.items() if quantity}
    return tally(ours) == tally(theirs)


def is_clash(result: SendResult) -> bool:
    """The document's key (or name) is held by a different document in the target."""
    return result.status == "failed" and DIFFERENT_DOCUMENT in (result.reason or "")


def invoice_prerequisites(invoice: SalesInvoice, bookkeeping: Bookkeeping) -> list[Prerequisite]:
    """An invoice needs its customer (or the walk-in customer), its products and the helper items it uses."""
    customer = invoice.customer_key or WALK_IN_KEY
    needs = [Prerequisite("customer", customer, f"customer {customer}")]
    seen = set()
    for line in invoice.lines:
        if line.sku not in seen:
            seen.add(line.sku)
            needs.append(Prerequisite("item", line.sku, f"product '{line.product_name}' ({line.sku})"))
    helpers = []
    if invoice.service_charge:
        helpers.append(bookkeeping.service_charge_sku)
    if invoice.rounding > 0 or any(line.tax_rate for line in invoice.lines):  # a taxed rate may need an adjustment
        helpers.append(bookkeeping.rounding_sku)
    return needs + [Prerequisite("item", sku, f"item {sku}") for sku in helpers]


def invoice_prerequisite(document: Any) -> list[Prerequisite]:
    """A payment or a return needs its invoice."""
    return [Prerequisite("invoice", document.invoice_key, f"invoice {document.invoice_key}")]


def stock_prerequisites(document: Any) -> list[Prerequisite]:
    """A stock document needs its products; a transfer-in also needs its transfer-out."""
    needs = []
    if document.record_type == "transfer_in":
        needs.append(Prerequisite("transfer_out", document.key, f"transfer-out {document.key}"))
    seen = set()
    for line in document.lines:
        if line.sku not in seen:
            seen.add(line.sku)
            needs.append(Prerequisite("item", line.sku, f"product '{line.product_name}' ({line.sku})"))
    return needs


def transfer_number(document: Any, side: str | None = None) -> str:
    """The target's number of one side of a transfer: ``<POS number>/OUT`` or ``<POS number>/IN``.

    Both sides share the POS number, and targets want numbers unique per document type."""
    side = side or ("OUT" if document.record_type == "transfer_out" else "IN")
    return f"{document.key}/{side}"
