"""A run's status from a summary of its chunks, not from reading them all: the in-memory store's
summary is the one summing rule's over the same documents, it says what the documents hold
(written out plainly below), and the status built on it adds up. The Firestore store's summary
is checked against the same rule on the emulator (``test_status_summary_firestore.py``)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from status_world import CLOCK, RUN, runs, status_service, times

from ingestion import pipeline
from ingestion.adapters.backfill_store import InMemoryBackfillStore
from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.backfill.outputs import ObjectOutputs, Target
from ingestion.backfill.plan import make_plan
from ingestion.backfill.runner import ChunkRunner, RunnerOptions
from ingestion.backfill.state import CHUNK_STATES, COUNT_FIELDS, DONE, FAILED, RUNNING, empty_counts
from ingestion.backfill.status import (
    KNOWN_ERROR_TYPES,
    MAX_LISTED_ERRORS,
    OTHER_ERRORS,
    ChunkSummary,
    chunk_summary,
    run_status,
    summarize,
)
from ingestion.core import errors
from ingestion.core.errors import READ_ERROR_TYPE
from ingestion.core.partitions import Dimension
from ingestion.local.backfill_topology import archive_lines
from ingestion.service.context_provider import ContextProvider
from ingestion.service.decoder import DecoderService
from ingestion.settings import BackfillSettings


def expected_summary(documents: dict[str, dict[str, Any]]) -> ChunkSummary:
    """What a summary of ``documents`` must say, spelled out without the store's queries."""
    docs = documents.values()
    error_types = {kind: 0 for kind in (*KNOWN_ERROR_TYPES, OTHER_ERRORS)}
    for doc in docs:
        for kind, value in doc["counts"]["error_types"].items():
            error_types[kind if kind in KNOWN_ERROR_TYPES else OTHER_ERRORS] += value
    started = [doc["started_at"] for doc in docs if "started_at" in doc]
    updated = [doc["updated_at"] for doc in docs if "updated_at" in doc]
    noted = sorted((doc["errors_at"], cid) for cid, doc in documents.items() if "errors_at" in doc)
    listed = [
        {"chunk": cid, "object": documents[cid]["name"], **error}
        for _, cid in noted[:MAX_LISTED_ERRORS]
        for error in documents[cid]["errors"]
    ]
    return ChunkSummary(
        states={state: sum(doc["state"] == state for doc in docs) for state in CHUNK_STATES},
        counts={key: sum(doc["counts"][key] for doc in docs) for key in COUNT_FIELDS},
        error_types={kind: value for kind, value in sorted(error_types.items()) if value},
        first_started=min(started, default=0.0),
        last_updated=max(updated, default=0.0),
        errors=listed[:MAX_LISTED_ERRORS],
    )


def stored(documents: dict[str, dict[str, Any]]) -> InMemoryBackfillStore:
    store = InMemoryBackfillStore()
    store.put_chunks(RUN, list(documents.items()))
    return store


@settings(max_examples=300, deadline=None)
@given(runs)
def test_the_in_memory_summary_is_the_rule_and_says_what_the_chunks_hold(documents) -> None:
    summary = chunk_summary(stored(documents), RUN)
    assert summary == summarize(documents.items())
    assert summary == expected_summary(documents)


@settings(max_examples=300, deadline=None)
@given(runs, st.sampled_from(["running", "cancelled"]), times)
def test_the_status_of_a_summary_adds_up(documents, run_state, now) -> None:
    run = {"state": run_state, "plan": {"bytes": 10**10}, "request": {"source": "s"}}
    status = run_status(RUN, run, summarize(documents.items()), now)
    chunks, counts = status["chunks"], status["counts"]
    assert chunks["total"] == len(documents) == sum(chunks[s] for s in CHUNK_STATES)
    assert counts["error"] == sum(counts["error_types"].values())
    assert all(value > 0 for value in counts["error_types"].values())
    assert counts["records"] == sum(doc["counts"]["records"] for doc in documents.values())
    assert len(status["errors"]) <= MAX_LISTED_ERRORS
    assert all(error["chunk"] in documents for error in status["errors"])
    unfinished = chunks["pending"] + chunks["running"]
    if run_state == RUNNING and documents and not unfinished:
        assert status["state"] == ("finished_with_failures" if chunks[FAILED] else DONE)
    else:
        assert status["state"] == run_state
    if status["state"] != RUNNING:
        assert status["eta_seconds"] is None


def test_every_error_type_the_decoder_can_count_is_known() -> None:
    """A stage or pinned type missing from the list would only show as ``other``."""
    stages = {stage.name for stage in (*pipeline.PROTECT, *pipeline.DECODE)}
    pinned, classes = set(), [errors.Rejection]
    while classes:
        rejection = classes.pop()
        classes += rejection.__subclasses__()
        pinned |= {rejection.error_type} - {None}
    named = {"Duplicate", READ_ERROR_TYPE, "unknown"}  # decoder service, counters' fallback
    assert stages | pinned | named == set(KNOWN_ERROR_TYPES)
    assert OTHER_ERRORS not in KNOWN_ERROR_TYPES


class UnreadableChunks(InMemoryBackfillStore):
    def chunks(self, run_id: str) -> list[tuple[str, dict[str, Any]]]:
        raise AssertionError("a status must not read every chunk document")


def test_the_status_call_does_not_read_the_chunks() -> None:
    documents = {
        "c1": {"state": "done", "counts": {"records": 5, "bytes": 9}, "started_at": 1.7e9},
        "c2": {"state": "running", "counts": {"records": 2, "bytes": 1}, "updated_at": 1.7e9 + 5},
    }
    store = UnreadableChunks()
    store.create_run(RUN, {"state": "running", "plan": {"bytes": 100}})
    store.put_chunks(RUN, list(documents.items()))
    status = status_service(store).status(RUN)
    assert status["chunks"] == {
        "total": 2,
        **dict.fromkeys(CHUNK_STATES, 0),
        "done": 1,
        "running": 1,
    }
    assert status["counts"]["records"] == 7 and status["counts"]["bytes"] == 10
    assert status["elapsed_seconds"] == round(CLOCK - 1.7e9, 1)


# --- the runner marks the chunks it notes errors on, and the status lists them ---------------


def runner_world(tmp_path: Path, contents: bytes, max_attempts: int = 5) -> tuple[Any, ...]:
    """One gzip object packed into one chunk, a runner over it, run state in memory."""
    archive = LocalBucket(tmp_path / "archive")
    archive.write("raw/a.ndjson.gz", contents, None)
    plan = make_plan(archive, "archive", [archive.stat("raw/a.ndjson.gz")], fmt="raw",
                     chunk_bytes=1 << 30, max_chunks=1, max_bytes=1 << 30)  # fmt: skip
    (chunk,) = plan.chunks
    store = InMemoryBackfillStore()
    store.create_run(RUN, {"state": "running", "plan": plan.summary()})
    document = {**chunk.as_document(), "state": "pending", "attempts": 0, "yields": 0}
    store.put_chunks(RUN, [(chunk.chunk_id, {**document, "counts": empty_counts()})])
    settings = BackfillSettings.from_environ({"GOOGLE_CLOUD_PROJECT": "test-project"})
    provider = ContextProvider(settings.resources, recheck_seconds=3600)
    runner = ChunkRunner(
        store,
        lambda outputs, dedup: DecoderService(provider.current, outputs, dedup),
        RunnerOptions(budget_seconds=3600.0, max_attempts=max_attempts),
    )
    dest = LocalBucket(tmp_path / "dest")
    outputs = ObjectOutputs(
        Target(dest, "decoded", (Dimension("document_type"),)),
        Target(dest, "errors", (Dimension("error_type"),)),
        RUN,
        chunk.chunk_id,
    )

    def run() -> str:
        return runner.run(
            RUN,
            chunk.chunk_id,
            bucket_for=lambda name: archive,
            outputs=outputs,
            dedup=False,
            continue_at=lambda position: None,
        ).outcome

    return store, chunk, run


LINES = archive_lines(200, "2026-11-20T10:15:30Z", seed=11)
GZIPPED = gzip.compress(b"".join(line + b"\n" for line in LINES))


def test_a_damaged_chunk_is_listed_in_the_status(tmp_path: Path) -> None:
    store, chunk, run = runner_world(tmp_path, GZIPPED[: len(GZIPPED) // 2])
    assert run() == DONE
    status = status_service(store).status(RUN)
    [error] = status["errors"]
    assert error["chunk"] == chunk.chunk_id and error["object"] == "raw/a.ndjson.gz"
    assert error["type"] == "Damaged" and error["reason"].startswith("raw/a.ndjson.gz: gzip")
    assert status["state"] == DONE and status["chunks"][DONE] == 1


def test_a_chunk_that_gave_up_is_listed_in_the_status(tmp_path: Path) -> None:
    store, chunk, run = runner_world(tmp_path, GZIPPED, max_attempts=1)
    store.update_chunks(RUN, [chunk.chunk_id], {"attempts": 1})  # one failed attempt before
    assert run() == FAILED
    status = status_service(store).status(RUN)
    assert status["state"] == "finished_with_failures" and status["chunks"][FAILED] == 1
    assert [error["type"] for error in status["errors"]] == ["Attempts"]
