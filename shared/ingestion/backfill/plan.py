"""The chunk plan: the listed objects of a run packed into chunks, deterministically.

- A chunk is a list of **pieces**, each a byte range of one object (name, generation, range,
  kind), read in order. Consecutive pieces are packed into one chunk up to ``chunk_bytes``
  (and at most ``MAX_PIECES`` pieces, so the chunk's document stays far below Firestore's
  1 MiB): the live loader's ~4 MB gzip objects make a day of archive about
  ``day bytes / chunk_bytes`` chunks, not one chunk (one task, one document) per object. A
  piece larger than ``chunk_bytes`` is a chunk of its own.
- Plain line files larger than the chunk size are cut into ranges that end just after a
  newline: each cut is found by one small ranged read past its nominal offset, so a piece owns
  whole lines and reads exactly its range. A file whose first bytes are the gzip magic is not cut.
- Gzip files (by name or magic) and Avro files are whole pieces: neither can be entered in the
  middle. A long one is split in time instead (the runner checkpoints and re-enqueues itself).
- A chunk's id is a hash of its bucket and pieces (object, generation, range): the same listing
  gives the same plan, and a changed object gives new ids.
- A **position** in a chunk is one integer, ``piece index * POSITION_SPAN + offset``, where the
  offset is the object offset of the next line (plain pieces) or the records already read
  (gzip, Avro). Positions grow through the chunk, so outputs and dedup marks keyed by them
  keep their order.

Limits are checked while listing (``PlanTooLarge`` once the run would exceed them), so a window
that is too big is refused without listing all of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator

from ..adapters.file_reader import GZIP_MAGIC
from ..adapters.storage.objects import Bucket, ObjectInfo

# How far past a nominal cut the newline is looked for, per read.
CUT_PROBE_BYTES = 64 << 10
GZIP_SUFFIXES = (".gz", ".gzip")
AVRO_SUFFIX = ".avro"  # Avro whatever the request's format: a window may hold both kinds
# A chunk document's pieces: at most this many, and this many bytes of object names (a name may
# be 1,024 bytes): well inside Firestore's 1 MiB document.
MAX_PIECES = 1000
MAX_PIECE_NAME_BYTES = 256 << 10
# Above any object offset (Cloud Storage objects are at most 5 TiB) and any record count.
POSITION_SPAN = 10**13


class PlanTooLarge(Exception):
    """The run would exceed its chunk or byte limit; the message says which."""


@dataclasses.dataclass(frozen=True)
class Piece:
    name: str
    generation: str
    start: int  # byte range [start, end) of the object
    end: int
    # "lines": a plain range; "gzip", "avro": whole objects; "sniff": a whole small object,
    # gzip or plain by its first bytes (not read while planning: one read per object)
    kind: str

    @property
    def size(self) -> int:
        return self.end - self.start

    def as_document(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def position(piece_index: int, offset: int) -> int:
    return piece_index * POSITION_SPAN + offset


def split_position(at: int) -> tuple[int, int]:
    """(piece index, offset within the piece) of a position."""
    return divmod(at, POSITION_SPAN)


@dataclasses.dataclass(frozen=True)
class Chunk:
    bucket: str
    pieces: tuple[Piece, ...]

    @classmethod
    def single(
        cls, bucket: str, name: str, generation: str, start: int, end: int, kind: str
    ) -> Chunk:
        """A chunk of one piece."""
        return cls(bucket, (Piece(name, generation, start, end, kind),))

    @property
    def size(self) -> int:
        return sum(piece.size for piece in self.pieces)

    @property
    def start(self) -> int:
        """The position a chunk's first task starts at."""
        return position(0, self.pieces[0].start)

    @property
    def chunk_id(self) -> str:
        # One piece hashes as a chunk did when every chunk was one range: ids did not move.
        key = self.bucket + "".join(
            f"\n{p.name}\n{p.generation}\n{p.start}\n{p.end}" for p in self.pieces
        )
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]

    def as_document(self) -> dict[str, object]:
        """The chunk as stored: its pieces, plus the first object's name and the bytes and
        number of objects, for whoever reads the document."""
        return {
            "bucket": self.bucket,
            "pieces": [piece.as_document() for piece in self.pieces],
            "name": self.pieces[0].name,
            "objects": len({piece.name for piece in self.pieces}),
            "size": self.size,
            "start": self.start,
        }

    @classmethod
    def from_document(cls, document: dict[str, object]) -> Chunk:
        pieces = document["pieces"]
        assert isinstance(pieces, list)
        return cls(str(document["bucket"]), tuple(Piece(**piece) for piece in pieces))

    def bytes_before(self, at: int) -> int:
        """Bytes of the chunk behind position ``at``: whole pieces before it, plus the part of a
        plain range read (a record count in a whole object says nothing about bytes)."""
        index, offset = split_position(at)
        done = sum(piece.size for piece in self.pieces[:index])
        if index < len(self.pieces):
            piece = self.pieces[index]
            if piece.kind == "lines" and offset >= piece.start:
                done += offset - piece.start
        return done


@dataclasses.dataclass
class Plan:
    chunks: list[Chunk]
    objects: int
    bytes: int

    def summary(self) -> dict[str, int]:
        return {"objects": self.objects, "bytes": self.bytes, "chunks": len(self.chunks)}


def is_gzip_name(name: str) -> bool:
    return name.endswith(GZIP_SUFFIXES)


def line_cuts(bucket: Bucket, info: ObjectInfo, chunk_bytes: int) -> Iterator[tuple[int, int]]:
    """Byte ranges of a plain line file, each ending just after a newline (or at the end)."""
    start = 0
    while start < info.size:
        target = start + chunk_bytes
        if target >= info.size:
            yield start, info.size
            return
        cut = _next_line_start(bucket, info, target)
        yield start, cut
        start = cut


def _next_line_start(bucket: Bucket, info: ObjectInfo, offset: int) -> int:
    """The offset just after the first newline at or after ``offset - 1`` (or the end)."""
    at = offset - 1  # a newline right before the nominal cut makes the cut exact
    while at < info.size:
        window = bucket.read(info.name, at, min(info.size, at + CUT_PROBE_BYTES))
        if not window:
            break
        newline = window.find(b"\n")
        if newline >= 0:
            return at + newline + 1
        at += len(window)
    return info.size


def object_pieces(bucket: Bucket, info: ObjectInfo, fmt: str, chunk_bytes: int) -> Iterator[Piece]:
    def piece(start: int, end: int, kind: str) -> Piece:
        return Piece(info.name, info.generation, start, end, kind)

    if fmt == "avro" or info.name.endswith(AVRO_SUFFIX):
        yield piece(0, info.size, "avro")
    elif is_gzip_name(info.name):
        yield piece(0, info.size, "gzip")
    elif info.size <= chunk_bytes:
        yield piece(0, info.size, "sniff")  # the reader finds out if the content is gzip
    elif bucket.read(info.name, 0, len(GZIP_MAGIC)) == GZIP_MAGIC:
        yield piece(0, info.size, "gzip")
    else:
        for start, end in line_cuts(bucket, info, chunk_bytes):
            yield piece(start, end, "lines")


class _Packer:
    """Consecutive pieces into chunks of at most ``chunk_bytes`` (a bigger piece alone)."""

    def __init__(self, bucket_name: str, chunk_bytes: int) -> None:
        self.bucket_name = bucket_name
        self.chunk_bytes = chunk_bytes
        self.chunks: list[Chunk] = []
        self._open: list[Piece] = []
        self._size = self._name_bytes = 0

    def add(self, piece: Piece) -> None:
        name_bytes = len(piece.name.encode("utf-8", "surrogatepass"))
        if self._open and (
            self._size + piece.size > self.chunk_bytes
            or len(self._open) >= MAX_PIECES
            or self._name_bytes + name_bytes > MAX_PIECE_NAME_BYTES
        ):
            self.close()
        self._open.append(piece)
        self._size += piece.size
        self._name_bytes += name_bytes

    def close(self) -> None:
        if self._open:
            self.chunks.append(Chunk(self.bucket_name, tuple(self._open)))
        self._open, self._size, self._name_bytes = [], 0, 0

    @property
    def count(self) -> int:
        return len(self.chunks) + (1 if self._open else 0)


def make_plan(
    bucket: Bucket,
    bucket_name: str,
    objects: Iterable[ObjectInfo],
    *,
    fmt: str,
    chunk_bytes: int,
    max_chunks: int,
    max_bytes: int,
) -> Plan:
    """The chunks of ``objects``; raises ``PlanTooLarge`` as soon as a limit is passed."""
    too_many = f"the plan needs more than max_chunks={max_chunks} chunks"
    packer = _Packer(bucket_name, chunk_bytes)
    plan = Plan(packer.chunks, 0, 0)
    for info in objects:
        if info.size == 0 or info.name.endswith("/"):
            continue  # empty objects and folder placeholders hold no messages
        plan.objects += 1
        plan.bytes += info.size
        if plan.bytes > max_bytes:
            raise PlanTooLarge(f"the window holds more than max_bytes={max_bytes} bytes")
        if len(packer.chunks) + info.size // chunk_bytes > max_chunks:
            raise PlanTooLarge(too_many)  # before reading the cuts of a big plain file
        for piece in object_pieces(bucket, info, fmt, chunk_bytes):
            packer.add(piece)
            if packer.count > max_chunks:
                raise PlanTooLarge(too_many)
    packer.close()
    return plan
