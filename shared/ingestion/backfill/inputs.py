"""A chunk's input as batches of decoder inputs, each with the position after it.

A chunk reads its pieces in order (``plan``). A position (``plan.position``) is where a later
task resumes: the piece and, within it, for a plain line range, the object offset of the next
line (a line boundary, so a resumed read starts exactly there); for a gzip or Avro object, the
number of records already consumed (neither can be entered in the middle: a resumed read
inflates or decodes from the start and skips them). The last batch of a piece carries the
start of the next piece, so a task that stops there never re-reads a finished object. Reads
stream the object in pieces (``adapters.storage.streams``) and gzip is inflated by ISA-L, so
memory stays bounded whatever the object's size: a batch ends at ``BATCH_LINES`` records or
``BATCH_BYTES`` bytes, and one batch is held back at most.

Damage (a truncated or corrupt gzip member, an Avro file that cannot be decoded) ends that
piece after every batch before it: what could be read is decoded, as ``ingestion decode`` does
with a damaged file, the damage is reported with the batch, and the next piece is read.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ..adapters.file_reader import GZIP_MAGIC
from ..adapters.storage.objects import Bucket
from ..adapters.storage.streams import ObjectStream
from ..core.errors import UnreadableInput
from ..core.lines import is_content, read_line
from ..core.message import Message
from ..service.decoder import Input
from .plan import Chunk, Piece, position, split_position

BATCH_LINES = 1000
BATCH_BYTES = 1 << 20
READ_BYTES = 1 << 20


class DamagedChunk(Exception):
    """A piece's object cannot be read past ``position``; ``reason`` says why."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"damaged at position {position}: {reason}")
        self.position = position
        self.reason = reason


Batch = tuple[list[Input], int]  # inputs, the position after them (within one piece)


@dataclasses.dataclass
class ChunkBatch:
    inputs: list[Input]
    position: int  # in the chunk (``plan.position``), after these inputs
    damage: str = ""  # set on the last batch of a damaged piece: the object and why


def read_batches(bucket: Bucket, chunk: Chunk, at: int) -> Iterator[ChunkBatch]:
    """The chunk's inputs from position ``at`` on (see the module for what a position is)."""
    first, offset = split_position(at)
    for index in range(first, len(chunk.pieces)):
        piece = chunk.pieces[index]
        start = offset if index == first else piece.start
        next_start = chunk.pieces[index + 1].start if index + 1 < len(chunk.pieces) else 0
        following = position(index + 1, next_start)
        held: ChunkBatch | None = None
        try:
            for batch, after in piece_batches(bucket, piece, start):
                if held is not None:
                    yield held
                held = ChunkBatch(batch, position(index, after))
        except DamagedChunk as damage:
            if held is not None:
                yield held
            held = ChunkBatch([], following, f"{piece.name}: {damage.reason}")
        if held is not None:
            yield dataclasses.replace(held, position=following)


def piece_batches(bucket: Bucket, piece: Piece, start: int) -> Iterator[Batch]:
    """One piece's inputs from ``start`` (an offset or a record count) on."""
    if piece.kind == "avro":
        yield from _avro_batches(bucket, piece, start)
        return
    if piece.kind == "lines":
        yield from _plain_batches(bucket, piece, max(start, piece.start))
        return
    # A whole object: gzip by name, or by content (then it can only be resumed by records).
    first = bucket.read(piece.name, 0, len(GZIP_MAGIC))
    if piece.kind == "gzip" or first == GZIP_MAGIC:
        yield from _gzip_batches(bucket, piece, start)
    else:
        yield from _plain_batches(bucket, piece, max(start, piece.start))


def _batched(records: Iterable[tuple[Input, int]], first: int) -> Iterator[Batch]:
    """``(input, its size)`` pairs in batches; positions count records from ``first``."""
    batch: list[Input] = []
    size, position = 0, first
    for item, item_size in records:
        batch.append(item)
        size += item_size
        position += 1
        if len(batch) >= BATCH_LINES or size >= BATCH_BYTES:
            yield batch, position
            batch, size = [], 0
    if batch:
        yield batch, position


def _plain_batches(bucket: Bucket, chunk: Piece, start: int) -> Iterator[Batch]:
    stream = ObjectStream(bucket, chunk.name, start, chunk.end)
    try:
        batch: list[Input] = []
        size, offset, partial = 0, start, b""
        for piece in stream.pieces():
            lines = (partial + piece).split(b"\n") if partial else piece.split(b"\n")
            partial = lines.pop()
            for line in lines:
                offset += len(line) + 1
                if is_content(line):
                    batch.append(read_line(line.strip()))
                    size += len(line)
                if len(batch) >= BATCH_LINES or size >= BATCH_BYTES:
                    yield batch, offset
                    batch, size = [], 0
        if is_content(partial):  # a last line without a newline
            batch.append(read_line(partial.strip()))
        offset += len(partial)
        if batch or offset > start:
            yield batch, offset
    finally:
        stream.close()


def _gzip_lines(stream: io.BufferedReader[ObjectStream], skip: int) -> Iterator[tuple[Input, int]]:
    from isal import igzip

    with igzip.GzipFile(fileobj=stream, mode="rb") as inflated:
        partial, skipped = b"", 0
        while True:
            try:
                data = inflated.read(READ_BYTES)
            except (OSError, EOFError, zlib.error) as exc:
                raise DamagedChunk(skipped, f"gzip: {str(exc)[:200]}") from None
            if not data:
                break
            lines = (partial + data).split(b"\n")
            partial = lines.pop()
            for line in lines:
                if not is_content(line):
                    continue
                if skipped < skip:
                    skipped += 1
                    continue
                yield read_line(line.strip()), len(line)
        if is_content(partial) and skipped >= skip:
            yield read_line(partial.strip()), len(partial)


def _gzip_batches(bucket: Bucket, chunk: Piece, skip: int) -> Iterator[Batch]:
    stream = io.BufferedReader(ObjectStream(bucket, chunk.name, 0, chunk.end), READ_BYTES)
    with stream:
        yield from _damage_positioned(_batched(_gzip_lines(stream, skip), skip), skip)


def _damage_positioned(batches: Iterator[Batch], first: int) -> Iterator[Batch]:
    """Re-raise ``DamagedChunk`` with the position the last good batch ended at."""
    position = first
    try:
        for batch, position in batches:
            yield batch, position
    except DamagedChunk as damage:
        raise DamagedChunk(position, damage.reason) from None


def message_from_avro(record: Any) -> Input:
    """A record a Pub/Sub Cloud Storage subscription wrote: ``data`` (bytes), ``attributes``
    (a map of strings) and, with metadata on, ``message_id``; anything else is unreadable."""
    if isinstance(record, dict):
        data, attributes = record.get("data"), record.get("attributes") or {}
        if (
            isinstance(data, bytes)
            and isinstance(attributes, dict)
            and all(isinstance(v, str) for v in attributes.values())
        ):
            message_id = record.get("message_id")
            if isinstance(message_id, str) and message_id and "message_id" not in attributes:
                attributes = {**attributes, "message_id": message_id}
            return Message(attributes=dict(attributes), payload=data)
    body = orjson.dumps(record, default=_avro_default, option=orjson.OPT_NON_STR_KEYS)
    return UnreadableInput("Avro record is not a Pub/Sub message (data bytes, attributes)", body)


def _avro_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def _avro_records(
    stream: io.BufferedReader[ObjectStream], skip: int
) -> Iterator[tuple[Input, int]]:
    import fastavro

    try:
        reader = fastavro.reader(stream)
        for index, record in enumerate(reader):
            if index >= skip:
                item = message_from_avro(record)
                yield item, len(item.payload if isinstance(item, Message) else item.body)
    except (ValueError, EOFError, OSError, TypeError, KeyError) as exc:
        raise DamagedChunk(skip, f"avro: {type(exc).__name__}: {str(exc)[:200]}") from None


def _avro_batches(bucket: Bucket, chunk: Piece, skip: int) -> Iterator[Batch]:
    stream = io.BufferedReader(ObjectStream(bucket, chunk.name, 0, chunk.end), READ_BYTES)
    with stream:
        yield from _damage_positioned(_batched(_avro_records(stream, skip), skip), skip)
