"""A waiting room's line, live, through the app: ``GET /products/{id}/line/events`` sends a member
of the line its shared state first (the places let in, the members in it, whether the units are
gone), then each change after the commit that made it (admissions issued, a join, the last unit
taken), in the member's language and never naming anyone; members of no line, or of another, are
refused before any subscription is made."""

from __future__ import annotations

import re

from tests.helpers.keys import key
from tests.helpers.lines import at, issue, join, join_all, pass_of, room_on_sale
from tests.helpers.streams import sse_events
from tests.helpers.web import buy, login, second_browser


def line_events(events: list[tuple[str, str]]) -> list[str]:
    """The fragments of the stream's "line" events (every event it sends is one)."""
    assert events and {name for name, _ in events} == {"line"}, events
    return [data for _, data in events]


def shows(fragment: str, **attributes: object) -> bool:
    """Whether the shared fragment carries these data attributes (``gone=1`` is ``data-gone="1"``)."""
    return all(f'data-{name}="{value}"' in fragment for name, value in attributes.items())


async def test_the_stream_sends_the_lines_state_first_then_the_places_let_in(client, app, members, products):
    product = await room_on_sale(app, members, products, fixed=5, rate=1)
    crowd = [await members.create(f"crowd{n}@example.test", display_name=f"Crowd Member {n}") for n in range(3)]
    await join_all(app, crowd, product.id, at(1))  # after the start: places 1, 2, 3 in order of arrival
    assert await issue(app, product.id, at(1)) == 1  # the first place at the start, then one a minute
    await login(client, crowd[2].email)

    async def a_minute_later() -> None:
        assert await issue(app, product.id, at(61)) == 1

    start, events = await sse_events(
        client,
        f"/products/{product.id}/line/events",
        lambda events: any(shows(data, admitted=2) for _, data in events),
        during=a_minute_later,
    )
    first, *_, last = line_events(events)
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    assert start["status"] == 200 and headers["content-type"].startswith("text/event-stream")
    assert shows(first, started=1, total=3, admitted=1, gone=0) and "1 place let in so far" in first
    assert shows(last, started=1, total=3, admitted=2, gone=0) and "2 places let in so far" in last
    for data in (first, last):  # counts only, never anyone in the line
        assert not any(m.email in data or m.display_name in data for m in crowd)


async def test_a_join_and_the_last_unit_taken_reach_those_waiting(client, app, members, products):
    product = await room_on_sale(app, members, products, fixed=1, rate=1)
    first, waiting, late = [await members.create() for _ in range(3)]
    await join_all(app, [first, waiting], product.id, at(1))
    assert await issue(app, product.id, at(1)) == 1
    admission = await pass_of(app, product.id, first.id)
    assert admission is not None
    await login(client, waiting.email)

    async def a_join_then_the_last_unit() -> None:
        await join(app, late, product.id, at(30))
        async with second_browser(client) as other:
            await login(other, first.email)
            answer = await buy(other, product.id, key(), admission=admission.token)
            assert answer.status_code == 200 and "Yours!" in answer.text

    _start, events = await sse_events(
        client,
        f"/products/{product.id}/line/events",
        lambda events: any(shows(data, total=3, gone=1) for _, data in events),
        during=a_join_then_the_last_unit,
    )
    fragments = line_events(events)
    assert shows(fragments[0], total=2, gone=0) and "The units are gone" not in fragments[0]
    assert "The units are gone: every one is taken." in fragments[-1]


async def test_the_stream_speaks_the_members_language(client, app, members, products):
    product = await room_on_sale(app, members, products, rate=1)
    member = await members.create()
    await join(app, member, product.id, at(1))
    await issue(app, product.id, at(1))
    await login(client, member.email)
    client.cookies.set("lang", "ko")
    _start, events = await sse_events(client, f"/products/{product.id}/line/events", bool)
    (fragment,) = line_events(events)[:1]
    assert "지금까지 1명 입장" in fragment and "let in" not in fragment


async def test_only_members_of_the_line_may_follow_it(client, app, members, products):
    product = await room_on_sale(app, members, products)
    elsewhere = await room_on_sale(app, members, products)
    member, stranger = await members.create(), await members.create()
    await join(app, member, product.id, at(1))
    await join(app, stranger, elsewhere.id, at(1))
    streams = app.state["streams"]

    signed_out = await client.get(f"/products/{product.id}/line/events")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login?next=")
    async with second_browser(client) as other:
        await login(other, stranger.email)
        for path in (f"/products/{product.id}/line/events", f"/products/{product.id}/line/box"):
            refused = await other.get(path)
            assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
            assert "You are not in this line" in refused.text
        for path in ("/products/999999/line/events", "/products/999999/line/box"):
            assert (await other.get(path)).status_code == 404
    assert streams.rooms.rooms == {} and streams.open_count == 0  # refused before any subscription
    await login(client, member.email)
    _start, events = await sse_events(client, f"/products/{product.id}/line/events", bool)
    assert re.search(r'data-admitted="\d+"', line_events(events)[0])
