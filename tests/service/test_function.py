"""The function's request handling without the framework: ack, redeliver, unreadable requests, and
the adapters' counters logged through one protocol (the emulator tests cover the real clients)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence

import pytest

from ingestion.context import ContextConfig, build_context
from ingestion.core.errors import TransientFailure
from ingestion.core.message import Message
from ingestion.observability import OutcomeCounters
from ingestion.service.decoder import DecoderService
from ingestion.service.function import OK, RETRY, DecoderFunction


class Sink:
    def __init__(self) -> None:
        self.errors: list[Message] = []
        self.decoded: list[Message] = []
        self.failing = False

    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        if self.failing:
            raise TransientFailure("topic unreachable")
        self.decoded += decoded
        self.errors += errors

    def flush(self) -> None:
        return None

    def counter_values(self) -> dict[str, int]:
        return {"published:error": len(self.errors)}


@pytest.fixture(scope="module")
def context():
    return build_context(ContextConfig())


def function(context, sink: Sink) -> DecoderFunction:
    service = DecoderService(context, sink, counters=OutcomeCounters(interval=0))
    return DecoderFunction(service, {"sink": sink})


def push(data: bytes, **attributes: str) -> bytes:
    message = {"data": base64.b64encode(data).decode(), "attributes": attributes, "messageId": "7"}
    return json.dumps({"message": message, "subscription": "s"}).encode()


def test_a_rejection_is_acknowledged_and_a_delivery_failure_redelivered(context):
    sink = Sink()
    handler = function(context, sink)
    assert handler.handle(push(b"{}", uri="/nonsense"), {})[0] == OK
    assert [e.attributes["error_type"] for e in sink.errors] == ["ParseUri"]
    sink.failing = True
    assert handler.handle(push(b"{}", uri="/nonsense"), {})[0] == RETRY
    assert handler.counters.snapshot()["retry"] == 1


def test_a_request_that_is_no_message_becomes_an_error_without_its_ip(context):
    sink = Sink()
    body = json.dumps({"message": {"data": "***", "attributes": {"remote_addr": "1.2.3.4"}}})
    assert function(context, sink).handle(body.encode(), {})[0] == OK
    (error,) = sink.errors
    assert error.attributes["error_type"] == "DecodePubsubMessages"
    assert b"1.2.3.4" not in error.payload


def test_counters_of_the_injected_adapters_are_logged(context, caplog):
    sink = Sink()
    handler = function(context, sink)
    with caplog.at_level(logging.INFO, logger="ingestion.decoder"):
        handler.handle(push(b"{}", uri="/nonsense"), {})
    (line,) = [r for r in caplog.records if r.getMessage() == "decoder counters"]
    counters = line.__dict__["counters"]
    assert counters["error:ParseUri"] == 1 and counters["sink:published:error"] == 1
