"""Attributes from the submission URI, and the URI checks (D-10..D-15, §10, pitfalls 1-3).

The reference runs this step twice. ``add_uri_attributes`` runs first and never fails: it sets
the attributes a well-formed URI names, so that even an error output of a later stage carries
them. ``reject_bad_uri`` runs after decompression (and after the scrubber's URI rule) and sends
unknown prefixes, wrong element counts and a ``document_id`` that Java's ``UUID.fromString``
would refuse to the error output. Stub installer URIs are checked where their payload is built
(``stub_installer``).

Path elements are split with Java ``String.split`` semantics, because element counts, and with
them the error messages, depend on how empty elements are counted (pitfall 1).
"""

from __future__ import annotations

import dataclasses
import functools
import uuid

from ..context import Context
from ..core.errors import InvalidUri, UnexpectedPathElements
from ..core.jvm import java_split
from ..core.message import STUB_PREFIX, Message
from ..core.uuids import java_uuid, name_uuid_from_bytes

TELEMETRY_PREFIX = "/submit/telemetry/"
GENERIC_PREFIX = "/submit/"

# The Pub/Sub message id only serves to derive the stub document_id; it never reaches an output.
MESSAGE_ID = "message_id"

STUB_ATTRIBUTES = {
    "document_namespace": "firefox-installer",
    "document_type": "install",
    "document_version": "1",
}


def unexpected_path_elements(actual: int, expected: int) -> UnexpectedPathElements:
    return UnexpectedPathElements(
        f"Found {actual - expected} more path elements in the URI than expected for this endpoint"
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _SubmitEndpoint:
    prefix: str
    fields: tuple[str, ...]  # attribute names of the path elements, in order
    fixed_attributes: dict[str, str]  # attributes the prefix itself implies
    document_id_index: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "document_id_index", self.fields.index("document_id"))


# Telemetry first: its prefix is also a generic /submit/ prefix.
_SUBMIT_ENDPOINTS = (
    _SubmitEndpoint(
        TELEMETRY_PREFIX,
        (
            "document_id",
            "document_type",
            "app_name",
            "app_version",
            "app_update_channel",
            "app_build_id",
        ),
        # document_version of a telemetry ping comes from its payload (D-33).
        {"document_namespace": "telemetry"},
    ),
    _SubmitEndpoint(
        GENERIC_PREFIX,
        ("document_namespace", "document_type", "document_version", "document_id"),
        {},
    ),
)


# Both URI steps parse the same URI of a message, one after the other: the second finds it here.
@functools.lru_cache(maxsize=256)
def _submit_endpoint(uri: str) -> tuple[_SubmitEndpoint, tuple[str, ...]] | None:
    """The /submit/ endpoint ``uri`` addresses and its path elements, or None for other URIs."""
    for endpoint in _SUBMIT_ENDPOINTS:
        if uri.startswith(endpoint.prefix):
            return endpoint, tuple(java_split(uri[len(endpoint.prefix) :], "/"))
    return None


def stub_document_id(message_id: str | None) -> str:
    """A stub ping's document_id: derived from the Pub/Sub message id, so a redelivery keeps it."""
    if message_id is None:
        return str(uuid.uuid4())
    # Java's getBytes(UTF_8) writes "?" for an unpaired surrogate; "replace" does the same.
    return name_uuid_from_bytes(message_id.encode("utf-8", "replace"))


def add_uri_attributes(message: Message, context: Context) -> Message:
    """Set the attributes the URI names (D-11..D-13) and drop ``message_id`` (D-14); never fails."""
    uri = message.attributes.get("uri")
    if uri is None:
        return message  # a replay of decoded output: ParsePayload recovers the attributes (D-10)
    if uri.startswith(STUB_PREFIX):
        attributes = dict(STUB_ATTRIBUTES)
        attributes["document_id"] = stub_document_id(message.attributes.get(MESSAGE_ID))
        return message.evolve(set_attributes=attributes, drop_attributes=(MESSAGE_ID,))
    parsed = _submit_endpoint(uri)
    if parsed is None:
        return message  # unknown prefix: reject_bad_uri sends it to the error output
    endpoint, elements = parsed
    if len(elements) != len(endpoint.fields):
        # Nothing is set, as in the reference's error output for such URIs.
        return message.evolve(drop_attributes=(MESSAGE_ID,))
    # The lengths are equal (checked above).
    attributes = {**endpoint.fixed_attributes, **dict(zip(endpoint.fields, elements, strict=False))}
    return message.evolve(set_attributes=attributes, drop_attributes=(MESSAGE_ID,))


def reject_bad_uri(message: Message, context: Context) -> Message:
    """Reject what ``add_uri_attributes`` let through, in the reference's order (D-15)."""
    uri = message.attributes.get("uri")
    if uri is None or uri.startswith(STUB_PREFIX):
        return message
    parsed = _submit_endpoint(uri)
    if parsed is None:
        raise InvalidUri("Unknown URI prefix")
    endpoint, elements = parsed
    if len(elements) != len(endpoint.fields):
        raise unexpected_path_elements(len(elements), len(endpoint.fields))
    if java_uuid(elements[endpoint.document_id_index]) is None:
        raise InvalidUri("Entry in document_id place is not a valid UUID")
    return message
