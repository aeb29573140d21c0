"""The DAG folder imports cleanly on Airflow 3.3, follows the project's DAG policies; a mistake in one
integration becomes that integration's ``<name>__config_error`` DAG, one in the file as a whole one readable
import error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
DAGS = PROJECT / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))  # no include_examples on 3.3: LOAD_EXAMPLES=False is set


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_one_dag_per_integration_and_flow(dagbag) -> None:
    for integration in ("jurnal_demo", "accurate_demo"):
        flows = ("customers", "products", "sales", "transfers", "reconcile")
        assert {f"{integration}__{flow}" for flow in flows} <= set(dagbag.dag_ids)
    assert "ho_demo__exchange" in dagbag.dag_ids, "one exchange DAG per head office"
    assert all(dag_id.split("__")[0] in ("jurnal_demo", "accurate_demo", "ho_demo") for dag_id in dagbag.dag_ids)


def test_each_target_runs_in_its_own_pool(dagbag) -> None:
    """Sales and transfers of one integration may run at once: every task calling the target shares its pool."""
    for dag_id in ("jurnal_demo__sales", "accurate_demo__sales", "jurnal_demo__transfers",
                   "accurate_demo__transfers"):
        target = dag_id.split("_")[0]
        pools = {task.pool for task in dagbag.dags[dag_id].tasks if task.task_id.startswith("sync_")}
        assert pools == {f"{target}_api"}, dag_id
    for target in ("jurnal", "accurate"):  # the reconciliation reads the target's books beside the syncs
        assert {task.pool for task in dagbag.dags[f"{target}_demo__reconcile"].tasks} == {f"{target}_api"}


def test_the_reconciliation_runs_after_the_days_last_sales_window(dagbag) -> None:
    from datetime import UTC, date, datetime, time

    from possync.config import load_config
    from possync.dagfactory import reconcile_day, reconcile_time

    jurnal = next(i for i in load_config().integrations if i.name == "jurnal_demo")
    assert jurnal.sales.mode == "scheduled" and max(jurnal.sales.hours) == time(23, 30)
    assert jurnal.transfers.mode == "automatic" and max(jurnal.transfers.hours) == time(23, 45)
    # 15 minutes after the day's last window, sales or transfers (so the day's stock is due too): midnight
    assert reconcile_time(jurnal) == time(0, 0)
    timetable = dagbag.dags["jurnal_demo__reconcile"].timetable
    assert timetable.expression == "0 0 * * *"
    # the run at midnight Jakarta (17:00 UTC the day before) reconciles the day that just ended
    assert reconcile_day(jurnal, datetime(2026, 11, 10, 17, 0, tzinfo=UTC)) == date(2026, 11, 10)
    sales_only = jurnal.model_copy(update={"transfers": jurnal.transfers.model_copy(
        update={"mode": "manual", "hours": []})})
    assert reconcile_time(sales_only) == time(23, 45)
    assert reconcile_day(sales_only, datetime(2026, 11, 10, 16, 45, tzinfo=UTC)) == date(2026, 11, 10)
    late = sales_only.model_copy(update={"sales": jurnal.sales.model_copy(update={"hours": [time(12), time(23, 50)]})})
    assert reconcile_time(late) == time(0, 5)
    assert reconcile_day(late, datetime(2026, 11, 10, 17, 5, tzinfo=UTC)) == date(2026, 11, 10)
    realtime = sales_only.model_copy(update={"sales": jurnal.sales.model_copy(
        update={"mode": "realtime", "hours": []})})
    assert reconcile_time(realtime) == time(23, 55)
    params = dagbag.dags["accurate_demo__reconcile"].params
    assert {"from_date", "to_date", "outlets", "resync_missing"} <= set(params.keys())


def test_dag_policies(dagbag) -> None:
    from possync.config import load_config

    config = load_config()
    targets = {i.name: i.target for i in config.integrations} | {h.name: "headoffice" for h in config.headoffices}
    for dag_id, dag in dagbag.dags.items():
        name, flow = dag_id.split("__")
        assert {targets[name], flow, name} <= set(dag.tags), dag_id
        assert dag.catchup is False
        assert dag.doc_md, f"{dag_id} tells ops nothing"
        for task in dag.tasks:
            assert task.owner == "possync"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries for transient errors"


def scheduled_dags(dagbag) -> list:
    """Every DAG but the transfers DAGs of integrations whose transfer sync is manual (they have no schedule)."""
    from possync.config import load_config

    manual = {f"{i.name}__transfers" for i in load_config().integrations if i.transfers.mode == "manual"}
    assert manual, "the demo config has a manual transfer sync"
    for dag_id in manual:
        assert type(dagbag.dags[dag_id].timetable).__name__ == "NullTimetable", dag_id
    return [dag for dag_id, dag in dagbag.dags.items() if dag_id not in manual]


def test_runs_have_real_windows(dagbag) -> None:
    import pendulum
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    for dag in scheduled_dags(dagbag):
        scheduled = DagSerialization.from_dict(DagSerialization.to_dict(dag))  # what the scheduler sees
        restriction = TimeRestriction(earliest=pendulum.datetime(2026, 11, 9, tz="Asia/Jakarta"), latest=None,
                                      catchup=True)
        info = scheduled.timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
        assert info.data_interval.start < info.data_interval.end, dag.dag_id


def test_dags_serialise_with_the_plugin_timetable(dagbag) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    for dag in scheduled_dags(dagbag):
        restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
        assert type(restored.timetable).__name__ == type(dag.timetable).__name__
        assert restored.timetable.periodic, "backfills need a periodic timetable"


def test_dag_docs_name_the_outcomes_the_task_logs_really_contain(dagbag) -> None:
    """Ops read the doc to know what to look for in a log: only the loader's and the inbound's outcomes."""
    import re

    from possync.recordlog import OUTCOMES

    for dag in dagbag.dags.values():
        named = set(re.findall(r"`([A-Z]{4,})`", dag.doc_md or ""))
        assert named <= set(OUTCOMES), f"{dag.dag_id} names {sorted(named - set(OUTCOMES))}"
    sales_doc = next(dag.doc_md for dag_id, dag in dagbag.dags.items() if dag_id.endswith("__sales"))
    assert {"SYNCED", "SKIPPED", "FAILED"} <= set(re.findall(r"`([A-Z]{4,})`", sales_doc))


def test_parsing_does_no_heavy_imports_or_io() -> None:
    probe = (
        "import sys, runpy; runpy.run_path(sys.argv[1]);"
        "heavy = sorted(m for m in ('pandas', 'possync.pos.extract', 'possync.transform.sales',"
        " 'possync.ledger.store') if m in sys.modules); print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(DAGS / "possync_dags.py")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_file_that_is_wrong_as_a_whole_is_one_clear_import_error(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    config = yaml.safe_load((PROJECT / "include/config/integrations.yaml").read_text())
    config["integrations"] = []
    bad = tmp_path / "integrations.yaml"
    bad.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("POSSYNC_CONFIG", str(bad))

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.dags == {}
    [(path, error)] = bag.import_errors.items()
    assert path.endswith("possync_dags.py")
    assert f"{bad}: integrations: list at least one integration" in error
    assert "pydantic" not in error


def test_a_mistake_in_one_integration_leaves_the_others_dags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import AirflowFailException

    config = yaml.safe_load((PROJECT / "include/config/integrations.yaml").read_text())
    config["integrations"][0]["sales"] = {"mode": "realtime", "every_minutes": 7}
    bad = tmp_path / "integrations.yaml"
    bad.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("POSSYNC_CONFIG", str(bad))

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert not [dag_id for dag_id in bag.dag_ids if dag_id.startswith("jurnal_demo__") and "config_error" not in dag_id]
    assert {"accurate_demo__sales", "accurate_demo__transfers", "ho_demo__exchange"} <= set(bag.dag_ids)
    message = f"{bad}: integrations[0] (jurnal_demo).sales.every_minutes: 7 does not divide 60"
    placeholder = bag.dags["jurnal_demo__config_error"]
    assert message in placeholder.doc_md and message in placeholder.description
    assert placeholder.schedule is None and "config-error" in placeholder.tags
    with pytest.raises(AirflowFailException, match="7 does not divide 60"):
        placeholder.get_task("config_error").python_callable()
    assert placeholder.get_task("config_error").retries == 0
