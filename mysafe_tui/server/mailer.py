"""Mail from `mysafe serve` (`--smtp URL`): the notices and codes of recipient-verified links.

A relay URL names how to reach it: `smtp://[user@]host[:port]` speaks STARTTLS and refuses to
go on without it (port 587 unless given), `smtps://` is TLS from the first byte (465), and
`smtp+plain://` sends in the clear (for a relay on this host only: the choice is explicit).
The relay's certificate is checked against the machine's trust (SSL_CERT_FILE works). A
password never comes from the command line: `MYSAFE_SMTP_PASSWORD`.

The server mails only what it may know: a notice that a link is coming from its owner, and a
code. The link itself (its key is the part after #) goes from the owner to the recipient.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from mysafe_tui.core.sanitize import printable

PASSWORD_ENV = "MYSAFE_SMTP_PASSWORD"
TIMEOUT = 20.0
_SCHEMES = {"smtp": ("starttls", 587), "smtps": ("tls", 465), "smtp+plain": ("none", 25)}
# An address this server will write to: printable ASCII, one @, a host name; no spaces,
# quotes, brackets or separators (nothing that could become a second header or address).
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


class MailFailed(Exception):
    """The relay could not be reached or refused the message; `str()` says why, in one line."""


def valid_address(text: str) -> str:
    """The address, lower-cased in its domain; ValueError for anything else."""
    address = text.strip()
    if len(address) > 254 or not _ADDRESS.match(address):
        raise ValueError(f"{address[:60]!r} is not an e-mail address")
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def masked(address: str) -> str:
    """What a page shows of an address to someone who holds only the link: `b…@example.com`."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    security: str  # "starttls", "tls" or "none"
    user: str
    sender: str

    @classmethod
    def parse(cls, url: str, sender: str = "") -> Relay:
        """ValueError (one sentence) for a URL this server cannot send through."""
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES:
            raise ValueError("--smtp takes smtp://, smtps:// or smtp+plain:// URLs")
        if parts.password is not None:
            raise ValueError(
                f"--smtp holds a password, which other users of this host can read in the "
                f"process list: give it in {PASSWORD_ENV}"
            )
        if not parts.hostname:
            raise ValueError("--smtp names no host")
        security, default_port = _SCHEMES[parts.scheme]
        try:
            port = parts.port or default_port
        except ValueError:
            raise ValueError("--smtp has a bad port") from None
        sender = sender or f"mysafe@{socket.getfqdn()}"
        try:
            sender = valid_address(sender)
        except ValueError:
            raise ValueError(f"--mail-from: {sender[:60]!r} is not an e-mail address") from None
        return cls(parts.hostname, port, security, unquote(parts.username or ""), sender)

    def send(self, to: str, subject: str, body: str) -> None:
        """One plain-text message; MailFailed when it did not reach the relay."""
        message = EmailMessage()
        message["From"] = f"MySafe <{self.sender}>"
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[1])
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        context = ssl.create_default_context()
        try:
            if self.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=TIMEOUT, context=context
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
            with smtp:
                smtp.ehlo()
                if self.security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise MailFailed(f"{self.host} does not offer STARTTLS")
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, os.environ.get(PASSWORD_ENV, ""))
                smtp.send_message(message)
        except MailFailed:
            raise
        except smtplib.SMTPResponseException as exc:
            said = exc.smtp_error
            reason = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
            raise MailFailed(f"{self.host} refused it ({exc.smtp_code} {_line(reason)})") from None
        except ssl.SSLError as exc:
            raise MailFailed(
                f"TLS with {self.host} failed ({_line(exc.reason or str(exc))})"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MailFailed(f"cannot reach {self.host}:{self.port} ({_line(str(exc))})") from None


def _line(text: str) -> str:
    """A relay's words as one short line, escaped (they are shown to the link's owner)."""
    return printable(text.strip())[:160]
