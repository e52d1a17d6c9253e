"""The cross-request micro-batcher, on pure asyncio with fake RPCs: batching on completion (no
timer), limits, failure isolation, cancellation, close, and no leaks, hangs or lost exceptions.

Every test runs through ``run``, which fails when the event loop reports anything to its exception
handler ("Task/Future exception was never retrieved"...).
"""

from __future__ import annotations

import ast
import asyncio
import gc
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.service import batcher as batcher_module
from ingestion.service.batcher import Batcher, BatcherClosed, SendContractError

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` that also fails on whatever the loop reports to its exception handler, and
    after 10 s instead of hanging."""
    reported: list[dict[str, Any]] = []
    gc.freeze()  # what exists already: the collection below then looks at the run's objects only
    try:
        with asyncio.Runner() as runner:
            runner.get_loop().set_exception_handler(lambda loop, context: reported.append(context))
            result = runner.run(asyncio.wait_for(main, timeout=10))  # a hang fails, too
        gc.collect()  # an exception nobody retrieved is reported when its future is collected
    finally:
        gc.unfreeze()
    assert not reported, reported
    return result


async def ticks(count: int = 5) -> None:
    """Let the loop run ``count`` iterations: enough for every flush, send and wake-up due."""
    for _ in range(count):
        await asyncio.sleep(0)


class ItemFailed(Exception):
    pass


class Service:
    """A fake RPC: records the items of every call; ``poison`` items make a batch of several fail
    as a whole and fail alone too; ``failing`` items fail in their slot; ``held`` calls wait."""

    def __init__(
        self, *, poison: Iterable[str] = (), failing: Iterable[str] = (), held: bool = False
    ) -> None:
        self.calls: list[list[str]] = []
        self.poison = set(poison)
        self.failing = set(failing)
        self.released = asyncio.Event()
        if not held:
            self.released.set()

    async def send(self, items: list[str]) -> list[str | Exception]:
        self.calls.append(list(items))
        await self.released.wait()
        if self.poison.intersection(items):
            raise ConnectionError(f"rejected: {items}")
        return [ItemFailed(item) if item in self.failing else f"result:{item}" for item in items]


def start(batcher: Batcher[str, str], *items: str) -> list[asyncio.Task[str]]:
    return [asyncio.create_task(batcher.submit(item)) for item in items]


async def outcomes(tasks: list[asyncio.Task[str]]) -> list[Any]:
    return await asyncio.gather(*tasks, return_exceptions=True)


# --- flush on completion ---------------------------------------------------------------------
def test_a_submitter_alone_is_sent_at_once_in_one_rpc() -> None:
    async def main() -> None:
        sent_at: list[float] = []

        async def send(items: list[str]) -> list[str]:
            sent_at.append(time.perf_counter())
            return [item.upper() for item in items]

        batcher = Batcher(send, max_items=100)
        for number in range(20):  # one after the other: each alone, each without delay
            submitted_at = time.perf_counter()
            assert await batcher.submit(f"item{number}") == f"ITEM{number}"
            assert len(sent_at) == number + 1
            assert sent_at[-1] - submitted_at < 0.005
        assert batcher.counter_values()["largest_batch"] == 1

    run(main())


def test_the_submitters_of_one_loop_iteration_share_one_batch() -> None:
    async def main() -> None:
        service = Service(failing={"item7"})
        batcher = Batcher(service.send, max_items=100)
        items = [f"item{number}" for number in range(50)]
        results = await outcomes(start(batcher, *items))
        assert service.calls == [items]
        assert isinstance(results[7], ItemFailed) and results[7].args == ("item7",)
        assert results[:7] + results[8:] == [f"result:{item}" for item in items if item != "item7"]

    run(main())


def test_items_queue_while_a_batch_is_in_flight_and_go_out_when_it_completes() -> None:
    async def main() -> None:
        service = Service(held=True)
        batcher = Batcher(service.send, max_items=100)
        first = start(batcher, "a")
        await ticks()
        later = start(batcher, "b", "c")
        await ticks()
        later += start(batcher, "d")
        await ticks()
        assert service.calls == [["a"]]
        assert (batcher.in_flight, batcher.queued) == (1, 3)
        service.released.set()
        assert await outcomes(first + later) == ["result:a", "result:b", "result:c", "result:d"]
        assert service.calls == [["a"], ["b", "c", "d"]]
        assert (batcher.in_flight, batcher.queued) == (0, 0)

    run(main())


# --- limits ------------------------------------------------------------------------------------
def test_a_long_queue_is_split_within_max_items_one_batch_in_flight_at_a_time() -> None:
    async def main() -> None:
        service = Service(held=True)
        batcher = Batcher(service.send, max_items=10)
        items = [f"item{number}" for number in range(25)]
        tasks = start(batcher, *items)
        await ticks()
        assert [len(call) for call in service.calls] == [10]
        service.released.set()
        assert await outcomes(tasks) == [f"result:{item}" for item in items]
        assert [len(call) for call in service.calls] == [10, 10, 5]
        assert [item for call in service.calls for item in call] == items

    run(main())


def test_a_long_queue_is_split_within_max_bytes_and_a_large_item_goes_alone() -> None:
    async def main() -> None:
        service = Service()
        batcher = Batcher(service.send, max_items=100, max_bytes=100, size=len)
        items = ["a" * 40, "b" * 40, "c" * 30, "d" * 150, "e" * 60, "f" * 40, "g" * 1]
        assert await outcomes(start(batcher, *items)) == [f"result:{item}" for item in items]
        assert [[len(item) for item in call] for call in service.calls] == [
            [40, 40],
            [30],
            [150],
            [60, 40],
            [1],
        ]

    run(main())


def test_full_batches_may_go_out_beside_one_in_flight_but_a_partial_one_waits() -> None:
    async def main() -> None:
        service = Service(held=True)
        batcher = Batcher(service.send, max_items=10, max_in_flight=3)
        items = [f"item{number}" for number in range(25)]
        tasks = start(batcher, *items)
        await ticks()
        # Two full batches in flight; the last five wait although a third slot is free.
        assert [len(call) for call in service.calls] == [10, 10]
        assert (batcher.in_flight, batcher.queued) == (2, 5)
        service.released.set()
        assert await outcomes(tasks) == [f"result:{item}" for item in items]
        assert [len(call) for call in service.calls] == [10, 10, 5]

    run(main())


# --- failures ----------------------------------------------------------------------------------
def test_a_batch_that_fails_as_a_whole_is_retried_item_by_item() -> None:
    async def main() -> None:
        service = Service(poison={"p"})
        batcher = Batcher(service.send, max_items=100, name="publish")
        results = await outcomes(start(batcher, "a", "b", "p", "c"))
        assert results[:2] + results[3:] == ["result:a", "result:b", "result:c"]
        assert isinstance(results[2], ConnectionError)  # only the poison item's own retry failed
        assert service.calls == [["a", "b", "p", "c"], ["a"], ["b"], ["p"], ["c"]]
        assert batcher.counter_values() == {
            "batches_sent": 1,
            "items_sent": 4,
            "items_retried_singly": 4,
            "items_failed": 1,
            "items_cancelled": 0,
            "largest_batch": 4,
        }

    run(main())


def test_a_failed_batch_of_one_item_is_not_retried() -> None:
    async def main() -> None:
        service = Service(poison={"p"})
        batcher = Batcher(service.send, max_items=100)
        with pytest.raises(ConnectionError):
            await batcher.submit("p")
        assert service.calls == [["p"]]

    run(main())


def test_an_exception_in_a_slot_fails_that_item_only_without_retry() -> None:
    async def main() -> None:
        service = Service(failing={"b"})
        batcher = Batcher(service.send, max_items=100)
        results = await outcomes(start(batcher, "a", "b", "c"))
        assert results[0::2] == ["result:a", "result:c"]
        assert isinstance(results[1], ItemFailed)
        assert service.calls == [["a", "b", "c"]]
        assert batcher.counter_values()["items_failed"] == 1

    run(main())


def test_the_wrong_number_of_outcomes_fails_every_item_of_the_batch() -> None:
    async def main() -> None:
        async def send(items: list[str]) -> list[str]:
            return items[1:]

        batcher = Batcher(send, max_items=100, name="dedup-read")
        results = await outcomes(start(batcher, "a", "b", "c"))
        assert all(isinstance(result, SendContractError) for result in results)
        assert str(results[0]) == "batcher 'dedup-read': send returned 2 outcomes for 3 items"

    run(main())


# --- cancellation ------------------------------------------------------------------------------
def test_submitters_cancelled_while_queued_take_their_items_out() -> None:
    async def main() -> None:
        service = Service(held=True)
        batcher = Batcher(service.send, max_items=100, max_bytes=100, size=len)
        tasks = start(batcher, "a")
        await ticks()
        tasks += start(batcher, "b", "c", "d", "e", "f")
        await ticks()
        tasks[2].cancel()
        tasks[4].cancel()
        await ticks()
        assert batcher.queued == 3
        service.released.set()
        results = await outcomes(tasks)
        assert [task.cancelled() for task in tasks] == [False, False, True, False, True, False]
        assert [results[n] for n in (0, 1, 3, 5)] == [
            "result:a",
            "result:b",
            "result:d",
            "result:f",
        ]
        assert service.calls == [["a"], ["b", "d", "f"]]
        assert (batcher.queued, batcher.in_flight, batcher._queued_bytes) == (0, 0, 0)
        assert batcher.counter_values()["items_cancelled"] == 2

    run(main())


def test_a_submitter_cancelled_in_flight_lets_its_batch_go_on() -> None:
    async def main() -> None:
        service = Service(held=True)
        batcher = Batcher(service.send, max_items=100)
        tasks = start(batcher, "a", "b", "c")
        await ticks()
        tasks[1].cancel()
        service.released.set()
        results = await outcomes(tasks)
        assert tasks[1].cancelled()
        assert results[0::2] == ["result:a", "result:c"]
        assert service.calls == [["a", "b", "c"]]
        assert (batcher.queued, batcher.in_flight) == (0, 0)

    run(main())


def test_a_submitter_cancelled_in_a_batch_that_fails_as_a_whole_is_not_retried() -> None:
    async def main() -> None:
        service = Service(held=True, poison={"p"})
        batcher = Batcher(service.send, max_items=100)
        tasks = start(batcher, "a", "p", "c")
        await ticks()
        tasks[0].cancel()
        service.released.set()
        results = await outcomes(tasks)
        assert tasks[0].cancelled()
        assert isinstance(results[1], ConnectionError) and results[2] == "result:c"
        assert service.calls == [["a", "p", "c"], ["p"], ["c"]]

    run(main())


def test_a_batch_cancelled_at_loop_shutdown_cancels_its_submitters() -> None:
    async def main() -> None:
        service = Service(held=True)
        batcher = Batcher(service.send, max_items=100)
        tasks = start(batcher, "a", "b")
        await ticks()
        (batch,) = batcher._tasks  # as asyncio.run cancels what is left when it ends
        batch.cancel()
        await outcomes(tasks)
        assert all(task.cancelled() for task in tasks)
        assert (batcher.queued, batcher.in_flight) == (0, 0)

    run(main())


# --- close -------------------------------------------------------------------------------------
def test_close_sends_what_is_queued_waits_for_it_and_refuses_new_items() -> None:
    async def main() -> None:
        service = Service(held=True)
        batcher = Batcher(service.send, max_items=2, name="mark")
        tasks = start(batcher, "a", "b", "c")
        closing = asyncio.create_task(batcher.close())
        await ticks()
        assert not closing.done()
        service.released.set()
        await closing
        assert all(task.done() for task in tasks)
        assert service.calls == [["a", "b"], ["c"]]
        await batcher.close()  # idempotent
        with pytest.raises(BatcherClosed, match="batcher 'mark' is closed"):
            await batcher.submit("d")
        assert (batcher.queued, batcher.in_flight) == (0, 0)

    run(main())


def test_close_of_an_unused_batcher_returns_at_once() -> None:
    run(Batcher(Service().send, max_items=1).close())


# --- construction and layering ---------------------------------------------------------------
@pytest.mark.parametrize(
    "arguments",
    [{"max_items": 0}, {"max_items": 1, "max_in_flight": 0}, {"max_items": 1, "max_bytes": 10}],
)
def test_impossible_limits_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Batcher(Service().send, **arguments)


def test_the_batcher_imports_nothing_of_the_package() -> None:
    tree = ast.parse(Path(batcher_module.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("ingestion")
        elif isinstance(node, ast.Import):
            assert not any(alias.name.startswith("ingestion") for alias in node.names)


def test_run_fails_on_an_exception_nobody_retrieved() -> None:
    async def main() -> None:
        asyncio.get_running_loop().create_future().set_exception(ValueError("lost"))

    with pytest.raises(AssertionError, match="exception was never retrieved"):
        run(main())


# --- properties ----------------------------------------------------------------------------------
class BatchFailed(Exception):
    pass


@dataclass
class Call:
    items: list[int]
    raised: Exception | None = None
    outcomes: list[str | Exception] = field(default_factory=list)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_submitter_gets_its_own_outcome_whatever_the_interleaving(
    data: st.DataObject,
) -> None:
    count = data.draw(st.integers(1, 30), label="submitters")
    max_items = data.draw(st.integers(1, 8), label="max_items")
    max_bytes = data.draw(st.none() | st.integers(5, 40), label="max_bytes")
    max_in_flight = data.draw(st.integers(1, 3), label="max_in_flight")
    sizes = data.draw(st.lists(st.integers(1, 20), min_size=count, max_size=count), label="sizes")
    starts = data.draw(st.lists(st.integers(0, 6), min_size=count, max_size=count), label="starts")
    cancels = data.draw(
        st.lists(st.none() | st.integers(0, 12), min_size=count, max_size=count), label="cancels"
    )
    failing_slots = data.draw(st.sets(st.integers(0, count - 1)), label="failing slots")
    calls: list[Call] = []
    in_flight_seen: list[int] = []

    async def send(items: list[int]) -> list[str | Exception]:
        call = Call(list(items))
        calls.append(call)
        in_flight_seen.append(batcher.in_flight)
        for _ in range(data.draw(st.integers(0, 3), label="ticks in flight")):
            await asyncio.sleep(0)
        if data.draw(st.booleans(), label="whole batch fails"):
            call.raised = BatchFailed(len(calls))
            raise call.raised
        call.outcomes = [
            ItemFailed(item) if item in failing_slots else f"result:{item}" for item in items
        ]
        return call.outcomes

    batcher = Batcher(
        send,
        max_items=max_items,
        max_bytes=max_bytes,
        size=lambda item: sizes[item],
        max_in_flight=max_in_flight,
    )
    cancelled_after: dict[int, int] = {}  # item -> number of calls made when it was cancelled
    submitted: set[int] = set()

    async def submitter(item: int) -> str:
        await ticks(starts[item])
        submitted.add(item)
        return await batcher.submit(item)

    async def canceller(item: int, task: asyncio.Task[str], delay: int) -> None:
        await ticks(starts[item] + delay)
        if task.cancel():
            cancelled_after[item] = len(calls)

    async def main() -> list[Any]:
        tasks = [asyncio.create_task(submitter(item)) for item in range(count)]
        cancellers = [
            canceller(item, tasks[item], delay)
            for item, delay in enumerate(cancels)
            if delay is not None
        ]
        finished = asyncio.gather(*tasks, *cancellers, return_exceptions=True)
        results = (await asyncio.wait_for(finished, timeout=2))[:count]
        assert batcher.queued == 0
        assert sorted(item for item in range(count) if tasks[item].cancelled()) == sorted(
            cancelled_after
        )
        await asyncio.wait_for(batcher.close(), timeout=2)  # the batches of cancelled items
        assert (batcher.queued, batcher.in_flight) == (0, 0)
        return results

    results = run(main())

    expected_failures = 0
    for item in range(count):
        carrying = [call for call in calls if item in call.items]
        # Sent at most once, but for a single retry after its batch failed as a whole.
        assert len(carrying) <= 2
        if len(carrying) == 2:
            assert carrying[0].raised and len(carrying[0].items) > 1
            assert carrying[1].items == [item]
        if item in cancelled_after:
            assert all(item not in call.items for call in calls[cancelled_after[item] :])
            if carrying and carrying[-1].raised and len(carrying[-1].items) > 1:
                continue  # cancelled in a failed batch: not retried, never settled
        else:
            assert carrying, "a submitter that was not cancelled got an outcome without a send"
            if carrying[-1].raised and len(carrying[-1].items) > 1:
                raise AssertionError(f"item {item}: its batch failed and it was not retried")
        if carrying:
            last = carrying[-1]
            outcome = last.raised or last.outcomes[last.items.index(item)]
            expected_failures += isinstance(outcome, Exception)
            if item not in cancelled_after:
                assert results[item] == outcome  # exceptions compare by identity

    for call in calls:
        assert len(call.items) <= max_items
        if max_bytes is not None and len(call.items) > 1:
            assert sum(sizes[item] for item in call.items) <= max_bytes
    assert all(in_flight <= max_in_flight for in_flight in in_flight_seen)
    counts = batcher.counter_values()
    assert counts["items_sent"] + counts["items_retried_singly"] == sum(
        len(call.items) for call in calls
    )
    assert counts["items_failed"] == expected_failures
    sent = {item for call in calls for item in call.items}
    assert counts["items_cancelled"] == len(submitted & cancelled_after.keys() - sent)
