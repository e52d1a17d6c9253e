"""The decoder service's delivery contract: a uri counts as delivered only once the sink said its
outputs are durable (flush), a batch is flushed once, and input that is not a message becomes one
``DecodePubsubMessages`` error, without any client IP, for every runtime."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestion.adapters.dedup import InMemoryDedupStore, NoDedup
from ingestion.context import ContextConfig, build_context
from ingestion.core.errors import TransientFailure, UnreadableInput
from ingestion.core.lines import read_line
from ingestion.core.message import Message
from ingestion.observability import OutcomeCounters
from ingestion.service.decoder import DecoderService

BODY = {
    "client_info": {
        "client_id": "2907648d-711b-4e9f-94b5-52a2b40a44b1",
        "telemetry_sdk_build": "61.2.0",
    },
    "ping_info": {
        "seq": 1,
        "start_time": "2026-11-20T10:00:00Z",
        "end_time": "2026-11-20T10:05:00Z",
    },
}


def raw(doc_id: str = "8f0c1d3e-7a62-4b8e-9d51-0c2f6a7b8e01") -> Message:
    return Message(
        {
            "uri": f"/submit/org-example-app/baseline/1/{doc_id}",
            "submission_timestamp": "2026-11-20T10:15:30.123456Z",
            "x_forwarded_for": "81.2.69.142, 10.0.0.1",
        },
        json.dumps(BODY).encode(),
    )


class RecordingSink:
    """Records the order of deliveries and flushes; can be told to fail its flush."""

    def __init__(self, fail_flush: bool = False) -> None:
        self.events: list[str] = []
        self.decoded: list[Message] = []
        self.errors: list[Message] = []
        self.fail_flush = fail_flush

    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        self.events.append("deliver")
        self.decoded += decoded
        self.errors += errors

    def flush(self) -> None:
        self.events.append("flush")
        if self.fail_flush:
            raise TransientFailure("disk full")


class RecordingDedup(InMemoryDedupStore):
    def __init__(self, sink: RecordingSink) -> None:
        super().__init__(window_seconds=None)
        self.sink = sink

    def mark_delivered(self, uri: str) -> None:
        self.sink.events.append("mark")
        super().mark_delivered(uri)


@pytest.fixture(scope="module")
def context():
    return build_context(ContextConfig())


def test_a_batch_is_flushed_once_before_any_uri_is_marked(context):
    sink = RecordingSink()
    service = DecoderService(context, sink, RecordingDedup(sink))
    batch = [raw(f"8f0c1d3e-7a62-4b8e-9d51-0c2f6a7b8e0{i}") for i in range(3)]
    outcomes = service.process_batch(batch)
    assert [len(o.decoded) for o in outcomes] == [1, 1, 1]
    assert sink.events == ["deliver"] * 3 + ["flush"] + ["mark"] * 3


def test_a_failed_flush_marks_and_counts_nothing(context):
    sink = RecordingSink(fail_flush=True)
    dedup = RecordingDedup(sink)
    service = DecoderService(context, sink, dedup)
    with pytest.raises(TransientFailure):
        service.process(raw())
    assert "mark" not in sink.events and len(dedup) == 0
    assert service.counters.snapshot() == {}
    # Redelivered after the failure, the message is decoded again, not a duplicate of itself.
    sink.fail_flush = False
    assert service.process(raw()).decoded


def test_a_uri_repeated_inside_a_batch_is_a_duplicate_of_its_first_copy(context):
    sink = RecordingSink()
    service = DecoderService(context, sink, InMemoryDedupStore(window_seconds=None))
    first, second = service.process_batch([raw(), raw()])
    assert len(first.decoded) == 1
    assert [e.attributes["error_type"] for e in second.errors] == ["Duplicate"]
    # ...and later batches see it as delivered too.
    (third,) = service.process_batch([raw()])
    assert [e.attributes["error_type"] for e in third.errors] == ["Duplicate"]


def test_without_dedup_a_repeated_uri_is_decoded_every_time(context):
    service = DecoderService(context, RecordingSink(), NoDedup())
    assert all(outcome.decoded for outcome in service.process_batch([raw(), raw(), raw()]))


def test_counters_are_injected_and_count_each_input_once(context):
    counters = OutcomeCounters()
    service = DecoderService(context, RecordingSink(), counters=counters)
    service.process_batch([raw(), read_line(b"not a message")])
    assert counters.snapshot() == {"input": 2, "decoded": 1, "error:DecodePubsubMessages": 1}


ips = st.ip_addresses().map(str)
keys = st.sampled_from(["remote_addr", "x_forwarded_for"])
json_leaf = st.none() | st.integers() | st.text(max_size=5)


@given(
    ip=ips,
    key=keys,
    shape=st.sampled_from(["json", "raw", "envelope", "cloudevent", "nested"]),
    payload=st.sampled_from(['"!!!"', "5", "null", '"e30="']),
    extra=st.dictionaries(st.text(max_size=5), json_leaf, max_size=3),
)
def test_unreadable_input_never_carries_a_client_ip_field(ip, key, shape, payload, extra):
    attributes = {**extra, "uri": "/submit/x/y/1/z", key: ip}
    wrapped = {
        "json": {"payload": json.loads(payload), "attributeMap": attributes},
        "raw": {"payload": json.loads(payload), **attributes},
        "envelope": {"message": {"data": json.loads(payload), "attributes": attributes}},
        "cloudevent": {"specversion": "1.0", "data": {"message": {"attributes": attributes}}},
        "nested": {"a": [{"b": {"attributeMap": attributes}}]},
    }[shape]
    body = json.dumps(wrapped).encode()
    sink = RecordingSink()
    DecoderService(build_context_once(), sink).process(UnreadableInput("unreadable", body))
    (error,) = sink.errors
    assert error.attributes["error_type"] == "DecodePubsubMessages"
    assert key not in json.dumps(json.loads(error.payload))
    assert "remote_addr" not in error.attributes and "x_forwarded_for" not in error.attributes


_CONTEXT = []


def build_context_once():
    if not _CONTEXT:
        _CONTEXT.append(build_context(ContextConfig()))
    return _CONTEXT[0]
