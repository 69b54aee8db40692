"""The suite's own layout: shared test code lives in tests/helpers (or a conftest's fixtures), so
no module under tests/ imports a test module or a conftest (pytest loads a conftest itself; what
other modules want from one is a helper)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)


def _imported(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """(line, dotted name) of every module an import in ``tree`` names, relative ones resolved
    against ``module``; ``from package import name`` counts ``package.name`` too, as it may be one."""
    package = module.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def layout_faults(source: str, module: str) -> list[str]:
    """What is wrong with the imports of ``source``, the text of module ``module`` (say
    ``tests.web.test_buy``)."""
    faults = []
    for line, name in _imported(ast.parse(source), module):
        parts = name.split(".")
        if parts[0] != "tests":
            continue
        if parts[-1].startswith("test_"):
            faults.append(f"{module}:{line} imports the test module {name}")
        elif parts[-1] == "conftest":
            faults.append(f"{module}:{line} imports the conftest {name}")
    return faults


def test_no_module_under_tests_imports_a_test_module_or_a_conftest():
    files = sorted(TESTS.rglob("*.py"))
    assert len([f for f in files if f.name.startswith("test_")]) > 50  # the scan does see the suite
    faults = [fault for f in files for fault in layout_faults(f.read_text(encoding="utf-8"), _module_of(f))]
    assert faults == []


def test_the_layout_check_finds_each_kind_of_bad_import():
    source = "\n".join(
        [
            "from tests.integration.test_drops import on_sale",
            "from tests.web import test_buy",
            "import tests.web.test_auctions",
            "from tests.conftest import TEST_REDIS_URL",
            "from tests.browser.conftest import signed_in_page",
            "from .test_paying import pay_with",
            "from . import conftest",
            "def f():",
            "    from tests.integration.test_press_answers import expire_now",
        ]
    )
    faults = layout_faults(source, "tests.web.test_money_pages")
    assert [fault.split(" ", 1)[0] for fault in faults] == [
        f"tests.web.test_money_pages:{n}" for n in (1, 2, 3, 4, 5, 6, 7, 9)
    ]


def test_the_layout_check_allows_helpers_and_everything_outside_tests():
    source = "\n".join(
        [
            "from tests.helpers.drops import on_sale",
            "from tests.helpers import web",
            "from .helpers_nearby import thing",
            "from app.drops.service import DropService",
            "import pytest",
        ]
    )
    assert layout_faults(source, "tests.browser.test_live_stock") == []
