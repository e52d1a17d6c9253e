"""What the decoder publishes to Pub/Sub, prepared once for both sinks (D-62, D-65..D-67, D-69,
D-76): the synchronous ``PubSubSink`` (``pubsub_sink.py``, one ``PublisherClient``) and the
``AsyncPubSubSink`` of the event-loop function (``pubsub_async.py``, cross-request batches). Both
are an ``OutputPreparer`` plus a way to publish, so every rule below exists once.

- Decoded messages go to a topic rendered from a template on ``document_namespace`` and
  ``document_type`` (the project's spec, §0.1; the reference writes one static topic and fans out
  in a separate Republisher job). Their payload is gzipped by default (D-62).
- Error messages go to one error topic with the provenance attributes ``input``, ``input_type``
  and ``job_name`` (D-67, issue #756: one error topic serves many pipelines). Their payload is
  gzipped by default and, when the compressed payload is over 6 MiB, the *uncompressed* payload is
  cut to 6 MiB and compressed again (D-67), so that the message stays under Pub/Sub's 10 MB.
- The optional debug topic gets a copy of every message whose ``x_debug_id`` attribute is present,
  the empty string included (D-76). Unlike the reference, error messages are copied too (its open
  issue #528 asks for it): they keep their ``error_*`` and provenance attributes, so a debug
  consumer tells them apart from decoded messages by ``error_type``. Debug copies are published
  uncompressed by default, as the reference's Republisher does (D-76), so a debugging tool can read
  them as they are; an error copy is still cut to 6 MiB.
- Every outgoing message has its attribute keys cut to 256 and its values to 1024 UTF-8 bytes
  with ``...`` (D-62), and never carries ``remote_addr`` or ``x_forwarded_for`` (D-69): the
  pipeline removes them long before, this is the last line of defence.
- A decoded message whose topic name is invalid, or whose topic does not exist, goes to the error
  topic (``InvalidDecodedTopic``, ``DecodedTopicNotFound``) instead of failing the delivery: its
  name comes from the message, so a retry would fail the same way.

Gzip uses ISA-L (``isal``) when it is installed, the standard library otherwise, as inflation does
(``steps/decompress.py``): at the fast level it compresses a little better for 1.5 to 8 times less
CPU, the more the larger the payload (a 3 KB Glean ping: 11 µs instead of 16; a 383 KB main
ping: 0.26 ms instead of 2.1).
"""

from __future__ import annotations

import collections
import dataclasses
import gzip
import logging
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import TypedDict

from ..core.error_output import to_error_message
from ..core.errors import InvalidTopicName, TopicNotFound, UnroutableMessage
from ..core.limits import MAX_ENCODABLE_MESSAGE_BYTES, limit_attribute_count, truncate_attributes
from ..core.message import CLIENT_IP_ATTRIBUTES, Message
from ..core.templates import MissingPlaceholder
from .pubsub_topics import DEFAULT_DECODED_TOPIC, DecodedTopics, topic_path

log = logging.getLogger(__name__)

DECODED = "decoded"
ERROR = "error"
DEBUG = "debug"

GZIP = "gzip"
NO_COMPRESSION = "none"
COMPRESSIONS = (GZIP, NO_COMPRESSION)

DEFAULT_ERROR_TOPIC = "decoder-errors"
# The error sink reads its input from a Pub/Sub subscription (D-67: ``input_type``).
INPUT_TYPE = "pubsub"
DEBUG_ATTRIBUTE = "x_debug_id"

# The fast level, zlib's 1: about four times less CPU than Java's default level 6 for a ~20 %
# larger payload (a 180 KB desktop main ping: 1.9 ms vs 7.4 ms, 47 KB vs 39 KB). Level 6 alone
# would cost more CPU than decoding the message does. ISA-L has levels of its own (0-3, 3 its
# best; its 0 is not zlib's "stored"): its 1 serves the same intent, a little smaller than
# zlib's 1 for an eighth of its CPU on large pings. Any other level is a zlib level and zlib
# compresses it (Java's 6 gives the reference's sizes): ISA-L has no counterpart for it.
DEFAULT_GZIP_LEVEL = 1

# Pub/Sub takes at most 10 MB in one Publish request; a batch stops at 9 MB of messages, which
# leaves room for what a batch's count leaves out (the request's own framing, the topic name).
MAX_REQUEST_BYTES = 9 * 1000 * 1000

# Kept first when a message has more than 100 attributes: what identifies and explains it.
PRESERVED_ATTRIBUTES = frozenset(
    {
        "document_namespace",
        "document_type",
        "document_version",
        "document_id",
        "submission_timestamp",
        "uri",
        "error_type",
        "error_message",
        "exception_class",
        "stack_trace",
        "input",
        "input_type",
        "job_name",
        DEBUG_ATTRIBUTE,
    }
)

# ``PublisherClient.publish(topic, data, ordering_key, retry, timeout, **attributes)`` takes the
# attributes as keyword arguments, so an attribute with one of these names cannot be published.
# The edge never sets them (D-03); one arriving from elsewhere is dropped and counted. The async
# client could carry them, but both sinks publish the same messages.
UNPUBLISHABLE_ATTRIBUTES = frozenset({"topic", "data", "ordering_key", "retry", "timeout"})
_NEVER_PUBLISHED = frozenset(CLIENT_IP_ATTRIBUTES) | UNPUBLISHABLE_ATTRIBUTES


def _gzip_library() -> ModuleType:
    """``isal.igzip`` or, on a platform without an isal wheel, ``gzip``: the same ``compress``."""
    try:
        from isal import igzip
    except ImportError:
        return gzip
    return igzip


GZIP_LIBRARY = _gzip_library()


def compress(payload: bytes, compression: str, level: int = DEFAULT_GZIP_LEVEL) -> bytes:
    if compression != GZIP:
        return payload
    library = GZIP_LIBRARY if level == DEFAULT_GZIP_LEVEL else gzip
    # mtime=0: the same payload always gives the same bytes.
    compressed: bytes = library.compress(payload, level, mtime=0)
    return compressed


def encode_payload(
    payload: bytes, compression: str, max_bytes: int | None, level: int = DEFAULT_GZIP_LEVEL
) -> tuple[bytes, bool]:
    """The payload to publish and whether it was truncated (D-67).

    When the encoded payload is over ``max_bytes``, the *uncompressed* payload is cut to
    ``max_bytes`` and encoded again; incompressible data may end a few bytes over the limit, well
    under Pub/Sub's 10 MB.
    """
    encoded = compress(payload, compression, level)
    if max_bytes is None or len(encoded) <= max_bytes:
        return encoded, False
    return compress(payload[:max_bytes], compression, level), True


def outgoing_attributes(
    attributes: Mapping[str, str], extra: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Attributes as published, and the names dropped because the client cannot publish them.

    The IP attributes are removed, ``extra`` is added, then the map is cut to Pub/Sub's 100
    attributes (deterministically: ``limit_attribute_count``) and keys and values to its sizes
    (D-62).
    """
    kept = {key: value for key, value in attributes.items() if key not in _NEVER_PUBLISHED}
    if extra:
        kept.update(extra)
    unpublishable = [key for key in attributes if key in UNPUBLISHABLE_ATTRIBUTES]
    return truncate_attributes(limit_attribute_count(kept, PRESERVED_ATTRIBUTES)), unpublishable


def provenance_attributes(input_name: str, job_name: str) -> dict[str, str]:
    """``input``, ``input_type`` and ``job_name`` for error messages (D-67).

    ``input`` is left out when no input name is configured, as the reference does when its
    ``--input`` is not set.
    """
    attributes = {"input": input_name} if input_name else {}
    attributes.update(input_type=INPUT_TYPE, job_name=job_name)
    return attributes


def is_not_found(error: BaseException) -> bool:
    """Whether a publish failed because its topic does not exist."""
    try:
        from google.api_core.exceptions import NotFound
    except ImportError:  # pragma: no cover - the client library always brings it
        return False
    return isinstance(error, NotFound)


def transient_errors() -> tuple[type[Exception], ...]:
    """The errors a publish retries: the service's transient answers, not the caller's mistakes."""
    from google.api_core import exceptions

    return (
        exceptions.Aborted,
        exceptions.Cancelled,
        exceptions.DeadlineExceeded,
        exceptions.InternalServerError,
        exceptions.ResourceExhausted,
        exceptions.ServiceUnavailable,
        exceptions.Unknown,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Outgoing:
    kind: str  # DECODED, ERROR or DEBUG
    topic: str
    data: bytes
    attributes: dict[str, str]
    source: Message | None = None  # the decoded message, should its topic turn out missing


# A publish's outcome: None when it succeeded, its exception otherwise.
Result = tuple[Outgoing, BaseException | None]
Missing = tuple[str, Message]  # (decoded topic, decoded message) of a topic that does not exist


class OutputOptions(TypedDict, total=False):
    """``OutputPreparer``'s options besides ``project``, which a sink passes on as they are."""

    decoded_topic: str
    error_topic: str
    debug_topic: str
    output_compression: str
    error_compression: str
    debug_compression: str
    input_name: str
    job_name: str
    gzip_level: int


class OutputPreparer:
    """The topics, payloads and attributes of what a delivery publishes, and its counters; a sink
    adds the publishing.

    Counters: ``published`` counts successful publishes per topic kind (``decoded``, ``error``,
    ``debug``); ``truncated_payloads`` counts error messages whose payload was cut to 6 MiB
    (D-67; once per message, even when its debug copy is cut too); ``dropped_attributes`` counts
    attributes dropped because the client cannot publish them; ``rerouted`` counts decoded
    messages sent to the error topic instead, by ``error_type``.
    """

    def __init__(
        self,
        project: str,
        *,
        decoded_topic: str = DEFAULT_DECODED_TOPIC,
        error_topic: str = DEFAULT_ERROR_TOPIC,
        debug_topic: str = "",
        output_compression: str = GZIP,
        error_compression: str = GZIP,
        debug_compression: str = NO_COMPRESSION,
        input_name: str = "",
        job_name: str = "decoder",
        gzip_level: int = DEFAULT_GZIP_LEVEL,
    ) -> None:
        for name, value in (
            ("output_compression", output_compression),
            ("error_compression", error_compression),
            ("debug_compression", debug_compression),
        ):
            if value not in COMPRESSIONS:
                raise ValueError(f"{name}={value!r}: expected one of {', '.join(COMPRESSIONS)}")
        self.decoded_topics = DecodedTopics(project, decoded_topic)
        self.error_topic = topic_path(project, error_topic)
        self.debug_topic = topic_path(project, debug_topic) if debug_topic else None
        self.output_compression = output_compression
        self.error_compression = error_compression
        self.debug_compression = debug_compression
        self.error_provenance = provenance_attributes(input_name, job_name)
        self.gzip_level = gzip_level
        self.published: collections.Counter[str] = collections.Counter()
        self.truncated_payloads = 0
        self.dropped_attributes = 0
        self.rerouted: collections.Counter[str] = collections.Counter()

    def counter_values(self) -> dict[str, int]:
        values = {f"published:{kind}": count for kind, count in self.published.items()}
        values.update({f"rerouted:{kind}": count for kind, count in self.rerouted.items()})
        values["truncated_payloads"] = self.truncated_payloads
        values["dropped_attributes"] = self.dropped_attributes
        return values

    # --- what one delivery publishes --------------------------------------------------------
    def prepare_delivery(
        self, decoded: Sequence[Message], errors: Sequence[Message]
    ) -> list[Outgoing]:
        """Everything a ``deliver`` call publishes first: the decoded messages whose topic name
        is valid, the errors, and the error outputs of the other decoded messages."""
        routable, unroutable = self._routable(decoded)
        return self.prepare(routable, [*errors, *unroutable])

    def prepare_rerouted(self, missing: Iterable[Missing]) -> list[Outgoing]:
        """The error outputs of decoded messages whose topic turned out not to exist."""
        errors = [
            self._unroutable(message, TopicNotFound(f"decoded topic {topic} does not exist"))
            for topic, message in missing
        ]
        return self.prepare([], errors)

    def prepare(self, decoded: Sequence[Message], errors: Sequence[Message]) -> list[Outgoing]:
        """Every message for these outputs, in order, debug copies included, without publishing
        any; raises ``InvalidTopicName`` or ``MissingPlaceholder`` for an unroutable decoded
        message (``prepare_delivery`` routes those to the error topic)."""
        outgoing: list[Outgoing] = []
        for message in decoded:
            topic = self.decoded_topics.path_for(message.attributes)
            attributes = self._attributes(message)
            self._add(outgoing, DECODED, topic, message, attributes, self.output_compression, None)
        for message in errors:
            attributes = self._attributes(message, self.error_provenance)
            self._add(
                outgoing,
                ERROR,
                self.error_topic,
                message,
                attributes,
                self.error_compression,
                MAX_ENCODABLE_MESSAGE_BYTES,
            )
        return outgoing

    def settle(self, results: Iterable[Result]) -> tuple[list[Missing], list[BaseException]]:
        """Count what was published; return the decoded messages whose topic does not exist (for
        ``prepare_rerouted``) and every other failure, in order."""
        missing: list[Missing] = []
        failures: list[BaseException] = []
        for item, error in results:
            if error is None:
                self.published[item.kind] += 1
            elif item.source is not None and is_not_found(error):
                missing.append((item.topic, item.source))
            else:
                failures.append(error)
        return missing, failures

    # --- internals ----------------------------------------------------------------------------
    def _attributes(
        self, message: Message, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        attributes, unpublishable = outgoing_attributes(message.attributes, extra)
        if unpublishable:
            self.dropped_attributes += len(unpublishable)
            log.warning("dropped attributes the Pub/Sub client cannot publish: %s", unpublishable)
        return attributes

    def _add(
        self,
        outgoing: list[Outgoing],
        kind: str,
        topic: str,
        message: Message,
        attributes: dict[str, str],
        compression: str,
        max_bytes: int | None,
    ) -> None:
        """Append ``message`` for ``topic`` and, when it carries ``x_debug_id``, its debug copy."""
        level = self.gzip_level
        data, truncated = encode_payload(message.payload, compression, max_bytes, level)
        outgoing.append(
            Outgoing(kind, topic, data, attributes, message if kind == DECODED else None)
        )
        if self.debug_topic is not None and DEBUG_ATTRIBUTE in message.attributes:
            if self.debug_compression != compression:
                data, debug_truncated = encode_payload(
                    message.payload, self.debug_compression, max_bytes, level
                )
                truncated = truncated or debug_truncated
            outgoing.append(Outgoing(DEBUG, self.debug_topic, data, attributes))
        if truncated:
            self.truncated_payloads += 1

    def _unroutable(self, message: Message, reason: UnroutableMessage) -> Message:
        """The error output of a decoded message that its decoded topic cannot take."""
        self.rerouted[reason.error_type or "unroutable"] += 1
        log.error(
            "decoded message sent to the error topic: %s",
            reason,
            extra={"error_type": reason.error_type},
        )
        return to_error_message(message, reason, "PublishDecoded")

    def _routable(self, decoded: Sequence[Message]) -> tuple[list[Message], list[Message]]:
        """The decoded messages whose topic name is valid, and the others' error outputs."""
        routable: list[Message] = []
        unroutable: list[Message] = []
        for message in decoded:
            try:
                self.decoded_topics.path_for(message.attributes)
            except (InvalidTopicName, MissingPlaceholder) as exc:
                reason = (
                    exc
                    if isinstance(exc, InvalidTopicName)
                    else InvalidTopicName(f"the decoded topic template needs the {exc} attribute")
                )
                unroutable.append(self._unroutable(message, reason))
            else:
                routable.append(message)
        return routable, unroutable
