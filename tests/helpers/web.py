"""HTTP helpers that sign in and post forms with the CSRF token like a browser does, a second
visitor on the same app, and the shop's Buy and bid forms."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from litestar.testing.transport import TestClientTransport

from app.models.members import Member
from tests.helpers.factories import PASSWORD
from tests.helpers.keys import key


async def csrf_token(client: AsyncTestClient[Any]) -> str:
    token = client.cookies.get("csrftoken")
    if not token:
        await client.get("/login")
        token = client.cookies.get("csrftoken")
    assert token, "no CSRF cookie was issued"
    return token


async def post_form(client: AsyncTestClient[Any], url: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
    form = dict(data or {})
    form["_csrf_token"] = await csrf_token(client)
    return await client.post(url, data=form, **kwargs)


async def login(client: AsyncTestClient[Any], email: str, password: str = PASSWORD) -> Any:
    response = await post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == 303, response.text
    return response


def field_error(html: str, name: str) -> str:
    """The error text shown next to field ``name``."""
    match = re.search(rf'<p class="error" id="e-{re.escape(name)}"[^>]*>(.*?)</p>', html, re.S)
    return match.group(1).strip() if match else ""


_BROWSER_THREADS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="second-browser")


class _SharedTransport(httpx.AsyncBaseTransport):
    """The first client's transport (its event loop and app), not closed with the second client."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # The test client's transport blocks until the app (on its own portal thread) has answered;
        # a thread of our own keeps the test's loop free, so browsers can press at the same time.
        return await asyncio.get_running_loop().run_in_executor(_BROWSER_THREADS, self.inner.handle_request, request)

    async def aclose(self) -> None:
        return None


class _PeerTransport(TestClientTransport):
    """The test client's transport, with requests arriving from ``peer`` (the connection's address)."""

    def __init__(self, client: AsyncTestClient[Any], peer: str) -> None:
        super().__init__(client=client, raise_server_exceptions=client._transport.raise_server_exceptions)
        self.peer = peer

    def parse_request(self, request: httpx.Request) -> dict[str, Any]:
        scope = super().parse_request(request)
        scope["client"] = (self.peer, 50000)
        return scope


@asynccontextmanager
async def second_browser(client: AsyncTestClient[Any], peer: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """Another visitor with a cookie jar of its own, talking to the same running app (one app runs on
    one event loop: Redis clients and channels belong to it), from ``peer`` if given (an address)."""
    transport = client._transport if peer is None else _PeerTransport(client, peer)
    other = httpx.AsyncClient(transport=_SharedTransport(transport), base_url=client.base_url, follow_redirects=False)
    try:
        yield other
    finally:
        await other.aclose()


HTMX = {"HX-Request": "true"}


async def signed_in(client, members):
    member = await members.create()
    await login(client, member.email)
    return member


async def buy(browser, product_id: int, key_: str | None, htmx: bool = True, admission: str | None = None):
    """Press Buy with ``key_`` (None: no key), and a waiting room's ``admission`` token if given."""
    data = {} if key_ is None else {"key": key_}
    if admission is not None:
        data["admission"] = admission
    return await post_form(browser, f"/products/{product_id}/buy", data, headers=HTMX if htmx else None)


async def place(browser, auction_id: int, amount: str, *, maximum: str = "", key_: str | None = None, htmx=True):
    data = {"amount": amount, "maximum": maximum, "key": key_ or key()}
    return await post_form(browser, f"/auctions/{auction_id}/bids", data, headers=HTMX if htmx else None)


async def as_admin(client, members) -> Member:
    admin = await members.admin()
    await login(client, admin.email)
    return admin


async def refusal_says(client, url: str, message: str) -> None:
    """A form posted to ``url`` (with a reason) is refused: the page it redirects to says ``message``."""
    r = await post_form(client, url, {"reason": "because"})
    assert r.status_code == 303, url
    assert message in (await client.get(r.headers["location"])).text, url
