"""One chunk task on the in-memory run store and local buckets (no servers): a chunk that yields
at its time budget, or whose worker dies after writing, ends with the outputs and counts of a
chunk run in one go; a cancelled run stops at its next commit; ``dedup: "run"`` turns the
copies of a uri delivered anywhere in the run into ``Duplicate`` errors, like ``ingestion
decode`` with deduplication, and a retried chunk does not count its own deliveries."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import re
from pathlib import Path
from typing import Any

import pytest

from ingestion.adapters.backfill_store import InMemoryBackfillStore
from ingestion.adapters.dedup import InMemoryDedupStore
from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.backfill import inputs
from ingestion.backfill.outputs import ObjectOutputs, Target
from ingestion.backfill.plan import POSITION_SPAN, Chunk, line_cuts, make_plan
from ingestion.backfill.runner import ChunkRunner, RunnerOptions, TaskResult
from ingestion.backfill.state import empty_counts
from ingestion.core.lines import read_line
from ingestion.core.partitions import Dimension
from ingestion.local.backfill_topology import archive_lines
from ingestion.service.context_provider import ContextProvider
from ingestion.service.decoder import DecoderService
from ingestion.settings import BackfillSettings

RUN = "unit-run"
COMMIT_BYTES = 16 << 10
_BASE = archive_lines(480, "2026-11-20T10:15:30Z", seed=7)
LINES = _BASE + _BASE[:200:10]  # copies of early lines at the end: in another chunk
CONTENT = b"".join(line + b"\n" for line in LINES)
PACKED = ("raw/p1.ndjson", "raw/p2.ndjson.gz", "raw/p3.ndjson")


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 50 lines: a commit can only fall between batches, and the chunk is 500."""
    monkeypatch.setattr(inputs, "BATCH_LINES", 50)


@pytest.fixture(scope="module")
def provider() -> ContextProvider:
    settings = BackfillSettings.from_environ({"GOOGLE_CLOUD_PROJECT": "test-project"})
    return ContextProvider(settings.resources, recheck_seconds=3600)


class World:
    """An archive bucket with one plain object, a destination bucket, a run in memory."""

    def __init__(
        self,
        root: Path,
        provider: ContextProvider,
        store: InMemoryBackfillStore | None = None,
        **options: Any,
    ) -> None:
        self.archive = LocalBucket(root / "archive")
        self.dest = LocalBucket(root / "dest")
        self.archive.write("raw/a.ndjson", CONTENT, None)
        self.store = store or InMemoryBackfillStore()
        self.store.create_run(RUN, {"state": "running"})
        self.continued: list[int] = []
        options = {"budget_seconds": 3600.0, "commit_bytes": COMMIT_BYTES, **options}

        def make_service(outputs: Any, dedup: Any) -> DecoderService:
            return DecoderService(provider.current, outputs, dedup)

        self.runner = ChunkRunner(self.store, make_service, RunnerOptions(**options))

    def add_chunks(self, cut: int) -> list[Chunk]:
        info = self.archive.stat("raw/a.ndjson")
        return self.put(
            [
                Chunk.single("archive", info.name, info.generation, start, end, "lines")
                for start, end in line_cuts(self.archive, info, cut)
            ]
        )

    def add_packed_chunk(self) -> Chunk:
        """The same lines in three objects (plain, gzip, plain), packed into one chunk."""
        thirds = [LINES[:170], LINES[170:340], LINES[340:]]
        contents = [b"".join(line + b"\n" for line in part) for part in thirds]
        contents[1] = gzip.compress(contents[1])
        for name, content in zip(PACKED, contents, strict=True):
            self.archive.write(name, content, None)
        listed = [self.archive.stat(name) for name in PACKED]
        plan = make_plan(self.archive, "archive", listed, fmt="raw", chunk_bytes=1 << 30,
                         max_chunks=1, max_bytes=1 << 30)  # fmt: skip
        return self.put(plan.chunks)[0]

    def put(self, chunks: list[Chunk]) -> list[Chunk]:
        documents = [
            (c.chunk_id, {**c.as_document(), "state": "pending", "attempts": 0, "yields": 0,
                          "owner": "", "position": c.start, "counts": empty_counts()})
            for c in chunks
        ]  # fmt: skip
        self.store.put_chunks(RUN, documents)
        return chunks

    def outputs(self, chunk: Chunk) -> ObjectOutputs:
        decoded = Target(self.dest, "decoded", (Dimension("document_type"),))
        errors = Target(self.dest, "errors", (Dimension("error_type"),))
        return ObjectOutputs(decoded, errors, RUN, chunk.chunk_id)

    def run(self, chunk: Chunk, outputs: Any = None, dedup: bool = False) -> TaskResult:
        return self.runner.run(
            RUN,
            chunk.chunk_id,
            bucket_for=lambda name: self.archive,
            outputs=outputs or self.outputs(chunk),
            dedup=dedup,
            continue_at=self.continued.append,
        )

    def chunk(self, chunk: Chunk) -> dict[str, Any]:
        return dict(self.store.chunks(RUN))[chunk.chunk_id]

    def stored(self) -> dict[str, bytes]:
        """Objects by name, the chunk id (which hashes the archive object's generation, another
        one in each world) replaced by the chunk's offset."""
        ids = {chunk_id: str(doc["start"]) for chunk_id, doc in self.store.chunks(RUN)}
        return {
            re.sub("[0-9a-f]{24}", lambda found: ids[found.group()], item.name): self.dest.read(
                item.name
            )
            for item in self.dest.list("")
            if not isinstance(item, str)
        }


class WorkerKilled(Exception):
    """The worker process dies here (nothing after it runs)."""


class CrashAfterWriting:
    """The chunk's outputs, but the worker dies right after the ``crash_at``-th commit wrote
    its objects (before the checkpoint is saved)."""

    def __init__(self, outputs: ObjectOutputs, crash_at: int) -> None:
        self._outputs = outputs
        self._left = crash_at
        self.deliver, self.flush = outputs.deliver, outputs.flush

    def commit(self, position: int) -> int:
        written = self._outputs.commit(position)
        self._left -= 1
        if self._left == 0:
            raise WorkerKilled
        return written


class DiesBeforeACheckpoint(InMemoryBackfillStore):
    """The run store, but the worker dies when it saves its ``die_at``-th checkpoint: after
    the outputs and the dedup marks of that commit were written."""

    def __init__(self) -> None:
        super().__init__()
        self.die_at: int | None = None  # checkpoints until then; None: never

    def transact(self, run_id: str, chunk_id: str, update: Any) -> Any:
        def checkpoint(chunk: Any) -> Any:
            fields = update(chunk)
            if fields and "position" in fields and "state" not in fields and self.die_at:
                self.die_at -= 1
                if self.die_at == 0:
                    raise WorkerKilled
            return fields

        return super().transact(run_id, chunk_id, checkpoint)


@functools.cache
def one_go(provider: ContextProvider, root: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    world = World(root, provider)
    (chunk,) = world.add_chunks(1 << 30)
    assert world.run(chunk).outcome == "done"
    return world.stored(), world.chunk(chunk)["counts"]


def test_a_chunk_in_one_go_accounts_for_every_line(provider, tmp_path_factory) -> None:
    stored, counts = one_go(provider, tmp_path_factory.mktemp("one-go"))
    assert counts["records"] == len(LINES)
    assert counts["decoded"] + counts["error"] + counts["dropped"] == len(LINES)
    assert counts["bytes"] == len(CONTENT)
    assert counts["error_types"]["DecodePubsubMessages"] >= 5  # the bad lines
    assert len(stored) > 2 and all(name.endswith(".ndjson.gz") for name in stored)


def test_a_yielding_chunk_finishes_in_further_tasks_with_the_same_outputs(
    provider, tmp_path, tmp_path_factory
) -> None:
    expected, counts = one_go(provider, tmp_path_factory.mktemp("one-go"))
    world = World(tmp_path, provider, budget_seconds=1e-9)  # yield after every commit
    (chunk,) = world.add_chunks(1 << 30)
    outcomes: list[str] = []
    while not outcomes or outcomes[-1] == "yielded":
        outcomes.append(world.run(chunk).outcome)
        assert len(outcomes) < 100
    assert outcomes[-1] == "done" and len(outcomes) >= 3
    assert world.continued == sorted(set(world.continued))  # each task resumed further on
    document = world.chunk(chunk)
    assert document["yields"] == len(outcomes) - 1 and document["state"] == "done"
    assert document["counts"] == counts
    assert world.stored() == expected


def test_a_worker_killed_after_writing_is_retried_to_the_same_outputs(
    provider, tmp_path, tmp_path_factory
) -> None:
    expected, counts = one_go(provider, tmp_path_factory.mktemp("one-go"))
    world = World(tmp_path, provider)
    (chunk,) = world.add_chunks(1 << 30)
    with pytest.raises(WorkerKilled):
        world.run(chunk, CrashAfterWriting(world.outputs(chunk), crash_at=2))
    killed = world.chunk(chunk)
    assert killed["state"] == "running" and 0 < killed["position"] < len(CONTENT)
    assert world.run(chunk).outcome == "done"
    assert world.chunk(chunk)["attempts"] == 2
    assert world.chunk(chunk)["counts"] == counts
    assert world.stored() == expected  # the crashed commit's objects were overwritten


def test_a_cancelled_run_stops_at_the_next_commit(provider, tmp_path) -> None:
    world = World(tmp_path, provider)
    (chunk,) = world.add_chunks(1 << 30)
    world.store.update_run(RUN, {"state": "cancelled"})
    result = world.run(chunk)
    assert result.outcome == "cancelled" and 0 < result.position < len(CONTENT)
    assert world.chunk(chunk)["state"] == "cancelled"
    assert world.run(chunk).outcome == "skipped"  # a later task of it does nothing
    assert world.chunk(chunk)["attempts"] == 1


def reference_duplicates(provider: ContextProvider) -> int:
    """Duplicates ``ingestion decode`` (dedup on, one process) finds among the same lines."""

    class Discard:
        def deliver(self, decoded: Any, errors: Any) -> None: ...
        def flush(self) -> None: ...

    service = DecoderService(provider.current, Discard(), InMemoryDedupStore(None))
    service.process_batch([read_line(line) for line in LINES])
    return int(service.counters.snapshot().get("error:Duplicate", 0))


def test_dedup_within_the_run_finds_the_duplicates_of_decode_across_chunks(
    provider, tmp_path
) -> None:
    expected = reference_duplicates(provider)
    assert expected >= 8  # the copies at the end, and the archive's own
    world = World(tmp_path / "clean", provider)
    chunks = world.add_chunks(len(CONTENT) // 3)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert world.run(chunk, dedup=True).outcome == "done"
    found = [world.chunk(c)["counts"]["error_types"].get("Duplicate", 0) for c in chunks]
    assert sum(found) == expected
    assert sum(found[1:]) > 0  # later chunks see marks from earlier ones
    # A chunk retried after dying between its marks and its checkpoint counts the same
    # duplicates: the marks it wrote itself for the part it redoes are not duplicates.
    store = DiesBeforeACheckpoint()
    retried = World(tmp_path / "retried", provider, store)
    again_chunks = retried.add_chunks(len(CONTENT) // 3)
    for index, chunk in enumerate(again_chunks):
        if index == len(again_chunks) - 1:
            store.die_at = 2  # after its first checkpoint, at its second
            with pytest.raises(WorkerKilled):
                retried.run(chunk, dedup=True)
            assert store.marks[RUN] and retried.chunk(chunk)["state"] == "running"
        assert retried.run(chunk, dedup=True).outcome == "done"
    again = [retried.chunk(c)["counts"]["error_types"].get("Duplicate", 0) for c in again_chunks]
    assert again == found
    assert retried.stored() == world.stored()


def output_lines(stored: dict[str, bytes]) -> dict[str, list[bytes]]:
    """Output lines by partition folder, whatever objects the commits cut them into."""
    folders: dict[str, list[bytes]] = {}
    for name, data in stored.items():
        folders.setdefault(name.rsplit("/", 1)[0], []).extend(gzip.decompress(data).splitlines())
    return {folder: sorted(lines) for folder, lines in folders.items()}


@functools.cache
def packed_one_go(provider: ContextProvider, root: Path) -> tuple[dict[str, bytes], Any]:
    world = World(root, provider)
    chunk = world.add_packed_chunk()
    assert world.run(chunk).outcome == "done"
    return world.stored(), world.chunk(chunk)["counts"]


def test_a_packed_chunk_reads_its_objects_as_one_object_would(provider, tmp_path_factory) -> None:
    stored, counts = packed_one_go(provider, tmp_path_factory.mktemp("packed"))
    single, single_counts = one_go(provider, tmp_path_factory.mktemp("one-go"))
    assert output_lines(stored) == output_lines(single)
    assert {k: v for k, v in counts.items() if k != "bytes"} == {
        k: v for k, v in single_counts.items() if k != "bytes"
    }


def test_a_packed_chunk_yields_and_resumes_across_its_pieces(
    provider, tmp_path, tmp_path_factory
) -> None:
    expected, counts = packed_one_go(provider, tmp_path_factory.mktemp("packed"))
    world = World(tmp_path, provider, budget_seconds=1e-9)  # yield after every commit
    chunk = world.add_packed_chunk()
    outcomes: list[str] = []
    while not outcomes or outcomes[-1] == "yielded":
        outcomes.append(world.run(chunk).outcome)
        assert len(outcomes) < 100
    assert outcomes[-1] == "done"
    resumed = [divmod(position, POSITION_SPAN) for position in world.continued]
    assert world.continued == sorted(set(world.continued))
    assert {0, 1, 2} <= {piece for piece, _ in resumed}  # tasks resumed inside every piece
    assert any(piece == 1 and records > 0 for piece, records in resumed)  # mid-gzip, by records
    document = world.chunk(chunk)
    assert document["counts"] == counts and document["counts"]["bytes"] == chunk.size
    assert world.stored() == expected  # the same objects, under the same names


def test_a_packed_chunk_killed_past_a_piece_boundary_is_retried_to_the_same_outputs(
    provider, tmp_path, tmp_path_factory
) -> None:
    expected, counts = packed_one_go(provider, tmp_path_factory.mktemp("packed"))
    world = World(tmp_path, provider)
    chunk = world.add_packed_chunk()
    crash_at = 1
    while True:  # the first commit whose checkpoint would be in the second piece or later
        probe = World(tmp_path / f"probe-{crash_at}", provider)
        probe_chunk = probe.add_packed_chunk()
        with pytest.raises(WorkerKilled):
            probe.run(probe_chunk, CrashAfterWriting(probe.outputs(probe_chunk), crash_at))
        if probe.chunk(probe_chunk)["position"] >= POSITION_SPAN:
            break
        crash_at += 1
        assert crash_at < 50
    with pytest.raises(WorkerKilled):
        world.run(chunk, CrashAfterWriting(world.outputs(chunk), crash_at))
    killed = world.chunk(chunk)
    assert killed["state"] == "running" and killed["position"] >= POSITION_SPAN
    assert world.run(chunk).outcome == "done"
    assert world.chunk(chunk)["attempts"] == 2
    assert world.chunk(chunk)["counts"] == counts
    assert world.stored() == expected  # the crashed commit's objects were overwritten


def test_a_damaged_piece_is_noted_and_the_chunk_goes_on_with_the_next(provider, tmp_path) -> None:
    world = World(tmp_path, provider)
    chunk = world.add_packed_chunk()
    gzipped = world.archive.read(PACKED[1])
    world.archive.write(PACKED[1], gzipped[: len(gzipped) // 2], None)  # truncated
    truncated = world.archive.stat(PACKED[1])
    pieces = list(chunk.pieces)
    pieces[1] = dataclasses.replace(pieces[1], generation=truncated.generation, end=truncated.size)
    (chunk,) = world.put([Chunk(chunk.bucket, tuple(pieces))])
    assert world.run(chunk).outcome == "done"
    document = world.chunk(chunk)
    assert document["damaged"].startswith(f"{PACKED[1]}: gzip")
    assert [e["type"] for e in document["errors"]] == ["Damaged"]
    records = document["counts"]["records"]
    assert 170 + len(LINES) - 340 <= records < len(LINES)  # the pieces around it were all read
