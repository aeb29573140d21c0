"""The production stack's configuration: docker-compose.yaml validated by a real compose parser, versions that
agree, the no-Docker stack (scripts/stack.py) running the same services with the same environment, and what
airflow-init writes (pools and connections).

Running the stack itself is tests/stack/test_celery_stack.py (`make stack-test`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from possync.config import PossyncConfig, load_config
from possync.deploy import connections_from_env, container_hostname, target_pools

ROOT = Path(__file__).resolve().parents[1]
ENV_EXAMPLE = ROOT / ".env.example"
sys.path.insert(0, str(ROOT / "scripts"))

import stack  # ruff: ignore[module-import-not-at-top-of-file] - scripts/ is not a package


def compose_config(*args: str, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` (Debian's docker-compose reads and validates a file without a Docker engine)."""
    assert shutil.which("docker-compose"), "install Debian's docker-compose (apt-get install docker-compose)"
    return subprocess.run(
        ["docker-compose", "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yaml"),
         "--env-file", str(env_file), *args, "config"],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin:/usr/local/bin"}, cwd=ROOT)


def test_compose_file_validates_with_both_profiles() -> None:
    for profiles in ([], ["--profile", "demo"]):
        result = compose_config(*profiles)
        assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    core = {"postgres", "redis", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker"}
    assert {name for name, s in services.items() if not s.get("profiles")} == core
    assert {name for name, s in services.items() if s.get("profiles") == ["demo"]} == {
        "jurnal-sandbox", "accurate-sandbox", "demo-seed"}


def test_compose_refuses_an_env_file_without_a_secret(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(line for line in ENV_EXAMPLE.read_text().splitlines()
                                  if not line.startswith("POSTGRES_PASSWORD=")))
    result = compose_config(env_file=env_file)
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


def test_every_variable_without_a_default_is_in_the_env_example() -> None:
    text = (ROOT / "docker-compose.yaml").read_text()
    required = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)(?::\?[^}]*)?\}", text))
    documented = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines()
                  if re.match(r"^[A-Z0-9_]+=", line)}
    assert required - documented == set()


def test_the_env_file_is_git_ignored() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0
    assert subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT).returncode == 1


def test_image_tag_dockerfile_and_pins_agree_on_airflow() -> None:
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG AIRFLOW_VERSION=(\S+)$", dockerfile, re.M).group(1) == pinned
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION} AS production" in dockerfile
    python = re.search(r"^ARG PYTHON_VERSION=(\S+)$", dockerfile, re.M).group(1)
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}", "the pins were resolved on this Python"
    services = yaml.safe_load(compose_config("--profile", "demo").stdout)["services"]
    images = {s["image"] for s in services.values() if "build" in s and not s.get("profiles")}
    assert images == {f"possync-airflow:{pinned}"}
    demo_images = {s["image"] for s in services.values() if "build" in s and s.get("profiles") == ["demo"]}
    assert demo_images == {f"possync-airflow:{pinned}-demo"}
    example_image = re.search(r"^AIRFLOW_IMAGE_NAME=(\S+)$", ENV_EXAMPLE.read_text(), re.M).group(1)
    assert example_image.endswith(f":{pinned}")


DEMO_SERVICES = {"jurnal-sandbox", "accurate-sandbox", "demo-seed"}


def test_only_the_demo_profile_runs_the_image_with_the_devkit() -> None:
    """The production stage installs possync alone; the demo stage adds the devkit (sandboxes, demo generator,
    HO simulator), and only the demo profile's services build and run it."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\S+)$", dockerfile, re.M)
    assert stages == [("apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}", "production"),
                      ("production", "demo")]
    production, demo = dockerfile.split("FROM production AS demo")
    assert "devkit" not in "\n".join(line for line in production.splitlines() if not line.startswith("#"))
    assert "COPY --chown=airflow:0 devkit /opt/possync/devkit" in demo
    assert "pip install --no-cache-dir --no-deps /opt/possync/devkit" in demo

    services = yaml.safe_load(compose_config("--profile", "demo").stdout)["services"]
    built = {name: service for name, service in services.items() if "build" in service}
    assert set(built) >= DEMO_SERVICES
    for name, service in built.items():
        expected = "demo" if name in DEMO_SERVICES else "production"
        assert service["build"]["target"] == expected, name
        assert service["image"].endswith("-demo") == (name in DEMO_SERVICES), name
    # what the demo services run is the devkit's, never possync's (which no longer has it)
    sandboxes = [" ".join(services[name]["command"]) for name in ("jurnal-sandbox", "accurate-sandbox")]
    assert all("-m possync_devkit.sandbox." in command for command in sandboxes)
    seed = (ROOT / "deploy" / "demo-seed.sh").read_text()
    assert "python -m possync_devkit demo seed" in seed
    assert "python -m possync_devkit headoffice seed-demo" in seed


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> list[stack.Process]:
    return stack.plan(ENV_EXAMPLE, tmp_path_factory.mktemp("stack"), {"airflow-worker": 2}, demo=True)


def test_the_no_docker_stack_runs_every_compose_service(planned: list[stack.Process]) -> None:
    services = yaml.safe_load(compose_config("--profile", "demo").stdout)["services"]
    assert {p.service for p in planned} == set(services)
    assert [p.name for p in planned if p.service == "airflow-worker"] == ["airflow-worker-1", "airflow-worker-2"]
    order = [p.service for p in planned]
    for process in planned:
        for dependency in process.depends_on:
            assert order.index(dependency) < order.index(process.service), (process.service, dependency)


def test_the_no_docker_stack_sets_the_compose_environment(planned: list[stack.Process]) -> None:
    services = yaml.safe_load(compose_config("--profile", "demo").stdout)["services"]
    for process in planned:
        compose_env = services[process.service].get("environment") or {}
        assert set(process.env) == set(compose_env), process.name
        for key, value in compose_env.items():
            if not re.search(r"[a-z-]+:\d+|/opt/|0\.0\.0\.0|\"host\"|^\d+$", str(value)):
                assert process.env[key] == str(value), (process.name, key)


def test_the_stacks_components_share_what_a_distributed_airflow_must_share(planned: list[stack.Process]) -> None:
    airflow = [p for p in planned if p.service.startswith("airflow-")]
    for setting in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL",
                    "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
                    "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"):
        assert len({p.env[setting] for p in airflow}) == 1, setting
    api = next(p for p in planned if p.service == "airflow-apiserver")
    assert airflow[0].env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"http://127.0.0.1:{api.ports[8080]}/execution/"
    assert airflow[0].env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_the_no_docker_stack_leaves_no_container_name_and_binds_loopback(planned: list[stack.Process]) -> None:
    names = {p.service for p in planned}
    for process in planned:
        for text in [*process.env.values(), *process.argv, *(process.healthcheck or [])]:
            assert not any(re.search(rf"(?<![\w-]){re.escape(n)}:\d+", text) for n in names), (process.name, text)
            assert "0.0.0.0" not in text and "/opt/" not in text, (process.name, text)
            # compose substituted every variable; ${HOSTNAME} is the shell's, at run time
            assert "${" not in text.replace("${HOSTNAME}", ""), (process.name, text)
        for connection in connections_from_env(process.env).values():
            assert connection.get("host") not in names, (process.name, connection)
    workers = [p for p in planned if p.service == "airflow-worker"]
    assert workers[0].ports[8793] != workers[1].ports[8793], "each worker serves its logs on a port of its own"


def test_airflow_init_pools_follow_integrations_yaml() -> None:
    pools = target_pools(load_config())
    assert pools["jurnal_api"]["slots"] == 1 and pools["accurate_api"]["slots"] == 2
    assert all(p["include_deferred"] is False for p in pools.values())


def test_integrations_sharing_a_pool_must_agree_on_its_size() -> None:
    config = load_config()
    data = config.model_dump(mode="json")
    twin = json.loads(json.dumps(data["integrations"][0]))
    twin.update(name="jurnal_second", target_concurrency=3)
    data["integrations"].append(twin)
    with pytest.raises(ValueError, match="share the pool 'jurnal_api' with different target_concurrency"):
        target_pools(PossyncConfig.model_validate(data))


def test_connections_from_env_in_airflows_import_format() -> None:
    connections = connections_from_env({
        "POSSYNC_CONN_JURNAL_MAIN": '{"conn_type": "jurnal", "host": "https://api.mekari.com", "login": "id", '
                                    '"password": "s3cret", "extra": {"requests_per_minute": 30}}',
        "UNRELATED": "x",
    })
    assert connections == {"jurnal_main": {"conn_type": "jurnal", "host": "https://api.mekari.com", "login": "id",
                                           "password": "s3cret", "extra": '{"requests_per_minute": 30}'}}


@pytest.mark.parametrize(("value", "message"), [
    ('{"conn_type": "postgres", "password": "s3cret"', "POSSYNC_CONN_POS is not valid JSON"),
    ('{"host": "db", "password": "s3cret"}', "POSSYNC_CONN_POS must be a JSON object with at least a conn_type"),
    ('{"conn_type": "postgres", "password": "s3cret", "database": "pos"}', "fields Airflow connections do not have"),
])
def test_a_bad_connection_variable_is_named_without_its_secret(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        connections_from_env({"POSSYNC_CONN_POS": value})
    assert "s3cret" not in str(refused.value)


def test_airflow_records_the_containers_hostname(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTNAME", "airflow-worker-2")
    assert container_hostname() == "airflow-worker-2"
    monkeypatch.delenv("HOSTNAME")
    assert container_hostname()


@pytest.mark.parametrize(("scale", "message"), [
    (["--scale", "airflow-wroker=2"], "--scale names no service of the compose file: airflow-wroker"),
    (["--scale", "airflow-worker=0"], "--scale wants SERVICE=N with N >= 1, not 'airflow-worker=0'"),
])
def test_the_no_docker_stack_refuses_a_bad_scale(scale: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as refused:
        stack.main(["plan", *scale])
    assert message in str(refused.value)


def test_the_no_docker_stack_refuses_an_env_file_without_a_secret(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_EXAMPLE.read_text().replace("AIRFLOW_FERNET_KEY=", "# AIRFLOW_FERNET_KEY="))
    with pytest.raises(SystemExit) as refused:
        stack.plan(env_file, tmp_path, {}, demo=True)
    assert "set AIRFLOW_FERNET_KEY in .env" in str(refused.value)
