"""Bench only: the shop with the naive Buy path, for comparison in ``bench/drop.py``.

    uvicorn bench.drop_naive:create_app --factory --workers 2

The same app, except that every press skips the gate and takes ``SELECT … FOR UPDATE`` on the
product row, then checks and writes under that lock (the textbook way). Nothing in ``app/`` reads
this module: the production Buy path is untouched.
"""

from __future__ import annotations

from datetime import datetime

from litestar import Litestar
from sqlalchemy import func, select

from app.catalog.transitions import transition
from app.core.errors import NotFound
from app.drops.rules import LIVE_RIGHTS, Outcome, PressResult
from app.drops.service import _NOT_SELLING, DropService, Press, _replay_or_conflict, add_grant_rows, held_right
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight
from app.models.members import Member, MemberStatus
from tasks.web import create_app as create_shop


class NaiveDropService(DropService):
    """No gate; one row lock per press, held while the press is checked and written."""

    async def _lookup(self, press: Press) -> str | None:
        return None

    async def _decide(self, press: Press, now: datetime) -> PressResult:
        async with self.database.transaction() as db:
            product = (
                await db.execute(select(Product).where(Product.id == press.product_id).with_for_update())
            ).scalar_one_or_none()
            if product is None or product.status in (ProductStatus.DRAFT, ProductStatus.CANCELLED):
                raise NotFound("This product does not exist.")
            existing = (
                await db.execute(select(PurchaseRight).where(PurchaseRight.idempotency_key == press.key))
            ).scalar_one_or_none()
            if existing is not None:
                replay = _replay_or_conflict(existing, press)
                if isinstance(replay, Exception):
                    raise replay
                return replay
            if product.status is not ProductStatus.ON_SALE:
                return PressResult(_NOT_SELLING.get(product.status, Outcome.NOT_ON_SALE))
            if product.taken_quantity >= product.fixed_quantity:
                return PressResult(Outcome.SOLD_OUT)
            if await db.scalar(select(Member.status).where(Member.id == press.member_id)) is not MemberStatus.ACTIVE:
                return PressResult(Outcome.SIGNED_OUT)
            mine = await db.scalar(
                select(func.count())
                .select_from(PurchaseRight)
                .where(
                    PurchaseRight.product_id == press.product_id,
                    PurchaseRight.member_id == press.member_id,
                    PurchaseRight.status.in_(LIVE_RIGHTS),
                )
            )
            if mine >= product.purchase_limit:
                return PressResult(Outcome.LIMIT)
            product.taken_quantity += 1  # safe only because the row is locked
            right = held_right(press.product_id, press.member_id, press.key, product.list_price, now + self.hold)
            db.add(right)
            await db.flush()
            add_grant_rows(db, press, right)
            await db.flush()
            if product.taken_quantity >= product.fixed_quantity:
                await transition(
                    db, product, ProductStatus.CONVERSION_PENDING, reason="every fixed-price unit is taken"
                )
            return PressResult(Outcome.GRANTED, right.id)


def create_app() -> Litestar:
    app = create_shop()
    app.state.services.drop_service = NaiveDropService  # the Buy handler asks the services for its press service
    return app
