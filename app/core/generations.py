"""Session generations: a member's sessions end together when the member row's generation moves on
(a password change, a reset, a suspension). Here, apart from the accounts' rules, so the drop and
auction deciders can ask without importing the accounts (whose models import theirs)."""

from __future__ import annotations

from collections.abc import Mapping


def session_current(generations: Mapping[int, int], member_id: int, generation: int | None) -> bool:
    """A press or bid whose session was signed in at ``generation`` still speaks for the member
    (``generations``: each member's current one; None: the caller is not a session)."""
    return generation is None or generations.get(member_id) == generation
