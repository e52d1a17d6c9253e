"""Cutting plain line files on line boundaries: for any content and any cut size, the chunks
cover the object exactly once and every line is read by exactly one chunk."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.backfill import inputs
from ingestion.backfill.plan import Chunk, PlanTooLarge, line_cuts, make_plan
from ingestion.core.lines import is_content

LINES = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x")), max_size=40)


def line_spans(content: bytes) -> list[tuple[int, int]]:
    """[start, end) of every line including its newline."""
    spans, start = [], 0
    while start < len(content):
        newline = content.find(b"\n", start)
        end = len(content) if newline < 0 else newline + 1
        spans.append((start, end))
        start = end
    return spans


@settings(max_examples=150, deadline=None)
@given(lines=LINES, trailing=st.booleans(), cut=st.integers(1, 400))
def test_every_line_is_in_exactly_one_chunk_for_any_cut_size(lines, trailing, cut) -> None:
    content = b"\n".join(lines) + (b"\n" if trailing and lines else b"")
    with tempfile.TemporaryDirectory() as root:
        bucket = LocalBucket(Path(root))
        bucket.write("raw/a.ndjson", content, None)
        info = bucket.stat("raw/a.ndjson")
        cuts = list(line_cuts(bucket, info, cut))
        if not content:
            assert cuts == []
            return
        # Contiguous, covering [0, size), each cut just after a newline (or at the end).
        assert cuts[0][0] == 0 and cuts[-1][1] == len(content)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(cuts))
        assert all(end == len(content) or content[end - 1 : end] == b"\n" for _, end in cuts)
        for start, end in line_spans(content):
            owners = [c for c in cuts if c[0] <= start and end <= c[1]]
            assert len(owners) == 1, (start, end, cuts)
        # Read back as chunks, every content line comes out once, whatever the cuts.
        read = 0
        for start, end in cuts:
            chunk = Chunk("b", info.name, info.generation, start, end, "lines")
            read += sum(len(batch) for batch, _ in inputs._plain_batches(bucket, chunk, start))
        assert read == sum(1 for line in content.split(b"\n") if is_content(line))


def test_a_plan_over_its_limits_is_refused_while_listing(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path)
    for index in range(5):
        bucket.write(f"raw/{index}.ndjson", b'{"a": 1}\n' * 10, None)
    objects = [item for item in bucket.list("raw/") if not isinstance(item, str)]
    plan = make_plan(bucket, "b", objects, fmt="json", chunk_bytes=1 << 20, max_chunks=5,
                     max_bytes=10**6)  # fmt: skip
    assert plan.summary() == {"objects": 5, "bytes": 450, "chunks": 5}
    with pytest.raises(PlanTooLarge, match="max_chunks=4"):
        make_plan(bucket, "b", objects, fmt="json", chunk_bytes=1 << 20, max_chunks=4,
                  max_bytes=10**6)  # fmt: skip
    with pytest.raises(PlanTooLarge, match="max_bytes=100"):
        make_plan(bucket, "b", iter(objects), fmt="json", chunk_bytes=1 << 20, max_chunks=99,
                  max_bytes=100)  # fmt: skip


def test_chunk_ids_change_with_the_object_generation() -> None:
    first = Chunk("b", "raw/a", "1", 0, 10, "lines")
    assert first.chunk_id == Chunk("b", "raw/a", "1", 0, 10, "lines").chunk_id
    assert first.chunk_id != Chunk("b", "raw/a", "2", 0, 10, "lines").chunk_id
    assert Chunk.from_document(first.as_document()) == first
