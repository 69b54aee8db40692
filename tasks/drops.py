"""Drop jobs: expire an unpaid right at its deadline (a delayed message) and the sweep behind it;
make a draw at the end of its entry window (a delayed message) and the sweep behind it; rebuild
the gate's copy of the stock (periodically, and when a sale changes state)."""

from __future__ import annotations

import logging
from datetime import datetime

from app.drops.draw_making import due_draws, make_draw, window_end
from app.drops.gate import gate_for
from app.drops.reconcile import reconcile_all
from app.drops.stock import due_rights, release_right
from app.live.hub import touch_after_commit
from app.models.base import utcnow
from app.models.drops import RightStatus, StockReason
from tasks import runtime
from tasks.broker import actor

log = logging.getLogger(__name__)


async def expire(right_id: int) -> bool:
    """The unit goes back to the stock (and, after the commit, to the gate's copy of it)."""
    async with runtime.database().transaction() as db:
        right = await release_right(db, right_id, RightStatus.EXPIRED, StockReason.EXPIRY)
        if right is not None:  # its viewers see the unit back once it is committed
            touch_after_commit(db, "product", right.product_id)
    return right is not None


@actor(queue_name="drops", max_retries=10, min_backoff=500)
async def expire_right(right_id: int) -> None:
    await expire(right_id)


@actor(queue_name="drops", max_retries=0)
async def sweep_expired_rights() -> None:
    """Expires every right past its deadline: covers delayed messages lost to a restart."""
    async with runtime.database().transaction() as db:
        ids = await due_rights(db)
    for right_id in ids:
        if await expire(right_id):
            log.info("sweep expired purchase right %s", right_id)


@actor(queue_name="drops", max_retries=0)
async def reconcile_gate() -> None:
    await reconcile_all(runtime.database(), gate_for(runtime.settings()))


async def draw_now(product_id: int) -> bool:
    """Make the product's draw if its window is over (once); True when this call made it."""
    async with runtime.database().transaction() as db:
        made = await make_draw(db, product_id, hold_seconds=runtime.settings().purchase_hold_seconds)
    if made is not None:
        log.info("draw of product %s made: %s entries, %s winners", product_id, len(made.order), len(made.winners))
    return made is not None


@actor(queue_name="drops", max_retries=10, min_backoff=500)
async def run_draw(product_id: int) -> None:
    if not await draw_now(product_id):
        async with runtime.database().transaction() as db:
            ends_at = await window_end(db, product_id)
        if ends_at is not None and ends_at > utcnow():
            schedule_draw(product_id, ends_at)  # early (a clock ahead): come back at the end


@actor(queue_name="drops", max_retries=0)
async def sweep_draws() -> None:
    """Makes every draw whose window is over: covers delayed messages lost to a restart."""
    async with runtime.database().transaction() as db:
        ids = await due_draws(db)
    for product_id in ids:
        if await draw_now(product_id):
            log.info("sweep made the draw of product %s", product_id)


def schedule_draw(product_id: int, ends_at: datetime) -> None:
    delay_ms = max(0, int((ends_at - utcnow()).total_seconds() * 1000)) + 50
    run_draw.send_with_options(args=(product_id,), delay=delay_ms)


def schedule_expiry(right_id: int, expires_at: datetime) -> None:
    delay_ms = max(0, int((expires_at - utcnow()).total_seconds() * 1000)) + 50
    expire_right.send_with_options(args=(right_id,), delay=delay_ms)
