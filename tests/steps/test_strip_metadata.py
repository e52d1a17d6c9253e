"""strip_metadata (D-31, D-75): vectors from ParsePayloadTest and NestedMetadataTest."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import BEAM_RESOURCES, shared_path
from ingestion.context import Context
from ingestion.core.message import Message, is_client_ip_name
from ingestion.steps.strip_metadata import strip_metadata
from support import expected_lines

DECODER_INTEGRATION = BEAM_RESOURCES / "testdata" / "decoder-integration"

CONTEXT = Context(schemas=None, scrubber=None, user_agents=None)  # type: ignore[arg-type]


def strip(document: dict[str, Any], attributes: dict[str, str] | None = None) -> Message:
    message = Message(attributes=dict(attributes or {}), payload=b"", document=document)
    return strip_metadata(message, CONTEXT)


STRIP_CASES = [
    # ParsePayloadTest.testMetadataInPayload: 5 attributes, payload {"id":null}
    (
        '{"id":null,"document_id":"2c3a0767-d84a-4d02-8a92-fa54a3376049","metadata":'
        '{"document_namespace":"test","document_type":"test","document_version":"1",'
        '"geo":{"country":"FI"}}}',
        {
            "document_id": "2c3a0767-d84a-4d02-8a92-fa54a3376049",
            "document_namespace": "test",
            "document_type": "test",
            "document_version": "1",
            "geo_country": "FI",
        },
        {"id": None},
    ),
    # NestedMetadataTest.testStripPayloadMetadataToAttributes
    (
        '{"metadata":{"uri":{"app_name":"Firefox"},"header":{"x_debug_id":"mysession"},'
        '"geo":{"country":"CA"},"user_agent":{}},"field1":99,"normalized_channel":"release",'
        '"sample_id":18}',
        {
            "app_name": "Firefox",
            "sample_id": "18",
            "geo_country": "CA",
            "x_debug_id": "mysession",
            "normalized_channel": "release",
        },
        {"field1": 99},
    ),
    # NestedMetadataTest.testPutGeoAttributes: JSON nulls are skipped
    (
        '{"metadata":{"geo":{"country":"CA","city":"Whistler","subdivision1":null}}}',
        {"geo_country": "CA", "geo_city": "Whistler"},
        {},
    ),
    # NestedMetadataTest.testPutUserAgentAttributes
    (
        '{"metadata":{"user_agent":{"browser":"Firefox","version":"63.0","os":"Macintosh"}}}',
        {
            "user_agent_browser": "Firefox",
            "user_agent_version": "63.0",
            "user_agent_os": "Macintosh",
        },
        {},
    ),
    # NestedMetadataTest.testPutHeaderAttributes / testPutUriAttributes: names kept as they are
    (
        '{"metadata":{"header":{"dnt":"1","x_source_tags":"automation, perf"},'
        '"uri":{"app_update_channel":"release"},"isp":{"name":"Akamai"}}}',
        {
            "dnt": "1",
            "x_source_tags": "automation, perf",
            "app_update_channel": "release",
            "isp_name": "Akamai",
        },
        {},
    ),
    # ParsePayloadTest.testSampleDocumentId: document_id leaves the payload, case untouched
    (
        '{"document_id":"0E085F25-DD1C-412A-86C7-177D1B5AA5EB"}',
        {"document_id": "0E085F25-DD1C-412A-86C7-177D1B5AA5EB"},
        {},
    ),
    # Non-textual top-level fields and identifying fields are removed without an attribute.
    (
        '{"document_id":5,"submission_timestamp":{},"normalized_os":null,"keep":1,'
        '"metadata":{"document_version":1,"document_type":"t","geo":"not an object"}}',
        {"document_type": "t"},
        {"keep": 1},
    ),
    # A metadata value that is not an object is removed and yields nothing.
    ('{"metadata":"x","a":[1]}', {}, {"a": [1]}),
    # sample_id: any JSON type becomes an attribute via asText; null gives "null".
    ('{"sample_id":null}', {"sample_id": "null"}, {}),
    ('{"sample_id":"abc"}', {"sample_id": "abc"}, {}),
    ('{"sample_id":1.5}', {"sample_id": "1.5"}, {}),
    ('{"sample_id":{"a":1}}', {"sample_id": ""}, {}),
    # Nothing injected: nothing changes.
    (
        '{"client_id":"x","payload":{"sample_id":3}}',
        {},
        {"client_id": "x", "payload": {"sample_id": 3}},
    ),
]


@pytest.mark.parametrize(("payload", "expected_attributes", "expected_document"), STRIP_CASES)
def test_strip(
    payload: str, expected_attributes: dict[str, str], expected_document: dict[str, Any]
) -> None:
    result = strip(json.loads(payload))
    assert result.attributes == expected_attributes
    assert result.document == expected_document


def test_injected_values_overwrite_existing_attributes() -> None:
    # Java uses attributes.put: the payload's copy wins over what the message carried.
    result = strip(
        json.loads('{"metadata":{"geo":{"country":"FI"}},"normalized_channel":"beta"}'),
        {"geo_country": "US", "normalized_channel": "release", "uri": "/submit/x"},
    )
    assert result.attributes == {
        "geo_country": "FI",
        "normalized_channel": "beta",
        "uri": "/submit/x",
    }


def test_input_message_attributes_untouched() -> None:
    original = Message(attributes={"a": "1"}, document={"document_id": "d"})
    result = strip_metadata(original, CONTEXT)
    assert original.attributes == {"a": "1"}
    assert result.attributes == {"a": "1", "document_id": "d"}


def test_metadata_values_rendered_as_text() -> None:
    result = strip(
        json.loads('{"metadata":{"geo":{"dma_code":819,"flag":true,"off":false,"obj":{}}}}')
    )
    assert result.attributes == {
        "geo_dma_code": "819",
        "geo_flag": "true",
        "geo_off": "false",
        "geo_obj": "",
    }


@pytest.mark.parametrize("name", ["output.ndjson", "logentries-output.ndjson"])
def test_decoded_output_strips_back_to_its_attributes(name: str) -> None:
    # DecoderMainTest.testIdempotence (D-75): each decoded output's injected metadata comes back
    # as exactly the attribute values the output message carried.
    for line in expected_lines(shared_path(DECODER_INTEGRATION / name)):
        attributes = line["attributeMap"]
        document = json.loads(base64.b64decode(line["payload"]))
        result = strip(document)
        assert "metadata" not in result.document
        assert result.attributes, "the decoder always injects metadata"
        for key, value in result.attributes.items():
            assert attributes[key] == value, key
        for key in ("document_namespace", "document_type", "document_version", "document_id"):
            assert result.attributes[key] == attributes[key]


# --- a replayed payload can never bring a client IP back (D-69) --------------------------------
@given(
    ip=st.ip_addresses().map(str),
    block=st.sampled_from(["header", "uri", "geo", "isp", "user_agent"]),
    name=st.sampled_from(["x_forwarded_for", "remote_addr", "X-Forwarded-For", "REMOTE_ADDR"]),
)
def test_replayed_metadata_never_restores_a_client_ip_attribute(ip, block, name):
    document = {"metadata": {block: {name: ip, "dnt": "1"}, "header": {"date": "d"}}}
    stripped = strip(document)
    if block in ("header", "uri"):  # restored under their own names: the IP must not come back
        assert ip not in stripped.attributes.values()
    assert not any(is_client_ip_name(key) for key in stripped.attributes)
    assert stripped.attributes["date"] == "d"  # everything else still comes back
