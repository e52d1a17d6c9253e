"""Where a chunk's outputs go, held until the runner commits them.

The decoder service hands outputs to a sink and calls ``flush``; here ``flush`` only accepts
them, and the runner's ``commit`` makes them durable at positions that depend on the input
alone (so a retried chunk commits the same outputs under the same names). The dedup marks of
a run (``RunDedup``) are written at the same commit, after the outputs.

- ``ObjectOutputs``: decoded and error messages as ``.ndjson.gz`` objects under the partition
  keys of two registry sources (``core.partitions``), named
  ``backfill-{run}-{chunk}-{position}.ndjson.gz`` from the run, the chunk and the input position
  the commit starts at: a retried or re-run chunk overwrites its own objects. Lines are
  compressed as they arrive (``adapters.gzip_lines.GzipLines``: one gzip member per object, the
  loader's encoding), so memory holds compressed outputs only. A commit writes its objects a
  few at a time.
- ``TopicOutputs``: the decoded and error topics (replay), published at the commit through the
  decoder's synchronous Pub/Sub sink. At least once: a retried commit publishes again.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

from ..adapters.gzip_lines import GzipLines
from ..adapters.storage.objects import Bucket
from ..core.message import Message
from ..core.partitions import Dimension, partition_key
from ..loader.objects import SUFFIX

# Objects a commit writes at once (one per partition key; each write is a round trip).
UPLOAD_THREADS = 4


class Outputs(Protocol):
    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None: ...

    def flush(self) -> None: ...

    def commit(self, position: int) -> int:
        """Make everything delivered since the last commit durable; the objects (or messages)
        written. ``position``: where the input of this commit started."""
        ...


@dataclasses.dataclass(frozen=True)
class Target:
    """A registry source's writer entry: where its objects go and how they are keyed."""

    bucket: Bucket
    prefix: str
    dimensions: Sequence[Dimension]


class ObjectOutputs:
    def __init__(self, decoded: Target, error: Target, run_id: str, chunk_id: str) -> None:
        self._targets = {"decoded": decoded, "error": error}
        self._stem = f"backfill-{run_id}-{chunk_id}"
        self._open: dict[tuple[str, str], GzipLines] = {}
        self.objects_written = 0

    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        for kind, messages in (("decoded", decoded), ("error", errors)):
            target = self._targets[kind]
            for message in messages:
                directory = partition_key(target.prefix, target.dimensions, message.attributes, "")
                partition = self._open.get((kind, directory))
                if partition is None:
                    partition = self._open[(kind, directory)] = GzipLines()
                partition.add(message)

    def flush(self) -> None:
        """Outputs are durable at ``commit``, not here (see the module)."""

    def commit(self, position: int) -> int:
        name = f"{self._stem}-{position:015d}{SUFFIX}"
        writes = [
            (self._targets[kind].bucket, directory + name, partition.finish())
            for (kind, directory), partition in sorted(self._open.items())
        ]
        self._open.clear()
        if writes:
            # Unconditional: only this chunk ever writes these names, and a retry must replace
            # them. A few at a time: each is a round trip, and the next one need not wait.
            with concurrent.futures.ThreadPoolExecutor(
                min(UPLOAD_THREADS, len(writes)), thread_name_prefix="backfill-upload"
            ) as uploads:
                list(uploads.map(_write, writes))  # raises the first failure
        self.objects_written += len(writes)
        return len(writes)


def _write(write: tuple[Bucket, str, bytes]) -> None:
    bucket, name, data = write
    bucket.write(name, data, None)


class TopicOutputs:
    def __init__(self, sink: Any) -> None:
        self._sink = sink  # adapters.pubsub_sink.PubSubSink (deliver waits for every publish)
        self._decoded: list[Message] = []
        self._errors: list[Message] = []

    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        # Held until the commit: without their parsed documents, which publishing never reads
        # and which would hold (and make the collector walk) many objects per record.
        self._decoded.extend(message.without_document() for message in decoded)
        self._errors.extend(message.without_document() for message in errors)

    def flush(self) -> None:
        """Outputs are published at ``commit``, not here (see the module)."""

    def commit(self, position: int) -> int:
        decoded, errors = self._decoded, self._errors
        self._decoded, self._errors = [], []
        if decoded or errors:
            self._sink.deliver(decoded, errors)
            self._sink.flush()
        return len(decoded) + len(errors)
