"""Trace correlation end to end: functions-framework over HTTP, the Pub/Sub emulator, the
function's real stdout. Each request's log lines carry its own trace from its header, and the
metric lines (``decoder count``) are written by the running function."""

from __future__ import annotations

import json
import uuid

import requests

from ingestion import tracing
from ingestion.core.message import Message
from ingestion.local.services import running
from ingestion.local.topology import Topics, Topology, decoder_function, function_environment
from ingestion.local.topology import push_body as pubsub_push_body

from ..conftest import PROJECT

TRACES = ("0af7651916cd43dd8448eb211c80319c", "4bf92f3577b34da6a3ce929d0e0e4736")


def rejected(marker: str) -> dict:
    message = Message({"uri": f"/nonsense/{marker}", "remote_addr": "203.0.113.9"}, b"{}")
    return pubsub_push_body(message, marker, f"projects/{PROJECT}/subscriptions/raw")


def test_each_requests_log_lines_carry_its_trace(pubsub, service_logs):
    topics = Topics(Topology.unique(PROJECT))
    env = function_environment(
        topics.topology,
        firestore_host="127.0.0.1:9",  # unused: dedup in memory
        dedup_backend="memory",
        log_level="INFO",
        counters_interval_seconds=0.001,
        job_name="decoder-trace",
    )
    log_dir = service_logs / f"trace-{uuid.uuid4().hex[:8]}"
    headers = [
        {"traceparent": f"00-{TRACES[0]}-00f067aa0ba902b7-01"},
        {"X-Cloud-Trace-Context": f"{TRACES[1]}/12345;o=1"},
        {},
    ]
    with running(decoder_function(log_dir, env)) as (function,):
        for index, header in enumerate(headers):
            response = requests.post(
                f"http://{function.host}/", json=rejected(f"m{index}"), headers=header, timeout=60
            )
            assert response.status_code == 204
        log_path = function.log_path
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line[:1] == "{"]
    by_message = {}
    for line in lines:
        if line.get("message") == "message rejected":
            by_message[line["message_id"]] = line
    assert set(by_message) == {"m0", "m1", "m2"}, lines
    assert by_message["m0"][tracing.TRACE_FIELD] == f"projects/{PROJECT}/traces/{TRACES[0]}"
    assert by_message["m0"][tracing.SPAN_FIELD] == "00f067aa0ba902b7"
    assert by_message["m1"][tracing.TRACE_FIELD] == f"projects/{PROJECT}/traces/{TRACES[1]}"
    assert by_message["m1"][tracing.SPAN_FIELD] == f"{12345:016x}"
    assert tracing.TRACE_FIELD not in by_message["m2"]
    # The metric lines of the running function, the ParseUri rejections counted once each.
    counted = [
        line["count"]
        for line in lines
        if line.get("message") == "decoder count" and line.get("counter") == "error:ParseUri"
    ]
    assert sum(counted) == 3
    assert "203.0.113.9" not in log_path.read_text()
