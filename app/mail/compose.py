"""Mail text from templates: ``templates/mail/{name}.txt`` sets ``subject`` and renders the body
(plain text, so nothing is HTML-escaped). Read from files like the pages' templates, by the web
process and the worker alike."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.core import i18n
from app.settings import PROJECT_ROOT


@dataclass(frozen=True)
class Composed:
    subject: str
    body: str


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(PROJECT_ROOT / "templates" / "mail"),
        autoescape=False,  # plain-text mail: never rendered as HTML
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.raw_gettext, i18n.raw_ngettext, newstyle=True, pgettext=i18n.raw_pgettext
    )
    env.policies["ext.i18n.trimmed"] = True
    env.filters["dt"] = i18n.format_datetime
    return env


def compose(template: str, **context: Any) -> Composed:
    """The mail in the current language and zone (``i18n.using`` sets them for the recipient)."""
    module = _environment().get_template(f"{template}.txt").make_module(context)
    subject = " ".join(str(getattr(module, "subject", "")).split())  # one line, as a header must be
    return Composed(subject=subject or "Smore", body=str(module).strip() + "\n")
