"""``ingestion decode``'s composition root in process: with ``--gzip-output`` every file is whole
gzip (one member per write, several batches) holding the very lines of the plain output."""

from __future__ import annotations

import gzip
from pathlib import Path

from conftest import REPO
from ingestion.adapters.file_reader import read_lines
from ingestion.context import ContextConfig
from ingestion.core.lines import UnreadableLine
from ingestion.core.message import Message
from ingestion.entrypoints import decode_files as entrypoint
from ingestion.entrypoints.decode_files import FileOptions, decode_files

SAMPLES = REPO / "samples" / "raw-messages.ndjson"


def test_a_batch_ends_at_its_line_or_its_byte_bound(monkeypatch):
    monkeypatch.setattr(entrypoint, "BATCH_LINES", 3)
    monkeypatch.setattr(entrypoint, "BATCH_BYTES", 10)
    items = [Message({}, b"x" * n) for n in (1, 2, 3, 4, 20, 1, 1, 1, 1)]
    unreadable = UnreadableLine("not a message", b"y" * 12)
    batches = list(entrypoint._batches(iter([*items, unreadable, items[0]])))
    sizes = [[len(i.payload if isinstance(i, Message) else i.body) for i in b] for b in batches]
    assert sizes == [[1, 2, 3], [4, 20], [1, 1, 1], [1, 12], [1]]


def outputs(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("part-00000.ndjson*")):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
            assert list(read_lines(path)) == [line for line in data.split(b"\n") if line]
        files[str(path.relative_to(root)).removesuffix(".gz")] = data
    return files


def test_gzip_output_holds_the_plain_output_over_several_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(entrypoint, "BATCH_LINES", 3)  # a flush, so a gzip member, every 3 lines
    summaries = {}
    for compress in (False, True):
        options = FileOptions(tmp_path / str(compress), gzip_output=compress, progress=False)
        summaries[compress] = decode_files([SAMPLES], ContextConfig(), options)
    assert summaries[False]["counts"] == summaries[True]["counts"]
    assert [f + ".gz" for f in summaries[False]["files"]] == summaries[True]["files"]
    plain, compressed = outputs(tmp_path / "False"), outputs(tmp_path / "True")
    assert plain == compressed
    counts = summaries[False]["counts"]
    written = sum(v for k, v in counts.items() if k == "decoded" or k.startswith("error:"))
    assert sum(data.count(b"\n") for data in plain.values()) == written > 3
