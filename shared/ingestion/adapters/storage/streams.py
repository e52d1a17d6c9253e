"""Streaming reads of one object through a ``Bucket``'s ranged reads, memory bounded.

A backfill chunk may be a byte range of a multi-gigabyte object: it is read a piece at a time
(``PIECE_BYTES``), and the next piece is fetched on a background thread while the current one
is consumed, so network time overlaps decoding. At most two pieces are held at once, whatever
the object's size. ``ObjectStream`` is a read-only file object, so gzip readers and Avro readers
take it as they take a local file.
"""

from __future__ import annotations

import concurrent.futures
import io
from collections.abc import Iterator

from .objects import Bucket

PIECE_BYTES = 8 << 20


class ObjectStream(io.RawIOBase):
    """Bytes ``[start, end)`` of an object, read ahead one piece; ``position`` is the object
    offset of the next byte ``read`` returns."""

    def __init__(
        self, bucket: Bucket, name: str, start: int, end: int, piece_bytes: int = PIECE_BYTES
    ) -> None:
        super().__init__()
        self._bucket = bucket
        self._name = name
        self._end = end
        self._piece = piece_bytes
        self._fetch_at = start  # where the next piece to fetch starts
        self.position = start
        self._buffer = memoryview(b"")
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="read-ahead")
        self._next: concurrent.futures.Future[bytes] | None = self._fetch()

    def _fetch(self) -> concurrent.futures.Future[bytes] | None:
        if self._fetch_at >= self._end:
            return None
        start, end = self._fetch_at, min(self._end, self._fetch_at + self._piece)
        self._fetch_at = end
        return self._pool.submit(self._bucket.read, self._name, start, end)

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._buffer:
            if self._next is None:
                return 0
            piece = self._next.result()
            self._next = self._fetch()
            if not piece:  # the object is shorter than planned: end here
                self._next = None
                return 0
            self._buffer = memoryview(piece)
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        self.position += size
        return size

    def pieces(self) -> Iterator[bytes]:
        """The remaining bytes a piece at a time, without copying them into a caller's buffer."""
        if self._buffer:
            rest, self._buffer = bytes(self._buffer), memoryview(b"")
            self.position += len(rest)
            yield rest
        while self._next is not None:
            piece = self._next.result()
            self._next = self._fetch()
            if not piece:
                return
            self.position += len(piece)
            yield piece

    def close(self) -> None:
        if not self.closed:
            self._pool.shutdown(wait=False, cancel_futures=True)
        super().close()


def open_stream(
    bucket: Bucket, name: str, start: int, end: int, piece_bytes: int = PIECE_BYTES
) -> io.BufferedReader:
    """``ObjectStream`` behind a buffer (for readers that ask for a few bytes at a time)."""
    return io.BufferedReader(ObjectStream(bucket, name, start, end, piece_bytes), 1 << 20)
