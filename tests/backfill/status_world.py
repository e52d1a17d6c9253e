"""What the status tests share: generated chunk documents as the runner leaves them, and a
``Backfill`` that only answers status calls."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ingestion.backfill.ports import RunStore
from ingestion.backfill.service import Backfill, Limits
from ingestion.backfill.state import CHUNK_STATES, COUNT_FIELDS
from ingestion.backfill.status import KNOWN_ERROR_TYPES

CLOCK = 1.75e9  # the status service's now
RUN = "status-run"
UNLISTED_TYPES = ("SomeNewStage", "AnotherOne")  # error types the summary does not know
times = st.floats(min_value=1.7e9, max_value=1.8e9, allow_nan=False)


@st.composite
def chunk_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A chunk document as the runner leaves it: ``error`` is the sum of ``error_types``; a
    chunk with noted errors mostly has ``errors_at`` (older documents may not)."""
    kinds = st.sampled_from(KNOWN_ERROR_TYPES + UNLISTED_TYPES)
    error_types = draw(st.dictionaries(kinds, st.integers(1, 10**6), max_size=4))
    counts: dict[str, Any] = {key: draw(st.integers(0, 10**9)) for key in COUNT_FIELDS}
    counts.update(error=sum(error_types.values()), error_types=error_types)
    document: dict[str, Any] = {
        "state": draw(st.sampled_from(CHUNK_STATES)),
        "name": f"raw/{draw(st.integers(0, 999))}.ndjson.gz",
        "counts": counts,
    }
    for field in ("started_at", "updated_at"):
        if draw(st.booleans()):
            document[field] = draw(times)
    noted = st.fixed_dictionaries(
        {"type": st.sampled_from(["Damaged", "Attempts"]), "reason": st.sampled_from("abc")}
    )
    document["errors"] = draw(st.lists(noted, max_size=5))
    if document["errors"] and draw(st.integers(0, 5)):
        document["errors_at"] = draw(times)
    return document


runs = st.dictionaries(
    st.text("0123456789abcdef", min_size=6, max_size=6), chunk_documents(), max_size=40
)


def status_service(store: RunStore) -> Backfill:
    """A Backfill for status calls only: nothing is planned, dispatched or run."""
    unused: Any = None
    limits = Limits(max_chunks=10, max_bytes=10, allowed_buckets=frozenset())
    return Backfill(
        store=store,
        dispatcher=unused,
        runner=unused,
        registry=None,
        bucket_for=unused,
        limits=limits,
        clock=lambda: CLOCK,
    )
