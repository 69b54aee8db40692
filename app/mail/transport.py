"""Sending one message through SMTP with the standard library (``smtplib``), off the event loop.

``SMTP_URL`` names the server: ``smtp://[user:password@]host[:port]`` (plain, port 25),
``smtp+starttls://…`` (STARTTLS, port 587) or ``smtps://…`` (TLS from the start, port 465)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import anyio.to_thread

_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand mail over, read from ``SMTP_URL``."""

    scheme: str
    address: tuple[str, int]  # host and port
    login: tuple[str, str] | None = None  # user name and password, when the server asks for them
    timeout: float = 10.0

    @classmethod
    def from_url(cls, url: str, timeout: float = 10.0) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES or not parts.hostname:
            raise ValueError(f"SMTP_URL must look like smtp://host:port (smtp, smtp+starttls or smtps), not {url!r}")
        login = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        return cls(parts.scheme, (parts.hostname, parts.port or _SCHEMES[parts.scheme]), login, timeout)

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        host, port = self.address
        if self.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=self.timeout)
        with smtp:
            if self.scheme == "smtp+starttls":
                smtp.starttls(context=context)
            if self.login:
                smtp.login(*self.login)
            smtp.send_message(message)

    async def send(self, message: EmailMessage) -> None:
        await anyio.to_thread.run_sync(self._send, message)
