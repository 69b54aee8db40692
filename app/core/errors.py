"""Errors a service raises for the web layer to turn into pages."""

from __future__ import annotations

from collections.abc import Mapping

from app.core.i18n import Msg

# Said above a form whose fields have errors; a missing record's page when nothing more is known.
CORRECT_FIELDS = Msg("Please correct the fields marked below.")
NO_SUCH_PAGE = Msg("This page does not exist.")


class DomainError(Exception):
    """A refusal with a message fit to show to the member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FormInvalid(DomainError):
    """Field-level refusals: ``errors`` maps a field name to its message."""

    def __init__(self, errors: Mapping[str, str], message: str | None = None) -> None:
        super().__init__(message if message is not None else str(CORRECT_FIELDS))
        self.errors = dict(errors)


class NotFound(Exception):
    """No such record for this member (unknown id, or someone else's). Not a ``DomainError``, so a
    handler's ``except DomainError`` never turns it into a flash message: the app-wide handler makes
    it the 404 page."""

    def __init__(self, message: str | None = None) -> None:
        message = message if message is not None else str(NO_SUCH_PAGE)
        super().__init__(message)
        self.message = message
