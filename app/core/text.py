"""Checks shared by the shop's text fields. Pure: no I/O."""

from __future__ import annotations

from app.core.i18n import _


def length_error(value: str, most: int, *, blank: str, what: str) -> str | None:
    """The first checks of a required text field: ``blank`` when it is empty, then its length
    against ``most`` (``what`` names the field in the message, translated, e.g. ``_("The slug")``)."""
    if not value:
        return blank
    if len(value) > most:
        return _("%(what)s has at most %(most)d characters.", what=what, most=most)
    return None
