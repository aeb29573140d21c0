"""possync is an Airflow provider: its connection types and their declarative forms are registered."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest


@pytest.fixture(scope="module")
def providers():
    from airflow.providers_manager import ProvidersManager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        manager = ProvidersManager()
        manager.initialize_providers_hooks()
        return manager


@pytest.mark.parametrize(
    ("conn_type", "hook_class"),
    [
        ("jurnal", "possync.targets.jurnal.hook.JurnalHook"),
        ("accurate", "possync.targets.accurate.hook.AccurateHook"),
    ],
)
def test_connection_types_resolve_to_our_hooks(providers, conn_type: str, hook_class: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = providers.hooks[conn_type]
    assert info is not None, f"{conn_type} is not registered"
    assert info.hook_class_name == hook_class
    assert info.package_name == "possync"


def test_forms_hide_unused_fields_and_label_the_rest(providers) -> None:
    jurnal = providers.field_behaviours["jurnal"]
    assert set(jurnal["hidden_fields"]) == {"schema", "port"}
    assert jurnal["relabeling"]["password"] == "HMAC client secret"
    accurate = providers.field_behaviours["accurate"]
    assert "login" in accurate["hidden_fields"]
    assert accurate["relabeling"]["password"] == "API token"
    assert accurate["placeholders"]["host"] == "https://account.accurate.id"


def test_secret_extras_are_password_fields(providers) -> None:
    widgets = providers.connection_form_widgets
    secret = widgets["extra__accurate__signature_secret"]
    assert secret.is_sensitive
    assert secret.field["schema"]["format"] == "password"
    assert not widgets["extra__jurnal__web_url"].is_sensitive
    assert widgets["extra__jurnal__requests_per_minute"].field["schema"]["type"] == ["integer", "null"]


def test_airflow_providers_list_shows_possync() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "plain"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert any(line.split()[:1] == ["possync"] for line in result.stdout.splitlines()), result.stdout[-2000:]
