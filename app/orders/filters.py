"""The filters of the seller's orders (``/seller/orders`` and its CSV): a state, one of the
seller's products, and a range of days read in the viewer's zone. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.core.i18n import _, current_zone
from app.core.numbers import parse_id
from app.models.orders import OrderStatus

FIELDS = ("status", "product", "since", "until")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class OrderFilters:
    state: OrderStatus | None = None
    product_id: int | None = None
    since: datetime | None = None  # the first instant of the first day (UTC), inclusive
    until: datetime | None = None  # the first instant after the last day (UTC), exclusive
    values: dict[str, str] = field(default_factory=dict)  # the fields as asked, for the form and links
    errors: dict[str, str] = field(default_factory=dict)  # field → why it was refused

    @property
    def active(self) -> bool:
        return any(self.values.get(name) for name in FIELDS)


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone``, as UTC."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _day(raw: str) -> date | None:
    if not _DAY.fullmatch(raw):
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if 1900 <= day.year <= 9998 else None  # a day every zone can turn into UTC and back


def read_filters(raw: Mapping[str, str | None], product_ids: set[int], zone: ZoneInfo | None = None) -> OrderFilters:
    """The filters asked for in ``raw`` (query parameters); ``product_ids`` are the seller's own
    products. Anything refused is named in ``errors`` and filters nothing."""
    values = {name: (raw.get(name) or "").strip()[:40] for name in FIELDS}
    errors: dict[str, str] = {}
    state = None
    if values["status"]:
        try:
            state = OrderStatus(values["status"])
        except ValueError:
            errors["status"] = _("Choose a state from the list.")
    product_id = parse_id(values["product"]) if values["product"] else None
    if values["product"] and product_id not in product_ids:
        errors["product"] = _("Choose one of your products from the list.")
        product_id = None
    zone = zone or current_zone()
    days = {}
    for name in ("since", "until"):
        if values[name]:
            if (day := _day(values[name])) is None:
                errors[name] = _("Enter a date as YYYY-MM-DD (e.g. 2026-12-02).")
            else:
                days[name] = day
    if "since" in days and "until" in days and days["until"] < days["since"]:
        errors["until"] = _("The last day cannot be before the first day.")
    since = start_of_day(days["since"], zone) if "since" in days else None
    until = start_of_day(days["until"] + timedelta(days=1), zone) if "until" in days else None
    if errors:
        return OrderFilters(values=values, errors=errors)
    return OrderFilters(state, product_id, since, until, values, errors)
