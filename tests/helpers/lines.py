"""Waiting rooms on the real services, at moments the test chooses: a room on sale with its stock
open, joining its line, issuing its admissions, reading a member's standing and admission, going
through the door with a token, pressing Buy as the app does, and a right expiring at a given time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.drops import admissions
from app.drops.admissions import Door, Pass
from app.drops.line_places import Line, read_line
from app.drops.rules import PressResult
from app.drops.service import DropService, Press
from app.drops.stock import release_right
from app.drops.waiting_room import Standing, WaitingRoom
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.drops import RightStatus, StockReason
from app.models.lines import Admission, LinePlace
from app.models.members import Member
from tests.helpers.drops import open_sale

# Far enough ahead that the real clock (and any loop of a running app) is always before it.
START = datetime(2031, 3, 4, 11, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


async def room_on_sale(app, members, products, fixed: int = 5, rate: int | None = None, **fields) -> Product:
    """A waiting room on sale from ``START``, ``fixed`` units, its stock open and the gate in step."""
    values = {
        "status": ProductStatus.ON_SALE,
        "sale_mode": SaleMode.WAITING_ROOM,
        "sale_starts_at": START,
        "fixed_quantity": fixed,
        "total_quantity": fixed + 2,
        "admission_rate_per_minute": rate,
    }
    product = await products.create(await members.seller(), **(values | fields))
    await open_sale(app, product.id)
    return product


async def join(app, member: Member, product_id: int, now: datetime) -> LinePlace:
    async with app.state.database.transaction() as db:
        product = await db.get(Product, product_id)
        return await WaitingRoom(db, app.state.settings).join(member, product, now)


async def join_all(app, people: list[Member], product_id: int, now: datetime) -> None:
    for member in people:
        await join(app, member, product_id, now)


async def standing(app, member: Member, product_id: int, now: datetime) -> Standing | None:
    async with app.state.database.transaction() as db:
        product = await db.get(Product, product_id)
        return await WaitingRoom(db, app.state.settings).standing(member, product, now)


async def issue(app, product_id: int, now: datetime) -> int:
    async with app.state.database.transaction() as db:
        return await admissions.issue_due(db, app.state.settings, product_id, now)


async def line_of(app, product_id: int) -> Line:
    async with app.state.database.transaction() as db:
        line = await read_line(db, product_id)
        assert line is not None
        return line


async def places(app, product_id: int) -> dict[int, int | None]:
    """Member id → place, for everyone in the line."""
    async with app.state.database.transaction() as db:
        query = select(LinePlace.member_id, LinePlace.place).where(LinePlace.product_id == product_id)
        return dict((await db.execute(query)).all())


async def admitted(app, product_id: int) -> list[Admission]:
    """The product's admissions in place order."""
    async with app.state.database.transaction() as db:
        query = select(Admission).where(Admission.product_id == product_id).order_by(Admission.place)
        return list((await db.execute(query)).scalars())


async def admission_count(app, product_id: int) -> int:
    async with app.state.database.transaction() as db:
        return int(await db.scalar(select(func.count()).where(Admission.product_id == product_id)) or 0)


async def pass_of(app, product_id: int, member_id: int) -> Pass | None:
    async with app.state.database.transaction() as db:
        return await admissions.pass_of(db, app.state.settings, product_id, member_id)


async def door(app, token: str, member_id: int, product_id: int, key: str, now: datetime) -> Door:
    return await admissions.admit_press(app.state.database, app.state.settings, token, member_id, product_id, key, now)


async def press(drops: DropService, product_id: int, member_id: int, key: str, now: datetime, admitted: bool):
    """A Buy press decided by the drop service, as the app's press is (``PressResult``)."""
    result: PressResult = await drops.press(Press(product_id, member_id, key, admitted=admitted), now)
    return result


async def expire(app, right_id: int, now: datetime) -> None:
    """The right is not paid by ``now`` (past its deadline): it expires and its unit comes back."""
    async with app.state.database.transaction() as db:
        assert await release_right(db, right_id, RightStatus.EXPIRED, StockReason.EXPIRY, now=now)
