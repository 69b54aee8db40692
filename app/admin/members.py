"""Placeholder wiring; replaced by the member moderation pages."""

from litestar import Controller


class AdminMemberController(Controller):
    path = "/admin/members"
