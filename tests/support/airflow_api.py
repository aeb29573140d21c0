"""Talking to Airflow's API in tests: the API server app in-process with JWTs per role, and the REST API of a
running Airflow (the browser stack) signed in as a user."""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx


def api_server() -> Any:
    """Airflow's API server app (plugins loaded from plugins/) behind a test client."""
    from airflow.api_fastapi.app import create_app as create_api_server
    from fastapi.testclient import TestClient

    return TestClient(create_api_server())


def token(role: str) -> dict[str, str]:
    """The Authorization header of a user of ``role`` (simple auth manager: viewer, user, op, admin)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    jwt = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=role, role=role))
    return {"Authorization": f"Bearer {jwt}"}


class AirflowApi:
    """Airflow's REST API with a JWT from ``POST /auth/token``."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        reply = httpx.post(f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30)
        reply.raise_for_status()
        self.client = httpx.Client(base_url=f"{base_url}/api/v2", timeout=30,
                                   headers={"Authorization": f"Bearer {reply.json()['access_token']}"})

    def get(self, path: str, **params: Any) -> Any:
        reply = self.client.get(path, params=params)
        reply.raise_for_status()
        return reply.json()

    def send(self, method: str, path: str, body: Any) -> Any:
        reply = self.client.request(method, path, json=body)
        if reply.is_error:
            raise AssertionError(f"{method} {path} answered {reply.status_code}: {reply.text}")
        return reply.json()

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.get(f"/dags/{dag_id}/dagRuns", order_by="run_after", limit=100)["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.get(f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.get(f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances",
                        limit=100)["task_instances"]
