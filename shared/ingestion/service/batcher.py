"""Cross-request micro-batching: concurrent requests submit items, one RPC carries them together,
and each submitter gets its own item's outcome (one RPC per 10–100 items costs 5–10× less CPU per
item than one RPC per item).

Why it works the way it does:

- **Flush on completion, not on a timer.** A time window adds its length to every request at light
  load (about 3× the window in a prototype) and is the wrong length under heavy load. Here a batch
  goes out as soon as no batch of this batcher is in flight, one event-loop iteration after the
  first submit (so that the requests of the same tick share it). While it is in flight new items
  queue, and its completion sends them all. Batches so grow with load and RPC latency by
  themselves: a submitter alone waits for exactly one RPC; a hundred arriving during an RPC share
  the next one.
- **Limits.** No batch exceeds ``max_items`` nor ``max_bytes`` (Pub/Sub: 1,000 messages and 10 MB
  per Publish): a longer queue is split, in order. An item over ``max_bytes`` by itself goes alone
  and ``send`` decides its fate.
- **In flight.** At most ``max_in_flight`` batches (default 1) are in flight, and a partial batch
  goes out only when none is: waiting for the in-flight one is what makes batches grow. A *full*
  batch may go out beside others (with ``max_in_flight`` > 1), since nothing could join it by
  waiting: that raises the throughput cap (``max_items`` per RPC latency) under overload without
  cutting light load into small batches. As every item may wait for the RPC in flight, ``send``
  should carry its own deadline.
- **Holding a partial batch for the steps before it** (optional: a ``BatchGroup``). The batchers
  of one instance carry the steps of the same requests (check, publish, mark), and each RPC's
  completion releases its requests into the next step. With flush-on-completion alone the
  requests in flight split into one wave per step, so each RPC carries about a third of them.
  With a group, a partial batch that could go while another batcher of the group has an RPC in
  flight waits for one RPC of the group to complete (or ``max_hold_seconds``, whichever is
  first), so that the requests it releases join it: the waves merge and the RPCs carry about
  twice as many items (section 1.4 of ``docs/capacity.md``). Nothing waits when nothing else is in
  flight (a request alone is not held), nor for more than one completion or the cap, so a slow
  or failing RPC of one kind holds the others for at most ``max_hold_seconds``.
- **Failure isolation.** ``send`` raising fails the batch as a whole: its items are then retried
  one by one, concurrently, so that one poison item fails only its own request and not the others
  of its batch. An exception in one slot of the outcomes fails that item only, without retry.
- **Cancellation.** A submitter cancelled (request timeout, disconnect) before its item was sent
  takes the item out of the queue or of its batch: it is never sent. Once sent, the RPC goes on,
  its outcome for that item is dropped, and the item is not retried.

One event loop, no threads: every submitter must run on the same loop.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Reported by ``counter_values``: ``items_sent`` counts first attempts (a single retry counts in
# ``items_retried_singly``), ``items_cancelled`` the items whose submitter left before their send.
COUNTERS = (
    "batches_sent",
    "items_sent",
    "items_retried_singly",
    "items_failed",
    "items_cancelled",
    "largest_batch",
)


class BatcherClosed(RuntimeError):
    """``submit`` after ``close``."""


class SendContractError(RuntimeError):
    """``send`` returned more or fewer outcomes than items: a programming error."""


class BatchGroup:
    """The batchers of one event loop that carry the steps of the same requests: how many of
    their RPCs are in flight and how many have completed, and who waits for the next completion.

    Not thread-safe, like the batchers: one loop.
    """

    def __init__(self, max_hold_seconds: float) -> None:
        if max_hold_seconds < 0:
            raise ValueError("max_hold_seconds must not be negative")
        self.max_hold_seconds = max_hold_seconds
        self.in_flight = 0
        self.completions = 0
        self._holding: set[Batcher[Any, Any]] = set()

    def started(self) -> None:
        self.in_flight += 1

    def completed(self) -> None:
        """After an RPC's outcomes were handed out: the held batchers look again once the
        requests released run (their flushes are scheduled after those wake-ups)."""
        self.in_flight -= 1
        self.completions += 1
        holding, self._holding = self._holding, set()
        for batcher in holding:
            batcher._schedule_flush()

    @property
    def holding(self) -> int:  # batchers waiting for the next completion
        return len(self._holding)

    def hold(self, batcher: Batcher[Any, Any]) -> None:
        self._holding.add(batcher)

    def release(self, batcher: Batcher[Any, Any]) -> None:
        self._holding.discard(batcher)


class _Entry(Generic[Item, Result]):
    """A submitted item and the future its submitter awaits."""

    __slots__ = ("future", "item", "size", "taken")

    def __init__(self, item: Item, future: asyncio.Future[Result], size: int) -> None:
        self.item = item
        self.future = future
        self.size = size
        self.taken = False  # out of the queue, into a batch


class Batcher(Generic[Item, Result]):
    """Sends submitted items in batches through ``send``: one RPC for a list of items, returning
    one outcome per item in order, an exception instance for an item that failed."""

    def __init__(
        self,
        send: Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]],
        *,
        max_items: int,
        max_bytes: int | None = None,
        size: Callable[[Item], int] | None = None,
        max_in_flight: int = 1,
        name: str = "",
        group: BatchGroup | None = None,
    ) -> None:
        if max_items < 1 or max_in_flight < 1:
            raise ValueError("max_items and max_in_flight must be at least 1")
        if max_bytes is not None and size is None:
            raise ValueError("max_bytes needs size, to know an item's bytes")
        self.name = name
        self._send = send
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._size = size
        self._max_in_flight = max_in_flight
        self._group = group
        # While a partial batch is held: the group's completions when the hold began, and the
        # timer that ends it at the latest.
        self._hold_from: int | None = None
        self._hold_timer: asyncio.TimerHandle | None = None
        self._queue: collections.deque[_Entry[Item, Result]] = collections.deque()
        self._queued_bytes = 0
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references
        self._flush_scheduled = False
        self._closed = False
        self._counts = dict.fromkeys(COUNTERS, 0)
        # The loop of the latest submit: looked up once per item, not once per call that needs it
        # (``get_running_loop`` makes a getpid system call each time on Python 3.11).
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, item: Item) -> Result:
        """This item's result once its batch is back; raises the item's exception if it failed."""
        if self._closed:
            raise BatcherClosed(f"batcher {self.name!r} is closed: no more submits")
        self._loop = loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        entry = _Entry(item, future, self._size(item) if self._size else 0)
        self._queue.append(entry)
        self._queued_bytes += entry.size
        self._schedule_flush()
        try:
            return await future
        except asyncio.CancelledError:
            if not entry.taken:  # nobody waits for it any more: it must never be sent
                self._queue.remove(entry)
                self._queued_bytes -= entry.size
                self._counts["items_cancelled"] += 1
            raise

    async def close(self) -> None:
        """Refuse new items, send what is queued and wait for every batch in flight; idempotent."""
        self._closed = True
        self._loop = asyncio.get_running_loop()
        self._end_hold()
        while self._queue or self._tasks:
            self._flush()
            if self._tasks:
                await asyncio.wait(set(self._tasks))

    @property
    def queued(self) -> int:  # items waiting for a batch
        return len(self._queue)

    @property
    def in_flight(self) -> int:  # batches taken and not settled yet, their single retries included
        return self._in_flight

    def counter_values(self) -> dict[str, int]:
        return dict(self._counts)

    # --- internals -----------------------------------------------------------------------------
    def _may_start(self) -> bool:
        if not self._queue or self._in_flight >= self._max_in_flight:
            return False
        return self._in_flight == 0 or self._full()

    def _full(self) -> bool:
        return len(self._queue) >= self._max_items or (
            self._max_bytes is not None and self._queued_bytes >= self._max_bytes
        )

    def _hold_for_group(self) -> bool:
        """Whether a partial batch that may start waits for the group now (see the module): starts
        the hold when another RPC of the group is in flight, ends it at the first completion
        since, or once the timer fired."""
        group = self._group
        if group is None or self._closed or self._full():
            return False
        if self._hold_from is None:  # not waiting yet: only if another RPC is in flight
            if group.in_flight == 0 or group.max_hold_seconds == 0:
                return False
            self._hold_from = group.completions
            self._hold_timer = self._running_loop().call_later(
                group.max_hold_seconds, self._hold_expired
            )
            group.hold(self)
            return True
        if group.completions > self._hold_from:
            self._end_hold()
            return False
        group.hold(self)
        return True

    def _hold_expired(self) -> None:
        self._hold_timer = None
        if not self._queue:  # its submitters left meanwhile
            self._end_hold()
            return
        self._hold_from = -1  # any count of completions ends it
        self._schedule_flush()

    def _end_hold(self) -> None:
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        self._hold_from = None
        if self._group is not None:
            self._group.release(self)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        # Set by ``submit`` and ``close``, the only ways anything gets flushed.
        assert self._loop is not None
        return self._loop

    def _schedule_flush(self) -> None:
        """Flush at the next loop iteration, so that every submit of this one joins the batch."""
        if not self._flush_scheduled and self._may_start():
            self._flush_scheduled = True
            self._running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        while self._may_start():
            if self._hold_for_group():
                return
            if self._hold_from is not None:  # full before the hold ended
                self._end_hold()
            batch = self._take_batch()
            self._in_flight += 1
            if self._group is not None:
                self._group.started()
            task = self._running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take_batch(self) -> list[_Entry[Item, Result]]:
        """The longest run from the head of the queue within the limits (at least one item)."""
        batch: list[_Entry[Item, Result]] = []
        size = 0
        while self._queue and len(batch) < self._max_items:
            entry = self._queue[0]
            if batch and self._max_bytes is not None and size + entry.size > self._max_bytes:
                break
            self._queue.popleft()
            entry.taken = True
            batch.append(entry)
            size += entry.size
        self._queued_bytes -= size
        return batch

    async def _run(self, batch: list[_Entry[Item, Result]]) -> None:
        try:
            # Submitters cancelled since the batch was taken (in the last loop iteration) are gone.
            live = [entry for entry in batch if not entry.future.done()]
            self._counts["items_cancelled"] += len(batch) - len(live)
            if live:
                await self._send_batch(live)
        finally:
            for entry in batch:  # still pending only if this task was cancelled (loop shutdown)
                entry.future.cancel()
            self._in_flight -= 1
            self._schedule_flush()
            if self._group is not None:
                self._group.completed()

    async def _send_batch(self, batch: list[_Entry[Item, Result]]) -> None:
        counts = self._counts
        counts["batches_sent"] += 1
        counts["items_sent"] += len(batch)
        counts["largest_batch"] = max(counts["largest_batch"], len(batch))
        outcomes: Sequence[Result | BaseException]
        try:
            outcomes = await self._send_checked(batch)
        except Exception as exc:
            if len(batch) > 1:  # one poison item must not fail the others: each goes alone
                await asyncio.gather(*(self._retry(entry) for entry in batch))
                return
            outcomes = [exc]
        for entry, outcome in zip(batch, outcomes, strict=True):
            self._settle(entry, outcome)

    async def _retry(self, entry: _Entry[Item, Result]) -> None:
        if entry.future.done():  # its submitter was cancelled while the batch was in flight
            return
        self._counts["items_retried_singly"] += 1
        outcome: Result | BaseException
        try:
            (outcome,) = await self._send_checked([entry])
        except Exception as exc:
            outcome = exc
        self._settle(entry, outcome)

    async def _send_checked(
        self, entries: list[_Entry[Item, Result]]
    ) -> Sequence[Result | BaseException]:
        """One RPC, one outcome per entry; raises only what ``send`` raised."""
        outcomes = await self._send([entry.item for entry in entries])
        if len(outcomes) != len(entries):
            message = f"batcher {self.name!r}: send returned {len(outcomes)} outcomes"
            return [SendContractError(f"{message} for {len(entries)} items") for _ in entries]
        return outcomes

    def _settle(self, entry: _Entry[Item, Result], outcome: Result | BaseException) -> None:
        # A future already done was cancelled by its submitter: the outcome is dropped.
        if isinstance(outcome, BaseException):
            self._counts["items_failed"] += 1
            if not entry.future.done():
                entry.future.set_exception(outcome)
        elif not entry.future.done():
            entry.future.set_result(outcome)
