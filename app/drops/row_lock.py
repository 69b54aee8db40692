"""The product's row lock every decision about its units takes: a write that changes nothing (on
PostgreSQL the row's lock until the commit, on SQLite the database's single write lock), returning
what the decision reads. Built once by each caller, with the product's id as ``:product_id``."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.sql.dml import ReturningUpdate

from app.models.catalog import Product

_products = cast(Table, Product.__table__)


def product_lock(*columns: Any) -> ReturningUpdate[Any]:
    """Lock the row of ``:product_id`` and return ``columns`` of it."""
    return (
        update(_products)
        .where(_products.c.id == bindparam("product_id"))
        .values(updated_at=_products.c.updated_at)
        .returning(*columns)
    )
