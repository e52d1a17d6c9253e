"""A source moved while live traffic flows, on real servers: raw messages published to the
Pub/Sub emulator reach the ``decode`` function and the raw archive's ``load`` function, decoded
ones the source's ``load`` function (functions-framework over HTTP, buckets and registry on
fake-gcs-server). The workflow runs as ``ingestion migrate`` in subprocesses, two of which are
killed in the middle of their step and run again."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingestion.adapters.storage.gcs_bucket import GcsBucket
from ingestion.adapters.storage.objects import ObjectInfo
from ingestion.core.lines import message_from_line
from ingestion.entrypoints.migration import build_workflow, in_process_backfill
from ingestion.local.backfill_topology import RAW_SOURCE, archive_lines, encode_object
from ingestion.local.loader_topology import (
    DECODED_SOURCE,
    ERRORS_SOURCE,
    create_buckets,
    gcs_client,
    loader_environment,
    loader_function,
    push_subscription,
    seed_registry,
)
from ingestion.local.services import running
from ingestion.local.topology import (
    SHARED,
    Topics,
    Topology,
    decoder_function,
    function_environment,
)
from ingestion.migration import MigrationConflict, Owner
from ingestion.registry import Dataset, Registry

from ..conftest import PROJECT

SOURCE = DECODED_SOURCE.name
NEW_PREFIX = "telemetry-2"
HISTORY_DAYS = (3, 2, 1)  # days before today
SETTLE_SECONDS = 10
NEW_LAYOUT = {
    "version": 1,
    "dimensions": [
        {"field_name": "submission_date", "allowed_values": "*"},
        {"field_name": "document_type", "allowed_values": "*"},
    ],
}


def wait_for(condition: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met in {timeout:.0f} s: {describe()}")
        time.sleep(0.1)


class Cli:
    """``ingestion migrate`` in a subprocess, against the registry on fake-gcs-server."""

    def __init__(self, metadata: str, tmp: Path) -> None:
        self.metadata = metadata
        self.tmp = tmp
        self.env = {
            **os.environ,
            "PYTHONPATH": str(SHARED),
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "METADATA_LOCATION": metadata,
            "LOG_LEVEL": "WARNING",
            # the history's small objects share one chunk: a commit (objects written) per
            # object, so a killed step has written part of it
            "BACKFILL_COMMIT_BYTES": "1",
        }

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "ingestion.cli", "migrate", *args]
        return subprocess.Popen(
            command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )

    def run(self, *args: str, expect: int = 0) -> str:
        process = self.start(*args)
        output, _ = process.communicate(timeout=120)
        text = output.decode()
        assert process.returncode == expect, f"migrate {' '.join(args)}: {text}"
        return text


class Live:
    """Raw messages published steadily with the current time as their submission time."""

    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.published = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._publish, daemon=True)

    def _publish(self) -> None:
        seed = 1000
        while not self._stop.is_set():
            now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            messages = []
            for line in archive_lines(8, now, seed=seed):
                try:
                    message = message_from_line(line)
                except ValueError:
                    continue  # a bad line is no Pub/Sub message
                # A stub installer ping's document id derives from its Pub/Sub message id,
                # which the raw archive does not keep: re-decoded, it gets another id.
                if "/stub/" not in message.attributes.get("uri", ""):
                    messages.append(message)
            for future in self.topics.publish(messages):
                future.result()
            self.published += len(messages)
            seed += 1
            self._stop.wait(0.5)

    def __enter__(self) -> Live:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def world(gcs, pubsub, service_logs, tmp_path) -> Iterator[dict[str, Any]]:
    suffix = uuid.uuid4().hex[:8]
    meta, data, raw = (f"mig-{kind}-{suffix}" for kind in ("meta", "data", "raw"))
    create_buckets(PROJECT, meta, data, raw)
    registry = Registry.open(f"gs://{meta}")
    seed_registry(registry, {SOURCE: data, ERRORS_SOURCE.name: data})
    registry.put_schema(RAW_SOURCE.metadata_prefix, RAW_SOURCE.schema(), expected=None)
    registry.put_source(RAW_SOURCE.name, RAW_SOURCE.entry(raw), expected=None)
    # History: three days of archive, and the old location as the loader filled it back then.
    archive = GcsBucket(gcs_client(PROJECT), raw)
    today = datetime.datetime.now(datetime.UTC).date()
    for days_ago in HISTORY_DAYS:
        day = today - datetime.timedelta(days=days_ago)
        for hour in ("03", "09", "15"):
            lines = archive_lines(120, f"{day}T{hour}:10:00Z", seed=days_ago * 100 + int(hour))
            name = f"{RAW_SOURCE.prefix}/{day.strftime('%Y_%m_%d')}/{hour}/history.ndjson.gz"
            archive.write(name, encode_object(lines, "gzip"), None)
    first, last = today - datetime.timedelta(days=3), today
    loaded = in_process_backfill(registry, {"GOOGLE_CLOUD_PROJECT": PROJECT}).run(
        {
            "source": RAW_SOURCE.name,
            "window": {"start": first.isoformat(), "end": last.isoformat()},
            "destination": {"decoded": SOURCE, "error": ERRORS_SOURCE.name},
            "run_id": "history-as-loaded",
        },
        lambda status: None,
    )
    assert loaded["state"] == "done" and loaded["counts"]["decoded"] > 300
    topology = Topology.unique(PROJECT, "mig", debug=False)
    topics = Topics(topology)
    decoder_env = function_environment(
        topology, dedup_backend="off", log_level="WARNING", firestore_host="unused:1"
    )
    flush = {"loader_flush_seconds": 0.05, "loader_flush_messages": 4, "log_level": "WARNING"}
    decoded_env = loader_environment(
        PROJECT, f"gs://{meta}", SOURCE, loader_recheck_seconds=1, **flush
    )
    raw_env = loader_environment(PROJECT, f"gs://{meta}", RAW_SOURCE.name, **flush)
    functions = (
        decoder_function(service_logs, decoder_env),
        loader_function(service_logs, decoded_env, name=f"load-decoded-{suffix}"),
        loader_function(service_logs, raw_env, name=f"load-raw-{suffix}"),
    )
    with running(*functions) as (decoder, decoded_loader, raw_loader):
        topics.push_to(decoder)
        sub = topics.subscriber
        push_subscription(sub, PROJECT, topology.raw, f"raw-archive-{suffix}", raw_loader.host)
        push_subscription(
            sub, PROJECT, topology.decoded, f"decoded-load-{suffix}", decoded_loader.host
        )
        yield {
            "registry": registry,
            "topics": topics,
            "data": data,
            "cli": Cli(f"gs://{meta}", tmp_path),
            "old_ids": ids_in(Dataset.from_source(SOURCE, registry=registry)),
        }


def ids_in(dataset: Dataset) -> set[str]:
    return {message.attributes["document_id"] for message in dataset.records()}


def state(registry: Registry, migration_id: str) -> dict[str, Any]:
    data = registry.bucket.read(f"migrations/{migration_id}.json")
    document: dict[str, Any] = orjson.loads(data)
    return document


def objects_under(registry: Registry, bucket: str, prefix: str) -> list[str]:
    found = registry.data_bucket(bucket).list(f"{prefix}/")
    return [item.name for item in found if isinstance(item, ObjectInfo)]


def kill_when(process: subprocess.Popen[bytes], condition: Callable[[], bool]) -> None:
    """SIGKILL ``process`` as soon as ``condition`` holds (it must still be running)."""
    wait_for(lambda: condition() or process.poll() is not None, 120, lambda: "no sign")
    assert process.poll() is None, "the step ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(30)


def drained(topics: Topics, published: int) -> set[str]:
    """Document ids of every message the decoder published as decoded, once it has published
    an output for every input (dedup is off: one output per input)."""
    decoded: set[str] = set()
    outputs = 0
    deadline = time.monotonic() + 90
    while outputs < published and time.monotonic() < deadline:
        for kind in ("decoded", "error"):
            for message in topics.pull(kind, timeout=1.0):
                outputs += 1
                if kind == "decoded":
                    decoded.add(message.attributes["document_id"])
    assert outputs >= published, f"{outputs} outputs of {published} inputs"
    return decoded


def test_a_source_moves_to_a_new_layout_under_live_traffic(world: dict[str, Any]) -> None:
    registry, cli, data = world["registry"], world["cli"], world["data"]
    (Path(cli.tmp) / "layout.json").write_bytes(orjson.dumps(NEW_LAYOUT))
    # reserve refuses a prefix a source holds, and a non-empty one
    used = cli.run("reserve", SOURCE, "--to", f"gs://{data}/{DECODED_SOURCE.prefix}/v2", expect=1)
    assert "consumer entry of source 'demo-telemetry'" in used
    registry.data_bucket(data).write("leftover/x.json", b"{}", None)
    assert "is not empty" in cli.run("reserve", SOURCE, "--to", f"gs://{data}/leftover", expect=1)
    with Live(world["topics"]) as live:
        wait_for(lambda: live.published >= 40, 60, lambda: f"{live.published} published")
        to = f"gs://{data}/{NEW_PREFIX}"
        reserve = ("reserve", SOURCE, "--to", to, "--schema", f"{cli.tmp}/layout.json")
        options = ("--raw", RAW_SOURCE.name, "--id", "e2e", "--settle-seconds", str(SETTLE_SECONDS))
        assert "would reserve" in cli.run(*reserve, *options, "--dry-run")
        assert "reserved:" in cli.run(*reserve, *options)
        plan = cli.run("backfill", "e2e", "--dry-run")
        assert "objects: " in plan and "CPU-seconds" in plan
        # killed with part of the history written, then run again
        process = cli.start("backfill", "e2e")
        kill_when(process, lambda: bool(objects_under(registry, data, NEW_PREFIX)))
        assert state(registry, "e2e")["steps"]["backfill"]["state"] == "running"
        assert "e2e: backfill done" in cli.run("backfill", "e2e")
        assert "cut over at" in cli.run("cutover", "e2e")
        # killed while it waits for the loader and the archive to settle, then run again
        process = cli.start("fill-gap", "e2e")
        kill_when(process, lambda: "fill-gap" in state(registry, "e2e")["steps"])
        assert state(registry, "e2e")["steps"]["fill-gap"]["state"] == "running"
        assert "e2e: fill-gap done" in cli.run("fill-gap", "e2e")
        time.sleep(2)  # live traffic written to the new location only
    published = live.published
    live_ids = drained(world["topics"], published)
    assert "missing 0" in cli.run("verify", "e2e")
    # a deleted object is found, blocks publish, and a fresh backfill run brings it back
    history = sorted(n for n in objects_under(registry, data, NEW_PREFIX) if "history" in n)
    registry.data_bucket(data).delete(history[0])
    failed = cli.run("verify", "e2e", expect=1)
    assert "publish is blocked" in failed and "submission_date=" in failed
    assert "needs verify done" in cli.run("publish", "e2e", expect=1)
    assert "e2e-history-r2" in cli.run("backfill", "e2e", "--redo")
    assert "verified" in cli.run("verify", "e2e")
    # two publishes at once: one wins, the other is told it lost
    outcomes = concurrent_publishes(cli.metadata)
    assert sorted(type(o).__name__ for o in outcomes) == ["MigrationConflict", "Outcome"]
    assert "already published" in cli.run("publish", "e2e")
    # consumers now read the new location, and find every decoded message of the period
    dataset = Dataset.from_source(SOURCE, registry=registry)
    assert (dataset.prefix, dataset.dimension_names) == (
        NEW_PREFIX,
        ("submission_date", "document_type"),
    )
    expected = world["old_ids"] | live_ids
    wait_for(
        lambda: expected <= ids_in(dataset),
        60,
        lambda: f"{len(expected - ids_in(dataset))} missing",
    )
    assert len(live_ids) > 30
    status = cli.run("status", "e2e")
    assert "[published]" in status and "run e2e-history " in status and "run e2e-gap " in status
    # rollback restores the old pointers
    assert "restored consumer entry" in cli.run("rollback", "e2e", "--writer")
    assert Dataset.from_source(SOURCE, registry=registry).prefix == DECODED_SOURCE.prefix
    assert registry.writer_entry(SOURCE).prefix == DECODED_SOURCE.prefix
    summary = registry.bucket.read("migrations/e2e.md").decode()
    assert "status **rolled_back**" in summary and "## Verification" in summary


class RaceBucket:
    """Holds each thread's first write of the state document until both threads reach theirs."""

    def __init__(self, inner: Any, barrier: threading.Barrier) -> None:
        self._inner = inner
        self._barrier = barrier
        self._waited: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def write(self, name: str, data: bytes, if_generation: str | None) -> str:
        me = threading.get_ident()
        if name.endswith("migrations/e2e.json") and me not in self._waited:
            self._waited.add(me)
            self._barrier.wait(timeout=60)
        return str(self._inner.write(name, data, if_generation))


def concurrent_publishes(metadata: str) -> list[Any]:
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def publish(number: int) -> None:
        workflow = build_workflow(metadata, {}, take_over=False)
        workflow.records.bucket = RaceBucket(workflow.records.bucket, barrier)
        workflow.machine.owner = Owner("racer", number, f"racer-{number}")
        try:
            outcomes.append(workflow.publish("e2e"))
        except MigrationConflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=publish, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes
