"""Registry documents written for the tests: a registry in the historical shape (Mozilla's
metadata bucket: Unified Telemetry and its error stream) and a camelCase ``schema.json``."""

from __future__ import annotations

DATA_BUCKET = "pipeline-data-test"

HISTORICAL_SOURCES = {
    "telemetry": {
        "description": "Unified Telemetry v4 pings",
        "bucket": "pipeline-data-test",
        "prefix": "telemetry-2",
        "metadata_prefix": "telemetry-meta-2",
        "doclink": "https://example.org/docs/telemetry/pings.html",
    },
    "telemetry-errors": {
        "description": "Error stream for Telemetry data",
        "bucket": "pipeline-data-test",
        "prefix": "telemetry-errors-1",
        "metadata_prefix": "telemetry-errors-1",
        # A key the wiki's format does not know yet: kept as it is.
        "retention_days": 30,
    },
}

HISTORICAL_SCHEMA = {
    "version": 2,
    "dimensions": [
        {"field_name": "submissionDate", "allowed_values": "*"},
        {"field_name": "sourceName", "allowed_values": "*"},
        {"field_name": "sourceVersion", "allowed_values": "*"},
        {"field_name": "docType", "allowed_values": ["main", "crash", "core", "saved-session"]},
        {"field_name": "appName", "allowed_values": ["Firefox", "Fennec"]},
        {
            "field_name": "appUpdateChannel",
            "allowed_values": ["nightly", "aurora", "beta", "release", "esr"],
        },
        {"field_name": "appVersion", "allowed_values": {"min": "40"}},
        {"field_name": "appBuildId", "allowed_values": "*"},
    ],
}

ERRORS_SCHEMA = {
    "version": 1,
    "dimensions": [
        {"field_name": "submission_date", "allowed_values": "*"},
        {"field_name": "error_type", "allowed_values": "*"},
    ],
}
