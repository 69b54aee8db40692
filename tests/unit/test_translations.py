"""Every marked message of the code and the templates has a Korean translation, with the same
placeholders, and the catalogs hold every message (``make messages`` was run after a change)."""

from __future__ import annotations

import re
from configparser import RawConfigParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.core import i18n

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"Msg": None, "N_": None, "_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif0-9.]*|%[sd]")


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    parser = RawConfigParser()
    parser.read(ROOT / "babel.cfg")
    methods, options = [], {}
    for section in parser.sections():
        method, pattern = (part.strip() for part in section.split(":", 1))
        methods.append((pattern, method))
        options[pattern] = dict(parser.items(section))
    return methods, options


def _scanned(path: str) -> bool:
    """The folders `make messages` reads (its --ignore-dirs): every one but hidden ones, caches and
    var/; Babel's own default would also skip templates/_partials and templates/_layouts."""
    name = Path(path).name
    return not (name.startswith(".") or name in {"__pycache__", "var", "node_modules"})


def extracted() -> dict[str, tuple[str, ...]]:
    """msgid → its forms, as `make messages` extracts them."""
    methods, options = _method_map()
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), methods, options, keywords=KEYWORDS, strip_comment_tags=True, directory_filter=_scanned
    ):
        forms = message if isinstance(message, tuple) else (message,)
        if forms and forms[0]:
            key = forms[0] if context is None else f"{context}\x04{forms[0]}"
            found[key] = forms
    return found


def catalog(language: str):  # type: ignore[no-untyped-def]
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp, locale=language)


@pytest.fixture(scope="module")
def messages() -> dict[str, tuple[str, ...]]:
    return extracted()


def _key(message) -> str:  # type: ignore[no-untyped-def]
    msgid = message.id[0] if isinstance(message.id, tuple) else message.id
    return msgid if not message.context else f"{message.context}\x04{msgid}"


def test_the_code_and_templates_mark_their_messages(messages: dict[str, tuple[str, ...]]) -> None:
    assert len(messages) > 20
    assert "Sign in" in messages and "Seller dashboard" in messages


def test_every_message_has_a_korean_translation(messages: dict[str, tuple[str, ...]]) -> None:
    ko = {_key(m): m for m in catalog("ko") if m.id}
    missing = sorted(k for k in messages if k not in ko)
    assert not missing, f"not in the ko catalog (run `make messages`, then translate): {missing[:30]}"
    untranslated = sorted(
        k
        for k in messages
        if ko[k].fuzzy or not all(ko[k].string if isinstance(ko[k].string, tuple) else (ko[k].string,))
    )
    assert not untranslated, f"no Korean translation in app/locale/ko/LC_MESSAGES/messages.po: {untranslated[:30]}"


def test_translations_keep_the_placeholders(messages: dict[str, tuple[str, ...]]) -> None:
    ko = {_key(m): m for m in catalog("ko") if m.id}
    wrong = []
    for key, forms in messages.items():
        wanted = set(_PLACEHOLDER.findall(forms[-1])) | set(_PLACEHOLDER.findall(forms[0]))
        strings = ko[key].string if isinstance(ko[key].string, tuple) else (ko[key].string,)
        for string in strings:
            if set(_PLACEHOLDER.findall(string)) - wanted or (
                len(forms) == 1 and set(_PLACEHOLDER.findall(string)) != wanted
            ):
                wrong.append((key, string))
    assert not wrong, f"placeholders differ from the English: {wrong[:20]}"


def test_the_english_catalog_holds_every_message(messages: dict[str, tuple[str, ...]]) -> None:
    en = {_key(m) for m in catalog("en") if m.id}
    assert not sorted(k for k in messages if k not in en), "run `make messages`"


def test_a_korean_page_speaks_korean() -> None:
    with i18n.using("ko"):
        assert i18n.gettext("Sign in") == "로그인"
        assert str(i18n.Msg("Seller dashboard")) == "판매자 대시보드"
    with i18n.using("en"):
        assert i18n.gettext("Sign in") == "Sign in"


def test_no_function_hides_gettext_behind_a_local_underscore() -> None:
    """``_`` is gettext: a parameter or variable of that name in a module that translates would make
    ``_("…")`` call something else (a route handler, a tuple's part) and fail at the worst moment."""
    import ast

    wrong = []
    for path in [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("tasks").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not any(
            isinstance(node, ast.ImportFrom) and any(alias.name == "_" for alias in node.names)
            for node in ast.walk(tree)
        ):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and node.arg == "_":
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} parameter _")
            elif isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} assigns _")
    assert not wrong, wrong


def test_the_shared_partials_and_layouts_are_translated_too(messages) -> None:  # type: ignore[no-untyped-def]
    """Strings of templates/_partials (pagination) and templates/_layouts reach the catalogs."""
    assert "Previous" in messages and "Next" in messages
    korean = {_key(m): m.string for m in catalog("ko") if m.id}
    assert korean["Previous"] == "이전"
