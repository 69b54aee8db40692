"""How the drop engine reacts to events: a granted right gets its expiry scheduled; a sale that
opens or changes state gets its gate rebuilt and its viewers told; a draw that opens gets its
draw scheduled for the end of its entry window; a member suspended or withdrawn gives back the
rights and the waiting-room admissions they hold."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import scheduling
from app.drops.stock import release_right
from app.events.handlers import on, on_row
from app.events.topics import Topic
from app.live.hub import touch_after_commit
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.drops import PurchaseRight, RightStatus, StockReason
from app.models.events import OutboxEvent
from app.models.lines import Admission
from app.models.members import Member, MemberStatus


@on_row(Topic.RIGHT_GRANTED, PurchaseRight, name="drops.schedule_expiry", status=RightStatus.HELD)
async def schedule_expiry_at_deadline(db: AsyncSession, right: PurchaseRight) -> None:
    scheduling.expire_right_at(db, right.id, right.expires_at)


@on(Topic.PRODUCT_STATUS_CHANGED, name="drops.follow_product_state")
async def follow_product_state(db: AsyncSession, event: OutboxEvent) -> None:
    scheduling.refresh_gate(db, event.aggregate_id)
    touch_after_commit(db, "product", event.aggregate_id)


@on(Topic.PRODUCT_STATUS_CHANGED, name="drops.schedule_draw")
async def schedule_draw_at_window_end(db: AsyncSession, event: OutboxEvent) -> None:
    """A draw listing went on sale (its entry window opened): a delayed message makes the draw at
    the window's end (the sweep makes any draw whose message was lost)."""
    if event.payload.get("to_status") != ProductStatus.ON_SALE.value:
        return
    product = await db.get(Product, event.aggregate_id)
    if product is None or product.sale_mode is not SaleMode.DRAW or product.drawn_at is not None:
        return
    if product.status is ProductStatus.ON_SALE and product.draw_ends_at is not None:
        scheduling.make_draw_at(db, product.id, product.draw_ends_at)


@on(Topic.MEMBER_SUSPENDED, Topic.MEMBER_WITHDRAWN, name="drops.release_rights_of_departed_members")
async def release_rights_of_departed_members(db: AsyncSession, event: OutboxEvent) -> None:
    """A member suspended or withdrawn can no longer sign in to pay, so the rights they hold are
    cancelled at once rather than at their deadline: each unit goes back on sale, or (a draw's) to
    the next entry in draw order, as when a right is given up. Their unused waiting-room admissions
    end now too, so the next places are let in without waiting for them to lapse. A member active
    again by the time this runs keeps theirs; a right already settled is left alone
    (``release_right`` is idempotent)."""
    member = await db.get(Member, event.aggregate_id)
    if member is None or member.status is MemberStatus.ACTIVE:
        return
    held = await db.execute(
        select(PurchaseRight.id, PurchaseRight.product_id)
        .where(PurchaseRight.member_id == member.id, PurchaseRight.status == RightStatus.HELD)
        .order_by(PurchaseRight.id)
    )
    for right_id, product_id in held.all():
        if await release_right(db, right_id, RightStatus.CANCELLED, StockReason.CANCEL) is not None:
            touch_after_commit(db, "product", product_id)
    now = utcnow()
    await db.execute(
        update(Admission)
        .where(Admission.member_id == member.id, Admission.used_at.is_(None), Admission.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
