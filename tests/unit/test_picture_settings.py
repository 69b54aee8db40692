"""Which picture storage the settings choose, and the settings that cannot work."""

from __future__ import annotations

import pytest

from app.catalog.pictures import (
    BucketPictures,
    DatabasePictures,
    FolderPictures,
    parse_name,
    pictures_for,
    storage_kind,
)
from app.settings import Settings, SettingsError

PG = "postgres://shop@db.internal/smore"


def settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"SMORE_VAR_DIR": str(tmp_path), **env})


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({}, "local"),
        ({"DATABASE_URL": PG}, "database"),
        ({"DATABASE_URL": PG, "PICTURE_STORAGE": "local"}, "local"),
        ({"PICTURE_STORAGE": "database"}, "database"),
        ({"PICTURE_STORAGE": " Database "}, "database"),
        ({"DATABASE_URL": PG, "S3_BUCKET": "pictures"}, "s3"),
        ({"DATABASE_URL": PG, "S3_BUCKET": "pictures", "PICTURE_STORAGE": "database"}, "database"),
        ({"DATABASE_URL": PG, "PICTURE_STORAGE": ""}, "database"),  # set empty counts as unset
    ],
)
def test_the_storage_follows_the_settings(tmp_path, env, kind):
    assert storage_kind(settings(tmp_path, **env)) == kind


def test_the_default_storages(tmp_path):
    assert isinstance(pictures_for(settings(tmp_path)), FolderPictures)
    assert pictures_for(settings(tmp_path)).directory == tmp_path.resolve() / "uploads"  # type: ignore[attr-defined]
    assert isinstance(pictures_for(settings(tmp_path, DATABASE_URL=PG)), DatabasePictures)


def test_an_unknown_storage_stops_the_start(tmp_path):
    with pytest.raises(SettingsError, match="PICTURE_STORAGE must be one of local, database, s3"):
        pictures_for(settings(tmp_path, PICTURE_STORAGE="nfs"))


def test_s3_settings_make_a_bucket_storage_on_that_endpoint(tmp_path):
    storage = pictures_for(
        settings(
            tmp_path,
            DATABASE_URL=PG,
            S3_BUCKET="pictures",
            S3_ENDPOINT_URL="http://minio:9000",
            S3_REGION="ap-northeast-2",
            S3_PREFIX="/shop/",
        )
    )
    assert isinstance(storage, BucketPictures)
    assert storage._store.config == {"bucket": "pictures", "endpoint": "http://minio:9000", "region": "ap-northeast-2"}
    assert storage._key("a" * 64 + ".png") == "shop/" + "a" * 64 + ".png"
    with pytest.raises(ValueError, match="not a picture name"):
        storage._key("../secrets.txt")


def test_s3_chosen_without_a_bucket_says_what_to_set(tmp_path):
    with pytest.raises(SettingsError, match="S3_BUCKET"):
        pictures_for(settings(tmp_path, PICTURE_STORAGE="s3"))


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("a" * 64 + ".png", ("a" * 64, "image/png")),
        ("b" * 64 + "_thumb.webp", ("b" * 64 + "_thumb", "image/webp")),
        ("c" * 32 + ".jpg", ("c" * 32, "image/jpeg")),  # an older, random name
        ("../" + "a" * 64 + ".png", None),
        ("a" * 64 + ".png/", None),
        ("A" * 64 + ".png", None),
        ("a" * 63 + ".png", None),
        ("a" * 64 + ".svg", None),
        ("a" * 64 + ".png\n", None),
        ("", None),
    ],
)
def test_only_picture_names_are_looked_up(name, parsed):
    assert parse_name(name) == parsed
