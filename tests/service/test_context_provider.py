"""ContextProvider over local files: cold start, re-check by generation on an injected clock,
swap on change, keep serving on failure, one reload at a time. (The gs:// path runs against
fake-gcs-server in tests/integration/test_gcs_resources.py.)"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ingestion.adapters.storage.fetch import LocalFiles
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

RECHECK = 300.0


def provider_arguments(**environment: str) -> dict[str, Any]:
    return resource_provider_arguments(RECHECK, **environment)


@pytest.fixture
def schemas_dir(tmp_path) -> Path:
    return Path(shutil.copytree(PROJECT_SCHEMAS, tmp_path / "schemas"))


@pytest.fixture
def city_db(tmp_path) -> Path:
    return build_demo_city_db(tmp_path / "geo" / "city.mmdb")


def add_doctype(schemas: Path) -> None:
    path = schemas / "org-example-app" / "added" / "added.1.schema.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(ADDED_SCHEMA))


def provider_for(schemas: Path, city: Path, tmp_path: Path, **options) -> ContextProvider:
    return ContextProvider(
        **provider_arguments(SCHEMAS_LOCATION=str(schemas), GEO_CITY_DATABASE=str(city)),
        cache_dir=tmp_path / "cache",
        **options,
    )


def test_cold_start_uses_local_paths_in_place(schemas_dir, city_db, tmp_path):
    provider = provider_for(schemas_dir, city_db, tmp_path, clock=FakeClock())
    files = LocalFiles()
    assert provider.generations == {
        str(schemas_dir): files.generation(str(schemas_dir)),
        str(city_db): files.generation(str(city_db)),
    }
    output = decode_example(provider.current(), "baseline", BASELINE, "198.51.100.7")
    assert "error_type" not in output.attributes
    assert output.attributes["geo_city"] == "Sacramento"
    assert not (tmp_path / "cache").exists()  # nothing copied
    assert (provider.reloads, provider.checks, provider.failures) == (0, 0, 0)


def test_a_schema_change_is_picked_up_only_after_the_interval(schemas_dir, city_db, tmp_path):
    clock = FakeClock()
    provider = provider_for(schemas_dir, city_db, tmp_path, clock=clock)
    loaded = provider.current()
    add_doctype(schemas_dir)

    clock.now += RECHECK - 0.001
    assert provider.current() is loaded
    assert provider.checks == 0
    before = decode_example(provider.current(), "added", {"added": 1})
    assert "No such docType: org-example-app/added" in before.attributes["error_message"]

    clock.now += 0.001
    reloaded = provider.current()
    assert reloaded is not loaded
    assert (provider.reloads, provider.checks) == (1, 1)
    assert provider.generations[str(schemas_dir)] == LocalFiles().generation(str(schemas_dir))
    assert "error_type" not in decode_example(reloaded, "added", {"added": 1}).attributes
    # The old context stays usable for messages still in flight.
    assert decode_example(loaded, "baseline", BASELINE, "198.51.100.7").attributes["geo_city"] == (
        "Sacramento"
    )
    # The next check is a full interval after this one.
    clock.now += RECHECK - 1
    provider.current()
    assert provider.checks == 1


def test_unchanged_generations_do_not_reload(schemas_dir, city_db, tmp_path):
    clock = FakeClock()
    provider = provider_for(schemas_dir, city_db, tmp_path, clock=clock)
    loaded = provider.current()
    for _ in range(3):
        clock.now += RECHECK * 2
        assert provider.current() is loaded
    assert (provider.reloads, provider.checks, provider.failures) == (0, 3, 0)


def test_a_corrupt_replacement_keeps_the_old_context_and_is_not_retried(
    schemas_dir, city_db, tmp_path, caplog
):
    clock = FakeClock()
    provider = provider_for(schemas_dir, city_db, tmp_path, clock=clock)
    loaded = provider.current()
    generations = provider.generations
    corrupt = tmp_path / "corrupt.mmdb"
    corrupt.write_bytes(b"not a maxmind database")
    os.replace(corrupt, city_db)

    clock.now += RECHECK
    with caplog.at_level(logging.WARNING, logger="ingestion.service.context_provider"):
        assert provider.current() is loaded
    assert (provider.reloads, provider.failures) == (0, 1)
    assert provider.generations == generations
    assert provider.last_failure is not None and str(city_db) in provider.last_failure
    assert any(
        record.levelno == logging.WARNING and str(city_db) in record.getMessage()
        for record in caplog.records
    )
    # The old reader still answers: the replaced file stays mapped until it is released.
    assert decode_example(loaded, "baseline", BASELINE, "198.51.100.7").attributes["geo_city"] == (
        "Sacramento"
    )

    clock.now += RECHECK  # the same bad generation is not loaded (nor logged) again
    assert provider.current() is loaded
    assert (provider.checks, provider.failures) == (2, 1)

    build_demo_city_db(tmp_path / "fixed.mmdb")
    os.replace(tmp_path / "fixed.mmdb", city_db)
    clock.now += RECHECK
    assert provider.current() is not loaded
    assert (provider.reloads, provider.failures) == (1, 1)


def test_a_missing_resource_at_recheck_keeps_serving(schemas_dir, city_db, tmp_path):
    clock = FakeClock()
    provider = provider_for(schemas_dir, city_db, tmp_path, clock=clock)
    loaded = provider.current()
    city_db.unlink()
    clock.now += RECHECK
    assert provider.current() is loaded
    assert provider.failures == 1
    assert provider.last_failure is not None and "not found" in provider.last_failure


@pytest.mark.parametrize(
    ("environment", "reason"),
    [
        ({"SCHEMAS_LOCATION": "/nonexistent/schemas"}, "/nonexistent/schemas not found"),
        ({"GEO_CITY_DATABASE": "/nonexistent/city.mmdb"}, "/nonexistent/city.mmdb not found"),
        ({"GEO_ISP_DATABASE": "s3://bucket/isp.mmdb"}, "unsupported scheme 's3'"),
        ({"GEO_CITY_FILTER": "gs://bucket/"}, "names a bucket, not an object"),
    ],
)
def test_cold_start_problems_are_configuration_errors(environment, reason, tmp_path):
    with pytest.raises(ConfigurationError, match=reason):
        ContextProvider(**provider_arguments(**environment), cache_dir=tmp_path)


def test_a_corrupt_database_at_cold_start_is_a_configuration_error(tmp_path):
    corrupt = tmp_path / "city.mmdb"
    corrupt.write_bytes(b"garbage")
    with pytest.raises(ConfigurationError, match=r"city\.mmdb"):
        ContextProvider(
            **provider_arguments(GEO_CITY_DATABASE=str(corrupt)), cache_dir=tmp_path / "c"
        )


class CopyingStore(LocalFiles):
    """Like GCS: each fetch of a file copies it into the cache directory under a
    per-generation name (a directory is used in place)."""

    def __init__(self) -> None:
        self.fetched: list[str] = []

    def fetch(self, location: str, destination_dir: Path) -> tuple[Path, str]:
        self.fetched.append(location)
        generation = self.generation(location)
        if Path(location).is_dir():
            return Path(location), generation
        destination_dir.mkdir(parents=True, exist_ok=True)
        copy = destination_dir / f"{generation}-{Path(location).name}"
        shutil.copyfile(location, copy)
        return copy, generation


def test_only_changed_resources_are_fetched_and_stale_copies_are_deleted(tmp_path):
    geo = tmp_path / "geo"
    city = build_demo_city_db(geo / "city.mmdb")
    city_filter = geo / "filter.txt"
    city_filter.write_text("5389489\n")
    store, clock, cache = CopyingStore(), FakeClock(), tmp_path / "cache"
    provider = ContextProvider(
        **provider_arguments(GEO_CITY_DATABASE=str(city), GEO_CITY_FILTER=str(city_filter)),
        stores=store,
        cache_dir=cache,
        clock=clock,
    )
    assert sorted(store.fetched) == sorted([str(PROJECT_SCHEMAS), str(city), str(city_filter)])
    old_copies = set(cache.iterdir())
    context = provider.current()
    assert (
        decode_example(context, "baseline", BASELINE, "203.0.113.9").attributes.get("geo_city")
        is None
    )

    city_filter.write_text("5389489\n5803556\n")  # now Milton is allowed too
    store.fetched.clear()
    clock.now += RECHECK
    reloaded = provider.current()
    assert store.fetched == [str(city_filter)]
    assert (
        decode_example(reloaded, "baseline", BASELINE, "203.0.113.9").attributes["geo_city"]
        == "Milton"
    )
    new_copies = set(cache.iterdir())
    assert len(new_copies) == len(old_copies)
    (stale,) = old_copies - new_copies
    assert stale.name.endswith("filter.txt")
    assert provider.reloads == 1


class BlockingStore(LocalFiles):
    """Generation checks wait on ``release`` once ``armed``; counts them."""

    def __init__(self) -> None:
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self.checks = 0

    def generation(self, location: str) -> str:
        if self.armed:
            self.checks += 1
            self.entered.set()
            assert self.release.wait(10)
        return super().generation(location)

    def fetch(self, location: str, destination_dir: Path) -> tuple[Path, str]:
        return Path(location), LocalFiles().generation(location)


def test_concurrent_requests_keep_the_current_context_while_one_rechecks(schemas_dir, tmp_path):
    store, clock = BlockingStore(), FakeClock()
    provider = ContextProvider(
        **provider_arguments(SCHEMAS_LOCATION=str(schemas_dir)),
        stores=store,
        cache_dir=tmp_path,
        clock=clock,
    )
    loaded = provider.current()
    add_doctype(schemas_dir)
    store.armed = True
    clock.now += RECHECK
    with ThreadPoolExecutor(max_workers=5) as pool:
        rechecking = pool.submit(provider.current)
        assert store.entered.wait(10)
        others = [pool.submit(provider.current) for _ in range(8)]
        # They return at once, with the old context, while the re-check is still blocked.
        assert all(other.result(timeout=5) is loaded for other in others)
        assert not rechecking.done()
        store.release.set()
        assert rechecking.result(timeout=10) is not loaded
    assert store.checks == 1  # one resource, checked once: no second concurrent re-check
    assert (provider.checks, provider.reloads) == (1, 1)
    assert provider.current() is rechecking.result()
