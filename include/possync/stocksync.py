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
first. ``adjust_to_pos`` posts, per outlet, one stock adjustment of the differences (record ``stock_correction``,
key ``SC/<outlet>/<UTC time>``, its memo naming who asked) through the loader: ledger, log lines and all; the
ledger keeps who asked as the record's run (``dag_id`` ``adjust_to_pos``, ``run_id`` "asked by <who> at <time>").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from possync.documents import StockAdjustment, StockLine
from possync.stocklevels import ZERO, opening_levels, pos_levels, start_moment

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
class StockDifference:
    """One outlet's product: the POS's quantity, the target's, and POS − target."""

    outlet_code: str
    warehouse: str
    sku: str
    product_name: str
    pos: Decimal
    target: Decimal
    unit_cost: Decimal

    @property
    def difference(self) -> Decimal:
        return self.pos - self.target

    def as_dict(self) -> dict[str, str]:
        return {**{k: str(v) for k, v in asdict(self).items()}, "difference": str(self.difference)}


def compare_stock(job: SyncJob, *, warehouse: str | None = None) -> list[StockDifference]:
    """Per mapped outlet (or only the one whose code or warehouse is ``warehouse``) and synced product: the POS's
    stock now against the target's, differences first (largest first), then by outlet and SKU."""
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
    return sorted(rows, key=lambda r: (r.difference == 0, -abs(r.difference), r.outlet_code, r.sku))


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
    """A JSON-able summary: counts and every row (differences first)."""
    return {"differences": sum(1 for r in rows if r.difference), "compared": len(rows),
            "rows": [r.as_dict() for r in rows]}
