"""What must never reach a log line, and how it is kept out: values under keys that name a secret
are replaced (``redact_secret_keys``, on the event before it is rendered), and every rendered line
is scrubbed (``Scrubber``) of reset tokens in links, card numbers (Luhn-checked), credentials in
URLs, query strings and ``Authorization`` values, and the literal secrets of the process
(``SECRET_KEY``, the gateway's secret key and webhook secret)."""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from structlog.typing import EventDict, WrappedLogger

    from app.settings import Settings

REDACTED = "[redacted]"

_SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "csrf",
    "authorization",
    "cookie",
    "session",
    "card_number",
    "cardnumber",
    "api_key",
    "credential",
)


@functools.lru_cache(maxsize=1024)
def is_secret_key(key: str) -> bool:
    """Whether a value logged under ``key`` is a secret (``password_confirm``, ``Set-Cookie``…)."""
    name = key.lower().replace("-", "_")
    return any(word in name for word in _SECRET_WORDS)


def _without_secrets(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and is_secret_key(k) else _without_secrets(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_without_secrets(item, depth + 1) for item in value]
    return value


def redact_secret_keys(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Replace the value of every key (nested too) that names a secret."""
    for key, value in event_dict.items():
        if is_secret_key(key):
            event_dict[key] = REDACTED
        elif isinstance(value, Mapping | list | tuple):
            event_dict[key] = _without_secrets(value)
    return event_dict


_RESET_LINK = re.compile(r"(/password/reset/|password%2[Ff]reset%2[Ff])(?!\{)[^/\s\"'?#&\\%<>]+")
_CREDENTIALS = re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{16,}", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@\"']*:)[^@\s/\"']+@", re.IGNORECASE)
_SECRET_PARAM = re.compile(
    r"(\b(?:\w*password\w*|\w*secret\w*|\w*token\w*|csrf\w*|session\w*)=)[^&\s\"'<>]+", re.IGNORECASE
)
_SECRET_ITEM = re.compile(
    r"""(['"](?:\w*password\w*|\w*secret\w*|\w*token\w*|csrf\w*|authorization|cookie|session\w*)['"]\s*:\s*)"""
    r"""(['"])(?:(?!\2).)*\2""",
    re.IGNORECASE,
)
# A digit first (the engine skips to digits); the boundaries are checked on a match (``_card``).
_CARD = re.compile(r"\d(?:[ -]?\d){12,18}")
# A line holding none of these words holds no secret ``_SECRET_PARAM`` or ``_SECRET_ITEM`` finds.
_HINTS = ("password", "secret", "token", "csrf", "session", "authorization", "cookie")


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        n = int(char)
        if position % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    inside_a_word = (start and (text[start - 1].isalnum() or text[start - 1] in "_.-")) or (
        end < len(text) and (text[end].isalnum() or text[end] in "_.-")
    )
    if inside_a_word or not _luhn(re.sub(r"\D", "", match.group(0))):
        return match.group(0)
    return REDACTED


class Scrubber:
    """Takes secrets out of a rendered line: the patterns above, and the literal values given."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        # Short values would blank ordinary words; every secret the shop holds is long.
        self.secrets = tuple(sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True))

    def __call__(self, line: str) -> str:
        """``line`` without secrets. Each pattern runs only on a line with a word it needs: most
        lines (an access line among them) cost a few substring checks and the card scan."""
        for secret in self.secrets:
            if secret in line:
                line = line.replace(secret, REDACTED)
        lower = line.lower()
        if "reset" in lower:
            line = _RESET_LINK.sub(rf"\1{REDACTED}", line)
        if any(hint in lower for hint in _HINTS):
            line = _SECRET_PARAM.sub(rf"\1{REDACTED}", line)
            line = _SECRET_ITEM.sub(rf"\1\2{REDACTED}\2", line)
        if "://" in line and "@" in line:
            line = _URL_PASSWORD.sub(rf"\1{REDACTED}@", line)
        if "basic " in lower or "bearer " in lower:
            line = _CREDENTIALS.sub(rf"\1 {REDACTED}", line)
        return _CARD.sub(_card, line)


def process_secrets(settings: Settings) -> tuple[str, ...]:
    """The secrets this process holds, as they could appear in a line (a Basic header's too)."""
    values = [settings.secret_key, settings.payment_secret_key, settings.payment_webhook_secret or ""]
    basic = base64.b64encode(f"{settings.payment_secret_key}:".encode()).decode()
    return (*values, basic)
