"""Object I/O in a bucket, beside resource fetching: the home of listing, ranged reads and
conditional writes.

The registry (``sources.json`` and ``schema.json`` in a metadata bucket, written with
compare-and-swap), the loader (objects under partition keys) and the backfill (listing an
archive and reading it in byte ranges) all need the same few operations on one bucket. They are
declared here as one narrow port so that each of those features gets a local-directory and a
Cloud Storage implementation of the same contract, tested against the same suite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Protocol


class PreconditionFailed(RuntimeError):
    """A conditional write lost: the object's generation is not the one expected."""


@dataclasses.dataclass(frozen=True, slots=True)
class ObjectInfo:
    name: str  # the object name inside its bucket
    size: int  # bytes
    generation: str  # changes whenever the content does


class Bucket(Protocol):
    """The operations on one bucket (or one local directory standing in for it)."""

    def list(self, prefix: str, delimiter: str | None = None) -> Iterator[ObjectInfo | str]:
        """Objects under ``prefix``; with a ``delimiter``, the folder prefixes one level down
        (as ``str``) instead of the objects below them."""
        ...

    def read(self, name: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes ``[start, end)`` of an object (to its end when ``end`` is None)."""
        ...

    def write(self, name: str, data: bytes, if_generation: str | None) -> str:
        """Write ``data`` only if the object's generation is ``if_generation`` (``"0"``: only
        if it does not exist; None: unconditionally); return the new generation, or raise
        ``PreconditionFailed``."""
        ...
