"""Rejections: typed reasons why a message goes to the error output.

Each class names what went wrong. ``error_type`` is normally the stage that raised it (as in the
reference decoder, where the same scrubber exception is ``ParseUri`` or ``ParsePayload`` depending
on the caller); a class may pin it. ``reference_class`` is the reference decoder's Java class for
the same failure, so that error rows stay comparable with existing ``payload_bytes_error`` tables.
"""

from __future__ import annotations

from typing import ClassVar


class Rejection(Exception):
    """A deterministic failure: the message goes to the error output and is acknowledged."""

    error_type: ClassVar[str | None] = None
    reference_class: ClassVar[str] = "java.lang.RuntimeException"


# --- ParseUri -------------------------------------------------------------------------------
class InvalidUri(Rejection):
    reference_class = "com.mozilla.telemetry.decoder.ParseUri$InvalidUriException"


class UnexpectedPathElements(Rejection):
    reference_class = "com.mozilla.telemetry.decoder.ParseUri$UnexpectedPathElementsException"


class UnknownPingVersion(Rejection):
    reference_class = "com.mozilla.telemetry.decoder.ParseUri$StubUri$UnknownPingVersionException"


class InvalidInteger(Rejection):
    reference_class = "com.mozilla.telemetry.decoder.ParseUri$StubUri$InvalidIntegerException"


# --- Scrubber (ParseUri or ParsePayload, by caller) -----------------------------------------
class UnwantedData(Rejection):
    """Data we must not keep (a scrubber rule); the message names the bug."""

    reference_class = "com.mozilla.telemetry.decoder.MessageScrubber$UnwantedDataException"


class AffectedByBug(Rejection):
    """Data known to be corrupted by a client bug; kept in the error output for analysis."""

    reference_class = "com.mozilla.telemetry.decoder.MessageScrubber$AffectedByBugException"


# --- LimitPayloadSize -----------------------------------------------------------------------
class PayloadTooLarge(Rejection):
    error_type = "LimitPayloadSize"
    reference_class = "com.mozilla.telemetry.transforms.LimitPayloadSize$PayloadTooLargeException"


# --- ParsePayload ---------------------------------------------------------------------------
class InvalidJson(Rejection):
    """The payload is not a single JSON object (syntax, encoding, nesting, or not an object)."""

    reference_class = "java.io.IOException"


class SchemaNotFound(Rejection):
    reference_class = "com.mozilla.telemetry.ingestion.core.schema.SchemaNotFoundException"


class SchemaViolation(Rejection):
    reference_class = "org.everit.json.schema.ValidationException"


class DeprecatedMessage(Rejection):
    reference_class = "com.mozilla.telemetry.decoder.ParsePayload$DeprecatedMessageException"


# --- AddMetadata ----------------------------------------------------------------------------
class InvalidJsonObject(Rejection):
    reference_class = "java.io.UncheckedIOException"


# --- Routing to a decoded topic ---------------------------------------------------------------
class UnroutableMessage(Rejection):
    """A decoded message that cannot be published to its decoded topic: it goes to the error
    topic instead of being retried forever (a topic name comes from the message)."""

    reference_class = "com.google.api.gax.rpc.NotFoundException"


class InvalidTopicName(UnroutableMessage):
    error_type = "InvalidDecodedTopic"


class TopicNotFound(UnroutableMessage):
    error_type = "DecodedTopicNotFound"


# --- Deduplication --------------------------------------------------------------------------
class DuplicateMessage(Rejection):
    error_type = "Duplicate"
    reference_class = "com.mozilla.telemetry.decoder.Deduplicate$DuplicateIdException"

    def __init__(self) -> None:
        super().__init__("A message with this uri has already been successfully processed.")


# --- Unreadable input -----------------------------------------------------------------------
READ_ERROR_TYPE = "DecodePubsubMessages"  # the reference's name for reading the input


class UnreadableInput(ValueError):
    """Input that is not a message at all (a request or a line); ``body`` is what arrived.

    It still becomes an error output of type ``DecodePubsubMessages``, so no input is lost.
    """

    def __init__(self, reason: str, body: bytes = b"") -> None:
        super().__init__(reason)
        self.body = body


# --- Not the message's fault ----------------------------------------------------------------
class TransientFailure(RuntimeError):
    """A failure that says nothing about the message (an output or a store is unreachable):
    the message must be delivered again later, never rejected. Adapters raise subclasses."""


class MessageShouldBeDropped(Exception):
    """A scrubber rule says drop: no output anywhere, only a counter named after the bug."""

    def __init__(self, bug: str) -> None:
        super().__init__(bug)
        self.bug = bug


def one_line(text: object) -> str:
    """A reason on one line, whatever the library put in its message."""
    return " ".join(str(text).split())


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def reference_class_for(exception_class: str) -> str | None:
    """The reference decoder's Java class for one of our ``exception_class`` values."""
    pending: list[type[Rejection]] = [Rejection]
    while pending:
        cls = pending.pop()
        if qualified_name(cls) == exception_class:
            return cls.reference_class
        pending.extend(cls.__subclasses__())
    return None
