import base64
import gzip
import json

import pytest

from ingestion.adapters.files import (
    FileSink,
    UnreadableLine,
    line_from_message,
    message_from_line,
    read_lines,
    safe_path_component,
)
from ingestion.core.message import Message


def test_json_form_with_message_id():
    line = json.dumps(
        {"attributeMap": {"uri": "/x", "n": None}, "payload": "e30=", "messageId": "42"}
    ).encode()
    message = message_from_line(line)
    assert message.attributes == {"uri": "/x", "message_id": "42"}
    assert message.payload == b"{}"


def test_json_form_with_null_attributes_and_missing_payload():
    message = message_from_line(b'{"attributeMap": null}')
    assert message.attributes == {}
    assert message.payload == b""


def test_flat_raw_landfill_form():
    line = json.dumps({"uri": "/submit/a", "submission_timestamp": "t", "payload": "e30="})
    message = message_from_line(line.encode())
    assert message.attributes == {"uri": "/submit/a", "submission_timestamp": "t"}
    assert message.payload == b"{}"


@pytest.mark.parametrize(
    "line", [b"not json", b"[1]", b'{"payload": "***"}', b'{"payload": 5}', b'{"attributeMap": 3}']
)
def test_unreadable_lines_are_reported(line):
    with pytest.raises(UnreadableLine):
        message_from_line(line)


def test_round_trip_sorts_attribute_keys():
    message = Message({"b": "2", "a": "1"}, b"\x00\xff")
    line = line_from_message(message)
    assert line.startswith(b'{"attributeMap":{"a":"1","b":"2"}')
    assert message_from_line(line) == message


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
    decoded_file = tmp_path / "decoded/ns/t_v1/2026-11-20/part-00000.ndjson.gz"
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
    assert safe_path_component("..") == "_"
    assert safe_path_component("a/b") == "a_b"
