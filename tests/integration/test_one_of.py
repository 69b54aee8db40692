"""``one_of``: a column among some values, as one statement whatever their number."""

from __future__ import annotations

from sqlalchemy import select

from app.db import one_of
from app.models.members import Member


async def test_one_of_finds_the_same_rows_as_an_in_list_and_keeps_one_statement_on_postgresql(app, members):
    made = [await members.create() for _ in range(3)]
    ids = [m.id for m in made]
    async with app.state.database.transaction() as db:
        texts = set()
        for wanted in ([ids[0]], ids, [], [*ids, 999_999]):
            stmt = select(Member.id).where(one_of(db, Member.id, wanted)).order_by(Member.id)
            assert list((await db.execute(stmt)).scalars()) == sorted(i for i in wanted if i in ids)
            texts.add(str(stmt.compile(dialect=db.get_bind().dialect)))
        if db.get_bind().dialect.name == "postgresql":
            assert len(texts) == 1 and "ANY" in next(iter(texts))  # prepared once, whatever the count
        else:
            assert all(" IN " in text for text in texts)
