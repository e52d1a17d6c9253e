"""The backfill end to end on real servers: the ``backfill`` function under functions-framework
over HTTP, chunks fanned out by the Cloud Tasks emulator to the same function, the archive and
the destination sources on fake-gcs-server, run state in the Firestore emulator."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from ingestion.local.backfill_topology import RAW_SOURCE, backfill_function
from ingestion.local.loader_topology import DECODED_SOURCE, ERRORS_SOURCE
from ingestion.local.services import LocalService, free_port, running

from .conftest import WINDOW, World, new_queue

DESTINATION = {"decoded": DECODED_SOURCE.name, "error": ERRORS_SOURCE.name}
PREFIXES = (f"{DECODED_SOURCE.prefix}/", f"{ERRORS_SOURCE.prefix}/")


def request_body(run_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "source": RAW_SOURCE.name,
        "window": WINDOW,
        "destination": DESTINATION,
        "chunk_bytes": 256 << 10,
        "run_id": run_id,
        **fields,
    }


def wait_for(condition: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met in {timeout:.0f} s: {describe()}")
        time.sleep(0.2)


def status(function: LocalService, run_id: str) -> dict[str, Any]:
    response = requests.get(f"http://{function.host}/backfills/{run_id}", timeout=30)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def wait_done(function: LocalService, run_id: str, timeout: float = 90) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def done() -> bool:
        nonlocal last
        try:
            last = status(function, run_id)
        except requests.ConnectionError:  # a restarted function's worker still booting
            return False
        return bool(last["state"] == "done")

    wait_for(done, timeout, lambda: str(last)[:600])
    return last


@pytest.fixture(scope="module")
def function(world: World, service_logs) -> Iterator[LocalService]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = world.environment(new_queue(world.tasks_host), url, backfill_commit_bytes=256 << 10)
    with running(backfill_function(service_logs, env, port=port, name="backfill-main")) as (
        started,
    ):
        yield started


@pytest.fixture(scope="module")
def finished(world: World, function: LocalService) -> dict[str, Any]:
    """The archive's window backfilled into the destination sources once."""
    run_id = f"main-{uuid.uuid4().hex[:6]}"
    response = requests.post(f"http://{function.host}/backfills", json=request_body(run_id))
    assert response.status_code == 202, response.text
    assert response.json()["run_id"] == run_id
    return wait_done(function, run_id)


def test_outputs_equal_ingestion_decode_of_the_same_input(world: World, finished) -> None:
    assert len(world.expected_decoded) > 3000 and len(world.expected_errors) > 3000
    run_id = finished["run_id"]
    assert world.stored_lines(PREFIXES[0], run_id) == world.expected_decoded
    assert world.stored_lines(PREFIXES[1], run_id) == world.expected_errors
    assert finished["plan"]["objects"] == 3  # the hour outside the window was never read
    assert finished["chunks"]["total"] > 3  # the plain object was cut on line boundaries


def test_status_counts_add_up_to_the_input(world: World, finished) -> None:
    counts = finished["counts"]
    assert counts["records"] == sum(len(lines) for lines in world.objects.values())
    assert counts["decoded"] == len(world.expected_decoded)
    assert counts["error"] == len(world.expected_errors)
    assert sum(counts["error_types"].values()) == counts["error"]
    assert counts["bytes"] == finished["plan"]["bytes"]
    assert finished["chunks"]["done"] == finished["chunks"]["total"]
    assert counts["error_types"]["DecodePubsubMessages"] > 0  # the bad lines are accounted for


def test_the_same_run_id_again_adds_no_object_and_no_record(world, function, finished) -> None:
    before = {prefix: world.stored(prefix, "") for prefix in PREFIXES}
    body = request_body(finished["run_id"])
    response = requests.post(f"http://{function.host}/backfills", json=body, timeout=60)
    assert response.status_code == 202, response.text
    assert response.json() == {**response.json(), "resumed": True, "dispatched": 0}
    again = wait_done(function, finished["run_id"])
    assert again["counts"] == finished["counts"]
    assert {prefix: world.stored(prefix, "") for prefix in PREFIXES} == before


def test_a_different_request_under_a_known_run_id_is_refused(function, finished) -> None:
    body = request_body(finished["run_id"], chunk_bytes=1 << 20)
    response = requests.post(f"http://{function.host}/backfills", json=body, timeout=60)
    assert response.status_code == 409
    assert "different request" in response.json()["error"]


def test_a_dry_run_answers_the_plan_and_writes_nothing(world, function, firestore) -> None:
    before = {prefix: world.stored(prefix, "") for prefix in PREFIXES}
    run_id = f"dry-{uuid.uuid4().hex[:6]}"
    body = request_body(run_id, dry_run=True)
    response = requests.post(f"http://{function.host}/backfills", json=body, timeout=60)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["plan"]["objects"] == 3 and answer["plan"]["chunks"] > 3
    assert answer["estimate"]["invocations"] >= answer["plan"]["chunks"]
    assert answer["estimate"]["cost_usd"] > 0
    assert not firestore.collection("backfill-runs").document(run_id).get().exists
    assert {prefix: world.stored(prefix, "") for prefix in PREFIXES} == before


def test_a_bucket_outside_the_allowlist_is_refused(function) -> None:
    body = request_body("elsewhere", source="gs://not-allowed-bucket/raw", window=None)
    response = requests.post(f"http://{function.host}/backfills", json=body, timeout=60)
    assert response.status_code == 403
    assert response.json() == {
        "error": "source bucket 'not-allowed-bucket' is not in the backfill allowlist"
    }


@pytest.mark.parametrize(
    ("fields", "status_code"),
    [
        ({"source": 5}, 400),
        ({"source": "no-such-source"}, 400),
        ({"window": {"start": "2026-11-20T10"}}, 400),
        ({"window": {"start": "2026-11-20T12", "end": "2026-11-20T10"}}, 400),
        ({"window": {"start": "yesterday", "end": "2026-11-20T10"}}, 400),
        ({"format": "csv"}, 400),
        ({"destination": {"decoded": "a"}}, 400),
        ({"destination": {"decoded": "no-such", "error": ERRORS_SOURCE.name}}, 400),
        ({"chunk_bytes": 10}, 400),
        ({"chunk_bytes": "big"}, 400),
        ({"dedup": "always"}, 400),
        ({"dry_run": "yes"}, 400),
        ({"max_chunks": 0}, 400),
        ({"max_chunks": 1}, 422),
        ({"max_bytes": 100}, 422),
        ({"run_id": "Has Spaces"}, 400),
        ({"surprise": 1}, 400),
    ],
)
def test_each_malformed_field_is_a_4xx_with_a_one_line_reason(function, fields, status_code):
    body = {**request_body(f"bad-{uuid.uuid4().hex[:6]}", dry_run=True), **fields}
    response = requests.post(f"http://{function.host}/backfills", json=body, timeout=60)
    assert response.status_code == status_code, response.text
    reason = response.json()["error"]
    assert reason and "\n" not in reason and "Traceback" not in reason
