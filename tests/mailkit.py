"""A real SMTP relay on a loopback port the system picks (aiosmtpd), STARTTLS required, under a
private CA (trustme): what `mysafe serve --smtp` sends through, read back by the tests."""

from __future__ import annotations

import asyncio
import re
import ssl
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, Envelope


class Relay:
    """Start with `with Relay(tmp) as relay:`; `relay.url` for `--smtp`, `relay.env` for the
    server's environment (trust in the private CA), `relay.next_mail()` for what arrived."""

    def __init__(self, folder: Path, starttls: bool = True) -> None:
        ca = trustme.CA()
        self.ca_file = folder / "smtp-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self._tls)
        self._starttls = starttls
        self.received: list[EmailMessage] = []
        self.refuse = False  # answer 550 to the next messages
        self._seen = 0
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Any = None

    def __enter__(self) -> Relay:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"smtp://127.0.0.1:{port}"
        self.env = {"SSL_CERT_FILE": str(self.ca_file)}
        return self

    async def _listen(self) -> Any:
        def protocol() -> SMTP:
            return SMTP(
                self,
                hostname="relay.test",
                tls_context=self._tls if self._starttls else None,
                require_starttls=self._starttls,
            )

        return await self._loop.create_server(protocol, "127.0.0.1", 0)

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        if self.refuse:
            return "550 mailbox unavailable"
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        mail = message_from_bytes(content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        mail["X-Tls"] = "yes" if session.ssl else "no"
        with self._changed:
            self.received.append(mail)
            self._changed.notify_all()
        return "250 OK"

    def next_mail(self, timeout: float = 20) -> EmailMessage:
        """The next message not handed out yet, waiting for it to arrive."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) > self._seen, timeout):
                raise AssertionError("no mail arrived")
            self._seen += 1
            return self.received[self._seen - 1]

    def pending(self) -> int:
        with self._changed:
            return len(self.received) - self._seen


def code_in(mail: EmailMessage) -> str:
    """The 8-digit code in a code mail (written `1234 5678`)."""
    body = mail.get_body(("plain",))
    assert body is not None
    found = re.search(r"\b(\d{4}) (\d{4})\b", body.get_content())
    assert found, body.get_content()
    return found[1] + found[2]


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())
