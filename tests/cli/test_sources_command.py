"""``ingestion sources`` over a local registry: list, show, validate, put (with its schema), a
conflicting put, history, rollback and resolve with records; exit codes 0, 1 and 2."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from ingestion.cli import main
from ingestion.core.lines import line_from_message
from ingestion.core.message import Message
from ingestion.core.partitions import partition_key
from ingestion.registry import Registry
from registry.documents_data import ERRORS_SCHEMA, HISTORICAL_SCHEMA, HISTORICAL_SOURCES


@pytest.fixture
def files(tmp_path):
    def write(name: str, value) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(value))
        return str(path)

    return write


@pytest.fixture
def metadata(tmp_path) -> str:
    return str(tmp_path / "registry" / "metadata")


def run(metadata: str, *args: str) -> int:
    return main(["sources", "--metadata", metadata, *args])


def test_put_show_list_history_rollback(metadata, files, capsys):
    entry = files("entry.json", HISTORICAL_SOURCES["telemetry-errors"])
    schema = files("schema.json", ERRORS_SCHEMA)
    assert run(metadata, "put", "telemetry-errors", "--from", entry, "--schema", schema) == 0
    assert "telemetry-errors: revision 1" in capsys.readouterr().out
    moved = files("moved.json", {**HISTORICAL_SOURCES["telemetry-errors"], "prefix": "errors-2"})
    assert run(metadata, "put", "telemetry-errors", "--from", moved, "--reason", "move") == 0
    capsys.readouterr()

    assert run(metadata, "list") == 0
    assert "telemetry-errors\tgs://pipeline-data-test/errors-2\t" in capsys.readouterr().out
    assert run(metadata, "show", "telemetry-errors") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["revision"] == 2 and shown["consumer"]["retention_days"] == 30
    assert shown["writer"]["prefix"] == "errors-2"  # no writer entry yet: the consumer's
    assert shown["schema"] == ERRORS_SCHEMA

    assert run(metadata, "history", "telemetry-errors") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1", "2"]
    assert lines[1].endswith("gs://pipeline-data-test/errors-2\tmove")

    assert run(metadata, "rollback", "telemetry-errors", "--to", "1") == 0
    assert "revision 3 (as at revision 1)" in capsys.readouterr().out
    assert Registry.open(metadata).source("telemetry-errors").prefix == "telemetry-errors-1"


def test_a_stale_put_is_a_conflict_and_writes_nothing(metadata, files, capsys):
    entry = files("entry.json", HISTORICAL_SOURCES["telemetry"])
    assert run(metadata, "put", "telemetry", "--from", entry) == 0
    assert run(metadata, "put", "telemetry", "--from", entry, "--expect", "1") == 0
    capsys.readouterr()
    assert run(metadata, "put", "telemetry", "--from", entry, "--expect", "1") == 0  # unchanged
    changed = files("changed.json", {**HISTORICAL_SOURCES["telemetry"], "prefix": "x"})
    assert run(metadata, "put", "telemetry", "--from", changed, "--expect", "1") == 0
    assert run(metadata, "put", "telemetry", "--from", entry, "--expect", "1") == 1
    assert "changed after revision 1" in capsys.readouterr().err
    assert Registry.open(metadata).source("telemetry").prefix == "x"


@pytest.mark.parametrize(
    ("document", "status", "words"),
    [
        (HISTORICAL_SOURCES, 0, "a valid sources.json, 2 sources"),
        (HISTORICAL_SCHEMA, 0, "a valid schema.json, 8 dimensions"),
        (HISTORICAL_SOURCES["telemetry"], 0, "a valid source entry"),
        ({"version": 2, "dimensions": [{"field_name": "x", "allowed_values": {}}]}, 1, "'min'"),
        ({"t": {"bucket": "b!"}}, 1, "field 'bucket': 'b!' is not a valid bucket name"),
    ],
)
def test_validate(metadata, files, capsys, document, status, words):
    assert run(metadata, "validate", files("doc.json", document)) == status
    captured = capsys.readouterr()
    assert words in (captured.out if status == 0 else captured.err)


def test_not_found_and_usage_exit_codes(metadata, files, capsys):
    assert run(metadata, "show", "nope") == 1
    assert "unknown source 'nope'" in capsys.readouterr().err
    assert run(metadata, "rollback", "nope", "--to", "x") == 1
    assert run("ftp://x", "list") == 2
    assert "unsupported scheme" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        run(metadata, "put", "x")  # --from missing
    assert usage.value.code == 2


def test_resolve_prints_objects_counts_bytes_and_records(metadata, files, capsys):
    entry = files("entry.json", HISTORICAL_SOURCES["telemetry-errors"])
    assert (
        run(
            metadata,
            "put",
            "telemetry-errors",
            "--from",
            entry,
            "--schema",
            files("s.json", ERRORS_SCHEMA),
        )
        == 0
    )
    registry = Registry.open(metadata)
    target = registry.writer("telemetry-errors")
    bucket = registry.data_bucket(target.bucket)
    for index, error_type in enumerate(["ParseUri", "ParseUri", "Duplicate"]):
        attributes = {"submission_timestamp": "2026-02-03T04:05:06Z", "error_type": error_type}
        name = partition_key(target.prefix, target.dimensions, attributes, f"{index}.ndjson.gz")
        line = line_from_message(Message(attributes=attributes, payload=b"p%d" % index))
        bucket.write(name, gzip.compress(line + b"\n"), if_generation="0")
    capsys.readouterr()

    assert (
        run(
            metadata,
            "resolve",
            "telemetry-errors",
            "--where",
            "error_type=ParseUri",
            "--records",
            "1",
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(
        "\tgs://pipeline-data-test/telemetry-errors-1/2026_02_03/ParseUri/0.ndjson.gz"
    )
    assert "partition telemetry-errors-1/2026_02_03/ParseUri: 2 objects," in out[2]
    assert out[3].startswith("2 objects, ")
    assert json.loads(out[4])["attributeMap"]["error_type"] == "ParseUri" and len(out) == 5
    assert run(metadata, "resolve", "telemetry-errors", "--where", "nope=1") == 2
    assert (
        run(
            metadata,
            "resolve",
            "telemetry-errors",
            "--where",
            "submission_date=2026-02-01..2026-02-28",
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines()[-1].startswith("3 objects, ")


def test_the_console_script_reads_metadata_location(tmp_path, files):
    entry = files("entry.json", HISTORICAL_SOURCES["telemetry"])
    environment = {"METADATA_LOCATION": str(tmp_path / "meta"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "ingestion.cli", "sources"]
    done = subprocess.run([*command, "put", "telemetry", "--from", entry], env=environment,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([*command, "list"], env=environment, capture_output=True, text=True)
    assert listed.stdout.startswith("telemetry\tgs://pipeline-data-test/telemetry-2\t")
