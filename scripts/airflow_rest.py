"""A small client of Airflow's REST API (v2), for the scripts that drive a running Airflow: `make demo`
(scripts/demo.py) and the no-Docker compose stack (scripts/stack.py). Standard library only."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any


def http_json(url: str, *, method: str = "GET", body: object = None, token: str | None = None,
              timeout: float = 30) -> Any:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method=method),
                                timeout=timeout) as reply:
        return json.loads(reply.read() or b"null")


class AirflowAPI:
    """Signed in as one user (``/auth/token``); every call carries the token."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.password = password
        reply = http_json(f"{self.base_url}/auth/token", method="POST",
                          body={"username": username, "password": password})
        self.token = reply["access_token"]

    def get(self, path: str, **params: object) -> Any:
        query = urllib.parse.urlencode(params, doseq=True)
        return http_json(f"{self.base_url}/api/v2{path}" + (f"?{query}" if query else ""), token=self.token)

    def post(self, path: str, body: dict) -> Any:
        return http_json(f"{self.base_url}/api/v2{path}", method="POST", body=body, token=self.token)

    def patch(self, path: str, body: dict) -> Any:
        return http_json(f"{self.base_url}/api/v2{path}", method="PATCH", body=body, token=self.token)

    def every(self, path: str, key: str, **params: object) -> list[dict]:
        """All items of a list endpoint (the API answers at most 100 per page)."""
        items: list[dict] = []
        while True:
            page = self.get(path, limit=100, offset=len(items), **params)
            items += page[key]
            if not page[key] or len(items) >= page["total_entries"]:
                return items

    def trigger(self, dag_id: str, conf: dict, note: str | None = None) -> str:
        """A manual run with ``conf`` (validated against the DAG's params, as the Trigger form does); its run id."""
        reply = self.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf, "note": note})
        return reply["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.get(f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}")["state"]

    def runs(self, dag_id: str) -> list[dict]:
        return self.every(f"/dags/{dag_id}/dagRuns", "dag_runs", order_by="run_after")

    def task_instances(self, dag_id: str, run_id: str = "~") -> list[dict]:
        return self.every(f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances", "task_instances")

    def scheduler_healthy(self) -> bool:
        return self.get("/monitor/health")["scheduler"]["status"] == "healthy"
