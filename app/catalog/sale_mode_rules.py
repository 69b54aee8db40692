"""Pure rules for a listing's sale mode: first come, first served, a waiting room, or a draw. Parse
the mode's fields of the listing form, explain each refusal next to its field, and say which draw
seed a listing keeps. No I/O; ``now`` and the seed maker are passed in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from app.catalog.product_rules import parse_int, parse_local_datetime
from app.core.i18n import _
from app.drops.draw_rules import commitment, new_seed
from app.models.catalog import SaleMode

FIELDS = ("sale_mode", "admission_rate_per_minute", "draw_ends_at", "draw_min_account_days")
RATE_MAX = 1_000_000
ACCOUNT_DAYS_MAX = 3650
DRAW_MIN_WINDOW = timedelta(minutes=5)
DRAW_MAX_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class SaleModeValues:
    """A sale mode that passed every rule; the fields of the other modes are None (or 0)."""

    sale_mode: SaleMode
    admission_rate_per_minute: int | None = None  # None: the shop's setting
    draw_ends_at: datetime | None = None  # aware, UTC
    draw_min_account_days: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_draw_end(raw: str) -> datetime | str:
    """The draw's end as a ``datetime-local`` value read in the viewer's zone → aware UTC, or a message."""
    return parse_local_datetime(
        raw,
        missing=_("Enter the date and time the draw's entries close."),
        malformed=_("Enter the draw's end as a date and time, like 2030-05-01 21:00."),
    )


def draw_window_error(starts_at: datetime, ends_at: datetime) -> str | None:
    """Why a draw's entry window (from the sale's start to ``ends_at``) is refused, or None."""
    if ends_at < starts_at + DRAW_MIN_WINDOW:
        return _("The draw must end at least 5 minutes after the sale starts.")
    if ends_at > starts_at + DRAW_MAX_WINDOW:
        return _("The draw can end at most 30 days after the sale starts.")
    return None


def parse_sale_mode(
    form: Mapping[str, str], starts_at: datetime | None, now: datetime
) -> tuple[SaleModeValues | None, dict[str, str]]:
    """Check the sale mode's fields of a listing form. ``starts_at``: the sale's start as parsed
    from the same form (None when it was refused: the draw's window is then not checked against
    it). The fields of the modes not chosen are ignored. Returns the clean values (None when
    anything is wrong) and the errors by field name."""

    def get(key: str) -> str:
        value = form.get(key)
        return value.strip() if isinstance(value, str) else ""

    raw_mode = get("sale_mode") or SaleMode.FIRST_COME.value
    if raw_mode not in SaleMode._value2member_map_:
        return None, {"sale_mode": _("Choose one of the three sale modes.")}
    mode = SaleMode(raw_mode)
    errors: dict[str, str] = {}

    if mode is SaleMode.WAITING_ROOM:
        rate: int | str | None = None
        if raw_rate := get("admission_rate_per_minute"):
            rate = parse_int(raw_rate, low=1, high=RATE_MAX, what=_("The admission rate"), example="600")
        if isinstance(rate, str):
            return None, {"admission_rate_per_minute": rate}
        return SaleModeValues(mode, admission_rate_per_minute=rate), {}

    if mode is SaleMode.FIRST_COME:
        return SaleModeValues(mode), {}

    ends_at = parse_draw_end(get("draw_ends_at"))
    if isinstance(ends_at, datetime):
        if starts_at is not None and (err := draw_window_error(starts_at, ends_at)):
            ends_at = err
        elif ends_at <= now:
            ends_at = _("The draw's end is in the past; it must be at least 5 minutes after the sale starts.")
    if isinstance(ends_at, str):
        errors["draw_ends_at"] = ends_at
    days = parse_int(
        get("draw_min_account_days") or "0",
        low=0,
        high=ACCOUNT_DAYS_MAX,
        what=_("The minimum account age"),
        example="30",
    )
    if isinstance(days, str):
        errors["draw_min_account_days"] = days
    if errors or not isinstance(ends_at, datetime) or not isinstance(days, int):
        return None, errors
    return SaleModeValues(mode, draw_ends_at=ends_at, draw_min_account_days=days), {}


def sale_mode_columns(
    values: SaleModeValues, kept_seed: str | None, make_seed: Callable[[], str] = new_seed
) -> dict[str, object]:
    """The product's sale mode columns: the values, and for a draw its seed and the seed's SHA-256.
    A listing that stays a draw keeps ``kept_seed`` (its commitment may already have been seen);
    one that becomes a draw gets a fresh seed; any other mode has neither."""
    if values.sale_mode is not SaleMode.DRAW:
        return values.as_dict() | {"draw_seed": None, "draw_commitment": None}
    seed = kept_seed or make_seed()
    return values.as_dict() | {"draw_seed": seed, "draw_commitment": commitment(seed)}


def line_opens_at(starts_at: datetime, opens_before_minutes: int) -> datetime:
    """When a waiting room's line opens: the shop's lead before the sale's start."""
    return starts_at - timedelta(minutes=opens_before_minutes)
