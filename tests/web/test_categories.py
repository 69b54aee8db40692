"""Categories through the app: admin create/rename/move/delete, refusals, guards, public pages."""

from __future__ import annotations

from sqlalchemy import select

from app.catalog.service import CategoryService
from app.models.catalog import Category
from app.models.members import AuditEntry
from tests.helpers.web import as_admin, field_error, login, post_form


async def rows(app) -> dict[str, Category]:
    async with app.state.database.transaction() as db:
        return {c.slug: c for c in (await db.execute(select(Category))).scalars().all()}


async def audit_actions(app) -> list[str]:
    async with app.state.database.transaction() as db:
        return list((await db.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars().all())


async def make(client, name: str, slug: str = "", parent: Category | None = None) -> Category:
    data = {"name": name, "slug": slug, "parent_id": str(parent.id) if parent else ""}
    r = await post_form(client, "/admin/categories", data)
    assert r.status_code == 303, (r.status_code, r.text)
    return (await rows(client.app))[slug or name.lower().replace(" ", "-")]


async def test_admin_creates_categories_in_a_tree(client, app, members):
    await as_admin(client, members)
    page = await client.get("/admin/categories")
    assert page.status_code == 200 and "No categories yet" in page.text and 'name="_csrf_token"' in page.text
    r = await post_form(client, "/admin/categories", {"name": "Kitchen Tools", "slug": "", "parent_id": ""})
    assert r.status_code == 303 and r.headers["location"] == "/admin/categories"
    kitchen = (await rows(app))["kitchen-tools"]
    await make(client, "한국 과자", "korean-snacks", kitchen)
    saved = await rows(app)
    assert saved["korean-snacks"].parent_id == kitchen.id and saved["korean-snacks"].name == "한국 과자"
    page = await client.get("/admin/categories")
    assert "created" in page.text or "Kitchen Tools" in page.text
    assert f'href="/admin/categories/{saved["korean-snacks"].id}"' in page.text
    assert await audit_actions(app) == ["category.create", "category.create"]


async def test_create_refusals_keep_input_and_change_nothing(client, app, members):
    await as_admin(client, members)
    await make(client, "Kitchen")
    cases = [
        ({"slug": "kitchen"}, "slug", "already used"),
        ({"name": "x" * 61}, "name", "at most 60"),
        ({"name": ""}, "name", "Enter a name"),
        ({"name": "bad\x01name"}, "name", "control characters"),
        ({"slug": "Bad Slug!"}, "slug", "lowercase"),
        ({"slug": "a" * 61}, "slug", "at most 60"),
        ({"name": "한국 과자", "slug": ""}, "slug", "type one"),
        ({"parent_id": "999999"}, "parent_id", "does not exist"),
        ({"parent_id": "abc"}, "parent_id", "Choose a parent"),
        ({"parent_id": "99999999999999999999999"}, "parent_id", "Choose a parent"),
    ]
    for override, field, message in cases:
        data = {"name": "Garden Tools", "slug": "garden", "parent_id": ""}
        data.update(override)
        r = await post_form(client, "/admin/categories", data)
        assert r.status_code == 422, (override, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
        assert message in field_error(r.text, field), (override, field_error(r.text, field))
        if field != "name":
            assert f'value="{data["name"]}"' in r.text  # what was typed is kept
    assert list(await rows(app)) == ["kitchen"]
    assert await audit_actions(app) == ["category.create"]


async def test_slug_race_maps_integrity_error_to_field_error(client, app, members, monkeypatch):
    await as_admin(client, members)
    await make(client, "Kitchen")

    async def nobody(self, slug, exclude_id=None):
        return None  # as if another admin inserted the slug after our check

    monkeypatch.setattr(CategoryService, "_slug_owner", nobody)
    r = await post_form(client, "/admin/categories", {"name": "Other", "slug": "kitchen", "parent_id": ""})
    assert r.status_code == 422 and "already used" in field_error(r.text, "slug")
    garden = await make(client, "Garden")
    r = await post_form(client, f"/admin/categories/{garden.id}", {"name": "Cooking", "slug": "kitchen"})
    assert r.status_code == 422 and "already used" in field_error(r.text, "slug")
    assert 'value="Cooking"' in r.text and "<h1>Garden</h1>" in r.text
    saved = await rows(app)
    assert sorted(saved) == ["garden", "kitchen"] and saved["garden"].name == "Garden"


async def test_rename(client, app, members):
    await as_admin(client, members)
    kitchen = await make(client, "Kitchen")
    await make(client, "Garden")
    page = await client.get(f"/admin/categories/{kitchen.id}")
    assert page.status_code == 200 and 'value="kitchen"' in page.text
    r = await post_form(client, f"/admin/categories/{kitchen.id}", {"name": "Cookware", "slug": "cookware"})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/categories/{kitchen.id}"
    assert (await rows(app))["cookware"].id == kitchen.id
    r = await post_form(client, f"/admin/categories/{kitchen.id}", {"name": "Pots", "slug": "garden"})
    assert r.status_code == 422 and "already used" in field_error(r.text, "slug") and 'value="Pots"' in r.text
    r = await post_form(client, f"/admin/categories/{kitchen.id}", {"name": "y" * 61, "slug": "pots"})
    assert r.status_code == 422 and "at most 60" in field_error(r.text, "name")
    assert r.headers["content-type"].startswith("text/html")
    assert sorted(await rows(app)) == ["cookware", "garden"]
    assert (await audit_actions(app))[-1] == "category.rename"


async def test_move_and_cycle_refused(client, app, members):
    await as_admin(client, members)
    home = await make(client, "Home")
    kitchen = await make(client, "Kitchen", parent=home)
    pans = await make(client, "Pans", parent=kitchen)
    page = await client.get(f"/admin/categories/{home.id}")
    move_form = page.text.split('id="move-category"')[1].split("</form>")[0]
    assert f'value="{kitchen.id}"' not in move_form and f'value="{home.id}"' not in move_form
    # under its own grandchild, under itself, under an unknown id: refused, nothing changes
    for target, message in [(pans.id, "own subcategories"), (home.id, "itself"), (424242, "does not exist")]:
        r = await post_form(client, f"/admin/categories/{home.id}/move", {"parent_id": str(target)})
        assert r.status_code == 422 and message in field_error(r.text, "parent_id"), (target, r.text)
    assert (await rows(app))["home"].parent_id is None
    r = await post_form(client, f"/admin/categories/{pans.id}/move", {"parent_id": ""})
    assert r.status_code == 303
    r = await post_form(client, f"/admin/categories/{home.id}/move", {"parent_id": str(pans.id)})
    assert r.status_code == 303
    saved = await rows(app)
    assert saved["pans"].parent_id is None and saved["home"].parent_id == pans.id
    assert (await audit_actions(app))[-2:] == ["category.move", "category.move"]


async def test_delete_refused_with_children_then_leaf_deleted_after_confirmation(client, app, members):
    await as_admin(client, members)
    home = await make(client, "Home")
    kitchen = await make(client, "Kitchen", parent=home)
    await make(client, "Garden", parent=home)
    confirm = await client.get(f"/admin/categories/{home.id}/delete")
    assert confirm.status_code == 200 and "has 2 subcategories; move or delete them first." in confirm.text
    r = await post_form(client, f"/admin/categories/{home.id}/delete")
    assert r.status_code == 303 and r.headers["location"] == f"/admin/categories/{home.id}"
    follow = await client.get(r.headers["location"])
    assert "“Home” has 2 subcategories; move or delete them first." in follow.text
    assert "home" in await rows(app)
    confirm = await client.get(f"/admin/categories/{kitchen.id}/delete")
    assert confirm.status_code == 200 and "Yes, delete it" in confirm.text
    r = await post_form(client, f"/admin/categories/{kitchen.id}/delete")
    assert r.status_code == 303 and r.headers["location"] == "/admin/categories"
    assert sorted(await rows(app)) == ["garden", "home"]
    assert (await audit_actions(app))[-1] == "category.delete"


async def test_unknown_ids_are_404(client, members):
    await as_admin(client, members)
    for url in ["/admin/categories/999", "/admin/categories/999/delete", "/admin/categories/99999999999999999999"]:
        r = await client.get(url)
        assert r.status_code == 404 and "Not found" in r.text, url
    for url in ["/admin/categories/999", "/admin/categories/999/move", "/admin/categories/999/delete"]:
        r = await post_form(client, url, {"name": "X", "slug": "x", "parent_id": ""})
        assert r.status_code == 404, url


async def test_guards_and_csrf(client, app, members):
    r = await client.get("/admin/categories")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/categories"
    r = await client.get("/admin/categories/1")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/categories/1"
    await members.create("shopper@example.test")
    await login(client, "shopper@example.test")
    assert (await client.get("/admin/categories")).status_code == 403
    r = await post_form(client, "/admin/categories", {"name": "Sneaky", "slug": "", "parent_id": ""})
    assert r.status_code == 403
    await post_form(client, "/logout")
    await as_admin(client, members)
    r = await client.post("/admin/categories", data={"name": "No Token", "slug": "", "parent_id": ""})
    assert r.status_code == 403
    assert await rows(app) == {}


async def test_public_pages(client, members):
    await as_admin(client, members)
    home = await make(client, "Home")
    kitchen = await make(client, "Kitchen", parent=home)
    await make(client, "Pans", parent=kitchen)
    await make(client, "Garden")
    await post_form(client, "/logout")
    page = await client.get("/categories")
    assert page.status_code == 200
    for slug in ["home", "kitchen", "pans", "garden"]:
        assert f'href="/categories/{slug}"' in page.text
    page = await client.get("/categories/home")
    assert page.status_code == 200
    assert 'href="/categories/kitchen"' in page.text and 'href="/categories/pans"' in page.text
    assert 'href="/categories/garden"' not in page.text
    assert "No products in this category yet." in page.text
    page = await client.get("/categories/pans")
    crumbs = page.text.split('class="breadcrumb"')[1].split("</nav>")[0]
    assert 'href="/categories/home"' in crumbs and 'href="/categories/kitchen"' in crumbs and "Pans" in crumbs
    for slug in ["nope", "NOT-A-SLUG", "%ED%95%9C"]:
        assert (await client.get(f"/categories/{slug}")).status_code == 404
