"""Controllers are thin: they parse input, call a service and pick a page. No SQL, no session
calls and no commits in a controller module (those live in the part's service or query modules),
and no controller builds a long-lived service or reads the app's state for one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
# Controller modules that are not called controllers.py.
NAMED = [
    "app/pages.py",
    "app/payments/pages.py",
    "app/admin/members.py",
    "app/admin/products.py",
    "app/admin/events.py",
    "app/admin/ops_pages.py",
    "app/sellers/products.py",
    "app/drops/ledger_pages.py",
    "app/drops/line_controllers.py",
    "app/web/proof_pages.py",
    "app/drops/draw_pages.py",
    "app/orders/seller_pages.py",
    "app/payments/refund_pages.py",
    "app/accounts/reset_pages.py",
    "app/accounts/confirm_pages.py",
]
SQL_BUILDERS = {"select", "update", "delete", "insert", "text", "func", "pg_insert", "sqlite_insert"}
SESSION_CALLS = {
    "execute",
    "scalar",
    "scalars",
    "get",
    "add",
    "add_all",
    "delete",
    "merge",
    "flush",
    "refresh",
    "commit",
    "rollback",
    "begin",
    "begin_nested",
    "transaction",
}
SESSION_NAMES = {"db", "session", "database"}
BUILT_ONCE = {"DropService", "BidService", "make_gateway_client", "gate_for"}


def controller_modules() -> list[Path]:
    found = sorted(APP.glob("*/controllers.py")) + [ROOT / name for name in NAMED]
    assert all(path.exists() for path in found)
    return found


def _receiver(node: ast.expr) -> str:
    """The last name of a call's receiver: ``db`` in ``db.get``, ``database`` in ``self.database.x``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def offences(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sqlalchemy"):
            if node.module != "sqlalchemy.ext.asyncio" or any(a.name != "AsyncSession" for a in node.names):
                found.append(f"line {node.lineno}: imports from {node.module}")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in SQL_BUILDERS | BUILT_ONCE:
            found.append(f"line {node.lineno}: calls {func.id}()")
        elif isinstance(func, ast.Attribute):
            if func.attr == "commit":
                found.append(f"line {node.lineno}: commits")
            elif func.attr in SESSION_CALLS and _receiver(func.value) in SESSION_NAMES:
                found.append(f"line {node.lineno}: {_receiver(func.value)}.{func.attr}()")
            elif _receiver(func.value) == "func":
                found.append(f"line {node.lineno}: SQL function func.{func.attr}()")
    return found


@pytest.mark.parametrize("path", controller_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_controller_module_runs_no_sql_and_never_commits(path: Path) -> None:
    assert offences(path.read_text()) == []


@pytest.mark.parametrize("path", controller_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_controller_takes_its_long_lived_services_from_the_container(path: Path) -> None:
    source = path.read_text()
    for name in ("request.app.state", "state.database", "state.bids", "state.hubs", "state.streams", "state.live"):
        assert name not in source, f"{name}: take services: NamedDependency[Services] instead"


def test_the_scan_finds_what_it_forbids() -> None:
    sample = """
from sqlalchemy import select
async def handler(db, request):
    await db.execute(select(X))
    row = await db.get(X, 1)
    db.add(row)
    await db.commit()
    async with request.app.state.database.transaction() as other:
        pass
    service = DropService(1, 2, 3)
    await db.scalar(func.count())
"""
    found = offences(sample)
    assert any("imports from sqlalchemy" in f for f in found)
    assert any("calls select()" in f for f in found)
    assert any("db.get()" in f for f in found)
    assert any("db.add()" in f for f in found)
    assert any("commits" in f for f in found)
    assert any("database.transaction()" in f for f in found)
    assert any("calls DropService()" in f for f in found)
    assert any("func.count()" in f for f in found)


def test_the_scan_lets_a_controller_read_its_form() -> None:
    sample = """
from sqlalchemy.ext.asyncio import AsyncSession
async def handler(request, form, services, db: AsyncSession):
    key = form.get("key", "")
    value = request.query_params.get("page")
    return await services.drops.press(key), await queries.page(db, key)
"""
    assert offences(sample) == []
