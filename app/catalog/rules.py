"""Pure rules for the category tree: names, slugs, placement and tree building. No I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.core.i18n import Msg, _
from app.core.numbers import MAX_ID as MAX_ID  # an INTEGER primary key on every backend
from app.core.text import length_error

NAME_MAX = 60
SLUG_MAX = 60
MAX_DEPTH = 5

_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SLUG_HINT = Msg("Use lowercase letters a-z, digits and single hyphens between them, like “kitchen-tools”.")

Parents = Mapping[int, int | None]


class CategoryLike(Protocol):
    id: int
    parent_id: int | None
    name: str
    position: int


def slugify(name: str) -> str:
    """``"Café & Kitchen"`` → ``"cafe-kitchen"``. Letters without an ASCII form (Hangul, kana…) are
    dropped, so a name made only of them gives ``""`` and the admin has to type a slug."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def name_error(name: str) -> str | None:
    if err := length_error(name, NAME_MAX, blank=_("Enter a name."), what=_("A name")):
        return err
    return (
        _("A name cannot contain control characters.") if any(unicodedata.category(ch) == "Cc" for ch in name) else None
    )


def slug_error(slug: str) -> str | None:
    if err := length_error(slug, SLUG_MAX, blank=_("Enter a slug."), what=_("A slug")):
        return err
    return None if _SLUG_RE.match(slug) else _SLUG_HINT


def category_errors(name: str, slug: str) -> tuple[str, dict[str, str]]:
    """Check a name and a typed slug; a blank slug is made from the name. Returns the slug to store
    and the errors by field."""
    errors: dict[str, str] = {}
    if err := name_error(name):
        errors["name"] = err
    if slug:
        if err := slug_error(slug):
            errors["slug"] = err
    elif "name" not in errors:
        slug = slugify(name)
        if not slug:
            errors["slug"] = _("This name has no letters a-z or digits to make a slug from; type one, like “tea-sets”.")
    return slug, errors


def parse_id(raw: str | int | None) -> int | None:
    """A category id from a form or a path: ``None`` for blank (top level). Raises ``ValueError``
    for anything that cannot be an id."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        if not raw.isascii() or not raw.isdigit():
            raise ValueError(raw)
        raw = int(raw)
    if not 1 <= raw <= MAX_ID:
        raise ValueError(raw)
    return raw


def path_ids(category_id: int, parents: Parents) -> list[int]:
    """Ids from the top-level ancestor down to ``category_id`` itself."""
    path: list[int] = []
    current: int | None = category_id
    while current is not None and current in parents and current not in path:
        path.append(current)
        current = parents[current]
    return list(reversed(path))


def depth(category_id: int, parents: Parents) -> int:
    """1 for a top-level category."""
    return len(path_ids(category_id, parents))


def children_map(parents: Parents) -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = {}
    for cid, pid in parents.items():
        children.setdefault(pid, []).append(cid)
    return children


def descendant_ids(category_id: int, parents: Parents) -> set[int]:
    """Every category below ``category_id`` (not itself)."""
    children = children_map(parents)
    found: set[int] = set()
    stack = list(children.get(category_id, []))
    while stack:
        cid = stack.pop()
        if cid not in found and cid != category_id:
            found.add(cid)
            stack.extend(children.get(cid, []))
    return found


def height(category_id: int, parents: Parents) -> int:
    """Levels in the subtree rooted at ``category_id``: 1 for a leaf."""
    below = descendant_ids(category_id, parents)
    if not below:
        return 1
    own = depth(category_id, parents)
    return max(depth(cid, parents) for cid in below) - own + 1


def parent_error(parent_id: int | None, parents: Parents) -> str | None:
    """Can a new category go under ``parent_id``?"""
    if parent_id is None:
        return None
    if parent_id not in parents:
        return _("Choose a parent from the list; that category does not exist.")
    if depth(parent_id, parents) >= MAX_DEPTH:
        return _("Categories nest at most %(most)s levels deep; choose a parent higher up.", most=MAX_DEPTH)
    return None


def move_error(category_id: int, new_parent_id: int | None, parents: Parents) -> str | None:
    """Can ``category_id`` (with its whole subtree) move under ``new_parent_id``?"""
    if new_parent_id is None:
        return None
    if new_parent_id not in parents:
        return _("Choose a parent from the list; that category does not exist.")
    if new_parent_id == category_id:
        return "A category cannot be placed under itself."
    if new_parent_id in descendant_ids(category_id, parents):
        return "A category cannot be moved under one of its own subcategories."
    if depth(new_parent_id, parents) + height(category_id, parents) > MAX_DEPTH:
        return _("Categories nest at most %(most)s levels deep; this move would go deeper.", most=MAX_DEPTH)
    return None


@dataclass
class Node:
    category: Any
    depth: int
    children: list[Node] = field(default_factory=list)


def _order(item: CategoryLike) -> tuple[int, str, int]:
    return (item.position, item.name.casefold(), item.id)


def build_tree(categories: Iterable[CategoryLike]) -> list[Node]:
    """Flat rows → nested nodes, siblings ordered by position then name. A row whose parent is
    missing from ``categories`` is shown at the top level rather than lost."""
    items = list(categories)
    known = {c.id for c in items}
    by_parent: dict[int | None, list[CategoryLike]] = {}
    for c in items:
        by_parent.setdefault(c.parent_id if c.parent_id in known else None, []).append(c)
    seen: set[int] = set()

    def grow(parent_id: int | None, level: int) -> list[Node]:
        nodes = []
        for c in sorted(by_parent.get(parent_id, []), key=_order):
            if c.id in seen:
                continue
            seen.add(c.id)
            nodes.append(Node(c, level, grow(c.id, level + 1)))
        return nodes

    return grow(None, 1)


def walk(nodes: Iterable[Node]) -> Iterator[Node]:
    """Depth first, in display order: for indented select options."""
    for node in nodes:
        yield node
        yield from walk(node.children)


def find(nodes: Iterable[Node], category_id: int) -> Node | None:
    return next((n for n in walk(nodes) if n.category.id == category_id), None)
