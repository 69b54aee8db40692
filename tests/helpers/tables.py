"""Reading back what a request through the app wrote: a model's rows, their count, and the page a
303 answer leads to."""

from __future__ import annotations

from litestar import Litestar
from sqlalchemy import func, select


async def rows(app: Litestar, model: type) -> list:
    async with app.state.database.transaction() as db:
        return list((await db.execute(select(model).order_by(model.id))).scalars().all())


async def count(app: Litestar, model: type) -> int:
    async with app.state.database.transaction() as db:
        return (await db.execute(select(func.count(model.id)))).scalar_one()


async def followed(client, response) -> str:
    assert response.status_code == 303, response.text
    return (await client.get(response.headers["location"])).text
