"""Integration settings: the shipped file is valid; every kind of mistake names the file and the field."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
import yaml

from possync.config import ConfigError, load_config

GOOD = {
    "integrations": [
        {
            "name": "jurnal_test",
            "target": "jurnal",
            "conn_id": "jurnal_test",
            "start_date": "2026-11-09",
            "sales": {"mode": "scheduled", "hours": ["12:00", "18:00", "23:30"]},
            "outlets": {"JKT01": {"warehouse": "Kemang"}},
        }
    ]
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def broken(**changes: object) -> dict:
    integration = {**GOOD["integrations"][0], **changes}
    return {"integrations": [integration]}


def test_shipped_config_is_valid() -> None:
    config = load_config()
    names = [i.name for i in config.integrations]
    assert names == ["jurnal_demo", "accurate_demo"]
    jurnal, accurate = config.integrations
    assert jurnal.sales.hours == [time(12), time(18), time(23, 30)]
    assert jurnal.target_pool == "jurnal_api"
    assert accurate.target_pool == "accurate_api" and accurate.target_concurrency == 2
    assert set(accurate.outlets) == set(jurnal.outlets), "one POS feeds both targets"
    assert all(outlet.branch for outlet in accurate.outlets.values()), "Accurate books each outlet to a branch"


def test_unquoted_yaml_times_are_read_as_times(tmp_path: Path) -> None:
    text = yaml.safe_dump(GOOD).replace("'12:00'", "12:00").replace("'23:30'", "23:30")
    assert "hours:\n      - 12:00" in text or "- 12:00" in text
    config = load_config(write(tmp_path, text))
    assert config.integrations[0].sales.hours == [time(12), time(18), time(23, 30)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (broken(sales={"mode": "scheduled", "hours": ["12:00", "25:00"]}),
         "integrations[0] (jurnal_test).sales.hours[1]: '25:00' is not a time of day"),
        (broken(sales={"mode": "scheduled"}),
         "integrations[0] (jurnal_test).sales: mode 'scheduled' needs at least one entry in hours"),
        (broken(sales={"mode": "every_second"}),
         "integrations[0] (jurnal_test).sales.mode: Input should be 'realtime', 'shift_close' or 'scheduled'"),
        (broken(sales={"mode": "realtime", "every_minutes": 7}),
         "integrations[0] (jurnal_test).sales.every_minutes: 7 does not divide 60"),
        (broken(transfers={"mode": "automatic"}),
         "integrations[0] (jurnal_test).transfers: mode 'automatic' needs at least one entry in hours"),
        (broken(transfers={"mode": "manual", "hours": ["23:45"]}),
         "integrations[0] (jurnal_test).transfers: hours only apply to mode 'automatic'"),
        (broken(transfers={"mode": "nightly"}),
         "integrations[0] (jurnal_test).transfers.mode: Input should be 'automatic', 'manual' or 'realtime'"),
        (broken(timezone="Asia/Jakarat"),
         "integrations[0] (jurnal_test).timezone: unknown timezone 'Asia/Jakarat'"),
        (broken(outlets={}), "integrations[0] (jurnal_test).outlets: map at least one POS outlet code"),
        (broken(target="quickbooks"), "integrations[0] (jurnal_test).target: unknown target 'quickbooks' "
         "(known targets: accurate, jurnal)"),
        (broken(name="Jurnal Demo"), "integrations[0] (Jurnal Demo).name: String should match pattern"),
        (broken(conn_idd="typo"), "integrations[0] (jurnal_test).conn_idd: Extra inputs are not permitted"),
        ({"integrations": [GOOD["integrations"][0], GOOD["integrations"][0]]},
         "integration name 'jurnal_test' is used twice"),
        ({"integration": []}, "integrations: Field required"),
        (broken(batch_size=0), "integrations[0] (jurnal_test).batch_size: batch_size must be 1 to 100"),
        (broken(batch_size=101), "integrations[0] (jurnal_test).batch_size: batch_size must be 1 to 100"),
    ],
)
def test_mistakes_name_the_file_and_field(tmp_path: Path, data: dict, expected: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "pydantic" not in message and "Traceback" not in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "integrations:\n  - name: x\n    target: [jurnal\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+, column \d+"):
        load_config(path)


def test_missing_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_cli_check_reports_the_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from possync.cli import main

    path = write(tmp_path, broken(timezone="Mars/Olympus"))
    assert main(["config", "check", "--config", str(path)]) == 1
    assert "unknown timezone 'Mars/Olympus'" in capsys.readouterr().err


def test_head_office_mistakes_are_readable(tmp_path: Path) -> None:
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "include/config/integrations.yaml").read_text())
    config["headoffices"][0].update(every_minutes=5, customers_store="XX01")
    bad = tmp_path / "integrations.yaml"
    bad.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as error:
        load_config(bad)
    assert "headoffices[0] (ho_demo).every_minutes: Input should be greater than or equal to 15" in str(error.value)


def test_batch_size_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, {"integrations": [{**GOOD["integrations"][0], "batch_size": 7}]})
    assert load_config(path).integrations[0].batch_size == 7


SHIPPED = Path(__file__).resolve().parents[1] / "include/config/integrations.yaml"


def shipped() -> dict:
    return yaml.safe_load(SHIPPED.read_text())


def _empty_integrations(config: dict) -> None:
    config["integrations"] = []


def _accurate_outlet_without_branch(config: dict) -> None:
    del config["integrations"][1]["outlets"]["BDG01"]["branch"]


def _impossible_date(config: dict) -> None:
    config["integrations"][0]["start_date"] = "2026-02-30"


def _unmapped_store(config: dict) -> None:
    config["headoffices"][0]["stores"].append("MDN01")


def _too_many_accurate_calls_in_flight(config: dict) -> None:
    config["integrations"][1].update(target_concurrency=3, batches_in_flight=3)


@pytest.mark.parametrize(("change", "expected"), [
    (_too_many_accurate_calls_in_flight,
     "integrations[1] (accurate_demo): target_concurrency 3 × batches_in_flight 3 lets 9 calls be in flight at once, "
     "but accurate refuses more than 8 in flight: lower either so that their product is at most 8"),
    (_empty_integrations, "integrations: list at least one integration (a POS feeding a target); the list is empty"),
    (_accurate_outlet_without_branch,
     "integrations[1] (accurate_demo).outlets: BDG01.branch missing: accurate books every document to a branch"),
    (_impossible_date, "integrations[0] (jurnal_demo).start_date: Input should be a valid date or datetime, day value "
                       "is outside expected range (got '2026-02-30')"),
    (_unmapped_store, "headoffices[0] (ho_demo).stores: store(s) MDN01 mapped to no outlet: no integration reading "
                      "POS connection 'possync_pos' lists them under outlets (BDG01, JKT01, SBY01, WH01)"),
])
def test_what_cannot_work_is_refused_naming_file_and_field(tmp_path: Path, change, expected: str) -> None:
    config = shipped()
    change(config)
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: {expected}"), str(error.value)


def test_jurnal_has_no_in_flight_limit_to_keep(tmp_path: Path) -> None:
    config = shipped()
    config["integrations"][0].update(target_concurrency=3, batches_in_flight=3)
    jurnal = load_config(write(tmp_path, config)).integrations[0]
    assert (jurnal.target, jurnal.target_concurrency * jurnal.batches_in_flight) == ("jurnal", 9)


def test_an_outlet_listed_twice_is_refused(tmp_path: Path) -> None:
    """YAML itself keeps only the last of two equal keys, silently: the second JKT01 would replace the first."""
    sby = '      SBY01: {warehouse: "Tunjungan"}\n'
    text = SHIPPED.read_text().replace(sby, sby + '      JKT01: {warehouse: "Senayan"}\n', 1)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"integrations\[0\] \(jurnal_demo\)\.outlets: 'JKT01' is listed twice "
                                          r"\(lines \d+ and \d+\); list it once"):
        load_config(path)


def test_an_impossible_unquoted_date_is_named_not_a_yaml_crash(tmp_path: Path) -> None:
    path = write(tmp_path, SHIPPED.read_text().replace("start_date: 2026-11-09", "start_date: 2026-11-31", 1))
    with pytest.raises(ConfigError, match=r"integrations\[0\] \(jurnal_demo\)\.start_date: .*'2026-11-31'"):
        load_config(path)


def test_dates_still_read_as_dates(tmp_path: Path) -> None:
    assert load_config(SHIPPED).integrations[0].start_date.isoformat() == "2026-11-09"


def test_for_the_dags_a_mistake_stays_with_its_integration(tmp_path: Path) -> None:
    from possync.config import load_config_for_dags

    config = shipped()
    _accurate_outlet_without_branch(config)
    _unmapped_store(config)
    path = write(tmp_path, config)
    kept, errors = load_config_for_dags(path)
    assert [i.name for i in kept.integrations] == ["jurnal_demo"] and kept.headoffices == []
    assert set(errors) == {("integration", "accurate_demo"), ("headoffice", "ho_demo")}
    assert errors["integration", "accurate_demo"].startswith(f"{path}: integrations[1] (accurate_demo).outlets: BDG01")
    assert load_config_for_dags(SHIPPED)[1] == {}


def test_for_the_dags_a_mistake_in_the_file_as_a_whole_still_raises(tmp_path: Path) -> None:
    from possync.config import load_config_for_dags

    config = shipped()
    config["integrations"][1]["name"] = "jurnal_demo"
    with pytest.raises(ConfigError, match="integration name 'jurnal_demo' is used twice"):
        load_config_for_dags(write(tmp_path, config))


def test_a_webhook_receiver_keeps_working_beside_another_integrations_mistake(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from possync.webhooks_app import _load_integration

    config = shipped()
    config["integrations"][0]["sales"]["hours"] = ["25:00"]
    monkeypatch.setenv("POSSYNC_CONFIG", str(write(tmp_path, config)))
    assert _load_integration("accurate_demo").name == "accurate_demo"
    with pytest.raises(ConfigError, match=r"integrations\[0\] \(jurnal_demo\)\.sales\.hours"):
        _load_integration("jurnal_demo")  # its own mistake: 503, the target delivers again later
