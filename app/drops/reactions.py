"""How the drop engine reacts to events: a granted right gets its expiry scheduled; a sale that
opens or changes state gets its gate rebuilt and its viewers told; a draw that opens gets its
draw scheduled for the end of its entry window."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import scheduling
from app.events.handlers import on, on_row
from app.events.topics import Topic
from app.live.hub import touch_after_commit
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.drops import PurchaseRight, RightStatus
from app.models.events import OutboxEvent


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
