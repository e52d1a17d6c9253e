"""Location parsing, local-file generations and the gs:// dispatcher (no network)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingestion.adapters.storage.fetch import (
    GcsObjects,
    LocalFiles,
    ObjectNotFound,
    ObjectStoreError,
    ObjectStores,
)
from ingestion.adapters.storage.locations import (
    GcsLocation,
    LocationError,
    check_location,
    is_gcs_location,
    parse_gcs_location,
)


@pytest.mark.parametrize(
    ("location", "bucket", "name"),
    [
        ("gs://bucket/object", "bucket", "object"),
        ("gs://my-bucket/schemas/main.tar.gz", "my-bucket", "schemas/main.tar.gz"),
        ("gs://geo.example.com/GeoIP2-City.mmdb", "geo.example.com", "GeoIP2-City.mmdb"),
        ("gs://b_1/a b/ü.mmdb", "b_1", "a b/ü.mmdb"),
        ("gs://abc/a//b", "abc", "a//b"),
    ],
)
def test_gcs_locations_split_into_bucket_and_object(location, bucket, name):
    parsed = parse_gcs_location(location)
    assert parsed == GcsLocation(bucket, name)
    assert str(parsed) == location
    assert is_gcs_location(location)


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("gs://", "no bucket name"),
        ("gs:///object", "no bucket name"),
        ("gs://bucket", "names a bucket, not an object"),
        ("gs://bucket/", "names a bucket, not an object"),
        ("gs://bucket/folder/", "names a folder"),
        ("gs://Bucket/object", "not a valid bucket name"),
        ("gs://ab/object", "not a valid bucket name"),
        ("gs://-bucket/object", "not a valid bucket name"),
        ("gs://bucket-/object", "not a valid bucket name"),
        ("gs://buck et/object", "not a valid bucket name"),
        ("gs://bucket/a\nb", "line break"),
        ("gs://bucket/" + "x" * 1025, "longer than 1024 bytes"),
        ("gs://bucket/" + "é" * 513, "longer than 1024 bytes"),  # 1026 bytes in UTF-8
        ("/local/path", "not a gs://bucket/object location"),
    ],
)
def test_malformed_gcs_locations_say_what_is_wrong(location, reason):
    with pytest.raises(LocationError, match=reason):
        parse_gcs_location(location)


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("", "empty location"),
        ("s3://bucket/object", "unsupported scheme 's3'"),
        ("https://storage.googleapis.com/b/o", "unsupported scheme 'https'"),
        ("gs://bucket", "names a bucket"),
    ],
)
def test_check_location_rejects_other_schemes(location, reason):
    with pytest.raises(LocationError, match=reason):
        check_location(location)


@pytest.mark.parametrize("location", ["schemas", "/srv/geo/city.mmdb", "./a:b/c", "C:\\geo.mmdb"])
def test_check_location_accepts_local_paths(location):
    assert check_location(location) == location
    assert not is_gcs_location(location)


# --- LocalFiles -------------------------------------------------------------------------------
def test_local_generation_is_stable_until_the_file_is_rewritten(tmp_path):
    path = tmp_path / "city.mmdb"
    path.write_bytes(b"first")
    files = LocalFiles()
    first = files.generation(str(path))
    assert files.generation(str(path)) == first
    path.write_bytes(b"second version")  # rewritten in place
    assert files.generation(str(path)) != first


def test_local_generation_changes_on_replace_with_same_size_and_mtime(tmp_path):
    path = tmp_path / "city.mmdb"
    path.write_bytes(b"aaaa")
    before = path.stat()
    files = LocalFiles()
    first = files.generation(str(path))
    replacement = tmp_path / "city.mmdb.new"
    replacement.write_bytes(b"bbbb")
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, path)
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_size == 4
    assert files.generation(str(path)) != first


def test_local_directory_generation_follows_every_file_in_the_tree(tmp_path):
    root = tmp_path / "schemas"
    schema = root / "ns" / "doc" / "doc.1.schema.json"
    schema.parent.mkdir(parents=True)
    schema.write_text("{}")
    files = LocalFiles()
    first = files.generation(str(root))
    assert files.generation(str(root)) == first
    added = root / "ns" / "other" / "other.1.schema.json"
    added.parent.mkdir()
    added.write_text("{}")
    second = files.generation(str(root))
    assert second != first
    schema.write_text('{"type": "object"}')
    assert files.generation(str(root)) not in (first, second)


def test_local_fetch_uses_the_file_in_place(tmp_path):
    path = tmp_path / "filter.txt"
    path.write_text("5389489\n")
    cache = tmp_path / "cache"
    files = LocalFiles()
    fetched, generation = files.fetch(str(path), cache)
    assert fetched == path
    assert generation == files.generation(str(path))
    assert not cache.exists()  # nothing copied


def test_local_missing_file_is_object_not_found(tmp_path):
    missing = tmp_path / "absent.mmdb"
    with pytest.raises(ObjectNotFound, match=r"absent\.mmdb not found"):
        LocalFiles().generation(str(missing))
    with pytest.raises(ObjectNotFound):
        LocalFiles().fetch(str(missing), tmp_path)


# --- ObjectStores -----------------------------------------------------------------------------
class RecordingStore:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, str]] = []

    def generation(self, location: str) -> str:
        self.calls.append(("generation", location))
        return self.name

    def fetch(self, location: str, destination_dir: Path) -> tuple[Path, str]:
        self.calls.append(("fetch", location))
        return destination_dir / "x", self.name


def test_object_stores_dispatch_on_the_gs_prefix(tmp_path):
    local, gcs = RecordingStore("local"), RecordingStore("gcs")
    stores = ObjectStores(local=local, gcs=gcs)
    assert stores.generation("gs://bucket/a.mmdb") == "gcs"
    assert stores.fetch("/srv/a.mmdb", tmp_path) == (tmp_path / "x", "local")
    assert gcs.calls == [("generation", "gs://bucket/a.mmdb")]
    assert local.calls == [("fetch", "/srv/a.mmdb")]
    with pytest.raises(LocationError, match="unsupported scheme"):
        stores.generation("s3://bucket/a.mmdb")
    with pytest.raises(LocationError, match="names a folder"):
        stores.generation("gs://bucket/dir/")


def test_object_stores_create_the_gcs_store_only_for_a_gs_location(tmp_path):
    created: list[RecordingStore] = []

    def factory() -> RecordingStore:
        created.append(RecordingStore("gcs"))
        return created[-1]

    stores = ObjectStores(gcs_factory=factory)
    path = tmp_path / "a.txt"
    path.write_text("x")
    stores.generation(str(path))
    assert created == []
    stores.generation("gs://bucket/a")
    stores.generation("gs://bucket/b")
    assert len(created) == 1
    assert created[0].calls == [("generation", "gs://bucket/a"), ("generation", "gs://bucket/b")]


# --- GcsObjects on a stand-in client: paths fake-gcs-server cannot show -------------------------
class FakeBlob:
    """An object that a writer replaces during the next ``replace_on_download`` downloads."""

    def __init__(self, bucket: FakeBucket, name: str) -> None:
        self.bucket, self.name = bucket, name
        self.generation: int | None = None

    def reload(self, **options: object) -> None:
        if self.bucket.reload_error is not None:
            raise self.bucket.reload_error
        self.generation = self.bucket.generation

    def download_to_file(self, handle, *, if_generation_match: int, **options: object) -> None:
        from google.api_core.exceptions import PreconditionFailed

        if self.bucket.replace_on_download:
            self.bucket.replace_on_download -= 1
            self.bucket.generation += 1
        if if_generation_match != self.bucket.generation:  # as Cloud Storage does
            raise PreconditionFailed("conditionNotMet")
        handle.write(f"content of generation {self.bucket.generation}".encode())


class FakeBucket:
    def __init__(self) -> None:
        self.generation = 7
        self.replace_on_download = 0
        self.reload_error: Exception | None = None

    def blob(self, name: str) -> FakeBlob:
        return FakeBlob(self, name)


class FakeClient:
    def __init__(self) -> None:
        self.only_bucket = FakeBucket()

    def bucket(self, name: str) -> FakeBucket:
        assert name == "bucket"
        return self.only_bucket


def test_gcs_fetch_retries_when_the_generation_precondition_fails(tmp_path):
    client = FakeClient()
    client.only_bucket.replace_on_download = 2
    path, generation = GcsObjects(client).fetch("gs://bucket/city.mmdb", tmp_path)  # type: ignore[arg-type]
    assert generation == "9"
    assert path.read_text() == "content of generation 9"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_gcs_fetch_gives_up_after_three_changes(tmp_path):
    client = FakeClient()
    client.only_bucket.replace_on_download = 3
    with pytest.raises(ObjectStoreError, match="changed 3 times while being downloaded"):
        GcsObjects(client).fetch("gs://bucket/city.mmdb", tmp_path)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("error", "expected", "reason"),
    [
        ("NotFound", ObjectNotFound, r"^gs://bucket/city\.mmdb not found$"),
        ("Forbidden", ObjectStoreError, r"^cannot check gs://bucket/city\.mmdb: 403 no access"),
        ("ServiceUnavailable", ObjectStoreError, r"^cannot check gs://bucket/city\.mmdb: 503"),
    ],
)
def test_gcs_client_errors_become_one_line_object_store_errors(error, expected, reason):
    import google.api_core.exceptions as api

    client = FakeClient()
    client.only_bucket.reload_error = getattr(api, error)("no access\nsecond line")
    with pytest.raises(expected, match=reason) as raised:
        GcsObjects(client).generation("gs://bucket/city.mmdb")  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)


def test_gcs_fetch_into_an_unusable_directory_is_an_object_store_error(tmp_path):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    with pytest.raises(ObjectStoreError, match=r"^cannot download gs://bucket/city\.mmdb into"):
        GcsObjects(FakeClient()).fetch("gs://bucket/city.mmdb", not_a_directory / "cache")  # type: ignore[arg-type]
