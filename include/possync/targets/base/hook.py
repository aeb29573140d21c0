"""What every HTTP accounting target's hook shares, on top of Airflow's ``HttpHook``.

- Connection extras are the target's settings (web URL, timeout, pace), never HTTP headers: stock
  ``HttpHook`` sends every unreserved extra key as a header, which would leak settings to the API.
- Every request carries a timeout (``HttpHook`` defaults to none).
- Secrets are registered with Airflow's masker as soon as the connection is read.
- HTTP errors stay typed (``requests.HTTPError`` with its response) so callers can tell a transient
  failure from a permanent rejection, instead of ``HttpHook``'s ``AirflowException("<code>:<reason>")``.

Auth signing, pacing and retries are the concern of each target's hook (issue 3 and 4 build them out).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.providers.http.hooks.http import HttpHook
from requests import Response, Session

DEFAULT_TIMEOUT_SECONDS = 30
TRANSPORT_EXTRAS = ("verify", "cert", "proxies", "trust_env")


class TargetHttpHook(HttpHook):
    """Base hook of an accounting target reached over HTTP."""

    def __init__(self, conn_id: str | None = None, *, method: str = "GET", **kwargs: Any) -> None:
        super().__init__(method=method, http_conn_id=conn_id or self.default_conn_name, **kwargs)

    @cached_property
    def connection(self) -> Any:
        conn = self.get_connection(self.http_conn_id)
        self._mask(conn.password, *(conn.extra_dejson.get(key) for key in self.secret_extras))
        return conn

    #: extra keys that hold secrets and must be masked in logs
    secret_extras: tuple[str, ...] = ()

    @property
    def settings(self) -> dict[str, Any]:
        """The connection's extras: target settings, not headers."""
        return self.connection.extra_dejson

    @property
    def timeout(self) -> float:
        return float(self.settings.get("timeout") or DEFAULT_TIMEOUT_SECONDS)

    @staticmethod
    def _mask(*secrets: Any) -> None:
        from airflow.sdk.log import mask_secret

        for secret in secrets:
            if secret:
                mask_secret(secret)

    def _configure_session_from_extra(
        self, session: Session, connection: Any, extra_options: dict[str, Any]
    ) -> Session:
        settings = connection.extra_dejson
        # Per-request options (timeout, check_response) pass through; from the connection only transport
        # settings do, and nothing becomes a header.
        self.merged_extra = {
            **{key: settings[key] for key in TRANSPORT_EXTRAS if key in settings},
            **(extra_options or {}),
        }
        session.verify = self.merged_extra.get("verify", True)
        session.cert = self.merged_extra.get("cert")
        session.proxies = self.merged_extra.get("proxies", {})
        session.trust_env = self.merged_extra.get("trust_env", True)
        return session

    def _extract_auth(self, connection: Any) -> Any | None:
        # Targets sign requests themselves; never fall back to HTTP Basic with the client secret.
        return None

    def get_conn(self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None) -> Session:
        self.connection  # ruff: ignore[useless-expression] - reading it masks the secrets before any request is logged
        return super().get_conn(headers, extra_options)

    def run(self, endpoint: str | None = None, data: Any = None, headers: dict[str, Any] | None = None,
            extra_options: dict[str, Any] | None = None, **request_kwargs: Any) -> Response:
        extra_options = {"timeout": self.timeout, **(extra_options or {})}
        return super().run(endpoint, data, headers, extra_options, **request_kwargs)

    def check_response(self, response: Response) -> None:
        response.raise_for_status()
