"""ParseUri: URI attributes, URI rejections and Java UUID rules (D-10..D-15, §10).

Vectors come from the reference's ParseUriTest.java (testOutput) and the decoder-integration
error output; the split and UUID cases are the examples of §10 and D-15.
"""

from __future__ import annotations

import uuid

import pytest

from ingestion.core.errors import InvalidUri, Rejection, UnexpectedPathElements
from ingestion.core.message import Message
from ingestion.core.uuids import java_uuid
from ingestion.steps.parse_uri import add_uri_attributes, reject_bad_uri

TELEMETRY_URI = (
    "/submit/telemetry/ce39b608-f595-4c69-b6a6-f7a436604648"
    "/main/Firefox/61.0a1/nightly/20180328030202"
)
GENERIC_URI = "/submit/eng-workflow/hgpush/1/2c3a0767-d84a-4d02-8a92-fa54a3376049"


def _message(**attributes: str) -> Message:
    return Message(attributes=dict(attributes), payload=b"")


def _add(message: Message) -> Message:
    return add_uri_attributes(message, None)  # type: ignore[arg-type]


def _reject(message: Message) -> Message:
    return reject_bad_uri(message, None)  # type: ignore[arg-type]


def _both(message: Message) -> Message:
    return _reject(_add(message))


# --- add_uri_attributes: ParseUriTest.testOutput valid inputs ---------------------------------
def test_no_uri_passes_unchanged() -> None:
    # ParseUriTest.testOutput: {"attributeMap":{}} comes out as is (D-10).
    message = _message(message_id="42", host="test")
    assert _add(message) is message
    assert _reject(message) is message
    assert message.attributes == {"message_id": "42", "host": "test"}


def test_telemetry_attributes() -> None:
    # ParseUriTest.testOutput, first valid input (expected attribute map, uri included).
    result = _both(_message(uri=TELEMETRY_URI))
    assert result.attributes == {
        "app_build_id": "20180328030202",
        "app_name": "Firefox",
        "app_update_channel": "nightly",
        "app_version": "61.0a1",
        "document_id": "ce39b608-f595-4c69-b6a6-f7a436604648",
        "document_namespace": "telemetry",
        "document_type": "main",
        "uri": TELEMETRY_URI,
    }
    assert "document_version" not in result.attributes  # comes from the payload (D-33)


def test_generic_attributes() -> None:
    # ParseUriTest.testOutput, second valid input.
    result = _both(_message(uri=GENERIC_URI))
    assert result.attributes == {
        "document_id": "2c3a0767-d84a-4d02-8a92-fa54a3376049",
        "document_namespace": "eng-workflow",
        "document_type": "hgpush",
        "document_version": "1",
        "uri": GENERIC_URI,
    }


def test_payload_and_other_attributes_are_kept() -> None:
    message = Message(attributes={"uri": GENERIC_URI, "host": "test"}, payload=b'{"a":1}')
    result = _both(message)
    assert result.payload == b'{"a":1}'
    assert result.attributes["host"] == "test"
    assert "document_id" not in message.attributes  # the input message is not mutated


# --- reject_bad_uri: ParseUriTest.testOutput invalid inputs and the error-output vector -------
@pytest.mark.parametrize(
    ("uri", "error", "text"),
    [
        # ParseUriTest.testOutput: ParseUri$InvalidUriException
        (
            "/nonexistent_prefix/ce39b608-f595-4c69-b6a6-f7a436604648"
            "/main/Firefox/61.0a1/nightly/20180328030202",
            InvalidUri,
            "Unknown URI prefix",
        ),
        # ParseUriTest.testOutput: telemetry without document type
        (
            "/submit/telemetry/ce39b608-f595-4c69-b6a6-f7a436604648"
            "/Firefox/61.0a1/nightly/20180328030202",
            UnexpectedPathElements,
            "Found -1 more path elements in the URI than expected for this endpoint",
        ),
        # ParseUriTest.testOutput: generic without version
        (
            "/submit/eng-workflow/hgpush/2c3a0767-d84a-4d02-8a92-fa54a3376049",
            UnexpectedPathElements,
            "Found -1 more path elements in the URI than expected for this endpoint",
        ),
        # decoder-integration error-output.ndjson: telemetry without docId
        (
            "/submit/telemetry/main/Firefox/61.0a1/nightly/20180328030202",
            UnexpectedPathElements,
            "Found -1 more path elements in the URI than expected for this endpoint",
        ),
        # §10: the rest is "" -> one element
        (
            "/submit/telemetry/",
            UnexpectedPathElements,
            "Found -5 more path elements in the URI than expected for this endpoint",
        ),
        (
            "/submit/",
            UnexpectedPathElements,
            "Found -3 more path elements in the URI than expected for this endpoint",
        ),
        # §10: the rest is only "/" -> zero elements
        (
            "/submit/telemetry//",
            UnexpectedPathElements,
            "Found -6 more path elements in the URI than expected for this endpoint",
        ),
        # trailing empty elements do not count, inner ones do
        (
            GENERIC_URI + "/extra",
            UnexpectedPathElements,
            "Found 1 more path elements in the URI than expected for this endpoint",
        ),
        (
            "/submit/eng-workflow//hgpush/1/2c3a0767-d84a-4d02-8a92-fa54a3376049",
            UnexpectedPathElements,
            "Found 1 more path elements in the URI than expected for this endpoint",
        ),
        (
            "/submit/telemetry",  # no slash after telemetry: a generic URI of one element
            UnexpectedPathElements,
            "Found -3 more path elements in the URI than expected for this endpoint",
        ),
        # D-15 4: document_id must parse as a Java UUID; an empty docId too
        (
            "/submit/telemetry//main/Firefox/61.0a1/nightly/20180328030202",
            InvalidUri,
            "Entry in document_id place is not a valid UUID",
        ),
        (
            "/submit/eng-workflow/hgpush/1/not-a-uuid",
            InvalidUri,
            "Entry in document_id place is not a valid UUID",
        ),
        (
            "/submit/eng-workflow/hgpush/1/2c3a0767d84a4d028a92fa54a3376049",
            InvalidUri,
            "Entry in document_id place is not a valid UUID",
        ),
        (
            "/submit/eng-workflow/hgpush/1/{2c3a0767-d84a-4d02-8a92-fa54a3376049}",
            InvalidUri,
            "Entry in document_id place is not a valid UUID",
        ),
        # other unknown prefixes
        ("", InvalidUri, "Unknown URI prefix"),
        ("/submit", InvalidUri, "Unknown URI prefix"),
        ("submit/telemetry/x", InvalidUri, "Unknown URI prefix"),
        ("/SUBMIT/eng-workflow/hgpush/1/x", InvalidUri, "Unknown URI prefix"),
    ],
)
def test_rejections(uri: str, error: type[Rejection], text: str) -> None:
    message = _add(_message(uri=uri))
    with pytest.raises(error) as raised:
        _reject(message)
    assert type(raised.value) is error
    assert str(raised.value) == text


def test_reference_class_names() -> None:
    assert (
        InvalidUri.reference_class == "com.mozilla.telemetry.decoder.ParseUri$InvalidUriException"
    )
    assert (
        UnexpectedPathElements.reference_class
        == "com.mozilla.telemetry.decoder.ParseUri$UnexpectedPathElementsException"
    )


def test_wrong_count_sets_no_attributes() -> None:
    # decoder-integration error-output.ndjson: the ParseUri error carries no document_* attribute.
    uri = "/submit/telemetry/main/Firefox/61.0a1/nightly/20180328030202"
    result = _add(_message(uri=uri, host="test"))
    assert result.attributes == {"uri": uri, "host": "test"}


def test_invalid_document_id_is_still_set_before_rejection() -> None:
    # The element count is right, so the attributes are there for the error output.
    result = _add(_message(uri="/submit/eng-workflow/hgpush/1/not-a-uuid"))
    assert result.attributes["document_id"] == "not-a-uuid"
    assert result.attributes["document_namespace"] == "eng-workflow"


@pytest.mark.parametrize(
    "document_id",
    [
        "CE39B608-F595-4C69-B6A6-F7A436604648",  # upper case
        "+ce39b608-f595-4c69-b6a6-f7a43660464",  # leading + (§10)
        "1-1-1-1-1",  # short groups
        "123456789-1-1-1-1",  # over-long group, truncated by Java (§10)
    ],
)
def test_lenient_document_ids_pass_unchanged(document_id: str) -> None:
    uri = f"/submit/eng-workflow/hgpush/1/{document_id}"
    result = _both(_message(uri=uri))
    assert result.attributes["document_id"] == document_id  # validated, not normalised here


# --- message_id (D-14) ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "uri",
    [
        TELEMETRY_URI,
        GENERIC_URI,
        "/stub/v6",
        "/submit/telemetry/too/few",  # removed even when the count is wrong
    ],
)
def test_message_id_removed_for_known_prefixes(uri: str) -> None:
    result = _add(_message(uri=uri, message_id="00000000001"))
    assert "message_id" not in result.attributes


@pytest.mark.parametrize("uri", ["/nonexistent_prefix/a/b", "", "/submit"])
def test_message_id_kept_for_unknown_prefixes(uri: str) -> None:
    message = _message(uri=uri, message_id="00000000001")
    result = _add(message)
    assert result.attributes == {"uri": uri, "message_id": "00000000001"}


# --- stub attributes (D-13) -------------------------------------------------------------------
def test_stub_attributes_and_document_id_from_message_id() -> None:
    # ParseUriTest stub docId vector; the attributes of testStubUri's expectedAttributes.
    result = _add(_message(uri="/stub/v6", message_id="00000000001"))
    assert result.attributes == {
        "uri": "/stub/v6",
        "document_namespace": "firefox-installer",
        "document_type": "install",
        "document_version": "1",
        "document_id": "d67f0826-d4c0-3a7e-bea5-861616a822b2",
    }


def test_stub_document_id_is_stable_per_message_id() -> None:
    first = _add(_message(uri="/stub/v7", message_id="abc"))
    second = _add(_message(uri="/stub/anything/else", message_id="abc"))
    assert first.attributes["document_id"] == second.attributes["document_id"]
    assert uuid.UUID(first.attributes["document_id"]).version == 3


def test_stub_document_id_without_message_id_is_random_v4() -> None:
    first = _add(_message(uri="/stub/v6")).attributes["document_id"]
    second = _add(_message(uri="/stub/v6")).attributes["document_id"]
    assert first != second
    assert uuid.UUID(first).version == 4
    assert java_uuid(first) == first


def test_stub_uris_are_not_checked_by_reject_bad_uri() -> None:
    # The stub step reports stub problems (D-16); here they pass through untouched.
    message = _add(_message(uri="/stub/garbage"))
    assert _reject(message) is message


@pytest.mark.parametrize(
    "uri",
    [
        "/submit/telemetry/",
        "/submit//",
        "/stub/",
        "/stub//",
        "/stub/v99/x",
        "/nope",
        "",
        "/submit/" + "/" * 50,
        "/submit/\udcff/a/b/c",
    ],
)
def test_add_uri_attributes_never_raises(uri: str) -> None:
    result = _add(_message(uri=uri, message_id="\ud800"))
    assert result.attributes["uri"] == uri


# --- ingestion.core.uuids.java_uuid (D-15, §10, pitfall 2) ------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ce39b608-f595-4c69-b6a6-f7a436604648", "ce39b608-f595-4c69-b6a6-f7a436604648"),
        ("CE39B608-F595-4C69-B6A6-F7A436604648", "ce39b608-f595-4c69-b6a6-f7a436604648"),
        # a leading "+" per group is accepted (Long.parseLong)
        ("+e39b608-f595-4c69-b6a6-f7a436604648", "0e39b608-f595-4c69-b6a6-f7a436604648"),
        ("1-+2-3-4-5", "00000001-0002-0003-0004-000000000005"),
        # short groups are zero-padded
        ("1-1-1-1-1", "00000001-0001-0001-0001-000000000001"),
        # an over-long group keeps its low bits (§10)
        ("123456789-1-1-1-1", "23456789-0001-0001-0001-000000000001"),
        ("1-12345-1-1-1", "00000001-2345-0001-0001-000000000001"),
        # not Java's form
        ("ce39b608f5954c69b6a6f7a436604648", None),  # 32 hex without dashes
        ("{ce39b608-f595-4c69-b6a6-f7a436604648}", None),  # braces
        ("urn:uuid:ce39b608-f595-4c69-b6a6-f7a436604648", None),
        ("ce39b608-f595-4c69-b6a6-f7a4366046480", None),  # 37 characters
        ("0000000000000001-1-1-1-1" + "0" * 13, None),  # more than 36 characters
        ("", None),
        ("-1-1-1-1", None),  # empty first group
        ("1--1-1-1", None),  # empty inner group
        ("1-1-1-1-", None),  # empty last group
        ("1-1-1-1", None),  # four groups
        ("1-1-1-1-1-1", None),  # six groups
        ("1-1-1-1-+", None),  # sign without digits
        ("g-1-1-1-1", None),  # not hex
        (" 1-1-1-1-1", None),  # whitespace
        ("1-1-1-1-1 ", None),
        ("ffffffffffffffff0-1-1-1-1", None),  # beyond a Java long
    ],
)
def test_java_uuid(text: str, expected: str | None) -> None:
    assert java_uuid(text) == expected
