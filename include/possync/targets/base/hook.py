"""What every HTTP accounting target's hook shares, on top of Airflow's ``HttpHook``.

- Connection extras are the target's settings (web URL, timeout, pace), never HTTP headers: stock
  ``HttpHook`` sends every unreserved extra key as a header, which would leak settings to the API.
- Every request carries a timeout (``HttpHook`` defaults to none).
- Secrets are registered with Airflow's masker as soon as the connection is read.
- One keep-alive session per hook, requests paced ahead of the target's limits (``Pacer``).
- Replies are decoded with exact ``Decimal`` amounts (``decode_json``), never floats.
- Transient failures (connection errors, timeouts, throttling, 5xx) of reads are retried here with backoff,
  honouring Retry-After; anything else the target refuses becomes a ``RejectedError`` carrying the target's own
  message. Callers never see a status code.
- A write (POST, PUT, PATCH, DELETE) is retried here only after a throttle reply (a 429, or whatever else a
  target's ``is_throttled`` recognises), which the target answers before doing anything. A write whose
  connection broke or that got a 5xx may have been committed: it raises ``OutcomeUnknownError`` at once, and
  the sender looks up what the lost attempt created before sending the document again
  (``targets/base/senders.py``). Repeating it blindly would create every document the target numbers itself
  (customers without a number of ours) twice.

A target's hook adds how requests are signed (``sign``), how its error bodies read (``error_message``)
and its limits (``pacing_limits``).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

import requests
from airflow.providers.http.hooks.http import HttpHook
from requests import Response, Session

from possync.targets.base.errors import OutcomeUnknownError, RejectedError, TransientTargetError
from possync.targets.base.pacing import Limit, Pacer, SharedPacer

DEFAULT_TIMEOUT_SECONDS = 30
DEFAULT_MAX_ATTEMPTS = 5
#: methods whose repetition may apply a change twice: never repeated blindly after an unknown outcome
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TRANSPORT_EXTRAS = ("verify", "cert", "proxies", "trust_env")
# The connection failed or broke mid-reply: the request may or may not have been applied.
TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass(frozen=True)
class BatchItemResult:
    """One item of a batch create (Jurnal ``batch_create``, Accurate ``bulk-save.do``), in sending order."""

    created: bool
    content: dict[str, Any]
    error: str | None = None  # the target's own words when it refused the item


_PACERS: dict[tuple[Any, ...], Pacer | SharedPacer] = {}
_PACERS_LOCK = threading.Lock()


class TargetHttpHook(HttpHook):
    """Base hook of an accounting target reached over HTTP."""

    #: extra keys that hold secrets and must be masked in logs
    secret_extras: tuple[str, ...] = ()
    #: a shorter timeout than the connection's, while the Test button waits
    _timeout_cap: float | None = None

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        method: str = "GET",
        pacing_share: int = 1,
        pacing_conn_id: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        **kwargs: Any,
    ) -> None:
        # Airflow builds a hook from a connection (``Connection.get_hook``: the form's Test button, ``airflow
        # connections test``) by its ``conn_name_attr`` keyword, e.g. ``JurnalHook(jurnal_conn_id=...)``
        named = kwargs.pop(self.conn_name_attr, None) if self.conn_name_attr != "http_conn_id" else None
        conn_id = conn_id or named or kwargs.pop("http_conn_id", None) or self.default_conn_name
        super().__init__(method=method, http_conn_id=conn_id, **kwargs)
        # Where the API consumer's allowance is shared by every process (a database connection: the integration's
        # ledger); without one, each process paces alone to its share of the pool (its slots divide the limit).
        self.pacing_conn_id = pacing_conn_id
        self.pacing_share = max(1, pacing_share)
        self.max_attempts = max_attempts
        self.throttled = 0  # 429 replies received
        self.retried = 0

    # -- connection and settings -------------------------------------------------------------------

    @cached_property
    def connection(self) -> Any:
        conn = self.get_connection(self.http_conn_id)
        self._mask(conn.password, *(conn.extra_dejson.get(key) for key in self.secret_extras))
        return conn

    @property
    def settings(self) -> dict[str, Any]:
        """The connection's extras: target settings, not headers."""
        return self.connection.extra_dejson

    @property
    def timeout(self) -> float:
        timeout = float(self.settings.get("timeout") or DEFAULT_TIMEOUT_SECONDS)
        return min(timeout, self._timeout_cap) if self._timeout_cap else timeout

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
        _ = self.connection  # reading it masks the secrets before any request is logged
        return super().get_conn(headers, extra_options)

    def run(self, endpoint: str | None = None, data: Any = None, headers: dict[str, Any] | None = None,
            extra_options: dict[str, Any] | None = None, **request_kwargs: Any) -> Response:
        extra_options = {"timeout": self.timeout, **(extra_options or {})}
        return super().run(endpoint, data, headers, extra_options, **request_kwargs)

    def check_response(self, response: Response) -> None:
        response.raise_for_status()

    @cached_property
    def session(self) -> Session:
        """One keep-alive session for every call this hook makes."""
        return self.get_conn()

    # -- what a target defines ----------------------------------------------------------------------

    def document_url(self, record_type: str, target_id: str | None) -> str | None:
        """The page of a synced document in the target's web app; None where the target has no stable link."""
        return None

    def pacing_limits(self) -> list[Limit]:
        raise NotImplementedError

    def sign(self, method: str, path_with_query: str, body: bytes | None) -> dict[str, str]:
        """The auth headers of one request."""
        raise NotImplementedError

    def error_message(self, body: Any, response: Response) -> str:
        """The target's own words for why it refused a request."""
        return response.text[:500] or response.reason

    def is_throttled(self, response: Response, body: Any) -> bool:
        """Whether the target refused the call for going too fast: refused before doing anything, so even a
        write is waited out and sent again. A 429 here; a target whose undocumented throttle reply may take
        another shape recognises that too, so a throttled document never fails for good."""
        return response.status_code == 429

    def url_for(self, path_with_query: str) -> str:
        _ = self.session  # building the session sets base_url from the connection
        return self.base_url.rstrip("/") + path_with_query

    # -- the connection form's Test button ----------------------------------------------------------

    #: the Test button waits at most this long for an answer (the connection's ``timeout`` if shorter)
    TEST_TIMEOUT_SECONDS = 10.0

    def check_connection(self) -> str:
        """One real, harmless call with the connection's credentials (a target overrides it); what to tell the
        user when it works. Raises ``RejectedError`` / ``TransientTargetError`` like any call."""
        raise NotImplementedError

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's Test button (``[core] test_connection = Enabled``): one attempt of ``check_connection``,
        no retries, a short timeout; on failure, why in the user's words: credentials refused (HTTP 401),
        the host unreachable, the target's own message otherwise."""
        saved = self.max_attempts
        self.max_attempts, self._timeout_cap = 1, self.TEST_TIMEOUT_SECONDS
        try:
            return True, self.check_connection()
        except NotImplementedError:
            return False, f"{type(self).__name__} has no connection check (check_connection)"
        except RejectedError as error:
            return False, self._refusal_reason(error)
        except TransientTargetError as error:
            return False, self._transient_reason(error)
        except requests.RequestException as error:  # e.g. a host that is no URL at all
            return False, f"cannot reach {self._target_url()}: {error}"
        finally:
            self.max_attempts, self._timeout_cap = saved, None

    def _target_url(self) -> str:
        return str(getattr(self, "base_url", "") or self.connection.host or "(no host)")

    def _refusal_reason(self, error: RejectedError) -> str:
        if error.status == 401:
            return f"credentials refused (HTTP 401) by {self._target_url()}: {error.message}"
        if error.status == 403:
            return f"access refused (HTTP 403) by {self._target_url()}: {error.message}"
        if error.status in (0, 200):  # refused before sending, or in the target's own envelope
            return error.message
        return f"HTTP {error.status} from {self._target_url()}: {error.message}"

    def _transient_reason(self, error: TransientTargetError) -> str:
        cause = error.__cause__
        if isinstance(cause, requests.Timeout):
            return f"no answer from {self._target_url()} within {self.timeout:g} s"
        if isinstance(cause, requests.ConnectionError):
            text = str(cause)
            why = next((words for marker, words in (
                ("Connection refused", "connection refused, nothing listening"),
                ("Name or service not known", "unknown host name"),
                ("nodename nor servname", "unknown host name"),
                ("Temporary failure in name resolution", "host name not resolvable"),
                ("Network is unreachable", "network unreachable"),
                ("No route to host", "no route to host"),
            ) if marker in text), text)
            return f"host unreachable: cannot reach {self._target_url()} ({why})"
        return str(error)

    # -- requests ----------------------------------------------------------------------------------

    @property
    def pacing_margin(self) -> float | None:
        """Slack added to each rate-limit window for the time between pacing a request and its arrival (the
        connection extra ``pacing_margin_seconds``; by default a quarter second on a minute, 1% of a second):
        raise it where the network or a busy machine delays requests more."""
        value = self.settings.get("pacing_margin_seconds")
        return None if value in (None, "") else float(value)

    @property
    def pacing_transit(self) -> float | None:
        """How soon the target surely sees a request after it is allowed (the connection extra
        ``pacing_transit_seconds``): a request then stops holding its place in the rate windows a period after that,
        not after its answer (``possync.targets.base.pacing``). Unset: nothing is assumed; every request holds its
        place until a period after its answer, which never draws a 429 but uses a smaller share of the limit the
        longer the target takes to answer."""
        value = self.settings.get("pacing_transit_seconds")
        return None if value in (None, "") else float(value)

    @property
    def consumer(self) -> str:
        """Who the target counts requests against: the client id, or (a token alone) a digest of the token;
        never the secret itself."""
        conn = self.connection
        who = conn.login or hashlib.sha256(str(conn.password).encode()).hexdigest()[:16]
        return f"{self.conn_type}:{conn.host}:{who}"

    @cached_property
    def pacer(self) -> Pacer | SharedPacer:
        """The pace of this API consumer. With ``pacing_conn_id``, one allowance in that database for every task,
        process and worker (``SharedPacer``). Without, one per process, shared by every hook of the process that
        calls as the same consumer (a task or ``dag.test`` that makes several hooks in a row must not start each
        with a fresh allowance), the pool's size dividing the limit (``pacing_share``)."""
        if self.pacing_conn_id:
            from possync.db import shared_engine_for_conn

            engine = shared_engine_for_conn(self.pacing_conn_id)  # one per database URL in this process
            limits = tuple(self.pacing_limits())
            key: tuple[Any, ...] = ("shared", engine.url.render_as_string(hide_password=False), self.consumer,
                                    limits)
            with _PACERS_LOCK:
                if key not in _PACERS:
                    _PACERS[key] = SharedPacer(engine, self.consumer, list(limits),
                                               margin_seconds=self.pacing_margin, transit_seconds=self.pacing_transit)
                return _PACERS[key]
        limits = tuple(
            Limit(max(1, limit.requests // self.pacing_share), limit.period_seconds)
            for limit in self.pacing_limits()
        )
        conn = self.connection
        secret_digest = hashlib.sha256(f"{conn.login}:{conn.password}".encode()).hexdigest()
        key = (self.conn_type, conn.host, secret_digest, limits)
        with _PACERS_LOCK:
            return _PACERS.setdefault(key, Pacer(list(limits), margin_seconds=self.pacing_margin,
                                                 transit_seconds=self.pacing_transit))

    def _backoff(self, attempt: int) -> float:
        return min(60.0, 2.0 ** (attempt - 1))

    def pause_before_retry(self, attempt: int, what: str, problem: str) -> None:
        """Wait before a caller's own retry number ``attempt`` (a sender re-sending after a lost reply)."""
        wait = self._backoff(attempt)
        self.retried += 1
        self.log.warning("%s failed (%s); looking up what it created, then retry %d of %d in %.1f s",
                         what, problem, attempt, self.max_attempts - 1, wait)
        time.sleep(wait)

    @staticmethod
    def _retry_after(response: Response) -> float | None:
        value = response.headers.get("Retry-After")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON body.

        Raises ``RejectedError`` when the target refuses it for good and ``TransientTargetError`` when
        it still fails after ``max_attempts`` (connection errors, timeouts, 429, 5xx). A write (unless the
        caller says it is ``idempotent``, e.g. a POST that only reads) raises ``OutcomeUnknownError`` at the
        first broken connection or 5xx instead of being repeated: it may have been committed.
        """
        if idempotent is None:
            idempotent = method.upper() not in WRITE_METHODS
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, doseq=True)
        path_with_query = f"{path}?{query}" if query else path
        payload = exact_json(body).encode() if body is not None else None
        last_problem = ""
        last_error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            url = self.url_for(path_with_query)  # before the allowance: finding the URL may call the target itself
            try:
                with self.pacer.sending():  # signed once allowed: a signature's timestamp must be fresh
                    headers = {"Accept": "application/json", **self.sign(method, path_with_query, payload)}
                    if payload is not None:
                        headers["Content-Type"] = "application/json"
                    response = self.session.request(method, url, data=payload, headers=headers, timeout=self.timeout)
            except TRANSPORT_ERRORS as error:
                last_error = error
                last_problem = f"{type(error).__name__}: {error}"
                if not idempotent:
                    raise OutcomeUnknownError(
                        f"{method} {path}: {last_problem}; the target may have committed it") from error
                wait = self._backoff(attempt)
            else:
                if response.status_code < 400:
                    body_json = decode_json(response) if response.content else {}
                    if not self.is_throttled(response, body_json):
                        return body_json
                else:
                    body_json = _json_or_none(response)
                if self.is_throttled(response, body_json):
                    self.throttled += 1
                    wait = self._retry_after(response) or self._backoff(attempt)
                    self.pacer.pause_until(wait)
                elif response.status_code >= 500:
                    if not idempotent:
                        raise OutcomeUnknownError(
                            f"{method} {path}: HTTP {response.status_code}: {self.error_message(body_json, response)};"
                            " the target may have committed it")
                    wait = self._retry_after(response) or self._backoff(attempt)
                else:
                    raise RejectedError(
                        self.error_message(body_json, response), status=response.status_code, body=body_json
                    )
                last_problem = f"HTTP {response.status_code}: {self.error_message(body_json, response)}"
            if attempt < self.max_attempts:
                self.retried += 1
                self.log.warning(
                    "%s %s failed (%s); retry %d of %d in %.1f s",
                    method, path, last_problem, attempt, self.max_attempts - 1, wait,
                )
                time.sleep(wait)
        raise TransientTargetError(
            f"{method} {path} still failing after {self.max_attempts} attempts: {last_problem}"
        ) from last_error


def exact_json(value: Any) -> str:
    """JSON with ``Decimal`` amounts written as exact numbers (``25000.50``), never through a float."""
    marker = "\u0000decimal:"

    def mark(node: Any) -> Any:
        if isinstance(node, Decimal):
            return f"{marker}{node}"
        if isinstance(node, dict):
            return {key: mark(item) for key, item in node.items()}
        if isinstance(node, list | tuple):
            return [mark(item) for item in node]
        if isinstance(node, float):
            raise TypeError(f"refusing float {node!r} in a request body; amounts must be Decimal")
        return node
    text = json.dumps(mark(value), separators=(",", ":"), ensure_ascii=False, default=str)
    return re.sub(r'"\\u0000decimal:(-?[0-9.E+-]+)"', r"\1", text)


def decode_json(response: Response) -> Any:
    """A reply's JSON body with every fractional number as an exact ``Decimal`` (``0.1`` stays ``0.1``,
    ``1234567.89`` stays ``1234567.89``) and whole numbers as ``int``: reads are as exact as writes.

    Decoded from the raw bytes (JSON is UTF-8; ``json`` detects UTF-16/32 and a BOM itself) with the
    standard library, never through ``Response.json()``, which may hand the text to ``simplejson``.
    """
    return json.loads(response.content, parse_float=Decimal)


def _json_or_none(response: Response) -> Any:
    try:
        return decode_json(response)
    except ValueError:
        return None
