"""A run's status, summed from its chunk documents: chunks per state, records in / decoded /
error / dropped, bytes, rate, ETA and the first chunk-level errors.

Reading every chunk document costs one Firestore read per chunk per status call (a run is
capped at ``max_chunks``; a chunk packs many small objects, so a window of the archive is about
its bytes over the chunk size in chunks); ``--follow`` polls every few seconds, which a run of
thousands of chunks should poll more slowly. Objects and bytes of the plan count objects, not
pieces; a chunk-level error names the object it is about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .state import CHUNK_STATES, COUNT_FIELDS, DONE, FAILED, PLANNING, RUNNING, counts_of

MAX_LISTED_ERRORS = 10


def run_status(
    run_id: str, run: Mapping[str, Any], chunks: Sequence[tuple[str, Mapping[str, Any]]], now: float
) -> dict[str, Any]:
    states = dict.fromkeys(CHUNK_STATES, 0)
    totals: dict[str, Any] = {key: 0 for key in COUNT_FIELDS}
    error_types: dict[str, int] = {}
    errors: list[dict[str, str]] = []
    started = [c["started_at"] for _, c in chunks if c.get("started_at")]
    last = max((c.get("updated_at") or 0 for _, c in chunks), default=0)
    for chunk_id, chunk in sorted(chunks, key=lambda item: item[1].get("updated_at") or 0):
        states[chunk.get("state", "pending")] = states.get(chunk.get("state", "pending"), 0) + 1
        counts = counts_of(chunk)
        for key in COUNT_FIELDS:
            totals[key] += counts[key]
        for kind, value in counts["error_types"].items():
            error_types[kind] = error_types.get(kind, 0) + value
        for noted in chunk.get("errors") or []:
            if len(errors) < MAX_LISTED_ERRORS:
                errors.append({"chunk": chunk_id, "object": chunk.get("name", ""), **noted})
    plan = dict(run.get("plan") or {})
    total_bytes = int(plan.get("bytes", 0))
    finished = states[DONE] + states[FAILED] + states["cancelled"]
    state = run.get("state", PLANNING)
    if state == RUNNING and chunks and finished == len(chunks):
        state = "done" if not states[FAILED] else "finished_with_failures"
    elapsed = (now if state == RUNNING else last) - min(started) if started else 0.0
    rate = totals["bytes"] / elapsed if elapsed > 0 else 0.0
    remaining = max(0, total_bytes - totals["bytes"])
    return {
        "run_id": run_id,
        "state": state,
        "request": run.get("request"),
        "plan": plan,
        "chunks": {"total": len(chunks), **states},
        "counts": {**totals, "error_types": dict(sorted(error_types.items()))},
        "elapsed_seconds": round(elapsed, 1),
        "bytes_per_second": round(rate),
        "records_per_second": round(totals["records"] / elapsed) if elapsed > 0 else 0,
        "eta_seconds": round(remaining / rate) if rate > 0 and state == RUNNING else None,
        "errors": errors,
    }
