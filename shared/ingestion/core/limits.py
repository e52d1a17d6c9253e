"""Size limits shared by every output (D-29, D-62, D-65)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

MAX_PAYLOAD_BYTES = 8 * 1024 * 1024  # after decompression (D-29)
MAX_ATTRIBUTE_KEY_BYTES = 256  # Pub/Sub (D-62)
MAX_ATTRIBUTE_VALUE_BYTES = 1024  # Pub/Sub (D-62), also error attributes (D-65)
MAX_ENCODABLE_MESSAGE_BYTES = 6 * 1024 * 1024  # compressed error payload cap (D-67)
# Pub/Sub refuses a message with more (D-62 declares it; the reference does not enforce it).
MAX_ATTRIBUTES = 100
DROPPED_ATTRIBUTES = "attributes_dropped"
ELLIPSIS = "..."


def truncate_utf8(text: str, max_bytes: int) -> str:
    """Cut ``text`` to at most ``max_bytes`` UTF-8 bytes, ending in ``...`` when cut.

    The cut never splits a multi-byte character (porting pitfall 9).
    """
    # Most texts are short ASCII: their length is their size (``isascii`` reads a flag of the
    # string), so they are not encoded. A decoded message has ~64 attributes to check.
    if len(text) <= max_bytes and text.isascii():
        return text
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    head = encoded[: max_bytes - len(ELLIPSIS)].decode("utf-8", "ignore")
    return head + ELLIPSIS


def truncate_attributes(attributes: dict[str, str]) -> dict[str, str]:
    """Keys to 256 and values to 1024 UTF-8 bytes, as Pub/Sub requires (D-62)."""
    return {
        truncate_utf8(key, MAX_ATTRIBUTE_KEY_BYTES): truncate_utf8(value, MAX_ATTRIBUTE_VALUE_BYTES)
        for key, value in attributes.items()
    }


def limit_attribute_count(
    attributes: Mapping[str, str], keep_first: Collection[str]
) -> dict[str, str]:
    """At most ``MAX_ATTRIBUTES`` attributes, the same ones for the same input.

    When there are more, the names in ``keep_first`` are kept, then the others in sorted order,
    and the last place says how many were dropped (``attributes_dropped``).
    """
    if len(attributes) <= MAX_ATTRIBUTES:
        return dict(attributes)
    first = [key for key in attributes if key in keep_first]
    rest = sorted(key for key in attributes if key not in keep_first and key != DROPPED_ATTRIBUTES)
    kept = (first + rest)[: MAX_ATTRIBUTES - 1]
    limited = {key: attributes[key] for key in kept}
    limited[DROPPED_ATTRIBUTES] = str(len(attributes) - len(kept))
    return limited
