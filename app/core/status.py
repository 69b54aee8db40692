"""The one way a status changes, for every aggregate.

A move is a conditional ``UPDATE … WHERE id = :id AND status = :from [AND extra conditions]``,
checked first against the aggregate's transition table (``IllegalTransition``), which writes the
aggregate's history row and exactly one outbox event in the same transaction. When the row had
moved meanwhile (another request or worker got there first, or an extra condition no longer
holds) nothing is written and ``StaleStatus`` is raised; ``try_move`` answers False instead, for
callers to whom "someone else did it" means "nothing to do".

Each aggregate is described once (``Aggregate``: model, table, history row, event topic, extra
values a move writes) beside the code that owns it, and registered here with ``register``, which
also declares the topics its moves publish. ``due`` finds the rows whose time in a status is up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Generic, ParamSpec, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm.attributes import set_committed_value

from app.core.errors import DomainError
from app.core.i18n import _
from app.core.results import rows_changed
from app.core.states import StateMachine
from app.events.outbox import record_event
from app.events.topics import Topic, publishes, status_topic
from app.models.base import utcnow
from app.models.members import Member
from app.models.status import StatusChange

S = TypeVar("S", bound=Enum)
P = ParamSpec("P")


class StaleStatus(DomainError):
    """The row moved meanwhile: nothing was written."""


@dataclass(frozen=True)
class Move(Generic[S]):
    """One move, as the aggregate's hooks see it."""

    entity: Any
    source: S | None  # None: the first status of a new row (``created``)
    target: S
    reason: str | None
    actor_id: int | None
    now: datetime


def _nothing(move: Move[Any]) -> Mapping[str, object]:
    return {}


def _named_after_aggregate(_step: Any) -> Any:
    """The default ``history`` and ``topic``, which ``Aggregate`` replaces with its name's own."""
    raise AssertionError("an Aggregate fills in its default history and topic when it is made")


@dataclass(frozen=True)
class Aggregate(Generic[S]):
    """How one aggregate's status moves.

    ``name``: the aggregate type its events (and generic history rows) carry; ``history``: the
    history row of a move (by default a ``status_changes`` row; ``own_history`` for a table of the
    part's own); ``topic``: the topic a move to a status publishes (by default ``{name}.{status}``);
    ``values``: columns a move writes besides ``status`` (``updated_at`` is stamped wherever the
    model has one); ``payload``: what its event carries besides ``from_status`` and ``to_status``
    (``columns`` names some of the row's own); ``guard``: refusals beyond the table (raise
    ``IllegalTransition``); ``after``: more rows a move writes (the payment audit line)."""

    name: str
    model: type[Any]
    machine: StateMachine[S]
    history: Callable[[Move[S]], object] = _named_after_aggregate
    topic: Callable[[S], Topic] = _named_after_aggregate
    values: Callable[[Move[S]], Mapping[str, object]] = _nothing
    payload: Callable[[Move[S]], Mapping[str, object]] = _nothing
    guard: Callable[[Move[S]], None] | None = None
    after: Callable[[AsyncSession, Move[S]], None] | None = None
    stamps_updated_at: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.history is _named_after_aggregate:
            object.__setattr__(self, "history", generic_history(self.name))
        if self.topic is _named_after_aggregate:
            object.__setattr__(self, "topic", prefixed(self.name))
        object.__setattr__(self, "stamps_updated_at", "updated_at" in self.model.__table__.columns)

    def topics(self) -> frozenset[Topic]:
        """Every topic this aggregate's moves can publish: one per target in its table."""
        return frozenset(self.topic(target) for targets in self.machine.table.values() for target in targets)


_REGISTRY: dict[type[Any], Aggregate[Any]] = {}


def register(aggregate: Aggregate[S]) -> Aggregate[S]:
    """Make ``aggregate`` movable through this core, and declare the topics its moves publish
    (a move to a status whose topic ``Topic`` does not name fails here, at import)."""
    known = _REGISTRY.get(aggregate.model)
    if known is not None and known is not aggregate:
        raise ValueError(f"{aggregate.model.__name__} is registered already (as {known.name!r})")
    topics = aggregate.topics()
    _REGISTRY[aggregate.model] = aggregate
    publishes(*topics)
    return aggregate


def aggregate_of(model: type[Any]) -> Aggregate[Any]:
    try:
        return _REGISTRY[model]
    except KeyError:
        raise LookupError(f"{model.__name__} is not registered with the status core") from None


def registered() -> Mapping[type[Any], Aggregate[Any]]:
    return dict(_REGISTRY)


def prefixed(prefix: str) -> Callable[[Any], Topic]:
    """Topics named ``{prefix}.{status}`` (e.g. ``order.paid``)."""
    return lambda status: status_topic(prefix, status)


def one_topic(topic: Topic) -> Callable[[Any], Topic]:
    """The same topic for every move (e.g. ``product.status_changed``, whose payload says where to)."""
    return lambda status: topic


def generic_history(name: str, reason_length: int = 500) -> Callable[[Move[Any]], object]:
    """A ``status_changes`` row, for aggregates without a history table of their own."""

    def row(move: Move[Any]) -> StatusChange:
        return StatusChange(
            aggregate=name,
            entity_id=move.entity.id,
            from_status=move.source.value if move.source is not None else None,
            to_status=move.target.value,
            reason=clip(move.reason, reason_length),
            actor_id=move.actor_id,
        )

    return row


def own_history(key: InstrumentedAttribute[int]) -> Callable[[Move[Any]], object]:
    """A row of the aggregate's own history table, whose column ``key`` names the row that moved
    (``OrderChange.order_id``); the reason is clipped to the table's column, and the actor is kept
    where the table has a column for it."""
    model = key.class_
    assert isinstance(model, type)
    table = model.__table__.columns
    reason_length = table["reason"].type.length
    keeps_actor = "actor_id" in table

    def row(move: Move[Any]) -> object:
        actor = {"actor_id": move.actor_id} if keeps_actor else {}
        reason = clip(move.reason, reason_length)
        return model(
            **{key.key: move.entity.id}, from_status=move.source, to_status=move.target, reason=reason, **actor
        )

    return row


def columns(*names: str) -> Callable[[Move[Any]], Mapping[str, object]]:
    """A payload of the moved row's own ``names`` columns (e.g. the order a payment is for)."""
    return lambda move: {name: getattr(move.entity, name) for name in names}


def clip(text: str | None, length: int) -> str | None:
    return text[:length] if text is not None else None


async def move(
    db: AsyncSession,
    entity: Any,
    target: Enum,
    *,
    reason: str | None = None,
    actor: Member | None = None,
    where: Iterable[ColumnElement[bool]] = (),
    now: datetime | None = None,
    **values: object,
) -> Any:
    """Move ``entity`` (a loaded row of a registered model) from the status it was read with to
    ``target``; returns the history row. ``where``: extra conditions the row must still meet;
    ``values``: more columns to write with this move. Raises ``IllegalTransition`` (the table
    refuses) or ``StaleStatus`` (it moved meanwhile); either way nothing is written."""
    aggregate = aggregate_of(type(entity))
    source = entity.status
    step = Move(entity, source, target, reason, actor.id if actor is not None else None, now or utcnow())
    aggregate.machine.check(source, target)
    if aggregate.guard is not None:
        aggregate.guard(step)
    written: dict[str, object] = {"status": target}
    if aggregate.stamps_updated_at:
        written["updated_at"] = step.now
    written |= aggregate.values(step)
    written |= values
    model = aggregate.model
    result = await db.execute(
        update(model)
        .where(model.id == entity.id, model.status == source, *where)
        .values(**written)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result) != 1:
        raise StaleStatus(_("This changed meanwhile; reload the page and try again."))
    for key, value in written.items():
        set_committed_value(entity, key, value)
    row = aggregate.history(step)
    db.add(row)
    if aggregate.after is not None:
        aggregate.after(db, step)
    await record_event(
        db,
        aggregate.topic(target),
        aggregate.name,
        entity.id,
        from_status=source.value,
        to_status=target.value,
        **aggregate.payload(step),
    )
    return row


async def due(
    db: AsyncSession, status: Enum, deadline: InstrumentedAttribute[datetime], now: datetime | None, limit: int
) -> list[int]:
    """The ids of the rows in ``status`` whose ``deadline`` has come by ``now``, the earliest first."""
    model = deadline.class_
    stmt = select(model.id).where(model.status == status, deadline <= (now or utcnow())).order_by(deadline).limit(limit)
    return list((await db.execute(stmt)).scalars())


def _stale_is_false(move: Callable[P, Awaitable[object]]) -> Callable[P, Awaitable[bool]]:
    async def tolerant(*args: P.args, **kwargs: P.kwargs) -> bool:
        try:
            await move(*args, **kwargs)
        except StaleStatus:
            return False
        return True

    return tolerant


try_move = _stale_is_false(move)
"""``move``, answering False when the row had moved meanwhile (nothing to do: someone else made this
move or another one first). An illegal move still raises."""


def created(db: AsyncSession, entity: Any, *, reason: str | None = None, actor: Member | None = None) -> object:
    """The first history row of a row just inserted (and flushed) with its first status. A new row
    publishes its own creation event, if any (``order.created``): no move happened."""
    aggregate = aggregate_of(type(entity))
    row = aggregate.history(
        Move(entity, None, entity.status, reason, actor.id if actor is not None else None, utcnow())
    )
    db.add(row)
    return row
