"""Messages as ``json`` lines in one gzip member, compressed as they are added.

The one encoding of objects under a source's prefix: the line form of ``core.lines.line_pieces``
(newline-terminated) deflated with the settings of ``adapters.file_sink`` (``GZIP_LEVEL``, ISA-L
when installed). ``add`` compresses at once, so a writer that fills many objects at a time (a
backfill chunk: one per partition) holds compressed bytes only; the result is byte for byte what
``gzip_member`` makes of the same pieces (a test keeps the loader's ``encode_lines`` equal).
"""

from __future__ import annotations

import zlib
from types import ModuleType

from ..core.lines import line_pieces
from ..core.message import Message
from .file_sink import DEFLATE_LIBRARY, GZIP_LEVEL

GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream


class GzipLines:
    def __init__(self, library: ModuleType | None = None) -> None:
        self._deflater = (library or DEFLATE_LIBRARY).compressobj(
            GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS
        )
        self._parts: list[bytes] = []
        self.compressed_bytes = 0  # so far, before ``finish`` (the deflater holds some back)
        self.messages = 0

    def add(self, message: Message) -> None:
        for piece in line_pieces(message, newline=True):
            compressed = self._deflater.compress(piece)
            if compressed:
                self._parts.append(compressed)
                self.compressed_bytes += len(compressed)
        self.messages += 1

    def finish(self) -> bytes:
        """The complete member; the encoder cannot be used after."""
        self._parts.append(self._deflater.flush())
        data = b"".join(self._parts)
        self._parts = []
        return data
