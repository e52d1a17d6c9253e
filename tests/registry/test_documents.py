"""The registry documents: the historical format parses unchanged (camelCase dimension names
read through the alias table, unknown keys kept), and every bad document is refused with an
error naming the document, the source and the field."""

from __future__ import annotations

import copy
import json

import pytest

from ingestion.core.partitions import Dimension
from ingestion.registry.documents import (
    FIELD_ALIASES,
    parse_schema,
    parse_source,
    parse_sources,
    parse_writer,
)
from ingestion.registry.errors import InvalidDocument

from .documents_data import HISTORICAL_SCHEMA, HISTORICAL_SOURCES


def test_the_historical_sources_json_parses_and_keeps_unknown_keys():
    sources = parse_sources(json.dumps(HISTORICAL_SOURCES).encode())
    assert sorted(sources) == ["telemetry", "telemetry-errors"]
    assert sources["telemetry"].prefix == "telemetry-2"
    assert sources["telemetry"].metadata_prefix == "telemetry-meta-2"
    assert sources["telemetry-errors"].doclink is None
    # Written back exactly as read: extra keys kept, absent optional keys not invented.
    assert {name: entry.to_json() for name, entry in sources.items()} == HISTORICAL_SOURCES


def test_the_historical_camel_case_schema_reads_as_the_decoder_attributes():
    schema = parse_schema("telemetry", json.dumps(HISTORICAL_SCHEMA).encode(), "schema.json")
    assert schema.version == 2
    assert schema.dimensions() == (
        Dimension("submission_date"),
        Dimension("document_namespace"),
        Dimension("document_version"),
        Dimension("document_type", ("main", "crash", "core", "saved-session")),
        Dimension("app_name", ("Firefox", "Fennec")),
        Dimension("app_update_channel", ("nightly", "aurora", "beta", "release", "esr")),
        Dimension("app_version", {"min": "40"}),
        Dimension("app_build_id"),
    )
    assert schema.to_json() == HISTORICAL_SCHEMA  # the historical names are written back
    assert set(FIELD_ALIASES) == {
        "submissionDate", "docType", "appName", "appUpdateChannel",
        "appVersion", "appBuildId", "sourceName", "sourceVersion",
    }  # fmt: skip


def test_every_alias_names_an_attribute_the_decoder_writes_or_derives():
    from ingestion.core.templates import DERIVED

    written = {"document_type", "document_namespace", "document_version", "app_name",
               "app_update_channel", "app_version", "app_build_id"}  # fmt: skip
    assert set(FIELD_ALIASES.values()) <= written | set(DERIVED)


def _schema_with(**dimension) -> dict:
    return {"version": 2, "dimensions": [{"field_name": "docType", **dimension}]}


BAD_SCHEMAS = [
    # (document, the field the error must name, words of the reason)
    ([], None, "valid dictionary"),
    ({"dimensions": []}, "version", "required"),
    ({"version": "2", "dimensions": []}, "version", "integer"),
    ({"version": True, "dimensions": []}, "version", "integer"),
    ({"version": 2}, "dimensions", "required"),
    ({"version": 2, "dimensions": {}}, "dimensions", "list"),
    ({"version": 2, "dimensions": ["docType"]}, "dimensions.0", "dictionary"),
    ({"version": 2, "dimensions": [{"allowed_values": "*"}]}, "dimensions.0.field_name", ""),
    (_schema_with(), "dimensions.0.allowed_values", "required"),
    (_schema_with(allowed_values=["main", 3]), "dimensions.0.allowed_values.1", "string"),
    (_schema_with(allowed_values=[]), "dimensions.0", "empty list"),
    (_schema_with(allowed_values={}), "dimensions.0.allowed_values", "'min' or a 'max'"),
    (_schema_with(allowed_values={"min": 20140120}), "allowed_values.min", "string"),
    (_schema_with(allowed_values={"max": None}), "dimensions.0.allowed_values", "'min' or a 'max'"),
    (
        _schema_with(allowed_values={"min": "a", "step": "b"}),
        "allowed_values.step",
        "not permitted",
    ),
    (_schema_with(allowed_values=7), "dimensions.0.allowed_values", ""),
    (
        {"version": 2, "dimensions": [{"header_name": "Type", "allowed_values": "*"}]},
        "dimensions.0",
        "header_name",
    ),
    (
        {"version": 2, "dimensions": [{"field_name": "Fields[docType]", "allowed_values": "*"}]},
        "dimensions.0",
        "not an attribute name",
    ),
    (
        {
            "version": 2,
            "dimensions": [
                {"field_name": "docType", "allowed_values": "*"},
                {"field_name": "document_type", "allowed_values": "*"},
            ],
        },
        None,
        "'document_type' is listed twice",
    ),
]


@pytest.mark.parametrize(("document", "field", "reason"), BAD_SCHEMAS)
def test_bad_schemas_are_refused_naming_the_source_and_the_field(document, field, reason):
    with pytest.raises(InvalidDocument) as refused:
        parse_schema("telemetry", json.dumps(document).encode(), "telemetry-meta-2/schema.json")
    message = str(refused.value)
    assert message.startswith("telemetry-meta-2/schema.json (schema of source 'telemetry'): ")
    if field:
        assert f"field '{field}" in message or f".{field}'" in message, message
    assert reason in message
    assert "\n" not in message


def _entry(**changes) -> dict:
    entry = copy.deepcopy(HISTORICAL_SOURCES["telemetry"])
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not ...}


BAD_ENTRIES = [
    (_entry(bucket=...), "bucket", "required"),
    (_entry(bucket="Upper-Case"), "bucket", "not a valid bucket name"),
    (_entry(bucket="a/b"), "bucket", "not a valid bucket name"),
    (_entry(bucket=3), "bucket", "string"),
    (_entry(prefix="../escape"), "prefix", "'..'"),
    (_entry(prefix="/absolute"), "prefix", "begins or ends with '/'"),
    (_entry(prefix=""), "prefix", ""),
    (_entry(prefix="line\nbreak"), "prefix", "control character"),
    (_entry(metadata_prefix="history/x"), "metadata_prefix", "keeps for itself"),
    (_entry(metadata_prefix="writers"), "metadata_prefix", "keeps for itself"),
    (_entry(metadata_prefix=...), "metadata_prefix", "required"),
    (_entry(description=None), "description", "string"),
    (_entry(doclink=["x"]), "doclink", "string"),
]


@pytest.mark.parametrize(("entry", "field", "reason"), BAD_ENTRIES)
def test_bad_source_entries_are_refused_naming_the_source_and_the_field(entry, field, reason):
    with pytest.raises(InvalidDocument) as refused:
        parse_sources({"telemetry": entry})
    message = str(refused.value)
    assert message.startswith("sources.json: source 'telemetry': ")
    assert f"field '{field}'" in message and reason in message, message


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "must be an object"),
        (json.dumps({"../x": HISTORICAL_SOURCES["telemetry"]}).encode(), "source name '../x'"),
        (json.dumps({"": HISTORICAL_SOURCES["telemetry"]}).encode(), "source name ''"),
        (json.dumps({"telemetry": "gs://bucket"}).encode(), "source 'telemetry'"),
    ],
)
def test_bad_sources_documents_are_refused(document, reason):
    with pytest.raises(InvalidDocument, match=r"^sources\.json: ") as refused:
        parse_sources(document)
    assert reason in str(refused.value)


def test_a_writer_entry_needs_a_time_with_its_zone():
    entry = {"bucket": "b-1", "prefix": "p", "metadata_prefix": "m"}
    parsed = parse_writer("s", {**entry, "effective_from": "2026-01-02T03:04:05+00:00"}, "w.json")
    assert parsed.effective_from.year == 2026 and parsed.to_json()["bucket"] == "b-1"
    with pytest.raises(InvalidDocument, match="writer of source 's': field 'effective_from'"):
        parse_writer("s", {**entry, "effective_from": "2026-01-02T03:04:05"}, "w.json")


def test_a_single_entry_is_checked_like_one_in_sources_json():
    assert parse_source("x", HISTORICAL_SOURCES["telemetry"]).bucket == "pipeline-data-test"
