"""Fan-out of backfill chunks: one HTTP task per chunk on a Cloud Tasks queue, or one Pub/Sub
message per chunk on a topic pushed to the same function (the configurable alternative).

Cloud Tasks: the task's name is the caller's (derived from the run, the chunk and the dispatch
round), so enqueueing the same chunk twice in a round creates one task (``AlreadyExists`` is
success). The queue holds the rate, concurrency and retry limits; every task carries an OIDC
token of the queue's service account for the private function, and a dispatch deadline within
Cloud Tasks' allowed 15 s - 30 min. Pub/Sub has no creation dedup: a chunk published twice runs
twice, which the chunk state in Firestore makes harmless (a done chunk is skipped).

``google-cloud-tasks`` reads no emulator variable: ``tasks_client`` builds the insecure channel
to a local emulator itself when given its host.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import re
from collections.abc import Sequence
from typing import Any, Protocol

from ..core.errors import TransientFailure

MIN_DEADLINE_SECONDS = 15
MAX_DEADLINE_SECONDS = 1800
# Task ids: letters, digits, hyphens, underscores; at most 500 characters.
_TASK_ID = re.compile(r"[A-Za-z0-9_-]{1,500}")
# Concurrent create_task calls while dispatching a plan.
DISPATCH_THREADS = 16


class DispatchFailed(TransientFailure):
    """A chunk could not be enqueued; the run stays resumable (post it again)."""


class Dispatcher(Protocol):
    def dispatch(self, items: Sequence[tuple[str, str, bytes]]) -> int:
        """Enqueue ``(task id, path, body)`` items; the number newly enqueued."""
        ...


def tasks_client(emulator_host: str | None = None) -> Any:
    from google.cloud import tasks_v2

    if not emulator_host:
        return tasks_v2.CloudTasksClient()
    import grpc
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    channel = grpc.insecure_channel(emulator_host)
    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))


class CloudTasksDispatcher:
    def __init__(
        self,
        client: Any,
        queue: str,
        base_url: str,
        *,
        service_account_email: str = "",
        audience: str = "",
        deadline_seconds: int = MAX_DEADLINE_SECONDS,
    ) -> None:
        if not MIN_DEADLINE_SECONDS <= deadline_seconds <= MAX_DEADLINE_SECONDS:
            raise ValueError(
                f"dispatch deadline {deadline_seconds}s is outside Cloud Tasks' "
                f"{MIN_DEADLINE_SECONDS}-{MAX_DEADLINE_SECONDS}s"
            )
        self._client = client
        self._queue = queue  # projects/P/locations/L/queues/Q
        self._base_url = base_url.rstrip("/")
        self._service_account = service_account_email
        self._audience = audience or self._base_url
        self._deadline = datetime.timedelta(seconds=deadline_seconds)

    def _task(self, task_id: str, path: str, body: bytes) -> dict[str, Any]:
        if not _TASK_ID.fullmatch(task_id):
            raise ValueError(f"invalid task id {task_id!r}")
        request: dict[str, Any] = {
            "url": self._base_url + path,
            "http_method": "POST",
            "headers": {"Content-Type": "application/json"},
            "body": body,
        }
        if self._service_account:
            request["oidc_token"] = {
                "service_account_email": self._service_account,
                "audience": self._audience,
            }
        return {
            "name": f"{self._queue}/tasks/{task_id}",
            "http_request": request,
            "dispatch_deadline": self._deadline,
        }

    def _create(self, task: dict[str, Any]) -> bool:
        from google.api_core.exceptions import AlreadyExists, GoogleAPICallError

        try:
            self._client.create_task(parent=self._queue, task=task, timeout=30)
        except AlreadyExists:
            return False
        except GoogleAPICallError as exc:
            raise DispatchFailed(f"create_task failed: {exc.message}") from None
        return True

    def dispatch(self, items: Sequence[tuple[str, str, bytes]]) -> int:
        tasks = [self._task(*item) for item in items]
        if len(tasks) <= 1:
            return sum(self._create(task) for task in tasks)
        with concurrent.futures.ThreadPoolExecutor(DISPATCH_THREADS) as pool:
            return sum(pool.map(self._create, tasks))


class PubSubDispatcher:
    """One message per chunk on ``topic`` (a push subscription delivers it to the function):
    the body is the message's data, the task id and path its attributes."""

    def __init__(self, publisher: Any, topic: str) -> None:
        self._publisher = publisher
        self._topic = topic  # projects/P/topics/T

    def dispatch(self, items: Sequence[tuple[str, str, bytes]]) -> int:
        futures = [
            self._publisher.publish(self._topic, body, task_id=task_id, path=path)
            for task_id, path, body in items
        ]
        try:
            for future in futures:
                future.result(timeout=60)
        except Exception as exc:  # any publish failure leaves the run resumable
            raise DispatchFailed(f"publish failed: {type(exc).__name__}: {exc}") from None
        return len(futures)
