"""Idempotency keys like the ones the shop's forms carry."""

from __future__ import annotations

import uuid


def key() -> str:
    return uuid.uuid4().hex
