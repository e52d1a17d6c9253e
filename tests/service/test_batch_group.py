"""``BatchGroup``: a partial batch waits for one RPC of another batcher of its group when one is
in flight, so that the requests it releases join the batch; never when nothing else is in flight,
never for a full batch, never after ``close``, and never longer than ``max_hold_seconds``.

Pure asyncio with fake RPCs, through ``test_batcher.run`` (which fails on anything the loop
reports, and after 10 s instead of hanging).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_batcher import Service, outcomes, run, start, ticks

from ingestion.service.batcher import Batcher, BatchGroup

FOREVER = 60.0  # a cap no test waits for: a hold it allowed would hang into run's 10 s timeout


async def one_rpc_stuck(
    group: BatchGroup, max_items: int = 100
) -> tuple[Service, list[asyncio.Task[str]], Service, Batcher[str, str]]:
    """Batcher ``a`` of ``group`` with one RPC in flight until ``stuck.released`` is set (its
    submitter ``pending``), and a second batcher ``b`` of the group: (stuck, pending, other, b)."""
    stuck, other = Service(held=True), Service()
    a = Batcher(stuck.send, max_items=100, group=group)
    b = Batcher(other.send, max_items=max_items, group=group)
    pending = start(a, "a")
    await ticks()
    assert a.in_flight == 1
    return stuck, pending, other, b


def test_nothing_in_flight_nothing_held() -> None:
    async def main() -> None:
        group = BatchGroup(FOREVER)
        first, second = Service(), Service()
        checks = Batcher(first.send, max_items=100, group=group)
        publishes = Batcher(second.send, max_items=100, group=group)
        for number in range(5):  # one request at a time, each step alone: never held
            began = time.perf_counter()
            assert await checks.submit(f"r{number}") == f"result:r{number}"
            assert await publishes.submit(f"r{number}") == f"result:r{number}"
            assert time.perf_counter() - began < 0.5
        assert len(first.calls) == len(second.calls) == 5

    run(main())


def test_a_partial_batch_waits_for_the_requests_another_rpc_in_flight_releases() -> None:
    async def main() -> None:
        group = BatchGroup(FOREVER)
        first, second = Service(held=True), Service()
        checks = Batcher(first.send, max_items=100, group=group)
        publishes = Batcher(second.send, max_items=100, group=group)

        async def request(name: str) -> str:  # two steps, as the decoder's check then publish
            await checks.submit(name)
            return await publishes.submit(name)

        waiting = [asyncio.create_task(request(f"c{n}")) for n in range(3)]
        await ticks()
        assert first.calls == [["c0", "c1", "c2"]]  # the check in flight
        early = start(publishes, "p0", "p1")  # requests already past their check
        await ticks(20)
        assert second.calls == []  # held: a check is in flight
        assert publishes.queued == 2
        first.released.set()
        assert await outcomes(waiting + early) == [
            "result:c0",
            "result:c1",
            "result:c2",
            "result:p0",
            "result:p1",
        ]
        # One publish for both: the early ones and those the completed check released.
        assert second.calls == [["p0", "p1", "c0", "c1", "c2"]]

    run(main())


def test_a_hold_lasts_one_completion_not_until_the_group_is_idle() -> None:
    async def main() -> None:
        group = BatchGroup(FOREVER)
        slow, quick, third = Service(held=True), Service(held=True), Service()
        a = Batcher(slow.send, max_items=100, group=group)
        b = Batcher(quick.send, max_items=1, group=group)  # full: goes beside a
        c = Batcher(third.send, max_items=100, group=group)
        pending_a, pending_b = start(a, "a"), start(b, "b")
        await ticks()
        assert (a.in_flight, b.in_flight) == (1, 1)
        held = start(c, "c")
        await ticks(20)
        assert third.calls == []
        quick.released.set()  # b completes; a is still in flight
        assert await outcomes(pending_b + held) == ["result:b", "result:c"]
        assert third.calls == [["c"]]
        assert a.in_flight == 1
        slow.released.set()
        assert await outcomes(pending_a) == ["result:a"]

    run(main())


def test_the_hold_ends_after_max_hold_seconds_if_nothing_completes() -> None:
    async def main() -> None:
        stuck, pending, other, b = await one_rpc_stuck(BatchGroup(0.05))
        began = time.perf_counter()
        assert await b.submit("b") == "result:b"
        assert 0.04 <= time.perf_counter() - began < 2
        assert not pending[0].done()  # still in flight: the cap ended the hold
        assert other.calls == [["b"]]
        stuck.released.set()
        await outcomes(pending)

    run(main())


def test_a_full_batch_a_zero_cap_and_a_closing_batcher_are_never_held() -> None:
    async def main() -> None:
        for case in ("full", "zero cap", "close"):
            group = BatchGroup(0 if case == "zero cap" else FOREVER)
            stuck, pending, other, b = await one_rpc_stuck(group, max_items=3)
            items = ["b0", "b1", "b2"] if case == "full" else ["b0"]
            waiting = start(b, *items)
            if case == "close":
                await ticks()
                assert (other.calls, group.holding) == ([], 1)  # held, until close sends it
                await b.close()
                assert group.holding == 0
            assert await outcomes(waiting) == [f"result:{item}" for item in items], case
            assert other.calls == [items], case
            stuck.released.set()
            await outcomes(pending)

    run(main())


def test_a_held_submitter_cancelled_leaves_nothing_behind() -> None:
    async def main() -> None:
        group = BatchGroup(0.02)
        stuck, pending, other, b = await one_rpc_stuck(group)
        held = start(b, "b")
        await ticks()
        held[0].cancel()
        await asyncio.sleep(0.05)  # past the cap: its timer fires on an empty queue
        assert (b.queued, b.in_flight, other.calls) == (0, 0, [])
        assert b.counter_values()["items_cancelled"] == 1
        assert group.holding == 0
        assert await b.submit("later") == "result:later"  # held again, then sent alone
        assert other.calls == [["later"]]
        stuck.released.set()
        await outcomes(pending)

    run(main())


@pytest.mark.parametrize("cap", [-1.0, -0.001])
def test_a_negative_cap_is_refused(cap: float) -> None:
    with pytest.raises(ValueError, match="max_hold_seconds"):
        BatchGroup(cap)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_requests_through_grouped_steps_all_finish_each_item_sent_once(
    data: st.DataObject,
) -> None:
    """Requests through three grouped steps (check, publish, mark), arriving at random, RPCs of
    random length, some requests cancelled: with a cap no test waits for, every request that was
    not cancelled finishes (a hold always ends with a completion), each of its steps sent once,
    and the batchers end empty."""
    count = data.draw(st.integers(1, 25), label="requests")
    arrivals = data.draw(st.lists(st.integers(0, 8), min_size=count, max_size=count))
    cancels = data.draw(st.lists(st.none() | st.integers(0, 15), min_size=count, max_size=count))
    max_items = data.draw(st.integers(1, 10), label="max_items")
    group = BatchGroup(FOREVER)
    calls: dict[str, list[list[str]]] = {"check": [], "publish": [], "mark": []}

    def step(kind: str) -> Batcher[str, str]:
        async def send(items: list[str]) -> list[str]:
            calls[kind].append(list(items))
            for _ in range(data.draw(st.integers(0, 4), label=f"{kind} ticks")):
                await asyncio.sleep(0)
            return [f"{kind}:{item}" for item in items]

        return Batcher(send, max_items=max_items, name=kind, group=group)

    steps = [step(kind) for kind in calls]

    async def request(number: int) -> list[str]:
        await ticks(arrivals[number])
        return [await batcher.submit(f"r{number}") for batcher in steps]

    async def main() -> list[object]:
        tasks = [asyncio.create_task(request(number)) for number in range(count)]

        async def cancel(task: asyncio.Task[list[str]], after: int) -> None:
            await ticks(after)
            task.cancel()

        cancellers = [
            cancel(tasks[n], after) for n, after in enumerate(cancels) if after is not None
        ]
        finished = asyncio.gather(*tasks, *cancellers, return_exceptions=True)
        results = (await asyncio.wait_for(finished, timeout=5))[:count]
        for batcher in steps:
            assert (batcher.queued, batcher.in_flight) == (0, 0)
        assert (group.in_flight, group.holding) == (0, 0)  # no batcher kept past its hold
        return results

    results = run(main())
    for number, result in enumerate(results):
        if isinstance(result, asyncio.CancelledError):
            continue
        assert result == [f"{kind}:r{number}" for kind in calls]
    for kind, kind_calls in calls.items():
        sent = [item for call in kind_calls for item in call]
        assert len(sent) == len(set(sent)), f"{kind}: an item sent twice"
        assert all(len(call) <= max_items for call in kind_calls)
