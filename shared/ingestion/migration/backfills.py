"""The two ways the workflow runs a backfill (``ports.Backfills``).

- ``InProcessBackfill``: the backfill's own service (``backfill.service.Backfill``) in this
  process, its chunk tasks queued here and run one after the other (``TaskQueue`` is the
  dispatcher it is built with). Its run state is in memory: a run resumed after a crash is
  planned and run again whole, under the same object names (the outputs are named after the
  run, the chunk and the input position), so nothing is added twice.
- ``HttpBackfill``: the deployed function, fanned out by Cloud Tasks; posting a known run id
  resumes its run; the status is polled until the run ends.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ..backfill.request import RequestError, parse_request
from ..backfill.service import Backfill
from .ports import FINAL_STATES, Progress


class TaskQueue:
    """A dispatcher that keeps chunk tasks here, once per task name."""

    def __init__(self) -> None:
        self.pending: collections.deque[tuple[str, str, bytes]] = collections.deque()
        self._seen: set[str] = set()

    def dispatch(self, items: Sequence[tuple[str, str, bytes]]) -> int:
        added = 0
        for task_id, path, body in items:
            if task_id not in self._seen:
                self._seen.add(task_id)
                self.pending.append((task_id, path, body))
                added += 1
        return added


class InProcessBackfill:
    def __init__(self, backfill: Backfill, queue: TaskQueue) -> None:
        self._backfill = backfill
        self._queue = queue

    def _start(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._backfill.start(parse_request(request))[1]
        except RequestError as exc:
            raise ValueError(f"backfill refused ({exc.status}): {exc.reason}") from None

    def dry_run(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._start({**request, "dry_run": True})

    def run(self, request: dict[str, Any], progress: Progress) -> dict[str, Any]:
        run_id = self._start(request)["run_id"]
        while self._queue.pending:
            _, _, body = self._queue.pending.popleft()
            task = orjson.loads(body)
            self._backfill.run_chunk(task["run_id"], task["chunk_id"])
            progress(self._backfill.status(run_id))
        return self._backfill.status(run_id)


class HttpBackfill:
    def __init__(
        self,
        client: Any,  # adapters.backfill_client.BackfillClient
        *,
        poll_seconds: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._poll = poll_seconds
        self._sleep = sleep

    def dry_run(self, request: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self._client.start({**request, "dry_run": True})
        return answer

    def run(self, request: dict[str, Any], progress: Progress) -> dict[str, Any]:
        run_id = self._client.start(request)["run_id"]
        while True:
            status: dict[str, Any] = self._client.status(run_id)
            if status.get("state") in FINAL_STATES:
                return status
            progress(status)
            self._sleep(self._poll)
