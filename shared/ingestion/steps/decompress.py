"""Gzip detection and bounded decompression (D-28, §10 "Gzip in Python").

A payload that starts with the gzip magic is inflated, concatenated members included (as Java's
GZIPInputStream reads them) and trailing garbage after a complete member ignored (as Java does).
Anything that does not inflate cleanly passes through unchanged, exactly like the reference: the
JSON parse then rejects it with a precise error. Inflation is streamed with a cap one byte above
the payload limit, so a gzip bomb costs at most that much memory and becomes a
``LimitPayloadSize`` rejection carrying the compressed original.

Inflation uses ISA-L (``isal``) when it is installed: same zlib interface and results, about twice
as fast on the message mix (``bench/decode.py``); the standard library's zlib otherwise.
"""

from __future__ import annotations

import zlib
from types import ModuleType

from ..context import Context
from ..core.errors import PayloadTooLarge
from ..core.message import Message

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS


def _inflate_library() -> tuple[ModuleType, tuple[type[Exception], ...]]:
    try:
        from isal import isal_zlib
    except ImportError:  # a platform without an isal wheel
        return zlib, (zlib.error,)
    isal_error: type[Exception] = isal_zlib.error  # type: ignore[assignment]  # stub says instance
    return isal_zlib, (isal_error, zlib.error)


INFLATE_LIBRARY, _INFLATE_ERRORS = _inflate_library()


class _Truncated(Exception):
    pass


def inflate(data: bytes, limit: int) -> bytes | None:
    """The inflated bytes, None when ``data`` is not a complete gzip stream.

    Raises ``PayloadTooLarge`` as soon as the output would exceed ``limit`` bytes.
    """
    chunks: list[bytes] = []
    produced = 0
    remaining = data
    try:
        while remaining[:2] == GZIP_MAGIC:
            inflater = INFLATE_LIBRARY.decompressobj(_GZIP_WBITS)
            chunk = inflater.decompress(remaining, limit + 1 - produced)
            while True:
                produced += len(chunk)
                if produced > limit:
                    raise PayloadTooLarge(
                        f"Message payload is more than {limit}bytes after decompression, "
                        f"larger than the configured limit of {limit}"
                    )
                chunks.append(chunk)
                if inflater.eof or not inflater.unconsumed_tail:
                    break
                chunk = inflater.decompress(inflater.unconsumed_tail, limit + 1 - produced)
            if not inflater.eof:
                raise _Truncated
            remaining = inflater.unused_data
    except _INFLATE_ERRORS:
        return None
    except _Truncated:
        return None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decompress_payload(message: Message, context: Context) -> Message:
    if message.payload[:2] != GZIP_MAGIC:
        return message
    inflated = inflate(message.payload, context.max_payload_bytes)
    if inflated is None:
        return message
    compression = (
        {} if "client_compression" in message.attributes else {"client_compression": "gzip"}
    )
    return message.evolve(set_attributes=compression, payload=inflated)
