"""AddMetadata (D-56..D-59); vectors from the reference's AddMetadataTest.java.

Payloads are compared as parsed JSON where the reference sorts keys (its HashMap order is not
defined, porting pitfall 7); the metadata-first order of D-57 is asserted separately.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import orjson
import pytest

from conftest import GENERATED_SCHEMAS, shared_path
from ingestion.context import Context
from ingestion.core.errors import InvalidJsonObject
from ingestion.core.message import Message
from ingestion.steps.add_metadata import add_metadata, merge_payload, metadata_from_attributes

CONTEXT = Context(schemas=None, scrubber=None, user_agents=None)  # type: ignore[arg-type]
METADATA_SCHEMAS = GENERATED_SCHEMAS / "metadata"

# AddMetadataTest.testOutput
OUTPUT_ATTRIBUTES = {
    "sample_id": "18",
    "geo_country": "CA",
    "x_debug_id": "mysession",
    "normalized_channel": "release",
}
OUTPUT_METADATA = {
    "geo": {"country": "CA"},
    "isp": {},  # D-56: always present (the Java test predates the isp block)
    "header": {"x_debug_id": "mysession"},
    "user_agent": {},
}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"{}", {"metadata": OUTPUT_METADATA, "normalized_channel": "release", "sample_id": 18}),
        (
            b'{"id":null}',
            {
                "id": None,
                "metadata": OUTPUT_METADATA,
                "normalized_channel": "release",
                "sample_id": 18,
            },
        ),
    ],
)
def test_output(payload: bytes, expected: dict[str, Any]) -> None:
    result = add_metadata(Message(attributes=dict(OUTPUT_ATTRIBUTES), payload=payload), CONTEXT)
    assert json.loads(result.payload) == expected
    assert result.attributes == OUTPUT_ATTRIBUTES  # D-58: attributes are kept as they are


@pytest.mark.parametrize("payload", [b"[]", b"{", b"", b" {}", b"null"])
def test_output_errors(payload: bytes) -> None:
    # AddMetadataTest.testOutput: "[]" and "{" go to the error output (plus D-57's other cases)
    message = Message(attributes=dict(OUTPUT_ATTRIBUTES), payload=payload)
    with pytest.raises(InvalidJsonObject, match=r"^invalid json object: must start with \{$"):
        add_metadata(message, CONTEXT)


def test_metadata_comes_first_in_bytes() -> None:
    # D-57: the metadata object without its "}", a comma, then the payload without its "{".
    metadata = orjson.dumps(metadata_from_attributes({"geo_country": "CA"}))
    assert metadata == (
        b'{"metadata":{"geo":{"country":"CA"},"isp":{},"user_agent":{},"header":{}}}'
    )
    assert merge_payload(b'{"a":1}', metadata) == (
        b'{"metadata":{"geo":{"country":"CA"},"isp":{},"user_agent":{},"header":{}},"a":1}'
    )
    assert merge_payload(b"{}", metadata) == metadata
    # Like the reference, only the length decides the comma: "{ }" gives invalid JSON.
    assert merge_payload(b"{ }", metadata).endswith(b"}}, }")


def test_document_path_puts_metadata_first_and_serialises() -> None:
    document = {"payload": {"x": [1, 2]}, "id": "é"}
    message = Message(
        attributes={"document_namespace": "test", "submission_timestamp": "2021-01-01T00:00:00Z"},
        payload=b"raw bytes kept until now",
        document=document,
    )
    result = add_metadata(message, CONTEXT)
    assert result.document is not None
    assert list(result.document) == ["metadata", "submission_timestamp", "payload", "id"]
    assert result.payload == orjson.dumps(result.document)
    assert json.loads(result.payload)["id"] == "é"
    assert result.document["metadata"]["document_namespace"] == "test"
    assert list(document) == ["payload", "id"]  # the parsed document itself is not extended


def test_document_and_byte_paths_agree() -> None:
    attributes = {
        "document_namespace": "telemetry",
        "document_type": "main",
        "document_version": "4",
        "uri": "/submit/telemetry/x/main/Firefox/85.0/release/20210101",
        "app_name": "Firefox",
        "submission_timestamp": "2021-01-01T00:00:00Z",
        "sample_id": "7",
    }
    raw = b'{"type":"main","payload":{"a":1}}'
    from_bytes = add_metadata(Message(attributes=dict(attributes), payload=raw), CONTEXT)
    from_document = add_metadata(
        Message(attributes=dict(attributes), payload=raw, document=json.loads(raw)), CONTEXT
    )
    assert from_bytes.payload == from_document.payload


# AddMetadataTest.testGeoFromAttributes / testUserAgentFromAttributes / testHeadersFromAttributes
@pytest.mark.parametrize(
    ("attributes", "group", "expected"),
    [
        (
            {"geo_country": "CA", "sample_id": "15", "geo_city": "Whistler"},
            "geo",
            {"country": "CA", "city": "Whistler"},
        ),
        (
            {
                "user_agent_browser": "Firefox",
                "user_agent_version": "63.0",
                "sample_id": "3",
                "user_agent_os": "Macintosh",
            },
            "user_agent",
            {"browser": "Firefox", "version": "63.0", "os": "Macintosh"},
        ),
        (
            {"dnt": "1", "sample_id": "18", "x_debug_id": "mysession"},
            "header",
            {"dnt": "1", "x_debug_id": "mysession"},
        ),
        (
            {"isp_name": "service provider", "isp_db_version": "2018-01-15T22:27:16Z"},
            "isp",
            {"name": "service provider", "db_version": "2018-01-15T22:27:16Z"},
        ),
        (
            {
                "date": "d",
                "x_foxsec_ip_reputation": "r",
                "x_lb_tags": "l",
                "x_pingsender_version": "p",
                "x_source_tags": "s",
                "x_telemetry_agent": "t",
                "x_other": "not a header we keep",
            },
            "header",
            {
                "date": "d",
                "x_foxsec_ip_reputation": "r",
                "x_lb_tags": "l",
                "x_pingsender_version": "p",
                "x_source_tags": "s",
                "x_telemetry_agent": "t",
            },
        ),
    ],
)
def test_groups_from_attributes(
    attributes: dict[str, str], group: str, expected: dict[str, str]
) -> None:
    assert metadata_from_attributes(attributes)["metadata"][group] == expected


# AddMetadataTest.testUriFromAttributes: the uri block exists only for telemetry (D-56)
def test_uri_from_attributes() -> None:
    uri = "/submit/eng-workflow/hgpush/1/2c3a0767-d84a-4d02-8a92-fa54a3376049"
    attributes = {
        "uri": uri,
        "app_name": "Firefox",
        "sample_id": "18",
        "app_update_channel": "release",
    }
    telemetry = metadata_from_attributes({"document_namespace": "telemetry", **attributes})
    assert telemetry["metadata"]["uri"] == {
        "uri": uri,
        "app_name": "Firefox",
        "app_update_channel": "release",
    }
    assert "uri" not in metadata_from_attributes(attributes)["metadata"]


# AddMetadataTest.testAttributesToMetadataPayload
def test_attributes_to_metadata_payload() -> None:
    attributes = {
        "document_namespace": "telemetry",
        "app_name": "Firefox",
        "sample_id": "18",
        "geo_country": "CA",
        "x_debug_id": "mysession",
        "normalized_channel": "release",
        "x_forwarded_for": "??",
    }
    assert metadata_from_attributes(attributes) == {
        "metadata": {
            "document_namespace": "telemetry",
            "uri": {"app_name": "Firefox"},
            "header": {"x_debug_id": "mysession"},
            "geo": {"country": "CA"},
            "isp": {},
            "user_agent": {},
        },
        "normalized_channel": "release",
        "sample_id": 18,
    }


def test_identifying_and_top_level_fields() -> None:
    # D-57's example (decoder-integration output #2), as parsed JSON.
    attributes = {
        "geo_country": "PH",
        "geo_db_version": "2019-01-03T21:26:19Z",
        "isp_db_version": "2018-01-15T22:27:16Z",
        "document_namespace": "test",
        "document_type": "test",
        "document_version": "1",
        "document_id": "2c3a0767-d84a-4d02-8a92-fa54a3376049",
        "normalized_country_code": "PH",
        "uri": "/submit/test/test/1/2c3a0767-d84a-4d02-8a92-fa54a3376049",
    }
    result = add_metadata(Message(attributes=attributes, payload=b"{}"), CONTEXT)
    assert json.loads(result.payload) == {
        "metadata": {
            "geo": {"country": "PH", "db_version": "2019-01-03T21:26:19Z"},
            "isp": {"db_version": "2018-01-15T22:27:16Z"},
            "user_agent": {},
            "header": {},
            "document_namespace": "test",
            "document_type": "test",
            "document_version": "1",
        },
        "document_id": "2c3a0767-d84a-4d02-8a92-fa54a3376049",
        "normalized_country_code": "PH",
    }


def test_attributes_that_are_not_injected() -> None:
    # D-58: these stay attributes only.
    attributes = {
        "client_compression": "gzip",
        "client_id": "2907648d-711b-4e9f-94b5-52a2b40a44b1",
        "os": "Linux",
        "os_version": "5.4",
        "host": "incoming.telemetry.mozilla.org",
        "content_length": "2",
        "user_agent": "raw",
    }
    assert metadata_from_attributes(attributes) == {
        "metadata": {"geo": {}, "isp": {}, "user_agent": {}, "header": {}}
    }


@pytest.mark.parametrize(
    ("sample_id", "expected"),
    [
        ("18", 18),
        ("0", 0),
        ("-1", -1),
        ("+5", 5),
        ("007", 7),
        ("2147483647", 2147483647),
        ("2147483648", None),  # Integer.parseInt overflows
        ("-2147483649", None),
        ("1.0", None),
        (" 1", None),
        ("1_0", None),
        ("", None),
        ("+", None),
        ("abc", None),
    ],
)
def test_sample_id_is_an_integer_when_it_parses(sample_id: str, expected: int | None) -> None:
    payload = metadata_from_attributes({"sample_id": sample_id})
    assert payload.get("sample_id") == expected


# D-59: the injected layout validates against the pipeline's metadata schemas.
def _metadata_validator(name: str) -> Any:
    path = shared_path(METADATA_SCHEMAS / name / f"{name}.1.schema.json")
    return jsonschema_rs.validator_for(json.loads(path.read_text()))


COMMON_ATTRIBUTES = {
    "submission_timestamp": "2021-01-01T12:00:00.123456Z",
    "geo_country": "US",
    "geo_city": "Milton",
    "geo_subdivision1": "WA",
    "geo_dma_code": "819",
    "geo_db_version": "2019-01-03T21:26:19Z",
    "isp_name": "Akamai Technologies",
    "isp_organization": "Akamai Technologies",
    "isp_db_version": "2018-01-15T22:27:16Z",
    "user_agent_browser": "Firefox",
    "user_agent_browser_version": "85.0",
    "user_agent_version": "85",
    "user_agent_os": "Linux",
    "date": "Mon, 12 Mar 2018 21:02:18 GMT",
    "dnt": "1",
    "x_debug_id": "mysession",
    "x_pingsender_version": "1.0",
    "client_id": "2907648d-711b-4e9f-94b5-52a2b40a44b1",
    "sample_id": "67",
    "normalized_os": "Linux",
    "normalized_os_version": "5.4",
    "normalized_country_code": "US",
    "document_id": "2c3a0767-d84a-4d02-8a92-fa54a3376049",
}


@pytest.mark.parametrize(
    ("schema", "attributes", "has_uri"),
    [
        (
            "telemetry-ingestion",
            {
                **COMMON_ATTRIBUTES,
                "document_namespace": "telemetry",
                "document_type": "main",
                "document_version": "4",
                "uri": "/submit/telemetry/2c3a0767-d84a-4d02-8a92-fa54a3376049/main/Firefox/85.0/"
                "release/20210101000000",
                "app_name": "Firefox",
                "app_version": "85.0",
                "app_update_channel": "release",
                "app_build_id": "20210101000000",
                "normalized_app_name": "Firefox",
                "normalized_channel": "release",
            },
            True,
        ),
        (
            "structured-ingestion",
            {
                **COMMON_ATTRIBUTES,
                "document_namespace": "org-mozilla-fenix",
                "document_type": "metrics",
                "document_version": "1",
                "uri": "/submit/org-mozilla-fenix/metrics/1/2c3a0767-d84a-4d02-8a92-fa54a3376049",
                "app_update_channel": "nightly",
                "normalized_channel": "nightly",
            },
            False,
        ),
    ],
)
def test_injected_metadata_validates(
    schema: str, attributes: dict[str, str], has_uri: bool
) -> None:
    validator = _metadata_validator(schema)
    message = Message(attributes=attributes, payload=b'{"a":1}', document={"a": 1})
    document = add_metadata(message, CONTEXT).document
    assert document is not None
    validator.validate(document)
    assert ("uri" in document["metadata"]) is has_uri
    assert document["sample_id"] == 67
    # A wrong layout is rejected by the same validator, so the check above has teeth.
    assert not validator.is_valid({**document, "sample_id": "67"})
    assert not validator.is_valid({k: v for k, v in document.items() if k != "metadata"})


def test_group_routing_is_cached_per_shape_and_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ingestion.steps import add_metadata as step

    monkeypatch.setattr(step, "_MAX_ROUTINGS", 2)
    monkeypatch.setattr(step, "_routings", {})
    shapes = [
        {"geo_city": "Z", "isp_name": "I", "date": "D"},
        {"date": "D", "geo_city": "Z"},  # the same names in another order
        {"user_agent_os": "L", "x_debug_id": "d", "geo_country": "C", "geo_city": "Z"},
        {"uri": "/u", "app_name": "F", "document_namespace": "telemetry"},
    ]
    for _ in range(2):
        for attributes in shapes:
            metadata = metadata_from_attributes(attributes)["metadata"]
            expected: dict[str, dict[str, str]] = {g: {} for g in ("geo", "isp", "user_agent")}
            expected["header"] = {}
            for key, value in attributes.items():
                for group in ("geo", "isp", "user_agent"):
                    if key.startswith(group + "_"):
                        expected[group][key[len(group) + 1 :]] = value
                if key in ("date", "x_debug_id"):
                    expected["header"][key] = value
            if attributes.get("document_namespace") == "telemetry":
                expected["uri"] = {"uri": "/u", "app_name": "F"}
            assert {k: v for k, v in metadata.items() if isinstance(v, dict)} == expected
            for group, values in expected.items():  # keys follow the attributes' order
                assert list(metadata[group]) == list(values)
            assert len(step._routings) <= 2
