"""add_sample_id (D-40), with client_id and strip_metadata where the Java tests chain them."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest

from conftest import BEAM_RESOURCES, INJECTED_TEST_SCHEMAS, shared_path
from ingestion.core.message import Message
from ingestion.steps.client_id import normalize_client_id
from ingestion.steps.payload_attributes import attributes_from_payload
from ingestion.steps.sample_id import add_sample_id, calculate_sample_id
from ingestion.steps.strip_metadata import strip_metadata
from support import context_with

DECODER_INTEGRATION = BEAM_RESOURCES / "testdata" / "decoder-integration"

UUID = "2907648d-711b-4e9f-94b5-52a2b40a44b1"
OTHER = "90210716-99f8-0a4f-8119-9bfc16cd68a3"


def routing(namespace: str, doctype: str, version: str = "1") -> dict[str, str]:
    return {"document_namespace": namespace, "document_type": doctype, "document_version": version}


def injected_metadata(namespace: str, doctype: str) -> Mapping[str, Any]:
    path = shared_path(INJECTED_TEST_SCHEMAS / namespace / doctype / f"{doctype}.1.schema.json")
    metadata: Mapping[str, Any] = json.loads(path.read_text())["mozPipelineMetadata"]
    return metadata


# ParsePayloadTest.testSampleId, plus the verified vectors listed under D-40.
@pytest.mark.parametrize(
    ("uuid_text", "expected"),
    [
        (UUID, 67),
        (OTHER, 17),
        ("", 0),
        ("0e085f25-dd1c-412a-86c7-177d1b5aa5eb", 12),
        ("73f5ae86-90f8-46a3-9ccc-bca902a175bf", 8),
    ],
)
def test_calculate_sample_id(uuid_text: str, expected: int) -> None:
    assert calculate_sample_id(uuid_text) == expected


# ParsePayloadTest.testOutput: payloads to test/test/1, whose pipeline metadata names the
# client_id attribute and the impression_id payload path (client_id and sample_id steps chained).
OUTPUT_CASES = [
    ("{}", {}),
    ('{"id":null}', {}),
    (f'{{"clientId":"{UUID}"}}', {"client_id": UUID, "sample_id": "67"}),
    (f'{{"clientId":"{UUID.upper()}"}}', {"client_id": UUID, "sample_id": "67"}),
    (f'{{"impression_id":"{{{UUID}}}"}}', {"sample_id": "67"}),
    ('{"client_id":"n/a"}', {}),
    (f'{{"client_id":"n/a","impression_id":"{{{UUID}}}"}}', {"sample_id": "67"}),
]


@pytest.mark.parametrize(("payload", "expected_added"), OUTPUT_CASES)
def test_parse_payload_output(payload: str, expected_added: dict[str, str]) -> None:
    context = context_with({("test", "test", "1"): injected_metadata("test", "test")})
    message = Message(attributes=routing("test", "test"), document=json.loads(payload))
    result = add_sample_id(normalize_client_id(message, context), context)
    assert result.attributes == {**routing("test", "test"), **expected_added}


def test_sample_document_id() -> None:
    # ParsePayloadTest.testSampleDocumentId: test/sample/1 samples on the document_id attribute,
    # which strip_metadata took from the payload; the uppercase value normalises first.
    context = context_with({("test", "sample", "1"): injected_metadata("test", "sample")})
    document = {"document_id": "0E085F25-DD1C-412A-86C7-177D1B5AA5EB"}
    message = Message(attributes=routing("test", "sample"), document=document)
    result = add_sample_id(strip_metadata(message, context), context)
    assert result.attributes == {
        **routing("test", "sample"),
        "document_id": "0E085F25-DD1C-412A-86C7-177D1B5AA5EB",
        "sample_id": "12",
    }
    assert result.document == {}


SOURCE_CASES = [
    # No configuration: the client_id attribute.
    ({}, {"client_id": UUID}, {"impression_id": OTHER}, "67"),
    ({}, {}, {"client_id": UUID}, None),  # the payload is not consulted by default
    # The attribute candidate comes before the payload path.
    (
        {
            "sample_id_source_uuid_attribute": "client_id",
            "sample_id_source_uuid_payload_path": ["impression_id"],
        },
        {"client_id": OTHER},
        {"impression_id": UUID},
        "17",
    ),
    # An attribute that does not normalise falls through to the payload path (braces stripped).
    (
        {
            "sample_id_source_uuid_attribute": "client_id",
            "sample_id_source_uuid_payload_path": ["impression_id"],
        },
        {"client_id": "n/a"},
        {"impression_id": "{" + UUID.upper() + "}"},
        "67",
    ),
    # Only a payload path configured: the client_id attribute is not the default any more.
    (
        {"sample_id_source_uuid_payload_path": ["a", "b"]},
        {"client_id": OTHER},
        {"a": {"b": UUID}},
        "67",
    ),
    ({"sample_id_source_uuid_payload_path": ["a", "b"]}, {"client_id": OTHER}, {"a": UUID}, None),
    ({"sample_id_source_uuid_payload_path": ["a"]}, {}, {"a": 5}, None),
    ({"sample_id_source_uuid_payload_path": ["a"]}, {}, {}, None),
    # Only an attribute configured: other attributes are ignored.
    ({"sample_id_source_uuid_attribute": "document_id"}, {"client_id": UUID}, {}, None),
    (
        {"sample_id_source_uuid_attribute": "document_id"},
        {"document_id": "73F5AE86-90F8-46A3-9CCC-BCA902A175BF"},
        {},
        "8",
    ),
]


@pytest.mark.parametrize(("metadata", "attributes", "document", "expected"), SOURCE_CASES)
def test_sample_id_sources(
    metadata: dict[str, Any],
    attributes: dict[str, str],
    document: dict[str, Any],
    expected: str | None,
) -> None:
    context = context_with({("ns", "type", "1"): metadata})
    message = Message(attributes={**routing("ns", "type"), **attributes}, document=document)
    result = add_sample_id(message, context)
    assert result.attributes.get("sample_id") == expected
    assert message.attributes.get("sample_id") is None


def test_sample_id_replaces_a_stripped_value() -> None:
    context = context_with({})
    message = Message(
        attributes={**routing("ns", "type"), "client_id": UUID, "sample_id": "3"}, document={}
    )
    assert add_sample_id(message, context).attributes["sample_id"] == "67"


def test_logentry_output_attributes_recovered() -> None:
    # DecoderMainTest.testLogEntryPayload output (accounts-backend/accounts-events has no
    # sample_id configuration): replayed, the payload steps rebuild the same attributes,
    # including client_id from client_info and sample_id=8 (D-31, D-38..D-40, D-75).
    path = shared_path(DECODER_INTEGRATION / "logentries-output.ndjson")
    line = json.loads(path.read_text().splitlines()[0])
    expected = line["attributeMap"]
    document = json.loads(base64.b64decode(line["payload"]))
    context = context_with({})
    message = Message(attributes={}, document=document)
    for step in (strip_metadata, attributes_from_payload, normalize_client_id, add_sample_id):
        message = step(message, context)
    assert message.attributes["sample_id"] == "8"
    assert message.attributes["client_id"] == "73f5ae86-90f8-46a3-9ccc-bca902a175bf"
    for key, value in message.attributes.items():
        assert expected[key] == value, key
