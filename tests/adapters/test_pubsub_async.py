"""``AsyncPubSubSink`` against an in-memory Publish RPC, batched by the real ``Batcher``: shared
RPCs, failure isolation, rerouting, request limits, cancellation, eviction and counters. The
emulator is in tests/integration/test_pubsub_async.py."""

from __future__ import annotations

import asyncio
import gzip
import random
from collections.abc import Coroutine, Iterable
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest

from ingestion.adapters import pubsub_async
from ingestion.adapters.pubsub_async import (
    MAX_REQUEST_MESSAGES,
    PUBLISH_TIMEOUT_SECONDS,
    AsyncPubSubSink,
    message_size,
    publish_retry,
)
from ingestion.adapters.pubsub_output import MAX_REQUEST_BYTES, Outgoing
from ingestion.adapters.pubsub_sink import DeliveryFailed
from ingestion.core.message import Message
from ingestion.service.batcher import Batcher, BatcherClosed

api_exceptions = pytest.importorskip("google.api_core.exceptions")
pubsub_types = pytest.importorskip("google.pubsub_v1.types")

T = TypeVar("T")
PROJECT = "p"


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` that fails after 10 s instead of hanging, and on anything the loop reports
    to its exception handler (an exception nobody retrieved, a task destroyed while pending)."""
    reported: list[dict[str, Any]] = []
    with asyncio.Runner() as runner:
        runner.get_loop().set_exception_handler(lambda loop, context: reported.append(context))
        result = runner.run(asyncio.wait_for(main, timeout=10))
    assert not reported, reported
    return result


async def ticks(count: int = 5) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


class FakeClient:
    """Records each Publish RPC as (topic name, [(data, attributes)]). ``missing`` topics answer
    NotFound; an RPC carrying a message whose data is in ``poison`` fails as a whole; while
    ``held``, RPCs wait for ``released``."""

    def __init__(
        self, missing: Iterable[str] = (), poison: Iterable[bytes] = (), held: bool = False
    ) -> None:
        self.missing = set(missing)
        self.poison = set(poison)
        self.calls: list[tuple[str, list[tuple[bytes, dict[str, str]]]]] = []
        self.options: list[tuple[Any, float]] = []
        self.released = asyncio.Event()
        if not held:
            self.released.set()

    async def publish(self, *, topic: str, messages: list[Any], retry: Any, timeout: float) -> Any:
        name = topic.rsplit("/", 1)[-1]
        first = sum(len(batch) for _, batch in self.calls)
        self.calls.append((name, [(m.data, dict(m.attributes)) for m in messages]))
        self.options.append((retry, timeout))
        await self.released.wait()
        if name in self.missing:
            raise api_exceptions.NotFound(f"Topic not found: {name}")
        if self.poison.intersection(m.data for m in messages):
            raise api_exceptions.InvalidArgument("poison")
        return SimpleNamespace(message_ids=[str(first + n) for n in range(len(messages))])

    def sizes(self, name: str) -> list[int]:
        return [len(batch) for topic, batch in self.calls if topic == name]


class Factory:
    """The composition root's factory: the real ``Batcher``, remembered by topic name."""

    def __init__(self) -> None:
        self.made: dict[str, Batcher[Outgoing, str]] = {}

    def __call__(self, send: Any, **options: Any) -> Batcher[Outgoing, str]:
        batcher: Batcher[Outgoing, str] = Batcher(send, **options)
        self.made[options["name"].rsplit("/", 1)[-1]] = batcher
        return batcher


def sink(client: FakeClient, factory: Factory | None = None, **options: Any) -> AsyncPubSubSink:
    options.setdefault("output_compression", "none")
    return AsyncPubSubSink(client, project=PROJECT, make_batcher=factory or Factory(), **options)


def decoded(doctype: str = "main", payload: bytes = b"{}", **attributes: str) -> Message:
    return Message({"document_namespace": "ns", "document_type": doctype, **attributes}, payload)


def error(payload: bytes = b"x") -> Message:
    return Message({"error_type": "ParsePayload"}, payload)


async def outcomes(*delivers: Coroutine[Any, Any, None]) -> list[BaseException | None]:
    return await asyncio.gather(*delivers, return_exceptions=True)


# --- requests share Publish RPCs -------------------------------------------------------------
def test_concurrent_delivers_share_one_rpc_per_topic() -> None:
    async def main() -> None:
        client = FakeClient()
        out = sink(client, error_topic="errors", debug_topic="debug")
        delivers = [
            out.deliver([decoded(payload=b"%d" % n, x_debug_id="")], [error(b"e%d" % n)])
            for n in range(50)
        ]
        assert await outcomes(*delivers) == [None] * 50
        # One RPC a topic for all fifty requests: 50 decoded, their 50 debug copies, 50 errors.
        assert sorted((topic, len(batch)) for topic, batch in client.calls) == [
            ("debug", 50),
            ("decoded", 50),
            ("errors", 50),
        ]
        assert out.published == {"decoded": 50, "error": 50, "debug": 50}

    run(main())


def test_requests_arriving_during_an_rpc_share_the_next_one() -> None:
    async def main() -> None:
        client = FakeClient(held=True)
        out = sink(client)
        first = asyncio.create_task(out.deliver([decoded(payload=b"first")], []))
        await ticks()
        later = [
            asyncio.create_task(out.deliver([decoded(payload=b"%d" % n)], [])) for n in range(30)
        ]
        await ticks()
        assert client.sizes("decoded") == [1]
        client.released.set()
        assert await outcomes(first, *later) == [None] * 31
        assert client.sizes("decoded") == [1, 30]
        assert [data for data, _ in client.calls[1][1]] == [b"%d" % n for n in range(30)]

    run(main())


def test_the_rpc_carries_payload_attributes_deadline_and_retry() -> None:
    async def main() -> None:
        client = FakeClient()
        out = sink(client, output_compression="gzip", job_name="j")
        message = decoded(payload=b'{"a":1}', remote_addr="192.0.2.1")
        await out.deliver([message], [error()])
        (_, [(data, attributes)]), (_, [(_, error_attributes)]) = sorted(client.calls)
        assert gzip.decompress(data) == b'{"a":1}'
        assert attributes == {"document_namespace": "ns", "document_type": "main"}
        assert error_attributes == {"error_type": "ParsePayload", "input_type": "pubsub",
                                    "job_name": "j"}  # fmt: skip
        for retry, timeout in client.options:
            assert timeout == PUBLISH_TIMEOUT_SECONDS
            assert 0 < retry.timeout < timeout  # the retries end before the RPC's deadline

    run(main())


def test_the_retry_covers_transient_codes_only() -> None:
    retry = publish_retry(5.0)
    assert retry.timeout == 5.0
    assert retry._predicate(api_exceptions.ServiceUnavailable("x"))
    assert retry._predicate(api_exceptions.DeadlineExceeded("x"))
    assert not retry._predicate(api_exceptions.NotFound("x"))
    assert not retry._predicate(api_exceptions.InvalidArgument("x"))


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_the_publish_timeout_must_be_positive(timeout: float) -> None:
    with pytest.raises(ValueError, match="publish_timeout"):
        sink(FakeClient(), publish_timeout=timeout)


def test_an_empty_delivery_sends_nothing() -> None:
    client = FakeClient()
    run(sink(client).deliver([], []))
    assert client.calls == []


# --- failures ----------------------------------------------------------------------------------
def test_a_failed_rpc_fails_only_the_requests_whose_items_it_carried() -> None:
    async def main() -> None:
        client = FakeClient(poison={b"3"})
        factory = Factory()
        out = sink(client, factory)
        delivers = [out.deliver([decoded(payload=b"%d" % n)], [error()]) for n in range(10)]
        results = await outcomes(*delivers)
        # The batch of ten failed; each went alone, and only the poison one failed again.
        assert client.sizes("decoded") == [10] + [1] * 10
        assert client.sizes("decoder-errors") == [10]  # the other topic's RPC was not touched
        failed = results.pop(3)
        assert results == [None] * 9
        assert isinstance(failed, DeliveryFailed)
        assert (failed.failed, failed.attempted) == (1, 2)
        assert isinstance(failed.first_cause, api_exceptions.InvalidArgument)
        assert "1 of 2" in str(failed)
        # The request's error output was still published before it raised.
        assert out.published == {"decoded": 9, "error": 10}
        counts = factory.made["decoded"].counter_values()
        assert (counts["items_retried_singly"], counts["items_failed"]) == (10, 1)

    run(main())


def test_a_missing_decoded_topic_reroutes_and_no_item_goes_alone() -> None:
    async def main() -> None:
        client = FakeClient(missing={"t-nope"})
        out = sink(client, decoded_topic="t-${document_type}")
        delivers = [out.deliver([decoded("nope", b"%d" % n)], []) for n in range(5)]
        assert await outcomes(*delivers, out.deliver([decoded("main")], [])) == [None] * 6
        assert client.sizes("t-nope") == [5]  # NotFound is the topic's: no single retries
        assert client.sizes("t-main") == [1]
        assert client.sizes("decoder-errors") == [5]
        (_, rerouted) = client.calls[-1]
        assert {attributes["error_type"] for _, attributes in rerouted} == {"DecodedTopicNotFound"}
        assert {attributes["document_type"] for _, attributes in rerouted} == {"nope"}
        assert out.rerouted == {"DecodedTopicNotFound": 5}
        assert out.published == {"decoded": 1, "error": 5}

    run(main())


def test_an_invalid_decoded_topic_name_goes_to_the_error_topic() -> None:
    client = FakeClient()
    out = sink(client, decoded_topic="${document_namespace}-${document_type}")
    run(out.deliver([Message({"document_namespace": "no spaces", "document_type": "t"}, b"")], []))
    [(topic, [(_, attributes)])] = client.calls
    assert (topic, attributes["error_type"]) == ("decoder-errors", "InvalidDecodedTopic")
    assert out.counter_values()["rerouted:InvalidDecodedTopic"] == 1


def test_a_missing_error_topic_raises_delivery_failed_once_everything_settled() -> None:
    async def main() -> None:
        client = FakeClient(missing={"decoder-errors"})
        out = sink(client)
        with pytest.raises(DeliveryFailed) as raised:
            await out.deliver([decoded()], [error(), error(b"y")])
        assert (raised.value.failed, raised.value.attempted) == (2, 3)
        assert isinstance(raised.value.first_cause, api_exceptions.NotFound)
        assert out.published == {"decoded": 1}
        with pytest.raises(DeliveryFailed, match="1 of 1"):  # a request's one message
            await out.deliver([], [error()])

    run(main())


# --- Pub/Sub's request limits ----------------------------------------------------------------
def test_batches_stay_within_the_message_limit() -> None:
    async def main() -> None:
        client = FakeClient()
        out = sink(client)
        delivers = [out.deliver([decoded(payload=b"%d" % n)], []) for n in range(2500)]
        assert await outcomes(*delivers) == [None] * 2500
        assert client.sizes("decoded") == [MAX_REQUEST_MESSAGES, MAX_REQUEST_MESSAGES, 500]

    run(main())


def test_batches_stay_within_the_byte_limit() -> None:
    async def main() -> None:
        client = FakeClient()
        out = sink(client)
        payloads = [bytes([n]) * 2_000_000 for n in range(10)]
        assert (
            await outcomes(*(out.deliver([decoded(payload=p)], []) for p in payloads))
            == [None] * 10
        )
        assert client.sizes("decoded") == [4, 4, 2]
        for _, batch in client.calls:
            assert sum(message_size(Outgoing("decoded", "t", d, a)) for d, a in batch) <= (
                MAX_REQUEST_BYTES
            )

    run(main())


def test_message_size_bounds_what_the_message_adds_to_the_request() -> None:
    rng = random.Random(7)
    alphabet = "aé€😀-_"
    for _ in range(200):
        attributes = {
            "".join(rng.choices(alphabet, k=rng.randint(1, 64))): "".join(
                rng.choices(alphabet, k=rng.randint(0, 256))
            )
            for _ in range(rng.randint(0, 100))
        }
        item = Outgoing("decoded", "t", rng.randbytes(rng.choice([0, 100, 20_000])), attributes)
        one = pubsub_types.PubsubMessage(data=item.data, attributes=item.attributes)
        empty = pubsub_types.PublishRequest(topic="projects/p/topics/t")
        request = pubsub_types.PublishRequest(topic="projects/p/topics/t", messages=[one])
        added = request._pb.ByteSize() - empty._pb.ByteSize()
        assert added <= message_size(item) <= added + 10 + 6 * len(attributes)


# --- cancellation, eviction, close -------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "wait", "queued"),
    [(1, 1, 1), (2, 1, 0), (2, 5, 2)],
    ids=["one-message", "before-its-submits-ran", "queued"],
)
def test_a_cancelled_deliver_leaves_nothing_queued(count: int, wait: int, queued: int) -> None:
    async def main() -> None:
        client = FakeClient(held=True)
        factory = Factory()
        out = sink(client, factory)
        first = asyncio.create_task(out.deliver([decoded(payload=b"first")], []))
        await ticks()
        messages = [decoded(payload=b"%d" % n) for n in range(count)]
        cancelled = asyncio.create_task(out.deliver(messages, []))
        await ticks(wait)
        assert factory.made["decoded"].queued == queued
        cancelled.cancel()
        await ticks()
        assert cancelled.cancelled()
        assert factory.made["decoded"].queued == 0
        client.released.set()
        await first
        await out.close()
        assert client.calls == [("decoded", [(b"first", decoded().attributes)])]
        assert out.published == {"decoded": 1}

    run(main())


def test_topic_batchers_are_capped_and_evicted_ones_closed_with_their_counts_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pubsub_async, "MAX_TOPIC_BATCHERS", 3)

    async def main() -> None:
        client = FakeClient()
        factory = Factory()
        out = sink(client, factory, decoded_topic="t-${document_type}")
        for doctype in ["a", "b", "c", "a", "d", "e"]:
            await out.deliver([decoded(doctype)], [])
            assert len(out._batchers) <= 3
        await ticks()
        # "b" was the least recently used when "d" came ("a" was used again), then "c".
        assert [topic.rsplit("-", 1)[-1] for topic in out._batchers] == ["a", "d", "e"]
        for evicted in ("t-b", "t-c"):
            with pytest.raises(BatcherClosed):
                await factory.made[evicted].submit(Outgoing("decoded", "t", b"", {}))
        counts = out.counter_values()
        assert (counts["batch:decoded:items_sent"], counts["published:decoded"]) == (6, 6)

    run(main())


def test_close_sends_what_is_queued_and_refuses_later_delivers() -> None:
    async def main() -> None:
        client = FakeClient(held=True)
        out = sink(client)
        delivers = [
            asyncio.create_task(out.deliver([decoded(payload=b"%d" % n)], [])) for n in range(3)
        ]
        await ticks()
        await ticks()
        closing = asyncio.create_task(out.close())
        await ticks()
        assert not closing.done()
        client.released.set()
        await closing
        assert await outcomes(*delivers) == [None] * 3
        with pytest.raises(RuntimeError, match="closed"):
            await out.deliver([decoded()], [])

    run(main())


# --- counters -----------------------------------------------------------------------------------
def test_counters_merge_the_preparer_and_the_batchers_by_topic_kind() -> None:
    async def main() -> None:
        client = FakeClient()
        out = sink(client, decoded_topic="t-${document_type}")
        delivers = [out.deliver([decoded(doctype)], []) for doctype in "aaab"]
        await outcomes(*delivers, out.deliver([], [error()]))
        counts = out.counter_values()
        assert counts["published:decoded"] == 4
        assert counts["batch:decoded:batches_sent"] == 2  # one for t-a, one for t-b
        assert counts["batch:decoded:items_sent"] == 4
        assert counts["batch:decoded:largest_batch"] == 3  # the largest, not a sum
        assert counts["batch:error:items_sent"] == 1
        assert not any("t-a" in name or "/" in name for name in counts)

    run(main())
