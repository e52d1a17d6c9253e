"""The loader's core: messages of concurrent requests gathered by partition, one object per
flushed batch, and each request answered only once the object holding its message is written.

Why not ``service.batcher.Batcher``: it sends a batch as soon as none is in flight (right for
an RPC, where waiting only adds latency) and retries a failed batch item by item. For objects
both are wrong: at light load it would write one object per message, and a failed write must fail
the whole batch (Pub/Sub redelivers every message of it) rather than turn into one object per
message. So a batch here waits, per partition, for one of three limits:

- ``max_messages`` messages or ``max_bytes`` bytes (line bytes before compression): written at
  once;
- ``max_age_seconds`` since its first message: written by a timer, so a quiet partition is
  written a few seconds after its first message, never left behind.

Memory is bounded: the bytes of messages queued or being written never exceed
``max_queued_bytes``; a message that would go beyond is refused at once with ``Overloaded``
(the function answers 429 and Pub/Sub slows down and redelivers) rather than queued.

Cancellation: a request cancelled (timeout, client gone) before its batch was taken removes its
message from the partition, so it is never written without its request being answered; once
the batch is being written the write goes on and its outcome for that request is dropped.

One event loop, no threads: every ``submit`` runs on the same loop; the write itself (encoding
and the bucket's synchronous I/O) runs wherever ``write`` sends it (a small thread pool).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Hashable, Sequence

from ..core.errors import TransientFailure
from ..core.message import Message

# A batch's writer: (the partition's key, its messages) -> done when the object is durable.
WriteBatch = Callable[[Hashable, Sequence[Message]], Awaitable[object]]

COUNTERS = (
    "messages_submitted",
    "messages_written",
    "messages_failed",
    "messages_cancelled",
    "messages_refused",
    "batches_written",
    "batches_failed",
    "largest_batch",
)


class Overloaded(TransientFailure):
    """More bytes are queued than the loader holds: try again later."""


class WriteFailed(TransientFailure):
    """The object holding this message could not be written: deliver it again."""


@dataclasses.dataclass(frozen=True)
class FlushPolicy:
    """When a partition's batch is written: the first limit reached."""

    max_messages: int = 1000
    max_bytes: int = 8 << 20
    max_age_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.max_messages < 1 or self.max_bytes < 1 or not self.max_age_seconds > 0:
            raise ValueError("flush limits must be positive")


DEFAULT_POLICY = FlushPolicy()


def line_size(message: Message) -> int:
    """About the bytes of the message's ``json`` line (base64 payload, quoted attributes)."""
    attributes = sum(len(key) + len(value) + 6 for key, value in message.attributes.items())
    return (len(message.payload) + 2) // 3 * 4 + attributes + 40


class _Entry:
    __slots__ = ("future", "message", "size", "taken")

    def __init__(self, message: Message, size: int, future: asyncio.Future[None]) -> None:
        self.message = message
        self.size = size
        self.future = future
        self.taken = False


class _Partition:
    __slots__ = ("entries", "size", "timer")

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.size = 0
        self.timer: asyncio.TimerHandle | None = None


class PartitionBatcher:
    """Gathers messages by partition key and writes each batch through ``write``."""

    def __init__(
        self,
        write: WriteBatch,
        policy: FlushPolicy = DEFAULT_POLICY,
        *,
        max_queued_bytes: int = 64 << 20,
    ) -> None:
        if max_queued_bytes < 1:
            raise ValueError("max_queued_bytes must be positive")
        self._write = write
        self.policy = policy
        self.max_queued_bytes = max_queued_bytes
        self._partitions: dict[Hashable, _Partition] = {}
        self._held_bytes = 0  # queued or being written
        self._writes: set[asyncio.Task[None]] = set()
        self._closed = False
        self._counts = dict.fromkeys(COUNTERS, 0)

    async def submit(self, key: Hashable, message: Message) -> None:
        """Return once the object holding ``message`` is written; raises ``Overloaded``,
        ``WriteFailed`` or, after ``close``, ``RuntimeError``."""
        if self._closed:
            raise RuntimeError("the loader is closed")
        size = line_size(message)
        if self._held_bytes and self._held_bytes + size > self.max_queued_bytes:
            self._counts["messages_refused"] += 1
            raise Overloaded(f"{self._held_bytes} bytes queued; limit {self.max_queued_bytes}")
        loop = asyncio.get_running_loop()
        entry = _Entry(message, size, loop.create_future())
        partition = self._partitions.get(key)
        if partition is None:
            partition = self._partitions[key] = _Partition()
            partition.timer = loop.call_later(self.policy.max_age_seconds, self._flush, key)
        partition.entries.append(entry)
        partition.size += size
        self._held_bytes += size
        self._counts["messages_submitted"] += 1
        if (
            len(partition.entries) >= self.policy.max_messages
            or partition.size >= self.policy.max_bytes
        ):
            self._flush(key)
        try:
            await entry.future
        except asyncio.CancelledError:
            if not entry.taken:
                self._withdraw(key, entry)
            raise

    def _withdraw(self, key: Hashable, entry: _Entry) -> None:
        """Take a cancelled request's message out of its (not yet written) batch."""
        partition = self._partitions[key]
        partition.entries.remove(entry)
        partition.size -= entry.size
        self._held_bytes -= entry.size
        self._counts["messages_cancelled"] += 1
        if not partition.entries:
            del self._partitions[key]
            if partition.timer is not None:
                partition.timer.cancel()

    def _flush(self, key: Hashable) -> None:
        partition = self._partitions.pop(key, None)
        if partition is None:
            return
        if partition.timer is not None:
            partition.timer.cancel()
        for entry in partition.entries:
            entry.taken = True
        task = asyncio.get_running_loop().create_task(self._run(key, partition))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _run(self, key: Hashable, partition: _Partition) -> None:
        live = [entry for entry in partition.entries if not entry.future.done()]
        self._counts["messages_cancelled"] += len(partition.entries) - len(live)
        try:
            if live:
                await self._write(key, [entry.message for entry in live])
        except Exception as exc:  # the whole batch fails: each of its requests is redelivered
            self._counts["batches_failed"] += 1
            self._counts["messages_failed"] += len(live)
            failure = WriteFailed(f"writing a batch of {len(live)} failed: {exc}")
            for entry in live:
                if not entry.future.done():
                    entry.future.set_exception(failure)
        else:
            if live:
                self._counts["batches_written"] += 1
                self._counts["messages_written"] += len(live)
                self._counts["largest_batch"] = max(self._counts["largest_batch"], len(live))
            for entry in live:
                if not entry.future.done():
                    entry.future.set_result(None)
        finally:
            self._held_bytes -= partition.size
            for entry in partition.entries:  # still pending only if this task was cancelled
                entry.future.cancel()

    async def close(self) -> None:
        """Refuse new messages, write every batch now and wait for every write; idempotent."""
        self._closed = True
        for key in list(self._partitions):
            self._flush(key)
        while self._writes:
            await asyncio.wait(set(self._writes))

    @property
    def queued_bytes(self) -> int:
        """Bytes of messages queued or being written."""
        return self._held_bytes

    @property
    def partitions(self) -> int:
        """Partitions with a batch waiting."""
        return len(self._partitions)

    def counter_values(self) -> dict[str, int]:
        return dict(self._counts)
