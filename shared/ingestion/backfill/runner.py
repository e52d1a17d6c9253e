"""One task of one chunk: claim it, decode its input from its checkpoint, commit, finish or yield.

1. **Claim** (a transaction on the chunk's document): a done, failed or cancelled chunk is left
   alone (a duplicate dispatch costs one read); otherwise it becomes ``running`` under a new
   owner token, ``attempts`` + 1. A chunk whose earlier attempts failed ``max_attempts`` times
   becomes ``failed`` instead. The last claimer wins: a worker that lost its chunk to a retry
   notices at its next checkpoint and stops, its writes were the same objects.
2. **Decode** batches from the checkpoint (a piece and a place in it: ``plan``), through the
   chunk's pieces in order, with the shared ``DecoderService`` into the run's outputs. A damaged
   piece is noted (``errors``, ``damaged``) and the chunk goes on with the next piece. Every
   ``commit_bytes`` of input (or ``commit_records`` records) the outputs are committed (objects
   written or messages published), then the run's dedup marks, then the checkpoint (position +
   counts, and the damage noted since). Commit points depend on the input alone, so a retry after a
   crash redoes exactly the work after the last checkpoint, under the same object names.
3. **Time budget**: after a commit past the deadline the chunk goes back to ``pending`` at its
   checkpoint and a continuation task is enqueued (its name derived from the position, so a
   retried yield enqueues it once); the rest runs in that task.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable
from typing import Any

from ..adapters.dedup import NoDedup
from ..core.message import Message
from ..service.decoder import DecoderService
from .dedup import RunDedup
from .inputs import read_batches
from .outputs import Outputs
from .plan import Chunk
from .ports import Document, RunStore
from .state import (
    CANCELLED,
    DONE,
    ERRORS_AT,
    FAILED,
    PENDING,
    RUNNING,
    add_counts,
    counts_of,
    note_error,
)

DEFAULT_COMMIT_BYTES = 16 << 20
DEFAULT_COMMIT_RECORDS = 50_000


@dataclasses.dataclass(frozen=True)
class RunnerOptions:
    budget_seconds: float  # how long one task may decode before it yields
    max_attempts: int = 5
    commit_bytes: int = DEFAULT_COMMIT_BYTES
    commit_records: int = DEFAULT_COMMIT_RECORDS


@dataclasses.dataclass
class TaskResult:
    outcome: str  # done | yielded | skipped | cancelled | failed | lost | unknown
    position: int = 0
    counts: dict[str, Any] = dataclasses.field(default_factory=dict)


def _claim(
    owner: str, max_attempts: int, now: float
) -> Callable[[Document | None], Document | None]:
    def update(chunk: Document | None) -> Document | None:
        if chunk is None or chunk.get("state") in (DONE, FAILED, CANCELLED):
            return None
        failures = chunk.get("attempts", 0) - chunk.get("yields", 0)
        if failures >= max_attempts:
            return {
                "state": FAILED,
                "owner": "",
                **note_error(chunk, "Attempts", f"gave up after {failures} attempts", now),
                "updated_at": now,
            }
        return {
            "state": RUNNING,
            "owner": owner,
            "attempts": chunk.get("attempts", 0) + 1,
            "started_at": chunk.get("started_at") or now,
            "updated_at": now,
        }

    return update


def _owned(owner: str, fields: Document) -> Callable[[Document | None], Document | None]:
    def update(chunk: Document | None) -> Document | None:
        if chunk is None or chunk.get("owner") != owner:
            return None  # the chunk was claimed by a later task: leave it to that one
        return fields

    return update


class ChunkRunner:
    def __init__(
        self,
        store: RunStore,
        make_service: Callable[[Outputs, Any], DecoderService],
        options: RunnerOptions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._make_service = make_service
        self._options = options
        self._clock = clock

    def run(
        self,
        run_id: str,
        chunk_id: str,
        *,
        bucket_for: Callable[[str], Any],
        outputs: Outputs,
        dedup: bool,
        continue_at: Callable[[int], None],
    ) -> TaskResult:
        """Run one task of the chunk; ``continue_at(position)`` enqueues its continuation."""
        started = self._clock()
        owner = secrets.token_hex(8)
        options = self._options
        chunk_doc = self._store.transact(
            run_id, chunk_id, _claim(owner, options.max_attempts, started)
        )
        if chunk_doc is None:
            return TaskResult("unknown")
        if chunk_doc.get("owner") != owner:
            return TaskResult("skipped" if chunk_doc["state"] != FAILED else "failed")
        chunk = Chunk.from_document(chunk_doc)
        position = int(chunk_doc.get("position") or 0)
        counts = counts_of(chunk_doc)
        run_dedup = RunDedup(self._store, run_id, chunk_id, position) if dedup else None
        service = self._make_service(outputs, run_dedup or NoDedup())
        pending_bytes = pending_records = 0
        commit_start = position
        counted: dict[str, int] = {}  # the service's counters at the last commit
        # The noted errors (``errors``, ``errors_at``), with the damage found since.
        noted: Document = {key: chunk_doc[key] for key in ("errors", ERRORS_AT) if key in chunk_doc}
        damaged = str(chunk_doc.get("damaged") or "")

        def commit(at: int) -> bool:
            """Outputs, marks, checkpoint; False when this task no longer owns the chunk."""
            nonlocal commit_start, pending_bytes, pending_records, counts, counted
            outputs.commit(commit_start)
            if run_dedup is not None:
                run_dedup.commit(commit_start)
            now_counted = service.counters.snapshot()
            counts = add_counts(counts, now_counted, counted, chunk.bytes_before(at))
            counted = now_counted
            fields = {"position": at, "counts": counts, "updated_at": self._clock()}
            if damaged:
                fields.update({"damaged": damaged, **noted})
            kept = self._store.transact(run_id, chunk_id, _owned(owner, fields))
            commit_start, pending_bytes, pending_records = at, 0, 0
            return kept is not None and kept.get("owner") == owner

        for item in read_batches(bucket_for(chunk.bucket), chunk, position):
            batch = item.inputs
            if item.damage:  # that piece ends here; the chunk goes on with the next one
                damaged = item.damage
                noted = note_error(noted, "Damaged", item.damage, self._clock())
            if batch:
                if run_dedup is not None:
                    run_dedup.prefetch(batch)
                service.process_batch(batch)
            pending_records += len(batch)
            pending_bytes += sum(
                len(entry.payload if isinstance(entry, Message) else entry.body) for entry in batch
            )
            position = item.position
            if pending_bytes < options.commit_bytes and pending_records < options.commit_records:
                continue
            if not commit(position):
                return TaskResult("lost", position, counts)
            if self._cancelled(run_id):
                return self._end(run_id, chunk_id, owner, CANCELLED, position, counts)
            if self._clock() - started >= options.budget_seconds:
                return self._yield(run_id, chunk_id, owner, position, counts, continue_at)
        if not commit(position):
            return TaskResult("lost", position, counts)
        counts = {**counts, "bytes": chunk.size}
        extra: Document = {"bytes_done": chunk.size}
        return self._end(run_id, chunk_id, owner, DONE, position, counts, extra)

    def _cancelled(self, run_id: str) -> bool:
        run = self._store.get_run(run_id)
        return run is None or run.get("state") == CANCELLED

    def _yield(
        self,
        run_id: str,
        chunk_id: str,
        owner: str,
        position: int,
        counts: dict[str, Any],
        continue_at: Callable[[int], None],
    ) -> TaskResult:
        def update(chunk: Document | None) -> Document | None:
            if chunk is None or chunk.get("owner") != owner:
                return None
            return {"state": PENDING, "owner": "", "yields": chunk.get("yields", 0) + 1}

        # Pending first: if the enqueue fails, the run stays resumable from the checkpoint.
        self._store.transact(run_id, chunk_id, update)
        continue_at(position)
        return TaskResult("yielded", position, counts)

    def _end(
        self,
        run_id: str,
        chunk_id: str,
        owner: str,
        state: str,
        position: int,
        counts: dict[str, Any],
        extra: Document | None = None,
    ) -> TaskResult:
        fields = {
            "state": state,
            "owner": "",
            "position": position,
            "counts": counts,
            "finished_at": self._clock(),
            "updated_at": self._clock(),
            **(extra or {}),
        }
        kept = self._store.transact(run_id, chunk_id, _owned(owner, fields))
        return TaskResult(state if kept is not None else "lost", position, counts)
