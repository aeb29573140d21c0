"""Tax per rate (issue 19, item 3): each invoice line carries the tax of its rate, and the tax each target computes
per rate is the till's to the sen, on receipts priced with tax included and without, with the invoice total the
POS total to the sen.

The demo's cafés sell food under the restaurant tax (PB1 10 %) and drinks under VAT (PPN 11 %), so a receipt with
both carries both. The demo day's invoices are synced to each target's live sandbox and read back through its API:
Jurnal's ``tax_details`` (one entry per tax) and ``original_amount``; Accurate's per-tax ``detailTax`` (the
sandbox's breakdown) and ``totalAmount``. How a target rounds tax is undocumented, so each runs both readings
(``tax_rounding``: once per tax per invoice, the sandboxes' default, or per line); possync posts lines on which
either gives the till's tax (``possync.targets.base.taxes``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from possync.config import Bookkeeping, ConfigError, load_config
from possync.documents import SalesInvoice
from possync.pos.extract import Window, extract_products, extract_sales
from possync.targets.base.bookkeeping import helper_items
from possync.targets.base.taxes import send_taxable
from possync.transform.sales import transform_products, transform_sales
from support.worlds import Sync, accurate_world, jurnal_world

WIB = timedelta(hours=7)
DAY = Window(datetime(2026, 11, 9, tzinfo=UTC) - WIB, datetime(2026, 11, 10, tzinfo=UTC) - WIB)
ZERO = Decimal("0.00")
OUTLETS = ("JKT01", "SBY01")  # priced without tax / with tax included
SETTINGS = {
    "jurnal": {},
    "jurnal-per-line": {"tax_rounding": "line"},
    "accurate": {},
    "accurate-per-line": {"tax_rounding": "line"},
}


@pytest.fixture(params=list(SETTINGS))
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr("possync.targets.base.hook.time.sleep", lambda seconds: None)
    yield from {"jurnal": jurnal_world, "accurate": accurate_world}[request.param.split("-")[0]](
        tmp_path, monkeypatch, **SETTINGS[request.param])


def _pos_taxes(invoice: SalesInvoice, bookkeeping: Bookkeeping) -> dict[str, Decimal]:
    taxes: dict[str, Decimal] = {}
    for line in invoice.lines:
        code = bookkeeping.tax_for(line.tax_rate)
        assert code is not None
        if code.name:
            taxes[code.name] = taxes.get(code.name, ZERO) + line.tax
    return taxes


def _jurnal_held(sync: Sync, keys: set[str]) -> dict[str, tuple[dict[str, Decimal], Decimal]]:
    """Invoice number → (tax per tax name, total) as Jurnal holds it."""
    held = {}
    for record in sync.hook.iterate("sales_invoices"):
        if record["transaction_no"] in keys:
            taxes = {detail["name"].rsplit(" ", 1)[0]: Decimal(str(detail["tax_amount"]))
                     for detail in record["tax_details"]}
            held[record["transaction_no"]] = ({k: v for k, v in taxes.items() if v}, Decimal(
                str(record["original_amount"])))
    return held


def _accurate_held(sync: Sync, keys: set[str]) -> dict[str, tuple[dict[str, Decimal], Decimal]]:
    held = {}
    for key in keys:
        record = sync.hook.detail("sales-invoice", number=key)
        taxes = {detail["taxName"]: Decimal(str(detail["taxAmount"])) for detail in record.get("detailTax") or []}
        held[key] = ({k: v for k, v in taxes.items() if v}, Decimal(str(record["totalAmount"])))
    return held


def test_a_mixed_tax_invoice_carries_each_tax_exactly_in_the_target(world: dict[str, Any]) -> None:
    sync = Sync(world)
    sync.target.prepare(sync.hook, sync.integration, sync.loader.log)
    sync.load("customer", sync.customers())
    items, _ = transform_products(extract_products(world["pos"]))
    sync.load("item", [*helper_items(sync.integration.bookkeeping), *items])
    batch = transform_sales(extract_sales(world["pos"], DAY, list(OUTLETS)))
    invoices = [invoice for invoice in batch.invoices if invoice.outlet_code in OUTLETS]
    sync.load("invoice", invoices)
    synced = sync.synced_ids("invoice", [invoice.key for invoice in invoices])
    bookkeeping = sync.integration.bookkeeping
    expected = {i.key: (_pos_taxes(i, bookkeeping), i.total) for i in invoices if i.key in synced}
    mixed = {i.key: i.tax_inclusive for i in invoices if i.key in synced
             and {"PPN", "PB1"} <= {k for k, v in expected[i.key][0].items() if v}}
    assert set(mixed.values()) == {True, False}, "mixed-tax invoices priced with tax included and without"

    held = (_jurnal_held if world["target"] == "jurnal" else _accurate_held)(sync, set(expected))
    wrong = {key: (held.get(key), (({k: v for k, v in taxes.items() if v}), total))
             for key, (taxes, total) in expected.items()
             if held.get(key) != ({k: v for k, v in taxes.items() if v}, total)}
    assert wrong == {}, "\n".join(f"{key}: target {t}, POS {p}" for key, (t, p) in list(wrong.items())[:10])


def test_an_invoice_with_a_rate_no_tax_is_configured_for_fails_with_what_to_configure() -> None:
    integration = next(i for i in load_config().integrations if i.target == "jurnal")
    bookkeeping = Bookkeeping(taxes=[{"rate": 11, "name": "PPN"}])
    invoice = type("Invoice", (), {"key": "INV-1", "lines": [type("Line", (), {"tax_rate": Decimal("10.00")})()]})()
    sent: list[Any] = []
    [result] = send_taxable([invoice], lambda documents: sent.extend(documents) or [], bookkeeping, "Jurnal")
    assert (result.status, sent) == ("failed", [])
    assert "tax rate 10 % has no Jurnal tax configured" in (result.reason or "")
    assert integration.bookkeeping.tax_for(Decimal("10.00")).name == "PB1"


@pytest.mark.parametrize(("taxes", "message"), [
    ([{"rate": 11, "name": "PPN"}, {"rate": 11, "name": "PPN2"}], "rate 11 listed twice"),
    ([{"rate": 11, "name": "PPN"}, {"rate": 10, "name": "ppn"}], "tax ppn named for two rates"),
    ([{"rate": 10, "exempt": True}], "only a 0 % rate can be exempt"),
    ([{"rate": 10}], "name the target's tax for this rate"),
])
def test_tax_codes_are_validated_with_file_and_field(tmp_path: Path, taxes: list[dict[str, Any]],
                                                     message: str) -> None:
    source = yaml.safe_load((Path(__file__).resolve().parents[1] / "include" / "config" / "integrations.yaml")
                            .read_text())
    source["integrations"][0].setdefault("bookkeeping", {})["taxes"] = taxes
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(source))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    text = str(raised.value)
    assert str(path) in text and "bookkeeping.taxes" in text and message in text, text
