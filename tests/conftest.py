"""Shared test helpers: where the reference material beside the checkout lives.

Tests that read ``../shared`` skip with a reason naming the missing path when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ANCHORS = SHARED / "anchors"
GCP_INGESTION = ANCHORS / "gcp-ingestion"
BEAM_RESOURCES = GCP_INGESTION / "ingestion-beam" / "src" / "test" / "resources"
PIPELINE_SCHEMAS = ANCHORS / "mozilla-pipeline-schemas"
GENERATED_SCHEMAS = PIPELINE_SCHEMAS / "generated-schemas" / "schemas"
INJECTED_TEST_SCHEMAS = GCP_INGESTION / "derived" / "download-schemas-injected" / "schemas"
PINGS = SHARED / "pings"
GEOIP = SHARED / "geoip"


def shared_path(path: Path, what: str = "reference data unavailable") -> Path:
    """``path`` if it exists, else skip the test naming it relative to the checkout."""
    if not path.exists():
        try:
            shown = "../" + str(path.relative_to(REPO.parent))
        except ValueError:
            shown = str(path)
        pytest.skip(f"{shown} not found: {what}")
    return path
