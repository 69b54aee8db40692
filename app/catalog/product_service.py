"""A seller's own listings: create a draft, edit it while nothing is sold, publish, cancel.
Flushes, never commits; statuses change only through the status core (``transition()``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import images, lifecycle, pictures, product_rules, sale_mode_rules
from app.catalog import rules as category_rules
from app.catalog.pictures import pictures_for
from app.catalog.service import CategoryService
from app.catalog.transitions import product_changed, set_committed, transition
from app.core.errors import DomainError, FormInvalid, NotFound
from app.core.i18n import Msg, _
from app.core.results import rows_changed
from app.core.states import IllegalTransition
from app.models.base import utcnow
from app.models.catalog import Category, Product, ProductImage, ProductStatus, ProductStatusChange, SaleMode
from app.models.members import Member
from app.settings import Settings
from app.web.pagination import Page, paginate

FROZEN = Msg("The sale has started; price and quantities can no longer change.")
_UNKNOWN = Msg("This product does not exist.")


def has_started(product: Product, now: datetime) -> bool:
    """Past the point of no return: opened, or scheduled with its start time come."""
    return not lifecycle.is_editable(product.status) or (
        product.status is ProductStatus.SCHEDULED and product.sale_starts_at <= now
    )


class ProductService:
    def __init__(self, db: AsyncSession, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    # -- reading ---------------------------------------------------------------------------------

    async def owned(self, seller: Member, product_id: int) -> Product:
        """The seller's own product; another seller's product is as unknown as a missing one."""
        if not 1 <= product_id <= product_rules.MAX_ID:
            raise NotFound(_UNKNOWN)
        product = await self.db.get(Product, product_id)
        if product is None or product.seller_id != seller.id:
            raise NotFound(_UNKNOWN)
        return product

    async def for_seller(
        self, seller: Member, page: int, size: int, status: ProductStatus | None = None
    ) -> Page[Product]:
        stmt = select(Product).where(Product.seller_id == seller.id)
        if status is not None:
            stmt = stmt.where(Product.status == status)
        stmt = stmt.order_by(Product.id.desc())
        return await paginate(self.db, stmt, page, size, {"status": status.value if status else ""})

    async def category_options(self) -> list[category_rules.Node]:
        return list(category_rules.walk(await CategoryService(self.db).tree()))

    # -- writing ---------------------------------------------------------------------------------

    async def create_draft(
        self, seller: Member, form: Mapping[str, str], uploads: Sequence[images.Upload], now: datetime | None = None
    ) -> Product:
        """``form``: the submitted fields as text; every refusal comes back at once as FormInvalid."""
        values, sale, processed = await self._check(form, uploads, 0, now or utcnow())
        columns = values.as_dict() | sale_mode_rules.sale_mode_columns(sale, kept_seed=None)
        product = Product(seller_id=seller.id, status=ProductStatus.DRAFT, taken_quantity=0, images=[], **columns)
        self.db.add(product)
        await self.db.flush()
        self.db.add(ProductStatusChange(product_id=product.id, to_status=ProductStatus.DRAFT, actor_id=seller.id))
        await self._attach(product, processed, keep=[])
        await product_changed(self.db, product)
        return product

    async def update(
        self,
        seller: Member,
        product_id: int,
        form: Mapping[str, str],
        uploads: Sequence[images.Upload],
        remove_image_ids: Iterable[int] = (),
        now: datetime | None = None,
    ) -> Product:
        now = now or utcnow()
        product = await self.owned(seller, product_id)
        if has_started(product, now):
            raise DomainError(FROZEN)
        removing = set(remove_image_ids)
        keep = [img for img in product.images if img.id not in removing]
        values, sale, processed = await self._check(form, uploads, len(keep), now)
        # A listing that stays a draw keeps its seed; one that leaves draw mode loses it.
        kept_seed = product.draw_seed if product.sale_mode is SaleMode.DRAW else None
        sale_columns = sale_mode_rules.sale_mode_columns(sale, kept_seed)
        changes: dict[str, Any] = values.as_dict() | sale_columns | {"updated_at": now}
        # Conditional on the row still being editable: the sale may open while this form is saved.
        result = await self.db.execute(
            update(Product)
            .where(
                Product.id == product.id,
                Product.status == product.status,
                or_(Product.status == ProductStatus.DRAFT, Product.sale_starts_at > now),
            )
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(result) != 1:
            raise DomainError(FROZEN)
        for key, value in changes.items():
            set_committed(product, key, value)
        gone = [img for img in product.images if img.id in removing]
        await self._attach(product, processed, keep=keep)
        await self._forget(gone)
        await product_changed(self.db, product)
        return product

    async def publish(self, seller: Member, product_id: int, now: datetime | None = None) -> Product:
        """Draft → scheduled: shown publicly, opening by itself at its start time."""
        now = now or utcnow()
        product = await self.owned(seller, product_id)
        if product.status is not ProductStatus.DRAFT:
            label = str(lifecycle.LABELS[product.status]).lower()
            raise DomainError(
                _("Only a draft can be published; “%(name)s” is %(state)s.", name=product.name, state=label)
            )
        if product.sale_starts_at < now + product_rules.MIN_LEAD:
            raise FormInvalid(
                {"sale_starts_at": _("The start time has passed; choose a new one, then publish.")},
                _("This draft cannot be published yet."),
            )
        await self._move(product, ProductStatus.SCHEDULED, seller)
        return product

    async def cancel(self, seller: Member, product_id: int, now: datetime | None = None) -> Product:
        """Draft or scheduled → cancelled, only before the sale starts."""
        now = now or utcnow()
        product = await self.owned(seller, product_id)
        if not lifecycle.is_editable(product.status):
            label = str(lifecycle.LABELS[product.status]).lower()
            raise DomainError(
                _(
                    "“%(name)s” is %(state)s; only products not yet on sale can be cancelled.",
                    name=product.name,
                    state=label,
                )
            )
        if has_started(product, now):
            raise DomainError(_("“%(name)s” can no longer be cancelled: the sale has started.", name=product.name))
        await self._move(product, ProductStatus.CANCELLED, seller)
        return product

    # -- helpers ---------------------------------------------------------------------------------

    async def _move(self, product: Product, target: ProductStatus, seller: Member) -> None:
        try:
            await transition(self.db, product, target, actor=seller)
        except IllegalTransition:
            label = str(lifecycle.LABELS[product.status]).lower()
            raise DomainError(
                _("“%(name)s” is %(state)s now; reload the page and try again.", name=product.name, state=label)
            ) from None

    async def _check(
        self, form: Mapping[str, str], uploads: Sequence[images.Upload], kept: int, now: datetime
    ) -> tuple[product_rules.ProductValues, sale_mode_rules.SaleModeValues, list[images.ProcessedImage]]:
        """Every rule, the sale mode, the category and the pictures; nothing is written when
        anything is wrong."""
        values, errors = product_rules.parse_product_form(form, now)
        starts = values.sale_starts_at if values else product_rules.parse_start(form.get("sale_starts_at", ""), now)
        sale, sale_errors = sale_mode_rules.parse_sale_mode(form, starts if isinstance(starts, datetime) else None, now)
        errors |= sale_errors
        category_id = values.category_id if values else product_rules.parse_category_id(form.get("category_id", ""))
        if isinstance(category_id, int) and await self.db.get(Category, category_id) is None:
            errors["category_id"] = _("Choose one of the listed categories; that one does not exist.")
        limit = self.settings.max_images
        if kept + len(uploads) > limit:
            left = limit - kept
            errors["images"] = (
                _("A product can have at most %(most)s pictures; you chose %(count)s.", most=limit, count=len(uploads))
                if kept == 0
                else _(
                    "A product can have at most %(most)s pictures; this one keeps %(kept)s, "
                    "so add at most %(left)s more.",
                    most=limit,
                    kept=kept,
                    left=max(left, 0),
                )
            )
            processed: list[images.ProcessedImage] = []
        else:
            processed, problems = await anyio.to_thread.run_sync(
                images.process_all, uploads, self.settings.max_image_bytes
            )
            if problems:
                errors["images"] = " ".join(problems)
        if errors or values is None or sale is None:
            raise FormInvalid(errors)
        return values, sale, processed

    async def _attach(self, product: Product, processed: list[images.ProcessedImage], keep: list[ProductImage]) -> None:
        """Store the new pictures and write their rows; drop the rows not kept; renumber."""
        stored = await images.store(self.db, pictures_for(self.settings), processed)
        product.images = [*keep, *(ProductImage(**s.row_values()) for s in stored)]
        for position, image in enumerate(product.images):
            image.position = position
        await self.db.flush()

    async def _forget(self, gone: list[ProductImage]) -> None:
        """Delete the stored pictures of removed rows that no row uses any more (a stem is the
        picture's hash, so another product, or this one again, may show the same picture)."""
        stems = {img.stem for img in gone}
        if not stems:
            return
        used = set((await self.db.execute(select(ProductImage.stem).where(ProductImage.stem.in_(stems)))).scalars())
        names = [n for img in gone if img.stem not in used for n in pictures.picture_names(img.stem, img.extension)]
        await pictures_for(self.settings).delete(self.db, names)
