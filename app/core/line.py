"""A press's place at the front of its process's line (``app/web/admission.py``), and giving it back.

The line lets a few Buy presses and bids at a time read their session, parse and check their form
and look up their key; a press gives its place to the next in line the moment it joins its batch
(``Lanes.submit`` calls ``leave_the_line``), so it waits for its answer outside the line. The place
travels with the request's context, into the tasks it starts."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar, Token


class Place:
    """A place at the front of the line, given back once."""

    __slots__ = ("held", "slots")

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self.slots = slots
        self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()


_PLACE: ContextVar[Place | None] = ContextVar("smore_press_place", default=None)


def take_place(place: Place) -> Token[Place | None]:
    """The running request holds ``place`` (``leave_the_line`` gives it back)."""
    return _PLACE.set(place)


def forget_place(token: Token[Place | None]) -> None:
    _PLACE.reset(token)


def leave_the_line() -> None:
    """The running press or bid has joined its batch: the next one in line may start. Nothing
    happens outside a press's request, or when its place was given back already."""
    place = _PLACE.get()
    if place is not None:
        place.give_back()
