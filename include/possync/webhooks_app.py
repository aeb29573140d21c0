"""The webhook receiver: a FastAPI app the possync plugin mounts on Airflow's API server at ``/possync``.

    POST /possync/webhooks/{target}/{integration}?token=<secret>     (or header X-Possync-Webhook-Token)

for every integration whose target has webhooks (``Target.inbound``). Register that URL in the target for
the integration's account. Targets redeliver until they get a 2xx, so the endpoint

1. authenticates the caller: the URL carries a per-integration secret, compared in constant time
   (``hmac.compare_digest``) with the ``webhook_secret`` extra of the integration's Airflow connection
   (``conn_id`` in integrations.yaml). No token: 401. A wrong token, an unknown integration, one of another
   target or one without a ``webhook_secret``: 403, the same answer for all, so a caller learns nothing about
   which integrations exist. The API server's JWT auth does not apply (plugin apps are mounted without it,
   and targets have no Airflow token); the secret replaces it.
2. validates the body with the target's ``parse_delivery`` (events with a ``uuid``): anything else is a 400
   naming what is wrong, never a 500;
3. records the events in the webhook log of the integration's sync ledger, once per ``uuid``, and answers
   200 ``{"received": new, "duplicates": m}``. If the ledger cannot be reached the answer is 503, so the
   target retries the delivery later;
4. triggers a run of ``<integration>__inbound`` right away (``airflow.api.common.trigger_dag.trigger_dag``,
   which the API server may call: it owns the metadata DB). A run already queued is not duplicated: it
   will pick up the new events when it starts. If triggering fails (DAG not parsed yet, paused, metadata
   DB busy) the events are still recorded and acknowledged, and the DAG's 5-minute schedule processes them.

The token is never logged: no message here includes it, and the API server's access log (Airflow's
``HttpAccessLogMiddleware``, the only access log of ``airflow api-server``) prints the query string with the
value of every secret-looking parameter, ``token`` included, replaced by ``***``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from possync.config import ConfigError
from possync.targets.base.registry import get_target
from possync.targets.base.target import BadDelivery, Inbound

log = logging.getLogger(__name__)

TOKEN_QUERY = "token"
TOKEN_HEADER = "X-Possync-Webhook-Token"
SECRET_EXTRA = "webhook_secret"
MAX_BODY_BYTES = 1_000_000


# ---------------------------------------------------------------------------------------------- the defaults


def _load_integration(name: str) -> Any | None:
    """The integration's settings; a mistake in another integration's settings does not stop this one's
    receiver, a mistake in its own is a ``ConfigError`` (503: the target delivers again later)."""
    from possync.config import ConfigError, load_config_for_dags

    config, errors = load_config_for_dags()
    if ("integration", name) in errors:
        raise ConfigError(errors["integration", name])
    return next((i for i in config.enabled() if i.name == name), None)


def _webhook_secret(conn_id: str) -> str | None:
    """The connection's ``webhook_secret`` extra, looked up the way the API server looks connections up
    (environment, secrets backends, then the metadata DB)."""
    from airflow.models.connection import Connection

    try:
        conn = Connection.get_connection_from_secrets(conn_id)
    except Exception:  # not found (AirflowNotFoundException) or a backend error: no secret, so 403
        log.warning("webhook: connection %r of an integration could not be read", conn_id, exc_info=True)
        return None
    secret = conn.extra_dejson.get(SECRET_EXTRA)
    return str(secret) if secret else None


def _ledger_engine(conn_id: str) -> Engine:
    from possync.db import shared_engine_for_conn

    return shared_engine_for_conn(conn_id)


def trigger_inbound_run(dag_id: str, *, uuids: list[str], source: str = "a webhook") -> str:
    """Queue a run of the inbound DAG unless one is already queued; returns what happened (for the log)."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType
    from sqlalchemy import func, select

    with create_session() as session:
        queued = session.scalar(
            select(func.count()).select_from(DagRun).where(DagRun.dag_id == dag_id,
                                                           DagRun.state == DagRunState.QUEUED)
        )
        if queued:
            return f"a run of {dag_id} is already queued; it will process these events"
        now = datetime.now(UTC)
        run = trigger_dag(
            dag_id,
            triggered_by=DagRunTriggeredByType.REST_API,
            run_id=f"webhook__{now.strftime('%Y%m%dT%H%M%S.%f')}",
            conf={"webhook_uuids": uuids[:20]},
            note=f"triggered by {source}",
            session=session,
        )
        return f"triggered {dag_id} run {run.run_id if run else '?'}"


# ------------------------------------------------------------------------------------------------- the app


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def create_app(
    *,
    load_integration: Callable[[str], Any | None] = _load_integration,
    webhook_secret: Callable[[str], str | None] = _webhook_secret,
    ledger_engine: Callable[[str], Engine] = _ledger_engine,
    trigger: Callable[..., str] | None = trigger_inbound_run,
) -> FastAPI:
    """The receiver app; the parameters are where it reads settings, secrets and the ledger (tests swap them).

    ``trigger=None`` records events without triggering a run (the inbound DAG's schedule picks them up).
    """
    api = FastAPI(
        title="possync webhooks",
        description="Receives the accounting targets' webhooks into the possync webhook log.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @api.post("/webhooks/{target_name}/{integration}")
    async def receive_webhook(target_name: str, integration: str, request: Request) -> JSONResponse:
        token = request.query_params.get(TOKEN_QUERY) or request.headers.get(TOKEN_HEADER)
        if not token:
            return _error(401, f"missing webhook token: add ?{TOKEN_QUERY}=<secret> to the webhook URL")
        try:
            settings = await run_in_threadpool(load_integration, integration)
            inbound = _inbound_of(settings, target_name)
            secret = await run_in_threadpool(webhook_secret, settings.conn_id) if inbound is not None else None
        except ConfigError:
            log.exception("webhook for %r: could not read the integration settings", integration)
            return _error(503, "webhook receiver unavailable; retry later")
        if not secret or not hmac.compare_digest(token.encode(), secret.encode()):
            log.warning("webhook for %r refused: wrong token, or no such %s integration with a webhook_secret",
                        integration, target_name)
            return _error(403, "forbidden")

        body = await request.body()
        try:
            if len(body) > MAX_BODY_BYTES:
                raise BadDelivery(f"body is larger than {MAX_BODY_BYTES} bytes")
            envelopes = inbound.parse_delivery(body)
        except BadDelivery as error:
            log.warning("webhook for %s: bad delivery: %s", integration, error)
            return _error(400, str(error))

        try:
            new, duplicates = await run_in_threadpool(_record, ledger_engine, settings, envelopes)
        except (SQLAlchemyError, OSError):  # the ledger's database (or its file) cannot be reached
            log.exception("webhook for %s: could not record %d events in the webhook log", integration,
                          len(envelopes))
            return _error(503, "webhook log unavailable; retry later")
        log.info("webhook for %s: %d events received, %d duplicates", integration, new, duplicates)

        if new and trigger is not None:
            dag_id = f"{integration}__inbound"
            try:
                outcome = await run_in_threadpool(
                    lambda: trigger(dag_id, uuids=[str(e["uuid"]) for e in envelopes],
                                    source=f"a webhook from {get_target(target_name).label}")
                )
                log.info("webhook for %s: %s", integration, outcome)
            except Exception as error:  # any failure to trigger: the schedule processes the recorded events
                log.warning("webhook for %s: could not trigger %s (%s: %s); its schedule will process the "
                            "events", integration, dag_id, type(error).__name__, error)
        return JSONResponse({"received": new, "duplicates": duplicates})

    return api


def _inbound_of(settings: Any, target_name: str) -> Inbound | None:
    """The webhooks of the integration's target, if the integration exists, is of ``target_name`` and its
    target has webhooks; None otherwise (all answered 403 alike)."""
    if settings is None or settings.target != target_name:
        return None
    return get_target(target_name).inbound


def _record(ledger_engine: Callable[[str], Engine], settings: Any, envelopes: list[dict[str, Any]]) -> tuple[int, int]:
    from possync.ledger.schema import create_schema, webhook_events
    from possync.ledger.webhooks import WebhookLog

    engine = ledger_engine(settings.ledger_conn_id)
    if not inspect(engine).has_table(webhook_events.name):
        create_schema(engine)  # a fresh ledger: create it (idempotent, under a lock); other errors are answered 503
    return WebhookLog(engine).receive(settings.name, envelopes)


app = create_app()
