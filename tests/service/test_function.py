"""The function's request handling without the framework: ack, redeliver, unreadable requests, and
the adapters' counters logged through one protocol (the emulator tests cover the real clients)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Sequence

import pytest

from ingestion.context import Context, ContextConfig, build_context
from ingestion.core.errors import TransientFailure
from ingestion.core.message import Message
from ingestion.observability import OutcomeCounters
from ingestion.service.async_decoder import AsyncDecoderService
from ingestion.service.function import OK, RETRY, DecoderFunction
from support import BASELINE


class Sink:
    def __init__(self) -> None:
        self.errors: list[Message] = []
        self.decoded: list[Message] = []
        self.failing = False

    async def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        if self.failing:
            raise TransientFailure("topic unreachable")
        self.decoded += decoded
        self.errors += errors

    def counter_values(self) -> dict[str, int]:
        return {"published:error": len(self.errors)}


@pytest.fixture(scope="module")
def context():
    return build_context(ContextConfig())


def function(context: Context, sink: Sink) -> DecoderFunction:
    async def current() -> Context:
        return context

    service = AsyncDecoderService(current, sink, counters=OutcomeCounters(interval=0))
    return DecoderFunction(service, {"sink": sink})


def handle(handler: DecoderFunction, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    return asyncio.run(handler.handle(body, headers))


def push(data: bytes, **attributes: str) -> bytes:
    message = {"data": base64.b64encode(data).decode(), "attributes": attributes, "messageId": "7"}
    return json.dumps({"message": message, "subscription": "s"}).encode()


def test_a_rejection_is_acknowledged_and_a_delivery_failure_redelivered(context):
    sink = Sink()
    handler = function(context, sink)
    assert handle(handler, push(b"{}", uri="/nonsense"), {})[0] == OK
    assert [e.attributes["error_type"] for e in sink.errors] == ["ParseUri"]
    sink.failing = True
    assert handle(handler, push(b"{}", uri="/nonsense"), {})[0] == RETRY
    assert handler.counters.snapshot()["retry"] == 1


def test_a_request_that_is_no_message_becomes_an_error_without_its_ip(context):
    sink = Sink()
    body = json.dumps({"message": {"data": "***", "attributes": {"remote_addr": "1.2.3.4"}}})
    assert handle(function(context, sink), body.encode(), {})[0] == OK
    (error,) = sink.errors
    assert error.attributes["error_type"] == "DecodePubsubMessages"
    assert b"1.2.3.4" not in error.payload


def test_counters_of_the_injected_adapters_are_logged(context, caplog):
    sink = Sink()
    handler = function(context, sink)
    with caplog.at_level(logging.INFO, logger="ingestion.decoder"):
        handle(handler, push(b"{}", uri="/nonsense"), {})
    (line,) = [r for r in caplog.records if r.getMessage() == "decoder counters"]
    counters = line.__dict__["counters"]
    assert counters["error:ParseUri"] == 1 and counters["sink:published:error"] == 1


# --- the awaited order, offloading and cancellation ---------------------------------------------
class RecordingDedup:
    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.marked: set[str] = set()

    async def is_duplicate(self, uri: str) -> bool:
        self.events.append("check")
        return uri in self.marked

    async def mark_delivered(self, uri: str) -> None:
        self.events.append("mark")
        self.marked.add(uri)


class SlowSink(Sink):
    def __init__(self, events: list[str], release: asyncio.Event | None = None) -> None:
        super().__init__()
        self.events = events
        self.release = release

    async def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        self.events.append("deliver")
        if self.release is not None:
            await self.release.wait()
        await super().deliver(decoded, errors)


URI = "/submit/org-example-app/baseline/1/8f0c1d3e-7a62-4b8e-9d51-0c2f6a7b8e01"


def service_with(context, sink, dedup, **options) -> AsyncDecoderService:
    async def current() -> Context:
        return context

    return AsyncDecoderService(current, sink, dedup, **options)


def test_the_dedup_check_comes_before_decoding_and_the_mark_after_delivery(context):
    events: list[str] = []
    sink, dedup = SlowSink(events), RecordingDedup(events)
    service = service_with(context, sink, dedup)
    message = Message({"uri": URI}, json.dumps(BASELINE).encode())
    first = asyncio.run(service.process(message))
    second = asyncio.run(service.process(message))
    assert len(first.decoded) == 1
    assert [e.attributes["error_type"] for e in second.errors] == ["Duplicate"]
    assert events == ["check", "deliver", "mark", "check", "deliver"]


@pytest.mark.parametrize("offload_bytes", [0, 10**9])
def test_a_large_payload_is_decoded_off_the_loop_with_the_same_result(context, offload_bytes):
    import concurrent.futures

    padded = {**BASELINE, "metrics": {"string": {"x": "y" * 40_000}}}
    message = Message({"uri": URI}, json.dumps(padded).encode())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        service = service_with(context, Sink(), None, executor=pool, offload_bytes=offload_bytes)
        outcome = asyncio.run(service.process(message))
    assert len(outcome.decoded) == 1 and json.loads(outcome.decoded[0].payload)["metrics"]


def test_a_cancelled_request_counts_and_marks_nothing(context):
    events: list[str] = []

    async def scenario() -> None:
        release = asyncio.Event()
        dedup = RecordingDedup(events)
        service = service_with(context, SlowSink(events, release), dedup)
        task = asyncio.create_task(
            service.process(Message({"uri": URI}, json.dumps(BASELINE).encode()))
        )
        while "deliver" not in events:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert service.counters.snapshot() == {} and dedup.marked == set()

    asyncio.run(scenario())
