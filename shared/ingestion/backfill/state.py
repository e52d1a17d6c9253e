"""Run and chunk states, the counts a chunk keeps, and the status of a run summed from them.

A chunk is ``pending`` (planned, or yielded at a checkpoint), ``running`` (claimed by a task),
``done``, ``failed`` (gave up after ``max_attempts``) or ``cancelled``. Its ``counts`` are those
of the decoder service at its last checkpoint: ``records`` read, ``decoded`` and ``error``
outputs (``error_types`` by type, ``Duplicate`` included), ``dropped`` by scrubber rules, and
``bytes`` of the chunk behind the checkpoint. ``errors`` keeps the first few chunk-level
problems (damage, attempts) with a type and a reason of our own making, never message content;
``errors_at`` is when the first was noted: a status finds the chunks with errors by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PENDING, RUNNING, DONE, FAILED, CANCELLED = "pending", "running", "done", "failed", "cancelled"
CHUNK_STATES = (PENDING, RUNNING, DONE, FAILED, CANCELLED)
# Run states: planning (chunks being written), running, cancelled. "done" is derived.
PLANNING = "planning"
MAX_NOTED_ERRORS = 5
ERRORS_AT = "errors_at"
COUNT_FIELDS = ("records", "decoded", "error", "dropped", "bytes")


def empty_counts() -> dict[str, Any]:
    return {**dict.fromkeys(COUNT_FIELDS, 0), "error_types": {}}


def counts_of(chunk: Mapping[str, Any]) -> dict[str, Any]:
    counts = empty_counts()
    stored = chunk.get("counts") or {}
    counts.update({key: stored[key] for key in COUNT_FIELDS if key in stored})
    counts["error_types"] = dict(stored.get("error_types") or {})
    return counts


def add_counts(
    counts: Mapping[str, Any], now: Mapping[str, int], before: Mapping[str, int], bytes_done: int
) -> dict[str, Any]:
    """``counts`` plus what the decoder service counted between ``before`` and ``now``."""
    delta = {key: value - before.get(key, 0) for key, value in now.items()}
    result = {**counts, "error_types": dict(counts.get("error_types") or {})}
    result["records"] = counts["records"] + delta.get("input", 0)
    result["decoded"] = counts["decoded"] + delta.get("decoded", 0)
    for key, value in delta.items():
        if key.startswith("error:") and value:
            result["error"] += value
            kind = key.removeprefix("error:")
            result["error_types"][kind] = result["error_types"].get(kind, 0) + value
        elif key.startswith("dropped:"):
            result["dropped"] += value
    result["bytes"] = max(counts["bytes"], bytes_done)
    return result


def note_error(
    chunk: Mapping[str, Any] | None, kind: str, reason: str, now: float
) -> dict[str, Any]:
    """The fields of a chunk with one more noted error: ``errors`` (if fewer than
    ``MAX_NOTED_ERRORS``) and ``errors_at``, kept from the first error noted."""
    chunk = chunk or {}
    noted = list(chunk.get("errors") or [])
    if len(noted) < MAX_NOTED_ERRORS:
        noted.append({"type": kind, "reason": reason[:300]})
    return {"errors": noted, ERRORS_AT: chunk.get(ERRORS_AT) or now}
