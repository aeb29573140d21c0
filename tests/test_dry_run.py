"""Issue 18 item 4, dry run: a sync run with ``dry_run`` writes nothing to the target or the ledger, and shows the
exact request bodies a real run then sends.

On each target's live sandbox: a dry run of a demo day leaves the target (read back through its API) and every
ledger table as they were; the bodies it shows are exactly those a real run then posts (captured on the hook);
a broken demo record shows with its reason; a customer not in the target yet shows as "would first create" with
a placeholder for its id; a change after sync shows as a deletion and a repost. Then the CLI (``possync preview``)
and the DAG param (``dry_run`` through ``dag.test``, the preview in XCom and on the Sync Status page).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from sqlalchemy import func, inspect, select, text

from possync.pipeline import sync_customers, sync_products, sync_sales
from possync.pos.extract import Window
from possync.preview import Preview, dry_run, is_placeholder, jsonable
from support.demo_week import broken_keys
from support.worlds import accurate_world, jurnal_world, sync_job

WORLDS = {"jurnal": jurnal_world, "accurate": accurate_world}
OUTLET = "JKT01"
DAY = Window(datetime(2026, 11, 10, tzinfo=UTC) - timedelta(hours=7),
             datetime(2026, 11, 11, tzinfo=UTC) - timedelta(hours=7))
BROKEN_DAY = Window(DAY.start + timedelta(days=1), DAY.end + timedelta(days=1))
BROKEN = "INV-JKT01-20261111-0017"  # sells a product without SKU
#: what each target's documents are listed by: (resource, list fields for Accurate)
LISTS = {
    "jurnal": ["customers", "products", "sales_invoices", "receive_payments", "sales_returns", "bank_withdrawals"],
    "accurate": ["customer", "item", "sales-invoice", "sales-receipt", "sales-return", "other-payment"],
}
WRITES = {"jurnal": ("batch_create", "create"), "accurate": ("bulk_save", "save")}


@pytest.fixture(params=["jurnal", "accurate"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from WORLDS[request.param](tmp_path, monkeypatch)


def target_counts(world: dict[str, Any], job: Any) -> dict[str, int]:
    if world["target"] == "jurnal":
        return {name: sum(1 for _ in job.hook.iterate(name)) for name in LISTS["jurnal"]}
    return {name: sum(1 for _ in job.hook.iterate(name, fields=["id"])) for name in LISTS["accurate"]}


#: the shared rate-limit allowance kept in the ledger's database (``targets/base/pacing.SharedPacer``): a dry run
#: reads the target, and every read spends the API consumer's allowance like any other caller's
PACING_TABLES = {"pacing_consumers", "pacing_requests"}


def ledger_counts(world: dict[str, Any]) -> dict[str, int]:
    """Rows per ledger table, for every table that has any (the pacing allowance aside)."""
    engine = world["ledger"].engine
    with engine.connect() as conn:
        counts = {table: conn.execute(select(func.count()).select_from(text(f'"{table}"'))).scalar_one()
                  for table in inspect(engine).get_table_names() if table not in PACING_TABLES}
    return {table: n for table, n in counts.items() if n}


def capture_posts(world: dict[str, Any], job: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every body the job's hook posts from now on: (resource, body)."""
    posted: list[tuple[str, dict[str, Any]]] = []
    batch, single = WRITES[world["target"]]
    real_batch, real_single = getattr(job.hook, batch), getattr(job.hook, single)

    def batch_create(resource: str, items: Any) -> Any:
        posted.extend((resource, dict(item)) for item in items)
        return real_batch(resource, items)

    def create(resource: str, fields: Any, **kwargs: Any) -> Any:
        posted.append((resource, dict(fields)))
        return real_single(resource, fields, **kwargs)

    setattr(job.hook, batch, batch_create)
    setattr(job.hook, single, create)
    return posted


def canonical(what: str, body: Any) -> str:
    return json.dumps([what, jsonable(body)], sort_keys=True)


def preview_sales(job: Any, window: Window = DAY) -> Preview:
    return dry_run(job, "sales", lambda dry: sync_sales(dry, outlet_codes=[OUTLET], window=window),
                   scope={"outlet": OUTLET})


def test_dry_run_writes_nothing_and_shows_exactly_the_bodies_a_real_run_posts(world: dict[str, Any]) -> None:
    job = sync_job(world)
    sync_customers(job)
    sync_products(job)
    target_before, ledger_before = target_counts(world, job), ledger_counts(world)

    preview = preview_sales(job)

    assert target_counts(world, job) == target_before, "a dry run wrote to the target"
    assert ledger_counts(world) == ledger_before, "a dry run wrote to the ledger"
    counts = preview.counts()
    assert counts["invoice"].get("would post", 0) > 0 and counts["payment"].get("would post", 0) > 0
    shown = {canonical(request.what, request.body) for _record, request in preview.bodies()
             if request.action == "create" and not request.depends_on_reply}
    assert not any(is_placeholder(v) for _r, request in preview.bodies() for v in (request.body or {}).values())

    real = sync_job(world)
    posted = capture_posts(world, real)
    summary = sync_sales(real, outlet_codes=[OUTLET], window=DAY)
    assert summary.synced > 0
    sent = {canonical(what, body) for what, body in posted}
    replied = {canonical(request.what, request.body) for _record, request in preview.bodies()
               if request.depends_on_reply}
    assert shown <= sent, f"bodies the preview showed that the real run did not post: {sorted(shown - sent)[:2]}"
    unexplained = {s for s in sent - shown if json.loads(s)[0] not in _reply_built(preview)}
    assert not unexplained, f"bodies the real run posted that the preview did not show: {sorted(unexplained)[:2]}"
    assert len(replied) == len({s for s in sent if json.loads(s)[0] in _reply_built(preview)})

    # a second dry run, after the real one: everything is synced, nothing would be posted
    again = preview_sales(sync_job(world))
    assert not [r for r in again.records if r.requests], "after the real run a dry run would post nothing"


def _reply_built(preview: Preview) -> set[str]:
    """The resources whose bodies the preview could only build from a reply (Jurnal's refund withdrawals)."""
    return {request.what for _record, request in preview.bodies() if request.depends_on_reply}


def test_broken_records_and_missing_customers_show_with_their_reasons(world: dict[str, Any]) -> None:
    job = sync_job(world)
    ledger_before = ledger_counts(world)

    preview = preview_sales(job, BROKEN_DAY)

    assert ledger_counts(world) == ledger_before
    records = {(r.record_type, r.key): r for r in preview.records}
    assert broken_keys()[BROKEN] == "order_product_without_sku"
    assert records["invoice", BROKEN].outcome == "would fail"
    assert "has no SKU" in records["invoice", BROKEN].detail
    assert not records["invoice", BROKEN].requests
    posted = [r for r in preview.records if r.record_type == "invoice" and r.outcome == "would post"]
    assert posted and any(need.startswith("would first create customer") for r in posted for need in r.needs)
    assert preview.first_created.get("customer", 0) > 0
    body = json.dumps(jsonable(posted[0].requests[0].body))
    assert "once created" in body or "gives customer" in body, "an id the target has not given is a placeholder"


def test_a_change_after_sync_shows_as_a_deletion_and_a_repost(world: dict[str, Any]) -> None:
    from possync_devkit.till_changes import plain_orders, void_order

    job = sync_job(world)
    sync_customers(job)
    sync_products(job)
    sync_sales(job, outlet_codes=[OUTLET], window=DAY)
    voided = plain_orders(world["pos"], OUTLET, DAY.start, DAY.end, exclude=set(broken_keys()))[0].number
    void_order(world["pos"], voided, "customer changed their mind")
    target_before, ledger_before = target_counts(world, job), ledger_counts(world)

    preview = preview_sales(sync_job(world))

    assert target_counts(world, job) == target_before and ledger_counts(world) == ledger_before
    invoice = next(r for r in preview.records if (r.record_type, r.key) == ("invoice", voided))
    assert invoice.outcome.startswith("would reverse")
    assert [r.action for r in invoice.requests] == ["delete"]
    assert "voided" in invoice.detail or "changed their mind" in invoice.detail


def test_the_cli_prints_the_preview_and_refuses_bad_input_in_one_line(
        world: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from possync.cli import main

    name = world["integration"]
    ledger_before = ledger_counts(world)
    assert main(["preview", "--integration", name, "--from", "2026-11-10", "--outlet", OUTLET]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"DRY RUN {name} sales") and "POST " in out and "DRY RUN summary" in out
    assert "would first create customer" in out

    assert main(["preview", "--integration", name, "--from", "2026-11-10", "--outlet", OUTLET, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dry_run"] is True and data["flow"] == "sales" and data["records"]
    amounts = [request["body"] for record in data["records"] for request in record["requests"] if "body" in request]
    assert amounts and "Decimal" not in json.dumps(amounts)

    assert main(["preview", "--integration", name, "--from", "2026-11-10", "--flow", "customers", "--json"]) == 0
    customers = json.loads(capsys.readouterr().out)
    assert customers["counts"]["customer"]["would post"] > 0
    assert ledger_counts(world) == ledger_before

    for argv, expected in (
        (["--integration", name, "--from", "2026-11-12", "--to", "2026-11-10"], "is after --to"),
        (["--integration", "nowhere", "--from", "2026-11-10"], "no integration 'nowhere'"),
        (["--integration", name, "--from", "10/11/2026"], "possync preview:"),
        (["--integration", name, "--from", "2026-11-10", "--outlet", "XXX01"], "not mapped"),
    ):
        assert main(["preview", *argv]) == 2
        captured = capsys.readouterr()
        assert expected in captured.err and "Traceback" not in captured.err
        assert len(captured.err.strip().splitlines()) == 1, captured.err

    monkeypatch.delenv("AIRFLOW_CONN_POSSYNC_LEDGER")
    assert main(["preview", "--integration", name, "--from", "2026-11-10"]) == 1
    captured = capsys.readouterr()
    assert "possync_ledger" in captured.err and len(captured.err.strip().splitlines()) == 1, captured.err


@pytest.fixture
def jurnal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_with_dags: Path) -> Iterator[dict[str, Any]]:
    yield from jurnal_world(tmp_path, monkeypatch)


def preview_link(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """The URL of a task's "Dry-run preview" extra link, as the UI shows it (an XCom the worker wrote)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(XComModel.get_many(run_id=run_id, key="_link_DryRunPreviewLink", dag_ids=dag_id,
                                                 task_ids=task_id, map_indexes=map_index)).one()
        return XComModel.deserialize_value(row)


def test_a_sales_dag_run_with_dry_run_writes_nothing_and_its_preview_is_on_sync_status(
        jurnal: dict[str, Any]) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from possync.preview import PREVIEW_XCOM
    from possync.status_app import read_previews
    from support.airflow_api import api_server, token
    from support.demo_week import DAGS

    job = sync_job(jurnal)
    target_before, ledger_before = target_counts(jurnal, job), ledger_counts(jurnal)
    dag = DagBag(dag_folder=str(DAGS)).get_dag("jurnal_demo__sales")
    assert dag.params["dry_run"] is False, "the trigger form's dry_run is off by default"

    run = dag.test(run_conf={"window_start": "2026-11-10T00:00:00+07:00", "window_end": "2026-11-11T00:00:00+07:00",
                             "outlets": [OUTLET], "dry_run": True})

    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    assert [ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == "sync_sales"] == [OUTLET], \
        "the grid names the sales task by its outlets: one chosen, its code"
    assert target_counts(jurnal, job) == target_before, "a dry run wrote to the target"
    assert ledger_counts(jurnal) == ledger_before, "a dry run wrote to the ledger"

    previews = {(p["task_id"], p["map_index"]): p["preview"] for p in read_previews(dag.dag_id, run.run_id)}
    assert set(previews) == {("sync_customers", -1), ("sync_products", -1), ("sync_sales", 0)}
    sales = previews["sync_sales", 0]
    assert sales["dry_run"] and sales["counts"]["invoice"]["would post"] > 0
    invoice = next(r for r in sales["records"] if r["record_type"] == "invoice" and r["outcome"] == "would post")
    assert invoice["needs"] and invoice["requests"][0]["what"] == "sales_invoices"
    assert isinstance(invoice["requests"][0]["body"]["transaction_lines_attributes"][0]["rate"], str)
    assert len([r for r in sales["records"] if r["record_type"] == "invoice"]) <= sales["limit_per_type"]
    assert previews["sync_products", -1]["counts"]["item"].get("would fail") == 1, "the product without SKU"

    link = preview_link(dag.dag_id, run.run_id, "sync_sales", 0)
    assert link.endswith(f"/sync-status/preview?dag_id={dag.dag_id}&run_id={quote_plus(run.run_id)}")

    server = api_server()
    query = {"dag_id": dag.dag_id, "run_id": run.run_id}
    assert server.get("/sync-status/preview", params=query).status_code == 401
    page = server.get("/sync-status/preview", params=query, headers=token("viewer"))
    assert page.status_code == 200
    assert invoice["key"] in page.text and "POST sales_invoices" in page.text
    assert "&quot;transaction_lines_attributes&quot;" in page.text, "the body, pretty-printed"
    data = server.get("/sync-status/api/preview", params=query, headers=token("viewer")).json()
    assert len(data["previews"]) == 3
    unencoded = f"/sync-status/api/preview?dag_id={dag.dag_id}&run_id={run.run_id}"  # as a UI tab may link it
    assert len(server.get(unencoded, headers=token("viewer")).json()["previews"]) == 3
    none = server.get("/sync-status/preview", params={"dag_id": dag.dag_id, "run_id": "nothing"},
                      headers=token("viewer"))
    assert none.status_code == 200 and "has no dry-run preview" in none.text
    assert PREVIEW_XCOM == "dry_run_preview"


def resolved(body: Any, world: dict[str, Any]) -> Any:
    """``body`` with each placeholder replaced by what the target gave once the master data synced."""
    ledger, name = world["ledger"], world["integration"]
    if isinstance(body, dict):
        return {k: resolved(v, world) for k, v in body.items()}
    if isinstance(body, list):
        return [resolved(v, world) for v in body]
    if is_placeholder(body):
        if body.startswith("<id of product "):
            sku = body.removeprefix("<id of product ").removesuffix(" once created>")
            target_id = ledger.id_maps(name, "product", [sku])[sku][0]
            return int(target_id) if world["target"] == "jurnal" else target_id
        if " gives customer " in body:
            key = body.split(" gives customer ", 1)[1].removesuffix(">")
            return ledger.id_maps(name, "customer", [key])[key][1]
        raise AssertionError(f"an unexpected placeholder: {body}")
    return body


def test_the_placeholders_become_the_ids_the_target_then_gives(world: dict[str, Any]) -> None:
    preview = preview_sales(sync_job(world))  # nothing in the target yet: customers and products first
    assert any(request.body and json.dumps(jsonable(request.body)).count("<") for _r, request in preview.bodies())

    real = sync_job(world)
    sync_customers(real)
    sync_products(real)
    posted = capture_posts(world, real)
    sync_sales(real, outlet_codes=[OUTLET], window=DAY)

    reply_built = _reply_built(preview)
    shown = {canonical(request.what, resolved(request.body, world)) for _record, request in preview.bodies()
             if request.action == "create" and request.what not in reply_built}
    sent = {canonical(what, body) for what, body in posted if what not in reply_built}
    assert shown == sent


@pytest.mark.parametrize("flow", ["transfers", "stock"])
def test_transfers_and_stock_previews_are_the_bodies_a_real_run_posts(world: dict[str, Any], flow: str) -> None:
    from possync.pipeline import sync_stock, sync_transfers
    from possync.preview import day_window, preview_range

    job = sync_job(world)
    sync_products(job)
    first, last = datetime(2026, 11, 9).date(), datetime(2026, 11, 13).date()
    target_before, ledger_before = target_counts(world, job), ledger_counts(world)

    preview = preview_range(sync_job(world), flow, first, last)

    assert target_counts(world, job) == target_before and ledger_counts(world) == ledger_before
    shown = {canonical(request.what, request.body) for _record, request in preview.bodies()
             if request.action == "create"}
    assert shown, f"the demo week has {flow} to post"
    if flow == "stock":
        assert any(r.key == "ADJ-JKT01-0002" and r.outcome == "would fail" for r in preview.records)
    else:
        assert any(r.key == "TO-0009" and r.outcome == "would fail" for r in preview.records)

    real = sync_job(world)
    posted = capture_posts(world, real)
    window = day_window(first, last, real.integration.timezone)
    outlets = sorted(real.integration.outlets)
    if flow == "transfers":
        sync_transfers(real, outlet_codes=outlets, window=window)
    else:
        for code in outlets:
            sync_stock(real, outlet_code=code, window=window)
    assert shown == {canonical(what, body) for what, body in posted}


def test_a_dag_run_links_its_dry_run_preview(airflow_with_dags: Path) -> None:
    from support.airflow_api import api_server, token

    plugins = api_server().get("/api/v2/plugins", headers=token("admin")).json()["plugins"]
    views = [view for plugin in plugins if plugin["name"] == "possync" for view in plugin["external_views"]]
    preview = next(view for view in views if view["name"] == "Dry-run preview")
    assert preview["destination"] == "dag_run"
    assert preview["href"] == "/sync-status/preview?dag_id={DAG_ID}&run_id={RUN_ID}"
