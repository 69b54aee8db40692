"""The broker's waiting messages by actor, as the operations page reads them (``BrokerHandle.waiting``):
the suite's broker (the in-memory StubBroker, or Redis with TEST_REDIS_URL), no worker running."""

from __future__ import annotations

import dramatiq

from app.models.base import utcnow
from tasks.mail import sweep_mail
from tasks.popularity import recompute_popularity
from tasks.queue_lag import lags


def rows(app, queue: str):
    return [row for row in app.state.broker.waiting(500) if row.queue == queue]


async def test_waiting_messages_are_counted_by_actor_with_the_oldest_age(app):  # no client: no worker
    assert all(row.waiting == 0 for row in app.state.broker.waiting(500))
    before = utcnow().replace(microsecond=0)
    sweep_mail.send()
    sweep_mail.send()
    recompute_popularity.send()
    sweep_mail.send_with_options(delay=600_000)  # delayed: not late, counted apart
    (mail,) = rows(app, "mail")
    assert (mail.actor, mail.waiting, mail.queued) == ("sweep_mail", 2, 2)
    assert mail.oldest_at is not None and before <= mail.oldest_at <= utcnow()
    (catalog,) = rows(app, "catalog")
    assert (catalog.actor, catalog.waiting) == ("recompute_popularity", 1)
    if app.state.broker.backend == "redis":  # the stub's worker holds its delayed messages itself
        assert mail.delayed == 1
    app.state.broker.broker.flush_all()


def test_a_queue_is_read_only_as_far_as_the_sample():
    encoded = [dramatiq.Message("q", "a", (), {}, {}).encode() for _ in range(3)] + [None]
    (row,) = lags("q", encoded, queued=1000, delayed=0)
    assert (row.actor, row.waiting, row.queued) == ("a", 3, 1000)
    late = dramatiq.Message("q", "b", (), {}, {"eta": 4_000_000_000_000}, message_timestamp=1_000)
    (delayed_row,) = lags("q", [late.encode()], queued=1, delayed=0)
    assert delayed_row.oldest_at is not None and delayed_row.oldest_at.year > 2090  # waits from its eta
    assert lags("q", [], queued=0, delayed=0) == []
    assert lags("q", [], queued=0, delayed=2)[0].delayed == 2
