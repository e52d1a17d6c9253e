"""A replay to the decoded and error topics delivers every record; a generated bad request is
always a 4xx with a one-line reason, never a 500 or a traceback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ingestion.local.backfill_topology import backfill_function
from ingestion.local.services import LocalService, free_port, running

from ..conftest import PROJECT
from .conftest import HOUR_10, World, new_queue
from .test_backfill_function import request_body, wait_done, wait_for


def pull_all(subscriber, subscription: str, expected: int, timeout: float = 60) -> int:
    received = 0

    def pulled() -> bool:
        nonlocal received
        response = subscriber.pull(subscription=subscription, max_messages=1000, timeout=10)
        if response.received_messages:
            ids = [m.ack_id for m in response.received_messages]
            subscriber.acknowledge(subscription=subscription, ack_ids=ids)
            received += len(ids)
        return received >= expected

    wait_for(pulled, timeout, lambda: f"{received} of {expected} received")
    return received


def test_a_replay_to_the_topics_delivers_every_record(world: World, service_logs) -> None:
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    suffix = uuid.uuid4().hex[:8]
    subscriptions = {}
    for kind in ("decoded", "errors"):
        topic = f"projects/{PROJECT}/topics/replay-{kind}-{suffix}"
        publisher.create_topic(name=topic)
        subscriptions[kind] = f"projects/{PROJECT}/subscriptions/replay-{kind}-{suffix}"
        subscriber.create_subscription(name=subscriptions[kind], topic=topic)
    port = free_port()
    env = world.environment(
        new_queue(world.tasks_host),
        f"http://127.0.0.1:{port}",
        decoded_topic=f"replay-decoded-{suffix}",
        error_topic=f"replay-errors-{suffix}",
    )
    run_id = f"replay-{suffix}"
    body = request_body(run_id, window=HOUR_10, destination="topics")
    with running(backfill_function(service_logs, env, port=port, name="backfill-replay")) as (
        function,
    ):
        response = requests.post(f"http://{function.host}/backfills", json=body, timeout=60)
        assert response.status_code == 202, response.text
        final = wait_done(function, run_id)
    decoded, errors = world.hour_10
    assert pull_all(subscriber, subscriptions["decoded"], len(decoded)) == len(decoded)
    assert pull_all(subscriber, subscriptions["errors"], len(errors)) == len(errors)
    assert final["counts"]["decoded"] == len(decoded) and final["counts"]["error"] == len(errors)


@pytest.fixture(scope="module")
def function(world: World, service_logs) -> Iterator[LocalService]:
    port = free_port()
    env = world.environment(new_queue(world.tasks_host), f"http://127.0.0.1:{port}")
    with running(backfill_function(service_logs, env, port=port, name="backfill-fuzz")) as (
        started,
    ):
        yield started


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    ["source", "window", "format", "destination", "chunk_bytes", "dedup", "dry_run",
     "max_chunks", "max_bytes", "run_id", "surprise"]
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=FIELDS, value=JSON)
def test_a_generated_bad_request_is_a_4xx_with_a_one_line_reason(function, field, value) -> None:
    # ``dry_run: false`` makes the otherwise valid body a real run (202): not a bad request.
    assume(not (field == "dry_run" and value is False))
    body = {**request_body(f"fuzz-{uuid.uuid4().hex[:6]}", dry_run=True), field: value}
    response = requests.post(f"http://{function.host}/backfills", json=body, timeout=60)
    if response.status_code == 200:  # the value happened to be valid: a dry run, nothing written
        assert response.json()["dry_run"] is True
        return
    assert 400 <= response.status_code < 500, response.text
    reason = response.json()["error"]
    assert reason and "\n" not in reason and "Traceback" not in reason


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=200), path=st.sampled_from(["/backfills", "/backfills:push"]))
def test_a_body_that_is_no_request_is_a_4xx(function, body, path) -> None:
    response = requests.post(f"http://{function.host}{path}", data=body, timeout=60)
    assert 400 <= response.status_code < 500, response.text
    assert "\n" not in response.json()["error"]
