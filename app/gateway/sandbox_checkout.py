"""The sandbox gateway's hosted checkout window: the shop sends the shopper here with the order; a
test card authenticates the payment and the shopper returns to ``successUrl`` with its paymentKey
(or to ``failUrl`` when they cancel), exactly as with the real gateway's payment window."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Response, Template

from app.core.i18n import _
from app.db import connection_shortage, write_contention
from app.gateway.sandbox_payments import CARDS_BY_ID, SANDBOX_CARDS, create_session

if TYPE_CHECKING:
    from app.gateway.sandbox import SandboxGateway

_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{6,64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_AMOUNT = 100  # won; the real gateway refuses card payments below this
MAX_AMOUNT = 1_000_000_000


@dataclass(frozen=True)
class CheckoutRequest:
    client_key: str
    order_id: str
    order_name: str
    amount: int
    success_url: str
    fail_url: str
    customer_email: str | None

    def as_query(self) -> dict[str, str]:
        query = {
            "clientKey": self.client_key,
            "orderId": self.order_id,
            "orderName": self.order_name,
            "amount": str(self.amount),
            "successUrl": self.success_url,
            "failUrl": self.fail_url,
        }
        return query | ({"customerEmail": self.customer_email} if self.customer_email else {})


class CheckoutProblem(Exception):
    def __init__(self, status: int, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.status = status
        self.problems = problems


def checkout_url(
    base_url: str,
    *,
    client_key: str,
    order_id: str,
    order_name: str,
    amount: int,
    success_url: str,
    fail_url: str,
    customer_email: str | None = None,
) -> str:
    """Where to send a shopper to pay ``amount`` won for ``order_id`` in the checkout window."""
    request = CheckoutRequest(client_key, order_id, order_name, amount, success_url, fail_url, customer_email)
    return f"{base_url.rstrip('/')}/checkout?{urlencode(request.as_query())}"


def parse_checkout(params: Mapping[str, Any], client_key: str) -> CheckoutRequest:
    """The checkout parameters, checked like the real window checks them; ``CheckoutProblem`` if not."""

    def text(name: str) -> str:
        value = params.get(name)
        return value.strip() if isinstance(value, str) else ""

    if not secure_equal(text("clientKey"), client_key):
        raise CheckoutProblem(
            401, [_("The client key is not valid for this gateway (%(code)s).", code="UNAUTHORIZED_KEY")]
        )
    problems: list[str] = []
    order_id, order_name, raw_amount = text("orderId"), text("orderName"), text("amount")
    if not _ORDER_ID.fullmatch(order_id):
        problems.append(_("orderId must be 6 to 64 characters: letters, digits, “-” and “_”."))
    if not order_name or len(order_name) > 100:
        problems.append(_("orderName is required (at most 100 characters)."))
    amount = int(raw_amount) if raw_amount.isascii() and raw_amount.isdigit() and len(raw_amount) <= 10 else 0
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        problems.append(
            _(
                "amount must be a whole number of won from %(low)s to %(high)s.",
                low=f"{MIN_AMOUNT:,}",
                high=f"{MAX_AMOUNT:,}",
            )
        )
    success_url, fail_url, email = text("successUrl"), text("failUrl"), text("customerEmail")
    for name, url in (("successUrl", success_url), ("failUrl", fail_url)):
        if not _is_web_url(url):
            problems.append(_("%(name)s must be an absolute http:// or https:// URL.", name=name))
    if email and (len(email) > 100 or not _EMAIL.fullmatch(email)):
        problems.append(_("customerEmail is not an email address."))
    if problems:
        raise CheckoutProblem(400, problems)
    return CheckoutRequest(client_key, order_id, order_name, amount, success_url, fail_url, email or None)


@get("/checkout", name="sandbox_gateway:checkout")
async def checkout_page(request: Request[Any, Any, Any], gateway: NamedDependency[SandboxGateway]) -> Response[Any]:
    try:
        checkout = parse_checkout(request.query_params, gateway.client_key)
    except CheckoutProblem as problem:
        return _problem_page(problem)
    return _window(checkout)


@post("/checkout", name="sandbox_gateway:checkout_submit")
async def checkout_submit(request: Request[Any, Any, Any], gateway: NamedDependency[SandboxGateway]) -> Response[Any]:
    """Pay with the chosen test card (a session bound to the order and amount), or cancel."""
    form = await request.form()
    try:
        checkout = parse_checkout(form, gateway.client_key)
    except CheckoutProblem as problem:
        return _problem_page(problem)
    if form.get("action") == "cancel":
        message = "The customer cancelled the payment."
        target = with_query(checkout.fail_url, code="PAY_PROCESS_CANCELED", message=message, orderId=checkout.order_id)
        return Redirect(target, status_code=303)
    card = form.get("card")
    if card not in CARDS_BY_ID:
        return _window(checkout, error=_("Choose a test card to pay with."), status_code=400)
    try:
        payment_key = await gateway.store.transaction(
            partial(
                create_session,
                order_id=checkout.order_id,
                order_name=checkout.order_name,
                amount=checkout.amount,
                card=card,
                customer_email=checkout.customer_email,
            )
        )
    except Exception as exc:
        if not (connection_shortage(exc) or write_contention(exc)):
            raise
        # Nothing was kept: the same card can be chosen again.
        return _window(checkout, error=_("The test gateway is busy. Try again in a moment."), status_code=503)
    target = with_query(
        checkout.success_url, paymentKey=payment_key, orderId=checkout.order_id, amount=str(checkout.amount)
    )
    return Redirect(target, status_code=303)


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to the query it already has."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def secure_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and len(url) <= 2000


def _window(checkout: CheckoutRequest, *, error: str | None = None, status_code: int = 200) -> Template:
    context = {"checkout": checkout, "fields": checkout.as_query(), "cards": SANDBOX_CARDS, "error": error}
    return Template("sandbox_gateway/checkout.html", context=context, status_code=status_code)


def _problem_page(problem: CheckoutProblem) -> Template:
    context = {"status": problem.status, "problems": problem.problems}
    return Template("sandbox_gateway/error.html", context=context, status_code=problem.status)
