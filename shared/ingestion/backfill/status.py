"""A run's status: chunks per state, records in / decoded / error / dropped, bytes, rate, ETA and
the first chunk-level errors, from a summary of its chunks that does not read them one by one.

``SUMMARY_QUERY`` asks the store, in one snapshot (``RunStore.query_chunks``): a count of the
chunks in each state, a sum of each count field and of each known error type (each over the
chunks where it is positive), the earliest ``started_at``, the latest ``updated_at``, and the
first ``MAX_LISTED_ERRORS`` chunks with noted errors by ``errors_at``. On Firestore a count or
sum is billed one read per 1,000 index entries it scans (at least one; *assumed, check*), a
limited query one read per chunk it returns. A day-sized run of 159,000 chunks, all done, each
with every count field and two error types above zero: states 159 + 4 x 1, count fields
5 x 159, error types 2 x 159 + 14 x 1, first chunks <= 12: ~1,300 reads a call (~3,500 with
every known type in every chunk), where summing the chunk documents read all 159,000.

Error types: Firestore sums a field it is given, and a run's types are listed nowhere, so the
summary sums the types the decoder can count (``KNOWN_ERROR_TYPES``: its stages, the types a
rejection pins, ``Duplicate``, ``DecodePubsubMessages`` and the counters' ``unknown``; a test
keeps the list in step with the pipeline) and reports the rest of the ``error`` count as
``other``. Noted errors are listed by when they were first noted, then by chunk id. Objects
and bytes of the plan count objects, not pieces; a chunk-level error names the object it is
about.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ..adapters.backfill_store import Firsts, answer_from_documents
from .ports import ChunkAnswer, ChunkQuery, Document, RunStore
from .state import CHUNK_STATES, COUNT_FIELDS, DONE, ERRORS_AT, FAILED, PLANNING, RUNNING

MAX_LISTED_ERRORS = 10
KNOWN_ERROR_TYPES = (
    # pipeline stages (PROTECT, then DECODE)
    "ParseUri",
    "ParseProxy",
    "GeoIspLookup",
    "GeoCityLookup",
    "DecompressPayload",
    "LimitPayloadSize",
    "ParsePayload",
    "ParseUserAgent",
    "NormalizeAttributes",
    "SanitizeAttributes",
    "AddMetadata",
    # pinned by a rejection, or named by the decoder service and its counters
    "InvalidDecodedTopic",
    "DecodedTopicNotFound",
    "Duplicate",
    "DecodePubsubMessages",
    "unknown",
)
OTHER_ERRORS = "other"

_STARTED = Firsts("started_at", 1, keep=("started_at",))
_UPDATED = Firsts("updated_at", 1, descending=True, keep=("updated_at",))
_NOTED = Firsts(ERRORS_AT, MAX_LISTED_ERRORS, keep=("name", "errors"))
SUMMARY_QUERY = ChunkQuery(
    counts=tuple(("state", state) for state in CHUNK_STATES),
    sums=tuple(f"counts.{key}" for key in COUNT_FIELDS)
    + tuple(f"counts.error_types.{kind}" for kind in KNOWN_ERROR_TYPES),
    firsts=(_STARTED, _UPDATED, _NOTED),
)


@dataclasses.dataclass(frozen=True)
class ChunkSummary:
    states: dict[str, int]  # chunks per state (a chunk in no known state is in none)
    counts: dict[str, int]  # COUNT_FIELDS summed
    error_types: dict[str, int]  # known types and OTHER_ERRORS, those above zero
    first_started: float  # 0 when no chunk started
    last_updated: float  # 0 when no chunk was updated
    errors: list[dict[str, str]]  # the first MAX_LISTED_ERRORS noted, by errors_at

    @property
    def total(self) -> int:
        return sum(self.states.values())


def chunk_summary(store: RunStore, run_id: str) -> ChunkSummary:
    return summary_of(store.query_chunks(run_id, SUMMARY_QUERY))


def summarize(chunks: Iterable[tuple[str, Mapping[str, Any]]]) -> ChunkSummary:
    """The summary of these chunk documents, as a store answers it."""
    return summary_of(answer_from_documents(SUMMARY_QUERY, chunks))


def summary_of(answer: ChunkAnswer) -> ChunkSummary:
    counts = {key: int(answer.sums[f"counts.{key}"]) for key in COUNT_FIELDS}
    error_types = {
        kind: int(answer.sums[f"counts.error_types.{kind}"]) for kind in KNOWN_ERROR_TYPES
    }
    error_types[OTHER_ERRORS] = counts["error"] - sum(error_types.values())
    errors: list[dict[str, str]] = []
    for chunk_id, chunk in answer.firsts[_NOTED]:
        for noted in chunk.get("errors") or []:
            if len(errors) < MAX_LISTED_ERRORS:
                errors.append({"chunk": chunk_id, "object": chunk.get("name", ""), **noted})
    return ChunkSummary(
        states={state: answer.counts[("state", state)] for state in CHUNK_STATES},
        counts=counts,
        error_types={kind: value for kind, value in sorted(error_types.items()) if value > 0},
        first_started=_only(answer.firsts[_STARTED], "started_at"),
        last_updated=_only(answer.firsts[_UPDATED], "updated_at"),
        errors=errors,
    )


def _only(found: list[tuple[str, Document]], field: str) -> float:
    return found[0][1][field] if found else 0.0


def run_status(
    run_id: str, run: Mapping[str, Any], summary: ChunkSummary, now: float
) -> dict[str, Any]:
    states, totals = summary.states, summary.counts
    plan = dict(run.get("plan") or {})
    total_bytes = int(plan.get("bytes", 0))
    finished = states[DONE] + states[FAILED] + states["cancelled"]
    state = run.get("state", PLANNING)
    if state == RUNNING and summary.total and finished == summary.total:
        state = "done" if not states[FAILED] else "finished_with_failures"
    started, last = summary.first_started, summary.last_updated
    elapsed = (now if state == RUNNING else last) - started if started else 0.0
    rate = totals["bytes"] / elapsed if elapsed > 0 else 0.0
    remaining = max(0, total_bytes - totals["bytes"])
    return {
        "run_id": run_id,
        "state": state,
        "request": run.get("request"),
        "plan": plan,
        "chunks": {"total": summary.total, **states},
        "counts": {**totals, "error_types": dict(summary.error_types)},
        "elapsed_seconds": round(elapsed, 1),
        "bytes_per_second": round(rate),
        "records_per_second": round(totals["records"] / elapsed) if elapsed > 0 else 0,
        "eta_seconds": round(remaining / rate) if rate > 0 and state == RUNNING else None,
        "errors": [dict(error) for error in summary.errors],
    }
