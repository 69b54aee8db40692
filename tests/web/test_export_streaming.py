"""A large download is complete and streamed: a product's ledger of 1,201 rows leaves in several
body messages, read in chunks of 500 rows, each chunk in its own short session that has ended
before its rows are sent (no session is held for the length of the download)."""

from __future__ import annotations

from itertools import accumulate

import pytest
from sqlalchemy import insert

from app.models.drops import StockEntry, StockReason
from app.web.csv_export import CHUNK_ROWS
from tests.helpers.drops import on_sale
from tests.helpers.exports import LedgerReads, assert_csv_download, body_messages, first_column
from tests.helpers.web import login

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

MOVES = 1_200


async def test_a_large_ledger_is_complete_and_streamed_in_chunks(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)  # the "put on sale" row: +5
    moves = [
        {
            "product_id": product.id,
            "delta": -1 if i % 3 else 1,
            "reason": StockReason.PURCHASE if i % 3 else StockReason.EXPIRY,
            "reference": f"right:{i + 1}",
            "unique_key": f"test:move:{i}",
        }
        for i in range(MOVES)
    ]
    async with app.state.database.transaction() as db:
        await db.execute(insert(StockEntry), moves)
    owner = await members.get(product.seller_id)
    await login(client, owner.email)

    with LedgerReads() as reads, body_messages(client, reads) as sent:
        r = await client.get(f"/seller/products/{product.id}/stock/export.csv")
    rows = assert_csv_download(r, f"stock-ledger-product-{product.id}")

    assert len(rows) == 1 + 1 + MOVES  # the header, the opening row, every move
    ids = [int(i) for i in first_column(rows)]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    deltas = [5] + [m["delta"] for m in moves]  # oldest first
    balances = list(accumulate(deltas))
    assert [int(row[6]) for row in reversed(rows[1:])] == balances
    assert [int(row[2]) for row in reversed(rows[1:])] == deltas
    assert rows[-1][3] == "Put on sale" and rows[1][4] == f"Purchase right #{MOVES}"

    chunks = -(-(MOVES + 1) // CHUNK_ROWS)  # 500 + 500 + 201
    assert chunks == 3
    assert len(reads.readers) == chunks  # one session per chunk
    with_rows = [length for length, _open in sent if length]
    assert len(with_rows) == 1 + chunks  # the header, then each chunk as it was read
    assert all(open_sessions == 0 for _length, open_sessions in sent)  # each session ended before its rows left
