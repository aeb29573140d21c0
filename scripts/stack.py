"""docker-compose.yaml without Docker: the same services, commands, environment, dependencies and health checks,
run as local processes, because this machine has no Docker engine.

    scripts/stack.py up   [--dir var/stack] [--scale airflow-worker=2] [--env-file .env] [--no-demo]
    scripts/stack.py demo [--dir var/stack] [--json FILE] sync the demo week through the running stack
    scripts/stack.py down [--dir var/stack]              stop everything `up` started
    scripts/stack.py plan [--scale ...] [--env-file ...] print the processes `up` would start (no secrets)

`up` reads the resolved compose file with a real compose parser (`docker-compose config`, Debian's
docker-compose package) and starts each service of the default profile (and of the `demo` profile unless
--no-demo) in dependency order, waiting for each `depends_on` condition (started, healthy by its own health
check, completed successfully) as Docker Compose does. Images are stood in for by what they contain:

- postgres:16: a cluster of Debian's PostgreSQL server, initialised as the image does (POSTGRES_USER as the
  superuser with POSTGRES_PASSWORD, password authentication over TCP, POSTGRES_DB created) and then the
  scripts mounted at /docker-entrypoint-initdb.d run once;
- redis:7.2: Debian's redis-server with the service's command;
- the possync image (Dockerfile, its production and demo stages alike): the project's venv, which has the
  devkit the demo stage adds (`make venv` installs both), with the official image's entrypoint rule (a command
  that is not `bash` or `python` is an `airflow` subcommand).

What a container gives each process is given the same way and nothing else changes:

- its own ports: every (service, container port) gets a free loopback port, and `<service>:<port>`,
  `localhost:<port>` and the listening-port settings are rewritten to it (0.0.0.0 becomes 127.0.0.1);
- its own file system: paths under the service's volume mounts go to var/stack/volumes/<volume> or the bind
  mount's host folder, /opt/possync (what the Dockerfile copies) to this checkout, /opt/airflow (the
  image's AIRFLOW_HOME) to var/stack/airflow-home;
- its own hostname: HOSTNAME=<service>-<n>, so two workers are two machines to Airflow and Celery.

Each process runs in its own process group (logs in var/stack/logs/<service>-<n>.log); `down` stops them in
reverse order. The tests run it through `make stack-test` (tests/stack/test_celery_stack.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the project's .venv/bin
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DEFAULT_DIR = ROOT / "var" / "stack"
IMAGE_HOME = "/opt/airflow"  # AIRFLOW_HOME in the official image
PROJECT_IN_IMAGE = "/opt/possync"  # where the Dockerfile copies the project
DEMO_PROFILE = "demo"
# The settings by which an Airflow component listens (their values are container ports to remap).
LISTEN_SETTINGS = ("AIRFLOW__API__PORT", "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
                   "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT")
# Sockets that Airflow components open without a setting in the compose file (so without a remap there).
IMPLICIT_PORTS = {"postgres": [5432], "redis": [6379]}


def say(text: str = "") -> None:
    print(text, flush=True)


# -- the compose file, resolved ----------------------------------------------------------------------------

def resolve_compose(env_file: Path, profiles: list[str]) -> dict[str, Any]:
    """`docker-compose config` of the compose file with ``env_file``: anchors merged, variables substituted.

    Run with a bare environment, so the machine's own variables cannot override the env file (compose gives
    the shell precedence over .env)."""
    import yaml

    if not shutil.which("docker-compose"):
        sys.exit("stack: docker-compose is needed to read docker-compose.yaml (apt-get install docker-compose)")
    command = ["docker-compose", "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE),
               "--env-file", str(env_file)]
    for profile in profiles:
        command += ["--profile", profile]
    bare = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    result = subprocess.run([*command, "config"], capture_output=True, text=True, env=bare, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"stack: docker-compose.yaml does not validate:\n{result.stderr}")
    return yaml.safe_load(result.stdout)


def active_services(compose: dict[str, Any], profiles: list[str]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose["services"].items()
            if not service.get("profiles") or set(service["profiles"]) & set(profiles)}


# -- from services to processes ----------------------------------------------------------------------------

@dataclass
class Process:
    """One container of a service, as a local process."""

    service: str
    instance: int
    kind: str  # postgres | redis | possync
    argv: list[str]
    env: dict[str, str]  # the compose environment after the container stand-ins
    healthcheck: list[str] | None
    depends_on: dict[str, str]
    one_shot: bool
    volumes: dict[str, Path] = field(default_factory=dict)  # container path -> host path
    ports: dict[int, int] = field(default_factory=dict)  # container port -> loopback port

    @property
    def name(self) -> str:
        return f"{self.service}-{self.instance}"


class Translator:
    """Rewrites what a service's command, environment and health check say about the container world
    (service hostnames, ports, paths) to this machine."""

    def __init__(self, ports: dict[tuple[str, int], int], published: dict[int, tuple[str, int]]) -> None:
        self.ports = ports  # (service name or instance name, container port) -> loopback port
        self.published = published  # host port -> (service, container port)

    def text(self, value: str, own: Process) -> str:
        value = value.replace("$$", "$")  # compose's escaping of a literal $ (config re-escapes it)
        value = value.replace("0.0.0.0", "127.0.0.1")

        def service_port(match: re.Match[str]) -> str:
            host, port = match.group(1), int(match.group(2))
            if host in ("localhost", "127.0.0.1"):
                if port in own.ports:
                    return f"127.0.0.1:{own.ports[port]}"
                if port in self.published:
                    return f"127.0.0.1:{self.ports[self.published[port]]}"
                return match.group(0)
            if (host, port) in self.ports:
                return f"127.0.0.1:{self.ports[host, port]}"
            return match.group(0)

        value = re.sub(r"\b([a-z][a-z0-9-]*|127\.0\.0\.1):(\d{2,5})\b", service_port, value)
        value = self.connection_json(value)
        for container_path, host_path in sorted(own.volumes.items(), key=lambda item: -len(item[0])):
            value = re.sub(rf"(?<![\w/]){re.escape(container_path)}(?=/|\b|$)", str(host_path), value)
        return value

    def connection_json(self, value: str) -> str:
        """An Airflow connection in JSON names its server by separate ``host`` and ``port`` fields."""
        if not value.startswith("{"):
            return value
        try:
            connection = json.loads(value)
        except json.JSONDecodeError:
            return value
        if not isinstance(connection, dict):
            return value
        server = (connection.get("host"), int(connection.get("port") or 0))
        if server not in self.ports:
            return value
        return json.dumps({**connection, "host": "127.0.0.1", "port": self.ports[server]})

    def listening_port(self, value: str, own: Process) -> str:
        """A bare port number the process itself listens on."""
        return str(own.ports[int(value)]) if value.isdigit() and int(value) in own.ports else value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def container_ports(service: dict[str, Any], name: str) -> list[int]:
    ports = {int(str(p).split("/")[0]) for p in service.get("expose", [])}
    for mapping in service.get("ports", []):
        ports.add(int(mapping["target"]) if isinstance(mapping, dict) else int(str(mapping).split(":")[-1]))
    for setting in LISTEN_SETTINGS:
        if setting in (service.get("environment") or {}):
            ports.add(int(service["environment"][setting]))
    ports.update(IMPLICIT_PORTS.get(name, []))
    return sorted(ports)


def published_ports(services: dict[str, dict[str, Any]]) -> dict[int, tuple[str, int]]:
    published = {}
    for name, service in services.items():
        for mapping in service.get("ports", []):
            if isinstance(mapping, dict):
                published[int(mapping["published"])] = (name, int(mapping["target"]))
            else:
                *_, host, target = str(mapping).split(":")
                published[int(host)] = (name, int(target))
    return published


def image_kind(service: dict[str, Any]) -> str:
    if "build" in service:
        return "possync"
    image = service["image"].split(":")[0]
    if image in ("postgres", "redis"):
        return image
    raise SystemExit(f"stack: no local stand-in for the image {service['image']!r}")


def volume_mounts(service: dict[str, Any], stack_dir: Path) -> dict[str, Path]:
    mounts = {IMAGE_HOME: stack_dir / "airflow-home", PROJECT_IN_IMAGE: ROOT}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            source, target = volume.get("source"), volume["target"]
        else:
            source, target = str(volume).split(":")[:2]
        host = Path(source) if source and source.startswith("/") else stack_dir / "volumes" / str(source)
        mounts[target] = host
    return mounts


def command_argv(command: Any, kind: str) -> list[str]:
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in (command or [])]
    if kind != "possync":
        return argv
    if argv and argv[0] == "python":
        return [str(BIN / "python"), *argv[1:]]
    if argv and argv[0] == "bash":
        return argv
    return [str(BIN / "airflow"), *argv]  # the official image's entrypoint: anything else is an airflow command


def healthcheck_argv(service: dict[str, Any]) -> list[str] | None:
    test = (service.get("healthcheck") or {}).get("test")
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        return ["bash", "-c", test[1]]
    return [str(a) for a in test[1:]]


def plan(env_file: Path, stack_dir: Path, scale: dict[str, int], demo: bool,
         started_ports: dict[str, int] | None = None) -> list[Process]:
    """The processes that stand in for the compose file's containers, in the order `up` starts them.

    ``started_ports`` ("<process>:<container port>" -> loopback port) re-plans a running stack as it was
    started."""
    profiles = [DEMO_PROFILE] if demo else []
    services = active_services(resolve_compose(env_file, profiles), profiles)
    unknown = set(scale) - set(services)
    if unknown:
        sys.exit(f"stack: --scale names no service of the compose file: {', '.join(sorted(unknown))}")

    processes: list[Process] = []
    ports: dict[tuple[str, int], int] = {}
    for name in start_order(services):
        service = services[name]
        kind = image_kind(service)
        for instance in range(1, scale.get(name, 1) + 1):
            process = Process(
                service=name, instance=instance, kind=kind, argv=[], env={}, healthcheck=None,
                depends_on={d: c["condition"] for d, c in (service.get("depends_on") or {}).items()},
                one_shot=service.get("restart") not in ("always", "unless-stopped"),
                volumes=volume_mounts(service, stack_dir),
                ports={port: (started_ports or {}).get(f"{name}-{instance}:{port}") or free_port()
                       for port in container_ports(service, name)},
            )
            for port, local in process.ports.items():
                ports[process.name, port] = local
                if instance == 1:
                    ports[name, port] = local  # what `<service>:<port>` reaches (compose's DNS round-robins)
            processes.append(process)

    translate = Translator(ports, published_ports(services))
    for process in processes:
        service = services[process.service]
        process.env = {key: translate.text(str(value), process)
                       for key, value in (service.get("environment") or {}).items()}
        for setting in LISTEN_SETTINGS:
            if setting in process.env:
                process.env[setting] = translate.listening_port(process.env[setting], process)
        process.argv = [translate.listening_port(translate.text(a, process), process)
                        for a in command_argv(service.get("command"), process.kind)]
        check = healthcheck_argv(service)
        process.healthcheck = [translate.text(a, process) for a in check] if check else None
    return processes


def start_order(services: dict[str, dict[str, Any]]) -> list[str]:
    """Services after everything they depend on (compose's order), ties in file order."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            sys.exit(f"stack: depends_on cycle through {name}")
        visiting.add(name)
        for dependency in (services[name].get("depends_on") or {}):
            if dependency not in services:
                sys.exit(f"stack: {name} depends on {dependency}, which is not in the active profiles")
            visit(dependency)
        visiting.discard(name)
        order.append(name)

    for name in services:
        visit(name)
    return order


# -- running them ------------------------------------------------------------------------------------------

def base_environment(process: Process, stack_dir: Path) -> dict[str, str]:
    """What the image and the container provide besides the compose environment."""
    return {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "HOSTNAME": process.name,
        "AIRFLOW_HOME": str(stack_dir / "airflow-home"),
    }


def process_environment(process: Process, stack_dir: Path) -> dict[str, str]:
    env = {**base_environment(process, stack_dir), **process.env}
    if process.kind == "postgres":
        env.update(PGHOST="127.0.0.1", PGPORT=str(process.ports[5432]))
    return env


def log_path(stack_dir: Path, process: Process) -> Path:
    return stack_dir / "logs" / f"{process.name}.log"


def spawn(process: Process, stack_dir: Path, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    with open(log_path(stack_dir, process), "ab") as log:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def pg_tool(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    if shutil.which(name):
        return name
    sys.exit(f"stack: PostgreSQL's {name} is missing (apt-get install postgresql)")


def as_postgres_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def start_postgres(process: Process, stack_dir: Path) -> subprocess.Popen:
    """The postgres image's first start: initdb with the superuser and its password, then the init scripts."""
    data = process.volumes.get("/var/lib/postgresql/data", stack_dir / "volumes" / "postgres")
    env = process_environment(process, stack_dir)
    fresh = not (data / "PG_VERSION").exists()
    data.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        import pwd

        server = pwd.getpwnam("postgres")
        for path in (data, *data.parents):
            if path == Path("/"):
                break
            path.chmod(path.stat().st_mode | 0o011)  # the server user must reach its data directory
        shutil.chown(data, server.pw_uid, server.pw_gid)
        data.chmod(0o700)
    if fresh:
        password_file = stack_dir / "run" / "postgres-password"
        password_file.write_text(env["POSTGRES_PASSWORD"] + "\n")
        if os.geteuid() == 0:
            shutil.chown(password_file, "postgres")
        subprocess.run(as_postgres_user([
            pg_tool("initdb"), "-D", str(data), "-U", env["POSTGRES_USER"], f"--pwfile={password_file}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True)
        password_file.unlink()
    # TCP only, as clients in other containers reach it (a socket path under a deep stack dir can be too long)
    server = spawn(process, stack_dir, as_postgres_user([
        pg_tool("postgres"), "-D", str(data), "-p", str(process.ports[5432]), "-c", "unix_socket_directories=",
        "-c", "listen_addresses=127.0.0.1"]), env)
    if fresh:
        wait_until(lambda: subprocess.run([pg_tool("pg_isready"), "-h", "127.0.0.1", "-p", str(process.ports[5432])],
                                          capture_output=True).returncode == 0, 60, process, server, stack_dir)
        local = {**env, "PGPASSWORD": env["POSTGRES_PASSWORD"]}  # PGHOST and PGPORT: the server's TCP port
        if env.get("POSTGRES_DB", env["POSTGRES_USER"]) != "postgres":
            created = subprocess.run([pg_tool("createdb"), "-U", env["POSTGRES_USER"], "--maintenance-db=postgres",
                                      env.get("POSTGRES_DB", env["POSTGRES_USER"])], env=local, capture_output=True,
                                     text=True)
            if created.returncode != 0:
                sys.exit(f"stack: creating POSTGRES_DB failed:\n{created.stderr}")
        init_dir = process.volumes.get("/docker-entrypoint-initdb.d")
        for script in sorted(init_dir.glob("*.sh")) if init_dir else []:
            result = subprocess.run(["bash", str(script)], env=local, capture_output=True, text=True)
            with open(log_path(stack_dir, process), "a") as log:
                log.write(result.stdout + result.stderr)
            if result.returncode != 0:
                sys.exit(f"stack: {script.name} failed:\n{result.stderr}")
    return server


def start_redis(process: Process, stack_dir: Path) -> subprocess.Popen:
    data = stack_dir / "volumes" / "redis"
    data.mkdir(parents=True, exist_ok=True)
    argv = [*process.argv, "--port", str(process.ports[6379]), "--bind", "127.0.0.1", "--dir", str(data),
            "--save", "", "--appendonly", "no"]
    return spawn(process, stack_dir, argv, process_environment(process, stack_dir))


def health_argv(process: Process) -> list[str]:
    argv = list(process.healthcheck or [])
    if process.kind == "redis":  # redis-cli has no port variable: say the container's port
        argv = [a.replace("redis-cli", f"redis-cli -p {process.ports[6379]}") for a in argv]
    return argv


def healthy(process: Process, stack_dir: Path) -> bool:
    try:
        result = subprocess.run(health_argv(process), env=process_environment(process, stack_dir), cwd=ROOT,
                                capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def wait_until(check, timeout: float, process: Process, popen: subprocess.Popen, stack_dir: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None and not process.one_shot:
            sys.exit(f"stack: {process.name} exited (code {popen.returncode}); see {log_path(stack_dir, process)}")
        if check():
            return
        time.sleep(1)
    sys.exit(f"stack: {process.name} not ready within {timeout:.0f} s; see {log_path(stack_dir, process)}")


class Stack:
    """The processes of one stack directory and their state file."""

    def __init__(self, stack_dir: Path) -> None:
        self.dir = stack_dir
        self.state_file = stack_dir / "run" / "state.json"

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {"processes": []}

    def save(self, state: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(state, indent=2))

    def up(self, processes: list[Process], env_file: Path) -> None:
        if any(alive(p["pid"]) for p in self.state()["processes"]):
            sys.exit(f"stack: a stack already runs from {self.dir}; `scripts/stack.py down --dir {self.dir}` first")
        for sub in ("logs", "run", "volumes", "airflow-home"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        state: dict[str, Any] = {"env_file": str(env_file), "processes": [], "ports": {}}
        by_service: dict[str, list[Process]] = {}
        for process in processes:
            by_service.setdefault(process.service, []).append(process)
        try:
            self._start_in_order(by_service, state)
        except BaseException:
            say("stack: stopping what was started")
            self.down()
            raise
        self.save(state)

    def _start_in_order(self, by_service: dict[str, list[Process]], state: dict[str, Any]) -> None:
        """Each service after its dependencies have met their conditions, as Docker Compose starts them."""
        done: dict[str, str] = {}  # service -> started | healthy | completed
        popens: dict[str, subprocess.Popen] = {}
        started = time.monotonic()
        for service, instances in by_service.items():
            for dependency, condition in instances[0].depends_on.items():
                wanted = {"service_started": {"started", "healthy", "completed"}, "service_healthy": {"healthy"},
                          "service_completed_successfully": {"completed"}}[condition]
                if done.get(dependency) not in wanted:
                    sys.exit(f"stack: {service} needs {dependency} {condition}, but it is {done.get(dependency)}")
            for process in instances:
                popen = popens[process.name] = self.start(process)
                state["processes"].append({"name": process.name, "service": service, "pid": popen.pid,
                                           "kind": process.kind, "one_shot": process.one_shot})
                state["ports"].update({f"{process.name}:{port}": local for port, local in process.ports.items()})
                self.save(state)
                if process.one_shot:
                    code = popen.wait(timeout=900)
                    if code != 0:
                        sys.exit(f"stack: {process.name} failed (exit {code}); see {log_path(self.dir, process)}")
                    done[service] = "completed"
            for process in instances:
                if process.one_shot:
                    continue
                if process.healthcheck:
                    wait_until(lambda p=process: healthy(p, self.dir), 300, process, popens[process.name], self.dir)
                    done[service] = "healthy"
                else:
                    done[service] = "started"
            say(f"  {service:<22} {done[service]:<10} ({len(instances)} process{'es' if len(instances) > 1 else ''}, "
                f"{time.monotonic() - started:.0f} s)")

    def start(self, process: Process) -> subprocess.Popen:
        if process.kind == "postgres":
            return start_postgres(process, self.dir)
        if process.kind == "redis":
            return start_redis(process, self.dir)
        return spawn(process, self.dir, process.argv, process_environment(process, self.dir))

    def down(self) -> list[str]:
        stopped = []
        for entry in reversed(self.state()["processes"]):
            if stop_group(entry["pid"]):
                stopped.append(entry["name"])
        self.state_file.unlink(missing_ok=True)
        return stopped


def alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(line.split()[1:2] != ["Z"] for line in subprocess.run(
        ["ps", "-o", "pid=,stat=", "-g", str(pid)], capture_output=True, text=True).stdout.splitlines())


def stop_group(pid: int) -> bool:
    """SIGTERM to the process group (Celery workers shut down warm; PostgreSQL stops smartly), then SIGKILL."""
    if not alive(pid):
        return False
    for sig, wait in ((signal.SIGTERM, 45), (signal.SIGKILL, 10)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap our own child, so it stops counting as alive
            if not alive(pid):
                return True
            time.sleep(0.5)
    return True


# -- the command line --------------------------------------------------------------------------------------

def env_file_argument(value: str | None) -> Path:
    if value:
        return Path(value).resolve()
    own = ROOT / ".env"
    return own if own.exists() else ROOT / ".env.example"


def parse_scale(values: list[str]) -> dict[str, int]:
    scale = {}
    for value in values:
        service, _, count = value.partition("=")
        if not count.isdigit() or int(count) < 1:
            sys.exit(f"stack: --scale wants SERVICE=N with N >= 1, not {value!r}")
        scale[service] = int(count)
    return scale


def public(process: Process) -> dict[str, Any]:
    """A process for `plan`: its environment's names only (values hold secrets)."""
    return {"name": process.name, "service": process.service, "kind": process.kind, "argv": process.argv,
            "environment": sorted(process.env), "healthcheck": process.healthcheck is not None,
            "depends_on": process.depends_on, "one_shot": process.one_shot, "ports": process.ports}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stack.py", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["up", "demo", "down", "plan"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the stack keeps data, logs and state")
    parser.add_argument("--env-file", default=None, help="default: .env, else .env.example")
    parser.add_argument("--scale", action="append", default=["airflow-worker=2"], metavar="SERVICE=N")
    parser.add_argument("--no-demo", action="store_true", help="leave out the demo profile (sandboxes, demo POS)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="demo: also write the outcome as JSON")
    args = parser.parse_args(argv)
    stack_dir = args.dir.resolve()
    env_file = env_file_argument(args.env_file)
    scale = parse_scale(args.scale)

    if args.action == "plan":
        print(json.dumps([public(p) for p in plan(env_file, stack_dir, scale, not args.no_demo)], indent=2))
        return 0
    stack = Stack(stack_dir)
    if args.action == "down":
        stopped = stack.down()
        say(f"stopped {', '.join(stopped)}" if stopped else f"nothing of a stack in {stack_dir} is running")
        return 0
    if args.action == "up":
        say(f"stack in {stack_dir} from {COMPOSE_FILE.name} with {env_file.name} "
            f"({', '.join(f'{s}={n}' for s, n in scale.items())})")
        processes = plan(env_file, stack_dir, scale, not args.no_demo)
        stack.up(processes, env_file)
        api = next(p for p in processes if p.service == "airflow-apiserver")
        say(f"Airflow at http://127.0.0.1:{api.ports[8080]} (logs in {stack_dir / 'logs'}); "
            f"`scripts/stack.py down --dir {stack_dir}` stops it")
        return 0
    from stack_demo import run_demo

    return run_demo(stack, Path(stack.state().get("env_file") or env_file), json_file=args.json)


if __name__ == "__main__":
    sys.exit(main())
