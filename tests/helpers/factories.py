"""Test data written through the real services and database."""

from __future__ import annotations

import itertools
from typing import Any

from litestar import Litestar

from app.accounts.service import AccountService
from app.models.members import Member, MemberRole

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


class MemberFactory:
    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def create(
        self,
        email: str | None = None,
        *,
        role: MemberRole = MemberRole.SHOPPER,
        display_name: str | None = None,
        password: str = PASSWORD,
        confirmed: bool = True,
    ) -> Member:
        """A member signed up through the account service; ``confirmed``: with an address the shop
        knows is theirs (confirmed now, no link mailed), else mailed a confirmation link as a
        sign-up through the page is."""
        n = next(_seq)
        email = email or f"member{n}@example.test"
        async with self.app.state.database.transaction() as db:
            service = AccountService(db, self.app.state.hasher)
            name = display_name or f"Member {n}"
            return await service.sign_up(email, name, password, password, role=role, confirmed=confirmed)

    async def admin(self, email: str = "root@example.test") -> Member:
        return await self.create(email, role=MemberRole.ADMIN, display_name="Root Admin")

    async def seller(self, email: str | None = None) -> Member:
        return await self.create(email, role=MemberRole.SELLER)

    async def suspend(self, member: Member, reason: str) -> None:
        """``member`` suspended by an administrator of their own (as an admin's moderation does)."""
        from app.accounts.service import set_member_status
        from app.models.members import MemberStatus

        admin = await self.admin()
        async with self.app.state.database.transaction() as db:
            target = await db.get(Member, member.id)
            await set_member_status(db, target, MemberStatus.SUSPENDED, actor=admin, reason=reason)

    async def get(self, member_id: int) -> Member:
        async with self.app.state.database.transaction() as db:
            member = await db.get(Member, member_id)
            assert member is not None
            return member


class ProductFactory:
    """Products written straight to the database in any status (set-up for tests of pages, search
    and moderation); a ``product.changed`` event is recorded so event consumers see them."""

    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def category(self, slug: str = "figures", name: str | None = None, parent_id: int | None = None) -> Any:
        from sqlalchemy import select

        from app.models.catalog import Category

        async with self.app.state.database.transaction() as db:
            existing = (await db.execute(select(Category).where(Category.slug == slug))).scalar_one_or_none()
            if existing is not None:
                return existing
            category = Category(slug=slug, name=name or slug.replace("-", " ").title(), parent_id=parent_id)
            db.add(category)
            await db.flush()
            return category

    async def create(self, seller: Member, *, category_id: int | None = None, **fields: Any) -> Any:
        from datetime import timedelta

        from app.catalog.transitions import product_changed
        from app.models.base import utcnow
        from app.models.catalog import Product, ProductStatus

        n = next(_seq)
        if category_id is None:
            category_id = (await self.category()).id
        values: dict[str, Any] = {
            "name": f"Limited figure {n}",
            "description": "A numbered limited edition.",
            "list_price": 50_000,
            "total_quantity": 10,
            "fixed_quantity": 6,
            "purchase_limit": 1,
            "sale_starts_at": utcnow() + timedelta(days=1),
            "auction_start_price": 40_000,
            "auction_increment": 1_000,
            "auction_duration_minutes": 60,
            "status": ProductStatus.ON_SALE,
        }
        values.update(fields)
        async with self.app.state.database.transaction() as db:
            product = Product(seller_id=seller.id, category_id=category_id, **values)
            db.add(product)
            await db.flush()
            await product_changed(db, product)
            return product
