"""The mail outbox as tests read it, the reset and confirmation links a mail carries, and a local
SMTP server (aiosmtpd) that keeps what it is sent."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from app.models.mail import OutgoingMail
from tests.helpers.backends import _free_port

_RESET_PATH = re.compile(r"/password/reset/[A-Za-z0-9_\-]+")
_CONFIRM_PATH = re.compile(r"/account/confirm\?token=[A-Za-z0-9_\-.]+")


async def outbox(app: Any, to: str | None = None, kind: str | None = None) -> list[OutgoingMail]:
    """The outbox, oldest first (only the mail to ``to``, and of ``kind``, when given)."""
    async with app.state.database.transaction() as db:
        stmt = select(OutgoingMail).order_by(OutgoingMail.id)
        if to is not None:
            stmt = stmt.where(OutgoingMail.to_address == to)
        if kind is not None:
            stmt = stmt.where(OutgoingMail.kind == kind)
        return list((await db.execute(stmt)).scalars())


def reset_path(body: str) -> str:
    """The path of the reset link in a mail's text."""
    match = _RESET_PATH.search(body)
    assert match, body
    return match.group(0)


def confirm_path(body: str) -> str:
    """The path (and query) of the email confirmation link in a mail's text."""
    match = _CONFIRM_PATH.search(body)
    assert match, body
    return match.group(0)


class SmtpSink:
    """A real SMTP server on a free local port (its own thread); ``messages`` holds what it took.
    With ``login``, it asks for AUTH and takes only that user and password."""

    def __init__(self, login: tuple[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.messages: list[tuple[str, list[str], Message]] = []
        self.logins: list[str] = []
        options: dict[str, Any] = {}
        if login:
            options = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self._login = login
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

    @property
    def url(self) -> str:
        credentials = f"{self._login[0]}:{self._login[1]}@" if self._login else ""
        return f"smtp://{credentials}127.0.0.1:{self.port}"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self._login is not None
        ok = ok and (data.login.decode(), data.password.decode()) == self._login
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted"

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        self.running = True
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the server (once: a test may stop it early)."""
        if getattr(self, "running", False):
            self.running = False
            self._controller.stop()
