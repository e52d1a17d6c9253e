"""The decoder function end to end: functions-framework over HTTP, the official Pub/Sub and
Firestore emulators, push subscriptions, kills and restarts."""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from ingestion.core.message import Message
from ingestion.local.services import LocalService, ServiceUnavailable, firestore_emulator, running
from ingestion.local.topology import Topics, Topology, decoder_function, function_environment
from ingestion.local.topology import push_body as pubsub_push_body

from .conftest import PROJECT

# Quick non-blocking pulls use the emulator's return_immediately, which the client deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The return_immediately flag is deprecated")

GLEAN_UA = "Glean/61.2.0 (Kotlin on Android)"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def function_env(topics: Topics, firestore_host: str, **settings: object) -> dict[str, str]:
    """The function's environment for this test's topics; ``settings`` by settings field."""
    defaults = {
        "dedup_collection": unique("dedup"),
        "job_name": "decoder-test",
        "log_level": "WARNING",
    }
    return function_environment(
        topics.topology, firestore_host=firestore_host, **(defaults | settings)
    )


def edge_message(doc_id: str | None = None, *, namespace: str = "org-example-app",
                 doctype: str = "baseline", payload: dict | None = None,
                 **attributes: str) -> tuple[bytes, dict[str, str]]:  # fmt: skip
    doc_id = doc_id or str(uuid.uuid4())
    body = payload if payload is not None else {
        "client_info": {"client_id": str(uuid.uuid4()), "app_channel": "beta",
                        "telemetry_sdk_build": "61.2.0", "os": "Android", "os_version": "14"},
        "ping_info": {"seq": 1, "start_time": "2026-11-20T10:00:00+00:00",
                      "end_time": "2026-11-20T10:05:00+00:00"},
    }  # fmt: skip
    return gzip.compress(json.dumps(body).encode()), {
        "uri": f"/submit/{namespace}/{doctype}/1/{doc_id}",
        "submission_timestamp": "2026-11-20T10:05:01.123456Z",
        "x_forwarded_for": "203.0.113.9, 10.0.0.1, 35.191.0.1",
        "remote_addr": "10.0.0.1",
        "user_agent": GLEAN_UA,
        **attributes,
    }


def push_body(data: bytes, attributes: dict[str, str], message_id: str = "1") -> dict:
    subscription = f"projects/{PROJECT}/subscriptions/raw"
    return pubsub_push_body(Message(attributes, data), message_id, subscription)


def post(function: LocalService, body: dict, headers: dict | None = None) -> requests.Response:
    return requests.post(f"http://{function.host}/", json=body, headers=headers, timeout=60)


def payload_json(message: Any) -> dict:
    data = message.data
    return json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)


@pytest.fixture
def topics(pubsub) -> Topics:
    return Topics(Topology.unique(PROJECT))


@pytest.fixture
def function(topics, firestore_server, service_logs) -> Iterator[LocalService]:
    env = function_env(topics, firestore_server.host)
    with running(decoder_function(service_logs, env)) as (started,):
        yield started


def test_raw_push_body_is_decoded_to_the_decoded_topic(topics, function):
    doc_id = str(uuid.uuid4())
    data, attributes = edge_message(doc_id)
    response = post(function, push_body(data, attributes, "m-1"))
    assert response.status_code == 204, response.text
    [decoded] = topics.pull("decoded", 1)
    attrs = dict(decoded.attributes)
    assert attrs["document_id"] == doc_id
    assert attrs["document_namespace"] == "org-example-app"
    assert attrs["normalized_channel"] == "beta"
    assert attrs["client_compression"] == "gzip"
    assert "remote_addr" not in attrs and "x_forwarded_for" not in attrs
    assert "user_agent" not in attrs and "message_id" not in attrs
    body = payload_json(decoded)
    assert body["metadata"]["document_type"] == "baseline"
    assert body["ping_info"]["seq"] == 1
    assert topics.pull("error", 0, timeout=1) == []


def test_binary_cloudevent_is_accepted_too(topics, function):
    data, attributes = edge_message()
    headers = {
        "ce-id": "evt-1",
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-source": f"//pubsub.googleapis.com/projects/{PROJECT}/topics/raw",
    }
    envelope = push_body(data, attributes)
    del envelope["message"]["messageId"], envelope["message"]["message_id"]
    response = post(function, envelope, headers)
    assert response.status_code == 204, response.text
    assert len(topics.pull("decoded", 1)) == 1


def test_rejection_goes_to_the_error_topic_with_the_error_schema(topics, function):
    data, attributes = edge_message(payload={"no": "client_info"})
    assert post(function, push_body(data, attributes)).status_code == 204
    [error] = topics.pull("error", 1)
    attrs = dict(error.attributes)
    assert attrs["error_type"] == "ParsePayload"
    assert attrs["exception_class"] == "ingestion.core.errors.SchemaViolation"
    assert attrs["error_message"].startswith("ingestion.core.errors.SchemaViolation: #")
    assert attrs["stack_trace"]
    assert attrs["job_name"] == "decoder-test" and attrs["input_type"] == "pubsub"
    assert attrs["user_agent"] == GLEAN_UA  # as it entered ParsePayload (D-43)
    assert "x_forwarded_for" not in attrs and "remote_addr" not in attrs
    assert gzip.decompress(error.data) == b'{"no": "client_info"}'
    assert topics.pull("decoded", 0, timeout=1) == []


def test_not_a_pubsub_message_is_acknowledged_as_an_error(topics, function):
    response = requests.post(f"http://{function.host}/", data=b"garbage", timeout=30)
    assert response.status_code == 204
    [error] = topics.pull("error", 1)
    assert error.attributes["error_type"] == "DecodePubsubMessages"


def test_duplicate_within_the_window_is_metadata_only_and_stub_never_is(topics, function):
    data, attributes = edge_message()
    for message_id in ("a", "b"):
        assert post(function, push_body(data, attributes, message_id)).status_code == 204
    stub = {"uri": "/stub/" + "/".join(["v6", "release", "release", "en-US"] + ["0"] * 32)}
    for message_id in ("s1", "s2"):
        assert post(function, push_body(b"", stub, message_id)).status_code == 204
    decoded = topics.pull("decoded", 3)
    errors = topics.pull("error", 1)
    assert len(decoded) == 3
    assert sorted(dict(m.attributes)["document_namespace"] for m in decoded) == [
        "firefox-installer", "firefox-installer", "org-example-app",
    ]  # fmt: skip
    [duplicate] = errors
    assert duplicate.attributes["error_type"] == "Duplicate"
    assert duplicate.attributes["uri"] == attributes["uri"]
    assert duplicate.data == b"" or gzip.decompress(duplicate.data) == b""
    # stub document ids come from the Pub/Sub message id, so the two differ
    ids = {dict(m.attributes)["document_id"] for m in decoded}
    assert len(ids) == 3


def test_duplicate_outside_the_window_is_decoded_again(topics, firestore_server, service_logs):
    env = function_env(topics, firestore_server.host, dedup_window_seconds=2)
    with running(decoder_function(service_logs, env)) as (function,):
        data, attributes = edge_message()
        assert post(function, push_body(data, attributes, "1")).status_code == 204
        assert post(function, push_body(data, attributes, "2")).status_code == 204
        time.sleep(2.5)
        assert post(function, push_body(data, attributes, "3")).status_code == 204
    decoded = topics.pull("decoded", 2)
    errors = topics.pull("error", 1)
    assert len(decoded) == 2
    assert [e.attributes["error_type"] for e in errors] == ["Duplicate"]


def test_failed_publish_answers_non_2xx_and_the_redelivery_succeeds(
    pubsub, firestore_server, tmp_path
):
    # Neither the decoded nor the error topic exists yet: every delivery fails (a decoded topic
    # alone missing would send the message to the error topic instead).
    topics = Topics(Topology.unique(PROJECT, debug=False), kinds=("raw",))
    env = function_env(topics, firestore_server.host, log_level="INFO")
    with running(decoder_function(tmp_path, env)) as (function,):  # its own log file
        data, attributes = edge_message()
        assert post(function, push_body(data, attributes)).status_code == 503
        # Through a push subscription: Pub/Sub keeps redelivering while the answer is non-2xx.
        topics.push_to(function, ack_deadline=10)
        topics.publisher.publish(topics.topic("raw"), data, **attributes).result()
        log = function.log_path

        def failures() -> int:
            return log.read_text().count("asking Pub/Sub to redeliver")

        _wait(lambda: failures() >= 3, timeout=30, describe=lambda: f"{failures()} failures")
        topics.create("error")  # the outage ends
        topics.create("decoded")
        decoded = topics.pull("decoded", 1)
    assert len(decoded) == 1
    assert dict(decoded[0].attributes)["uri"] == attributes["uri"]
    # A failed delivery never marks the uri as seen, so the redelivery is not a duplicate.
    assert topics.pull("error", 0) == []


def test_messages_are_delivered_while_firestore_is_down(topics, pubsub, service_logs, tmp_path):
    try:
        own_firestore = firestore_emulator(tmp_path).start()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    env = function_env(topics, own_firestore.host, dedup_timeout_seconds=1)
    try:
        with running(decoder_function(service_logs, env)) as (function,):
            data, attributes = edge_message()
            assert post(function, push_body(data, attributes, "1")).status_code == 204
            own_firestore.kill()
            started = time.monotonic()
            for message_id in ("2", "3"):  # the same uri: no dedup possible now, still delivered
                data2, attributes2 = edge_message()
                assert post(function, push_body(data2, attributes2, message_id)).status_code == 204
            assert time.monotonic() - started < 10
    finally:
        own_firestore.stop()
    assert len(topics.pull("decoded", 3)) == 3


def _wait(condition: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met in {timeout:.0f} s: {describe()}")
        time.sleep(0.2)


@pytest.mark.slow
def test_no_message_is_lost_when_the_function_is_killed_and_restarted(
    topics, firestore_server, service_logs
):
    total = 1000
    env = function_env(topics, firestore_server.host)
    seen: set[str] = set()

    def collect() -> None:
        for kind in ("decoded", "error"):
            for message in topics.pull(kind, 0, timeout=0):
                attributes = dict(message.attributes)
                seen.add(attributes.get("document_id") or attributes["uri"].rsplit("/", 1)[-1])

    with running(decoder_function(service_logs, env)) as (function,):
        port = function.port
        topics.push_to(function, ack_deadline=10)
        doc_ids = [str(uuid.uuid4()) for _ in range(total)]

        def publish_steadily() -> None:
            # About 100 messages/s for 10 s: faster than the function drains them here, so
            # requests are in flight whenever it is killed.
            for start in range(0, total, 50):
                futures = []
                for index in range(start, start + 50):
                    data, attributes = edge_message(doc_ids[index])
                    if index % 10 == 0:  # rejections too: they must be accounted for as well
                        data = b"not json"
                    futures.append(
                        topics.publisher.publish(topics.topic("raw"), data, **attributes)
                    )
                for future in futures:
                    future.result()
                time.sleep(0.5)

        publisher = threading.Thread(target=publish_steadily)
        publisher.start()
        for kill_after in (150, 450):
            _wait(
                lambda n=kill_after: (collect(), len(seen) >= n)[1],
                timeout=120,
                describe=lambda: f"{len(seen)} of {total} seen before a kill",
            )
            assert len(seen) < total, "the kill must happen mid-stream to mean anything"
            function.kill()  # SIGKILL mid-stream: requests in flight are lost, not their messages
            time.sleep(1.0)
            function.start()
            assert function.port == port
        publisher.join()
        _wait(
            lambda: (collect(), seen.issuperset(doc_ids))[1],
            timeout=240,
            describe=lambda: f"{len(seen)} of {total} seen; missing e.g. {set(doc_ids) - seen}",
        )
    assert seen.issuperset(doc_ids)
    assert len(seen) < total + 2  # only our documents arrived


# --- requests share RPCs: a failure fails exactly the requests it carried -----------------------
def test_concurrent_requests_fail_exactly_those_whose_publish_failed(
    pubsub, firestore_server, tmp_path
):
    # The error topic is missing, the decoded one exists: in the same wave of concurrent
    # requests, every valid message is acknowledged and every rejected one asks for redelivery.
    topics = Topics(Topology.unique(PROJECT, debug=False), kinds=("raw", "decoded"))
    env = function_env(topics, firestore_server.host, dedup_backend="off")
    good = [edge_message() for _ in range(24)]
    bad = [edge_message(namespace="no-such-namespace") for _ in range(8)]
    waves = [*good, *bad]
    with running(decoder_function(tmp_path, env)) as (function,):
        statuses: dict[int, int] = {}

        def send(index: int) -> None:
            data, attributes = waves[index]
            statuses[index] = post(function, push_body(data, attributes, str(index))).status_code

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(waves))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [statuses[i] for i in range(len(good))] == [204] * len(good)
        assert [statuses[i] for i in range(len(good), len(waves))] == [503] * len(bad)
        # The outage ends: the redelivered rejections now reach the error topic.
        topics.create("error")
        for index in range(len(good), len(waves)):
            send(index)
        assert [statuses[i] for i in range(len(good), len(waves))] == [204] * len(bad)
    assert len(topics.pull("decoded", len(good))) == len(good)
    errors = topics.pull("error", len(bad))
    assert len(errors) == len(bad)
    assert {e.attributes["error_type"] for e in errors} == {"ParsePayload"}


def test_the_first_messages_of_a_cold_instance_are_checked_for_duplicates(
    topics, firestore_server, service_logs
):
    # A cold Firestore client used to time out on its first reads (2 s deadline), letting the
    # first messages through unchecked. The instance warms it at cold start; reads that arrive
    # meanwhile queue behind the warm-up instead of failing.
    env = function_env(topics, firestore_server.host)
    messages = [edge_message() for _ in range(6)]
    with running(decoder_function(service_logs, env)) as (function,):
        for index, (data, attributes) in enumerate(messages):
            assert post(function, push_body(data, attributes, str(index))).status_code == 204
    # A second, cold instance gets the same uris as its very first requests, all at once.
    with running(decoder_function(service_logs, env)) as (function,):
        answers: list[int] = []

        def send(index: int) -> None:
            data, attributes = messages[index]
            answers.append(post(function, push_body(data, attributes, f"r{index}")).status_code)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(messages))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == [204] * len(messages)
    assert len(topics.pull("decoded", len(messages))) == len(messages)
    errors = topics.pull("error", len(messages))
    assert [e.attributes["error_type"] for e in errors] == ["Duplicate"] * len(messages)
