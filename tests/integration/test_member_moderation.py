"""MemberModerationService on a real database: search, refusals, the audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from app.admin.member_service import MemberModerationService, escape_like
from app.core.errors import DomainError, FormInvalid, NotFound
from app.models.members import Member, MemberStatus


def test_escape_like():
    assert escape_like("50%_off\\") == "50\\%\\_off\\\\"
    assert escape_like("plain") == "plain"


async def test_search_combines_query_and_status(app, members):
    kim = await members.create("kim@example.test", display_name="Kim")
    await members.create("kimchi@example.test", display_name="Chef")
    admin = await members.admin()
    async with app.state.database.transaction() as db:
        service = MemberModerationService(db)
        await service.suspend(kim.id, await db.get(Member, admin.id), "spam")
    async with app.state.database.transaction() as db:
        service = MemberModerationService(db)
        found = await service.search("  KIM ", "suspended", 1, 5)
        assert [m.id for m in found.items] == [kim.id]
        assert found.params == {"q": "KIM", "status": "suspended"}
        assert found.total == 1
        assert (await service.search("kim", "nonsense", 1, 5)).total == 2
        with pytest.raises(FormInvalid) as refused:
            await service.search("k" * 201, None, 1, 5)
        assert "q" in refused.value.errors


@asynccontextmanager
async def moderating(app, members) -> AsyncIterator[tuple[MemberModerationService, Member, Member]]:
    """The moderation service in a transaction, the administrator using it, and a member to moderate."""
    admin = await members.admin()
    target = await members.create()
    async with app.state.database.transaction() as db:
        yield MemberModerationService(db), await db.get(Member, admin.id), target


async def test_refusals_leave_no_trace(app, members):
    async with moderating(app, members) as (service, admin, target_row):
        with pytest.raises(NotFound):
            await service.suspend(10**12, admin, "x")
        with pytest.raises(FormInvalid):
            await service.suspend(target_row.id, admin, "")
        with pytest.raises(DomainError, match="your own account"):
            await service.suspend(admin.id, admin, "x")
        with pytest.raises(DomainError, match="is not suspended"):
            await service.unsuspend(target_row.id, admin, "x")
        target = await service.get(target_row.id)
        assert target.status is MemberStatus.ACTIVE
        assert await service.trail(target) == []


async def test_trail_lists_newest_first_with_actor(app, members):
    async with moderating(app, members) as (service, admin, target):
        await service.suspend(target.id, admin, "first")
        await service.unsuspend(target.id, admin, "second")
        trail = await service.trail(await service.get(target.id))
        assert [(e.action, e.reason, e.actor.email) for e in trail] == [
            ("member.unsuspend", "second", admin.email),
            ("member.suspend", "first", admin.email),
        ]
