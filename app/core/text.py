"""Checks shared by the shop's text fields. Pure: no I/O."""

from __future__ import annotations


def length_error(value: str, most: int, *, blank: str, what: str) -> str | None:
    """The first checks of a required text field: ``blank`` when it is empty, then its length
    against ``most`` (``what`` names the field in the message, e.g. ``"A slug"``)."""
    if not value:
        return blank
    if len(value) > most:
        return f"{what} has at most {most} characters."
    return None
