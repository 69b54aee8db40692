"""Category use cases: browse the tree; admins create, rename, move and delete. Flush, never commit."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_audit
from app.catalog import rules
from app.core.errors import DomainError, FormInvalid, NotFound
from app.core.i18n import Msg, _, ngettext
from app.models.catalog import Category
from app.models.members import Member

_UNKNOWN = Msg("This category does not exist.")


def _slug_taken(slug: str, owner: Category) -> str:
    return _("The slug “%(slug)s” is already used by “%(owner)s”; choose another.", slug=slug, owner=owner.name)


class CategoryService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    # -- reading ---------------------------------------------------------------------------------

    async def all(self) -> list[Category]:
        stmt = select(Category).order_by(Category.position, Category.name, Category.id)
        return list((await self.db.execute(stmt)).scalars().all())

    async def parent_map(self, *, lock: bool = False) -> dict[int, int | None]:
        """``{id: parent_id}`` for the whole tree. ``lock`` takes row locks on PostgreSQL so two
        concurrent moves cannot build a cycle together (SQLite serialises writers anyway)."""
        stmt = select(Category.id, Category.parent_id)
        if lock:
            stmt = stmt.with_for_update()
        return {cid: pid for cid, pid in (await self.db.execute(stmt)).all()}

    async def tree(self) -> list[rules.Node]:
        return rules.build_tree(await self.all())

    async def get(self, category_id: int) -> Category:
        try:
            rules.parse_id(category_id)
        except ValueError:
            raise NotFound(_UNKNOWN) from None
        category = await self.db.get(Category, category_id)
        if category is None:
            raise NotFound(_UNKNOWN)
        return category

    async def by_slug(self, slug: str) -> Category:
        if rules.slug_error(slug):
            raise NotFound(_UNKNOWN)
        category = (await self.db.execute(select(Category).where(Category.slug == slug))).scalar_one_or_none()
        if category is None:
            raise NotFound(_UNKNOWN)
        return category

    async def path(self, category: Category) -> list[Category]:
        """Breadcrumb: the top-level ancestor first, ``category`` last."""
        ids = rules.path_ids(category.id, await self.parent_map())
        rows = (await self.db.execute(select(Category).where(Category.id.in_(ids)))).scalars().all()
        by_id = {c.id: c for c in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def descendant_ids(self, category_id: int, *, include_self: bool = True) -> set[int]:
        """Ids of the category's whole subtree (for listing the products of a category)."""
        below = rules.descendant_ids(category_id, await self.parent_map())
        return below | {category_id} if include_self else below

    async def _slug_owner(self, slug: str, exclude_id: int | None = None) -> Category | None:
        stmt = select(Category).where(Category.slug == slug)
        if exclude_id is not None:
            stmt = stmt.where(Category.id != exclude_id)
        return (await self.db.execute(stmt)).scalar_one_or_none()

    async def _next_position(self, parent_id: int | None) -> int:
        stmt = select(func.max(Category.position)).where(
            Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id
        )
        top = (await self.db.execute(stmt)).scalar_one_or_none()
        return 0 if top is None else top + 1

    async def _blocking_references(self, category: Category) -> dict[str, int]:
        """What keeps ``category`` from being deleted, by kind → count (only kinds with a count).
        Today only subcategories; products will add their count here."""
        children = (
            await self.db.execute(select(func.count(Category.id)).where(Category.parent_id == category.id))
        ).scalar_one()
        return {"subcategories": children} if children else {}

    async def blocking_message(self, category: Category) -> str | None:
        blocking = await self._blocking_references(category)
        if not blocking:
            return None
        parts = [
            ngettext("%(num)d subcategory", "%(num)d subcategories", count)
            if kind == "subcategories"
            else f"{count} {kind}"
            for kind, count in blocking.items()
        ]
        return _(
            "“%(name)s” has %(parts)s; move or delete them first.", name=category.name, parts=_(" and ").join(parts)
        )

    # -- admin changes ---------------------------------------------------------------------------

    async def _save_slug(self, slug: str, change: Callable[[], object]) -> None:
        """Apply ``change`` and flush inside a savepoint: a concurrent write that took the slug
        becomes a field error, and the savepoint's rollback undoes ``change`` in the session too."""
        try:
            async with self.db.begin_nested():
                change()
                await self.db.flush()
        except IntegrityError:
            raise FormInvalid({"slug": _("The slug “%(slug)s” is already used; choose another.", slug=slug)}) from None

    async def create(self, name: str, slug: str, parent_id: str | int | None, *, admin: Member) -> Category:
        slug, errors = rules.category_errors(name, slug)
        try:
            parent = rules.parse_id(parent_id)
        except ValueError:
            errors["parent_id"] = _("Choose a parent from the list.")
            parent = None
        else:
            if err := rules.parent_error(parent, await self.parent_map()):
                errors["parent_id"] = err
        if "slug" not in errors and (owner := await self._slug_owner(slug)):
            errors["slug"] = _slug_taken(slug, owner)
        if errors:
            raise FormInvalid(errors)
        category = Category(name=name, slug=slug, parent_id=parent, position=await self._next_position(parent))
        await self._save_slug(slug, lambda: self.db.add(category))
        await record_audit(self.db, actor=admin, action="category.create", target=category)
        return category

    async def rename(self, category_id: int, name: str, slug: str, *, admin: Member) -> Category:
        category = await self.get(category_id)
        slug, errors = rules.category_errors(name, slug)
        if "slug" not in errors and (owner := await self._slug_owner(slug, exclude_id=category.id)):
            errors["slug"] = _slug_taken(slug, owner)
        if errors:
            raise FormInvalid(errors)
        before = f"{category.name} ({category.slug})"

        def change() -> None:
            category.name, category.slug = name, slug

        await self._save_slug(slug, change)
        await record_audit(
            self.db, actor=admin, action="category.rename", target=category, reason=f"{before} → {name} ({slug})"
        )
        return category

    async def move(self, category_id: int, new_parent_id: str | int | None, *, admin: Member) -> Category:
        category = await self.get(category_id)
        try:
            parent = rules.parse_id(new_parent_id)
        except ValueError:
            raise FormInvalid({"parent_id": _("Choose a parent from the list.")}) from None
        parents = await self.parent_map(lock=True)
        if err := rules.move_error(category.id, parent, parents):
            raise FormInvalid({"parent_id": err})
        if parent == category.parent_id:
            return category
        before = category.parent_id
        category.parent_id = parent
        category.position = await self._next_position(parent)
        await self.db.flush()
        reason = f"parent {before or 'top level'} → {parent or 'top level'}"
        await record_audit(self.db, actor=admin, action="category.move", target=category, reason=reason)
        return category

    async def delete(self, category_id: int, *, admin: Member) -> Category:
        category = await self.get(category_id)
        if message := await self.blocking_message(category):
            raise DomainError(message)
        name, reason = category.name, f"{category.name} ({category.slug})"
        try:
            async with self.db.begin_nested():
                await self.db.delete(category)
                await self.db.flush()
        except IntegrityError:  # a subcategory was added since the check above
            raise DomainError(
                _("“%(name)s” gained subcategories meanwhile; move or delete them first.", name=name)
            ) from None
        await record_audit(self.db, actor=admin, action="category.delete", target=category, reason=reason)
        return category
