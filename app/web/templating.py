"""Jinja environment and page/fragment rendering."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request
from litestar.plugins.htmx import HTMXTemplate
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template import TemplateConfig
from litestar.utils.scope.state import ScopeState
from markupsafe import escape

from app.core import i18n
from app.core.labels import label
from app.settings import PROJECT_ROOT

TEMPLATE_DIR = PROJECT_ROOT / "templates"


def format_won(amount: int | None) -> str:
    """Whole won, grouped: 12000 → ₩12,000."""
    if amount is None:
        return ""
    return f"−₩{-amount:,}" if amount < 0 else f"₩{amount:,}"


def format_datetime(value: datetime | None, form: str = "full") -> str:
    """A time in the viewer's language and zone, with the zone's name (``|dt``, ``|dt("date")``)."""
    return i18n.format_datetime(value, form)


def iso_datetime(value: datetime | None) -> str:
    """The machine-readable form for ``<time datetime>`` (UTC)."""
    return value.astimezone(UTC).isoformat(timespec="seconds") if value is not None else ""


def viewer(request: Any) -> Any:
    """The member behind the request as loaded (and re-checked) for this request, or None."""
    if request is None:
        return None
    return request.scope.get("state", {}).get("smore_member")


def flash_messages(request: Any) -> list[dict[str, str]]:
    """Pop the flash messages (set with ``litestar.plugins.flash.flash``). Error pages raised before
    the session middleware ran (unknown URL, wrong method) simply have none."""
    session = request.scope.get("session") if request is not None else None
    if not isinstance(session, dict):
        return []
    messages: list[dict[str, str]] = session.pop("_messages", [])
    return messages


def build_template_config(
    template_dir: Path = TEMPLATE_DIR, *, auto_reload: bool = False
) -> TemplateConfig[JinjaTemplateEngine]:
    """Templates are read once (``auto_reload``, with ``DEBUG``: re-read when their file changes,
    at the cost of a file check on every render)."""
    env = Environment(
        auto_reload=auto_reload,
        loader=FileSystemLoader(str(template_dir)),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.raw_gettext, i18n.raw_ngettext, newstyle=True, pgettext=i18n.raw_pgettext
    )
    env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks: whitespace folded, as extracted
    env.filters["won"] = format_won
    env.filters["dt"] = format_datetime
    env.filters["iso"] = iso_datetime
    env.filters["local_input"] = i18n.input_value
    env.filters["remaining"] = i18n.format_remaining
    env.filters["took"] = i18n.format_took
    env.filters["text"] = i18n.text
    env.filters["label"] = label
    env.globals["current_language"] = i18n.current_language
    env.globals["current_zone"] = i18n.current_zone_name
    env.globals["LANGUAGE_NAMES"] = i18n.LANGUAGE_NAMES
    env.globals["viewer"] = viewer
    env.globals["utcnow"] = lambda: datetime.now(UTC)  # the moment a page is made, for its countdowns
    env.globals["flash_messages"] = flash_messages
    env.globals["new_key"] = lambda: uuid.uuid4().hex  # idempotency key of a form (one per render)
    engine = JinjaTemplateEngine.from_environment(env)
    return TemplateConfig(instance=engine)


def page(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    fragment: str | None = None,
) -> Template:
    """Render a full page, or only ``fragment`` (a partial template) for an HTMX request that is not
    a boosted navigation. Every page works without JavaScript; HTMX only swaps less."""
    ctx = dict(context or {})
    htmx = getattr(request, "htmx", None)
    if fragment and htmx and not htmx.boosted:
        return HTMXTemplate(template_name=fragment, context=ctx, status_code=status_code)
    return Template(template_name=template, context=ctx, status_code=status_code)


class StampedFragment:
    """A fragment answered so often that Jinja is asked for it once: the markup of the common
    answers to a Buy press (sold out, not on sale...) depends only on the viewer's language and
    the outcome, apart from a few strings of each answer (its product, its new key, the CSRF input).
    Each (language, outcome) is rendered through the template once, with a marker in each of those
    places; an answer then joins the parts with its own strings, escaped as the template would.
    The template stays the one source of the markup."""

    _MARK = "\x00slot:{}\x00"

    def __init__(self, template_name: str, slots: tuple[str, ...]) -> None:
        self.template_name = template_name
        self.slots = slots
        self._parts: dict[tuple[Any, ...], tuple[list[str], list[str]]] = {}

    def render(
        self, request: Request[Any, Any, Any], fixed: Any, context: dict[str, Any], values: dict[str, str]
    ) -> str:
        """The fragment for ``context`` (the same whenever ``fixed`` is) with ``values`` in its
        slots; ``csrf_input`` is always one."""
        env = request.app.template_engine.engine  # type: ignore[union-attr]
        cache_key = (id(env), i18n.current_language(), fixed)
        parts = self._parts.get(cache_key)
        if parts is None:
            parts = self._parts[cache_key] = self._split(env, context)
        token = ScopeState.from_scope(request.scope).csrf_token
        stamped = {name: str(escape(value)) for name, value in values.items()}
        stamped["csrf_input"] = f'<input type="hidden" name="_csrf_token" value="{escape(token or "")}" />'
        literals, names = parts
        out = [literals[0]]
        for name, literal in zip(names, literals[1:], strict=True):
            out += [stamped[name], literal]
        return "".join(out)

    def _split(self, env: Environment, context: dict[str, Any]) -> tuple[list[str], list[str]]:
        marks = {name: self._MARK.format(name) for name in (*self.slots, "csrf_input")}
        html = env.get_template(self.template_name).render({**context, **marks})
        literals: list[str] = [html]
        names: list[str] = []
        while True:
            found = [(literals[-1].find(mark), name) for name, mark in marks.items() if mark in literals[-1]]
            if not found:
                return literals, names
            at, name = min(found)
            rest = literals.pop()
            literals += [rest[:at], rest[at + len(marks[name]) :]]
            names.append(name)
