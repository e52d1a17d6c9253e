"""split_ping (D-41, §10): ParsePayloadTest.testPingSplitting with the test_split schemas."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from conftest import CORE_RESOURCES, GENERATED_SCHEMAS, shared_path
from ingestion.context import Context
from ingestion.core.errors import SchemaNotFound
from ingestion.core.message import Message
from ingestion.steps.split import split_ping

TEST_SPLIT = CORE_RESOURCES / "schema" / "test-schemas" / "schemas" / "test_split"

Key = tuple[str, str, str]


class FakeSchemas:
    """The two SchemaStore lookups split_ping uses, over a dict of parsed schemas."""

    def __init__(self, schemas: Mapping[Key, dict[str, Any]]) -> None:
        self._schemas = schemas

    def schema(self, namespace: str, doctype: str, version: str) -> dict[str, Any] | None:
        return self._schemas.get((namespace, doctype, version))

    def pipeline_metadata(self, namespace: str, doctype: str, version: str) -> Mapping[str, Any]:
        schema = self._schemas.get((namespace, doctype, version)) or {}
        metadata: Mapping[str, Any] = schema.get("mozPipelineMetadata", {})
        return metadata


def context_with(schemas: Mapping[Key, dict[str, Any]]) -> Context:
    return Context(schemas=FakeSchemas(schemas), scrubber=None, user_agents=None)  # type: ignore[arg-type]


def load_test_split_schemas() -> dict[Key, dict[str, Any]]:
    schemas: dict[Key, dict[str, Any]] = {}
    for path in shared_path(TEST_SPLIT).glob("*/*.1.schema.json"):
        schemas[("test_split", path.parent.name, "1")] = json.loads(path.read_text())
    return schemas


def routing(doctype: str, namespace: str = "test_split", version: str = "1") -> dict[str, str]:
    return {"document_namespace": namespace, "document_type": doctype, "document_version": version}


def run(
    doctype: str, document: dict[str, Any], extra: dict[str, str] | None = None
) -> list[Message]:
    context = context_with(load_test_split_schemas())
    message = Message(attributes={**routing(doctype), **(extra or {})}, document=document)
    result = split_ping(message, context)
    return [result] if isinstance(result, Message) else result


def as_pairs(messages: list[Message]) -> list[tuple[dict[str, str], dict[str, Any] | None]]:
    return [(m.attributes, m.document) for m in messages]


def test_preserve_original_with_subset_and_remainder() -> None:
    # ParsePayloadTest.testPingSplitting, first input
    document = {"payload": {"int": 1, "string": "str1"}, "test_int": 2, "test_string": "str2"}
    outputs = run("preserve", document)
    assert as_pairs(outputs) == [
        (
            routing("preserve"),
            {"payload": {"int": 1, "string": "str1"}, "test_int": 2, "test_string": "str2"},
        ),
        (routing("subset"), {"payload": {"int": 1}, "test_int": 2}),
        (routing("remainder"), {"payload": {"string": "str1"}, "test_string": "str2"}),
    ]
    # Each output owns its document: nothing is shared with the preserved original.
    ids = {id(outputs[0].document), id(outputs[1].document), id(outputs[2].document)}
    assert len(ids) == 3
    assert outputs[0].document is document


def test_destroy_original_keeps_subset_only() -> None:
    # ParsePayloadTest.testPingSplitting, second input: no remainder configured
    document = {"payload": {"int": 3, "string": "str3"}, "test_int": 4, "test_string": "str4"}
    outputs = run("destroy", document)
    assert as_pairs(outputs) == [(routing("subset"), {"payload": {"int": 3}, "test_int": 4})]


def test_attributes_copied_with_routing_replaced() -> None:
    extra = {"client_id": "c", "sample_id": "7", "uri": "/submit/test_split/preserve/1/x"}
    outputs = run("preserve", {"test_int": 1}, extra)
    assert [m.attributes for m in outputs] == [
        {**routing("preserve"), **extra},
        {**routing("subset"), **extra},
        {**routing("remainder"), **extra},
    ]


def test_client_identifiers_copied_not_moved() -> None:
    # D-41: top-level client_id, clientId and client_info go to every part when the subset schema
    # defines them as non-object properties.
    schemas = dict(load_test_split_schemas())
    subset = json.loads(json.dumps(schemas[("test_split", "subset", "1")]))
    subset["properties"].update(
        client_id={"type": "string"}, clientId={"type": "string"}, client_info={"type": "object"}
    )
    schemas[("test_split", "subset", "1")] = subset
    context = context_with(schemas)
    document = {
        "client_id": "a",
        "clientId": "b",
        "client_info": {"client_id": "a", "os": "Linux"},
        "test_int": 1,
        "test_string": "s",
    }
    message = Message(attributes=routing("preserve"), document=document)
    outputs = split_ping(message, context)
    assert isinstance(outputs, list)
    identifiers = {
        "client_id": "a",
        "clientId": "b",
        "client_info": {"client_id": "a", "os": "Linux"},
    }
    assert outputs[1].document == {**identifiers, "test_int": 1}
    assert outputs[2].document == {**identifiers, "test_string": "s"}
    assert outputs[1].document is not None and outputs[2].document is not None
    assert outputs[1].document["client_info"] is not outputs[2].document["client_info"]


def test_client_info_object_schema_moves_listed_fields() -> None:
    # §10: when the subset schema describes client_info as an object, its listed sub-properties
    # are moved like any other nested property.
    schemas = dict(load_test_split_schemas())
    subset = json.loads(json.dumps(schemas[("test_split", "subset", "1")]))
    subset["properties"]["client_info"] = {
        "type": "object",
        "properties": {"client_id": {"type": "string"}},
    }
    schemas[("test_split", "subset", "1")] = subset
    message = Message(
        attributes=routing("preserve"),
        document={"client_info": {"client_id": "a", "os": "Linux"}, "test_int": 1},
    )
    outputs = split_ping(message, context_with(schemas))
    assert isinstance(outputs, list)
    assert outputs[1].document == {"client_info": {"client_id": "a"}, "test_int": 1}
    assert outputs[2].document == {"client_info": {"os": "Linux"}}


def test_leaf_property_moved_whatever_its_value() -> None:
    # A property the subset schema defines as an object is moved whole when the payload holds
    # something else there; an object under a leaf schema is moved whole too.
    outputs = run("preserve", {"payload": [1, 2], "test_int": {"nested": True}, "other": 0})
    assert as_pairs(outputs)[1:] == [
        (routing("subset"), {"payload": [1, 2], "test_int": {"nested": True}}),
        (routing("remainder"), {"other": 0}),
    ]


def test_no_split_config_passes_through() -> None:
    context = context_with({("test_split", "subset", "1"): {"properties": {}}})
    document = {"a": 1}
    message = Message(attributes=routing("subset"), document=document)
    result = split_ping(message, context)
    assert isinstance(result, Message)
    assert result.attributes == routing("subset")
    assert result.document is document


def test_missing_subset_schema_is_a_rejection() -> None:
    schemas = dict(load_test_split_schemas())
    del schemas[("test_split", "subset", "1")]
    message = Message(attributes=routing("destroy"), document={"test_int": 1})
    with pytest.raises(SchemaNotFound, match=r"test_split/subset/subset\.1\.schema\.json"):
        split_ping(message, context_with(schemas))


def test_real_main_ping_split() -> None:
    # D-41 real use: telemetry/main.4 -> main-use-counter.4 subset + main.5 remainder, no original.
    loaded: dict[Key, dict[str, Any]] = {}
    for doctype, version in (("main", "4"), ("main-use-counter", "4"), ("main", "5")):
        name = f"{doctype}.{version}.schema.json"
        path = shared_path(GENERATED_SCHEMAS / "telemetry" / doctype / name)
        loaded[("telemetry", doctype, version)] = json.loads(path.read_text())
    use_counter = "USE_COUNTER2_DEPRECATED_Components_DOCUMENT"
    document = {
        "clientId": "2907648d-711b-4e9f-94b5-52a2b40a44b1",
        "environment": {"system": {"os": {"name": "Linux"}}},
        "payload": {
            "histograms": {use_counter: {"sum": 1}, "GC_MS": {"sum": 2}},
            "processes": {"content": {"histograms": {use_counter: {"sum": 3}, "X": {}}}},
        },
    }
    message = Message(attributes=routing("main", "telemetry", "4"), document=document)
    outputs = split_ping(message, context_with(loaded))
    assert isinstance(outputs, list)
    assert as_pairs(outputs) == [
        (
            routing("main-use-counter", "telemetry", "4"),
            {
                "clientId": "2907648d-711b-4e9f-94b5-52a2b40a44b1",
                "payload": {
                    "histograms": {use_counter: {"sum": 1}},
                    "processes": {"content": {"histograms": {use_counter: {"sum": 3}}}},
                },
            },
        ),
        (
            routing("main", "telemetry", "5"),
            {
                "clientId": "2907648d-711b-4e9f-94b5-52a2b40a44b1",
                "environment": {"system": {"os": {"name": "Linux"}}},
                "payload": {
                    "histograms": {"GC_MS": {"sum": 2}},
                    "processes": {"content": {"histograms": {"X": {}}}},
                },
            },
        ),
    ]
