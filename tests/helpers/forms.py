"""Tables of refused form input written field by field: under each field, each message and the
values it answers with that message. ``refusals`` spells a table out as the (field, value,
message) cases a parametrized test takes."""

from __future__ import annotations

REFUSAL_ARGS = ("field", "value", "message")


def refusals(table: dict[str, dict[str, list[str]]]) -> list[tuple[str, str, str]]:
    return [
        (field, value, message)
        for field, messages in table.items()
        for message, values in messages.items()
        for value in values
    ]
