"""What the form fuzz test posts and where: every POST route of the app (from its route table), every
form field the app reads (from its source), hostile values for them, and the row count of every
table (to show a refusal wrote nothing)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from hypothesis import strategies as st
from litestar import Litestar
from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncEngine

from app.catalog.product_rules import FIELDS as PRODUCT_FIELDS
from app.models.base import Base
from app.payments.rules import MAX_TIERS
from app.settings import PROJECT_ROOT
from tests.helpers.keys import key

_FORM_NAMES = {"form", "params"}  # what the app's handlers and parsers call the submitted fields


def form_fields(root: Path = PROJECT_ROOT / "app") -> list[str]:
    """Every field name the app reads from a form: ``form.get("x")`` / ``form["x"]`` in its source,
    the listing form's fields and the policy form's tier rows."""
    names: set[str] = set(PRODUCT_FIELDS) | {"remove_image"}
    names |= {f"{kind}_{i}" for kind in ("hours", "percent") for i in range(MAX_TIERS)}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target, arg = None, None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
                target, arg = node.func.value, node.args[0] if node.args else None
            elif isinstance(node, ast.Subscript):
                target, arg = node.value, node.slice
            if isinstance(target, ast.Name) and target.id in _FORM_NAMES and isinstance(arg, ast.Constant):
                if isinstance(arg.value, str):
                    names.add(arg.value)
    return sorted(names)


def post_routes(app: Litestar) -> list[str]:
    """The path of every route that takes a POST (``/orders/{order_id:int}/refund`` …)."""
    found = set()
    for route in app.routes:
        if "POST" in getattr(route, "methods", ()):
            found.add(route.path)
    return sorted(found)


def page_routes(app: Litestar) -> list[str]:
    """The path of every route that answers a GET with a page (not a live stream, a file, the schema)."""
    found = set()
    for route in app.routes:
        path = route.path
        if "GET" in getattr(route, "methods", ()) and not path.endswith("/events") and ":path}" not in path:
            if not path.startswith("/schema"):
                found.add(path)
    return sorted(found)


def query_names(root: Path = PROJECT_ROOT / "app") -> list[str]:
    """Every query parameter a handler or a dependency of one declares (``FromQuery[…]`` or the
    app's ``Query`` alias), and the names read from the query or a form by hand."""
    names = set(form_fields(root))
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.arg) and node.annotation is not None:
                if re.search(r"\b(From)?Query\b", ast.unparse(node.annotation)):
                    names.add(node.arg)
    return sorted(names)


_PARAM = re.compile(r"{(\w+):(\w+)}")


def fill(path: str, ids: dict[str, int | str]) -> str:
    """``path`` with each parameter replaced by the id ``ids`` gives for it (1 when unknown)."""
    return _PARAM.sub(lambda m: str(ids.get(m.group(1), 1)), path)


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """The number of rows of every table, in one statement (``engine``: the test's own, pooled)."""
    tables = sorted(Base.metadata.tables.values(), key=lambda t: t.name)
    stmt = union_all(
        *(select(literal(table.name).label("name"), func.count().label("rows")).select_from(table) for table in tables)
    )
    async with engine.connect() as conn:
        return {name: rows for name, rows in (await conn.execute(stmt)).all()}


_UNICODE_DIGITS = ["²", "³", "¹²", "٣", "١٢٣٠٠", "３", "１０００", "߁", "໒", "𝟗", "1²", "10²", "Ⅻ", "½"]
_BIDI = ["\u202e", "\u202d", "\u2066", "\u2067", "\u2069", "\u200f", "\u200e", "\u200b", "\ufeff", "\u061c"]


def hostile_values() -> st.SearchStrategy[str]:
    """Unicode digits, huge and negative numbers, control characters (NUL too), bidi and zero-width
    controls, very long strings, empty, and a few plausible values so forms get past their first check."""
    digits = st.sampled_from(_UNICODE_DIGITS) | st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=8)
    huge = st.integers(min_value=2**31 - 1, max_value=10**40).map(str) | st.just("9" * 5000)
    negative = st.integers(max_value=-1, min_value=-(10**30)).map(str)
    control = st.text(st.characters(categories=["Cc"]), min_size=1, max_size=5)
    mixed = st.tuples(st.sampled_from(["1", "abc", "10000", ""]), control | st.sampled_from(_BIDI)).map("".join)
    bidi = st.lists(st.sampled_from(_BIDI) | st.sampled_from(["admin", "1", " "]), min_size=1, max_size=6).map("".join)
    long = st.sampled_from([300, 5_000, 100_000]).map(lambda n: "x" * n)
    plausible = st.sampled_from(["", "1", "0", "10000", "yes", "approve", "a@b.co", "correct-horse-battery"])
    return digits | huge | negative | control | mixed | bidi | long | plausible | st.text(max_size=40)


def forms(fields: list[str]) -> st.SearchStrategy[dict[str, str]]:
    """A form with a hostile value for any of the fields (each may be left out, so a form's first
    check does not always stop it); the form key is often a valid one."""
    values = {name: hostile_values() for name in fields if name != "key"}
    return st.fixed_dictionaries({}, optional=values | {"key": st.builds(key) | hostile_values()})
