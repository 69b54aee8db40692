"""One transition table per status enum: the only way a status may change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Generic, TypeVar

S = TypeVar("S", bound=Enum)


class IllegalTransition(Exception):
    def __init__(self, machine: str, source: Enum, target: Enum) -> None:
        super().__init__(f"{machine}: {source.value} → {target.value} is not allowed")
        self.machine = machine
        self.source = source
        self.target = target


class StateMachine(Generic[S]):
    """A named table of allowed moves ``source → {targets}``."""

    def __init__(self, name: str, table: Mapping[S, Iterable[S]]) -> None:
        self.name = name
        self.table: dict[S, frozenset[S]] = {src: frozenset(dsts) for src, dsts in table.items()}

    def allowed(self, source: S) -> frozenset[S]:
        return self.table.get(source, frozenset())

    def can(self, source: S, target: S) -> bool:
        return target in self.allowed(source)

    def check(self, source: S, target: S) -> None:
        if not self.can(source, target):
            raise IllegalTransition(self.name, source, target)

    def is_terminal(self, state: S) -> bool:
        return not self.allowed(state)
