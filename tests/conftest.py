"""Shared test helpers: where the reference material beside the checkout lives.

Tests that read ``../shared`` skip with a reason naming the missing path when it is absent.
The ``city_db`` and ``isp_db`` fixtures open gcp-ingestion's copies of the MaxMind test databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.resources.geoip import CityFilter, GeoCityDatabase, GeoIspDatabase

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ANCHORS = SHARED / "anchors"
GCP_INGESTION = ANCHORS / "gcp-ingestion"
BEAM_RESOURCES = GCP_INGESTION / "ingestion-beam" / "src" / "test" / "resources"
CORE_RESOURCES = GCP_INGESTION / "ingestion-core" / "src" / "test" / "resources"
PIPELINE_SCHEMAS = ANCHORS / "mozilla-pipeline-schemas"
GENERATED_SCHEMAS = PIPELINE_SCHEMAS / "generated-schemas" / "schemas"
INJECTED_TEST_SCHEMAS = GCP_INGESTION / "derived" / "download-schemas-injected" / "schemas"
PINGS = SHARED / "pings"
GEOIP = SHARED / "geoip"


def shared_path(path: Path, what: str = "reference data unavailable") -> Path:
    """``path`` if it exists, else skip the test naming it relative to the checkout."""
    __tracebackhide__ = True  # the skip is reported at the caller's line
    if not path.exists():
        try:
            shown = "../" + str(path.relative_to(REPO.parent))
        except ValueError:
            shown = str(path)
        pytest.skip(f"{shown} not found: {what}")
    return path


# --- gcp-ingestion's copies of the MaxMind test databases and its city filters -----------------
def beam_city_db_path() -> Path:
    __tracebackhide__ = True
    return shared_path(BEAM_RESOURCES / "cityDB" / "GeoIP2-City-Test.mmdb")


def beam_isp_db_path() -> Path:
    __tracebackhide__ = True
    return shared_path(BEAM_RESOURCES / "ispDB" / "GeoIP2-ISP-Test.mmdb")


def beam_city_filter(name: str) -> CityFilter:
    __tracebackhide__ = True
    return CityFilter.load(shared_path(BEAM_RESOURCES / "cityFilters" / name))


@pytest.fixture(scope="module")
def city_db() -> Iterator[GeoCityDatabase]:
    with GeoCityDatabase(beam_city_db_path()) as db:
        yield db


@pytest.fixture(scope="module")
def isp_db() -> Iterator[GeoIspDatabase]:
    with GeoIspDatabase(beam_isp_db_path()) as db:
        yield db
