"""Talking to Airflow's own API server app in tests: the app with the plugins loaded, and JWTs per role."""

from __future__ import annotations

from typing import Any


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
