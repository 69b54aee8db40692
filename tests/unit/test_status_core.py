"""The status core's registration, without a database: the topics an aggregate's moves publish come
from its table's targets, are declared when it registers, and a target with no named topic is
refused at registration (import time), not at the first move."""

from __future__ import annotations

from enum import StrEnum

import pytest
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.core import status
from app.core.states import StateMachine
from app.core.status import Aggregate, aggregate_of, generic_history, one_topic, prefixed, register
from app.events.topics import Topic, published


class _Base(DeclarativeBase):  # not the app's metadata: the app's model walk never sees these
    pass


Light = StrEnum("Light", ["PAID", "REFUNDED", "BOGUS"])  # values: "paid", "refunded", "bogus"


class Thing(_Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[str] = mapped_column(String(20))


class Other(_Base):
    __tablename__ = "others"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))


def test_topics_come_from_the_targets_of_the_table():
    machine = StateMachine("thing", {Light.PAID: {Light.REFUNDED}, Light.REFUNDED: set()})
    aggregate = Aggregate("thing", Thing, machine, generic_history("thing"), prefixed("order"))
    assert aggregate.topics() == {Topic.ORDER_REFUNDED}
    assert aggregate.stamps_updated_at is True
    same = Aggregate("thing", Other, machine, generic_history("thing"), one_topic(Topic.PRODUCT_STATUS_CHANGED))
    assert same.topics() == {Topic.PRODUCT_STATUS_CHANGED} and same.stamps_updated_at is False


@pytest.fixture(autouse=True)
def registry(monkeypatch):
    """A registry of this test's own, so the app's stays as the app registered it."""
    monkeypatch.setattr(status, "_REGISTRY", {})


def test_a_move_to_a_status_without_a_named_topic_is_refused_at_registration():
    machine = StateMachine("thing", {Light.PAID: {Light.BOGUS}, Light.BOGUS: set()})
    with pytest.raises(ValueError):
        register(Aggregate("thing", Thing, machine, generic_history("thing"), prefixed("order")))
    with pytest.raises(LookupError, match="Thing is not registered"):
        aggregate_of(Thing)


def test_registration_declares_the_topics_and_refuses_a_second_description():
    machine = StateMachine("other", {Light.PAID: {Light.REFUNDED}, Light.REFUNDED: set()})
    aggregate = register(Aggregate("other", Other, machine, generic_history("other"), prefixed("order")))
    assert aggregate_of(Other) is aggregate and Topic.ORDER_REFUNDED in published()
    assert register(aggregate) is aggregate  # importing the same description again is harmless
    with pytest.raises(ValueError, match="registered already"):
        register(Aggregate("other", Other, machine, generic_history("other"), prefixed("order")))
