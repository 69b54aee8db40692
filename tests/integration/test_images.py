"""Pictures are checked by content, re-encoded, thumbnailed and written atomically; files follow the
database transaction (a rollback removes new files, removed pictures go only after commit)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.catalog import images
from app.catalog.images import ImageRejected, Upload, process_image
from app.catalog.pictures import FolderPictures, picture_names, pictures_for
from app.catalog.product_service import ProductService
from app.core.errors import FormInvalid
from app.models.catalog import Product, ProductImage
from tests.helpers.pictures import product_form, stored_pictures

MAX = 5 * 1024 * 1024


def picture(
    fmt: str = "PNG", size: tuple[int, int] = (800, 600), mode: str = "RGB", colour: str = "teal", **save: object
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format=fmt, **save)
    return out.getvalue()


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.mark.parametrize(
    ("fmt", "ext", "ctype"),
    [("JPEG", "jpg", "image/jpeg"), ("PNG", "png", "image/png"), ("WEBP", "webp", "image/webp")],
)
async def test_accepted_formats_are_stored_with_a_thumbnail(app, tmp_path, fmt, ext, ctype):
    processed = process_image(Upload("whatever.bin", picture(fmt, (1600, 900))), MAX)
    async with app.state.database.transaction() as db:
        [stored] = await images.store(db, FolderPictures(tmp_path / "pics"), [processed])
    assert (stored.extension, stored.content_type, stored.width, stored.height) == (ext, ctype, 1600, 900)
    assert stored.stem == hashlib.sha256(processed.data).hexdigest()  # named by its content
    main, thumb = (tmp_path / "pics" / name for name in picture_names(stored.stem, stored.extension))
    with Image.open(main) as img:
        assert img.format == fmt and img.size == (1600, 900)
    with Image.open(thumb) as img:
        assert img.format == "WEBP" and img.size == (400, 225)
    assert stored.size_bytes == main.stat().st_size
    assert files_in(tmp_path / "pics") == sorted([main.name, thumb.name])  # no temporary files left


def test_metadata_is_dropped_and_orientation_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° when shown
    exif[0x010F] = "SecretCam"
    processed = process_image(Upload("phone.jpg", picture("JPEG", (300, 200), exif=exif.tobytes())), MAX)
    assert (processed.width, processed.height) == (200, 300)
    with Image.open(io.BytesIO(processed.data)) as img:
        assert not img.getexif()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (Upload("anim.gif", picture("GIF")), "“anim.gif” is a GIF file"),
        (Upload("scan.bmp", picture("BMP")), "is a BMP file"),
        (
            Upload("notes.png", b"just some text, honestly a PNG\n" * 20),
            "“notes.png” is not a JPEG, PNG or WebP picture",
        ),
        (Upload("page.jpg", b"<html><script>alert(1)</script></html>"), "is not a JPEG, PNG or WebP picture"),
        (Upload("cut.png", picture("PNG")[:80]), "could not be read"),
        (Upload("empty.png", b""), "is empty"),
        (Upload("huge.png", picture("PNG") + b"\0" * MAX), "larger than 5 MB"),
        (Upload("wide.png", picture("PNG", (8000, 6000), "1")), "at most 40 megapixels"),
        (Upload("bomb.png", picture("PNG", (20000, 20000), "1")), "at most 40 megapixels"),
    ],
)
def test_refused_uploads_explain_why(upload, message):
    with pytest.raises(ImageRejected) as caught:
        process_image(upload, MAX)
    assert message in caught.value.message


def test_long_and_path_like_names_are_shortened_in_messages():
    with pytest.raises(ImageRejected) as caught:
        process_image(Upload("C:\\Users\\me\\" + "x" * 200 + ".txt", b"text"), MAX)
    assert "Users" not in caught.value.message and "…" in caught.value.message


async def test_a_rolled_back_transaction_leaves_no_files(app, members, products):
    seller = await members.seller()
    category = await products.category()
    session = app.state.database.sessionmaker()
    try:
        service = ProductService(session, app.state.settings)
        product = await service.create_draft(
            seller, product_form(category.id), [Upload("a.png", picture()), Upload("b.jpg", picture("JPEG"))]
        )
        assert len(product.images) == 2
        storage = pictures_for(app.state.settings)  # in the transaction, seen from inside it
        for img in product.images:
            assert all([await storage.exists(session, n) for n in picture_names(img.stem, img.extension)])
        await session.rollback()
    finally:
        await session.close()
    assert await stored_pictures(app) == []
    async with app.state.database.transaction() as db:
        assert (await db.execute(select(func.count(Product.id)))).scalar_one() == 0


async def test_a_refused_form_writes_no_file(app, members, products):
    seller = await members.seller()
    category = await products.category()
    async with app.state.database.transaction() as db:
        with pytest.raises(FormInvalid) as caught:
            await ProductService(db, app.state.settings).create_draft(
                seller, product_form(category.id), [Upload("ok.png", picture()), Upload("bad.gif", picture("GIF"))]
            )
    assert "bad.gif" in caught.value.errors["images"] and "ok.png" not in caught.value.errors["images"]
    assert await stored_pictures(app) == []


async def test_removed_pictures_lose_their_files_only_after_commit(app, members, products):
    seller = await members.seller()
    category = await products.category()
    async with app.state.database.transaction() as db:
        product = await ProductService(db, app.state.settings).create_draft(
            seller, product_form(category.id), [Upload("a.png", picture()), Upload("b.png", picture(colour="navy"))]
        )
        first, second = product.images
    # a removal that is rolled back keeps the files
    session = app.state.database.sessionmaker()
    try:
        await ProductService(session, app.state.settings).update(
            seller, product.id, product_form(category.id), [], [first.id]
        )
        assert len(await stored_pictures(app)) == 4
        await session.rollback()
    finally:
        await session.close()
    assert len(await stored_pictures(app)) == 4
    async with app.state.database.transaction() as db:
        updated = await ProductService(db, app.state.settings).update(
            seller, product.id, product_form(category.id), [Upload("c.webp", picture("WEBP"))], [first.id]
        )
        assert [img.position for img in updated.images] == [0, 1]
    names = await stored_pictures(app)
    assert f"{first.stem}.png" not in names and f"{first.stem}_thumb.webp" not in names
    assert f"{second.stem}.png" in names and len(names) == 4
    async with app.state.database.transaction() as db:
        rows = (await db.execute(select(ProductImage).order_by(ProductImage.position))).scalars().all()
    assert rows[0].stem == second.stem and rows[1].extension == "webp"
