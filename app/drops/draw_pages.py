"""A draw's public page (``GET /products/{id}/draw``: its window, entries and commitment; once made,
its seed, winners, later offers, every entry id and how to check it all), its entry ids as plain
text, and entering it (``POST /products/{id}/draw``, signed in)."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.accounts.guards import provide_member, requires_login
from app.accounts.identity import current_member
from app.accounts.limits import DRAW_ENTRY_LIMIT
from app.core.i18n import _
from app.drops import draw_results
from app.drops.draws import Draws, EntryRefused
from app.models.base import utcnow
from app.models.members import Member
from app.web.forms import parse_positive_int, read_form
from app.web.pages import flash_redirect, with_db
from app.web.params import AppServices, Query, SignedIn
from app.web.proof import ProofRefused
from app.web.templating import page as render

DrawDesk = NamedDependency[Draws]


async def _draw_page(
    request: HTMXRequest,
    draws: Draws,
    product_id: int,
    viewer: Member | None,
    *,
    number: int = 1,
    message: str | None = None,
    status_code: int = 200,
    wait: object = None,
) -> Template:
    product = await draws.product(product_id)
    now = utcnow()
    context = {
        "p": product,
        "box": await draws.box(product, viewer, now),
        "entries": await draw_results.entry_count(draws.db, product.id),
        "results": await draw_results.results(draws.db, product, number),
        "message": message,
        "wait": wait,
        "now": now,
    }
    return render(request, "drops/draw.html", context, status_code=status_code)


def draw_subject(product_id: int) -> str:
    """What a proof lets its member do here: enter this product's draw."""
    return f"draw:{product_id}"


class DrawController(Controller):
    path = "/products"
    dependencies = {"draws": with_db(Draws)}

    @get("/{product_id:int}/draw", name="product_draw")
    async def show(
        self, request: HTMXRequest, product_id: FromPath[int], draws: DrawDesk, page: Query = None
    ) -> Template:
        """Anyone may read it; a signed-in member also sees their own entry and its result."""
        viewer = await current_member(request)
        return await _draw_page(request, draws, product_id, viewer, number=parse_positive_int(page))

    @get("/{product_id:int}/draw/entries.txt", name="product_draw_entries")
    async def entries(self, product_id: FromPath[int], draws: DrawDesk) -> Response[str]:
        """Every entry id, one per line, once the draw is made (``python -m app.drops.verify_draw``)."""
        text = await draw_results.entry_ids_text(draws.db, await draws.product(product_id))
        return Response(text, media_type=MediaType.TEXT)

    @post(
        "/{product_id:int}/draw",
        name="product_draw_enter",
        guards=[requires_login],
        dependencies={"member": Provide(provide_member)},
        middleware=[DRAW_ENTRY_LIMIT],
    )
    async def enter(
        self,
        request: HTMXRequest,
        product_id: FromPath[int],
        member: SignedIn,
        draws: DrawDesk,
        services: AppServices,
    ) -> Template | Redirect:
        """Enter the signed-in member (once), with a proof that a person asks (``app/web/proof.py``)
        unless they entered already. A refusal shows the draw's page with its reason, and writes
        nothing."""
        form = await read_form(request)
        now = utcnow()
        try:
            if await draws.may_enter(member, product_id, now):
                await services.proofs.check(form, member.id, draw_subject(product_id), now)
            entered = await draws.enter(member, product_id, now)
        except ProofRefused as exc:
            return await _draw_page(
                request, draws, product_id, member, message=exc.message, status_code=exc.status_code, wait=exc.wait
            )
        except EntryRefused as exc:
            return await _draw_page(
                request, draws, product_id, member, message=exc.message, status_code=exc.status_code
            )
        if entered.new:
            text, kind = _("You entered the draw: entry #%(entry)s.", entry=entered.entry.id), "success"
        else:
            text = _("You had entered this draw already: entry #%(entry)s. That entry stands.", entry=entered.entry.id)
            kind = "info"
        return flash_redirect(request, text, kind, f"/products/{product_id}/draw")
