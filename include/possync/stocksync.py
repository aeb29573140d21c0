"""Opening stock, and the POS's stock compared with the target's (and repaired).

**Opening stock.** A product the products sync imported has no stock in the target, so every sale would drive it
negative. With ``opening_stock: true`` the products sync then posts, per mapped outlet and product, the POS's level
at the integration's start (``stocklevels.opening_levels``: midnight of ``start_date`` in the outlet's timezone,
so the moves synced since add up to today's level) with the product's cost, the way each target documents it
(Jurnal: a stock adjustment of type "Initial Quantity"; Accurate: an item adjustment ADJUSTMENT_IN with its unit
cost; see each target's ``mapping.opening_stock_body``). One ledger record ``opening_stock`` per outlet and product
(key and the target's number ``OS/<outlet>/<SKU>``): a re-run skips what is synced, an outlet mapped
later gets its own, and a lost reply is found again by the number, never posted twice. A zero level posts nothing.

**Stock comparison.** ``compare_stock`` reads the POS's stock now (``stocklevels.pos_levels``) and the target's per
warehouse (``Target.stock_levels``, through the paced hook) and lists every outlet and product, differences
first. A difference is **explained** when the POS moves the target misses there (records failed, pending or
ignored in the ledger, not read yet, or never sent to this target) add up to it exactly (``explain``).
``adjust_to_pos`` posts, per outlet, one stock adjustment of the differences (record ``stock_correction``,
key ``SC/<outlet>/<UTC time>``, its memo naming who asked) through the loader: ledger, log lines and all; the
ledger keeps who asked as the record's run (``dag_id`` ``adjust_to_pos``, ``run_id`` "asked by <who> at <time>").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from possync.documents import StockAdjustment, StockLine
from possync.stocklevels import (
    ZERO,
    at_or_after,
    opening_levels,
    outlet_timezones,
    pos_levels,
    start_moment,
    stock_moves,
)

#: the ledger's ``dag_id`` of a stock correction's record: asked for by a person, not run by a DAG (its ``run_id``
#: says who asked and when)
ASKED_BY_DAG = "adjust_to_pos"

if TYPE_CHECKING:
    from possync.pipeline import SyncJob
    from possync.targets.base.loader import LoadSummary


def opening_stock_readable(integration: Any) -> bool:
    """Whether the integration's POS has the reference schema's stock levels (no source profile, or the shipped
    ``reference`` one): opening stock and the comparison read them."""
    return integration.profile in (None, "reference")


def opening_documents(job: SyncJob) -> list[StockAdjustment]:
    """One document per mapped outlet and product with a non-zero opening level, keyed and numbered
    ``OS/<outlet>/<SKU>``."""
    integration = job.integration
    levels = opening_levels(job.pos, integration.outlets, integration.start_date)
    zones = {code: start_moment(integration.start_date, integration.timezone) for code in integration.outlets}
    documents = []
    for (code, sku), level in sorted(levels.items()):
        if code not in integration.outlets or level.quantity == ZERO:
            continue
        documents.append(StockAdjustment(
            key=f"OS/{code}/{sku}", outlet_code=code, business_time=zones[code],
            lines=(StockLine(1, sku, level.product_name, level.quantity, level.unit_cost),),
            reason=f"Opening stock {sku} at {code} (POS level on {integration.start_date.isoformat()})"))
    return documents


def sync_opening_stock(job: SyncJob) -> LoadSummary:
    """Post the opening stock not posted yet (module docstring); products not synced wait for them."""
    return job.loader.load(job.senders["opening_stock"], opening_documents(job))


@dataclass(frozen=True)
class Unsynced:
    """A POS record whose stock move the target does not hold: not synced (failed, pending, ignored, or not in
    the ledger yet), or of a kind possync does not send to this target."""

    record_type: str
    key: str
    quantity: Decimal
    why: str

    def line(self) -> str:
        return f"{self.record_type} {self.key} {self.quantity:+}: {self.why}"


@dataclass(frozen=True)
class StockDifference:
    """One outlet's product: the POS's quantity, the target's, and POS − target; ``unsynced`` lists the moves
    the target misses there (``explain``)."""

    outlet_code: str
    warehouse: str
    sku: str
    product_name: str
    pos: Decimal
    target: Decimal
    unit_cost: Decimal
    unsynced: tuple[Unsynced, ...] = ()
    #: when the target's last synced count set this place's quantity (targets whose counts set it)
    counted_at: datetime | None = None

    @property
    def difference(self) -> Decimal:
        return self.pos - self.target

    @property
    def explained(self) -> bool:
        """A difference is explained when the moves the target misses add up to it exactly."""
        return bool(self.difference) and sum((u.quantity for u in self.unsynced), ZERO) == self.difference

    @property
    def explanation(self) -> str:
        if not self.difference:
            return ""
        missed = "; ".join(u.line() for u in self.unsynced)
        if self.explained:
            return f"the target misses {missed}"
        if not self.unsynced and self.counted_at is not None:
            return (f"no unsynced POS record moves this product here since the target's count of "
                    f"{self.counted_at:%Y-%m-%d %H:%M}, which set its quantity: a change at the till after the count"
                    " to a sale dated before it (the target books it before the count), or a change by hand in the"
                    " target?")
        if not self.unsynced:
            return "no unsynced POS record moves this product here: changed in the target by hand?"
        total = sum((u.quantity for u in self.unsynced), ZERO)
        return f"UNEXPLAINED: the unsynced moves add up to {total:+}, not {self.difference:+} ({missed})"

    def as_dict(self) -> dict[str, Any]:
        plain = {k: str(v) for k, v in asdict(self).items() if k not in ("unsynced", "counted_at")}
        return {**plain, "difference": str(self.difference), "explained": self.explained,
                "explanation": self.explanation, "unsynced": [u.line() for u in self.unsynced]}


#: why a move of a record type the outbound flows never send is not in the target
NOT_SENT = {"goods_return": "goods returns are sent to the head office only"}


def explain(job: SyncJob, rows: Sequence[StockDifference]) -> list[StockDifference]:
    """``rows`` with the moves since the integration's start that the target misses at each differing place:
    the record is not synced in the ledger, or not of a kind sent to the target (``NOT_SENT``, transfers entered in
    another integration's target); goods received and transfers entered in this target came from it, so they are
    never missed. Where a synced stock take sets the count
    (``Target.stock_take_sets_count``), only the moves after the last one count."""
    differing = {(r.outlet_code, r.sku) for r in rows if r.difference}
    if not differing:
        return list(rows)
    integration = job.integration
    zones = outlet_timezones(job.pos, {code for code, _sku in differing})
    since = {code: start_moment(integration.start_date, zone) for code, zone in zones.items()}
    # goods received and transfers entered in this integration's target came from it: never missed there
    moves = [m for m in stock_moves(job.pos, since) if (m.outlet_code, m.sku) in differing
             and m.record_type != "goods_receipt" and m.origin != integration.name
             and at_or_after(m.when, since[m.outlet_code])]
    records: dict[tuple[str, str], Any] = {}
    for record_type in {m.record_type for m in moves} - set(NOT_SENT):
        found = job.ledger.lookup(integration.name, record_type,
                                  {m.key for m in moves if m.record_type == record_type and not m.origin})
        records.update({(record_type, key): record for key, record in found.items()})
    missed: dict[tuple[str, str], list[tuple[Any, Unsynced]]] = {}
    counted: dict[tuple[str, str], Any] = {}  # place → when its last synced stock take counted it
    for move in moves:
        place = (move.outlet_code, move.sku)
        record = None if move.origin else records.get((move.record_type, move.key))
        if record is not None and record.status == "synced":
            if move.record_type == "stock_take" and job.target.stock_take_sets_count:
                counted[place] = max(counted.get(place, move.when), move.when)
            continue
        if not move.quantity:
            continue
        why = (NOT_SENT.get(move.record_type)
               or (f"entered in {move.origin}'s target: possync does not send it on" if move.origin else None)
               or ("not in the ledger: no sync has read it yet" if record is None
                   else f"{record.status}" + (f": {record.reason}" if record.reason else "")))
        missed.setdefault(place, []).append((move.when, Unsynced(move.record_type, move.key, move.quantity, why)))
    explained = []
    for row in rows:
        place = (row.outlet_code, row.sku)
        after = counted.get(place)
        moves_missed = tuple(u for when, u in sorted(missed.get(place, []), key=lambda pair: (pair[0], pair[1].key))
                             if after is None or when > after)
        explained.append(dataclasses.replace(row, unsynced=moves_missed, counted_at=after)
                         if moves_missed or after else row)
    return explained


def compare_stock(job: SyncJob, *, warehouse: str | None = None) -> list[StockDifference]:
    """Per mapped outlet (or only the one whose code or warehouse is ``warehouse``) and synced product: the POS's
    stock now against the target's, each difference with the moves the target misses (``explain``): unexplained
    differences first, then explained ones (largest first), then the equal, by outlet and SKU."""
    integration = job.integration
    if not opening_stock_readable(integration):
        raise ValueError(f"{integration.name} reads the POS through source profile {integration.profile}: the stock"
                         " comparison reads the reference schema's stock levels only")
    outlets = {code: mapping for code, mapping in integration.outlets.items()
               if warehouse is None or warehouse in (code, mapping.warehouse)}
    if not outlets:
        raise ValueError(f"{integration.name} maps no outlet or warehouse {warehouse!r}")
    products = job.ledger.id_maps(integration.name, "product")
    ours = {place: level for place, level in pos_levels(job.pos, outlets).items() if place[1] in products}
    theirs = {place: quantity for place, quantity in job.target.stock_levels(job.hook, integration, job.ledger).items()
              if place[0] in outlets}
    names = {sku: level.product_name for (_code, sku), level in ours.items()}
    costs = {sku: level.unit_cost for (_code, sku), level in ours.items()}
    rows = [StockDifference(code, outlets[code].warehouse, sku, names.get(sku, sku),
                            ours[code, sku].quantity if (code, sku) in ours else ZERO,
                            Decimal(theirs.get((code, sku), ZERO)), costs.get(sku, Decimal("0.00")))
            for code, sku in set(ours) | set(theirs)]
    return sorted(explain(job, rows), key=lambda r: (r.difference == 0, r.explained, -abs(r.difference),
                                                     r.outlet_code, r.sku))


def _free_key(job: SyncJob, key: str) -> str:
    """``key``, or ``key-2``, ``key-3``... when the ledger holds it already (two corrections in one second)."""
    taken = {record for record in job.ledger.lookup(job.integration.name, "stock_correction",
                                                    [key, *(f"{key}-{n}" for n in range(2, 100))])}
    return next(candidate for candidate in (key, *(f"{key}-{n}" for n in range(2, 101))) if candidate not in taken)


def adjust_to_pos(job: SyncJob, *, who: str, warehouse: str | None = None, sku: str | None = None,
                  now: datetime | None = None) -> LoadSummary:
    """Bring the target to the POS: compare (``warehouse``, ``sku`` narrow it), then post one stock adjustment
    per outlet with differences, each line the POS − target difference; its memo names ``who`` asked."""
    from possync.ledger import RunRef
    from possync.recordlog import log_record
    from possync.targets.base.loader import Loader, LoadSummary

    differences = [d for d in compare_stock(job, warehouse=warehouse)
                   if d.difference != 0 and (sku is None or d.sku == sku)]
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = moment.strftime("%Y%m%d%H%M%S")
    by_outlet: dict[str, list[StockDifference]] = {}
    for row in differences:
        by_outlet.setdefault(row.outlet_code, []).append(row)
    documents = [StockAdjustment(
        key=_free_key(job, f"SC/{code}/{stamp}"), outlet_code=code, business_time=moment,
        lines=tuple(StockLine(n, r.sku, r.product_name, r.difference, r.unit_cost)
                    for n, r in enumerate(sorted(rows, key=lambda r: r.sku), start=1)),
        reason=f"Stock correction to the POS asked by {who}")
        for code, rows in sorted(by_outlet.items())]
    if not documents:
        log_record(job.logger, "SKIPPED", "stock_correction", warehouse or "all",
                   f"the target already holds the POS's stock (asked by {who})")
        return LoadSummary()
    for document in documents:
        job.logger.info("stock correction %s asked by %s: %d product(s) to the POS's quantity", document.key, who,
                        len(document.lines))
    # who asked is kept on each record as the "run" that wrote it (no Airflow task: no log link)
    asked = RunRef(dag_id=ASKED_BY_DAG, run_id=f"asked by {who} at {moment.isoformat(timespec='seconds')}",
                   task_id="")
    loader = Loader(job.ledger, job.integration.name, target=job.target.label, run=asked, logger=job.logger)
    return loader.load(job.senders["stock_correction"], documents)


def connect(integration: Any, *, write: bool = False) -> SyncJob:
    """A job on the integration's POS, ledger and target, as the sync tasks build it (the CLI's and Sync
    Status's): ``write`` creates the ledger's tables if missing (an adjustment records), a comparison creates
    nothing."""
    from possync.pipeline import SyncJob
    from possync.targets.base.registry import get_target

    target = get_target(integration.target)
    return SyncJob.connect(integration, target, target.hook(integration), ensure_schema=write)


def describe(rows: Sequence[StockDifference]) -> dict[str, Any]:
    """A JSON-able summary: counts and every row (differences first, unexplained before explained)."""
    return {"differences": sum(1 for r in rows if r.difference), "compared": len(rows),
            "explained": sum(1 for r in rows if r.explained),
            "unexplained": sum(1 for r in rows if r.difference and not r.explained),
            "rows": [r.as_dict() for r in rows]}
