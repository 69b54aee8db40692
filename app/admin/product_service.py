"""Product moderation for administrators: find products, hide and unhide them with a reason.

Status changes go through the status core (``app.catalog.transitions.transition``: table check,
conditional update, history row, outbox event); this service adds the reason rule, the audit row, and turns refusals
into messages. It flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.rules import reason_error
from app.admin.member_service import escape_like
from app.audit import audit_trail, record_audit
from app.catalog import rules
from app.catalog.product_rules import parse_int
from app.catalog.sale_mode_rules import RATE_MAX
from app.catalog.service import CategoryService
from app.catalog.transitions import history, transition
from app.core.errors import DomainError, FormInvalid, NotFound
from app.core.i18n import N_, _
from app.core.labels import label
from app.core.states import IllegalTransition
from app.core.status import StaleStatus
from app.db import database_of
from app.live.hub import touch_after_commit
from app.models.catalog import Category, Product, ProductStatus, ProductStatusChange, SaleMode
from app.models.members import AuditEntry, Member
from app.web.pagination import Page, paginate

QUERY_MAX = 200
STATUS_FILTERS = {status.value: status for status in ProductStatus}
_UNKNOWN = N_("This product does not exist.")


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str = ""
    category: str = ""
    seller: str = ""

    def params(self) -> dict[str, str]:
        return {"q": self.q, "status": self.status, "category": self.category, "seller": self.seller}


@dataclass(frozen=True)
class Listing:
    page: Page[Product]
    sellers: dict[int, Member]
    categories: dict[int, Category]


def _contains(column: object, text: str) -> object:
    return func.lower(column).like(f"%{escape_like(text.lower())}%", escape="\\")


def clean_filters(q: str, status: str, category: str, seller: str) -> Filters:
    """Odd status or category values are dropped (show everything); overlong text is refused."""
    q, seller = q.strip(), seller.strip()
    errors = {
        name: _("Search for at most %(n)s characters.", n=QUERY_MAX)
        for name, v in (("q", q), ("seller", seller))
        if len(v) > QUERY_MAX
    }
    if errors:
        raise FormInvalid(errors)
    try:
        category_id = rules.parse_id(category.strip())
    except ValueError:
        category_id = None
    return Filters(q, status if status in STATUS_FILTERS else "", str(category_id or ""), seller)


class ProductModerationService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def _statement(self, filters: Filters) -> Select[Product]:
        stmt = select(Product)
        if filters.q:
            stmt = stmt.where(_contains(Product.name, filters.q))  # type: ignore[arg-type]  # a SQL expression typed as object
        if filters.status:
            stmt = stmt.where(Product.status == STATUS_FILTERS[filters.status])
        if filters.category:
            ids = await CategoryService(self.db).descendant_ids(int(filters.category))
            stmt = stmt.where(Product.category_id.in_(sorted(ids)))
        if filters.seller:
            stmt = stmt.join(Member, Member.id == Product.seller_id).where(_contains(Member.email, filters.seller))  # type: ignore[arg-type]  # as above
        return stmt.order_by(Product.id.desc())

    async def search(self, filters: Filters, page: int, size: int) -> Listing:
        result = await paginate(self.db, await self._statement(filters), page, size, filters.params())
        seller_ids = {p.seller_id for p in result.items}
        category_ids = {p.category_id for p in result.items}
        sellers = (await self.db.execute(select(Member).where(Member.id.in_(seller_ids)))).scalars()
        categories = (await self.db.execute(select(Category).where(Category.id.in_(category_ids)))).scalars()
        return Listing(result, {m.id: m for m in sellers}, {c.id: c for c in categories})

    async def categories(self) -> list[rules.Node]:
        return list(rules.walk(await CategoryService(self.db).tree()))

    async def get(self, product_id: int) -> Product:
        product = await self.db.get(Product, product_id) if 1 <= product_id <= rules.MAX_ID else None
        if product is None:
            raise NotFound(_(_UNKNOWN))
        return product

    async def seller(self, product: Product) -> Member | None:
        return await self.db.get(Member, product.seller_id)

    async def category_path(self, product: Product) -> list[Category]:
        category = await self.db.get(Category, product.category_id)
        return await CategoryService(self.db).path(category) if category else []

    async def history(self, product: Product) -> tuple[list[ProductStatusChange], dict[int, Member]]:
        """The status history, newest first, with the members who made each change."""
        changes = await history(self.db, product.id)
        actor_ids = {c.actor_id for c in changes if c.actor_id is not None}
        actors: Iterable[Member] = (
            (await self.db.execute(select(Member).where(Member.id.in_(actor_ids)))).scalars() if actor_ids else []
        )
        return changes, {m.id: m for m in actors}

    async def trail(self, product: Product) -> list[AuditEntry]:
        return await audit_trail(self.db, Product.__tablename__, product.id)

    async def hide(self, product_id: int, admin: Member, reason: str) -> Product:
        product = await self.get(product_id)
        if product.status is ProductStatus.HIDDEN:
            raise DomainError(_("“%(name)s” is already hidden; nothing was changed.", name=product.name))
        await self._move(product, ProductStatus.HIDDEN, admin, reason)
        await record_audit(self.db, actor=admin, action="product.hide", target=product, reason=reason)
        return product

    async def unhide(self, product_id: int, admin: Member, reason: str) -> Product:
        product = await self.get(product_id)
        if product.status is not ProductStatus.HIDDEN or product.hidden_from is None:
            raise DomainError(_("“%(name)s” is not hidden; nothing was changed.", name=product.name))
        await self._move(product, product.hidden_from, admin, reason)
        await record_audit(self.db, actor=admin, action="product.unhide", target=product, reason=reason)
        return product

    def shop_rate(self) -> int:
        """The shop's admission rate (``ADMISSION_RATE_PER_MINUTE``), a waiting room's unless it
        sets its own."""
        database = database_of(self.db)
        return database.settings.admission_rate_per_minute if database is not None else 0

    async def set_admission_rate(self, product_id: int, admin: Member, raw: str) -> Product:
        """Set the rate a waiting room lets its line in at (blank: the shop's setting), from now on;
        the change is in the audit log, and the line's members see their wait at the new rate."""
        product = await self.get(product_id)
        if product.sale_mode is not SaleMode.WAITING_ROOM:
            raise DomainError(_("“%(name)s” is not sold through a waiting room: it has no rate.", name=product.name))
        rate: int | str | None = None
        if raw.strip():
            rate = parse_int(raw.strip(), low=1, high=RATE_MAX, what=_("The admission rate"), example="600")
        if isinstance(rate, str):
            raise FormInvalid({"admission_rate_per_minute": rate})
        before = product.admission_rate_per_minute
        product.admission_rate_per_minute = rate
        await self.db.flush()
        reason = f"{before or 'shop default'} → {rate or 'shop default'} a minute"
        await record_audit(self.db, actor=admin, action="product.admission_rate", target=product, reason=reason)
        touch_after_commit(self.db, "line", product.id)
        return product

    async def _move(self, product: Product, target: ProductStatus, admin: Member, reason: str) -> None:
        if err := reason_error(reason):
            raise FormInvalid({"reason": err})
        try:
            await transition(self.db, product, target, actor=admin, reason=reason)
        except IllegalTransition:
            state = label(product.status, "product")
            raise DomainError(
                _("“%(name)s” is “%(state)s”; it cannot be changed that way.", name=product.name, state=state)
            ) from None
        except StaleStatus as exc:
            raise DomainError(exc.message) from None
