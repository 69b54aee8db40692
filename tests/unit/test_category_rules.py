"""Category rules without a database: slugs, names, placement, tree building."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.catalog import rules


@dataclass
class Row:
    id: int
    parent_id: int | None
    name: str
    position: int = 0


# 1 ─ 2 ─ 3 ─ 4        5
PARENTS = {1: None, 2: 1, 3: 2, 4: 3, 5: None}


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Kitchen Tools", "kitchen-tools"),
        ("  Café & Bar!! ", "cafe-bar"),
        ("Tea--Sets 2025", "tea-sets-2025"),
        ("한국 Food 2", "food-2"),
        ("한국 과자", ""),
        ("---", ""),
        ("x" * 70, "x" * 60),
        ("a" * 59 + " b", "a" * 59),
    ],
)
def test_slugify(name, slug):
    assert rules.slugify(name) == slug
    assert slug == "" or rules.slug_error(slug) is None


@pytest.mark.parametrize(
    ("slug", "ok"),
    [
        ("kitchen", True),
        ("tea-sets-2", True),
        ("a", True),
        ("a" * 60, True),
        ("a" * 61, False),
        ("", False),
        ("Kitchen", False),
        ("tea_sets", False),
        ("tea--sets", False),
        ("-tea", False),
        ("tea-", False),
        ("차", False),
        ("tea sets", False),
    ],
)
def test_slug_validation(slug, ok):
    assert (rules.slug_error(slug) is None) is ok


def test_name_validation():
    assert rules.name_error("Kitchen") is None
    assert rules.name_error("한국 과자") is None
    assert rules.name_error("x" * 60) is None
    assert "at most 60" in rules.name_error("x" * 61)
    assert "Enter a name" in rules.name_error("")
    assert "control" in rules.name_error("bad\x00name")
    assert "control" in rules.name_error("bad\x85name")


def test_category_errors_derives_or_requires_a_slug():
    assert rules.category_errors("Kitchen Tools", "") == ("kitchen-tools", {})
    assert rules.category_errors("Kitchen", "cooking") == ("cooking", {})
    slug, errors = rules.category_errors("한국 과자", "")
    assert slug == "" and "type one" in errors["slug"]
    assert rules.category_errors("한국 과자", "korean-snacks") == ("korean-snacks", {})
    _, errors = rules.category_errors("", "BAD SLUG")
    assert set(errors) == {"name", "slug"}
    _, errors = rules.category_errors("", "")
    assert set(errors) == {"name"}


@pytest.mark.parametrize("raw", ["abc", "-1", "0", "1.5", "\uff11", str(2**31), "9" * 30])
def test_parse_id_refuses_junk(raw):
    with pytest.raises(ValueError):
        rules.parse_id(raw)


def test_parse_id():
    assert rules.parse_id("") is None
    assert rules.parse_id(None) is None
    assert rules.parse_id("12") == 12
    assert rules.parse_id(7) == 7


def test_paths_depths_descendants():
    assert rules.path_ids(4, PARENTS) == [1, 2, 3, 4]
    assert rules.depth(1, PARENTS) == 1 and rules.depth(4, PARENTS) == 4
    assert rules.descendant_ids(1, PARENTS) == {2, 3, 4}
    assert rules.descendant_ids(4, PARENTS) == set()
    assert rules.height(1, PARENTS) == 4 and rules.height(4, PARENTS) == 1


def test_path_survives_a_corrupt_cycle():
    assert rules.path_ids(1, {1: 2, 2: 1}) == [2, 1]
    assert rules.descendant_ids(1, {1: 2, 2: 1}) == {2}


def test_move_refuses_itself_descendants_unknown_and_too_deep():
    assert "itself" in rules.move_error(2, 2, PARENTS)
    assert "own subcategories" in rules.move_error(1, 4, PARENTS)
    assert "own subcategories" in rules.move_error(2, 3, PARENTS)
    assert "does not exist" in rules.move_error(2, 99, PARENTS)
    # 1─2─3─4 under 5 would be 5 levels: allowed; under 4's depth it is not
    assert rules.move_error(1, 5, PARENTS) is None
    assert "at most 5" in rules.move_error(5, 4, {**PARENTS, 6: 5, 7: 6})
    assert rules.move_error(4, None, PARENTS) is None
    assert rules.move_error(5, 4, PARENTS) is None


def test_parent_error():
    assert rules.parent_error(None, PARENTS) is None
    assert rules.parent_error(4, PARENTS) is None
    assert "does not exist" in rules.parent_error(99, PARENTS)
    assert "at most 5" in rules.parent_error(9, {**PARENTS, 9: 4})


def test_build_tree_nests_and_orders():
    rows = [
        Row(1, None, "Zebra", 1),
        Row(2, None, "Apple", 1),
        Row(3, None, "Mango", 0),
        Row(4, 2, "b child", 0),
        Row(5, 2, "A child", 0),
        Row(6, 5, "grandchild", 0),
        Row(7, 42, "orphan", 5),
    ]
    nodes = rules.build_tree(rows)
    assert [n.category.name for n in nodes] == ["Mango", "Apple", "Zebra", "orphan"]
    apple = nodes[1]
    assert [n.category.name for n in apple.children] == ["A child", "b child"]
    assert apple.children[0].children[0].category.id == 6 and apple.children[0].children[0].depth == 3
    assert [n.category.id for n in rules.walk(nodes)] == [3, 2, 5, 6, 4, 1, 7]
    assert rules.find(nodes, 6).depth == 3
    assert rules.find(nodes, 99) is None
    assert rules.build_tree([]) == []
