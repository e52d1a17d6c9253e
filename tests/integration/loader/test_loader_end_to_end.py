"""The loader end to end on real servers: the ``load`` function under functions-framework over
HTTP, fed by Pub/Sub emulator push subscriptions, writing to fake-gcs-server through a registry
kept there; and ``ingestion load`` as a streaming-pull worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests

from ingestion.core.message import Message
from ingestion.local.loader_topology import (
    DECODED_SOURCE,
    ERRORS_SOURCE,
    loader_environment,
    loader_function,
    push_subscription,
)
from ingestion.local.services import running
from ingestion.local.topology import SHARED, push_body

from ..conftest import PROJECT
from .conftest import StoredDocuments, World, decoded_message


def wait_for(condition: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met in {timeout:.0f} s: {describe()}")
        time.sleep(0.3)


def env_for(world: World, source: str, **settings: object) -> dict[str, str]:
    # The emulator pushes at most two requests at once (production Pub/Sub: thousands), so a
    # batch here is closed by its second message or after 50 ms; throughput is then what the
    # emulator allows, about a hundred messages a second.
    defaults = {
        "loader_flush_seconds": 0.05,
        "loader_flush_messages": 2,
        "log_level": "WARNING",
    }
    return loader_environment(PROJECT, world.metadata_location, source, **(defaults | settings))


def test_a_pushed_message_is_acknowledged_only_once_written(world: World, service_logs) -> None:
    env = env_for(world, DECODED_SOURCE.name)
    with running(loader_function(service_logs, env, name=f"load-{uuid.uuid4().hex[:6]}")) as (
        function,
    ):
        message = decoded_message("doc-1")
        body = push_body(message, "m-1", f"projects/{PROJECT}/subscriptions/s")
        response = requests.post(f"http://{function.host}/", json=body, timeout=60)
        assert response.status_code == 204, response.text
        # Answered: so the object is there already, no waiting.
        stored = StoredDocuments(world.bucket(world.data), "telemetry-1/").refresh()
        [name] = stored.objects
        assert name.startswith("telemetry-1/org_example_app/baseline/2026_11_20/")
        [back] = stored.objects[name]
        assert back.attributes == message.attributes  # the delivery's message_id is not stored
        assert back.payload == message.payload
        refused = requests.post(f"http://{function.host}/", data=b"not json", timeout=60)
        assert refused.status_code == 400  # redelivered, then dead-lettered: never dropped


@pytest.mark.slow
def test_5000_messages_none_lost_when_the_loader_is_killed_and_restarted_twice(
    world: World, service_logs
) -> None:
    total = 5000
    doc_ids = [str(uuid.uuid4()) for _ in range(total)]
    stored = StoredDocuments(world.bucket(world.data), "telemetry-1/")
    env = env_for(world, DECODED_SOURCE.name)
    with running(loader_function(service_logs, env, name="load-kills")) as (function,):
        port = function.port
        push_subscription(
            world.subscriber, PROJECT, world.decoded_topic, f"push-{uuid.uuid4().hex[:8]}",
            function.host, ack_deadline=10,
        )  # fmt: skip

        def publish_steadily() -> None:  # faster than the emulator pushes: always a backlog
            for start in range(0, total, 250):
                batch = [decoded_message(doc_ids[i]) for i in range(start, start + 250)]
                world.publish(world.decoded_topic, batch)
                time.sleep(0.25)

        publisher = threading.Thread(target=publish_steadily)
        publisher.start()
        try:
            for kill_after in (1000, 3000):
                wait_for(
                    lambda n=kill_after: len(stored.refresh().ids()) >= n,
                    timeout=180,
                    describe=lambda: f"{len(stored.ids())} of {total} stored before a kill",
                )
                assert len(stored.ids()) < total, "the kill must happen mid-stream"
                function.kill()  # SIGKILL: its queued batches are lost, not their messages
                time.sleep(1.0)
                function.start()
                assert function.port == port
        finally:
            publisher.join()
        wait_for(
            lambda: stored.refresh().ids() >= set(doc_ids),
            timeout=300,
            describe=lambda: f"{len(stored.ids() & set(doc_ids))} of {total} stored",
        )
    assert stored.ids() == set(doc_ids)  # every one, and only ours
    assert len(stored.objects) < total  # batches (of at most two here), not one per message
    names = [name.rsplit("/", 1)[1] for name in stored.objects]
    assert len({name.split("-")[0] for name in names}) >= 3  # three instances wrote, by name


def test_error_messages_land_in_the_errors_source(world: World, service_logs) -> None:
    env = env_for(world, ERRORS_SOURCE.name)
    errors = [
        Message(
            {
                "error_type": ("ParsePayload", "SchemaNotFound")[i % 2],
                "error_message": "bad",
                "submission_timestamp": "2026-11-21T00:00:00Z",
                "uri": f"/submit/x/y/1/{i}",
            },
            b"payload %d" % i,
        )
        for i in range(20)
    ]
    stored = StoredDocuments(world.bucket(world.errors), "telemetry-errors-1/")
    with running(loader_function(service_logs, env, name="load-errors")) as (function,):
        push_subscription(
            world.subscriber, PROJECT, world.error_topic, f"errors-{uuid.uuid4().hex[:8]}",
            function.host,
        )  # fmt: skip
        world.publish(world.error_topic, errors)
        wait_for(
            lambda: stored.refresh().messages >= 20,
            timeout=60,
            describe=lambda: f"{stored.messages} of 20 error messages stored",
        )
    folders = {name.rsplit("/", 1)[0] for name in stored.objects}
    assert folders == {
        "telemetry-errors-1/ParsePayload/2026_11_21",
        "telemetry-errors-1/SchemaNotFound/2026_11_21",
    }
    assert stored.ids("uri") == {m.attributes["uri"] for m in errors}
    assert not list(world.bucket(world.data).list(""))  # nothing went to the decoded source


def test_a_moved_writer_entry_takes_effect_without_a_restart_and_loses_nothing(
    world: World, service_logs
) -> None:
    env = env_for(world, DECODED_SOURCE.name, loader_recheck_seconds=0.5)
    old = StoredDocuments(world.bucket(world.data), "telemetry-1/")
    new = StoredDocuments(world.bucket(world.data), "telemetry-2/")
    sent: list[str] = []
    with running(loader_function(service_logs, env, name="load-move")) as (function,):
        push_subscription(
            world.subscriber, PROJECT, world.decoded_topic, f"move-{uuid.uuid4().hex[:8]}",
            function.host,
        )  # fmt: skip
        stop = threading.Event()

        def publish_steadily() -> None:
            while not stop.is_set():
                batch = [str(uuid.uuid4()) for _ in range(10)]
                world.publish(world.decoded_topic, [decoded_message(d) for d in batch])
                sent.extend(batch)
                time.sleep(0.2)

        publisher = threading.Thread(target=publish_steadily)
        publisher.start()
        try:
            wait_for(lambda: old.refresh().messages >= 50, 60, lambda: f"{old.messages} stored")
            world.registry.put_writer(
                DECODED_SOURCE.name,
                {
                    "bucket": world.data,
                    "prefix": "telemetry-2",
                    "metadata_prefix": DECODED_SOURCE.metadata_prefix,
                    "effective_from": datetime.now(UTC).isoformat(),
                },
                expected=None,
                reason="cutover in a test",
            )
            wait_for(lambda: new.refresh().messages >= 50, 60, lambda: f"{new.messages} moved")
        finally:
            stop.set()
            publisher.join()
        wait_for(
            lambda: (old.refresh().ids() | new.refresh().ids()) >= set(sent),
            timeout=60,
            describe=lambda: f"{len(set(sent) - old.ids() - new.ids())} of {len(sent)} missing",
        )
    assert old.ids() and new.ids()
    assert (old.ids() | new.ids()) == set(sent)
    log = function.log_path.read_text()
    assert "writer entry changed" in log


def test_ingestion_load_pulls_writes_and_acknowledges(world: World, service_logs) -> None:
    subscription = f"projects/{PROJECT}/subscriptions/pull-{uuid.uuid4().hex[:8]}"
    world.subscriber.create_subscription(
        name=subscription, topic=f"projects/{PROJECT}/topics/{world.decoded_topic}"
    )
    ids = [str(uuid.uuid4()) for _ in range(300)]
    world.publish(world.decoded_topic, [decoded_message(d) for d in ids])
    stored = StoredDocuments(world.bucket(world.data), "telemetry-1/")
    command = [
        sys.executable, "-m", "ingestion.cli", "load", "--subscription", subscription,
        "--source", DECODED_SOURCE.name, "--metadata", world.metadata_location,
        "--flush-seconds", "0.3",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(SHARED), "GOOGLE_CLOUD_PROJECT": PROJECT}
    worker = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(
            lambda: stored.refresh().ids() >= set(ids) or worker.poll() is not None,
            timeout=60,
            describe=lambda: f"{len(stored.ids())} of 300 stored",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert stored.ids() == set(ids)
    counters = json.loads(out.strip().splitlines()[-1])
    assert counters["messages_written"] >= 300
    # Acknowledged after the write: nothing is left to redeliver.
    left = world.subscriber.pull(
        request={"subscription": subscription, "max_messages": 10, "return_immediately": True}
    )
    assert not left.received_messages
