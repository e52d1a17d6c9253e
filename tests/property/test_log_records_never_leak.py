"""The function's log records, under hostile requests: no client IP in any log line (from the
attributes, the body or the trace headers), every line valid JSON, and the trace field only ever
built from hexadecimal digits."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion import tracing
from ingestion.context import Context, ContextConfig, build_context
from ingestion.core.message import Message
from ingestion.observability import OutcomeCounters
from ingestion.service.async_decoder import AsyncDecoderService
from ingestion.service.function import DecoderFunction
from support import json_logs

HEX_TRACE = re.compile(r"projects/test-project/traces/[0-9a-f]{32}")


class Sink:
    async def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        return None

    def counter_values(self) -> dict[str, int]:
        return {}


@pytest.fixture(scope="module")
def function() -> DecoderFunction:
    context = build_context(ContextConfig())

    async def current() -> Context:
        return context

    service = AsyncDecoderService(current, Sink(), counters=OutcomeCounters(interval=0))
    return DecoderFunction(service, {"sink": Sink()})


ips = st.ip_addresses().map(str)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
uris = st.one_of(
    st.just("/submit/org-example-app/baseline/1/5a3f0e7c-2b8d-4c61-9e0f-7d4b2a1c8e93"),
    st.just("/nonsense"),
    text,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    client=ips,
    uri=uris,
    payload=st.binary(max_size=100),
    trace=st.one_of(text, ips, st.builds(lambda ip: f"{'a' * 32}/{ip};o=1", ips)),
    raw_body=st.booleans(),
)
def test_no_ip_in_any_log_line(function, client, uri, payload, trace, raw_body):
    attributes = {"uri": uri, "remote_addr": client, "x_forwarded_for": f"{client}, 10.0.0.1"}
    message = {"data": base64.b64encode(payload).decode(), "attributes": attributes}
    body = json.dumps({"message": message}).encode()
    if raw_body:  # not a Pub/Sub message at all: the IP is in the body
        body = json.dumps({"remote_addr": client, "junk": uri}).encode()
    headers = {"x-cloud-trace-context": trace, "traceparent": trace}
    with json_logs("ingestion", logging.DEBUG) as stream:
        asyncio.run(function.handle(body, headers))
    output = stream.getvalue()
    assert output, "nothing logged"
    elsewhere = uri + payload.decode("latin-1")
    for line in output.splitlines():
        record = json.loads(line)
        if tracing.TRACE_FIELD in record:
            assert HEX_TRACE.fullmatch(record[tracing.TRACE_FIELD]), record
        if len(client) >= 7 and client not in elsewhere:
            assert client not in line, line
