"""Message files on the local disk, read a line at a time, damage reported where it starts.

Reading streams the file a chunk at a time. A file is gzip when its name ends in ``.gz`` or its
content starts with the gzip magic (content decides for any other name); concatenated members
are one stream, NUL padding after a member is ignored (as ``gzip -d`` and Python's ``gzip`` do).
Damage (a member cut short, a CRC or length mismatch, corrupt deflate data, bytes that are not
gzip where a member should start, an I/O error) ends the file with ``DamagedInput`` once every
complete line before it has been yielded. The line forms themselves are ``ingestion.core.lines``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

from ..core.lines import is_content

GZIP_MAGIC = b"\x1f\x8b"
# Compressed bytes read at once, and inflated bytes produced by one call at most (a chunk that
# inflates a thousandfold stays bounded).
READ_CHUNK = 1 << 20
INFLATE_CHUNK = 8 << 20
# Pieces of a damaged member fed to the standard zlib to find the byte where it breaks.
_EXACT_PIECE = 16 << 10
_GZIP_WBITS = 16 + zlib.MAX_WBITS
# A member's flags must leave the bits RFC 1952 reserves clear: zlib checks, ISA-L does not.
_DEFLATE, _RESERVED_FLAGS = 8, 0xE0
_ERROR_PREFIX = re.compile(r"^Error -?\d+(?: while decompressing data)?:? ")


def _fast_zlib() -> ModuleType:
    """ISA-L's zlib interface when ``isal`` is installed (about twice as fast), else zlib's."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib
    return isal_zlib


_INFLATE = _fast_zlib()
_INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, getattr(_INFLATE, "error", zlib.error))


class DamagedInput(Exception):
    """An input file that cannot be read to its end. ``offset`` is the byte of the file where
    the damage was detected, ``lines_read`` the lines yielded before it (blank and comment
    lines not counted); a partial line just before the damage is part of it."""

    def __init__(self, path: Path, offset: int, lines_read: int, reason: str) -> None:
        super().__init__(f"{path} at byte {offset} after {lines_read} lines: {reason}")
        self.path = path
        self.offset = offset
        self.lines_read = lines_read
        self.reason = reason


class _Damage(Exception):
    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(offset, reason)
        self.offset = offset
        self.reason = reason


def _corrupt(error: Exception) -> str:
    return "corrupt gzip data: " + _ERROR_PREFIX.sub("", str(error))


class _Source:
    """A file read a chunk at a time; ``offset`` is where the next read starts."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.offset = 0

    def read(self, size: int = 0) -> bytes:
        try:
            data = self.handle.read(size or READ_CHUNK)
        except OSError as exc:
            raise _Damage(self.offset, f"read error: {exc.strerror or exc}") from None
        self.offset += len(data)
        return data

    def read_at_least(self, data: bytes, size: int) -> bytes:
        """``data`` followed by what the file holds next, until it has ``size`` bytes or the
        file ends."""
        while len(data) < size and (more := self.read()):
            data += more
        return data

    def seek(self, offset: int) -> None:
        try:
            self.handle.seek(offset)
        except OSError as exc:
            raise _Damage(offset, f"read error: {exc.strerror or exc}") from None
        self.offset = offset


def _chunks(source: _Source, named_gzip: bool) -> Iterator[bytes]:
    """The file's bytes, inflated when it is gzip (by name or by content)."""
    data = source.read_at_least(b"", len(GZIP_MAGIC))
    if named_gzip or data.startswith(GZIP_MAGIC):
        yield from _inflate_members(source, data)
        return
    while data:
        yield data
        data = source.read()


def _inflate_members(source: _Source, data: bytes) -> Iterator[bytes]:
    """The inflated bytes of every gzip member from the file's start (``data`` its first bytes);
    raises ``_Damage`` after yielding all that inflates before the damage."""
    at = 0  # the file offset of data[0]
    members = 0
    while True:
        if members:  # NUL padding may follow a member
            while not (stripped := data.lstrip(b"\0")):
                at += len(data)
                data = source.read()
                if not data:
                    return
            at += len(data) - len(stripped)
            data = stripped
        elif not data:
            return  # an empty file holds no lines
        data = source.read_at_least(data, 4)
        if not data.startswith(GZIP_MAGIC):
            raise _Damage(
                at, f"not gzip data after gzip member {members}" if members else "not gzip data"
            )
        if len(data) > 3 and data[2] == _DEFLATE and data[3] & _RESERVED_FLAGS:
            raise _Damage(at + 3, "corrupt gzip data: unknown header flags set")
        data, at = yield from _member(source, data, at)
        members += 1


def _member(source: _Source, data: bytes, at: int) -> Generator[bytes, None, tuple[bytes, int]]:
    """Inflate the member at file offset ``at`` (``data`` the bytes from there) with the fast
    inflater; the bytes after it and their offset. Where it fails or the file ends first,
    ``_exact_member`` has the last word."""
    start, produced = at, 0
    inflater = _INFLATE.decompressobj(_GZIP_WBITS)
    while True:
        try:
            out = inflater.decompress(data, INFLATE_CHUNK)
        except _INFLATE_ERRORS:
            return (yield from _exact_member(source, start, produced))
        produced += len(out)
        if out:
            yield out
        rest = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
        stalled = not out and len(rest) == len(data)
        at += len(data) - len(rest)
        data = rest
        if inflater.eof:
            return data, at
        if len(out) < INFLATE_CHUNK and (stalled or not data):  # it needs more input
            more = source.read()
            if not more:
                return (yield from _exact_member(source, start, produced))
            data += more


def _exact_member(
    source: _Source, start: int, produced: int
) -> Generator[bytes, None, tuple[bytes, int]]:
    """Inflate the member at ``start`` again with the standard zlib, whose state can be copied,
    a piece and, on an error, a byte at a time: yield what inflates after the ``produced``
    bytes already yielded and raise ``_Damage`` at the byte where zlib detects the damage (or
    the file's end). The bytes after the member and their offset if zlib finds none."""
    source.seek(start)
    inflater = zlib.decompressobj(_GZIP_WBITS)
    at, skip = start, produced
    while not inflater.eof:
        piece = source.read(_EXACT_PIECE)
        if not piece:
            raise _Damage(at, "truncated: the file ends inside a gzip member")
        before = inflater.copy()
        damage = None
        try:
            out = inflater.decompress(piece)
        except zlib.error:
            outs = []
            for index in range(len(piece)):
                try:
                    outs.append(before.decompress(piece[index : index + 1]))
                except zlib.error as exc:
                    damage = _Damage(at + index, _corrupt(exc))
                    break
            out = b"".join(outs)
        cut = min(skip, len(out))
        skip -= cut
        if out[cut:]:
            yield out[cut:]
        if damage is not None:
            raise damage
        at += len(piece)
    rest = inflater.unused_data
    return rest, at - len(rest)


def _content_lines(chunks: Iterator[bytes]) -> Iterator[list[bytes]]:
    """The stripped content lines of the chunks, a list per chunk. A last line without a
    newline counts at the end of the file, not before damage (it is part of the damage)."""
    partial: list[bytes] = []
    for chunk in chunks:
        lines = chunk.split(b"\n")
        if len(lines) == 1:
            partial.append(chunk)
            continue
        if partial:
            partial.append(lines[0])
            lines[0] = b"".join(partial)
        partial = [lines.pop()]
        yield [line.strip() for line in lines if is_content(line)]
    last = b"".join(partial)
    if is_content(last):
        yield [last.strip()]


def read_lines(path: Path) -> Iterator[bytes]:
    """Non-empty, non-comment lines of a (possibly gzipped) file, stripped.

    Raises ``DamagedInput`` after the last complete line before damage (see the module).
    """
    lines_read = 0
    try:
        with path.open("rb", buffering=0) as handle:
            for lines in _content_lines(_chunks(_Source(handle), path.suffix == ".gz")):
                lines_read += len(lines)
                yield from lines
    except _Damage as damage:
        raise DamagedInput(path, damage.offset, lines_read, damage.reason) from None
    except OSError as exc:  # opening failed
        raise DamagedInput(path, 0, lines_read, f"cannot open: {exc.strerror or exc}") from None
