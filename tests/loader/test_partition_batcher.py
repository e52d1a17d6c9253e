"""The loader's batching core on pure asyncio: when a batch is written (count, bytes, age,
close), what a failed write fails (exactly its batch), what a cancelled request leaves (nothing),
how memory is bounded, and, as properties, that every message is accounted for."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.core.message import Message
from ingestion.loader.batches import (
    FlushPolicy,
    Overloaded,
    PartitionBatcher,
    WriteFailed,
    line_size,
)
from loader.loader_support import run

LONG = 3600.0  # an age limit no test reaches: a batch it writes was written by another rule


def message(number: int, size: int = 10) -> Message:
    return Message({"n": str(number)}, b"x" * size)


class Writes:
    """Records each batch written; a batch holding a message whose ``n`` is in ``poison``
    fails; ``gate`` (when set) holds every write until opened."""

    def __init__(self, poison: frozenset[str] = frozenset()) -> None:
        self.batches: list[tuple[Hashable, list[str]]] = []
        self.failed: list[tuple[Hashable, list[str]]] = []
        self.poison = poison
        self.gate: asyncio.Event | None = None

    async def __call__(self, key: Hashable, messages: Sequence[Message]) -> None:
        numbers = [m.attributes["n"] for m in messages]
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)
        if self.poison.intersection(numbers):
            self.failed.append((key, numbers))
            raise OSError("bucket unreachable")
        self.batches.append((key, numbers))


def test_a_batch_is_written_at_max_messages_without_waiting_for_its_age():
    async def main() -> list:
        writes = Writes()
        batcher = PartitionBatcher(writes, FlushPolicy(max_messages=3, max_age_seconds=LONG))
        await asyncio.gather(*(batcher.submit("p", message(i)) for i in range(6)))
        return writes.batches

    assert run(main()) == [("p", ["0", "1", "2"]), ("p", ["3", "4", "5"])]


def test_a_batch_is_written_at_max_bytes():
    async def main() -> list:
        writes = Writes()
        limit = 2 * line_size(message(0, 100))
        policy = FlushPolicy(max_messages=1000, max_bytes=limit, max_age_seconds=LONG)
        batcher = PartitionBatcher(writes, policy)
        await asyncio.gather(*(batcher.submit("p", message(i, 100)) for i in range(4)))
        return writes.batches

    assert run(main()) == [("p", ["0", "1"]), ("p", ["2", "3"])]


def test_a_quiet_partition_is_written_after_its_age_in_one_object():
    async def main() -> tuple[list, int]:
        writes = Writes()
        batcher = PartitionBatcher(writes, FlushPolicy(max_messages=1000, max_age_seconds=0.05))
        await asyncio.gather(*(batcher.submit("p", message(i)) for i in range(5)))
        return writes.batches, batcher.partitions

    batches, waiting = run(main())
    assert batches == [("p", ["0", "1", "2", "3", "4"])]  # one object, never one per message
    assert waiting == 0


def test_partitions_are_batched_separately():
    async def main() -> list:
        writes = Writes()
        batcher = PartitionBatcher(writes, FlushPolicy(max_messages=2, max_age_seconds=LONG))
        await asyncio.gather(*(batcher.submit(f"p{i % 2}", message(i)) for i in range(4)))
        return sorted(writes.batches)

    assert run(main()) == [("p0", ["0", "2"]), ("p1", ["1", "3"])]


def test_a_failed_write_fails_every_request_of_its_batch_and_only_those():
    async def main() -> tuple[list, list, list]:
        writes = Writes(poison=frozenset({"1"}))
        batcher = PartitionBatcher(writes, FlushPolicy(max_messages=3, max_age_seconds=LONG))
        outcomes = await asyncio.gather(
            *(batcher.submit(f"p{i // 3}", message(i)) for i in range(6)),
            return_exceptions=True,
        )
        return outcomes, writes.batches, writes.failed

    outcomes, batches, failed = run(main())
    assert [type(o).__name__ for o in outcomes] == ["WriteFailed"] * 3 + ["NoneType"] * 3
    assert failed == [("p0", ["0", "1", "2"])]  # tried once, as a whole: no object per message
    assert batches == [("p1", ["3", "4", "5"])]
    assert isinstance(outcomes[0], WriteFailed) and "bucket unreachable" in str(outcomes[0])


def test_a_cancelled_request_leaves_nothing_queued_and_is_never_written():
    async def main() -> tuple[list, int, int, dict]:
        writes = Writes()
        batcher = PartitionBatcher(writes, FlushPolicy(max_messages=3, max_age_seconds=LONG))
        leaving = asyncio.ensure_future(batcher.submit("p", message(0)))
        lone = asyncio.ensure_future(batcher.submit("q", message(9)))
        await asyncio.sleep(0)
        leaving.cancel()
        lone.cancel()
        await asyncio.gather(leaving, lone, return_exceptions=True)
        partitions, queued = batcher.partitions, batcher.queued_bytes
        await asyncio.gather(*(batcher.submit("p", message(i)) for i in (1, 2, 3)))
        return writes.batches, partitions, queued, batcher.counter_values()

    batches, partitions, queued, counters = run(main())
    assert partitions == 0 and queued == 0  # nothing left behind, not even an empty partition
    assert batches == [("p", ["1", "2", "3"])]  # the cancelled message is in no object
    assert counters["messages_cancelled"] == 2


def test_a_request_cancelled_while_its_batch_is_written_does_not_stop_the_others():
    async def main() -> tuple[list, list]:
        writes = Writes()
        writes.gate = asyncio.Event()
        batcher = PartitionBatcher(writes, FlushPolicy(max_messages=2, max_age_seconds=LONG))
        first = asyncio.ensure_future(batcher.submit("p", message(0)))
        second = asyncio.ensure_future(batcher.submit("p", message(1)))
        await asyncio.sleep(0.01)  # the batch is taken and its write waits at the gate
        first.cancel()
        writes.gate.set()
        outcomes = await asyncio.gather(first, second, return_exceptions=True)
        return [type(o).__name__ for o in outcomes], writes.batches

    outcomes, batches = run(main())
    assert outcomes == ["CancelledError", "NoneType"]
    assert batches == [("p", ["0", "1"])]  # already being written: written, outcome dropped


def test_memory_is_bounded_and_freed_once_written():
    async def main() -> tuple[str, list]:
        writes = Writes()
        writes.gate = asyncio.Event()
        bound = line_size(message(0, 1000)) + 10
        batcher = PartitionBatcher(
            writes, FlushPolicy(max_messages=1, max_age_seconds=LONG), max_queued_bytes=bound
        )
        held = asyncio.ensure_future(batcher.submit("p", message(0, 1000)))
        await asyncio.sleep(0)
        with pytest.raises(Overloaded) as refused:
            await batcher.submit("p", message(1, 1000))
        writes.gate.set()
        await held
        await batcher.submit("p", message(2, 1000))  # room again once the first was written
        return str(refused.value), writes.batches

    refused, batches = run(main())
    assert "queued" in refused
    assert batches == [("p", ["0"]), ("p", ["2"])]


def test_a_message_larger_than_the_bound_goes_alone_when_nothing_is_queued():
    async def main() -> list:
        writes = Writes()
        batcher = PartitionBatcher(writes, FlushPolicy(max_age_seconds=0.01), max_queued_bytes=10)
        await batcher.submit("p", message(0, 1000))
        return writes.batches

    assert run(main()) == [("p", ["0"])]


def test_close_writes_every_batch_now_and_refuses_new_messages():
    async def main() -> tuple[list, list]:
        writes = Writes()
        batcher = PartitionBatcher(writes, FlushPolicy(max_age_seconds=LONG))
        pending = [asyncio.ensure_future(batcher.submit(f"p{i}", message(i))) for i in range(3)]
        await asyncio.sleep(0)
        await batcher.close()
        await asyncio.gather(*pending)
        with pytest.raises(RuntimeError, match="closed"):
            await batcher.submit("p", message(9))
        return sorted(writes.batches), [task.done() for task in pending]

    batches, done = run(main())
    assert batches == [("p0", ["0"]), ("p1", ["1"]), ("p2", ["2"])]
    assert all(done)


def test_flush_limits_must_be_positive():
    with pytest.raises(ValueError):
        FlushPolicy(max_messages=0)
    with pytest.raises(ValueError):
        FlushPolicy(max_age_seconds=0)


# --- every message accounted for, whatever the mix of partitions, failures and cancellations ---
submissions = st.lists(
    st.tuples(st.integers(0, 3), st.booleans(), st.booleans()),  # partition, poison, cancel
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(submissions, st.integers(1, 7), st.integers(0, 3))
def test_every_message_is_written_failed_or_withdrawn_exactly_as_its_request_says(
    plan, max_messages, cancel_after_ticks
):
    async def main() -> tuple[list, Writes, PartitionBatcher]:
        poison = frozenset(str(i) for i, (_, bad, _) in enumerate(plan) if bad)
        writes = Writes(poison)
        batcher = PartitionBatcher(
            writes, FlushPolicy(max_messages=max_messages, max_age_seconds=0.005)
        )
        tasks = [
            asyncio.ensure_future(batcher.submit(f"p{partition}", message(i)))
            for i, (partition, _, _) in enumerate(plan)
        ]
        for _ in range(cancel_after_ticks):
            await asyncio.sleep(0)
        for task, (_, _, cancel) in zip(tasks, plan, strict=True):
            if cancel:
                task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        await batcher.close()
        return outcomes, writes, batcher

    outcomes, writes, batcher = run(main())
    written = [n for _, numbers in writes.batches for n in numbers]
    failed = [n for _, numbers in writes.failed for n in numbers]
    assert len(written) == len(set(written))  # no message in two objects
    for index, outcome in enumerate(outcomes):
        number = str(index)
        if outcome is None:  # acknowledged: in exactly one written object, in its partition
            assert written.count(number) == 1
            assert any(number in ns and key == f"p{plan[index][0]}" for key, ns in writes.batches)
        elif isinstance(outcome, WriteFailed):  # redelivered: its batch failed, as a whole
            assert number in failed and number not in written
        else:  # cancelled: never written, unless its batch was already being written
            assert isinstance(outcome, asyncio.CancelledError)
    for _, numbers in writes.batches + writes.failed:
        assert len(numbers) <= max_messages
    assert batcher.queued_bytes == 0 and batcher.partitions == 0
