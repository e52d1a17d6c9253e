"""The backfill's operations: start (plan, write the plan, dispatch), status, cancel, and one
chunk task. The HTTP handler (``http.py``) and the CLI call these; adapters come in built.

Starting twice is safe: a run is keyed by its ``run_id`` (the caller's, or a fresh one), its
plan is written before any chunk is dispatched, and posting a known ``run_id`` with the same
request resumes it: every chunk not done is dispatched again under a new dispatch round
(``epoch``), so task names never collide with the earlier round's (Cloud Tasks refuses a name
for a while after its task ended). A different request under a known ``run_id`` is a 409.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

from ..adapters.storage.objects import Bucket, ObjectInfo
from ..registry import Registry
from .estimate import estimate
from .listing import location_objects, registry_objects, source_location
from .outputs import ObjectOutputs, Outputs, Target
from .plan import Chunk, PlanTooLarge, make_plan
from .ports import Dispatcher, RunStore
from .request import BackfillRequest, RequestError
from .runner import ChunkRunner, TaskResult
from .state import CANCELLED, DONE, FAILED, PENDING, PLANNING, RUNNING, empty_counts
from .status import chunk_summary, run_status

DRY_RUN_CHUNKS, DRY_RUN_PIECES = 100, 10  # what a dry run lists of its plan


@dataclasses.dataclass(frozen=True)
class Limits:
    max_chunks: int
    max_bytes: int
    allowed_buckets: frozenset[str]


def chunk_path(run_id: str, chunk_id: str) -> str:
    return f"/backfills/{run_id}/chunks/{chunk_id}"


class Backfill:
    def __init__(
        self,
        *,
        store: RunStore,
        dispatcher: Dispatcher,
        runner: ChunkRunner,
        registry: Registry | None,
        bucket_for: Callable[[str], Bucket],
        limits: Limits,
        topic_outputs: Callable[[], Outputs] | None = None,
        budget_seconds: float = 1500,
        commit_bytes: int = 16 << 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._runner = runner
        self._registry = registry
        self._bucket_for = bucket_for
        self._limits = limits
        self._topic_outputs = topic_outputs
        self._budget = budget_seconds
        self._commit_bytes = commit_bytes
        self._clock = clock

    # -- checks --------------------------------------------------------------------------------

    def _need_registry(self) -> Registry:
        if self._registry is None:
            raise RequestError(400, "no registry is configured: use gs:// sources and topics")
        return self._registry

    def _allowed(self, bucket: str, what: str) -> None:
        if bucket not in self._limits.allowed_buckets:
            raise RequestError(403, f"{what} bucket {bucket!r} is not in the backfill allowlist")

    def _source_bucket(self, request: BackfillRequest) -> str:
        if request.is_location:
            bucket = request.source[len("gs://") :].split("/", 1)[0]
        else:
            bucket = source_location(self._need_registry(), request.source)[0]
        self._allowed(bucket, "source")
        return bucket

    def _targets(self, request: BackfillRequest) -> tuple[Target, Target] | None:
        destination = request.destination
        if destination.topics:
            if self._topic_outputs is None:
                raise RequestError(400, "destination topics are not configured for this function")
            return None
        registry = self._need_registry()
        targets = []
        for name in (destination.decoded, destination.error):
            source_location(registry, name)  # unknown -> 400
            writer = registry.writer(name)
            self._allowed(writer.bucket, "destination")
            bucket = registry.data_bucket(writer.bucket)
            targets.append(Target(bucket, writer.prefix, writer.dimensions))
        return targets[0], targets[1]

    # -- start -----------------------------------------------------------------------------------

    def _plan(self, request: BackfillRequest, bucket_name: str) -> Any:
        max_chunks = min(request.max_chunks or self._limits.max_chunks, self._limits.max_chunks)
        max_bytes = min(request.max_bytes or self._limits.max_bytes, self._limits.max_bytes)
        bucket = self._bucket_for(bucket_name)
        objects: Iterable[ObjectInfo]
        if request.is_location:
            objects = location_objects(request.source, self._bucket_for)
        else:
            objects = registry_objects(self._need_registry(), request, bucket)
        try:
            return make_plan(
                bucket,
                bucket_name,
                objects,
                fmt=request.format,
                chunk_bytes=request.chunk_bytes,
                max_chunks=max_chunks,
                max_bytes=max_bytes,
            )
        except PlanTooLarge as exc:
            raise RequestError(422, f"{exc}: narrow the window or raise the limit") from None

    def start(self, request: BackfillRequest) -> tuple[int, dict[str, Any]]:
        """(HTTP status, answer): 202 started or resumed, 200 for a dry run."""
        bucket_name = self._source_bucket(request)
        self._targets(request)
        run_id = request.run_id or _new_run_id(self._clock())
        existing = self._store.get_run(run_id)
        if existing is not None and existing.get("request") != request.as_json():
            raise RequestError(409, f"run {run_id!r} exists with a different request")
        if existing is not None and existing.get("state") != PLANNING:
            if request.dry_run:
                return 200, {"run_id": run_id, "dry_run": True, "plan": existing.get("plan")}
            return 202, self._resume(run_id, existing)
        plan = self._plan(request, bucket_name)
        summary = plan.summary()
        guess = estimate(plan.bytes, len(plan.chunks), self._budget, self._commit_bytes)
        if request.dry_run:
            chunks = [_chunk_json(chunk) for chunk in plan.chunks[:DRY_RUN_CHUNKS]]
            answer = {"run_id": run_id, "dry_run": True, "plan": summary, "chunks": chunks}
            return 200, {**answer, "estimate": guess.as_json()}
        document = {
            "request": request.as_json(),
            "plan": summary,
            "state": PLANNING,
            "epoch": 1,
            "created_at": self._clock(),
        }
        if existing is None and not self._store.create_run(run_id, document):
            raise RequestError(409, f"run {run_id!r} is being started by another request")
        # The plan is durable before anything is dispatched.
        self._store.put_chunks(run_id, [(c.chunk_id, _chunk_document(c)) for c in plan.chunks])
        self._store.update_run(run_id, {"state": RUNNING, "epoch": 1})
        self._dispatch(run_id, 1, [(c.chunk_id, c.start) for c in plan.chunks])
        return 202, {"run_id": run_id, "plan": summary, "estimate": guess.as_json()}

    def _resume(self, run_id: str, run: dict[str, Any]) -> dict[str, Any]:
        epoch = int(run.get("epoch", 1)) + 1
        chunks = self._store.chunks(run_id)
        todo = [(chunk_id, doc) for chunk_id, doc in chunks if doc.get("state") != DONE]
        again = [chunk_id for chunk_id, doc in todo if doc.get("state") in (FAILED, CANCELLED)]
        self._store.update_chunks(
            run_id, again, {"state": PENDING, "attempts": 0, "yields": 0, "owner": ""}
        )
        self._store.update_run(run_id, {"state": RUNNING, "epoch": epoch})
        self._dispatch(run_id, epoch, [(cid, int(doc.get("position") or 0)) for cid, doc in todo])
        return {"run_id": run_id, "resumed": True, "plan": run.get("plan"), "dispatched": len(todo)}

    def _dispatch(self, run_id: str, epoch: int, chunks: Sequence[tuple[str, int]]) -> None:
        self._dispatcher.dispatch([self._task(run_id, epoch, cid, at) for cid, at in chunks])

    @staticmethod
    def _task(run_id: str, epoch: int, chunk_id: str, position: int) -> tuple[str, str, bytes]:
        body = orjson.dumps({"run_id": run_id, "chunk_id": chunk_id})
        return f"{run_id}-{epoch}-{chunk_id}-{position}", chunk_path(run_id, chunk_id), body

    # -- status and cancel -------------------------------------------------------------------

    def _run(self, run_id: str) -> dict[str, Any]:
        run = self._store.get_run(run_id)
        if run is None:
            raise RequestError(404, f"no backfill run {run_id!r}")
        return run

    def status(self, run_id: str) -> dict[str, Any]:
        run = self._run(run_id)
        return run_status(run_id, run, chunk_summary(self._store, run_id), self._clock())

    def cancel(self, run_id: str) -> dict[str, Any]:
        self._run(run_id)
        self._store.update_run(run_id, {"state": CANCELLED, "cancelled_at": self._clock()})
        waiting = [cid for cid, doc in self._store.chunks(run_id) if doc.get("state") == PENDING]
        self._store.update_chunks(run_id, waiting, {"state": CANCELLED})
        return self.status(run_id)

    # -- one chunk task ----------------------------------------------------------------------

    def run_chunk(self, run_id: str, chunk_id: str) -> TaskResult:
        run = self._run(run_id)
        if run.get("state") == CANCELLED:
            self._store.transact(run_id, chunk_id, _cancel_unless_done)
            return TaskResult(CANCELLED)
        request = run["request"]
        epoch = int(run.get("epoch", 1))
        outputs = self._outputs(request, run_id, chunk_id)

        def continue_at(position: int) -> None:
            self._dispatcher.dispatch([self._task(run_id, epoch, chunk_id, position)])

        return self._runner.run(
            run_id,
            chunk_id,
            bucket_for=self._bucket_for,
            outputs=outputs,
            dedup=request.get("dedup") == "run",
            continue_at=continue_at,
        )

    def _outputs(self, request: dict[str, Any], run_id: str, chunk_id: str) -> Outputs:
        destination = request["destination"]
        if destination == "topics":
            if self._topic_outputs is None:
                raise RuntimeError("destination topics are not configured for this function")
            return self._topic_outputs()
        registry = self._need_registry()
        targets = []
        for name in (destination["decoded"], destination["error"]):
            writer = registry.writer(name)
            targets.append(
                Target(registry.data_bucket(writer.bucket), writer.prefix, writer.dimensions)
            )
        return ObjectOutputs(targets[0], targets[1], run_id, chunk_id)


def _cancel_unless_done(chunk: dict[str, Any] | None) -> dict[str, Any] | None:
    if chunk is None or chunk.get("state") in (DONE, FAILED, CANCELLED):
        return None
    return {"state": CANCELLED, "owner": ""}


def _chunk_document(chunk: Chunk) -> dict[str, Any]:
    return {
        **chunk.as_document(),
        "state": PENDING,
        "attempts": 0,
        "yields": 0,
        "owner": "",
        "position": chunk.start,
        "counts": empty_counts(),
    }


def _chunk_json(chunk: Chunk) -> dict[str, Any]:
    """A dry run's view of a chunk: its first pieces only (a chunk may hold a thousand)."""
    pieces = [piece.as_document() for piece in chunk.pieces[:DRY_RUN_PIECES]]
    return {"chunk_id": chunk.chunk_id, **chunk.as_document(), "pieces": pieces}


def _new_run_id(now: float) -> str:
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y%m%d-%H%M%S")
    return f"bf-{stamp}-{secrets.token_hex(3)}"
