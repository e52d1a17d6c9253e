"""The Firestore store's chunk summary on the real emulator: the same as the in-memory store's
for the same documents (written with ``put_chunks``, then moved on with ``update_chunks``), and
a status call reads it without streaming the chunk collection."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from status_world import CLOCK, runs, status_service, times

from ingestion.adapters.backfill_store import (
    ChunkQuery,
    FirestoreBackfillStore,
    Firsts,
    InMemoryBackfillStore,
)
from ingestion.backfill.status import chunk_summary, run_status
from ingestion.local.services import DEFAULT_SDK_ROOT, ServiceUnavailable, firestore_emulator

pytestmark = pytest.mark.emulator
PROJECT = "test-project"
SDK_ROOT = Path(os.environ.get("GCLOUD_SDK_ROOT", str(DEFAULT_SDK_ROOT)))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Firestore client on an emulator of this module's own."""
    from google.cloud import firestore

    try:
        service = firestore_emulator(tmp_path_factory.mktemp("firestore"), SDK_ROOT).start()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    try:
        # The client reads FIRESTORE_EMULATOR_HOST when it is constructed, and only then.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("FIRESTORE_EMULATOR_HOST", service.host)
            client = firestore.Client(project=PROJECT)
        yield client
    finally:
        service.stop()


def both_stores(client: Any, documents: dict[str, dict[str, Any]], moves: dict[str, Any]):
    """The documents in Firestore (a run of their own) and in memory, then ``moves`` (fields
    given to some chunks) written to both with ``update_chunks``."""
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    firestore_store = FirestoreBackfillStore(client, collection="status-runs")
    memory_store = InMemoryBackfillStore()
    for store in (firestore_store, memory_store):
        store.put_chunks(run_id, list(documents.items()))
        for chunk_id, fields in moves.items():
            store.update_chunks(run_id, [chunk_id], fields)
    return run_id, firestore_store, memory_store


# Top-level fields only: Firestore merges nested maps where the in-memory twin replaces them.
chunk_moves = st.fixed_dictionaries(
    {"state": st.sampled_from(["running", "done", "failed"]), "updated_at": times},
    optional={
        "errors": st.just([{"type": "Attempts", "reason": "gave up after 5 attempts"}]),
        "errors_at": times,
    },
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(documents=runs, data=st.data())
def test_firestore_summarises_as_the_rule_does(client, documents, data) -> None:
    moved = [chunk_id for chunk_id in sorted(documents) if data.draw(st.booleans())]
    moves = {chunk_id: data.draw(chunk_moves) for chunk_id in moved}
    run_id, firestore_store, memory_store = both_stores(client, documents, moves)
    assert chunk_summary(firestore_store, run_id) == chunk_summary(memory_store, run_id)


def test_the_primitives_match_on_ties_and_odd_values(client) -> None:
    """Ties ordered by chunk id both ways; ``> 0`` matches numbers only; nothing sums to 0."""
    odd = [5, 5, 3, True, "x", None, 2.5, -1, 0]
    documents = {f"c{index}": {"t": value, "m": {"t": value}} for index, value in enumerate(odd)}
    query = ChunkQuery(
        counts=(("t", "x"), ("m.t", "y")),
        sums=("t", "m.t", "missing"),
        firsts=(Firsts("t", 3, keep=("t",)), Firsts("m.t", 3, descending=True, keep=("m",))),
    )
    run_id, firestore_store, memory_store = both_stores(client, documents, {})
    answer = firestore_store.query_chunks(run_id, query)
    assert answer == memory_store.query_chunks(run_id, query)
    assert answer.sums == {"t": 15.5, "m.t": 15.5, "missing": 0}
    assert [cid for cid, _ in answer.firsts[query.firsts[1]]] == ["c1", "c0", "c2"]


class UnreadableChunks(FirestoreBackfillStore):
    def chunks(self, run_id: str) -> list[tuple[str, dict[str, Any]]]:
        raise AssertionError("a status must not read every chunk document")


def test_a_status_call_does_not_stream_the_chunks(client) -> None:
    documents = {
        f"{index:06x}": {
            "state": ["pending", "running", "done"][index % 3],
            "name": f"raw/{index}.ndjson.gz",
            "counts": {"records": index, "error": 1, "error_types": {"ParsePayload": 1}},
            "started_at": 1.7e9 + index,
            "updated_at": 1.7e9 + 2 * index,
        }
        for index in range(30)
    }
    run_id, _, memory_store = both_stores(client, documents, {})
    store = UnreadableChunks(client, collection="status-runs")
    run = {"state": "running", "plan": {"bytes": 10**6}}
    store.create_run(run_id, run)
    status = status_service(store).status(run_id)
    assert status == run_status(run_id, run, chunk_summary(memory_store, run_id), CLOCK)
    assert status["chunks"]["total"] == 30 and status["counts"]["records"] == sum(range(30))
    assert status["counts"]["error_types"] == {"ParsePayload": 30}
