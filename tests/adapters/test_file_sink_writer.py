"""How ``FileSink`` writes: lines exactly as the line codec makes them, a bounded cache of
directories by template values, lines kept per file until a chunk fills or the sink is flushed,
and gzip output as complete members with ISA-L or, without it, the standard zlib."""

from __future__ import annotations

import base64
import gzip
import sys
import zlib
from pathlib import Path
from types import ModuleType
from unittest import mock

import orjson
import pytest

from ingestion.adapters import file_sink
from ingestion.adapters.file_reader import read_lines
from ingestion.adapters.file_sink import FileSink, gzip_member
from ingestion.core.lines import line_from_message, message_from_line
from ingestion.core.message import Message


def message(document_type: str, n: int, payload: bytes = b"{}") -> Message:
    attributes = {"n": str(n), "document_type": document_type, "document_namespace": "ns"}
    return Message({**attributes, "submission_timestamp": "2026-11-20T10:00:00Z"}, payload)


def read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def numbers(path: Path) -> list[int]:
    return [int(orjson.loads(line)["attributeMap"]["n"]) for line in read(path).splitlines()]


def members(data: bytes) -> int:
    count = 0
    while data:
        inflater = zlib.decompressobj(31)
        inflater.decompress(data)
        assert inflater.eof
        data, count = inflater.unused_data, count + 1
    return count


def libraries() -> list[ModuleType]:
    try:
        from isal import isal_zlib
    except ImportError:
        return [zlib]
    return [isal_zlib, zlib]


@pytest.mark.parametrize("compress", [False, True])
def test_each_line_is_the_reference_json_line(tmp_path, compress):
    sent = [
        Message({"z": "1", "a": 'é\u2028"\\', "document_type": "t"}, bytes(range(256)) * 40),
        Message({"document_type": "t"}, b""),
        Message({"document_type": "t", "n": "3"}, b'{"k": "v"}'),
    ]
    with FileSink(tmp_path, compress=compress) as sink:
        sink.deliver(sent, [])
    (path,) = sink.files_written
    reference = [
        orjson.dumps(
            {"attributeMap": m.attributes, "payload": base64.b64encode(m.payload).decode()},
            option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE,
        )
        for m in sent
    ]
    assert read(path) == b"".join(reference)
    assert [line_from_message(m) + b"\n" for m in sent] == reference
    assert [message_from_line(line) for line in read(path).splitlines()] == sent


def test_the_directory_cache_stays_within_its_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(file_sink, "MAX_CACHED_DIRECTORIES", 3)
    types = [f"t{i}" for i in range(10)]
    original = Path.resolve
    with (
        mock.patch.object(Path, "resolve", autospec=True, side_effect=original) as resolve,
        FileSink(tmp_path) as sink,
    ):
        for n in range(3):
            for document_type in types:
                sink.deliver([message(document_type, n)], [])
                assert len(sink._directories) <= 3
    # Evicted values are rendered again, but a directory is still resolved only once.
    assert resolve.call_count == 2 + len(types)
    assert len(sink.files_written) == len(types)
    assert all(numbers(path) == [0, 1, 2] for path in sink.files_written)


def test_values_that_sanitise_alike_share_one_file_in_delivery_order(tmp_path):
    with FileSink(tmp_path) as sink:
        for n, document_type in enumerate(["a/b", "a_b", "a b", "a/b"]):
            sink.deliver([message(document_type, n)], [])
        assert len(sink._directories) == 3  # three distinct values, one directory
    (path,) = sink.files_written
    assert path == tmp_path / "decoded/ns/a_b_v0/2026_11_20/part-00000.ndjson"
    assert numbers(path) == [0, 1, 2, 3]


def test_lines_wait_for_a_chunk_or_a_flush(tmp_path, monkeypatch):
    sink = FileSink(tmp_path)
    sink.deliver([message("t", 0), message("u", 0)], [])
    assert not list(tmp_path.rglob("*.ndjson"))  # kept, not yet written
    sink.flush()
    assert sorted(numbers(path) for path in sink.files_written) == [[0], [0]]
    monkeypatch.setattr(file_sink, "WRITE_CHUNK", 1)
    sink.deliver([message("t", 1)], [])  # a full chunk goes to the system at once
    assert [numbers(path) for path in sorted(sink.files_written)] == [[0, 1], [0]]
    monkeypatch.setattr(file_sink, "WRITE_CHUNK", 1 << 30)
    monkeypatch.setattr(file_sink, "MAX_PENDING_BYTES", 200)
    sink.deliver([message("u", 1), message("t", 2, b"x" * 200)], [])  # too much kept: all out
    assert [numbers(path) for path in sorted(sink.files_written)] == [[0, 1, 2], [0, 1]]
    sink.close()


def test_closing_on_a_failure_writes_what_was_delivered(tmp_path):
    with pytest.raises(RuntimeError), FileSink(tmp_path, compress=True) as sink:
        sink.deliver([message("t", 0), message("t", 1)], [message("e", 2)])
        raise RuntimeError("the run stops")
    assert sorted(numbers(path) for path in sink.files_written) == [[0, 1], [2]]


@pytest.mark.parametrize("library", libraries(), ids=lambda library: library.__name__)
def test_gzip_output_is_whole_members_with_either_library(tmp_path, monkeypatch, library):
    monkeypatch.setattr(file_sink, "DEFLATE_LIBRARY", library)
    monkeypatch.setattr(file_sink, "WRITE_CHUNK", 3000)
    payload = bytes(range(256)) * 8  # about 2,700 bytes of base64: a chunk every two lines
    sink = FileSink(tmp_path, compress=True)
    sink.deliver([message("t", n, payload) for n in range(5)], [])
    sink.flush()
    (path,) = sink.files_written
    assert numbers(path) == list(range(5))  # whole after a flush, before the sink is closed
    assert members(path.read_bytes()) == 3
    sink.deliver([message("t", 5, payload)], [])
    sink.close()
    data = path.read_bytes()
    assert members(data) == 4
    assert gzip.decompress(data).count(b"\n") == 6
    assert [message_from_line(line).attributes["n"] for line in read_lines(path)] == [
        str(n) for n in range(6)
    ]


@pytest.mark.parametrize("library", libraries(), ids=lambda library: library.__name__)
def test_a_gzip_member_inflates_to_its_pieces(library):
    pieces = [b"abc" * 1000, b"", b"\n", bytes(range(256))]
    member = gzip_member(pieces, library)
    assert member[:2] == b"\x1f\x8b"
    assert gzip.decompress(member) == b"".join(pieces)
    assert gzip.decompress(gzip_member([], library)) == b""


def test_without_isal_the_standard_zlib_deflates():
    with mock.patch.dict(sys.modules, {"isal": None}):
        assert file_sink._deflate_library() is zlib
