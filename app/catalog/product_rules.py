"""Pure rules for a product listing form: parse every field, check it, explain each refusal next to
its field. No I/O; ``now`` is passed in."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from app.core.i18n import _, input_value, parse_local
from app.core.numbers import MAX_ID as MAX_ID

NAME_MAX = 120
DESCRIPTION_MAX = 5000
PRICE_MAX = 1_000_000_000
QUANTITY_MAX = 100_000
DURATION_MIN, DURATION_MAX = 5, 7 * 24 * 60
MIN_LEAD = timedelta(minutes=1)
MAX_LEAD = timedelta(days=366)

FIELDS = (
    "name",
    "description",
    "category_id",
    "list_price",
    "total_quantity",
    "fixed_quantity",
    "purchase_limit",
    "sale_starts_at",
    "auction_start_price",
    "auction_increment",
    "auction_duration_minutes",
)
AUCTION_FIELDS = ("auction_start_price", "auction_increment", "auction_duration_minutes")

_PLAIN_INT = re.compile(r"^[+-]?\d+$")
_GROUPED_INT = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+$")
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?$")


@dataclass(frozen=True)
class ProductValues:
    """A listing that passed every rule. Money in whole won; ``sale_starts_at`` aware, in UTC."""

    name: str
    description: str
    category_id: int
    list_price: int
    total_quantity: int
    fixed_quantity: int
    purchase_limit: int
    sale_starts_at: datetime
    auction_start_price: int | None
    auction_increment: int | None
    auction_duration_minutes: int | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_int(raw: str, *, low: int, high: int, what: str, unit: str = "", example: str = "12,000") -> int | str:
    """A whole number typed as text (``"12,000"`` allowed) within ``low..high``, or the message
    explaining why not. ``what`` (translated) starts the message (“The list price”)."""
    text = raw.strip().replace(" ", "")
    what = str(what)
    if not text:
        return _("Enter %(what)s.", what=what[0].lower() + what[1:])
    if not text.isascii() or not (_PLAIN_INT.match(text) or _GROUPED_INT.match(text)):
        return _("%(what)s must be a whole number, like %(example)s.", what=what, example=example)
    digits = text.replace(",", "").lstrip("+")
    if digits.startswith("-"):
        return _("%(what)s must be at least %(amount)s.", what=what, amount=_amount(low, unit))
    if len(digits.lstrip("0")) > 15:  # never hand int() a number of absurd length
        return _("%(what)s can be at most %(amount)s.", what=what, amount=_amount(high, unit))
    value = int(digits)
    if value < low:
        return _("%(what)s must be at least %(amount)s.", what=what, amount=_amount(low, unit))
    if value > high:
        return _("%(what)s can be at most %(amount)s.", what=what, amount=_amount(high, unit))
    return value


def _amount(value: int, unit: str) -> str:
    if unit == "won":
        return f"₩{value:,}"
    if unit == "minutes":
        return _("%(count)s minutes", count=f"{value:,}")
    return f"{value:,}"


def parse_local_datetime(raw: str, missing: str | None = None, malformed: str | None = None) -> datetime | str:
    """An HTML ``datetime-local`` value read in the viewer's time zone (their setting; Asia/Seoul by
    default) → aware UTC, or a message: ``missing`` / ``malformed`` (else the sale start's)."""
    text = raw.strip()
    if not text:
        return missing or _("Enter the date and time the sale starts.")
    if not _LOCAL_DATETIME.match(text):
        return malformed or _("Enter the start as a date and time, like 2030-05-01 20:00.")
    try:
        return parse_local(text.replace(" ", "T"))
    except (ValueError, OverflowError):
        return _("That date does not exist; check the day and the time.")


def parse_start(raw: str, now: datetime) -> datetime | str:
    """The sale's start from the form, read in the viewer's zone: a minute ahead at least (the form
    picks whole minutes, so the next minute on the clock counts), a year at most; or a message."""
    starts = parse_local_datetime(raw)
    if isinstance(starts, datetime):
        if starts <= now or starts < now.replace(second=0, microsecond=0) + MIN_LEAD:
            return _("The start time is in the past; choose a time at least a minute from now.")
        if starts > now + MAX_LEAD:
            return _("The sale can start at most a year from now.")
    return starts


def to_local_input(value: datetime) -> str:
    """The reverse of ``parse_local_datetime``: a UTC instant as a ``datetime-local`` value."""
    return input_value(value)


def _has_control(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def name_error(name: str) -> str | None:
    if not name:
        return _("Enter the product's name.")
    if len(name) > NAME_MAX:
        return _(
            "A name has at most %(most)s characters (this one has %(count)s).", most=NAME_MAX, count=f"{len(name):,}"
        )
    if _has_control(name):
        return _("A name cannot contain control characters.")
    return None


def description_error(description: str) -> str | None:
    if len(description) > DESCRIPTION_MAX:
        return _(
            "A description has at most %(most)s characters (this one has %(count)s).",
            most=f"{DESCRIPTION_MAX:,}",
            count=f"{len(description):,}",
        )
    if _has_control(description, "\n\t"):
        return _("The description contains control characters; paste it as plain text.")
    return None


def parse_category_id(raw: str) -> int | str:
    text = raw.strip()
    if not text:
        return _("Choose a category.")
    if not text.isascii() or not text.isdigit() or len(text) > 10 or not 1 <= int(text) <= MAX_ID:
        return _("Choose one of the listed categories.")
    return int(text)


def parse_product_form(form: Mapping[str, str], now: datetime) -> tuple[ProductValues | None, dict[str, str]]:
    """Check a submitted listing form. Returns the clean values (``None`` when anything is wrong)
    and the errors by field name."""

    def get(key: str) -> str:
        value = form.get(key)
        return value if isinstance(value, str) else ""

    errors: dict[str, str] = {}
    clean: dict[str, object] = {}

    def take(key: str, result: object) -> None:
        if isinstance(result, str):
            errors[key] = result
        else:
            clean[key] = result

    name = get("name").strip()
    description = get("description").replace("\r\n", "\n").replace("\r", "\n").strip()
    if err := name_error(name):
        errors["name"] = err
    if err := description_error(description):
        errors["description"] = err
    take("category_id", parse_category_id(get("category_id")))
    take("list_price", parse_int(get("list_price"), low=1, high=PRICE_MAX, what=_("The list price"), unit="won"))

    def quantity(key: str, what: str, raw: str, low: int = 1) -> None:
        take(key, parse_int(raw, low=low, high=QUANTITY_MAX, what=what, example="10"))

    quantity("total_quantity", _("The total quantity"), get("total_quantity"))
    # 0: an auction-only listing, every unit goes to the auction
    quantity("fixed_quantity", _("The fixed-price quantity"), get("fixed_quantity"), low=0)
    quantity("purchase_limit", _("The purchase limit"), get("purchase_limit").strip() or "1")

    total, fixed, limit = clean.get("total_quantity"), clean.get("fixed_quantity"), clean.get("purchase_limit")
    if isinstance(total, int) and isinstance(fixed, int) and fixed > total:
        errors["fixed_quantity"] = _(
            "The fixed-price quantity cannot be more than the total quantity (%(total)s).", total=f"{total:,}"
        )
        clean.pop("fixed_quantity")
    elif isinstance(fixed, int) and isinstance(limit, int) and fixed > 0 and limit > fixed:
        errors["purchase_limit"] = _(
            "The purchase limit cannot be more than the fixed-price quantity (%(fixed)s).", fixed=f"{fixed:,}"
        )

    take("sale_starts_at", parse_start(get("sale_starts_at"), now))

    # Auction settings matter only when some units are left over for the auction.
    needs_auction = not (isinstance(total, int) and isinstance(fixed, int) and fixed >= total)
    if needs_auction:
        take(
            "auction_start_price",
            parse_int(get("auction_start_price"), low=1, high=PRICE_MAX, what=_("The auction start price"), unit="won"),
        )
        take(
            "auction_increment",
            parse_int(get("auction_increment"), low=1, high=PRICE_MAX, what=_("The bid increment"), unit="won"),
        )
        take(
            "auction_duration_minutes",
            parse_int(
                get("auction_duration_minutes"),
                low=DURATION_MIN,
                high=DURATION_MAX,
                what=_("The auction duration"),
                unit="minutes",
                example="60",
            ),
        )
    else:
        clean |= dict.fromkeys(AUCTION_FIELDS)

    if errors:
        return None, errors
    return ProductValues(name=name, description=description, **clean), {}  # type: ignore[arg-type]  # clean holds only ProductValues fields, checked above
