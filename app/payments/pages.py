"""Money pages: ``/admin/payments`` (every payment, and one payment's full audit trail),
``/admin/policies`` (the fee and refund rules; each change is a new version), and
``/seller/settlements`` (the seller's ledger and balance); the lists' CSV downloads beside them
(``…/export.csv``)."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import provide_member
from app.core.i18n import _
from app.core.numbers import parse_whole
from app.payments import queries
from app.payments.exports import payments_export, settlements_export
from app.payments.policies import current_policy, history, set_policy
from app.payments.rules import MAX_TIERS, validate_tiers
from app.web.csv_export import csv_download
from app.web.forms import read_form
from app.web.pages import AdminPages, SellerPages, flash_redirect, list_page, member_list
from app.web.params import AppServices, DbSession, Query, SignedIn
from app.web.templating import page as render


class AdminPaymentController(AdminPages):
    path = "/admin/payments"

    @get("/", name="admin_payments")
    async def index(self, request: HTMXRequest, db: DbSession, status: Query = None, page: Query = None) -> Template:
        return await list_page(request, "payments/admin_payments.html", queries.payments_page, db, status, page=page)

    @get("/export.csv", name="admin_payments_export")
    async def export(self, services: AppServices, status: Query = None) -> Stream:
        """The payments of the page's filter as a CSV download."""
        return csv_download(services.database, payments_export(status))

    @get("/{payment_id:int}", name="admin_payment")
    async def detail(self, request: HTMXRequest, payment_id: FromPath[int], db: DbSession) -> Template:
        return render(request, "payments/admin_payment.html", await queries.payment_page(db, payment_id))


class AdminPolicyController(AdminPages):
    path = "/admin/policies"
    dependencies = {"admin": Provide(provide_member)}

    @get("/", name="admin_policies")
    async def index(self, request: HTMXRequest, db: DbSession) -> Template:
        policy = await current_policy(db)
        values = _policy_values(policy.fee_basis_points, policy.refund_tiers)
        values["cancel_minutes"] = str(policy.cancel_until_minutes_before)
        return await _policies_page(request, db, values, {})

    @post("/", name="admin_policies_save")
    async def save(self, request: HTMXRequest, db: DbSession, admin: SignedIn) -> Template | Redirect:
        form = await read_form(request)
        errors: dict[str, str] = {}
        fee = _percent_to_basis_points(form.get("fee_percent", ""))
        if fee is None:
            errors["fee_percent"] = _("Enter a percentage between 0 and 100, at most two decimals (e.g. 10 or 7.5).")
        rows = [(form.get(f"hours_{i}", ""), form.get(f"percent_{i}", "")) for i in range(MAX_TIERS)]
        tiers, tier_errors = validate_tiers(rows)
        errors |= tier_errors
        cancel_minutes = parse_whole(form.get("cancel_minutes", "0") or "0", high=24 * 60)
        if cancel_minutes is None:
            errors["cancel_minutes"] = _("Enter whole minutes between 0 and 1,440.")
        note = form.get("note", "")
        if len(note) > 300:
            errors["note"] = _("At most 300 characters.")
        if errors:
            return await _policies_page(request, db, form, errors, status_code=422)
        assert fee is not None and cancel_minutes is not None
        await set_policy(
            db,
            fee_basis_points=fee,
            refund_tiers=tiers,
            cancel_until_minutes_before=cancel_minutes,
            note=note or None,
            actor_id=admin.id,
        )
        message = _("The new policy is in force. Payments made before keep the policy they were made under.")
        return flash_redirect(request, message, "success", "/admin/policies")


class SellerSettlementController(SellerPages):
    path = "/seller/settlements"

    index = member_list("seller_settlements", "payments/seller_settlements.html", queries.settlements_page)

    @get("/export.csv", name="seller_settlements_export")
    async def export(self, member: SignedIn, services: AppServices) -> Stream:
        """The seller's settlement entries as a CSV download."""
        return csv_download(services.database, settlements_export(member.id))


def _percent_to_basis_points(raw: str) -> int | None:
    raw = raw.strip().rstrip("%").strip()
    whole, _dot, fraction = raw.partition(".")
    percent, hundredths = parse_whole(whole, high=100), parse_whole((fraction + "00")[:2])
    if percent is None or hundredths is None or len(fraction) > 2 or (fraction and parse_whole(fraction) is None):
        return None
    value = percent * 100 + hundredths
    return value if 0 <= value <= 10_000 else None


def _policy_values(fee_basis_points: int, tiers: list[list[int]]) -> dict[str, str]:
    values = {"fee_percent": f"{fee_basis_points / 100:g}"}
    for index, (hours, percent) in enumerate(tiers):
        values[f"hours_{index}"], values[f"percent_{index}"] = str(hours), str(percent)
    return values


async def _policies_page(
    request: HTMXRequest, db: AsyncSession, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Template:
    context: dict[str, Any] = {
        "values": values,
        "errors": errors,
        "rows": range(MAX_TIERS),
        "history": await history(db),
    }
    return render(request, "payments/admin_policies.html", context, status_code=status_code)
