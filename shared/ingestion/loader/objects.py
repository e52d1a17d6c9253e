"""Messages as ``.ndjson.gz`` objects: the encoding and the write, shared by every writer of
objects under a source's prefix (the live loader, the backfill).

- ``encode_lines``: the messages' ``json`` lines as one gzip member, with the one encoder of
  objects (``adapters.gzip_lines.GzipLines``, which the backfill fills incrementally).
- ``ObjectNames``: unique object names that say who wrote them, ``{instance}-{seq:08d}``: the
  instance id is random per process and the sequence counts its objects, so two instances, or one
  instance restarted, never pick the same name (the historical ``time_hostname`` names could).
- ``write_object``: one conditional write (``if_generation="0"``: only if absent), so a writer
  never overwrites an object another batch wrote. A write whose response was lost may have
  landed: when the retried write finds an object of the same name holding the same bytes, that
  was ours and it counts as written.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Iterable

from ..adapters.gzip_lines import GzipLines
from ..adapters.storage.objects import Bucket, PreconditionFailed
from ..core.message import Message

SUFFIX = ".ndjson.gz"
INSTANCE_ID_BYTES = 6  # 12 hex characters: collisions among a few thousand instances ~ 1e-8


def encode_lines(messages: Iterable[Message]) -> bytes:
    """The ``json`` lines of ``messages``, newline-terminated, as one gzip member."""
    lines = GzipLines()
    for message in messages:
        lines.add(message)
    return lines.finish()


def new_instance_id() -> str:
    """A random id for this process's objects (the pid alone repeats across containers)."""
    return secrets.token_hex(INSTANCE_ID_BYTES)


class ObjectNames:
    """``{directory}{instance}-{seq:08d}.ndjson.gz``; thread-safe, never the same name twice."""

    def __init__(self, instance: str | None = None) -> None:
        self.instance = instance or new_instance_id()
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()

    def next(self, directory: str) -> str:
        """The next name in ``directory`` (a partition key ending in ``/``, or empty)."""
        with self._lock:
            sequence = next(self._sequence)
        return f"{directory}{self.instance}-{sequence:08d}{SUFFIX}"


def write_object(bucket: Bucket, name: str, data: bytes) -> str:
    """Write ``data`` as ``name`` unless an object of that name exists; its generation.

    Raises ``PreconditionFailed`` when a different object already has the name (another writer
    reused it: a bug, never silently overwritten)."""
    try:
        return bucket.write(name, data, if_generation="0")
    except PreconditionFailed:
        existing, generation = bucket.read_current(name)
        if existing == data:  # our own earlier attempt landed
            return generation
        raise
