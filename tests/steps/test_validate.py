"""validate_payload (D-33..D-37, §10): ParsePayloadTest vectors and the reference's messages."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import GENERATED_SCHEMAS, INJECTED_TEST_SCHEMAS, shared_path
from ingestion.context import Context
from ingestion.core.errors import DeprecatedMessage, SchemaNotFound, SchemaViolation
from ingestion.core.message import Message
from ingestion.resources.schemas import SchemaStore
from ingestion.resources.validators import ENGINES
from ingestion.steps.validate import (
    MISSING_TELEMETRY_VERSION,
    telemetry_version,
    validate_payload,
)

META = {"bq_dataset_family": "t", "bq_table": "t_v1", "bq_metadata_format": "structured"}
DRAFT_04 = "http://json-schema.org/draft-04/schema#"


def object_schema(required: tuple[str, ...] = (), **metadata: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"$schema": DRAFT_04, "type": "object"}
    if required:
        schema["required"] = list(required)
    schema["mozPipelineMetadata"] = {**META, **metadata}
    return schema


# Small stand-ins for the corpus, so these tests run without ../shared.
SCHEMAS = {
    ("test", "test", "1"): object_schema(),
    ("telemetry", "main", "4"): object_schema(("clientId",)),
    ("telemetry", "first_shutdown", "4"): object_schema(),
    ("eng-workflow", "hgpush", "1"): object_schema(("changesetID",)),
    ("metadata", "raw", "1"): {"$schema": DRAFT_04, "type": "object", "required": ["uri"]},
    ("test", "expiration-policy", "1"): object_schema(
        expiration_policy={"collect_through_date": "2022-03-01"}
    ),
}


def context_for(store: SchemaStore) -> Context:
    return Context(schemas=store, scrubber=None, user_agents=None)  # type: ignore[arg-type]


@pytest.fixture(params=ENGINES)
def context(request: pytest.FixtureRequest) -> Context:
    return context_for(SchemaStore.from_schemas(SCHEMAS, engine=request.param))


def message(document: dict[str, Any], **attributes: str) -> Message:
    return Message(attributes=dict(attributes), payload=b"{}", document=document)


def routed(
    namespace: str, doctype: str, version: str | None = None, **extra: str
) -> dict[str, str]:
    attributes = {"document_namespace": namespace, "document_type": doctype, **extra}
    if version is not None:
        attributes["document_version"] = version
    return attributes


# --- D-33 ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (routed("nope", "nope", "1"), "No such docType: nope/nope"),
        # ParsePayloadTest.testErrors: incomplete attributes
        ({"app_name": "Firefox", "document_type": "main"}, "No such docType: null/main"),
        ({}, "No such docType: null/null"),
        # A namespace is not a docType.
        (routed("telemetry", "test", "1"), "No such docType: telemetry/test"),
    ],
)
def test_doctype_must_exist(context: Context, attributes: dict[str, str], expected: str) -> None:
    with pytest.raises(SchemaNotFound) as raised:
        validate_payload(message({}, **attributes), context)
    assert str(raised.value) == expected


# --- D-34 ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"version": 4}, "4"),  # ParsePayloadTest.testVersionInPayload
        ({"version": "4"}, "4"),
        ({"version": 4.0}, "4.0"),
        ({"version": None}, "null"),  # a JSON null is a value node
        ({"version": True}, "true"),
        ({"version": False, "v": 4}, "false"),
        ({"v": 10}, "10"),
        ({"version": {"major": 4}, "v": 4}, "4"),  # objects and arrays are not value nodes
        ({"version": [4], "v": "x"}, "x"),
        ({"version": 1e20}, "1.0E20"),
        ({"version": 12345678901234567890}, "12345678901234567890"),
    ],
)
def test_telemetry_version_from_payload(document: dict[str, Any], expected: str) -> None:
    assert telemetry_version(document) == expected


@pytest.mark.parametrize("document", [{}, {"version": {}}, {"version": [], "v": {}}, {"V": 4}])
def test_telemetry_without_version(context: Context, document: dict[str, Any]) -> None:
    with pytest.raises(SchemaNotFound) as raised:
        validate_payload(message(document, **routed("telemetry", "main")), context)
    assert str(raised.value) == MISSING_TELEMETRY_VERSION
    assert str(raised.value).startswith(
        "Element was assumed to be a telemetry message because it contains no document_version"
        " attribute, but the payload does not include the top-level 'version' or 'v' field"
    )


def test_telemetry_version_sets_document_version(context: Context) -> None:
    entered = message({"version": 4, "clientId": "x"}, **routed("telemetry", "main"))
    result = validate_payload(entered, context)
    assert result.attributes["document_version"] == "4"
    assert "document_version" not in entered.attributes  # the entering message is unchanged
    assert result is not entered and result.document is entered.document


def test_version_in_payload_selects_the_schema(context: Context) -> None:
    # ParsePayloadTest.testVersionInPayload: {"version":4} finds main.4 and fails validation.
    with pytest.raises(SchemaViolation) as raised:
        validate_payload(message({"version": 4}, **routed("telemetry", "main")), context)
    assert str(raised.value) == "#: required key [clientId] not found"


def test_version_attribute_wins_over_payload(context: Context) -> None:
    attributes = routed("telemetry", "main", "9")
    with pytest.raises(SchemaNotFound) as raised:
        validate_payload(message({"version": 4}, **attributes), context)
    assert str(raised.value) == "No schema with name: telemetry/main/main.9.schema.json"


# --- D-35 ----------------------------------------------------------------------------------
def test_schema_not_found(context: Context) -> None:
    with pytest.raises(SchemaNotFound) as raised:
        validate_payload(message({}, **routed("test", "test", "2")), context)
    assert str(raised.value) == "No schema with name: test/test/test.2.schema.json"


@pytest.mark.parametrize("doctype", ["first-shutdown", "first_shutdown", "firstShutdown"])
def test_snake_case_lookup(context: Context, doctype: str) -> None:
    result = validate_payload(message({}, **routed("telemetry", doctype, "4")), context)
    # Every spelling that finds the schema leaves spelled as the schema tree spells it, so a
    # per-docType topic or partition is named once (the reference keeps the raw spelling).
    assert result.attributes["document_type"] == "first_shutdown"


@pytest.mark.parametrize(
    ("document", "error", "text"),
    [
        ({"uri": "/submit"}, SchemaNotFound, "No schema with name: metadata/raw/raw.1.schema.json"),
        ({}, SchemaViolation, "#: required key [uri] not found"),
    ],
)
def test_metadata_schemas_are_not_decode_targets(
    context: Context, document: dict[str, Any], error: type[Exception], text: str
) -> None:
    # §10: validated first, then refused because the schema has no mozPipelineMetadata.
    with pytest.raises(error) as raised:
        validate_payload(message(document, **routed("metadata", "raw", "1")), context)
    assert str(raised.value) == text


# --- D-36 ----------------------------------------------------------------------------------
def test_validation_failure_message(context: Context) -> None:
    # DecoderMainTest error-output.ndjson: /submit/eng-workflow/hgpush/1/<uuid> with {}.
    with pytest.raises(SchemaViolation) as raised:
        validate_payload(message({}, **routed("eng-workflow", "hgpush", "1")), context)
    assert str(raised.value) == "#: required key [changesetID] not found"


@pytest.mark.parametrize("document", [{}, {"id": None}, {"clientId": "2907648d"}])
def test_valid_documents_pass_unchanged(context: Context, document: dict[str, Any]) -> None:
    # ParsePayloadTest.testOutput: test/test/1 accepts these.
    before = dict(document)
    result = validate_payload(message(document, **routed("test", "test", "1")), context)
    assert result.document == before
    assert result.attributes == routed("test", "test", "1")
    assert result.payload == b"{}"


def test_document_is_required(context: Context) -> None:
    unparsed = Message(attributes=routed("test", "test", "1"), payload=b"{}")
    with pytest.raises(ValueError, match="parse_json"):
        validate_payload(unparsed, context)


# --- D-37 ----------------------------------------------------------------------------------
DEPRECATION_CASES = [
    # ParsePayloadTest.testDeprecation (collect_through_date 2022-03-01)
    ("2022-03-12T21:02:18.123456Z", True),
    ("2022-01-01T00:00:00.123Z", False),
    # The UTC date must be *after* the collect-through date.
    ("2022-03-01T23:59:59.999999999Z", False),
    ("2022-03-02T00:00:00Z", True),
    ("2022-03-01t23:59:59z", False),
    ("2022-03-01T23:30:00-01:00", True),  # 2022-03-02T00:30Z
    ("2022-03-02T00:30:00+01:00", False),  # 2022-03-01T23:30Z
    ("2022-03-01T24:00:00Z", True),  # read as the next day's midnight
    ("2022-03-01T23:59:60Z", False),  # a leap second is 23:59:59
    # Unparseable timestamps are never deprecated (Time.parseAsInstantOrNull returns null).
    ("2022-03-12", False),
    ("2022-03-12 21:02:18Z", False),
    ("2022-02-30T00:00:00Z", False),
    ("not a timestamp", False),
]


def run_deprecation(context: Context, timestamp: str | None) -> Message:
    extra = {} if timestamp is None else {"submission_timestamp": timestamp}
    attributes = routed("test", "expiration-policy", "1", **extra)
    return validate_payload(message({}, **attributes), context)


@pytest.mark.parametrize(("timestamp", "deprecated"), DEPRECATION_CASES)
def test_deprecation(context: Context, timestamp: str, deprecated: bool) -> None:
    if deprecated:
        with pytest.raises(DeprecatedMessage) as raised:
            run_deprecation(context, timestamp)
        assert str(raised.value) == ""  # the reference's exception has no message
    else:
        assert run_deprecation(context, timestamp).attributes["submission_timestamp"] == timestamp


def test_no_submission_timestamp_is_not_deprecated(context: Context) -> None:
    assert "submission_timestamp" not in run_deprecation(context, None).attributes


@pytest.mark.parametrize("collect_through", ["2022-3-1", "20220301", "2022-02-30", 20220301])
def test_unparseable_collect_through_date_is_ignored(collect_through: Any) -> None:
    schema = object_schema(expiration_policy={"collect_through_date": collect_through})
    store = SchemaStore.from_schemas({("test", "expiration-policy", "1"): schema})
    result = run_deprecation(context_for(store), "2030-01-01T00:00:00Z")
    assert result.attributes["document_version"] == "1"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("timestamp", "deprecated"), DEPRECATION_CASES[:2])
def test_deprecation_with_the_gcp_ingestion_test_schema(
    engine: str, timestamp: str, deprecated: bool
) -> None:
    injected = shared_path(INJECTED_TEST_SCHEMAS, "test schemas unavailable")
    context = context_for(SchemaStore.from_path(injected, engine=engine))
    if deprecated:
        with pytest.raises(DeprecatedMessage):
            run_deprecation(context, timestamp)
    else:
        assert run_deprecation(context, timestamp).attributes["document_version"] == "1"


@pytest.mark.parametrize("engine", ENGINES)
def test_with_the_real_corpus(engine: str) -> None:
    paths = [
        shared_path(GENERATED_SCHEMAS, "corpus unavailable"),
        shared_path(INJECTED_TEST_SCHEMAS, "test schemas unavailable"),
    ]
    context = context_for(SchemaStore.from_paths(paths, engine=engine))
    # DecoderMainTest error case, testVersionInPayload, and the one deprecated real doctype.
    with pytest.raises(SchemaViolation, match=r"^#: required key \[changesetID\] not found$"):
        validate_payload(message({}, **routed("eng-workflow", "hgpush", "1")), context)
    with pytest.raises(SchemaViolation):
        validate_payload(message({"version": 4}, **routed("telemetry", "main")), context)
    with pytest.raises(SchemaNotFound, match=r"^No such docType: telemetry/nonexistent$"):
        validate_payload(message({}, **routed("telemetry", "nonexistent", "4")), context)
    result = validate_payload(message({}, **routed("test", "test", "1")), context)
    assert result.attributes["document_version"] == "1"
