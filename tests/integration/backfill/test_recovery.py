"""A chunk task that dies or runs out of time: the run still completes with the same outputs.

Both backfill the window's first hour (a plain object and a gzip object) and compare with what
``ingestion decode`` makes of the same lines; each chunk commits every 128-256 KiB of input, so
a chunk has several checkpoints."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from google.cloud import firestore as gcf

from ingestion.local.backfill_topology import backfill_function
from ingestion.local.services import free_port, running

from ..conftest import PROJECT
from .conftest import HOUR_10, World, new_queue
from .test_backfill_function import PREFIXES, request_body, wait_done, wait_for


def chunk_documents(run_id: str) -> list[dict[str, Any]]:
    client = gcf.Client(project=PROJECT)
    chunks = client.collection("backfill-runs").document(run_id).collection("chunks")
    return [snapshot.to_dict() for snapshot in chunks.stream()]


def assert_same_outputs_as_ingestion_decode(world: World, run_id: str) -> None:
    decoded, errors = world.hour_10
    assert world.stored_lines(PREFIXES[0], run_id) == decoded
    assert world.stored_lines(PREFIXES[1], run_id) == errors


def test_a_chunk_whose_worker_is_killed_is_retried_and_the_run_completes(world, service_logs):
    port = free_port()
    env = world.environment(
        new_queue(world.tasks_host), f"http://127.0.0.1:{port}", backfill_commit_bytes=128 << 10
    )
    function = backfill_function(service_logs, env, port=port, name="backfill-killed")
    run_id = f"killed-{uuid.uuid4().hex[:6]}"
    body = request_body(run_id, window=HOUR_10, chunk_bytes=64 << 20)
    with running(function):
        response = requests.post(f"http://{function.host}/backfills", json=body, timeout=60)
        assert response.status_code == 202, response.text

        def mid_chunk() -> bool:
            return any(
                c["state"] == "running" and c.get("position", 0) > c["start"]
                for c in chunk_documents(run_id)
            )

        wait_for(mid_chunk, 60, lambda: str(chunk_documents(run_id))[:500])
        function.kill()  # SIGKILL mid-chunk: checkpointed part written, the rest not
        killed = [c for c in chunk_documents(run_id) if c["state"] == "running"]
        assert killed, "a chunk was running when the worker was killed"
        function.start()  # same port: Cloud Tasks' retries reach the new instance
        final = wait_done(function, run_id)
    assert_same_outputs_as_ingestion_decode(world, run_id)
    by_object = {c["name"]: c for c in chunk_documents(run_id)}
    assert any(by_object[c["name"]]["attempts"] >= 2 for c in killed)
    assert final["counts"]["records"] == sum(
        len(lines) for name, lines in world.objects.items() if "/10/" in name
    )


def test_a_chunk_out_of_time_checkpoints_and_finishes_in_further_tasks(world, service_logs):
    port = free_port()
    env = world.environment(
        new_queue(world.tasks_host),
        f"http://127.0.0.1:{port}",
        backfill_commit_bytes=256 << 10,
        backfill_time_budget_seconds=0.01,  # every task yields after its first commit
    )
    run_id = f"budget-{uuid.uuid4().hex[:6]}"
    body = request_body(run_id, window=HOUR_10, chunk_bytes=64 << 20)
    with running(backfill_function(service_logs, env, port=port, name="backfill-budget")) as (
        function,
    ):
        response = requests.post(f"http://{function.host}/backfills", json=body, timeout=60)
        assert response.status_code == 202, response.text
        final = wait_done(function, run_id, timeout=120)
    assert_same_outputs_as_ingestion_decode(world, run_id)
    chunks = chunk_documents(run_id)
    # The hour's plain and gzip objects (well under 64 MiB) are packed into one chunk.
    assert len(chunks) == 1 and len(chunks[0]["pieces"]) == 2
    assert all(c["yields"] >= 2 for c in chunks)
    assert final["chunks"]["done"] == 1
