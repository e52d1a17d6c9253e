"""Payload size limit after decompression: 8 MiB by default (D-29)."""

from __future__ import annotations

from ..context import Context
from ..core.errors import PayloadTooLarge
from ..core.message import Message


def limit_payload_size(message: Message, context: Context) -> Message:
    size = len(message.payload)
    if size > context.max_payload_bytes:
        raise PayloadTooLarge(
            f"Message payload is {size}bytes, larger than the configured limit of "
            f"{context.max_payload_bytes}"
        )
    return message
