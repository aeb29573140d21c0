"""The target's books against the POS and the ledger, every document of every kind: what a fault test asserts
and a fault bench prints.

``reconcile(pos, ledger, books, integration, broken)`` reads everything back (``support.books``) and returns a
``Reconciliation``: per kind, the documents the POS says the target must hold (``expected``), those it lacks
(``missing``), holds more than once (``duplicated``) or with another total than the POS's (``wrong``); where the
ledger and the target disagree (a synced record whose target id the target does not hold, a target document no
synced record points at: ``ledger_vs_target``); the records the demo breaks on purpose that are not failed with
a reason or that reached the target (``broken_problems``); every other ledger record not synced (``unsynced``);
and the stock levels that differ from the POS's (``stock_wrong``).

What the POS says, straight from its tables (never through possync's transform): a completed order of a mapped
outlet is one invoice of its ``total_amount`` and one payment ``<order>/P<seq>`` per payment row of its
``amount``; a refund of such an order one return of its ``total_amount`` (on Jurnal, with the part of its bank
withdrawal that completes the quantity return) and the money paid back, of the same total under its number;
every customer (plus the walk-in customer) one customer, every product with a SKU (plus the helper items) one
product; a transfer sent one ``<number>/OUT``, received one ``<number>/IN`` (Jurnal books goods lost on the road
as an adjustment ``<number>/IN``); every adjustment and stock take one adjustment (Accurate posts a count that
matched the till as nothing); with ``opening_stock``, every mapped outlet's stock-tracked product with a SKU and
a level at the start one adjustment ``OS/<outlet>/<SKU>`` (the level at the start is possync's own definition,
``possync.stocklevels.opening_levels``, the one thing read through possync here). Records the demo breaks on
purpose, and the documents that need them (the payments and returns of a broken order, the transfer-in of a
transfer-out never sent), must be failed with a reason and absent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from possync.config import Integration
from possync.ledger import SyncLedger
from possync.pos import schema as s
from possync.targets.base.bookkeeping import WALK_IN_KEY, helper_items
from support.books import KINDS, Books, TargetDocument

#: the ledger record types whose documents each kind of target document holds
RECORD_TYPES: dict[str, tuple[str, ...]] = {
    "invoice": ("invoice",), "payment": ("payment",), "return": ("return",), "refund": ("return",),
    "customer": ("customer",),
    "product": ("item",), "transfer": ("transfer_out", "transfer_in"),
    "adjustment": ("adjustment", "stock_take", "opening_stock"),
}
FLOWS = ("customers", "products", "sales", "transfers", "stock")
#: what the ledger's reason must say for each kind of record the demo breaks on purpose
BROKEN_REASONS = {
    "product_without_sku": "no SKU", "order_product_without_sku": "no SKU", "adjustment_product_without_sku": "no SKU",
    "transfer_out_missing": "never recorded as sent",
}
#: ledger record type of each broken kind
BROKEN_TYPES = {
    "product_without_sku": "item", "duplicate_customer_code": "customer", "order_product_without_sku": "invoice",
    "payment_mismatch": "invoice", "order_total_mismatch": "invoice", "refund_exceeds_sold": "return",
    "transfer_out_missing": "transfer_out", "adjustment_product_without_sku": "adjustment",
}


@dataclass(frozen=True)
class Expected:
    """A document the target must hold: the ledger record it comes from, its number there, its total."""

    record_type: str
    key: str
    number: str | None  # None where the target numbers it itself (customers): found through the ledger's id
    total: Decimal | None = None


@dataclass
class KindCount:
    expected: int = 0
    in_target: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # "<number>: target <x>, POS <y>"
    ledger_vs_target: list[str] = field(default_factory=list)


@dataclass
class Reconciliation:
    kinds: dict[str, KindCount]
    broken_problems: list[str]
    unsynced: list[str]
    stock_wrong: list[str]
    by_design: dict[str, str]  # "<record type> <key>" → the ledger's reason, for the broken records and dependents

    def problems(self, *, kinds: tuple[str, ...] = KINDS, totals_of: tuple[str, ...] = KINDS) -> list[str]:
        """Every disagreement, one line each (empty when the books equal the POS); ``totals_of`` limits which
        kinds' wrong totals count."""
        lines = []
        for kind in kinds:
            count = self.kinds[kind]
            lines += [f"{kind} missing: {n}" for n in count.missing]
            lines += [f"{kind} duplicated: {n}" for n in count.duplicated]
            lines += [f"{kind} ledger vs target: {n}" for n in count.ledger_vs_target]
            if kind in totals_of:
                lines += [f"{kind} wrong total: {n}" for n in count.wrong]
        return (lines + [f"by design: {p}" for p in self.broken_problems] + [f"not synced: {u}" for u in self.unsynced]
                + [f"stock: {w}" for w in self.stock_wrong])

    def table(self) -> str:
        """The counts per kind, as the bench prints them."""
        rows = [f"{'kind':<11}{'expected':>9}{'target':>8}{'missing':>8}{'dupl.':>7}{'wrong':>7}{'ledger≠':>8}"]
        for kind, c in self.kinds.items():
            rows.append(f"{kind:<11}{c.expected:>9,}{c.in_target:>8,}{len(c.missing):>8}{len(c.duplicated):>7}"
                        f"{len(c.wrong):>7}{len(c.ledger_vs_target):>8}")
        rows.append(f"stock levels differing from the POS: {len(self.stock_wrong)}; failed by design: "
                    f"{len(self.by_design)} ({len(self.broken_problems)} not as designed); other records not synced: "
                    f"{len(self.unsynced)}")
        return "\n".join(rows)


def _mapped_outlets(pos: Any, integration: Integration) -> dict[int, str]:
    with pos.connect() as conn:
        return {i: code for i, code in conn.execute(select(s.outlets.c.id, s.outlets.c.code))
                if code in integration.outlets}


def expected_documents(pos: Any, integration: Integration, target: str, failed: set[tuple[str, str]]
                       ) -> dict[str, list[Expected]]:
    """Kind → the documents the POS says the target must hold, leaving out ``failed`` ((record type, key) of the
    records broken by design and of those that need them)."""
    outlets = _mapped_outlets(pos, integration)
    out: dict[str, list[Expected]] = defaultdict(list)

    def add(kind: str, record_type: str, key: str, number: str | None, total: Decimal | None = None) -> None:
        if (record_type, key) not in failed:
            out[kind].append(Expected(record_type, key, number, total))

    with pos.connect() as conn:
        orders = {}
        for order_id, number, outlet_id, status, total in conn.execute(select(
                s.orders.c.id, s.orders.c.number, s.orders.c.outlet_id, s.orders.c.status, s.orders.c.total_amount)):
            if status == "completed" and outlet_id in outlets:
                orders[order_id] = number
                add("invoice", "invoice", number, number, total)
        for order_id, seq, amount in conn.execute(select(s.payments.c.order_id, s.payments.c.seq, s.payments.c.amount)):
            if order_id in orders:
                key = f"{orders[order_id]}/P{seq}"
                add("payment", "payment", key, key, amount)
        for number, order_id, total in conn.execute(select(s.refunds.c.number, s.refunds.c.order_id,
                                                           s.refunds.c.total_amount)):
            if order_id in orders:
                add("return", "return", number, number, total)
                add("refund", "return", number, number, total)  # the money paid back
        for (customer_id,) in conn.execute(select(s.customers.c.id)):
            add("customer", "customer", f"CUST-{customer_id}", None)
        for (sku,) in conn.execute(select(s.products.c.sku).where(s.products.c.sku.is_not(None))):
            add("product", "item", sku, sku)
        received = dict(conn.execute(
            select(s.transfer_lines.c.transfer_id, func.sum(s.transfer_lines.c.quantity_received))
            .group_by(s.transfer_lines.c.transfer_id)).all())
        short = {tid for (tid,) in conn.execute(
            select(s.transfer_lines.c.transfer_id)
            .where(s.transfer_lines.c.quantity_sent > func.coalesce(s.transfer_lines.c.quantity_received, 0)))}
        for tid, number, source, destination, sent_at, received_at in conn.execute(select(
                s.transfers.c.id, s.transfers.c.number, s.transfers.c.from_outlet_id, s.transfers.c.to_outlet_id,
                s.transfers.c.sent_at, s.transfers.c.received_at)):
            if source in outlets and sent_at is not None:
                add("transfer", "transfer_out", number, f"{number}/OUT")
            if destination in outlets and received_at is not None:
                if received.get(tid):
                    add("transfer", "transfer_in", number, f"{number}/IN")
                if target == "jurnal" and tid in short:  # the loss in transit: a stock adjustment of its own
                    add("adjustment", "transfer_in", number, f"{number}/IN")
        changed = {aid for (aid,) in conn.execute(select(s.stock_adjustment_lines.c.adjustment_id)
                                                  .where(s.stock_adjustment_lines.c.quantity_change != 0))}
        for aid, number, kind, outlet_id in conn.execute(select(
                s.stock_adjustments.c.id, s.stock_adjustments.c.number, s.stock_adjustments.c.kind,
                s.stock_adjustments.c.outlet_id)):
            if outlet_id not in outlets:
                continue
            record_type = "stock_take" if kind == "stock_take" else "adjustment"
            if record_type == "stock_take" and target == "accurate" and aid not in changed:
                continue  # a count that matched the till: synced with nothing to post
            add("adjustment", record_type, number, number)
    if integration.opening_stock:
        from possync.stocklevels import opening_levels

        levels = opening_levels(pos, sorted(outlets.values()), integration.start_date)
        for (outlet, sku), level in sorted(levels.items()):
            if level.quantity and not any(r == "item" and k.endswith(f"-{sku}") for r, k in failed):
                add("adjustment", "opening_stock", f"OS/{outlet}/{sku}", f"OS/{outlet}/{sku}")
    add("customer", "customer", WALK_IN_KEY, None)
    for item in helper_items(integration.bookkeeping):
        add("product", "item", item.key, item.key)
    return out


def ledger_records(ledger: SyncLedger, integration: str) -> dict[tuple[str, str], Any]:
    """(record type, key) → every ledger record of the integration, whatever its status."""
    statuses = ["synced", "failed", "pending", "skipped"]
    return {(r.record_type, r.key): r for flow in FLOWS for r in ledger.unsynced(integration, flow, statuses=statuses)}


def by_design(records: dict[tuple[str, str], Any], broken: dict[str, str]
              ) -> tuple[dict[tuple[str, str], str], list[str]]:
    """The records that must fail: each broken one ((record type, key) → what its reason must say, "" for any),
    and those that need one (the payments and returns of a broken order, the transfer-in of a broken
    transfer-out: "not been synced yet" or "was rejected"); with the broken records the ledger does not hold."""
    must: dict[tuple[str, str], str] = {}
    absent = []
    for key, kind in broken.items():
        record_type = BROKEN_TYPES[kind]
        if (record_type, key) not in records:
            absent.append(f"{record_type} {key} ({kind}) is not in the ledger at all")
        must[record_type, key] = BROKEN_REASONS.get(kind, "")
        if record_type == "transfer_out":
            must["transfer_in", key] = "not been synced yet"
    broken_orders = {key for key, kind in broken.items() if BROKEN_TYPES[kind] == "invoice"}
    for record_type, key in records:
        if record_type == "payment" and key.rsplit("/P", 1)[0] in broken_orders:
            must[record_type, key] = ""
    return must, absent


def target_number(record_type: str, key: str) -> str:
    """The number the target knows a record's document by (customers aside: the target may number them)."""
    return {"transfer_out": f"{key}/OUT", "transfer_in": f"{key}/IN"}.get(record_type, key)


def _synced(records: dict[tuple[str, str], Any], record_type: str, key: str) -> bool:
    record = records.get((record_type, key))
    return record is not None and record.status == "synced"


def reconcile(pos: Any, ledger: SyncLedger, books: Books, integration: Integration, broken: dict[str, str],
              stock: tuple[dict, dict] | None = None) -> Reconciliation:
    """See the module docstring. ``broken``: key → kind of each record the demo breaks on purpose
    (``possync_devkit.demo_pos.expected_broken_records``). ``stock``: (what the target's stock is, what the POS
    says it must be), both (outlet or "transit", SKU) → quantity, when the caller compares them."""
    records = ledger_records(ledger, integration.name)
    must_fail, broken_problems = by_design(records, broken)
    # returns of a broken order fail too, found through the POS (a refund's key says nothing of its order)
    with pos.connect() as conn:
        for number, order in conn.execute(select(s.refunds.c.number, s.orders.c.number)
                                          .join(s.orders, s.orders.c.id == s.refunds.c.order_id)):
            if broken.get(order) and BROKEN_TYPES[broken[order]] == "invoice":
                must_fail.setdefault(("return", number), "")
    expected = expected_documents(pos, integration, books.target, set(must_fail))
    in_target = {kind: books.documents(kind) for kind in KINDS}
    synced_ids: dict[str, set[str]] = defaultdict(set)
    for (record_type, _key), record in records.items():
        if record.status == "synced" and record.target_id:
            synced_ids[record_type].add(record.target_id)

    kinds = {}
    for kind in KINDS:
        count = kinds[kind] = KindCount(expected=len(expected[kind]), in_target=len(in_target[kind]))
        documents: list[TargetDocument] = in_target[kind]
        by_number: dict[str, list[TargetDocument]] = defaultdict(list)
        by_id = {d.id: d for d in documents}
        for document in documents:
            by_number[document.number].append(document)
        count.duplicated = sorted(n for n, c in Counter(d.number for d in documents).items() if c > 1)
        for want in expected[kind]:
            record = records.get((want.record_type, want.key))
            found = by_number.get(want.number, []) if want.number is not None else (
                [by_id[record.target_id]] if record and record.target_id in by_id else [])
            if not found:
                count.missing.append(f"{want.record_type} {want.key}")
                continue
            if want.total is not None and found[0].total != want.total:
                count.wrong.append(f"{want.number}: target {found[0].total}, POS {want.total}")
        # the ledger against the target: each synced record points at a document the target holds, and back
        held = dict(by_id)
        if kind == "transfer" and books.target == "jurnal":  # a transfer-in with nothing received: only its loss
            held.update({d.id: d for d in in_target["adjustment"]})
        for (record_type, key), record in records.items():
            if record_type not in RECORD_TYPES[kind] or record.status != "synced" or not record.target_id:
                continue
            if kind == "refund":  # one ledger record covers a refund; its money is found by the refund's number
                if key not in by_number:
                    count.ledger_vs_target.append(f"ledger return {key} synced, but {books.target} holds no money "
                                                  f"paid back under its number")
                continue
            if kind == "adjustment" and record_type == "transfer_in":
                continue  # a transfer-in points at its warehouse transfer; its loss is matched by number below
            document = held.get(record.target_id)
            if document is None:
                count.ledger_vs_target.append(
                    f"ledger {record_type} {key} synced as #{record.target_id}, which {books.target} does not hold")
            elif kind != "customer" and document.number != target_number(record_type, key):
                count.ledger_vs_target.append(f"ledger {record_type} {key} synced as #{record.target_id}, which is "
                                              f"{books.target}'s {document.number}")
        pointed = set().union(*(synced_ids[t] for t in RECORD_TYPES[kind]))
        if kind == "refund":
            pointed = {d.id for d in documents if _synced(records, "return", d.number)}
        if kind == "adjustment" and books.target == "jurnal":  # transit losses: the adjustment <number>/IN
            pointed |= {d.id for d in documents
                        if d.number.endswith("/IN") and _synced(records, "transfer_in", d.number.removesuffix("/IN"))}
        count.ledger_vs_target += [f"{books.target} {kind} {d.number} #{d.id} is no synced record's"
                                   for d in documents if d.id not in pointed]

    for (record_type, key), wants in must_fail.items():
        record = records.get((record_type, key))
        if record is None:
            continue  # a broken record outside what was synced is reported above only when it is a broken one
        if record.status != "failed" or not record.reason or wants not in record.reason:
            broken_problems.append(f"{record_type} {key}: {record.status}, reason {record.reason!r}"
                                   + (f" (must say {wants!r})" if wants else ""))
        if record.target_id:
            broken_problems.append(f"{record_type} {key} is failed by design but points at #{record.target_id}")
    for kind in KINDS:  # and none of them reached the target under its number
        numbers = {d.number for d in in_target[kind]}
        for record_type, key in must_fail:
            if record_type in RECORD_TYPES[kind] and target_number(record_type, key) in numbers:
                broken_problems.append(f"{record_type} {key} is failed by design but {books.target} holds it")
    unsynced = sorted(f"{r.record_type} {r.key}: {r.status} {r.reason or ''}".strip()
                      for key, r in records.items()
                      if key not in must_fail and r.status not in ("synced", "skipped") and r.record_type != "outlet")
    stock_wrong = []
    if stock is not None:
        actual, wanted = stock
        stock_wrong = [f"{place}: target {actual.get(place)}, POS {wanted.get(place)}"
                       for place in sorted(set(actual) | set(wanted)) if actual.get(place) != wanted.get(place)]
    reasons = {f"{t} {k}": (records[t, k].reason or "") for t, k in must_fail if (t, k) in records}
    return Reconciliation(kinds, broken_problems, unsynced, stock_wrong, reasons)


TRANSIT = "transit"  # where goods on the road are filed in the stock comparison


def add_opening_stock(moved: dict[tuple[str, str], Decimal], pos: Any, integration: Integration,
                      products: Any) -> None:
    """Add to ``moved`` what the products sync posted first with ``opening_stock``: the POS's level at the start of
    every product the target holds (``products``: SKU → target id)."""
    if not integration.opening_stock:
        return
    from possync.stocklevels import opening_levels

    for place, level in opening_levels(pos, integration.outlets, integration.start_date).items():
        if place[1] in products:
            moved[place] = moved.get(place, Decimal(0)) + level.quantity


def stock_compared(pos: Any, ledger: SyncLedger, books: Books, integration: Integration) -> tuple[dict, dict]:
    """(the target's stock, what the POS says it must be): (outlet code or ``TRANSIT``, SKU) → quantity, zeros
    left out. The POS's side is the opening stock, the movements of every synced document and the goods on the
    road; Jurnal's stock counts keep the counted quantity (``maintain_actual``), so its counted outlets hold what
    was counted; Accurate receives the count's differences."""
    from support.demo_week import counted_levels, stock_movements

    outlet_of = {outlet.warehouse: code for code, outlet in integration.outlets.items()}
    outlet_of[books.transit_warehouse] = TRANSIT
    products = ledger.id_maps(integration.name, "product")
    actual = {(outlet_of[warehouse], sku): quantity for (warehouse, sku), quantity in books.stock(products).items()
              if warehouse in outlet_of}
    moved, in_transit = stock_movements(pos, ledger, integration.name)
    add_opening_stock(moved, pos, integration, products)
    expected = {key: quantity for key, quantity in moved.items() if quantity}
    expected.update({(TRANSIT, sku): quantity for sku, quantity in in_transit.items()})
    if books.target == "jurnal":
        counted = counted_levels(pos)
        counted_outlets = {outlet for outlet, _sku in counted}
        expected = {key: q for key, q in expected.items() if key[0] not in counted_outlets}
        expected.update({key: quantity for key, quantity in counted.items() if quantity})
    return actual, expected
