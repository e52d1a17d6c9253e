"""Intact and damaged variants of message files, and what a reader must make of each.

``expected`` is the reference: the standard zlib fed one byte at a time from each member's start,
so the lines before the damage and the byte where it is detected are known exactly. The
strategies draw multi-member gzip files and truncate them, flip bytes, append garbage or NUL
padding, or draw random bytes and plain text, under names with and without ``.gz``.
"""

from __future__ import annotations

import dataclasses
import gzip
import zlib

from hypothesis import strategies as st

from ingestion.core.lines import is_content

GZIP_MAGIC = b"\x1f\x8b"


def content_lines(data: bytes) -> list[bytes]:
    return [line.strip() for line in data.split(b"\n") if is_content(line)]


@dataclasses.dataclass(frozen=True)
class Expected:
    lines: list[bytes]  # the stripped content lines a reader yields
    damage_at: int | None  # the byte where damage is detected; None when read to the end


def _damaged(inflated: bytes, at: int) -> Expected:
    complete = inflated[: inflated.rfind(b"\n") + 1]  # a partial last line is part of the damage
    return Expected(content_lines(complete), at)


def expected(data: bytes, named_gzip: bool) -> Expected:
    if not (named_gzip or data.startswith(GZIP_MAGIC)):
        return Expected(content_lines(data), None)
    inflated = bytearray()
    at, members = 0, 0
    while True:
        while members and data[at : at + 1] == b"\0":
            at += 1
        if at == len(data):
            return Expected(content_lines(bytes(inflated)), None)
        if data[at : at + 2] != GZIP_MAGIC:
            return _damaged(bytes(inflated), at)
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not inflater.eof:
            if at == len(data):
                return _damaged(bytes(inflated), at)
            try:
                inflated += inflater.decompress(data[at : at + 1])
            except zlib.error:
                return _damaged(bytes(inflated), at)
            at += 1
        members += 1


_lines = st.lists(
    st.one_of(
        st.integers(0, 10**9).map(lambda n: b'{"payload": "", "messageId": "%d"}' % n),
        st.sampled_from([b"", b"  ", b"// comment", b"x\r", b"\x1f\x8b"]),
        st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
    ),
    max_size=120,
)


@st.composite
def texts(draw: st.DrawFn) -> bytes:
    return b"\n".join(draw(_lines)) + draw(st.sampled_from([b"\n", b""]))


@st.composite
def gzip_files(draw: st.DrawFn) -> bytes:
    """A text in one to three gzip members."""
    text = draw(texts())
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=2)))
    level = draw(st.integers(0, 9))
    bounds = zip([0, *cuts], [*cuts, len(text)], strict=True)
    return b"".join(gzip.compress(text[a:b], compresslevel=level, mtime=0) for a, b in bounds)


@st.composite
def variants(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name suffix, content)."""
    kind = draw(
        st.sampled_from(["intact", "truncated", "corrupted", "trailing", "random", "plain"])
    )
    data = draw(gzip_files())
    if kind == "truncated":
        data = data[: draw(st.integers(0, len(data)))]
    elif kind == "corrupted":
        damaged = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            damaged[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        data = bytes(damaged)
    elif kind == "trailing":
        padding = b"\0" * draw(st.integers(0, 3))
        data += padding + draw(st.one_of(st.binary(max_size=30), gzip_files()))
    elif kind == "random":
        data = draw(st.binary(max_size=3000))
    elif kind == "plain":
        data = draw(texts())
    return draw(st.sampled_from([".ndjson.gz", ".ndjson", ""])), data
