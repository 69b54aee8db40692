"""A drop's fairness report through the app: for the seller who owns it and for administrators,
by sale mode (first come: presses refused and the last unit's time; waiting room: who joined, the
places let in per local minute, who bought and how long it took), never naming a shopper."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from app.drops.service import Press
from app.models.catalog import Product
from tests.helpers.draws import SEED, draw_on_sale, enter, make
from tests.helpers.drops import on_sale, service
from tests.helpers.keys import key
from tests.helpers.lines import START, admitted, at, door, issue, join_all, pass_of, press, room_on_sale
from tests.helpers.web import login, second_browser


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def table_rows(page: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert table, f"no table {table_id}"
    body = table.group(1).split("<tbody>", 1)[1]
    return [
        [text(cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


async def test_a_waiting_rooms_report_counts_the_line_the_places_let_in_and_the_buyers(client, app, members, products):
    product = await room_on_sale(app, members, products, fixed=5, rate=600)
    early = [await members.create(display_name=f"Early Shopper {n}") for n in range(4)]
    await join_all(app, early, product.id, START - timedelta(minutes=5))
    late = await members.create(display_name="Late Shopper")
    await join_all(app, [late], product.id, at(1))
    assert await issue(app, product.id, at(0.25)) == 3  # 600 a minute: a place every 0.1 s
    let_in = await admitted(app, product.id)
    drops = service(app)
    for row, after in zip(let_in[:2], (4, 65), strict=True):  # the second buys a minute later
        token = (await pass_of(app, product.id, row.member_id)).token
        k = key()
        assert (await door(app, token, row.member_id, product.id, k, at(after))).admitted
        assert (await press(drops, product.id, row.member_id, k, at(after), admitted=True)).right_id

    owner = await members.get(product.seller_id)
    await login(client, owner.email)
    assert f'href="/seller/products/{product.id}/fairness"' in (await client.get("/seller/products")).text
    r = await client.get(f"/seller/products/{product.id}/fairness")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    said = text(r.text)
    assert "Waiting room" in said
    assert "5 members joined the line. 4 of them joined before the start" in said
    assert "3 places were let in: 2 bought, 0 let their turn pass, 1 still have time." in said
    assert table_rows(r.text, "fairness-rights") == [["2", "0", "2", "0", "0"]]
    assert table_rows(r.text, "fairness-waits") == [
        ["To the purchase right", "2", "0:03", "1:04", "1:04"],  # let in at 0.25 s, pressed at 4 s and 65 s
        ["To the payment", "0", "nobody yet"],
    ]
    (minute,) = table_rows(r.text, "fairness-minutes")
    assert minute[1:] == ["3", "2"] and minute[0].endswith("KST")  # START is 20:00 KST
    assert "8:00 PM" in minute[0] or "20:00" in minute[0]
    for member in [*early, late]:
        assert member.display_name not in r.text and member.email not in r.text

    async with second_browser(client) as admin, second_browser(client) as other:
        await login(admin, (await members.admin()).email)
        detail = await admin.get(f"/admin/products/{product.id}")
        assert f'href="/admin/products/{product.id}/fairness"' in detail.text
        assert (await admin.get(f"/admin/products/{product.id}/fairness")).status_code == 200
        assert (await admin.get("/admin/products/999999/fairness")).status_code == 404
        await login(other, (await members.seller()).email)
        assert (await other.get(f"/seller/products/{product.id}/fairness")).status_code == 404


async def test_a_first_come_report_counts_the_refusals_and_the_last_units_time(client, app, members, products):
    product = await on_sale(app, members, products, fixed=1)
    drops = service(app)
    buyers = [await members.create() for _ in range(3)]
    outcomes = [(await drops.press(Press(product.id, b.id, key()))).outcome.value for b in buyers]
    assert outcomes == ["granted", "sold_out", "sold_out"]
    await login(client, (await members.admin()).email)
    r = await client.get(f"/admin/products/{product.id}/fairness")
    said = text(r.text)
    assert r.status_code == 200 and "First come, first served" in said
    assert "2 presses were refused" in said
    took = re.search(r"The last unit went (\d+):(\d\d) after the start", said)
    assert took, said
    assert 55 <= int(took.group(1)) * 60 + int(took.group(2)) <= 75  # on sale since a minute ago


async def test_a_draws_report_counts_the_entries_and_shows_what_verifies_it(client, app, members, products):
    product = await draw_on_sale(app, members, products, units=2)
    crowd = [await members.create(display_name=f"Entrant {n}") for n in range(4)]
    for member in crowd:
        await enter(app, member, product.id)
    await login(client, (await members.admin()).email)
    before = await client.get(f"/admin/products/{product.id}/fairness")
    said = text(before.text)
    assert before.status_code == 200 and f'href="/products/{product.id}/draw"' in before.text
    assert "4 members entered." in said and "The draw is made when the entries close." in said
    assert 'id="fairness-seed"' not in before.text  # never before the draw
    async with app.state.database.transaction() as db:
        commitment = (await db.get(Product, product.id)).draw_commitment
    assert commitment and commitment in before.text
    result = await make(app, product.id)
    assert result is not None
    said = text((await client.get(f"/admin/products/{product.id}/fairness")).text)
    assert "2 units went to the winners, 0 more down the draw order after a winner did not pay; 0 are paid." in said
    assert SEED in said and "sha256(seed) equals the commitment." in said
    assert all(m.display_name not in said and m.email not in said for m in crowd)
