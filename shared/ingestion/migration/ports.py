"""The port the workflow drives backfills through.

Two implementations: ``inline.InProcessBackfill`` runs the backfill's own service in this
process (local runs and tests), ``inline.HttpBackfill`` calls the deployed backfill function
(production). Both take the backfill's request body (``backfill/request.py``) and answer with
its documents: the dry-run answer (plan and estimate) and the run's status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

Progress = Callable[[dict[str, Any]], None]
FINAL_STATES = frozenset({"done", "finished_with_failures", "cancelled"})


class Backfills(Protocol):
    def dry_run(self, request: dict[str, Any]) -> dict[str, Any]:
        """The plan of ``request``: objects, bytes, chunks and the estimate; writes nothing."""
        ...

    def run(self, request: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """Start (or resume: same ``run_id``) the run, wait for it to end, and return its
        status; ``progress`` is called with the status while it runs."""
        ...
