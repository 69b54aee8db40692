"""Languages and time zones: every sentence a person reads goes through ``_`` (gettext, the catalogs
in ``app/locale``), every time is shown and read in the viewer's zone.

The language and zone of the code running now live in context variables: a request sets them
(``app.web.locale``), a task that writes to a member sets them from the member (``using``). Rules
that are pure call ``_`` as well; a message defined before any request (a module constant) is a
``Msg``, translated when it is shown."""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.dates import format_datetime as _babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup, escape

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("ko", "en")
DEFAULT_LANGUAGE = "en"  # when nothing says Korean (no setting, no cookie, no Accept-Language ko)
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}
DEFAULT_ZONE = "Asia/Seoul"
# The zones a member picks from (any IANA name is accepted; these are offered first).
COMMON_ZONES = (
    "Asia/Seoul",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Europe/London",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "UTC",
)

_language: ContextVar[str | Callable[[], str]] = ContextVar("smore_language", default=DEFAULT_LANGUAGE)
_zone: ContextVar[str | Callable[[], str]] = ContextVar("smore_zone", default=DEFAULT_ZONE)


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``language`` (``make catalogs``); read from its ``.po`` when the
    ``.mo`` is missing or older, so a fresh checkout never shows untranslated pages."""
    base = LOCALE_DIR / language / "LC_MESSAGES"
    po, mo = base / "messages.po", base / "messages.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return _gettext.GNUTranslations(fp)
    if not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def current_language() -> str:
    value = _language.get()
    return value() if callable(value) else value


def current_zone_name() -> str:
    value = _zone.get()
    return value() if callable(value) else value


def current_zone() -> ZoneInfo:
    return zone_or_default(current_zone_name())


def set_context(language: str | Callable[[], str], zone: str | Callable[[], str]) -> Callable[[], None]:
    """Set the language and zone (values, or how to find them once asked); returns the undo."""
    lang_token, zone_token = _language.set(language), _zone.set(zone)

    def reset() -> None:
        _zone.reset(zone_token)
        _language.reset(lang_token)

    return reset


@contextmanager
def using(language: str | None = None, zone: str | None = None) -> Iterator[None]:
    """Speak ``language`` and show times in ``zone`` inside the block (a mail, a live fragment)."""
    reset = set_context(
        language if language in LANGUAGES else current_language(),
        zone if zone and is_zone(zone) else current_zone_name(),
    )
    try:
        yield
    finally:
        reset()


def gettext(message: str, **params: Any) -> str:
    """``message`` in the current language, ``%(name)s`` filled from ``params``."""
    text = translations(current_language()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(current_language()).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def pgettext(context: str, message: str, **params: Any) -> str:
    text = translations(current_language()).pgettext(context, message)
    return text % params if params else text


_ = gettext


def raw_gettext(message: str) -> str:
    """The translation alone, unformatted (Jinja's i18n extension fills the parameters itself)."""
    return translations(current_language()).gettext(message)


def raw_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def raw_pgettext(context: str, message: str) -> str:
    return translations(current_language()).pgettext(context, message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs without translating it (translated where shown)."""
    return message


class Msg(str):
    """A sentence translated when it is shown, in whatever language is current then: rules and
    module constants return these instead of finished English. ``str(msg)``, ``f"{msg}"`` and
    Jinja translate; as a plain string (``in``, ``==``, JSON) it is the English, so code and tests
    that compare it keep working."""

    __slots__ = ("message", "params")
    message: str
    params: dict[str, Any]

    def __new__(cls, message: str, **params: Any) -> Msg:
        english = message % params if params else message
        obj = super().__new__(cls, english)
        obj.message, obj.params = message, params
        return obj

    def __str__(self) -> str:
        params = {k: str(v) if isinstance(v, Msg) else v for k, v in self.params.items()}
        return gettext(self.message, **params)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __html__(self) -> Markup:
        return escape(str(self))

    def __repr__(self) -> str:
        return f"Msg({self.message!r})"

    def __add__(self, other: str) -> str:
        return str(self) + str(other)

    def __radd__(self, other: str) -> str:
        return str(other) + str(self)

    __hash__ = str.__hash__


def text(value: object) -> str:
    """A ``Msg`` translated now, or any value as text."""
    return str(value) if value is not None else ""


# --- time zones -----------------------------------------------------------------------------------


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def is_zone(name: str | None) -> bool:
    return bool(name) and name in _zones()


def zone_or_default(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name and is_zone(name) else ZoneInfo(DEFAULT_ZONE)
    except ZoneInfoNotFoundError:  # a zone named in the list but missing from the system's data
        return ZoneInfo(DEFAULT_ZONE)


def zone_choices() -> list[str]:
    """The zones offered first, then every other IANA zone, alphabetically."""
    rest = sorted(_zones() - set(COMMON_ZONES))
    return [*COMMON_ZONES, *rest]


_FORMATS = {
    # 2026년 12월 2일 (수) 오후 3:05 KST  ·  Wed 2 Dec 2026, 3:05 PM KST
    "ko": {
        "full": "y년 M월 d일 (E) a h:mm",
        "date": "y년 M월 d일 (E)",
        "time": "a h:mm",
        "seconds": "a h:mm:ss",
        "short": "M월 d일 a h:mm",
    },
    "en": {
        "full": "EEE d MMM y, h:mm a",
        "date": "EEE d MMM y",
        "time": "h:mm a",
        "seconds": "h:mm:ss a",
        "short": "d MMM, h:mm a",
    },
}


def local(value: datetime) -> datetime:
    """``value`` (UTC inside; a naive value is taken as UTC) in the viewer's zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(current_zone())


def format_datetime(value: datetime | None, form: str = "full", *, zone_name: bool = True) -> str:
    """A time in the viewer's language and zone, with the zone's abbreviation (KST)."""
    if value is None:
        return ""
    moment = local(value)
    language = current_language()
    pattern = _FORMATS.get(language, _FORMATS["en"])[form]
    shown = _babel_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=Locale.parse(language))
    return f"{shown} {zone_abbreviation(moment)}" if zone_name else shown


def zone_abbreviation(moment: datetime) -> str:
    name = moment.tzname() or ""
    if name and name[0] not in "+-":
        return name
    return f"UTC{name}" if name else "UTC"  # zones without an abbreviation: UTC+04


def input_value(value: datetime | None) -> str:
    """A time as a ``datetime-local`` input shows it, in the viewer's zone."""
    return local(value).strftime("%Y-%m-%dT%H:%M") if value is not None else ""


def parse_local(value: str, zone: ZoneInfo | None = None) -> datetime:
    """A ``datetime-local`` value (``2026-12-02T15:05``, seconds optional) read in the viewer's zone,
    as UTC. A time the zone skips (a DST gap) is read as after the gap. Raises ValueError."""
    naive = datetime.fromisoformat(value.strip())
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    # fold=0: a repeated hour reads as its first pass, a skipped one with the offset before the
    # jump (02:30 on a spring-forward night is 03:30 after it)
    return naive.replace(tzinfo=zone or current_zone()).astimezone(UTC)


def format_took(delta: timedelta) -> str:
    """How long something took, as a clock shows it ("0:04", "1:02:05", "2 days 3 hours")."""
    if delta.total_seconds() < 1:
        return _("%(minutes)d:%(seconds)02d", minutes=0, seconds=0)
    return format_remaining(delta)


def format_remaining(delta: timedelta) -> str:
    """How long until a deadline, as a person says it: "2 days 3 hours", "8:12", "ended"."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return _("ended")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return ngettext("%(num)d day", "%(num)d days", days) + (
            " " + ngettext("%(num)d hour", "%(num)d hours", hours) if hours else ""
        )
    if hours:
        return _("%(hours)d:%(minutes)02d:%(seconds)02d", hours=hours, minutes=minutes, seconds=secs)
    return _("%(minutes)d:%(seconds)02d", minutes=minutes, seconds=secs)
