"""The loader: a message in, its line in an object under its partition key, durably, out.

``Loader.load`` finds where its source writes now (``targets.WriterTargets``), the message's
partition (``core.partitions.partition_key``, the one key builder, so readers find it with
``Dataset.where``) and hands it to the batcher (``batches.PartitionBatcher``); it returns once
the object holding the message is written. Objects are named ``{prefix}/{dim1}/…/{dimN}/
{instance}-{seq:08d}.ndjson.gz`` (``objects.ObjectNames``). Encoding and the bucket's
synchronous write run in a small thread pool, off the event loop.

The same ``Loader`` serves the push function (one request per message) and the streaming-pull
worker (one callback per message); neither knows the other exists.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import cast

from ..adapters.storage.objects import Bucket
from ..core.message import Message
from ..core.partitions import partition_key
from .batches import DEFAULT_POLICY, FlushPolicy, PartitionBatcher
from .objects import ObjectNames, encode_lines, write_object
from .targets import WriterTargets


class Loader:
    def __init__(
        self,
        targets: WriterTargets,
        open_bucket: Callable[[str], Bucket],
        executor: concurrent.futures.Executor,
        *,
        policy: FlushPolicy = DEFAULT_POLICY,
        max_queued_bytes: int = 64 << 20,
        names: ObjectNames | None = None,
    ) -> None:
        self.targets = targets
        self.names = names or ObjectNames()
        self.batcher = PartitionBatcher(self._write, policy, max_queued_bytes=max_queued_bytes)
        self._open_bucket = open_bucket
        self._executor = executor
        self._buckets: dict[str, Bucket] = {}  # by name; names come from the registry only
        self._lock = threading.Lock()
        self._bytes_written = 0

    async def load(self, message: Message) -> None:
        """Return once ``message`` is in a written object; raises ``batches.Overloaded`` or
        ``batches.WriteFailed`` (both ``TransientFailure``: deliver it again later)."""
        target = await self.targets.current()
        directory = partition_key(target.prefix, target.dimensions, message.attributes, "")
        await self.batcher.submit((target.bucket, directory), message)

    async def _write(self, key: Hashable, messages: Sequence[Message]) -> None:
        bucket_name, directory = cast(tuple[str, str], key)
        name = self.names.next(directory)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._write_now, bucket_name, name, messages)

    def _write_now(self, bucket_name: str, name: str, messages: Sequence[Message]) -> None:
        data = encode_lines(messages)
        write_object(self._bucket(bucket_name), name, data)
        with self._lock:
            self._bytes_written += len(data)

    def _bucket(self, name: str) -> Bucket:
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = self._buckets[name] = self._open_bucket(name)
            return bucket

    async def close(self) -> None:
        """Write every batch now and wait for the writes (shutdown, end of a run)."""
        await self.batcher.close()
        await self.targets.close()

    def counter_values(self) -> dict[str, int]:
        return {
            **self.batcher.counter_values(),
            "object_bytes_written": self._bytes_written,
            "writer_changes": self.targets.changes,
        }
