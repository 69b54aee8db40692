"""Pictures served from the picture storage: a picture uploaded through one web host is served by
another host built from the same settings (database storage); immutable caching with the content
hash as ETag and 304s; unknown and malformed names get the plain 404 page, never a file outside the
storage; a product that is not saved leaves no stored picture."""

from __future__ import annotations

import hashlib
import io

import pytest
from litestar.testing import AsyncTestClient
from obstore.store import LocalStore
from PIL import Image
from sqlalchemy import func, select

from app.catalog.copy_pictures import copy_pictures
from app.catalog.copy_pictures import main as copy_main
from app.catalog.images import Upload
from app.catalog.pictures import BucketPictures, content_stem, pictures_for
from app.catalog.product_service import ProductService
from app.models.catalog import Product, ProductImage, StoredPicture
from tasks.web import create_app
from tests.helpers.config import with_settings
from tests.helpers.pictures import product_form, stored_pictures
from tests.helpers.web import login, post_form


def picture(fmt: str = "PNG", colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(out, format=fmt)
    return out.getvalue()


IN_DATABASE = with_settings("database storage", picture_storage="database")
BOTH = pytest.mark.parametrize(
    "settings",
    [
        {"picture_storage": "local"},
        {"picture_storage": "database"},
        {"picture_storage": "s3", "s3_bucket": "pictures", "s3_prefix": "shop"},
    ],
    ids=["folder", "database", "bucket"],
    indirect=True,
)


@pytest.fixture(autouse=True)
def bucket(settings, tmp_path, monkeypatch):
    """With S3 settings, the bucket is an obstore LocalStore in a folder every app of the test
    shares (the bucket service is outside the shop; obstore and the storage's code are real)."""
    if settings.picture_storage != "s3":
        return None
    store = LocalStore(tmp_path / "bucket", mkdir=True)
    monkeypatch.setattr(BucketPictures, "from_settings", classmethod(lambda cls, s: cls(store, s.s3_prefix)))
    return tmp_path / "bucket"


async def upload_through_http(client, members, products) -> Product:
    seller = await members.seller("potter@example.test")
    category = await products.category("ceramics")
    await login(client, seller.email)
    files = [("images", ("jar.png", picture(), "image/png")), ("images", ("cup.jpg", picture("JPEG"), "image/jpeg"))]
    response = await post_form(client, "/seller/products", product_form(category.id), files=files)
    assert response.status_code == 303, response.text
    async with client.app.state.database.transaction() as db:
        product = (await db.execute(select(Product))).scalar_one()
    return product


@IN_DATABASE
async def test_a_picture_uploaded_through_one_host_is_served_by_another(client, app, members, products, tmp_path):
    product = await upload_through_http(client, members, products)
    assert [img.extension for img in product.images] == ["png", "jpg"]
    assert not any(app.state.settings.uploads_path.iterdir())  # nothing on this host's disk
    other_host = create_app(app.state.settings.with_changes(var_dir=tmp_path / "other-host", upload_dir=None))
    async with AsyncTestClient(app=other_host, base_url="http://testserver.local") as other:
        for img in product.images:
            for url in (img.url, img.thumb_url):
                here, there = await client.get(url), await other.get(url)
                assert here.status_code == there.status_code == 200, url
                assert here.content == there.content and here.headers["etag"] == there.headers["etag"]
    first = product.images[0]
    served = (await client.get(first.url)).content
    assert hashlib.sha256(served).hexdigest() == first.stem  # the name is the hash of the bytes served


@BOTH
async def test_pictures_are_served_immutable_with_their_hash_as_etag(client, members, products):
    product = await upload_through_http(client, members, products)
    png, jpg = product.images
    for url, stem, ctype in (
        (png.url, png.stem, "image/png"),
        (png.thumb_url, f"{png.stem}_thumb", "image/webp"),
        (jpg.url, jpg.stem, "image/jpeg"),
    ):
        response = await client.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == ctype
        assert response.headers["etag"] == f'"{stem}"'
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "set-cookie" not in response.headers  # a shared cache may keep it


@BOTH
async def test_a_known_etag_gets_a_304_without_the_bytes(client, members, products):
    product = await upload_through_http(client, members, products)
    url, etag = product.images[0].url, f'"{product.images[0].stem}"'
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get(url, headers={"If-None-Match": sent})
        assert response.status_code == 304, sent
        assert response.content == b"" and response.headers["etag"] == etag
    changed = await client.get(url, headers={"If-None-Match": '"somethingelse"'})
    assert changed.status_code == 200 and changed.content
    # an ETag of a picture that is not stored does not pretend it is
    missing = "0" * 64
    response = await client.get(f"/uploads/{missing}.png", headers={"If-None-Match": f'"{missing}"'})
    assert response.status_code == 404


@BOTH
@pytest.mark.parametrize(
    "path",
    [
        "/uploads/" + "0" * 64 + ".png",  # well formed, never stored
        "/uploads/" + "1" * 32 + "_thumb.webp",  # an older name, never stored
        "/uploads/secret_key",
        "/uploads/..%2fsecret_key",
        "/uploads/%2e%2e%2fsecret_key",
        "/uploads/..%5csecret_key",
        "/uploads/%2e%2e/%2e%2e/etc/passwd",
        "/uploads/../secret_key",
        "/uploads/" + "A" * 64 + ".png",
        "/uploads/" + "0" * 64 + ".svg",
        "/uploads/" + "0" * 64 + ".png%00.jpg",  # refused before routing (the input guard's 400)
        "/uploads/",
        "/uploads/.upload-abc.tmp",
    ],
)
async def test_unknown_and_malformed_names_get_the_plain_404_page(client, app, settings, path):
    (settings.var_dir / "secret_key").write_text("do not serve me")
    response = await client.get(path)
    assert response.status_code == (400 if "%00" in path else 404), path
    assert "do not serve me" not in response.text
    assert "text/html" in response.headers["content-type"] and "<title>" in response.text


@IN_DATABASE
async def test_a_product_that_is_not_saved_leaves_no_stored_picture(app, members, products):
    seller = await members.seller()
    category = await products.category()
    with pytest.raises(RuntimeError, match="the save fails"):
        async with app.state.database.transaction() as db:
            product = await ProductService(db, app.state.settings).create_draft(
                seller, product_form(category.id), [Upload("a.png", picture()), Upload("b.jpg", picture("JPEG"))]
            )
            assert len(product.images) == 2
            assert (await db.execute(select(func.count()).select_from(StoredPicture))).scalar_one() == 4
            raise RuntimeError("the save fails after the pictures were written")
    assert await stored_pictures(app) == []
    async with app.state.database.transaction() as db:
        assert (await db.execute(select(func.count(ProductImage.id)))).scalar_one() == 0


@BOTH
async def test_a_picture_shared_by_two_products_stays_until_neither_shows_it(app, members, products):
    seller = await members.seller()
    category = await products.category()
    same = picture(colour="maroon")
    made = []  # (product id, its picture's id, the picture's stem), read in the product's transaction
    for _ in range(2):
        async with app.state.database.transaction() as db:
            product = await ProductService(db, app.state.settings).create_draft(
                seller, product_form(category.id), [Upload("x.png", same)]
            )
            made.append((product.id, product.images[0].id, product.images[0].stem))
    first, second = made
    assert first[2] == second[2]
    names = await stored_pictures(app)
    assert names == sorted([f"{first[2]}.png", f"{first[2]}_thumb.webp"])
    for (product_id, image_id, _stem), left in ((first, names), (second, [])):
        async with app.state.database.transaction() as db:
            await ProductService(db, app.state.settings).update(
                seller, product_id, product_form(category.id), [], [image_id]
            )
        assert await stored_pictures(app) == left


@IN_DATABASE
async def test_a_folder_installs_pictures_copied_into_the_database_are_served_by_another_host(app, settings, tmp_path):
    """Moving from one host's folder to several hosts: `python -m app.catalog.copy_pictures`
    copies the folder's picture names (content names and the older random ones) into the
    database storage; other files stay out; a second run copies nothing again."""
    folder = tmp_path / "old-uploads"
    folder.mkdir()
    new, old = content_stem(picture(colour="olive")), "0123456789abcdef0123456789abcdef"
    files = {
        f"{new}.png": picture(colour="olive"),
        f"{new}_thumb.webp": b"thumb-bytes",
        f"{old}.jpg": picture("JPEG", colour="navy"),
        ".upload-x.tmp": b"half a file",
        "notes.txt": b"not a picture",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    storage = pictures_for(settings)
    first = await copy_pictures(app.state.database, storage, folder)
    assert (first.copied, first.already, first.skipped) == (3, 0, 2)
    assert await stored_pictures(app) == sorted([f"{new}.png", f"{new}_thumb.webp", f"{old}.jpg"])
    again = await copy_pictures(app.state.database, storage, folder)
    assert (again.copied, again.already) == (0, 3)
    other_host = create_app(settings.with_changes(var_dir=tmp_path / "host-b"))
    async with AsyncTestClient(app=other_host) as client:
        for name in (f"{new}.png", f"{old}.jpg"):
            response = await client.get(f"/uploads/{name}")
            assert response.status_code == 200 and response.content == files[name]


def test_the_copy_command_refuses_the_folder_storage_itself(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SMORE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PICTURE_STORAGE", "local")
    with pytest.raises(SystemExit) as stopped:
        copy_main([str(tmp_path)])
    assert stopped.value.code == 2
    assert "PICTURE_STORAGE=database" in capsys.readouterr().err


@with_settings("bucket storage", picture_storage="s3", s3_bucket="pictures", s3_prefix="shop")
async def test_a_picture_uploaded_to_the_bucket_is_served_by_another_host(
    client, app, members, products, tmp_path, bucket
):
    product = await upload_through_http(client, members, products)
    assert not any(app.state.settings.uploads_path.iterdir())  # nothing on this host's disk
    objects = sorted(p.name for p in (bucket / "shop").iterdir())  # under S3_PREFIX in the bucket
    assert objects == sorted(
        url.removeprefix("/uploads/") for img in product.images for url in (img.url, img.thumb_url)
    )
    other_host = create_app(app.state.settings.with_changes(var_dir=tmp_path / "other-host", upload_dir=None))
    async with AsyncTestClient(app=other_host, base_url="http://testserver.local") as other:
        for img in product.images:
            here, there = await client.get(img.url), await other.get(img.url)
            assert here.status_code == there.status_code == 200
            assert here.content == there.content and here.headers["etag"] == there.headers["etag"]
