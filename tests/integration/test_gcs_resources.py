"""Resources in Cloud Storage (fake-gcs-server): the schema tarball and a GeoIP database are
loaded at cold start, re-checked by generation on an injected clock, and swapped when changed."""

from __future__ import annotations

import io
import json
import logging
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from ingestion.adapters.storage.fetch import GcsObjects, ObjectNotFound, ObjectStores
from ingestion.context import ConfigurationError
from ingestion.local.demo_geoip import build_demo_city_db
from ingestion.resources.schemas import PROJECT_SCHEMAS
from ingestion.service.context_provider import ContextProvider
from support import (
    ADDED_SCHEMA,
    BASELINE,
    FakeClock,
    decode_example,
    resource_provider_arguments,
)

PROJECT = "test-project"
RECHECK = 300.0
SCHEMAS_OBJECT = "schemas/main.tar.gz"
CITY_OBJECT = "geoip/GeoIP2-City.mmdb"


class CountingStores(ObjectStores):
    """The real dispatcher, counting the calls that reach Cloud Storage."""

    def __init__(self, gcs: GcsObjects) -> None:
        super().__init__(gcs=gcs)
        self.generation_calls: list[str] = []
        self.fetch_calls: list[str] = []

    def generation(self, location: str) -> str:
        self.generation_calls.append(location)
        return super().generation(location)

    def fetch(self, location: str, destination_dir: Path) -> tuple[Path, str]:
        self.fetch_calls.append(location)
        return super().fetch(location, destination_dir)


@pytest.fixture
def client(gcs):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=PROJECT, credentials=AnonymousCredentials())


@pytest.fixture
def bucket(client):
    return client.create_bucket(f"resources-{uuid.uuid4().hex[:12]}")


def schema_tarball(path: Path, extra: dict[str, dict] | None = None) -> Path:
    """The project's schemas as GitHub serves a repository: ``<top>/schemas/<namespace>/...``."""
    with tarfile.open(path, "w:gz") as archive:
        archive.add(PROJECT_SCHEMAS, arcname="pipeline-schemas-main/schemas")
        for name, schema in (extra or {}).items():
            data = json.dumps(schema).encode()
            member = tarfile.TarInfo(f"pipeline-schemas-main/schemas/{name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return path


def upload(bucket, name: str, path: Path) -> str:
    blob = bucket.blob(name)
    blob.upload_from_filename(str(path))
    return f"gs://{bucket.name}/{name}"


def provider_arguments(**environment: str) -> dict[str, Any]:
    return resource_provider_arguments(RECHECK, **environment)


@pytest.fixture
def deployed(bucket, tmp_path):
    """Schemas and a City database uploaded; a provider over them on a fake clock."""
    schemas = upload(bucket, SCHEMAS_OBJECT, schema_tarball(tmp_path / "schemas.tar.gz"))
    city = upload(bucket, CITY_OBJECT, build_demo_city_db(tmp_path / "city.mmdb"))
    stores = CountingStores(GcsObjects(bucket.client))
    clock = FakeClock()
    provider = ContextProvider(
        **provider_arguments(SCHEMAS_LOCATION=schemas, GEO_CITY_DATABASE=city),
        stores=stores,
        cache_dir=tmp_path / "cache",
        clock=clock,
    )
    yield provider, stores, clock, schemas, city
    provider.close()


def generation_of(bucket, name: str) -> str:
    blob = bucket.get_blob(name)
    return str(blob.generation)


def test_cold_start_loads_schemas_and_geoip_from_gcs(deployed, bucket, tmp_path):
    provider, stores, _, schemas, city = deployed
    assert provider.generations == {
        schemas: generation_of(bucket, SCHEMAS_OBJECT),
        city: generation_of(bucket, CITY_OBJECT),
    }
    assert sorted(stores.fetch_calls) == sorted([schemas, city])
    output = decode_example(provider.current(), "baseline", BASELINE, "198.51.100.7")
    assert "error_type" not in output.attributes
    assert output.attributes["document_type"] == "baseline"
    assert output.attributes["geo_city"] == "Sacramento"
    assert output.attributes["geo_subdivision1"] == "CA"
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(cached) == 2 and not any(name.startswith(".partial") for name in cached)


def test_nothing_is_refetched_before_the_interval(deployed, bucket, tmp_path):
    provider, stores, clock, _, _ = deployed
    loaded = provider.current()
    stores.fetch_calls.clear()
    added = {"org-example-app/added/added.1.schema.json": ADDED_SCHEMA}
    upload(bucket, SCHEMAS_OBJECT, schema_tarball(tmp_path / "new.tar.gz", added))

    clock.now += RECHECK - 0.5
    for _ in range(20):
        assert provider.current() is loaded
    assert stores.generation_calls == [] and stores.fetch_calls == []
    assert provider.checks == 0
    output = decode_example(provider.current(), "added", {"added": 1})
    assert output.attributes["error_type"] == "ParsePayload"
    assert "No such docType: org-example-app/added" in output.attributes["error_message"]


def test_a_changed_schema_tarball_is_picked_up_after_the_interval(deployed, bucket, tmp_path):
    provider, stores, clock, schemas, city = deployed
    loaded = provider.current()
    city_generation = provider.generations[city]
    stores.fetch_calls.clear()
    added = {"org-example-app/added/added.1.schema.json": ADDED_SCHEMA}
    upload(bucket, SCHEMAS_OBJECT, schema_tarball(tmp_path / "new.tar.gz", added))

    clock.now += RECHECK
    reloaded = provider.current()
    assert reloaded is not loaded
    assert provider.reloads == 1
    assert stores.fetch_calls == [schemas]  # the unchanged City database is not downloaded again
    assert provider.generations == {
        schemas: generation_of(bucket, SCHEMAS_OBJECT),
        city: city_generation,
    }
    output = decode_example(reloaded, "added", {"added": 1}, "198.51.100.7")
    assert "error_type" not in output.attributes
    assert output.attributes["document_type"] == "added"
    assert output.attributes["geo_city"] == "Sacramento"
    # A message still holding the old context decodes as before.
    assert decode_example(loaded, "added", {"added": 1}).attributes["error_type"] == "ParsePayload"
    # Only the current copies stay in the (in-memory in production) cache directory.
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_an_unchanged_generation_does_not_reload(deployed):
    provider, stores, clock, schemas, city = deployed
    loaded = provider.current()
    stores.fetch_calls.clear()
    clock.now += RECHECK
    assert provider.current() is loaded
    clock.now += RECHECK * 3
    assert provider.current() is loaded
    assert (provider.checks, provider.reloads, provider.failures) == (2, 0, 0)
    assert sorted(stores.generation_calls) == sorted([schemas, city] * 2)
    assert stores.fetch_calls == []


def test_a_corrupt_upload_keeps_the_old_context_and_logs(deployed, bucket, tmp_path, caplog):
    provider, stores, clock, _, city = deployed
    loaded = provider.current()
    generations = provider.generations
    bucket.blob(CITY_OBJECT).upload_from_string(b"this is not a MaxMind database")

    clock.now += RECHECK
    with caplog.at_level(logging.WARNING, logger="ingestion.service.context_provider"):
        assert provider.current() is loaded
    assert (provider.reloads, provider.failures) == (0, 1)
    assert provider.generations == generations
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    new_generation = generation_of(bucket, CITY_OBJECT)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"reload of {city} @ {new_generation} failed: ")
    failure, _, serving = warnings[0].partition("; still serving ")
    assert "cannot open GeoIP City database" in failure
    assert f"{city} @ {generations[city]}" in serving
    output = decode_example(provider.current(), "baseline", BASELINE, "198.51.100.7")
    assert output.attributes["geo_city"] == "Sacramento"
    # The rejected download is not kept in the cache.
    assert len(list((tmp_path / "cache").iterdir())) == 2

    stores.fetch_calls.clear()
    clock.now += RECHECK  # the same corrupt generation is not downloaded again
    assert provider.current() is loaded
    assert stores.fetch_calls == [] and provider.failures == 1

    upload(bucket, CITY_OBJECT, build_demo_city_db(tmp_path / "fixed.mmdb"))
    clock.now += RECHECK
    assert provider.current() is not loaded
    assert provider.reloads == 1 and stores.fetch_calls == [city]


def test_a_deleted_object_keeps_the_old_context(deployed, bucket):
    provider, _, clock, schemas, _ = deployed
    loaded = provider.current()
    bucket.blob(SCHEMAS_OBJECT).delete()
    clock.now += RECHECK
    assert provider.current() is loaded
    assert provider.failures == 1
    assert provider.last_failure == f"re-check failed: {schemas} not found"
    assert "error_type" not in decode_example(loaded, "baseline", BASELINE).attributes


def test_a_missing_object_at_cold_start_is_a_configuration_error(bucket, tmp_path):
    schemas = upload(bucket, SCHEMAS_OBJECT, schema_tarball(tmp_path / "schemas.tar.gz"))
    missing = f"gs://{bucket.name}/geoip/absent.mmdb"
    with pytest.raises(ConfigurationError, match=f"geo_city_database: {missing} not found"):
        ContextProvider(
            **provider_arguments(SCHEMAS_LOCATION=schemas, GEO_CITY_DATABASE=missing),
            stores=ObjectStores(gcs=GcsObjects(bucket.client)),
            cache_dir=tmp_path / "cache",
        )
    with pytest.raises(ConfigurationError, match="not found"):
        ContextProvider(
            **provider_arguments(
                SCHEMAS_LOCATION=f"gs://missing-{uuid.uuid4().hex[:8]}/schemas.tar.gz"
            ),
            stores=ObjectStores(gcs=GcsObjects(bucket.client)),
            cache_dir=tmp_path / "cache",
        )


# --- GcsObjects directly ------------------------------------------------------------------------
def test_fetch_downloads_atomically_under_the_generation(bucket, tmp_path):
    bucket.blob("data/file.bin").upload_from_string(b"version one")
    location = f"gs://{bucket.name}/data/file.bin"
    objects = GcsObjects(bucket.client)
    path, generation = objects.fetch(location, tmp_path / "cache")
    assert path.read_bytes() == b"version one"
    assert generation == objects.generation(location) == generation_of(bucket, "data/file.bin")
    assert generation in path.name and path.name.endswith("file.bin")
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [path.name]
    # The same generation is not downloaded twice.
    assert objects.fetch(location, tmp_path / "cache") == (path, generation)

    bucket.blob("data/file.bin").upload_from_string(b"version two")
    new_path, new_generation = objects.fetch(location, tmp_path / "cache")
    assert new_generation != generation and new_path != path
    assert new_path.read_bytes() == b"version two"
    assert path.read_bytes() == b"version one"  # an older context's file is left alone


def test_fetch_records_the_generation_it_actually_downloaded(bucket, tmp_path, monkeypatch):
    """The object is replaced between the metadata call and the download: the download is
    retried, and the generation returned is the one whose bytes are on disk."""
    from google.cloud.storage import Blob

    bucket.blob("race.bin").upload_from_string(b"old")
    location = f"gs://{bucket.name}/race.bin"
    original = Blob.download_to_file
    replaced: list[bool] = []

    def replace_then_download(self, *args, **kwargs):
        if not replaced:
            replaced.append(True)
            bucket.blob("race.bin").upload_from_string(b"new")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Blob, "download_to_file", replace_then_download)
    path, generation = GcsObjects(bucket.client).fetch(location, tmp_path)
    assert replaced
    assert path.read_bytes() == b"new"
    assert generation == generation_of(bucket, "race.bin")
    assert not any(p.name.startswith(".partial") for p in tmp_path.iterdir())


def test_an_object_that_keeps_changing_is_an_error(bucket, tmp_path, monkeypatch):
    from google.cloud.storage import Blob

    from ingestion.adapters.storage.fetch import ObjectStoreError

    bucket.blob("busy.bin").upload_from_string(b"0")
    original = Blob.download_to_file

    def always_replace(self, *args, **kwargs):
        bucket.blob("busy.bin").upload_from_string(uuid.uuid4().bytes)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Blob, "download_to_file", always_replace)
    with pytest.raises(ObjectStoreError, match="changed 3 times while being downloaded"):
        GcsObjects(bucket.client).fetch(f"gs://{bucket.name}/busy.bin", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_object_and_bucket_are_object_not_found(bucket, tmp_path):
    objects = GcsObjects(bucket.client)
    with pytest.raises(ObjectNotFound, match=r"absent\.bin not found"):
        objects.generation(f"gs://{bucket.name}/absent.bin")
    with pytest.raises(ObjectNotFound):
        objects.fetch(f"gs://no-such-{uuid.uuid4().hex[:8]}/x.bin", tmp_path)
