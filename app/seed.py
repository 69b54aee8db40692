"""Demo data for ``make run``: three accounts, a small category tree and a dozen products. Idempotent: a second
run finds everything in place and adds nothing.

    python -m app.seed
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from app.accounts.passwords import PasswordHasher
from app.accounts.service import AccountService
from app.db import Database
from app.demo_products import seed_products
from app.models.base import utcnow
from app.models.catalog import Category
from app.models.members import ApplicationStatus, MemberRole, SellerApplication
from app.settings import Settings

log = logging.getLogger("smore.seed")

DEMO_PASSWORD = "smore-demo-pass"
DEMO_ACCOUNTS = [
    ("admin@smore.test", "Smore Admin", MemberRole.ADMIN),
    ("seller@smore.test", "Hanbit Figures", MemberRole.SELLER),
    ("shopper@smore.test", "Demo Shopper", MemberRole.SHOPPER),
]
# (slug, name, parent slug)
DEMO_CATEGORIES = [
    ("figures", "Figures", None),
    ("anime-figures", "Anime figures", "figures"),
    ("designer-toys", "Designer toys", "figures"),
    ("sneakers", "Sneakers", None),
    ("limited-sneakers", "Limited sneakers", "sneakers"),
    ("artist-merch", "Artist merch", None),
    ("k-pop", "K-pop", "artist-merch"),
    ("prints", "Prints & posters", "artist-merch"),
]


async def seed(settings: Settings) -> dict[str, int]:
    database = Database(settings)
    added = {"members": 0, "categories": 0, "products": 0}
    try:
        async with database.transaction() as db:
            accounts = AccountService(db, PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_cost))
            for email, name, role in DEMO_ACCOUNTS:
                if (existing := await accounts.by_email(email)) is not None:
                    # seeded before addresses were confirmed: a demo account can enter draws
                    existing.email_confirmed_at = existing.email_confirmed_at or utcnow()
                    continue
                member = await accounts.sign_up(email, name, DEMO_PASSWORD, DEMO_PASSWORD, role=role, confirmed=True)
                added["members"] += 1
                if role is MemberRole.SELLER:
                    db.add(
                        SellerApplication(
                            member_id=member.id,
                            business_name=name,
                            contact="+82 2 555 0100",
                            description="Limited figures and designer toys from Seoul.",
                            status=ApplicationStatus.APPROVED,
                            decision_reason=None,
                            decided_at=utcnow(),
                        )
                    )
            by_slug = {c.slug: c for c in (await db.execute(select(Category))).scalars()}
            for position, (slug, name, parent_slug) in enumerate(DEMO_CATEGORIES):
                if slug in by_slug:
                    continue
                parent = by_slug.get(parent_slug) if parent_slug else None
                category = Category(slug=slug, name=name, parent_id=parent.id if parent else None, position=position)
                db.add(category)
                await db.flush()
                by_slug[slug] = category
                added["categories"] += 1
            seller = await accounts.by_email("seller@smore.test")
            if seller is not None:
                shopper = await accounts.by_email("shopper@smore.test")
                added["products"] = await seed_products(db, settings, seller, shopper)
    finally:
        await database.dispose()
    return added


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    added = asyncio.run(seed(Settings.from_env()))
    log.info("demo data: %(members)s accounts, %(categories)s categories, %(products)s products added", added)


if __name__ == "__main__":
    main()
