"""The migration workflow's composition root (``ingestion migrate``): a registry, and a way to
run backfills, from plain values and the environment.

- ``--backfill-url URL``: the deployed backfill function (Cloud Tasks fan-out, Firestore run
  state), called with an identity token for https URLs;
- otherwise in process: the backfill's own service with an in-memory run store and the chunks
  run here one after the other, the decoder's resources from the same variables as the backfill
  function (``SCHEMAS_LOCATION``, ``GEO_*``, ``SCRUBBER_RULES``...). Built on first use, so the
  steps that run no backfill never load the decoder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..adapters.backfill_client import BackfillClient
from ..adapters.backfill_store import InMemoryBackfillStore
from ..migration import (
    MigrationConflict,
    MigrationError,
    Options,
    VerificationFailed,
    Workflow,
    status_lines,
)
from ..migration.backfills import HttpBackfill, InProcessBackfill, TaskQueue
from ..migration.ports import Progress
from ..registry import Registry
from ..service.context_provider import ContextProvider
from ..settings import BackfillSettings, environ_for
from .backfill_function import build as build_backfill

LOCAL_PROJECT = "local"  # the project name an in-process run uses when none is configured


def in_process_backfill(
    registry: Registry, environ: Mapping[str, str], provider: ContextProvider | None = None
) -> InProcessBackfill:
    """The backfill in this process; every bucket the registry names is allowed (the operator
    runs it with their own credentials). ``provider``: the decoder's resources, when already
    loaded (tests share one)."""
    buckets = sorted({entry.bucket for entry in registry.sources().values()})
    values = {
        "project": environ.get("GOOGLE_CLOUD_PROJECT") or LOCAL_PROJECT,
        "metadata_location": "unused-in-process",
        "backfill_allowed_buckets": ",".join(buckets),
    }
    settings = BackfillSettings.from_environ({**environ, **environ_for(BackfillSettings, **values)})
    if provider is None:
        provider = ContextProvider(settings.resources, recheck_seconds=1e9)
    queue = TaskQueue()
    backfill = build_backfill(
        settings,
        store=InMemoryBackfillStore(),
        dispatcher=queue,
        registry=registry,
        provider=provider,
    )
    return InProcessBackfill(backfill, queue)


class LazyBackfills:
    """Builds its backfill on first use (the registry's buckets are known by then)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._built: Any = None

    def _get(self) -> Any:
        if self._built is None:
            self._built = self._build()
        return self._built

    def dry_run(self, request: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self._get().dry_run(request)
        return answer

    def run(self, request: dict[str, Any], progress: Progress) -> dict[str, Any]:
        status: dict[str, Any] = self._get().run(request, progress)
        return status


def build_workflow(
    metadata_location: str,
    environ: Mapping[str, str],
    *,
    backfill_url: str | None = None,
    options: Options | None = None,
    take_over: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> Workflow:
    registry = Registry.open(metadata_location)
    backfills: Any
    if backfill_url:
        backfills = HttpBackfill(BackfillClient(backfill_url))
    else:
        backfills = LazyBackfills(lambda: in_process_backfill(registry, environ))
    return Workflow(registry, backfills, options=options, take_over=take_over, say=say)


__all__ = [
    "MigrationConflict",
    "MigrationError",
    "Options",
    "VerificationFailed",
    "Workflow",
    "build_workflow",
    "in_process_backfill",
    "status_lines",
]
