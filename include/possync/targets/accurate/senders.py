"""How each kind of document is sent to Accurate Online, and what it needs synced first.

Every create goes through ``bulk-save.do`` (up to 100 a call, one result per item). A refusal "Sudah ada
data lain dengan ..." (the number is taken) is the trace of an earlier attempt whose reply was lost: the
sender reads the holder with ``detail.do`` by the same number and records it as synced when it is the same
document (``targets/base/senders.py``). Customers Accurate numbers itself have no number of ours to find
them by, so before creating those the sender adopts an identical customer (same name, e-mail and phone)
that no other POS customer is mapped to.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

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
from possync.targets.accurate import mapping
from possync.targets.accurate.hook import BULK_LIMIT, AccurateHook
from possync.targets.base.bookkeeping import WALK_IN_KEY
from possync.targets.base.hook import BatchItemResult
from possync.targets.base.loader import Prerequisite, SendResult
from possync.targets.base.senders import (
    SkuMatchedItemSender,
    TargetSender,
    invoice_prerequisite,
    invoice_prerequisites,
    same_lines,
    stock_prerequisites,
    transfer_number,
)
from possync.targets.base.taxes import send_taxable

DUPLICATE_MARKER = "sudah ada data lain dengan"


def _amount(value: Any) -> Decimal:
    return Decimal(str(value or "0")).quantize(Decimal("0.01"))


class AccurateSender(TargetSender):
    """Accurate's transport: ``bulk-save.do`` per module; the holder of a number is read by that number."""

    target_label = "Accurate"
    module = ""
    number_field = "number"  # how detail.do is asked for a record by its number
    max_batch_size = BULK_LIMIT
    hook: AccurateHook

    @property
    def key_fields(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.number_field,)

    def create_batch(self, bodies: list[dict[str, Any]]) -> list[BatchItemResult]:
        return self.hook.bulk_save(self.module, bodies)

    def create_one(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.hook.save(self.module, body)

    def is_duplicate(self, message: str | None) -> bool:
        return bool(message) and DUPLICATE_MARKER in message.casefold()  # type: ignore[union-attr]

    def delete_document(self, target_id: str) -> bool:
        return self.hook.delete(self.module, target_id)

    def find_existing(self, document: Any, conflict: Any) -> dict[str, Any] | None:
        number = self.body(document).get(self.number_field)
        return self.hook.detail(self.module, **{self.number_field: number}) if number else None

    def result(self, document: Any, record: dict[str, Any], note: str | None = None) -> SendResult:
        return SendResult(document.key, "synced", str(record.get("id")), record.get(self.number_field), note=note)

    def customer_numbers(self, customer_keys: set[str]) -> dict[str, str]:
        """POS customer key → Accurate ``customerNo``, from the customers sync's id map."""
        maps = self.ledger.id_maps(self.integration.name, "customer", customer_keys)
        return {key: number for key, (_id, number) in maps.items() if number}

    def invoice_customers(self, invoice_keys: set[str]) -> dict[str, str]:
        """Invoice key → the ``customerNo`` it was booked to (receipts and returns must name the same one)."""
        maps = self.ledger.id_maps(self.integration.name, "invoice_customer", invoice_keys)
        return {key: number for key, (_id, number) in maps.items() if number}

    def outlet(self, document: Any) -> Any:
        return self.integration.outlets[document.outlet_code]


class CustomerSender(AccurateSender):
    """Customers with a till ID are numbered by it (``customerNo``). The others Accurate numbers itself; each
    keeps its POS key in ``notes`` (``mapping.pos_key_note``), by which a customer whose create reply was lost
    is found again, before the first attempt of a later run and before every retry of this one."""

    record_type, flow, module, number_field = "customer", "customers", "customer", "customerNo"
    LIST_FIELDS = ("id", "customerNo", "name", "email", "mobilePhone", "notes")

    def body(self, customer: Customer) -> dict[str, Any]:
        return mapping.customer_body(customer, use_pos_customer_id=self.integration.use_pos_customer_id,
                                     since=self.integration.start_date)

    @staticmethod
    def _identity(record: dict[str, Any]) -> tuple[str, str, str]:
        return tuple(str(record.get(field) or "").strip().casefold() for field in ("name", "email", "mobilePhone"))  # type: ignore[return-value]

    def same_document(self, customer: Customer, record: dict[str, Any]) -> bool:
        return self._identity(record)[0] == self._identity(self.body(customer))[0]

    def _unnumbered(self, documents: Sequence[Customer]) -> list[Customer]:
        return [document for document in documents if "customerNo" not in self.body(document)]

    def find_created(self, documents: Sequence[Customer]) -> dict[str, dict[str, Any]]:
        """Customers Accurate numbered itself, found by the POS key in their ``notes`` (exactly)."""
        wanted = {mapping.pos_key_note(document.key): document.key for document in self._unnumbered(documents)}
        if not wanted:
            return {}
        found: dict[str, dict[str, Any]] = {}
        for record in self.hook.iterate("customer", fields=list(self.LIST_FIELDS)):
            key = wanted.get(str(record.get("notes") or ""))
            if key is not None and key not in found:
                found[key] = record
        return found

    def _adoptable(self, documents: Sequence[Customer]) -> dict[str, dict[str, Any]]:
        """Accurate-numbered customers that already exist: the one keeping the POS key in its notes, else (for
        customers created before possync kept that note) an identical one without a note of ours, mapped to
        no other POS customer."""
        unnumbered = self._unnumbered(documents)
        if not unnumbered:
            return {}
        by_note = {mapping.pos_key_note(d.key): d for d in unnumbered}
        by_identity = {self._identity(self.body(d)): d for d in unnumbered}
        mapped = {target_id for target_id, _n in self.ledger.id_maps(self.integration.name, "customer").values()}
        adopt: dict[str, dict[str, Any]] = {}
        legacy: dict[str, dict[str, Any]] = {}
        for record in self.hook.iterate("customer", fields=list(self.LIST_FIELDS)):
            note = str(record.get("notes") or "")
            if note in by_note:
                adopt.setdefault(by_note[note].key, record)
            elif not note.startswith("possync POS customer"):
                document = by_identity.get(self._identity(record))
                if document is not None and str(record.get("id")) not in mapped:
                    legacy.setdefault(document.key, record)
        return {**legacy, **adopt}

    def send(self, documents: Sequence[Customer]) -> list[SendResult]:
        results = self.create_unless_found(documents, self._adoptable(documents),
                                           note="already in Accurate (a reply was lost); not created twice")
        self.remember("customer", results)
        return results


class ItemSender(SkuMatchedItemSender, AccurateSender):
    """Accurate's SKU is the item's ``no``."""

    module, number_field = "item", "no"

    def existing_by_sku(self) -> dict[str, dict[str, Any]]:
        return {
            str(record["no"]): record for record in self.hook.iterate("item", fields=["id", "no", "name"])
            if record.get("no")
        }

    def body(self, item: Item) -> dict[str, Any]:
        return mapping.item_body(item, self.integration.bookkeeping)


class InvoiceSender(AccurateSender):
    record_type, flow, module = "invoice", "sales", "sales-invoice"
    concurrent_batches = True

    def prerequisites(self, invoice: SalesInvoice) -> list[Prerequisite]:
        return invoice_prerequisites(invoice, self.integration.bookkeeping)

    def send(self, documents: Sequence[SalesInvoice]) -> list[SendResult]:
        self._customers = self.customer_numbers({d.customer_key or WALK_IN_KEY for d in documents})
        results = send_taxable(documents, super().send, self.integration.bookkeeping, "Accurate")
        self.ledger.set_id_maps(self.integration.name, "invoice_customer", {
            document.key: (str(result.target_id), self._customer_no(document))
            for document, result in zip(documents, results, strict=True) if result.status == "synced"
        })
        return results

    def _customer_no(self, invoice: SalesInvoice) -> str:
        return self._customers[invoice.customer_key or WALK_IN_KEY]

    def body(self, invoice: SalesInvoice) -> dict[str, Any]:
        return mapping.invoice_body(invoice, customer_no=self._customer_no(invoice), outlet=self.outlet(invoice),
                                    bookkeeping=self.integration.bookkeeping)

    def same_document(self, invoice: SalesInvoice, record: dict[str, Any]) -> bool:
        """Same total and the same items in the same quantities."""
        if _amount(record.get("totalAmount")) != invoice.total:
            return False
        found = record.get("detailItem")
        if found is None:  # a reply without lines says nothing about them
            return True
        ours = [(line.get("itemNo"), line.get("quantity")) for line in self.body(invoice)["detailItem"]]
        return same_lines(ours, [(line.get("itemNo"), line.get("quantity")) for line in found])


class _InvoicePartSender(AccurateSender):
    """Receipts and returns: booked to the customer their invoice was booked to."""

    def prerequisites(self, document: Any) -> list[Prerequisite]:
        return invoice_prerequisite(document)

    def send(self, documents: Sequence[Any]) -> list[SendResult]:
        self._invoice_customers = self.invoice_customers({document.invoice_key for document in documents})
        return super().send(documents)


class ReceiptSender(_InvoicePartSender):
    record_type, flow, module = "payment", "sales", "sales-receipt"
    concurrent_batches = True

    def body(self, payment: Payment) -> dict[str, Any]:
        return mapping.receipt_body(payment, customer_no=self._invoice_customers[payment.invoice_key],
                                    outlet=self.outlet(payment), bookkeeping=self.integration.bookkeeping)

    def same_document(self, payment: Payment, record: dict[str, Any]) -> bool:
        """Same amount, method and cash/bank account (a method changed at the till is a change, not a match)."""
        if _amount(record.get("chequeAmount") or record.get("totalPayment")) != payment.amount:
            return False
        body = self.body(payment)
        return all(record.get(field) in (None, body[field]) for field in ("paymentMethod", "bankNo"))


class _RefundMoneySender(_InvoicePartSender):
    """The money a POS refund paid back: an other payment (Pembayaran) of the same number out of the refund
    method's cash/bank account. Its number is ours, so a lost reply is found again like any other document."""

    record_type, flow, module = "return", "sales", "other-payment"

    def body(self, sales_return: SalesReturn) -> dict[str, Any]:
        return mapping.refund_payment_body(sales_return, payee=self._invoice_customers[sales_return.invoice_key],
                                           outlet=self.outlet(sales_return), bookkeeping=self.integration.bookkeeping)

    def same_document(self, sales_return: SalesReturn, record: dict[str, Any]) -> bool:
        return _amount(record.get("amount")) == sales_return.total


class ReturnSender(_InvoicePartSender):
    """One ledger record per POS refund: the sales return (exact, see ``mapping.return_body``), then the money
    paid back (``_RefundMoneySender``). A return posted whose money was not fails its record saying so; the
    retry finds the return by its number and posts only the money."""

    record_type, flow, module = "return", "sales", "sales-return"

    def __init__(self, hook: AccurateHook, integration: Any, ledger: Any) -> None:
        super().__init__(hook, integration, ledger)
        self.money = _RefundMoneySender(hook, integration, ledger)

    def body(self, sales_return: SalesReturn) -> dict[str, Any]:
        return mapping.return_body(sales_return, customer_no=self._invoice_customers[sales_return.invoice_key],
                                   outlet=self.outlet(sales_return), bookkeeping=self.integration.bookkeeping)

    def same_document(self, sales_return: SalesReturn, record: dict[str, Any]) -> bool:
        return _amount(record.get("totalAmount")) == sales_return.total

    def delete_document(self, target_id: str) -> bool:
        """A change after sync reverses the refund: its other payment first (the same number), then the sales
        return; False when the return is gone already."""
        record = self.hook.detail(self.module, id=target_id)
        if record is None:
            return False
        paid = self.hook.detail(self.money.module, number=record.get("number"))
        if paid is not None:
            self.hook.delete(self.money.module, paid["id"])
        return self.hook.delete(self.module, target_id)

    def send(self, documents: Sequence[SalesReturn]) -> list[SendResult]:
        returned = super().send(documents)
        posted = [d for d, result in zip(documents, returned, strict=True) if result.status == "synced"]
        paid = {result.key: result for result in self.money.send(posted)} if posted else {}
        results = []
        for result in returned:
            money = paid.get(result.key)
            if money is None:
                results.append(result)
            elif money.status == "failed":
                results.append(SendResult(result.key, "failed", reason=(
                    f"returned as Accurate #{result.target_id} ({result.target_number}), but the money paid back "
                    f"was not posted: {money.reason}")))
            else:
                note = f"paid back as Accurate other payment #{money.target_id}"
                results.append(SendResult(result.key, "synced", result.target_id, result.target_number,
                                          note="; ".join(n for n in (result.note, note) if n)))
        return results


class _StockSender(AccurateSender):
    def prerequisites(self, document: Any) -> list[Prerequisite]:
        return stock_prerequisites(document)


class TransferOutSender(_StockSender):
    record_type, flow, module = "transfer_out", "transfers", "item-transfer"

    def body(self, transfer: TransferOut) -> dict[str, Any]:
        outlets = self.integration.outlets
        return mapping.transfer_out_body(transfer, number=transfer_number(transfer),
                                         source=outlets[transfer.outlet_code],
                                         destination=outlets[transfer.to_outlet_code])


class TransferInSender(_StockSender):
    record_type, flow, module = "transfer_in", "transfers", "item-transfer"

    def body(self, transfer: TransferIn) -> dict[str, Any]:
        outlets = self.integration.outlets
        return mapping.transfer_in_body(transfer, number=transfer_number(transfer),
                                        out_number=transfer_number(transfer, "OUT"),
                                        source=outlets[transfer.from_outlet_code],
                                        destination=outlets[transfer.outlet_code],
                                        bookkeeping=self.integration.bookkeeping)


class AdjustmentSender(_StockSender):
    record_type, flow, module = "adjustment", "stock", "item-adjustment"

    def body(self, adjustment: StockAdjustment) -> dict[str, Any]:
        return mapping.adjustment_body(adjustment, outlet=self.outlet(adjustment),
                                       bookkeeping=self.integration.bookkeeping)


class StockTakeSender(_StockSender):
    """A count's differences as an item adjustment (``mapping.stock_take_body`` says why); a count that
    matched the till everywhere has nothing to post and is recorded as synced without a document."""

    record_type, flow, module = "stock_take", "stock", "item-adjustment"

    def body(self, stock_take: StockTake) -> dict[str, Any]:
        return mapping.stock_take_body(stock_take, outlet=self.outlet(stock_take),  # type: ignore[return-value]
                                       bookkeeping=self.integration.bookkeeping)

    def send(self, documents: Sequence[StockTake]) -> list[SendResult]:
        matched = {d.key: SendResult(d.key, "synced", note="the count matched the till: nothing to adjust")
                   for d in documents if self.body(d) is None}
        created = {r.key: r for r in self.create([d for d in documents if d.key not in matched])} if len(
            matched) < len(documents) else {}
        return [matched.get(d.key) or created[d.key] for d in documents]


class OpeningStockSender(_StockSender):
    """A product's opening quantity in one outlet's warehouse (``possync.openingstock``): one item adjustment
    numbered ``OS/<outlet>/<SKU>``, bulk-saved; a lost reply is refused as a taken number when sent again and
    found by it (``find_existing``), never posted twice."""

    record_type, flow, module = "opening_stock", "products", "item-adjustment"

    def body(self, adjustment: StockAdjustment) -> dict[str, Any]:
        return mapping.opening_stock_body(adjustment, outlet=self.outlet(adjustment),
                                          bookkeeping=self.integration.bookkeeping)


class StockCorrectionSender(_StockSender):
    """Item adjustment bringing one warehouse to the POS's quantities, asked for on Sync Status or the CLI."""

    record_type, flow, module = "stock_correction", "stock", "item-adjustment"

    def body(self, adjustment: StockAdjustment) -> dict[str, Any]:
        return mapping.correction_body(adjustment, outlet=self.outlet(adjustment),
                                       bookkeeping=self.integration.bookkeeping)
