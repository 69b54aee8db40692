"""Event topics are ``Topic`` members on both sides: every handler's topic is published by some
module (checked at start-up), every event the app records names a ``Topic`` declared with
``publishes``, and nothing under ``app/`` imports the task layer."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import app.events.subscribers
from app.events.handlers import (
    Registered,
    UnpublishedTopic,
    check_subscriptions,
    on,
    on_private,
    unpublished_subscriptions,
)
from app.events.topics import Topic, published
from app.settings import PROJECT_ROOT

APP = PROJECT_ROOT / "app"


async def _noop(db, event) -> None:
    return None


def test_the_real_registry_subscribes_only_to_published_topics():
    check_subscriptions()
    assert unpublished_subscriptions() == []


def test_a_handler_on_a_topic_nobody_publishes_is_named_by_the_check():
    registry = {Topic.AUCTION_SETTLED: [Registered("tests.never_runs", _noop)]}
    with pytest.raises(UnpublishedTopic, match=r"'tests\.never_runs' waits for 'auction\.settled'"):
        check_subscriptions(registry, published() - {Topic.AUCTION_SETTLED})
    check_subscriptions(registry, published())


def test_on_takes_topics_only_and_private_topics_stay_outside_the_shops():
    with pytest.raises(TypeError, match="members of Topic"):
        on("order.paid", name="tests.string_topic")
    with pytest.raises(TypeError, match="subscribe with on"):
        on_private("order.paid", name="tests.shop_topic")


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(APP.rglob("*.py")):
        module = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        yield module, ast.parse(path.read_text(), filename=str(path))


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _prefix(node: ast.expr) -> str | None:
    """The literal start of ``f"drop.right_{…}"`` or the literal prefix of ``status_topic("order", …)``."""
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value + "."
    return None


def _topics_of(module: str, node: ast.expr) -> set[Topic]:
    """The topics an event call's topic argument can name; fails the test for anything else."""
    where = f"{module}:{node.lineno}"
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Topic":
        return {Topic[node.attr]}
    if isinstance(node, ast.Name):
        value = getattr(importlib.import_module(module), node.id)
        assert isinstance(value, Topic), f"{where}: {node.id} is {value!r}, not a Topic"
        return {value}
    if module == "app.core.status" and ast.unparse(node) == "aggregate.topic(target)":
        # the status core: a move publishes its aggregate's topic for the target status
        import app.events.publishers  # noqa: F401  (every aggregate registered)
        from app.core.status import registered

        return {t for aggregate in registered().values() for t in aggregate.topics()}
    if isinstance(node, ast.Call) and _called(node) in ("Topic", "status_topic"):
        prefix = _prefix(node.args[0])
        assert prefix, f"{where}: the topic's prefix is not written out"
        topics = {t for t in Topic if t.value.startswith(prefix)}
        assert topics, f"{where}: no Topic starts with {prefix!r}"
        return topics
    raise AssertionError(f"{where}: an event is recorded with {ast.unparse(node)}, not a Topic")


def test_every_event_the_app_records_names_a_published_topic():
    seen = 0
    for module, tree in _modules():
        if module == "app.events.outbox":  # record_event and add_event themselves
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called(node) in ("record_event", "add_event"):
                topic = node.args[1] if len(node.args) > 1 else next(k.value for k in node.keywords if k.arg == "topic")
                missing = _topics_of(module, topic) - published()
                assert not missing, f"{module}:{node.lineno} records {sorted(missing)} without publishes(...)"
                seen += 1
    assert seen >= 6  # the status core, the creation events, bids placed, rights granted, details changed


def test_nothing_under_app_imports_the_task_layer():
    offenders = []
    for module, tree in _modules():
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{module}:{node.lineno} {n}" for n in names if n == "tasks" or n.startswith("tasks.")]
    assert offenders == []


def test_every_reactions_module_is_registered():
    listed = Path(app.events.subscribers.__file__).read_text()
    for path in APP.glob("*/reactions.py"):
        assert f"import app.{path.parent.name}.reactions" in listed, path
