"""Trace correlation: the trace headers as Cloud Logging's trace fields, per request, and
nothing but hexadecimal digits from a header ever reaching a log line."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging

import pytest

from ingestion import tracing
from ingestion.observability import JsonFormatter

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}, (TRACE, "00f067aa0ba902b7", True)),
        ({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-00"}, (TRACE, "00f067aa0ba902b7", False)),
        ({"x-cloud-trace-context": f"{TRACE.upper()}/123;o=1"}, (TRACE, f"{123:016x}", True)),
        ({"x-cloud-trace-context": TRACE}, (TRACE, None, False)),
        ({"x-cloud-trace-context": f"{TRACE}/0;o=0"}, (TRACE, None, False)),
        # traceparent wins; a broken one falls back to the Cloud header.
        (
            {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01", "x-cloud-trace-context": "a" * 32},
            (TRACE, "00f067aa0ba902b7", True),
        ),
        ({"traceparent": "garbage", "x-cloud-trace-context": "a" * 32}, ("a" * 32, None, False)),
    ],
)
def test_trace_headers(headers, expected):
    assert tracing.trace_from_headers(headers) == tracing.Trace(*expected)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01"},  # all-zero trace id
        {"traceparent": f"ff-{TRACE}-00f067aa0ba902b7-01"},  # version ff is invalid
        {"traceparent": f"00-{TRACE}-{'0' * 16}-01"},  # all-zero span id
        {"traceparent": f"00-{TRACE.upper()}-00f067aa0ba902b7-01"},  # must be lowercase
        {"x-cloud-trace-context": "203.0.113.9/1;o=1"},
        {"x-cloud-trace-context": f"{TRACE}/1;o=1 203.0.113.9"},
        {"x-cloud-trace-context": f"{TRACE[:-1]}/1"},
        {"x-cloud-trace-context": f"{TRACE}/{2**64}"[:33] + "x"},
    ],
)
def test_anything_but_the_documented_form_is_ignored(headers):
    assert tracing.trace_from_headers(headers) is None


def test_a_span_beyond_64_bits_keeps_the_trace_without_a_span():
    trace = tracing.trace_from_headers({"x-cloud-trace-context": f"{TRACE}/{2**64};o=1"})
    assert trace == tracing.Trace(TRACE, None, True)


def _line(formatter: JsonFormatter) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("test.tracing")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("something happened", extra={"error_type": "ParseUri"})
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue())


def test_the_formatter_writes_the_current_trace():
    def in_request() -> dict:
        tracing.bind({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
        return _line(JsonFormatter("my-project"))

    line = contextvars.copy_context().run(in_request)
    assert line[tracing.TRACE_FIELD] == f"projects/my-project/traces/{TRACE}"
    assert line[tracing.SPAN_FIELD] == "00f067aa0ba902b7"
    assert line[tracing.SAMPLED_FIELD] is True
    assert line["error_type"] == "ParseUri"


def test_no_trace_fields_outside_a_request_or_without_a_project():
    assert tracing.TRACE_FIELD not in _line(JsonFormatter("my-project"))

    def in_request() -> dict:
        tracing.bind({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
        return _line(JsonFormatter(""))

    assert tracing.TRACE_FIELD not in contextvars.copy_context().run(in_request)


def test_concurrent_requests_keep_their_own_trace():
    async def request(trace_id: str, release: asyncio.Event) -> str | None:
        tracing.bind({"x-cloud-trace-context": trace_id})
        await release.wait()  # the other request binds its trace meanwhile
        current = tracing.current()
        return current.trace_id if current else None

    async def both() -> list[str | None]:
        release = asyncio.Event()
        tasks = [asyncio.create_task(request(c * 32, release)) for c in "ab"]
        await asyncio.sleep(0)
        release.set()
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(both()) == ["a" * 32, "b" * 32]
