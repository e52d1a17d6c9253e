"""Move metadata that a previous decoder run injected back into attributes (D-31).

A payload replayed from the decoder's own output (or from an error output written after
AddMetadata) carries a ``metadata`` object and top-level fields that AddMetadata injected
(D-56). Removing them here, before scrubbing and validation, restores the submitted payload and
its attributes, which is what makes the decoder idempotent on its own output (D-75).

A client-IP attribute is never restored, in any spelling: IP removal ran long before (D-69), and a
payload cannot be allowed to bring one back.

Values become attributes rendered as Jackson's ``asText()`` would render them, since that is what
the reference does: strings as they are, booleans ``true``/``false``, integers in decimal, floats
as Java's ``Double.toString``, ``null`` as ``"null"`` and objects or arrays as ``""``.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..core.jackson import as_text
from ..core.message import Message, is_client_ip_name
from ..core.metadata_layout import (
    IDENTIFYING_FIELDS,
    PREFIXED_GROUPS,
    SAMPLE_ID,
    TOP_LEVEL_STRING_FIELDS,
)

# metadata.<block> -> attribute prefix; header and uri entries keep their own names (D-31).
_NESTED_BLOCKS = (*PREFIXED_GROUPS, ("header", ""), ("uri", ""))
_MISSING = object()
# Every top-level field AddMetadata may inject; a payload with none of them has nothing to strip.
_INJECTED_FIELDS = frozenset(("metadata", *TOP_LEVEL_STRING_FIELDS, SAMPLE_ID))


def _collect_block(metadata: dict[str, Any], block: str, prefix: str, into: dict[str, str]) -> None:
    entries = metadata.get(block)
    if not isinstance(entries, dict):
        return
    for key, value in entries.items():
        if value is not None and not is_client_ip_name(prefix + key):
            into[prefix + key] = as_text(value)


def strip_metadata(message: Message, context: Context) -> Message:
    document = message.document
    if document is None or _INJECTED_FIELDS.isdisjoint(document):  # a payload as clients send it
        return message
    found: dict[str, str] = {}

    metadata = document.pop("metadata", None)
    if isinstance(metadata, dict):
        for block, prefix in _NESTED_BLOCKS:
            _collect_block(metadata, block, prefix, found)
        for name in IDENTIFYING_FIELDS:
            value = metadata.get(name)
            if isinstance(value, str):
                found[name] = value

    for name in TOP_LEVEL_STRING_FIELDS:  # taken back only when strings
        value = document.pop(name, None)
        if isinstance(value, str):
            found[name] = value

    sample_id = document.pop(SAMPLE_ID, _MISSING)  # injected as an integer; any type comes back
    if sample_id is not _MISSING:
        found[SAMPLE_ID] = as_text(sample_id)

    return message.evolve(set_attributes=found)
