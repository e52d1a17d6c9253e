"""The chunk plan. Cutting plain line files on line boundaries: for any content and any cut size,
the ranges cover the object exactly once and every line is read by exactly one range. Packing:
for any objects and any chunk size, every object byte is in exactly one chunk, chunks keep to
the chunk size (but for a single bigger piece) and to ``MAX_PIECES``, and a re-plan gives the
same ids."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.adapters.storage.objects import ObjectInfo
from ingestion.backfill import inputs
from ingestion.backfill import plan as plan_module
from ingestion.backfill.plan import Chunk, Piece, PlanTooLarge, line_cuts, make_plan
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
            piece = Piece(info.name, info.generation, start, end, "lines")
            read += sum(len(batch) for batch, _ in inputs._plain_batches(bucket, piece, start))
        assert read == sum(1 for line in content.split(b"\n") if is_content(line))


def test_a_plan_over_its_limits_is_refused_while_listing(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path)
    for index in range(5):
        bucket.write(f"raw/{index}.ndjson", b'{"a": 1}\n' * 10, None)
    objects = [item for item in bucket.list("raw/") if not isinstance(item, str)]
    # 90-byte objects, 100-byte chunks: one object a chunk.
    plan = make_plan(bucket, "b", objects, fmt="json", chunk_bytes=100, max_chunks=5,
                     max_bytes=10**6)  # fmt: skip
    assert plan.summary() == {"objects": 5, "bytes": 450, "chunks": 5}
    with pytest.raises(PlanTooLarge, match="max_chunks=4"):
        make_plan(bucket, "b", objects, fmt="json", chunk_bytes=100, max_chunks=4,
                  max_bytes=10**6)  # fmt: skip
    with pytest.raises(PlanTooLarge, match="max_bytes=100"):
        make_plan(bucket, "b", iter(objects), fmt="json", chunk_bytes=1 << 20, max_chunks=99,
                  max_bytes=100)  # fmt: skip
    # 1 MiB chunks: the five objects share one chunk, read in listing order.
    packed = make_plan(bucket, "b", objects, fmt="json", chunk_bytes=1 << 20, max_chunks=1,
                       max_bytes=10**6)  # fmt: skip
    (chunk,) = packed.chunks
    assert [piece.name for piece in chunk.pieces] == [info.name for info in objects]


def test_chunk_ids_change_with_the_object_generation() -> None:
    first = Chunk.single("b", "raw/a", "1", 0, 10, "lines")
    assert first.chunk_id == Chunk.single("b", "raw/a", "1", 0, 10, "lines").chunk_id
    assert first.chunk_id != Chunk.single("b", "raw/a", "2", 0, 10, "lines").chunk_id
    assert Chunk.from_document(first.as_document()) == first
    two = Chunk("b", (*first.pieces, Piece("raw/b", "1", 0, 5, "gzip")))
    assert two.chunk_id not in (first.chunk_id, Chunk("b", two.pieces[::-1]).chunk_id)
    assert Chunk.from_document(two.as_document()) == two


KINDS = st.sampled_from([".ndjson.gz", ".avro", ".ndjson", ".ndjson"])


def object_content(size: int, line: int) -> bytes:
    """``size`` bytes of lines of ``line`` bytes (the last may be short, without a newline)."""
    unit = b"x" * (line - 1) + b"\n"
    return (unit * (size // line + 1))[:size]


@settings(max_examples=120, deadline=None)
@given(
    objects=st.lists(st.tuples(st.integers(0, 3000), KINDS, st.integers(1, 200)), max_size=25),
    chunk_bytes=st.integers(1, 4000),
    max_pieces=st.integers(1, 6),
)
def test_every_object_byte_is_in_exactly_one_chunk_and_ids_are_stable(
    objects, chunk_bytes, max_pieces
) -> None:
    with tempfile.TemporaryDirectory() as root, pytest.MonkeyPatch.context() as patch:
        patch.setattr(plan_module, "MAX_PIECES", max_pieces)
        bucket = LocalBucket(Path(root))
        for index, (size, suffix, line) in enumerate(objects):
            bucket.write(f"raw/{index:03d}{suffix}", object_content(size, line), None)
        listed = [item for item in bucket.list("raw/") if isinstance(item, ObjectInfo)]

        def plan() -> list[Chunk]:
            return make_plan(bucket, "b", listed, fmt="json", chunk_bytes=chunk_bytes,
                             max_chunks=10**6, max_bytes=10**9).chunks  # fmt: skip

        chunks = plan()
        covered: dict[str, list[tuple[int, int]]] = {}
        for chunk in chunks:
            assert 1 <= len(chunk.pieces) <= max_pieces
            assert chunk.size <= chunk_bytes or len(chunk.pieces) == 1
            for piece in chunk.pieces:
                assert piece.size > 0
                covered.setdefault(piece.name, []).append((piece.start, piece.end))
        for info in listed:
            if info.size == 0:
                assert info.name not in covered
                continue
            ranges = sorted(covered[info.name])  # every byte once: contiguous, no overlap
            assert ranges[0][0] == 0 and ranges[-1][1] == info.size
            assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
            whole = not info.name.endswith(".ndjson") or info.size <= chunk_bytes
            assert len(ranges) == 1 or not whole
        # Pieces in listing order, and a chunk could not have taken its successor's first piece.
        flat = [piece for chunk in chunks for piece in chunk.pieces]
        assert flat == sorted(flat, key=lambda piece: (piece.name, piece.start))
        for chunk, following in itertools.pairwise(chunks):
            assert (
                chunk.size + following.pieces[0].size > chunk_bytes
                or len(chunk.pieces) == max_pieces
            )
        again = plan()
        assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]
        assert len({c.chunk_id for c in chunks}) == len(chunks)
