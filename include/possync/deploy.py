"""What a deployment needs besides the DAGs: the target pools and connections `airflow-init` creates, and the
hostname Airflow records for each task.

``deploy/airflow-init.sh`` (the docker-compose stack's init, also run by scripts/stack.py) writes these with
Airflow's own ``pools import`` and ``connections import``, so nothing here touches Airflow's database.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Mapping
from typing import Any

from possync.config import PossyncConfig

CONNECTION_PREFIX = "POSSYNC_CONN_"


def container_hostname() -> str:
    """The hostname Airflow records for jobs and task instances (``[core] hostname_callable``).

    ``$HOSTNAME`` where it is set (Docker sets it to the container's hostname; the no-Docker stack sets it
    per process), else the machine's FQDN, as Airflow's default.
    """
    return os.environ.get("HOSTNAME") or socket.getfqdn()


def target_pools(config: PossyncConfig) -> dict[str, dict[str, Any]]:
    """Each target pool with its slots, in ``airflow pools import`` format.

    A pool's slots are its integrations' ``target_concurrency`` (each task paces to 1/slots of the target's
    rate limit); integrations sharing a pool must agree on it.
    """
    pools: dict[str, dict[str, Any]] = {}
    for integration in config.integrations:
        name, slots = integration.target_pool, integration.target_concurrency
        if name in pools and pools[name]["slots"] != slots:
            raise ValueError(
                f"integrations share the pool {name!r} with different target_concurrency "
                f"({pools[name]['slots']} and {slots}, the latter from {integration.name!r}); make them agree"
            )
        pools[name] = {"slots": slots, "description": f"calls to {integration.target}", "include_deferred": False}
    return pools


def connections_from_env(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every ``POSSYNC_CONN_<ID>`` variable as connection ``<id>``, in ``airflow connections import`` format.

    Each value is Airflow's JSON connection format (``conn_type``, ``host``, ``login``, ``password``,
    ``port``, ``schema``, ``extra``). A value that is not such a JSON object is refused with the variable's
    name and the reason, never its content (it holds secrets).
    """
    connections: dict[str, dict[str, Any]] = {}
    for variable in sorted(environ):
        if not variable.startswith(CONNECTION_PREFIX):
            continue
        conn_id = variable.removeprefix(CONNECTION_PREFIX).lower()
        if not re.fullmatch(r"[a-z0-9_]+", conn_id):
            raise ValueError(f"{variable}: the connection id {conn_id!r} may hold only letters, digits and _")
        try:
            connection = json.loads(environ[variable])
        except json.JSONDecodeError as error:
            raise ValueError(f"{variable} is not valid JSON ({error.msg} at character {error.pos})") from None
        if not isinstance(connection, dict) or not connection.get("conn_type"):
            raise ValueError(f"{variable} must be a JSON object with at least a conn_type")
        unknown = set(connection) - {"conn_type", "description", "host", "login", "password", "schema", "port",
                                     "extra"}
        if unknown:
            raise ValueError(f"{variable} has fields Airflow connections do not have: {', '.join(sorted(unknown))}")
        if isinstance(connection.get("extra"), dict):
            connection["extra"] = json.dumps(connection["extra"])
        connections[conn_id] = connection
    return connections
