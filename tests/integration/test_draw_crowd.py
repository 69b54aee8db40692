"""A draw at full size: 300 members enter a draw for 20 units (in waves that enter at once), the
draw is made, and what its public page publishes (the entry ids file, the seed, the commitment and
the units) run through ``python -m app.drops.verify_draw`` in its own process gives the winners
the shop chose; then 5 winners let their rights expire and their units cascade to the next 5
entries in draw order. Never a unit oversold; the ledger, the counter and the rights agree."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

import pytest

from app.models.draws import DrawEntry, EntryStatus
from app.models.drops import RightStatus
from app.settings import PROJECT_ROOT
from tests.helpers.draws import draw_on_sale, enter, entries, make, stock
from tests.helpers.drops import expire_now
from tests.helpers.tables import count

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ENTRANTS, UNITS, LAPSED, WAVE = 300, 20, 5, 25


def published(page: str, element_id: str, pattern: str = r"[0-9a-f]{64}") -> str:
    match = re.search(rf'id="{element_id}">({pattern})<', page)
    assert match, f"the page publishes no {element_id}"
    return match.group(1)


def verify(seed: str, commitment: str, units: int, entries_file) -> dict:
    """The published data through the verification command, as anyone would run it."""
    arguments = ["--seed", seed, "--commitment", commitment, "--units", str(units), str(entries_file)]
    done = subprocess.run(
        [sys.executable, "-m", "app.drops.verify_draw", *arguments],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_300_members_enter_a_draw_for_20_units_and_anyone_can_check_it(client, app, members, products, tmp_path):
    product = await draw_on_sale(app, members, products, units=UNITS)
    crowd = [await members.create() for _ in range(ENTRANTS)]
    for start in range(0, ENTRANTS, WAVE):
        await asyncio.gather(*(enter(app, member, product.id) for member in crowd[start : start + WAVE]))
    assert await count(app, DrawEntry) == ENTRANTS

    made = await make(app, product.id)
    assert made is not None and len(made.winners) == UNITS

    page = (await client.get(f"/products/{product.id}/draw")).text
    seed, commitment = published(page, "draw-seed"), published(page, "draw-commitment")
    units = int(published(page, "draw-units", r"\d+"))
    listed = await client.get(f"/products/{product.id}/draw/entries.txt")
    assert listed.headers["content-type"].startswith("text/plain") and len(listed.text.splitlines()) == ENTRANTS
    entries_file = tmp_path / "entries.txt"
    entries_file.write_text(listed.text)
    checked = verify(seed, commitment, units, entries_file)
    assert checked["commitment_ok"] and units == UNITS
    assert checked["winners"] == list(made.winners)
    assert re.findall(r'<tr id="winners-(\d+)">', page) == [str(e) for e in checked["winners"]]

    drawn = {entry.id: entry for entry in await entries(app, product.id)}
    assert {e for e, entry in drawn.items() if entry.status is EntryStatus.WON} == set(checked["winners"])
    assert [drawn[e].place for e in checked["order"]] == list(range(1, ENTRANTS + 1))
    before = await stock(app, product.id)
    assert before.consistent and before.rights == {RightStatus.HELD: UNITS} and before.taken == UNITS

    for entry_id in checked["winners"][:LAPSED]:
        await expire_now(app, drawn[entry_id].right_id)

    after = {entry.id: entry for entry in await entries(app, product.id)}
    offered = sorted(
        (e for e, entry in after.items() if entry.status is EntryStatus.OFFERED), key=lambda e: after[e].place
    )
    assert offered == checked["order"][UNITS : UNITS + LAPSED]
    seen = await stock(app, product.id)
    assert seen.consistent and seen.taken == UNITS
    assert seen.rights == {RightStatus.HELD: UNITS, RightStatus.EXPIRED: LAPSED}
    page = (await client.get(f"/products/{product.id}/draw")).text
    assert re.findall(r'<tr id="later-(\d+)">', page) == [str(e) for e in offered]
