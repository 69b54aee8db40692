"""The passwords attackers try first: ``common_passwords.txt`` beside this module, one lower-case
password a line (19,640 of them). It is the list Django ships with its CommonPasswordValidator
(Royce Williams' list, lower-cased and deduplicated; Django 5.2.17), copied here so checking a
password needs no network and no Django. Licence: Django's BSD 3-Clause licence (Copyright (c)
Django Software Foundation and individual contributors), under which Django distributes the list."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_LIST = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    return frozenset(line.strip() for line in _LIST.read_text(encoding="utf-8").splitlines() if line.strip())


def is_common(password: str) -> bool:
    """``password`` is on the list, in any case and with spaces around it."""
    return password.strip().lower() in common_passwords()
