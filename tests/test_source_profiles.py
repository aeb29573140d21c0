"""Issue 17 (items 1, 2, 5): declarative source profiles. The shipped reference profile reads possync's own
schema into exactly the built-in extract's frames; a profile's values that cannot be coerced fail their own
records with the reasons the reference schema's get; a broken profile is named by file, entity and field or
column; ``possync source check`` reports on a profile."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import Engine

from possync.config import ConfigError, load_config
from possync.db import make_engine
from possync.pipeline import stage_sales
from possync.pos import extract
from possync.pos.extract import CatchUp, Window
from possync.pos.profiles import ProfileError, ProfileReader, load_profile
from possync.pos.profiles.model import SHIPPED
from possync.pos.source import BuiltinSource, pos_source
from possync.transform.sales import transform_products, transform_sales
from possync_devkit.demo_pos import DemoSpec, generate
from support.pos_builder import T0, Line, Pos

DEMO_WEEK = Window(datetime(2026, 11, 8, 17, tzinfo=UTC), datetime(2026, 11, 15, 17, tzinfo=UTC))
ONE_DAY = Window(datetime(2026, 11, 11, 17, tzinfo=UTC), datetime(2026, 11, 12, 17, tzinfo=UTC))
REFERENCE = SHIPPED / "reference.yaml"


def assert_same_frames(builtin: Any, profiled: Any) -> None:
    for name in builtin.__dataclass_fields__:
        pd.testing.assert_frame_equal(getattr(profiled, name), getattr(builtin, name), obj=name)


@pytest.fixture
def demo_week(db_engine: Engine) -> Engine:
    generate(db_engine, DemoSpec())
    return db_engine


def write_profile(tmp_path: Path, changes: dict[str, Any], drop: tuple[str, ...] = ()) -> Path:
    """The reference profile with some entities replaced (or dropped), as a file."""
    raw = yaml.safe_load(REFERENCE.read_text())
    raw.update(changes)
    for entity in drop:
        raw.pop(entity)
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


# ------------------------------------------------------------------------------- the reference profile


def test_the_reference_profile_reads_the_demo_week_as_the_builtin_extract(demo_week: Engine) -> None:
    reader = ProfileReader(demo_week, load_profile("reference"))

    sales = extract.extract_sales(demo_week, DEMO_WEEK)
    assert len(sales.orders) > 1000 and len(sales.refunds) > 10
    assert sales.orders[extract.UNREADABLE].isna().all()
    assert_same_frames(sales, reader.extract_sales(DEMO_WEEK))
    assert_same_frames(extract.extract_stock(demo_week, DEMO_WEEK), reader.extract_stock(DEMO_WEEK))
    pd.testing.assert_frame_equal(reader.extract_customers(), extract.extract_customers(demo_week))
    pd.testing.assert_frame_equal(reader.extract_products(), extract.extract_products(demo_week))
    since = datetime(2026, 11, 10, tzinfo=UTC)
    pd.testing.assert_frame_equal(reader.extract_customers(since), extract.extract_customers(demo_week, since))
    # and so the same documents and refusals
    assert transform_sales(reader.extract_sales(DEMO_WEEK)) == transform_sales(sales)


def test_the_reference_profile_sweeps_late_records_catches_up_and_retries_as_the_builtin(demo_week: Engine) -> None:
    reader = ProfileReader(demo_week, load_profile("reference"))
    catch_up = CatchUp(ONE_DAY.start - timedelta(days=3), ONE_DAY.start)
    options: dict[str, Any] = {"lookback": timedelta(hours=48), "catch_up": catch_up,
                               "retry_order_numbers": ["INV-JKT01-20261109-0009"],
                               "retry_refund_numbers": ["RF-JKT01-0001"]}

    builtin = extract.extract_sales(demo_week, ONE_DAY, ["JKT01", "BDG01"], **options)
    profiled = reader.extract_sales(ONE_DAY, ["JKT01", "BDG01"], **options)

    assert "INV-JKT01-20261109-0009" in set(builtin.orders["number"])  # the retry, from outside the window
    assert set(builtin.orders["outlet_code"]) == {"JKT01", "BDG01"}
    assert len(builtin.orders) > len(extract.extract_sales(demo_week, ONE_DAY, ["JKT01", "BDG01"]).orders)
    assert_same_frames(builtin, profiled)
    stock_options: dict[str, Any] = {"lookback": timedelta(hours=48), "catch_up": catch_up,
                                     "retry_transfer_numbers": ["TO-0009"]}
    assert_same_frames(extract.extract_stock(demo_week, ONE_DAY, ["JKT01"], **stock_options),
                       reader.extract_stock(ONE_DAY, ["JKT01"], **stock_options))


def test_the_reference_profile_plans_a_catch_up_as_the_builtin(demo_week: Engine) -> None:
    reader = ProfileReader(demo_week, load_profile("reference"))
    plan: dict[str, Any] = {"after": DEMO_WEEK.start, "until": DEMO_WEEK.end, "due_before": ONE_DAY.end}

    for limit in (None, 25):
        builtin = extract.plan_catch_up(demo_week, "JKT01", limit=limit, **plan)
        assert reader.plan_catch_up("JKT01", limit=limit, **plan) == builtin
    assert builtin.due == 25 and builtin.left > 0 and builtin.held_by == 0
    held = extract.plan_catch_up(demo_week, "SBY01", **plan)
    assert held.held_by > 0 and reader.plan_catch_up("SBY01", **plan) == held
    for transfers_flow in (True, False):
        assert (reader.plan_stock_catch_up(["JKT01", "WH01"], transfers_flow=transfers_flow, **plan)
                == extract.plan_stock_catch_up(demo_week, ["JKT01", "WH01"], transfers_flow=transfers_flow, **plan))


def test_staging_through_a_profile_records_what_the_builtin_records(tmp_path: Path, sqlite_url: str) -> None:
    from possync.ledger import SyncLedger

    pos = make_engine(sqlite_url)
    generate(pos, DemoSpec())
    staged = {}
    for name, source in (("builtin", None), ("profile", pos_source(pos, "reference"))):
        ledger = SyncLedger(make_engine(f"sqlite:///{tmp_path / name}.db"))
        ledger.create_schema()
        summary, documents = stage_sales(pos, ledger, integration="demo", outlet_code="JKT01", window=ONE_DAY,
                                         lookback=timedelta(hours=48), source=source)
        staged[name] = (summary.as_dict(), documents)
    assert staged["profile"] == staged["builtin"] and staged["builtin"][1]
    assert isinstance(pos_source(pos), BuiltinSource)


# ------------------------------------------------------------------------------ values that cannot be read


@pytest.fixture
def shop(sqlite_url: str) -> Pos:
    pos = Pos(make_engine(sqlite_url))
    pos.outlet("OUT-01")
    pos.product("Kopi Susu", 25000)
    pos.product("Es Kopi", 20000)
    for minute, number in enumerate(("INV-1", "INV-2", "INV-3")):
        pos.order(number, [Line("Es Kopi"), Line("Kopi Susu")], at=T0 + timedelta(minutes=minute))
    return pos


DAY = Window(T0 - timedelta(hours=3), T0 + timedelta(hours=21))


def test_an_uncoercible_value_fails_its_record_with_the_builtin_reason(shop: Pos) -> None:
    with shop.engine.begin() as conn:
        conn.execute(text("UPDATE orders SET total_amount = 'abc' WHERE number = 'INV-2'"))
        conn.execute(text("UPDATE order_lines SET quantity = 'two' WHERE line_no = 1 AND order_id = "
                          "(SELECT id FROM orders WHERE number = 'INV-3')"))
    reader = ProfileReader(shop.engine, load_profile("reference"))

    profiled = transform_sales(reader.extract_sales(DAY))
    builtin = transform_sales(extract.extract_sales(shop.engine, DAY))

    reasons = {(r.record_type, r.key): r.reason for r in profiled.rejections}
    assert reasons["invoice", "INV-2"] == "orders.total_amount = 'abc' is not an amount"
    assert reasons["invoice", "INV-3"] == "line 1 ('Es Kopi'): order_lines.quantity = 'two' is not a quantity"
    assert [invoice.key for invoice in profiled.invoices] == ["INV-1"]
    assert profiled == builtin


def test_a_table_form_profile_coerces_a_foreign_catalogue(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'foreign.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE stores (store_no TEXT, store_name TEXT)"))
        conn.execute(text("CREATE TABLE items (item_no TEXT, code TEXT, ean TEXT, title TEXT, price_incl REAL, "
                          "cost TEXT, vat TEXT, stocked TEXT, changed TEXT)"))
        conn.execute(text("INSERT INTO stores VALUES ('1', 'Kemang')"))
        conn.execute(text(
            "INSERT INTO items VALUES ('7', 'KOP-1', '899', 'Kopi', 25000.5, '12000', '11', 'Y', '2026-11-09 10:00'),"
            " ('8', 'KOP-2', NULL, 'Teh', 'gratis', '3000.00', '11.00', 'n', '2026-11-09 10:00'),"
            " ('9', 'KOP-3', NULL, 'Susu', 1.005, '1000', '11', 'maybe', '2026-11-09 10:00')"))
    path = tmp_path / "foreign.yaml"
    path.write_text(yaml.safe_dump({
        "name": "foreign", "naive_times": "Asia/Jakarta",
        "outlets": {"table": "stores", "columns": {"outlet_id": "store_no", "code": "'S' || store_no",
                                                   "name": "store_name", "kind": "'outlet'",
                                                   "timezone": "'Asia/Jakarta'"}},
        "products": {"table": "items", "columns": {
            "product_id": "item_no", "sku": "code", "barcode": "ean", "name": "title", "category": "NULL",
            "unit": "'pcs'", "price": "price_incl", "tax_rate": "vat", "track_stock": "stocked", "active": "1",
            "updated_at": "changed"}},
    }))

    products = ProfileReader(engine, load_profile(str(path))).extract_products()

    assert products["product_id"].tolist() == [7, 8, 9]
    assert products["price"].tolist()[0] == extract.Decimal("25000.50")
    assert products["cost"].tolist()[1] == extract.Decimal("3000.00")
    assert products["updated_at"].iloc[0] == pd.Timestamp("2026-11-09 03:00", tz="UTC")  # Jakarta time, in UTC
    assert products["track_stock"].tolist()[:2] == [True, False]
    items, refused = transform_products(products)
    assert [item.key for item in items] == ["KOP-1"]
    assert {r.key: r.reason for r in refused} == {
        "KOP-2": "products.price = 'gratis' is not an amount",
        "KOP-3": "products.price = 1.005 is not an amount; products.track_stock = 'maybe' is not true or false",
    }


# ----------------------------------------------------------------------------------- a broken profile


@pytest.mark.parametrize(("changes", "drop", "message"), [
    ({"products": {"table": "products", "columns": {"prise": "price"}}}, (),
     "products: columns.prise: not a column of products"),
    ({"orders": {"query": "SELECT * FROM orders WHERE business_time >= :start"}}, (),
     "orders: parameter :start is not one orders is given (:window_start, :window_end"),
    ({"products": {"query": "SELECT 1", "table": "products"}}, (), "products: give either query"),
    ({}, ("payments",), "orders, order_lines without payments: give all of orders, order_lines, payments or none"),
    ({"exact_values": "cents"}, (), "exact_values"),
    ({"naive_times": "Asia/Jakartaa"}, (), "naive_times: unknown timezone 'Asia/Jakartaa'"),
    ({"refunds_lines": {"query": "SELECT 1"}}, (), "refunds_lines: Extra inputs are not permitted"),
    ({"views": {"recent": "SELECT * FROM orders WHERE business_time >= :window_start"}}, (),
     "recent: a view takes no parameters (it uses :window_start)"),
])
def test_a_bad_profile_field_is_named_with_its_file(tmp_path: Path, changes: dict[str, Any], drop: tuple[str, ...],
                                                    message: str) -> None:
    path = write_profile(tmp_path, changes, drop)

    with pytest.raises(ProfileError) as raised:
        load_profile(str(path))

    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_a_query_without_a_canonical_column_or_that_fails_names_file_entity_and_column(
        tmp_path: Path, shop: Pos) -> None:
    reference = yaml.safe_load(REFERENCE.read_text())
    path = write_profile(tmp_path, {
        "payments": {"query": reference["payments"]["query"].replace("amount, tendered", "amount AS amt, tendered")},
    })
    with pytest.raises(ProfileError, match=rf"^{path}: payments: the query returns no column amount \(it returns"):
        ProfileReader(shop.engine, load_profile(str(path))).extract_sales(DAY)

    path = write_profile(tmp_path, {"products": {"query": "SELECT * FROM no_such_table"}})
    with pytest.raises(ProfileError, match=rf"^{path}: products: the query failed: .*no such table: no_such_table"):
        ProfileReader(shop.engine, load_profile(str(path))).extract_products()

    path = write_profile(tmp_path, {"customers": {"query": reference["customers"]["query"].replace(
        "c.id AS customer_id", "NULLIF(c.id, 5) AS customer_id")}})
    with shop.engine.begin() as conn:
        conn.execute(text("INSERT INTO customers (id, name, created_at, updated_at) VALUES "
                          "(5, 'Andi', '2026-11-09 01:00:00.000000', '2026-11-09 01:00:00.000000')"))
    with pytest.raises(ProfileError, match=rf"^{path}: customers: column customer_id: None is not an id"):
        ProfileReader(shop.engine, load_profile(str(path))).extract_customers()


# ------------------------------------------------------------------------------------ integrations.yaml


def integrations(tmp_path: Path, **entry: Any) -> Path:
    config = yaml.safe_load((Path(__file__).parents[1] / "include/config/integrations.yaml").read_text())
    config["integrations"][0].update(entry)
    config.pop("headoffices")
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_an_integration_names_its_profile_by_name_or_path(tmp_path: Path) -> None:
    assert load_config(integrations(tmp_path)).integrations[0].profile is None  # the built-in extract
    assert load_config(integrations(tmp_path, profile="reference")).integrations[0].profile == "reference"
    write_profile(tmp_path, {})  # shop.yaml beside integrations.yaml
    assert load_config(integrations(tmp_path, profile="shop.yaml")).integrations[0].profile == str(
        (tmp_path / "shop.yaml").resolve())


@pytest.mark.parametrize(("entry", "message"), [
    ({"profile": "nosuch"}, "integrations[0] (jurnal_demo).profile: "),
    ({"profile": "broken.yaml"}, "broken.yaml: products: columns.prise: not a column of products"),
    ({"profile": "reference", "sales": {"mode": "shift_close"}}, "shift_close is not supported with a source profile"),
    ({"profile": "reference", "posting": "per_shift"}, "per_shift is not supported with a source profile"),
])
def test_an_unusable_profile_is_a_config_error_naming_the_field(tmp_path: Path, entry: dict[str, Any],
                                                                message: str) -> None:
    (tmp_path / "broken.yaml").write_text(write_profile(tmp_path, {"products": {
        "table": "products", "columns": {"prise": "price"}}}).read_text())
    with pytest.raises(ConfigError) as raised:
        load_config(integrations(tmp_path, **entry))
    assert message in str(raised.value)
    assert "profile" in str(raised.value)


# -------------------------------------------------------------------------------- possync source check


def source_check(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "AIRFLOW__CORE__UNIT_TEST_MODE"}
    return subprocess.run([sys.executable, "-m", "possync", "source", "check", "--integration", "jurnal_demo",
                           *args], capture_output=True, text=True, timeout=300, env=environment)


@pytest.fixture
def demo_file(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'pos.db'}"
    generate(make_engine(url), DemoSpec())
    return url


def test_source_check_reports_rows_and_documents_of_a_good_profile(demo_file: str) -> None:
    result = source_check("--profile", "reference", "--from", "2026-11-10", "--pos-url", demo_file)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    orders = next(line for line in lines if line.strip().startswith("orders "))
    assert orders.split()[1:3] == ["180", "row(s)"] and orders.endswith("ok")
    assert any(line.strip().startswith("invoice INV-") for line in lines)
    assert any("refused invoice INV-BDG01-20261110-0012: payments add up to" in line for line in lines)


def test_source_check_reports_a_broken_profile_one_line_a_problem(tmp_path: Path, demo_file: str) -> None:
    reference = yaml.safe_load(REFERENCE.read_text())
    path = write_profile(tmp_path, {
        "payments": {"query": reference["payments"]["query"].replace("amount, tendered", "amount AS amt, tendered")},
        "products": {"query": "SELEC id FROM products"},
        "orders": {"query": reference["orders"]["query"].replace(
            "o.total_amount,", "CASE WHEN o.number LIKE '%-0002' THEN 'Rp 5.000' ELSE o.total_amount END "
                               "AS total_amount,")},
    })

    result = source_check("--profile", str(path), "--from", "2026-11-10", "--pos-url", demo_file)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("possync source check: ")]
    assert len(problems) == 3, result.stderr
    assert f"possync source check: {path}: payments: the query returns no column amount" in problems[0]
    assert problems[1].startswith(f"possync source check: {path}: products: the query failed:")
    assert problems[2].startswith(f"possync source check: {path}: orders.total_amount: 3 value(s) not an amount: "
                                  "'Rp 5.000' (number INV-")
    assert result.stderr.splitlines()[-1] == "3 problem(s) in profile reference"
    assert "  orders                 180 row(s)  3 value(s) not coerced" in result.stdout


def test_source_check_names_a_missing_profile(demo_file: str) -> None:
    result = source_check("--profile", "nosuch", "--from", "2026-11-10", "--pos-url", demo_file)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("possync source check: ") and "nosuch.yaml: no such profile file" in result.stderr
    assert len(result.stderr.splitlines()) == 1


# ------------------------------------------------------------------- changes after sync, reconciliation


def test_the_refunds_of_changed_orders_are_found_through_the_profile(demo_week: Engine, tmp_path: Path) -> None:
    orders = ["INV-JKT01-20261109-0009", "INV-BDG01-20261110-0012", "NO-SUCH-ORDER"]
    builtin = extract.refunds_of_orders(demo_week, orders)
    assert builtin["INV-JKT01-20261109-0009"]  # the over-refunded order has refunds

    assert ProfileReader(demo_week, load_profile("reference")).refunds_of_orders(orders) == builtin
    reference = yaml.safe_load(REFERENCE.read_text())
    path = write_profile(tmp_path, {"refunds": {"query": reference["refunds"]["query"].replace(
        "OR o.number IN :order_numbers", "")}})
    with pytest.raises(ProfileError, match=rf"^{path}: refunds: finding the refunds of an order changed after sync"):
        ProfileReader(demo_week, load_profile(str(path))).refunds_of_orders(orders)


def test_reconciliation_reads_the_pos_through_the_integration_profile(sqlite_url: str, tmp_path: Path) -> None:
    from possync.reconcile import pos_documents

    pos = make_engine(sqlite_url)
    generate(pos, DemoSpec())
    config = load_config(integrations(tmp_path))
    builtin = config.integrations[0]
    profiled = builtin.model_copy(update={"profile": "reference"})
    broken = builtin.model_copy(update={"profile": str(write_profile(tmp_path, {"orders": {"query": "SELECT 1"}}))})
    day = datetime(2026, 11, 11).date()

    from possync.pipeline import SyncJob

    assert isinstance(SyncJob(profiled, pos, None, None, None).source, ProfileReader)  # type: ignore[arg-type]
    assert isinstance(SyncJob(builtin, pos, None, None, None).source, BuiltinSource)  # type: ignore[arg-type]
    documents = pos_documents(pos, builtin, ["JKT01"], day, day)
    assert documents and pos_documents(pos, profiled, ["JKT01"], day, day) == documents
    with pytest.raises(ProfileError, match="orders: the query returns no column order_id"):
        pos_documents(pos, broken, ["JKT01"], day, day)


def test_views_are_common_table_expressions_ahead_of_the_queries_that_name_them() -> None:
    from possync.pos.profiles.model import with_views

    views = {"paid": "SELECT * FROM payments WHERE amount > 0", "cash": "SELECT * FROM paid WHERE method = 'cash'",
             "unused": "SELECT 1"}

    assert with_views("SELECT * FROM orders", views) == "SELECT * FROM orders"
    assert with_views("SELECT order_id FROM cash", views) == (
        "WITH paid AS (\nSELECT * FROM payments WHERE amount > 0\n),\n"
        "cash AS (\nSELECT * FROM paid WHERE method = 'cash'\n)\nSELECT order_id FROM cash")
    # a query with a WITH of its own gets the views ahead of its expressions
    assert with_views("with mine AS (SELECT 1) SELECT * FROM paid, mine", views) == (
        "WITH paid AS (\nSELECT * FROM payments WHERE amount > 0\n),\nmine AS (SELECT 1) SELECT * FROM paid, mine")


def test_the_reference_profile_reads_a_mariadb_pos_as_the_builtin_extract(mariadb_url: str) -> None:
    engine = make_engine(mariadb_url)
    generate(engine, DemoSpec(days=2))
    reader = ProfileReader(engine, load_profile("reference"))

    sales = extract.extract_sales(engine, DEMO_WEEK)
    assert len(sales.orders) > 100 and len(sales.lines) > 200
    assert_same_frames(sales, reader.extract_sales(DEMO_WEEK))
    assert_same_frames(extract.extract_stock(engine, DEMO_WEEK), reader.extract_stock(DEMO_WEEK))
    pd.testing.assert_frame_equal(reader.extract_customers(), extract.extract_customers(engine))
    engine.dispose()
