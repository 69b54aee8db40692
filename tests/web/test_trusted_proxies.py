"""The client's address and scheme come from X-Forwarded-For / X-Forwarded-Proto or ``Forwarded``
only when the peer is one of TRUSTED_PROXIES: the login limits count that client, the audit log
records it and the payment gateway's return URLs take its scheme; from any other peer the same
headers change nothing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.models.members import AuditEntry
from app.web.forwarded import parse_forwarded
from tests.helpers.config import with_settings
from tests.helpers.factories import PASSWORD
from tests.helpers.orders import granted_right
from tests.helpers.web import as_admin, login, post_form, second_browser

PROXY, CLIENT, ATTACKER = "10.1.2.3", "192.0.2.50", "203.0.113.9"
WRONG = "wrong-password-123"
TRUSTED = with_settings("trusted-proxy", trusted_proxies=("10.0.0.0/8",), login_delay_seconds=0.01)
HTTPS_FROM = {
    "x-forwarded": {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"},
    "forwarded": {"Forwarded": f'for="{CLIENT}:4711";proto=https;by=10.1.2.3'},
}


async def return_urls(client, app, members, products, peer: str, headers: dict[str, str]) -> list[str]:
    """The successUrl and failUrl a shopper's Pay press (from ``peer``, with ``headers``) sends to the gateway."""
    _product, member, right_id = await granted_right(app, members, products)
    async with second_browser(client, peer) as browser:
        await login(browser, member.email)
        order_url = (await browser.get(f"/me/purchases/{right_id}/pay")).headers["location"]
        r = await post_form(browser, f"{order_url}/pay", headers=headers)
    assert r.status_code == 303, r.text
    query = parse_qs(urlsplit(r.headers["location"]).query)
    return [query["successUrl"][0], query["failUrl"][0]]


@TRUSTED
@pytest.mark.parametrize("kind", HTTPS_FROM)
async def test_return_urls_take_the_trusted_proxys_https(client, app, members, products, kind):
    urls = await return_urls(client, app, members, products, PROXY, HTTPS_FROM[kind])
    assert all(url.startswith("https://testserver.local/orders/") for url in urls), urls


@TRUSTED
@pytest.mark.parametrize("kind", HTTPS_FROM)
async def test_a_forged_scheme_from_an_untrusted_peer_changes_nothing(client, app, members, products, kind):
    urls = await return_urls(client, app, members, products, ATTACKER, HTTPS_FROM[kind])
    assert all(url.startswith("http://testserver.local/orders/") for url in urls), urls


async def sign_in(browser, email: str, password: str = WRONG, **kwargs):
    return await post_form(browser, "/login", {"email": email, "password": password}, **kwargs)


@TRUSTED
async def test_behind_a_trusted_proxy_forwarded_names_the_client_the_limit_counts(client, members, settings):
    await members.create("victim@example.test")
    async with second_browser(client, PROXY) as proxy:
        for i in range(settings.login_failures_per_pair):
            # what the client wrote first is its own; the proxy's element, the last, names it
            chain = {"Forwarded": f"for=198.51.100.{i + 1}, for={ATTACKER}"}
            assert (await sign_in(proxy, "victim@example.test", headers=chain)).status_code == 400
        chain = {"Forwarded": f"for={ATTACKER}"}
        assert (await sign_in(proxy, "victim@example.test", PASSWORD, headers=chain)).status_code == 429
        other = {"Forwarded": f'for="{CLIENT}"'}  # another client behind the same proxy
        assert (await sign_in(proxy, "victim@example.test", PASSWORD, headers=other)).status_code == 303


@TRUSTED
async def test_forwarded_from_an_untrusted_peer_is_ignored_by_the_limit(client, members, settings):
    await members.create("victim@example.test")
    async with second_browser(client, ATTACKER) as attacker:
        for i in range(settings.login_failures_per_pair):
            forged = {"Forwarded": f"for=198.51.100.{i + 1}"}
            assert (await sign_in(attacker, "victim@example.test", headers=forged)).status_code == 400
        forged = {"Forwarded": f"for={CLIENT}"}
        assert (await sign_in(attacker, "victim@example.test", headers=forged)).status_code == 429
    async with second_browser(client, PROXY) as proxy:  # the client it named was never counted
        assert (await sign_in(proxy, "victim@example.test", headers={"X-Forwarded-For": CLIENT})).status_code == 400


async def suspend_from(client, app, members, peer: str, headers: dict[str, str]) -> str | None:
    """The client address the audit log records for a suspension an admin makes from ``peer``."""
    bad = await members.create(display_name="Bad Actor")
    async with second_browser(client, peer) as browser:
        await as_admin(browser, members)
        r = await post_form(browser, f"/admin/members/{bad.id}/suspend", {"reason": "spam"}, headers=headers)
    assert r.status_code == 303, r.text
    async with app.state.database.transaction() as db:
        stmt = select(AuditEntry).where(AuditEntry.target_type == "members", AuditEntry.target_id == bad.id)
        return (await db.execute(stmt)).scalar_one().client_address


@TRUSTED
async def test_the_audit_log_records_the_client_a_trusted_proxy_names(client, app, members):
    assert await suspend_from(client, app, members, PROXY, {"X-Forwarded-For": CLIENT}) == CLIENT


@TRUSTED
async def test_the_audit_log_records_an_untrusted_peer_itself(client, app, members):
    forged = {"X-Forwarded-For": CLIENT, "Forwarded": f"for={CLIENT}"}
    assert await suspend_from(client, app, members, ATTACKER, forged) == ATTACKER


async def test_without_trusted_proxies_the_audit_log_records_the_peer(client, app, members):
    assert await suspend_from(client, app, members, PROXY, {"X-Forwarded-For": CLIENT}) == PROXY


@pytest.mark.parametrize(
    ("header", "nodes", "proto"),
    [
        ("for=192.0.2.60;proto=http;by=203.0.113.43", ["192.0.2.60"], "http"),
        ('for="[2001:db8:cafe::17]:4711";proto=HTTPS', ["2001:db8:cafe::17"], "https"),
        ('for=192.0.2.43, for="198.51.100.17:8080";proto=https', ["192.0.2.43", "198.51.100.17"], "https"),
        ("for=unknown, for=_hidden", ["unknown", "_hidden"], None),
        ("proto=https, for=192.0.2.1", ["192.0.2.1"], None),  # the nearest element names no scheme
        ("for=192.0.2.1;proto=gopher", ["192.0.2.1"], None),
        ('for=192.0.2.1, garbage "here', ["192.0.2.1"], None),
        ("", [], None),
    ],
)
def test_forwarded_is_read_as_its_rfc_says(header, nodes, proto):
    assert parse_forwarded(header) == (nodes, proto)
