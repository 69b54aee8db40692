"""Product descriptions: plain text with line breaks, or a safe Markdown subset. Raw HTML is
never passed through (it is shown as text) and links may only use http, https or mailto."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True, "typographer": False}).disable(
    ["image", "html_block", "html_inline"]
)
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def _validate_link(url: str) -> bool:
    url = url.strip().lower()
    return url.startswith(_SAFE_SCHEMES) or url.startswith("/") or url.startswith("#")


_md.validateLink = _validate_link  # type: ignore[method-assign]  # markdown-it documents replacing it


def render_description(text: str) -> Markup:
    """HTML safe to put in a page as is."""
    return Markup(_md.render(text or ""))
