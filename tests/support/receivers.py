"""Real receivers for the alert channels: an SMTP server (aiosmtpd) and an HTTP endpoint that takes a chat
webhook's POST, each on a free 127.0.0.1 port in the test's process, recording what reached them."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from support.net import free_port


@dataclass
class Received:
    """One e-mail as the SMTP server got it: envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        parts = [self.message] if not self.message.is_multipart() else list(self.message.walk())
        return "\n".join(part.get_content() for part in parts
                         if part.get_content_maintype() == "text")  # type: ignore[attr-defined]


class SmtpReceiver:
    """aiosmtpd's Controller: a real SMTP server in a thread. ``conn`` is the Airflow ``smtp`` connection
    pointing at it (plain SMTP on loopback: no TLS, no SSL, no login)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Received] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def start(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def conn(self, from_email: str = "possync@example.com") -> str:
        return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": self.port, "extra": {
            "disable_tls": True, "disable_ssl": True, "from_email": from_email, "timeout": 5, "retry_limit": 0}})


class ChatReceiver:
    """A webhook endpoint that answers like Slack's (200 ``ok``) and records each POST (path, JSON body).
    ``conn`` is the Airflow ``slackwebhook`` connection pointing at it."""

    TOKEN = "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                received.append((self.path, json.loads(self.rfile.read(length) or b"{}")))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="chat-receiver", daemon=True)

    def start(self) -> ChatReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def conn(self) -> str:
        return json.dumps({"conn_type": "slackwebhook", "host": self.url, "password": self.TOKEN})

    @property
    def texts(self) -> list[str]:
        return [body.get("text", "") for _path, body in self.posts]
