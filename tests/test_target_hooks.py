"""The shared target hook: extras are settings, not headers; requests always time out; auth is signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from possync.targets.accurate.hook import AccurateHook
from possync.targets.accurate.hook import sign_request as sign_accurate
from possync.targets.jurnal.hook import JurnalHook
from possync.targets.jurnal.hook import sign_request as sign_jurnal


def test_jurnal_signature_covers_date_and_request_line() -> None:
    headers = sign_jurnal("client-1", "s3cret", "POST", "/public/jurnal/api/v1/customers?page=2", b'{"a":1}',
                          date_header="Sun, 22 Nov 2026 03:00:00 GMT")
    signed = b"date: Sun, 22 Nov 2026 03:00:00 GMT\nPOST /public/jurnal/api/v1/customers?page=2 HTTP/1.1"
    expected = base64.b64encode(hmac.new(b"s3cret", signed, hashlib.sha256).digest()).decode()
    assert headers["Authorization"] == (
        f'hmac username="client-1", algorithm="hmac-sha256", headers="date request-line", signature="{expected}"'
    )
    assert headers["Digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(b'{"a":1}').digest()).decode()
    assert "Digest" not in sign_jurnal("c", "s", "GET", "/x", None)


def test_accurate_signature_is_hmac_of_wib_timestamp() -> None:
    now = datetime(2026, 11, 22, 3, 0, 5, tzinfo=ZoneInfo("UTC"))
    headers = sign_accurate("aat.token", "sig-secret", now)
    assert headers["X-Api-Timestamp"] == "22/11/2026 10:00:05"
    expected = base64.b64encode(hmac.new(b"sig-secret", b"22/11/2026 10:00:05", hashlib.sha256).digest()).decode()
    assert headers["X-Api-Signature"] == expected
    assert headers["Authorization"] == "Bearer aat.token"


def test_connection_extras_never_become_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ACCURATE_T", json.dumps({
        "conn_type": "accurate", "host": "http://127.0.0.1:9", "password": "aat.x",
        "extra": {"signature_secret": "sig", "timeout": 7, "requests_per_second": 4, "verify": False},
    }))
    hook = AccurateHook("accurate_t")
    session = hook.get_conn()
    assert not {"signature_secret", "timeout", "requests_per_second", "verify"} & {h.lower() for h in session.headers}
    assert session.verify is False
    assert session.auth is None, "the API token must never be sent as HTTP Basic auth"
    assert hook.timeout == 7


def test_requests_always_carry_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_JURNAL_T", json.dumps({"conn_type": "jurnal", "host": "http://127.0.0.1:9"}))
    hook = JurnalHook("jurnal_t")
    seen: dict = {}

    def fake_run_and_check(session, prepped, extra_options):
        seen.update(extra_options)
        raise RuntimeError("stop before the network")

    monkeypatch.setattr(hook, "run_and_check", fake_run_and_check)
    with pytest.raises(RuntimeError):
        hook.run("/x")
    assert seen["timeout"] == 30


# -- replies are decoded exactly -----------------------------------------------------------------------

REPLY_TEXT = (
    '{"s": true, "d": {"database": {"id": 1, "host": "%(url)s"}},'
    ' "sales_invoice": {"id": 42, "original_amount": 1234567.89, "tax": 0.1, "qty": 3, "big": 1e2},'
    ' "r": {"id": 7, "totalAmount": 0.1}, "items": [0.1, 0.2]}'
)


def _raw_json_app(text: str):
    """An ASGI app answering every request with the same raw JSON text (numbers exactly as written)."""
    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        host = dict(scope["headers"]).get(b"host", b"").decode()
        body = (text % {"url": f"http://{host}"}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
    return app


@pytest.fixture
def raw_json_server():
    from support.live_server import LiveServer

    server = LiveServer(_raw_json_app(REPLY_TEXT)).start()
    yield server
    server.stop()


def test_reply_amounts_decode_as_exact_decimals(monkeypatch: pytest.MonkeyPatch, raw_json_server) -> None:
    from decimal import Decimal

    monkeypatch.setenv("AIRFLOW_CONN_JURNAL_EXACT", json.dumps({
        "conn_type": "jurnal", "host": raw_json_server.url, "login": "c", "password": "s",
        "extra": {"requests_per_minute": 100_000, "requests_per_hour": 1_000_000}}))
    record = JurnalHook("jurnal_exact").get("sales_invoices", 42)
    assert record is not None
    assert record["original_amount"] == Decimal("1234567.89")
    assert isinstance(record["original_amount"], Decimal)
    assert record["tax"] == Decimal("0.1") and str(record["tax"]) == "0.1"
    assert record["qty"] == 3 and type(record["qty"]) is int and type(record["id"]) is int
    assert record["big"] == Decimal("1e2") and isinstance(record["big"], Decimal)

    monkeypatch.setenv("AIRFLOW_CONN_ACCURATE_EXACT", json.dumps({
        "conn_type": "accurate", "host": raw_json_server.url, "password": "aat.x",
        "extra": {"signature_secret": "sig", "requests_per_second": 1000}}))
    hook = AccurateHook("accurate_exact")
    reply = hook.api("sales-invoice", "detail", params={"id": 7})
    assert reply["r"]["totalAmount"] == Decimal("0.1") and str(reply["r"]["totalAmount"]) == "0.1"
    assert reply["items"] == [Decimal("0.1"), Decimal("0.2")]
    assert sum(reply["items"], Decimal(0)) == Decimal("0.3")
    assert hook.save("sales-invoice", {"x": Decimal("1.10")})["totalAmount"] == Decimal("0.1")
