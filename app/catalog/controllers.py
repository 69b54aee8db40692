"""``/categories`` (public browsing with the products of each subtree), ``/products/{id}`` (the
product page) and ``/admin/categories`` (create, rename, move, delete)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.accounts.guards import provide_member
from app.accounts.identity import current_member
from app.catalog import public, rules, sale_mode_rules
from app.catalog.markup import render_description
from app.catalog.service import CategoryService
from app.core.errors import FormInvalid
from app.core.i18n import N_, _
from app.drops import purchases
from app.drops.draws import Draws
from app.drops.waiting_room import WaitingRoom
from app.models.base import utcnow
from app.models.catalog import Category
from app.web.forms import parse_positive_int, read_form
from app.web.pages import AdminPages, act, flash_redirect, with_db
from app.web.pagination import wanted
from app.web.params import AppServices, DbSession, Query, SignedIn
from app.web.templating import page as render

Categories = NamedDependency[CategoryService]


class CategoryController(Controller):
    path = "/categories"
    dependencies = {"categories": with_db(CategoryService)}

    @get("/", name="categories")
    async def index(self, request: HTMXRequest, categories: Categories) -> Template:
        return render(request, "catalog/categories.html", {"nodes": await categories.tree()})

    @get("/{slug:str}", name="category")
    async def show(
        self, request: HTMXRequest, slug: FromPath[str], categories: Categories, page: Query = None
    ) -> Template:
        category = await categories.by_slug(slug)
        node = rules.find(await categories.tree(), category.id)
        ids = await categories.descendant_ids(category.id)
        products = await public.in_categories(categories.db, ids, *wanted(request, page))
        context = {"category": category, "node": node, "path": await categories.path(category), "page": products}
        return render(request, "catalog/category.html", context | public.template_helpers())


class ProductController(Controller):
    path = "/products"

    @get("/{product_id:int}", name="product")
    async def show(
        self, request: HTMXRequest, product_id: FromPath[int], db: DbSession, services: AppServices, image: Query = None
    ) -> Template:
        viewer = await current_member(request)
        view = await public.product_view(db, product_id, viewer)
        images = view.product.images
        shown = min(parse_positive_int(image), len(images)) if images else 0
        if view.counts_as_view and image is None:  # browsing the gallery is not another visit
            services.views.add(view.product.id)  # in memory; written by the periodic flush
        context = {
            "v": view,
            "p": view.product,
            "main_image": images[shown - 1] if images else None,
            "shown": shown,
            "description": render_description(view.product.description),
            "buy": await purchases.buy_box(db, view.product, viewer.id if viewer else None),
            "line_opens_at": sale_mode_rules.line_opens_at(
                view.product.sale_starts_at, services.settings.waiting_room_opens_before_minutes
            ),
            "line": await WaitingRoom(db, services.settings).offer(view.product, viewer, utcnow()),
            "draw": await Draws(db).box(view.product, viewer, utcnow()),
        }
        return render(request, "catalog/product.html", context | public.template_helpers())


class AdminCategoryController(AdminPages):
    path = "/admin/categories"
    dependencies = {"categories": with_db(CategoryService), "member": Provide(provide_member)}

    async def _index_page(
        self,
        request: HTMXRequest,
        categories: CategoryService,
        values: dict[str, str] | None = None,
        exc: FormInvalid | None = None,
    ) -> Template:
        nodes = await categories.tree()
        context = {
            "nodes": nodes,
            "options": list(rules.walk(nodes)),
            "values": values or {},
            "errors": exc.errors if exc else {},
            "message": exc.message if exc else None,
        }
        return render(request, "admin/categories.html", context, status_code=422 if exc else 200)

    async def _edit_page(
        self,
        request: HTMXRequest,
        categories: CategoryService,
        category_id: int,
        *,
        rename: dict[str, str] | None = None,
        move: dict[str, str] | None = None,
        exc: FormInvalid | None = None,
    ) -> Template:
        category = await categories.get(category_id)
        nodes = await categories.tree()
        node = rules.find(nodes, category.id)
        subtree = {n.category.id for n in rules.walk([node])} if node else {category.id}
        context = {
            "category": category,
            "node": node,
            "path": await categories.path(category),
            "options": [n for n in rules.walk(nodes) if n.category.id not in subtree],
            "rename": rename or {"name": category.name, "slug": category.slug},
            "move": move or {"parent_id": str(category.parent_id or "")},
            "errors": exc.errors if exc else {},
            "rename_message": exc.message if exc and rename else None,
            "move_message": exc.message if exc and move else None,
            "blocking": await categories.blocking_message(category),
        }
        return render(request, "admin/categories_edit.html", context, status_code=422 if exc else 200)

    async def _change(
        self,
        request: HTMXRequest,
        categories: CategoryService,
        category_id: int,
        change: Callable[[dict[str, str]], Awaitable[Category]],
        done: str,
        form_name: str,
    ) -> Template | Redirect:
        """Rename or move (``form_name`` is ``rename`` or ``move``) by ``change(the form sent)``: saved,
        ``done`` with the category's name; refused, the edit page again with the errors."""
        form = await read_form(request)
        await categories.get(category_id)
        try:
            category = await change(form)
        except FormInvalid as exc:
            return await self._edit_page(request, categories, category_id, exc=exc, **{form_name: form})
        return flash_redirect(request, _(done, name=category.name), "success", f"/admin/categories/{category_id}")

    @get("/", name="admin_categories")
    async def index(self, request: HTMXRequest, categories: Categories) -> Template:
        return await self._index_page(request, categories)

    @post("/", name="admin_category_create")
    async def create(self, request: HTMXRequest, member: SignedIn, categories: Categories) -> Template | Redirect:
        form = await read_form(request)
        try:
            category = await categories.create(
                form.get("name", ""), form.get("slug", ""), form.get("parent_id", ""), admin=member
            )
        except FormInvalid as exc:
            return await self._index_page(request, categories, form, exc)
        return flash_redirect(
            request, _("Category “%(name)s” created.", name=category.name), "success", "/admin/categories"
        )

    @get("/{category_id:int}", name="admin_category")
    async def edit(self, request: HTMXRequest, category_id: FromPath[int], categories: Categories) -> Template:
        return await self._edit_page(request, categories, category_id)

    @post("/{category_id:int}", name="admin_category_rename")
    async def rename(
        self, request: HTMXRequest, category_id: FromPath[int], member: SignedIn, categories: Categories
    ) -> Template | Redirect:
        def renaming(form: dict[str, str]) -> Awaitable[Category]:
            return categories.rename(category_id, form.get("name", ""), form.get("slug", ""), admin=member)

        return await self._change(
            request, categories, category_id, renaming, N_("Category saved as “%(name)s”."), "rename"
        )

    @post("/{category_id:int}/move", name="admin_category_move")
    async def move(
        self, request: HTMXRequest, category_id: FromPath[int], member: SignedIn, categories: Categories
    ) -> Template | Redirect:
        def moving(form: dict[str, str]) -> Awaitable[Category]:
            return categories.move(category_id, form.get("parent_id", ""), admin=member)

        return await self._change(request, categories, category_id, moving, N_("Category “%(name)s” moved."), "move")

    @get("/{category_id:int}/delete", name="admin_category_delete_confirm")
    async def confirm_delete(
        self, request: HTMXRequest, category_id: FromPath[int], categories: Categories
    ) -> Template:
        category = await categories.get(category_id)
        context = {
            "category": category,
            "path": await categories.path(category),
            "blocking": await categories.blocking_message(category),
        }
        return render(request, "admin/categories_delete.html", context)

    @post("/{category_id:int}/delete", name="admin_category_delete")
    async def delete(
        self, request: HTMXRequest, category_id: FromPath[int], member: SignedIn, categories: Categories
    ) -> Redirect:
        await categories.get(category_id)
        deleting = categories.delete(category_id, admin=member)
        done, refused_url = (
            (lambda c: _("Category “%(name)s” deleted.", name=c.name)),
            f"/admin/categories/{category_id}",
        )
        return await act(request, deleting, done, "/admin/categories", refused_url=refused_url)
