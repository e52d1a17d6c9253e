"""The reference decoder's end-to-end data (§6.1, §6.3 of decoder-behaviour.md).

Setup as in DecoderMainTest.testMixedErrorCases: the 2019 City and 2018 ISP test databases, the
generated-schemas corpus overlaid with gcp-ingestion's injected test schemas, no city filter, no
stack traces. Attributes must match exactly; payloads as parsed JSON; ``exception_class`` and
``error_message`` through the reference-class mapping of our rejections.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from conftest import BEAM_RESOURCES, GENERATED_SCHEMAS, INJECTED_TEST_SCHEMAS, shared_path
from ingestion.adapters.dedup import InMemoryDedupStore
from ingestion.context import Context
from ingestion.core.errors import reference_class_for
from ingestion.resources.geoip import GeoCityDatabase, GeoIspDatabase
from ingestion.resources.schemas import SchemaStore
from ingestion.resources.scrubber import ScrubberRules
from ingestion.resources.user_agents import default_parser
from ingestion.resources.validators import ENGINES
from ingestion.service.decoder import DecoderService
from support import ListSink, expected_lines, expected_payload, payload_json, read_messages


@pytest.fixture(scope="module", params=ENGINES)
def context(request) -> Context:
    shared_path(BEAM_RESOURCES, "conformance data unavailable")
    schemas = SchemaStore.from_paths(
        [shared_path(GENERATED_SCHEMAS), shared_path(INJECTED_TEST_SCHEMAS)],
        engine=request.param,
    )
    return Context(
        schemas=schemas,
        scrubber=ScrubberRules.load(),
        user_agents=default_parser(),
        geo_city=GeoCityDatabase(BEAM_RESOURCES / "cityDB" / "GeoIP2-City-Test.mmdb"),
        geo_isp=GeoIspDatabase(BEAM_RESOURCES / "ispDB" / "GeoIP2-ISP-Test.mmdb"),
    )


def _decode(context: Context, *paths: Path) -> ListSink:
    sink = ListSink()
    service = DecoderService(context, sink, InMemoryDedupStore(), include_stack_trace=False)
    for path in paths:
        for message in read_messages(path):
            service.process(message)
    return sink


def _mapped(attributes: dict[str, str]) -> dict[str, str]:
    """Our exception_class / error_message rendered with the reference's Java class names."""
    mapped = dict(attributes)
    ours = attributes.get("exception_class")
    if ours:
        java = reference_class_for(ours)
        assert java is not None, f"no reference class for {ours}"
        mapped["exception_class"] = java
        mapped["error_message"] = java + attributes["error_message"][len(ours) :]
    return mapped


FOLDER = BEAM_RESOURCES / "testdata" / "decoder-integration"


def test_valid_and_error_inputs_give_the_expected_outputs(context):
    sink = _decode(context, FOLDER / "valid-input.ndjson", FOLDER / "error-input.ndjson")
    expected = expected_lines(FOLDER / "output.ndjson")
    expected_errors = expected_lines(FOLDER / "error-output.ndjson")
    assert len(sink.decoded) == len(expected) == 4
    for got, want in zip(sink.decoded, expected, strict=True):
        assert got.attributes == want["attributeMap"]
        assert payload_json(got) == expected_payload(want)
    assert len(sink.errors) == len(expected_errors) == 2
    for got, want in zip(sink.errors, expected_errors, strict=True):
        assert _mapped(got.attributes) == want["attributeMap"]
        assert got.payload == base64.b64decode(want["payload"])


def test_decoded_output_fed_back_gives_it_again(context):
    """Idempotence (D-75, testIdempotence), with a fresh dedup store."""
    expected = expected_lines(FOLDER / "output.ndjson")
    sink = _decode(context, FOLDER / "output.ndjson")
    assert [m.attributes for m in sink.decoded] == [line["attributeMap"] for line in expected]
    assert [payload_json(m) for m in sink.decoded] == [expected_payload(x) for x in expected]
    assert sink.errors == []


def test_message_without_uri_is_one_parse_payload_error(context):
    sink = _decode(context, shared_path(BEAM_RESOURCES / "testdata" / "single-message-input.json"))
    assert sink.decoded == []
    assert len(sink.errors) == 1
    assert sink.errors[0].attributes["error_type"] == "ParsePayload"
    assert sink.errors[0].attributes["exception_class"] == "ingestion.core.errors.InvalidJson"


def test_second_pass_in_the_same_run_is_all_duplicates(context):
    sink = ListSink()
    service = DecoderService(context, sink, InMemoryDedupStore(), include_stack_trace=False)
    messages = read_messages(FOLDER / "valid-input.ndjson")
    for message in messages + messages:
        service.process(message)
    assert len(sink.decoded) == 4
    assert [e.attributes["error_type"] for e in sink.errors] == ["Duplicate"] * 4
    for duplicate, original in zip(sink.errors, sink.decoded, strict=True):
        assert duplicate.payload == b""
        assert duplicate.attributes["uri"] == original.attributes["uri"]
        assert duplicate.attributes.get("geo_country") == original.attributes.get("geo_country")
        assert "x_forwarded_for" not in duplicate.attributes
