"""The ``sample_id`` attribute: CRC32 of a UUID, modulo 100 (D-40).

The UUID comes from the doctype's pipeline metadata: the attribute named by
``sample_id_source_uuid_attribute`` first, then the payload field at
``sample_id_source_uuid_payload_path``; with neither configured, the ``client_id`` attribute. The
first candidate that normalises as a UUID wins; with none, the message gets no ``sample_id``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from ..context import Context
from ..core.message import Message
from ..core.uuids import normalize_uuid

SAMPLE_ID = "sample_id"
_DEFAULT_SOURCE_ATTRIBUTE = "client_id"
_SOURCE_ATTRIBUTE_KEY = "sample_id_source_uuid_attribute"
_SOURCE_PAYLOAD_PATH_KEY = "sample_id_source_uuid_payload_path"


def calculate_sample_id(uuid_text: str) -> int:
    return zlib.crc32(uuid_text.encode("utf-8")) % 100


def _text_at(document: Any, path: Sequence[str]) -> str | None:
    """The string at ``path``, or None; a non-string can never normalise as a UUID anyway."""
    node = document
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, str) else None


def add_sample_id(message: Message, context: Context) -> Message:
    attributes = message.attributes
    metadata = context.pipeline_metadata(attributes)

    source_attribute = metadata.get(_SOURCE_ATTRIBUTE_KEY)
    source_path = metadata.get(_SOURCE_PAYLOAD_PATH_KEY)
    if source_attribute is None and source_path is None:
        source_attribute = _DEFAULT_SOURCE_ATTRIBUTE

    candidates = (
        attributes.get(source_attribute) if source_attribute is not None else None,
        _text_at(message.document, source_path) if source_path is not None else None,
    )
    for candidate in candidates:
        normalized = normalize_uuid(candidate) if candidate is not None else None
        if normalized is not None:
            return message.evolve(set_attributes={SAMPLE_ID: str(calculate_sample_id(normalized))})
    return message
