"""The chunk plan: the listed objects of a run cut into chunks, deterministically.

- Plain line files larger than the chunk size are cut into byte ranges that end just after a
  newline: each cut is found by one small ranged read past its nominal offset, so a chunk owns
  whole lines and reads exactly its range. A file whose first bytes are the gzip magic is not cut.
- Gzip files (by name or magic) and Avro files are one chunk each: neither can be entered in the
  middle. A long one is split in time instead (the runner checkpoints and re-enqueues itself).
- A chunk's id is a hash of the object, its generation and the range: the same listing gives the
  same plan, and a changed object gives new ids.

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


class PlanTooLarge(Exception):
    """The run would exceed its chunk or byte limit; the message says which."""


@dataclasses.dataclass(frozen=True)
class Chunk:
    bucket: str
    name: str
    generation: str
    start: int  # byte range [start, end) of the object
    end: int
    kind: str  # "lines" (a plain range), "gzip" or "avro" (whole objects)

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def chunk_id(self) -> str:
        key = f"{self.bucket}\n{self.name}\n{self.generation}\n{self.start}\n{self.end}"
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]

    def as_document(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_document(cls, document: dict[str, object]) -> Chunk:
        return cls(**{f.name: document[f.name] for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


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


def object_chunks(
    bucket: Bucket, bucket_name: str, info: ObjectInfo, fmt: str, chunk_bytes: int
) -> Iterator[Chunk]:
    def chunk(start: int, end: int, kind: str) -> Chunk:
        return Chunk(bucket_name, info.name, info.generation, start, end, kind)

    if fmt == "avro" or info.name.endswith(AVRO_SUFFIX):
        yield chunk(0, info.size, "avro")
    elif is_gzip_name(info.name):
        yield chunk(0, info.size, "gzip")
    elif info.size <= chunk_bytes:
        yield chunk(0, info.size, "lines")  # the reader finds out if the content is gzip
    elif bucket.read(info.name, 0, len(GZIP_MAGIC)) == GZIP_MAGIC:
        yield chunk(0, info.size, "gzip")
    else:
        for start, end in line_cuts(bucket, info, chunk_bytes):
            yield chunk(start, end, "lines")


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
    plan = Plan([], 0, 0)
    for info in objects:
        if info.size == 0 or info.name.endswith("/"):
            continue  # empty objects and folder placeholders hold no messages
        plan.objects += 1
        plan.bytes += info.size
        if plan.bytes > max_bytes:
            raise PlanTooLarge(f"the window holds more than max_bytes={max_bytes} bytes")
        if len(plan.chunks) + max(1, info.size // chunk_bytes) > max_chunks:
            raise PlanTooLarge(f"the plan needs more than max_chunks={max_chunks} chunks")
        plan.chunks.extend(object_chunks(bucket, bucket_name, info, fmt, chunk_bytes))
        if len(plan.chunks) > max_chunks:
            raise PlanTooLarge(f"the plan needs more than max_chunks={max_chunks} chunks")
    return plan
