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
