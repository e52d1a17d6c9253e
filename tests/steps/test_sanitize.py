"""SanitizeAttributes (D-53..D-55); vectors from the reference's SanitizeAttributesTest.java.

The doctype metadata comes from the reference's own test schemas (``test/seconds``,
``test/attribute-overrides`` and ``test/test``, injected by its bin/download-schemas), read from
``../shared`` at run time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from conftest import INJECTED_TEST_SCHEMAS, shared_path
from ingestion.context import Context
from ingestion.core.message import Message
from ingestion.steps.sanitize import sanitize_attributes, truncate_timestamp


class _PipelineMetadata:
    """A tiny stand-in for the schema store: ``mozPipelineMetadata`` read from schema files."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def pipeline_metadata(self, namespace: str, doctype: str, version: str) -> Mapping[str, Any]:
        path = self.root / namespace / doctype / f"{doctype}.{version}.schema.json"
        if not path.is_file():
            return {}
        return json.loads(path.read_text()).get("mozPipelineMetadata", {})


class _Fixed:
    def __init__(self, metadata: Mapping[str, Any]) -> None:
        self.metadata = metadata

    def pipeline_metadata(self, namespace: str, doctype: str, version: str) -> Mapping[str, Any]:
        return self.metadata


@pytest.fixture(scope="module")
def reference_context() -> Context:
    return Context(
        schemas=_PipelineMetadata(shared_path(INJECTED_TEST_SCHEMAS)),  # type: ignore[arg-type]
        scrubber=None,  # type: ignore[arg-type]
        user_agents=None,  # type: ignore[arg-type]
    )


def _fixed_context(metadata: Mapping[str, Any]) -> Context:
    return Context(schemas=_Fixed(metadata), scrubber=None, user_agents=None)  # type: ignore[arg-type]


def _message(doctype: str, **extra: str) -> Message:
    attributes = {
        "document_namespace": "test",
        "document_type": doctype,
        "document_version": "1",
        "submission_timestamp": "2021-01-01T12:00:00.123456Z",
        **extra,
    }
    return Message(attributes=attributes, payload=b"{}")


# SanitizeAttributesTest.testNoop
def test_noop(reference_context: Context) -> None:
    message = _message("test", geo_city="Toronto")
    result = sanitize_attributes(message, reference_context)
    assert result.attributes == message.attributes


# SanitizeAttributesTest.testSubmissionTimestampGranularity
def test_submission_timestamp_granularity(reference_context: Context) -> None:
    result = sanitize_attributes(_message("seconds"), reference_context)
    assert result.attributes["submission_timestamp"] == "2021-01-01T12:00:00Z"


# D-54 with the reference's test/attribute-overrides schema
def test_attribute_overrides(reference_context: Context) -> None:
    message = _message("attribute-overrides", geo_city="Toronto", normalized_channel="release")
    result = sanitize_attributes(message, reference_context)
    assert "geo_city" not in result.attributes
    assert result.attributes["normalized_channel"] == "nightly"
    assert result.attributes["new_attr"] == "injected_value"
    # granularity not configured there: the timestamp keeps its precision
    assert result.attributes["submission_timestamp"] == "2021-01-01T12:00:00.123456Z"
    assert message.attributes["geo_city"] == "Toronto"  # the input is not mutated


def test_override_null_of_absent_attribute_is_harmless(reference_context: Context) -> None:
    result = sanitize_attributes(_message("attribute-overrides"), reference_context)
    assert "geo_city" not in result.attributes
    assert result.attributes["new_attr"] == "injected_value"


def test_unknown_doctype_is_unchanged(reference_context: Context) -> None:
    message = _message("no-such-doctype")
    assert sanitize_attributes(message, reference_context).attributes == message.attributes


def test_missing_identifiers_are_unchanged() -> None:
    message = Message(attributes={"submission_timestamp": "2021-01-01T12:00:00.1Z"})
    result = sanitize_attributes(message, _fixed_context({"submission_timestamp_granularity": "x"}))
    assert result.attributes == message.attributes


def test_overrides_apply_after_granularity_and_in_order() -> None:
    metadata = {
        "submission_timestamp_granularity": "SECONDS",
        "override_attributes": [
            {"name": "a", "value": "1"},
            {"name": "a", "value": None},
            {"name": "b", "value": None},
            {"name": "b", "value": "2"},
            {"name": "n", "value": 3},
        ],
    }
    message = _message("any", a="0", b="0")
    result = sanitize_attributes(message, _fixed_context(metadata))
    assert "a" not in result.attributes
    assert result.attributes["b"] == "2"
    assert result.attributes["n"] == "3"
    assert result.attributes["submission_timestamp"] == "2021-01-01T12:00:00Z"


# D-53: Instant.truncatedTo(ChronoUnit.valueOf(upper(granularity))), rendered by ISO_INSTANT, which
# always prints the seconds and prints a non-zero fraction in groups of three digits.
TRUNCATIONS = [
    ("2021-01-01T12:34:56.123456789Z", "nanos", "2021-01-01T12:34:56.123456789Z"),
    ("2021-01-01T12:34:56.123456789Z", "micros", "2021-01-01T12:34:56.123456Z"),
    ("2021-01-01T12:34:56.123456789Z", "millis", "2021-01-01T12:34:56.123Z"),
    ("2021-01-01T12:34:56.123456789Z", "seconds", "2021-01-01T12:34:56Z"),
    ("2021-01-01T12:34:56.123456789Z", "minutes", "2021-01-01T12:34:00Z"),
    ("2021-01-01T12:34:56.123456789Z", "hours", "2021-01-01T12:00:00Z"),
    ("2021-01-01T12:34:56.123456789Z", "half_days", "2021-01-01T12:00:00Z"),
    ("2021-01-01T11:34:56.123456789Z", "half_days", "2021-01-01T00:00:00Z"),
    ("2021-01-01T12:34:56.123456789Z", "days", "2021-01-01T00:00:00Z"),
    ("2021-01-01T12:34:56.123456789Z", "Seconds", "2021-01-01T12:34:56Z"),
    # the fraction is re-rendered in groups of three
    ("2021-01-01T12:00:00.5Z", "nanos", "2021-01-01T12:00:00.500Z"),
    ("2021-01-01T12:00:00.1234Z", "nanos", "2021-01-01T12:00:00.123400Z"),
    ("2021-01-01T12:00:00.000Z", "nanos", "2021-01-01T12:00:00Z"),
    ("2021-01-01T12:00:00.Z", "nanos", "2021-01-01T12:00:00Z"),
    ("2021-01-01T12:00:00.120Z", "millis", "2021-01-01T12:00:00.120Z"),
    ("2021-01-01T12:00:00.123001Z", "millis", "2021-01-01T12:00:00.123Z"),
    # ISO_INSTANT parses case-insensitively and renders upper case
    ("2021-01-01t12:00:00.1z", "seconds", "2021-01-01T12:00:00Z"),
    # before the epoch the truncation still goes down, not towards zero
    ("1969-12-31T23:59:59.5Z", "seconds", "1969-12-31T23:59:59Z"),
    ("1969-12-31T23:59:59.5Z", "days", "1969-12-31T00:00:00Z"),
    # 24:00 is the next midnight and a leap second is read as :59
    ("2021-01-01T24:00:00Z", "seconds", "2021-01-02T00:00:00Z"),
    ("2016-12-31T23:59:60.5Z", "millis", "2016-12-31T23:59:59.500Z"),
    # unparseable timestamps are left as they are
    ("2021-01-01 12:00:00Z", "seconds", "2021-01-01 12:00:00Z"),
    ("2021-01-01T12:00Z", "seconds", "2021-01-01T12:00Z"),
    ("2021-01-01T12:00:00+01:00", "seconds", "2021-01-01T12:00:00+01:00"),
    ("2021-01-01T12:00:00.1234567891Z", "seconds", "2021-01-01T12:00:00.1234567891Z"),
    ("2021-02-30T12:00:00.1Z", "seconds", "2021-02-30T12:00:00.1Z"),
    ("2021-01-01T24:00:00.1Z", "seconds", "2021-01-01T24:00:00.1Z"),
    ("2021-01-01T12:59:60.1Z", "seconds", "2021-01-01T12:59:60.1Z"),
    ("not a timestamp", "seconds", "not a timestamp"),
    ("", "seconds", ""),
]


@pytest.mark.parametrize(("timestamp", "granularity", "expected"), TRUNCATIONS)
def test_truncate_timestamp(timestamp: str, granularity: str, expected: str) -> None:
    assert truncate_timestamp(timestamp, granularity) == expected


@pytest.mark.parametrize("granularity", ["weeks", "months", "fortnights", ""])
def test_invalid_granularity_fails_for_a_parsed_timestamp(granularity: str) -> None:
    with pytest.raises(ValueError, match="submission_timestamp_granularity"):
        truncate_timestamp("2021-01-01T12:00:00Z", granularity)
    # Java only resolves the unit once the timestamp parsed.
    assert truncate_timestamp("garbage", granularity) == "garbage"


def test_granularity_in_step_keeps_other_attributes() -> None:
    message = _message("any", geo_city="Toronto")
    context = _fixed_context({"submission_timestamp_granularity": "minutes"})
    result = sanitize_attributes(message, context)
    assert result.attributes == {
        **message.attributes,
        "submission_timestamp": "2021-01-01T12:00:00Z",
    }
