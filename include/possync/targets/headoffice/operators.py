"""The exchange's Airflow operators: thin wrappers that read the head office's settings, build the hook and
the POS engine, call ``exchange`` and turn the outcome into the task's state.

A document that could not be applied (receive) or that HO rejected (send) fails the task without Airflow
retries once, in the run that met it, with every reason in the log; the others still went. A head office
that does not answer or speaks another major version fails the task at once: the next run (at most
``every_minutes`` later) tries again.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from possync.config import HeadOffice, load_config

log = logging.getLogger("possync.headoffice")


def headoffice_settings(name: str) -> HeadOffice:
    for headoffice in load_config().headoffices:
        if headoffice.name == name:
            return headoffice
    raise AirflowFailException(f"no head office {name!r} in integrations.yaml")


class _HeadOfficeOperator(BaseOperator):
    """:param headoffice_name: the head office in integrations.yaml whose settings and connections apply."""

    ui_color = "#eef0fb"

    def __init__(self, *, headoffice_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.headoffice_name = headoffice_name

    @cached_property
    def headoffice(self) -> HeadOffice:
        return headoffice_settings(self.headoffice_name)

    @cached_property
    def hook(self) -> Any:
        from possync.targets.headoffice.hook import HeadOfficeHook

        return HeadOfficeHook(self.headoffice.conn_id)

    def checked(self) -> str:
        """HO's version, or the task fails with why nothing moves (every task checks: a cleared task alone too)."""
        from possync.targets.headoffice.hook import HeadOfficeError

        try:
            return self.hook.check(self.headoffice.schema_version)
        except HeadOfficeError as error:
            raise AirflowFailException(str(error)) from None


class HeadOfficeCheckOperator(_HeadOfficeOperator):
    """Tests the HO connection and compares major versions; a mismatch stops the run naming both versions."""

    def execute(self, context: Any) -> dict[str, str]:
        version = self.checked()
        log.info("head office at %s answers: schema version %s, this exchange speaks %s",
                 self.hook.where, version, self.headoffice.schema_version)
        return {"headoffice_version": version, "exchange_version": self.headoffice.schema_version}


class _StoreOperator(_HeadOfficeOperator):
    """:param store_code: the store (POS outlet code) to exchange for."""

    template_fields = ("store_code",)

    def __init__(self, *, store_code: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store_code = store_code

    @cached_property
    def pos_engine(self) -> Any:
        from possync.db import engine_for_conn

        return engine_for_conn(self.headoffice.pos_conn_id)


class HeadOfficeReceiveOperator(_StoreOperator):
    """Applies what HO published for the store (items, prices, promotions, orders, audit plans), acknowledging each."""

    def execute(self, context: Any) -> dict[str, Any]:
        from possync.targets.headoffice.exchange import receive

        self.checked()
        summary = receive(self.pos_engine, self.hook.engine, self.store_code, logger=log)
        if summary.failed:
            raise AirflowFailException(
                f"{summary.failed} head office document(s) could not be applied at {self.store_code} and were "
                f"acknowledged FAILED: " + "; ".join(summary.failures[:10]))
        return summary.as_dict()


class HeadOfficeSendOperator(_StoreOperator):
    """Uploads the store's new business events (customers, sales, goods received and returned), and brings back
    HO's verdict on earlier uploads."""

    def execute(self, context: Any) -> dict[str, Any]:
        from possync.targets.headoffice.exchange import send

        self.checked()
        headoffice = self.headoffice
        start = datetime.combine(headoffice.start_date, time(), tzinfo=ZoneInfo(headoffice.timezone))
        summary = send(self.pos_engine, self.hook.engine, self.store_code,
                       customers=self.store_code == headoffice.customer_sender, start=start,
                       lookback=timedelta(hours=headoffice.lookback_hours), logger=log)
        if summary.rejected:
            raise AirflowFailException(
                f"head office rejected {summary.rejected} document(s) from {self.store_code} (the others went): "
                + "; ".join(summary.failures[:10]))
        return summary.as_dict()
