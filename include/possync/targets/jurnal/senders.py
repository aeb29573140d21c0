"""How each kind of document is sent to Jurnal, and what it needs synced first.

Every create uses ``batch_create`` where Jurnal has one (customers, products, invoices, payments; sales
returns, warehouse transfers and stock adjustments have none and go one by one). A create Jurnal refuses
because the key is taken ("had already been used" / "has already been taken") is the trace of an earlier
attempt whose reply was lost: the sender finds the record holding the key (by the ``id`` of Jurnal's conflict
reply, or, when that is null, by the key itself: ``find_holder``) and, if it is the same document (same total,
same name), records it as synced instead of creating it twice. A key taken by a *different* document fails
with a reason saying so."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from possync.config import Integration
from possync.documents import (
    Customer,
    Item,
    Payment,
    SalesInvoice,
    SalesReturn,
    StockAdjustment,
    StockTake,
    TransferIn,
    TransferOut,
)
from possync.ledger import SyncLedger
from possync.targets.base.bookkeeping import WALK_IN_KEY
from possync.targets.base.hook import BatchItemResult
from possync.targets.base.loader import Prerequisite, SendResult
from possync.targets.base.senders import (
    SkuMatchedItemSender,
    TargetSender,
    invoice_prerequisite,
    invoice_prerequisites,
    is_clash,
    loose_match,
    same_lines,
    stock_prerequisites,
    transfer_number,
)
from possync.targets.base.taxes import send_taxable
from possync.targets.jurnal import mapping
from possync.targets.jurnal.hook import BATCH_LIMIT, JurnalHook

DUPLICATE_MARKERS = ("already been used", "already been taken", "has already")
# How a record found by ``find_holder`` holds a document's key, best last.
LOOSE, BY_NAME, EXACT = 0, 1, 2


def is_duplicate(message: str | None) -> bool:
    return bool(message) and any(marker in message.lower() for marker in DUPLICATE_MARKERS)  # type: ignore[union-attr]


def _amount(value: Any) -> Decimal:
    return Decimal(str(value or "0")).quantize(Decimal("0.01"))


class JurnalSender(TargetSender):
    """Jurnal's transport: ``batch_create`` per resource; a conflict's holder is read by the ``id`` the reply
    names, or found by the document's key when the reply names none."""

    target_label = "Jurnal"
    resource = ""
    key_fields = ("transaction_no", "custom_id")
    max_batch_size = BATCH_LIMIT
    #: ``GET /{resource}/{custom_id}`` works: the swagger's path parameter says "ID or Custom ID"
    custom_id_readable = False
    hook: JurnalHook

    def __init__(self, hook: JurnalHook, integration: Integration, ledger: SyncLedger) -> None:
        super().__init__(hook, integration, ledger)
        # list filters → the resource's records, read since the last create: the holders of every key one
        # batch found taken are looked up in one reading of the list, not one reading each
        self._listings: dict[tuple[tuple[str, Any], ...], list[dict[str, Any]]] = {}

    def worker(self) -> JurnalSender:
        worker = super().worker()
        worker._listings = {}  # the list readings since *its* last create
        return worker

    def result(self, document: Any, record: dict[str, Any], note: str | None = None) -> SendResult:
        number = record.get("transaction_no") or record.get("custom_id") or record.get("display_name")
        return SendResult(document.key, "synced", str(record.get("id")), number, note=note)

    def create_batch(self, bodies: list[dict[str, Any]]) -> list[BatchItemResult]:
        self._listings.clear()
        return self.hook.batch_create(self.resource, bodies)

    def create_one(self, body: dict[str, Any]) -> dict[str, Any]:
        self._listings.clear()
        return self.hook.create(self.resource, body)

    def listing(self, **filters: Any) -> list[dict[str, Any]]:
        """Every record of the resource's list (with documented ``filters``), read once between creates."""
        key = tuple(sorted(filters.items()))
        if key not in self._listings:
            self._listings[key] = list(self.hook.iterate(self.resource, **filters))
        return self._listings[key]

    def is_duplicate(self, message: str | None) -> bool:
        return is_duplicate(message)

    def delete_document(self, target_id: str) -> bool:
        return self.hook.delete(self.resource, target_id)

    def find_existing(self, document: Any, conflict: Any) -> dict[str, Any] | None:
        """The holder of the document's key: the record the conflict reply's ``id`` names, else (what that ``id``
        means is undocumented, and it may be null as in every other 422) the record found by the key itself."""
        existing_id = conflict.get("id") if isinstance(conflict, dict) else None
        if existing_id is not None:
            return self.hook.get(self.resource, existing_id)
        return self.find_holder(self.body(document))

    def find_holder(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The record holding one of ``body``'s keys, found the ways Jurnal documents: by custom_id where the
        resource is readable by it, else in its paged list (narrowed by the documented date filters, then
        whole). A record whose key equals ours wins; one that matches only loosely (spaces, case) is returned
        too, for ``refused`` to fail the document saying so."""
        custom_id = body.get("custom_id")
        if self.custom_id_readable and custom_id:
            record = self.hook.get(self.resource, custom_id)
            if record is not None and self.holds(record, body) is not None:
                return record
        narrowed = self.list_filters(body)
        for filters in ([narrowed, {}] if narrowed else [{}]):
            best: tuple[int, dict[str, Any]] | None = None
            for record in self.listing(**filters):
                rank = self.holds(record, body)
                if rank == EXACT:
                    return record
                if rank is not None and (best is None or rank > best[0]):
                    best = (rank, record)
            if best is not None:
                return best[1]
        return None

    def holds(self, record: dict[str, Any], body: dict[str, Any]) -> int | None:
        """How ``record`` holds one of ``body``'s keys: ``EXACT``, ``LOOSE`` (only once spaces are trimmed or
        case ignored), or None."""
        found = None
        for field in self.key_fields:
            ours, theirs = body.get(field), record.get(field)
            if ours is None or theirs is None:
                continue
            if str(ours) == str(theirs):
                return EXACT
            if loose_match(str(ours), str(theirs)) is not None:
                found = LOOSE
        return found

    def list_filters(self, body: dict[str, Any]) -> dict[str, Any]:
        """Documented list filters that narrow the search for the holder of ``body``'s keys: a transaction's
        date (``start_date`` / ``end_date``, dd/mm/yyyy)."""
        day = body.get("transaction_date")
        try:
            when = datetime.strptime(str(day), "%Y-%m-%d") if day else None
        except ValueError:
            return {}
        return {"start_date": when.strftime("%d/%m/%Y"), "end_date": when.strftime("%d/%m/%Y")} if when else {}


class CustomerSender(JurnalSender):
    """Jurnal wants display names unique; two POS customers with the same name are common. When the name
    is taken by a *different* customer, the newcomer is created as "<name> (<customer ID or key>)"."""

    record_type, flow, resource = "customer", "customers", "customers"
    key_fields = ("custom_id",)

    def __init__(self, hook: JurnalHook, integration: Integration, ledger: SyncLedger) -> None:
        super().__init__(hook, integration, ledger)
        self._disambiguate: set[str] = set()

    def body(self, document: Customer) -> dict[str, Any]:
        body = mapping.customer_body(document, use_pos_customer_id=self.integration.use_pos_customer_id,
                                     bookkeeping=self.integration.bookkeeping)
        if document.key in self._disambiguate:
            body["display_name"] = f"{body['display_name']} ({document.customer_code or document.key})"
        return body

    def holds(self, record: dict[str, Any], body: dict[str, Any]) -> int | None:
        """By custom_id; else by display name, unique in Jurnal whatever its case (§1.3): the holder when the
        name, not the custom_id, is what "had already been used"."""
        by_key = super().holds(record, body)
        if by_key is None and str(record.get("display_name") or "").strip().casefold() == str(
                body.get("display_name") or "").strip().casefold():
            return BY_NAME
        return by_key

    def same_document(self, document: Customer, record: dict[str, Any]) -> bool:
        body = self.body(document)
        return all(
            str(record.get(field) or "").strip() == str(body.get(field) or "").strip()
            for field in ("display_name", "custom_id", "email", "mobile")
        )

    def send(self, documents: Sequence[Customer]) -> list[SendResult]:
        results = super().send(documents)
        clashes = [
            document for document, result in zip(documents, results, strict=True)
            if is_clash(result) and document.key not in self._disambiguate
        ]
        if clashes:
            self._disambiguate.update(document.key for document in clashes)
            retried = {result.key: result for result in self.create(clashes)}
            results = [retried.get(result.key, result) for result in results]
        self.remember("customer", results)
        return results

    def result(self, document: Customer, record: dict[str, Any], note: str | None = None) -> SendResult:
        return SendResult(document.key, "synced", str(record.get("id")), record.get("display_name"), note=note)


class ItemSender(SkuMatchedItemSender, JurnalSender):
    """Jurnal's SKU is the product's ``product_code``."""

    resource = "products"
    key_fields = ("product_code", "custom_id")

    def existing_by_sku(self) -> dict[str, dict[str, Any]]:
        products = self.hook.iterate("products")
        return {str(record["product_code"]): record for record in products if record.get("product_code")}

    def body(self, document: Item) -> dict[str, Any]:
        return mapping.product_body(document, self.integration.bookkeeping)

    def result(self, document: Item, record: dict[str, Any], note: str | None = None) -> SendResult:
        return SendResult(document.key, "synced", str(record.get("id")), record.get("product_code"), note=note)


class InvoiceSender(JurnalSender):
    record_type, flow, resource = "invoice", "sales", "sales_invoices"
    concurrent_batches = True

    def prerequisites(self, invoice: SalesInvoice) -> list[Prerequisite]:
        return invoice_prerequisites(invoice, self.integration.bookkeeping)

    def send(self, documents: Sequence[SalesInvoice]) -> list[SendResult]:
        name = self.integration.name
        self._customers = self.ledger.id_maps(name, "customer")
        self._products = {sku: target_id for sku, (target_id, _number) in self.ledger.id_maps(name, "product").items()}
        return send_taxable(documents, super().send, self.integration.bookkeeping, "Jurnal")

    def body(self, invoice: SalesInvoice) -> dict[str, Any]:
        customer = self._customers.get(invoice.customer_key or WALK_IN_KEY)
        return mapping.invoice_body(
            invoice,
            warehouse=self.integration.outlets[invoice.outlet_code].warehouse,
            customer_name=(customer[1] if customer and customer[1] else self.integration.bookkeeping.walk_in_customer),
            product_ids=self._products,
            bookkeeping=self.integration.bookkeeping,
        )

    def same_document(self, invoice: SalesInvoice, record: dict[str, Any]) -> bool:
        """Same total and the same products in the same quantities."""
        if _amount(record.get("original_amount")) != invoice.total:
            return False
        found = record.get("transaction_lines_attributes")
        if found is None:  # a reply without lines says nothing about them
            return True
        ours = [(line.get("product_code"), line.get("quantity"))
                for line in self.body(invoice)["transaction_lines_attributes"]]
        return same_lines(ours, [((line.get("product") or {}).get("code"), line.get("quantity")) for line in found])


class PaymentSender(JurnalSender):
    record_type, flow, resource = "payment", "sales", "receive_payments"
    custom_id_readable = True
    concurrent_batches = True

    def prerequisites(self, payment: Payment) -> list[Prerequisite]:
        return invoice_prerequisite(payment)

    def body(self, payment: Payment) -> dict[str, Any]:
        return mapping.payment_body(payment, self.integration.bookkeeping)

    def same_document(self, payment: Payment, record: dict[str, Any]) -> bool:
        """Same amount and the same payment method (a method changed at the till is a change, not a match)."""
        if _amount(record.get("original_amount") or record.get("total")) not in (payment.amount, Decimal("0.00")):
            return False
        method = (record.get("payment_method") or {}).get("name")
        return method is None or str(method).casefold() == str(self.body(payment)["payment_method_name"]).casefold()

    def result(self, payment: Payment, record: dict[str, Any], note: str | None = None) -> SendResult:
        return SendResult(payment.key, "synced", str(record.get("id")), record.get("transaction_no"), note=note)


class _RefundWithdrawalSender(JurnalSender):
    """The money a POS refund paid back: a bank withdrawal out of the refund method's account, keyed by the
    refund number (``transaction_no`` and ``custom_id``, both documented for bank withdrawals), so a lost reply
    is refused as a duplicate when sent again and found by the conflict's id."""

    record_type, flow, resource = "return", "sales", "bank_withdrawals"
    max_batch_size = 20
    custom_id_readable = True  # GET /bank_withdrawals/{custom_id}: a conflict without an id is found directly

    def __init__(self, hook: JurnalHook, integration: Integration, ledger: SyncLedger) -> None:
        super().__init__(hook, integration, ledger)
        self.returns: dict[str, dict[str, Any]] = {}  # refund key → its sales return as Jurnal answered it

    def body(self, sales_return: SalesReturn) -> dict[str, Any]:
        record = self.returns[sales_return.key]
        person = record.get("person") or {}
        return mapping.refund_withdrawal_body(
            sales_return, returned=_amount(record.get("return_amount")),
            returned_tax=_amount(record.get("returned_tax")),
            customer_name=person.get("name") or person.get("display_name"),
            bookkeeping=self.integration.bookkeeping)

    def same_document(self, sales_return: SalesReturn, record: dict[str, Any]) -> bool:
        return _amount(record.get("original_amount")) == sales_return.total


class ReturnSender(JurnalSender):
    """One ledger record per POS refund: the sales return, then the money paid back.

    Jurnal's sales return takes quantities only and prices them from the invoice, so it rarely equals the POS
    refund (see ``mapping.refund_withdrawal_body``): the bank withdrawal paying the refund back books the rest, and
    the two together equal the refund to the sen. A return posted whose money was not fails its record saying so;
    the next attempt finds the return and posts only the money.

    The swagger's sales-return body has no key of ours, so before a return is sent (and before every retry of a
    send whose outcome is unknown) the invoice's returns are read and one whose memo is this refund's
    (``mapping.return_memo``) is taken as it: nothing is doubled whether or not Jurnal keeps the
    ``transaction_no`` it is sent. Jurnal has no batch endpoint for sales returns: one request each."""

    record_type, flow, resource = "return", "sales", "sales_returns"
    max_batch_size = 20  # ledger bookkeeping granularity; each return is still its own request

    def __init__(self, hook: JurnalHook, integration: Integration, ledger: SyncLedger) -> None:
        super().__init__(hook, integration, ledger)
        self.money = _RefundWithdrawalSender(hook, integration, ledger)

    def prerequisites(self, sales_return: SalesReturn) -> list[Prerequisite]:
        return invoice_prerequisite(sales_return)

    def send(self, documents: Sequence[SalesReturn]) -> list[SendResult]:
        name = self.integration.name
        self._products = {sku: target_id for sku, (target_id, _n) in self.ledger.id_maps(name, "product").items()}
        invoices = self.ledger.lookup(name, "invoice", sorted({d.invoice_key for d in documents}))
        self._invoice_ids = {key: record.target_id for key, record in invoices.items() if record.target_id}
        results = []
        for document in documents:
            found = self.find_created([document])
            if document.key in found:
                returned = self.result(document, found[document.key],
                                       note="already in Jurnal (a reply was lost); not created twice")
            else:
                returned = self.send_one_by_one([document])[0]
            results.append(self._pay_back(document, returned) if returned.status == "synced" else returned)
        return results

    def body(self, sales_return: SalesReturn) -> dict[str, Any]:
        return mapping.return_body(sales_return, self._products)

    def result(self, document: SalesReturn, record: dict[str, Any], note: str | None = None) -> SendResult:
        self.money.returns[document.key] = record
        return super().result(document, record, note)

    def find_created(self, documents: Sequence[SalesReturn]) -> dict[str, dict[str, Any]]:
        """Returns already on their invoice whose memo is the refund's own (exactly)."""
        found: dict[str, dict[str, Any]] = {}
        for document in documents:
            invoice_id = self._invoice_ids.get(document.invoice_key)
            invoice = self.hook.get("sales_invoices", invoice_id) if invoice_id else None
            memo = mapping.return_memo(document)
            for listed in (invoice or {}).get("sales_returns") or []:
                record = self.hook.get("sales_returns", listed["id"])
                if record is not None and record.get("memo") == memo:
                    found[document.key] = record
                    break
        return found

    def delete_document(self, target_id: str) -> bool:
        """A change after sync reverses the refund: its bank withdrawal first (by ``custom_id``, the refund number
        the return's memo names), then the sales return; False when the return is gone already."""
        record = self.hook.get(self.resource, target_id)
        if record is None:
            return False
        memo = str(record.get("memo") or "")
        if memo.startswith(mapping.RETURN_MEMO):
            self.hook.delete(self.money.resource, memo.removeprefix(mapping.RETURN_MEMO).split(":", 1)[0])
        return self.hook.delete(self.resource, target_id)

    def _pay_back(self, sales_return: SalesReturn, returned: SendResult) -> SendResult:
        paid = self.money.send_one_by_one([sales_return])[0]
        if paid.status == "failed":
            return SendResult(sales_return.key, "failed", reason=(
                f"returned as Jurnal #{returned.target_id}, but the money paid back was not posted: {paid.reason}"))
        note = f"paid back as Jurnal bank withdrawal #{paid.target_id}"
        return SendResult(returned.key, "synced", returned.target_id, returned.target_number,
                          note="; ".join(n for n in (returned.note, note) if n))


class _StockSender(JurnalSender):
    """Warehouse transfers and stock adjustments: no batch endpoint, one request each; lines name products
    by the Jurnal id the products sync recorded."""

    max_batch_size = 20  # ledger bookkeeping granularity; each document is still its own request

    def prerequisites(self, document: Any) -> list[Prerequisite]:
        return stock_prerequisites(document)

    def send(self, documents: Sequence[Any]) -> list[SendResult]:
        self.load_products()
        return self.send_one_by_one(documents)

    def load_products(self) -> None:
        self._products = {
            sku: target_id for sku, (target_id, _n) in self.ledger.id_maps(self.integration.name, "product").items()
        }

    def warehouse(self, outlet_code: str) -> str:
        return self.integration.outlets[outlet_code].warehouse

    @property
    def transit(self) -> str:
        return self.integration.bookkeeping.transit_warehouse


class TransferOutSender(_StockSender):
    """The sent quantities, from the source's warehouse into the transit warehouse."""

    record_type, flow, resource = "transfer_out", "transfers", "warehouse_transfers"

    def body(self, transfer: TransferOut) -> dict[str, Any]:
        return mapping.transfer_out_body(transfer, number=transfer_number(transfer), source=self.warehouse(
            transfer.outlet_code), transit=self.transit, product_ids=self._products)


class _TransitLossSender(_StockSender):
    record_type, flow, resource = "transfer_in", "transfers", "stock_adjustments"

    def body(self, transfer: TransferIn) -> dict[str, Any]:
        body = mapping.transit_loss_body(transfer, number=transfer_number(transfer), transit=self.transit,
                                         product_ids=self._products, bookkeeping=self.integration.bookkeeping)
        assert body is not None, "only transfers with a shortage are sent here"
        return body


class TransferInSender(_StockSender):
    """The received quantities, transit warehouse → destination; a shortage is then written off the transit
    warehouse by a stock adjustment of the same number. Each request recovers its own lost reply, so a
    transfer-in that stopped between the two is completed, never doubled, on the next attempt."""

    record_type, flow, resource = "transfer_in", "transfers", "warehouse_transfers"

    def __init__(self, hook: JurnalHook, integration: Integration, ledger: SyncLedger) -> None:
        super().__init__(hook, integration, ledger)
        self.loss = _TransitLossSender(hook, integration, ledger)

    def body(self, transfer: TransferIn) -> dict[str, Any]:
        return mapping.transfer_in_body(transfer, number=transfer_number(transfer), transit=self.transit,  # type: ignore[return-value]
                                        destination=self.warehouse(transfer.outlet_code), product_ids=self._products)

    def send(self, documents: Sequence[TransferIn]) -> list[SendResult]:
        self.load_products()
        self.loss._products = self._products
        results = []
        for transfer in documents:
            received = self.send_one_by_one([transfer])[0] if self.body(transfer) is not None else None
            if received is not None and received.status == "failed":
                results.append(received)
                continue
            if transfer.has_shortage:
                lost = self.loss.send_one_by_one([transfer])[0]
                if lost.status == "failed":
                    done = f"received as Jurnal #{received.target_id}, but " if received else ""
                    results.append(SendResult(transfer.key, "failed",
                                              reason=f"{done}the loss in transit was not booked: {lost.reason}"))
                    continue
                received = received or lost
            results.append(received)  # type: ignore[arg-type]
        return results


class AdjustmentSender(_StockSender):
    record_type, flow, resource = "adjustment", "stock", "stock_adjustments"

    def body(self, adjustment: StockAdjustment) -> dict[str, Any]:
        return mapping.adjustment_body(adjustment, warehouse=self.warehouse(adjustment.outlet_code),
                                       product_ids=self._products, bookkeeping=self.integration.bookkeeping)


class StockTakeSender(_StockSender):
    record_type, flow, resource = "stock_take", "stock", "stock_adjustments"

    def body(self, stock_take: StockTake) -> dict[str, Any]:
        return mapping.stock_take_body(stock_take, warehouse=self.warehouse(stock_take.outlet_code),
                                       product_ids=self._products, bookkeeping=self.integration.bookkeeping)


class OpeningStockSender(AdjustmentSender):
    """A product's opening quantity in one outlet's warehouse (``possync.openingstock``): one stock adjustment
    of type "Initial Quantity" numbered ``OS/<outlet>/<SKU>``; a lost reply is refused as a taken number when sent
    again and found by it (``find_existing``), never posted twice."""

    record_type, flow = "opening_stock", "products"

    def body(self, adjustment: StockAdjustment) -> dict[str, Any]:
        return mapping.opening_stock_body(adjustment, warehouse=self.warehouse(adjustment.outlet_code),
                                          product_ids=self._products, bookkeeping=self.integration.bookkeeping)


class StockCorrectionSender(AdjustmentSender):
    """Stock in/out bringing one warehouse to the POS's quantities, asked for on Sync Status or the CLI."""

    record_type, flow = "stock_correction", "stock"

    def body(self, adjustment: StockAdjustment) -> dict[str, Any]:
        return mapping.correction_body(adjustment, warehouse=self.warehouse(adjustment.outlet_code),
                                       product_ids=self._products, bookkeeping=self.integration.bookkeeping)
