import base64
import gzip
import json

from ingestion.adapters.file_reader import read_lines
from ingestion.adapters.file_sink import FileSink
from ingestion.core.message import Message
from ingestion.core.partitions import sanitize


def test_read_lines_skips_comments_and_blanks_and_reads_gzip(tmp_path):
    path = tmp_path / "in.ndjson.gz"
    path.write_bytes(gzip.compress(b'// comment\n\n{"payload": ""}\n  {"payload": "e30="}  \n'))
    assert list(read_lines(path)) == [b'{"payload": ""}', b'{"payload": "e30="}']


def test_sink_writes_templated_paths_and_gzip(tmp_path):
    decoded = Message(
        {
            "document_namespace": "ns",
            "document_type": "t",
            "document_version": "1",
            "submission_timestamp": "2026-11-20T10:00:00Z",
        },
        b"{}",
    )
    error = Message({"error_type": "ParseUri"}, b"raw")
    with FileSink(tmp_path, compress=True) as sink:
        sink.deliver([decoded, decoded], [error])
    decoded_file = tmp_path / "decoded/ns/t_v1/2026_11_20/part-00000.ndjson.gz"
    lines = gzip.decompress(decoded_file.read_bytes()).splitlines()
    assert len(lines) == 2
    assert base64.b64decode(json.loads(lines[0])["payload"]) == b"{}"
    error_file = tmp_path / "error/ParseUri/unknown/part-00000.ndjson.gz"
    assert json.loads(gzip.decompress(error_file.read_bytes()))["attributeMap"] == {
        "error_type": "ParseUri"
    }


def test_hostile_attributes_cannot_escape_the_output_directory(tmp_path):
    hostile = Message({"document_namespace": "../../..", "document_type": "a/b"}, b"{}")
    with FileSink(tmp_path / "out") as sink:
        sink.deliver([hostile], [])
    written = list((tmp_path / "out").rglob("*.ndjson"))
    assert len(written) == 1
    assert (tmp_path / "out") in written[0].parents
    assert sanitize("..") == "_"
    assert sanitize("a/b") == "a_b"
