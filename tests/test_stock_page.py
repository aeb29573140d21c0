"""The Sync Status "Stock" page on Airflow's own API server app, against each live target sandbox: per warehouse
and product the POS's stock against the target's, differences first; a viewer sees it without the Adjust
buttons and may not adjust (403); an op's "adjust the target to the POS" (a product, then all) posts stock
adjustments through the normal path, kept in the ledger with who asked, and the page then shows no difference."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from possync.pipeline import sync_products
from possync.stocksync import compare_stock
from support.airflow_api import api_server, token
from support.worlds import sync_job
from test_opening_stock import AFTER_THE_WEEK, WORLDS, drift


@pytest.fixture(params=["jurnal", "accurate"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from WORLDS[request.param](tmp_path, monkeypatch)


@pytest.fixture
def server(airflow_with_dags: Path) -> TestClient:
    return api_server()


def page_rows(text: str) -> list[list[str]]:
    table = text.split('<table id="stock">')[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r'<tr class="stock[^"]*">(.*?)</tr>', table)]


def test_the_stock_page_shows_drift_first_and_an_op_repairs_it(world, server) -> None:
    job = sync_job(world, opening_stock=True, start_date=AFTER_THE_WEEK)
    sync_products(job)
    name = job.integration.name
    first, second = [r for r in compare_stock(job) if r.pos > 0][:2]
    drift(world, job, first.outlet_code, first.sku, Decimal("-4"))
    drift(world, job, second.outlet_code, second.sku, Decimal("1"))

    assert server.get("/sync-status/stock", params={"integration": name}).status_code == 401
    page = server.get("/sync-status/stock", params={"integration": name}, headers=token("viewer"))
    assert page.status_code == 200, page.text
    rows = page_rows(page.text)
    assert {(r[0], r[2], r[6]) for r in rows[:2]} == {(first.outlet_code, first.sku, "4.000"),
                                                       (second.outlet_code, second.sku, "-1.000")}
    assert all(r[6] in ("0", "0.000") for r in rows[2:]), "differences first"
    assert 'class="adjust"' not in page.text, "a viewer gets no Adjust button"
    refused = server.post("/sync-status/api/stock/adjust", json={"integration": name}, headers=token("viewer"))
    assert refused.status_code == 403 and "cannot adjust its stock" in refused.json()["detail"]
    assert all(r.difference == 0 for r in compare_stock(job) if (r.outlet_code, r.sku) not in {
        (first.outlet_code, first.sku), (second.outlet_code, second.sku)})

    as_op = server.get("/sync-status/stock", params={"integration": name}, headers=token("op"))
    assert as_op.text.count('class="adjust"') >= 3, "per product, per warehouse, all"
    listed = server.get("/sync-status/api/stock", params={"integration": name}, headers=token("viewer")).json()
    assert listed["differences"] == 2 and listed["rows"][0]["difference"] in ("4.000", "-1.000")

    # one product, from the page's form
    done = server.post("/sync-status/stock/adjust", data={"integration": name, "warehouse": first.outlet_code,
                                                          "sku": first.sku}, headers=token("op"),
                       follow_redirects=False)
    assert done.status_code == 303 and "Posted+1+stock+adjustment" in done.headers["location"], done.headers
    left = [r for r in compare_stock(job) if r.difference]
    assert [(r.outlet_code, r.sku) for r in left] == [(second.outlet_code, second.sku)]

    # all the rest, through the JSON API
    answer = server.post("/sync-status/api/stock/adjust", json={"integration": name}, headers=token("op"))
    assert answer.status_code == 200 and answer.json()["synced"] == 1, answer.text
    assert not [r for r in compare_stock(job) if r.difference]
    corrections = [r for r in job.ledger.unsynced(name, "stock", statuses=["synced"])
                   if r.record_type == "stock_correction"]
    assert len(corrections) == 2 and all(r.run_id.startswith("asked by op at ") for r in corrections)
    final = server.get("/sync-status/stock", params={"integration": name}, headers=token("viewer"))
    assert 'id="stock-summary">0 difference(s)' in final.text
