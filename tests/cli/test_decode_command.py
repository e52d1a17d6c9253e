"""``ingestion decode`` as a user runs it: a real subprocess over real files."""

from __future__ import annotations

import base64
import gzip
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.gzip_variants import expected, variants
from conftest import REPO
from ingestion.local.demo_geoip import build_demo_city_db, build_demo_isp_db

SAMPLES = REPO / "samples" / "raw-messages.ndjson"


def run(
    *args: str | Path, file_limit: int | None = None, **options: Any
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ingestion.cli", "decode", *map(str, args)]
    if file_limit is not None:
        # Set by the command's shell, not by a preexec_fn: that runs Python in a fork of this
        # process, where gRPC (loaded by other tests) restarts its poller thread, which aborts
        # the child when the descriptors are closed before exec.
        command = ["/bin/sh", "-c", f'ulimit -n {file_limit} && exec "$@"', "sh", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO / "shared"), "PATH": "/usr/bin:/bin"},
        **options,
    )


def lines(root: Path, kind: str) -> list[dict]:
    found = []
    for path in sorted((root / kind).rglob("*.ndjson*")):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        found += [json.loads(line) for line in data.splitlines() if line]
    return found


@pytest.fixture(scope="module")
def geo(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("geo")
    return build_demo_city_db(folder / "city.mmdb"), build_demo_isp_db(folder / "isp.mmdb")


def test_sample_messages_end_as_decoded_errors_or_drops(tmp_path, geo):
    summary = tmp_path / "summary.json"
    result = run(
        SAMPLES,
        "--output",
        tmp_path / "out",
        "--geo-city-db",
        geo[0],
        "--geo-isp-db",
        geo[1],
        "--summary-json",
        summary,
    )
    assert result.returncode == 0, result.stderr
    counts = json.loads(summary.read_text())["counts"]
    inputs = sum(1 for line in SAMPLES.read_text().splitlines() if line.strip())
    decoded, errors = lines(tmp_path / "out", "decoded"), lines(tmp_path / "out", "error")
    dropped = sum(v for k, v in counts.items() if k.startswith("dropped:"))
    assert counts["input"] == inputs
    assert len(decoded) == counts["decoded"] and len(errors) == sum(
        v for k, v in counts.items() if k.startswith("error:")
    )
    assert len(decoded) + len(errors) + dropped == inputs  # no split doctype in the samples
    assert counts["error:Duplicate"] == 1
    assert "error:LimitPayloadSize" in counts and "error:ParseUri" in counts
    for line in decoded + errors:
        assert "x_forwarded_for" not in line["attributeMap"]
        assert "remote_addr" not in line["attributeMap"]
    duplicate = next(e for e in errors if e["attributeMap"]["error_type"] == "Duplicate")
    assert duplicate["payload"] == ""
    assert "decoded" in result.stdout and "input" in result.stdout


def test_no_dedup_decodes_the_repeated_uri(tmp_path):
    result = run(SAMPLES, "--output", tmp_path, "--no-dedup", "--summary-json", tmp_path / "s.json")
    assert result.returncode == 0, result.stderr
    counts = json.loads((tmp_path / "s.json").read_text())["counts"]
    assert "error:Duplicate" not in counts
    assert "no --geo-city-db" in result.stderr


def test_gzip_input_raw_form_and_gzip_output(tmp_path):
    raw_row = {
        "uri": "/submit/org-example-app/topsites-impression/1/5b0e0e3a-2b9e-4f59-a3b4-9c1d2e3f4a5b",
        "submission_timestamp": "2026-11-20T10:00:00.5Z",
        "payload": base64.b64encode(b'{"context_id": "x", "position": 1}').decode(),
    }
    source = tmp_path / "in.ndjson.gz"
    source.write_bytes(gzip.compress(json.dumps(raw_row).encode() + b"\n"))
    result = run(source, "--output", tmp_path / "out", "--gzip-output")
    assert result.returncode == 0, result.stderr
    decoded = lines(tmp_path / "out", "decoded")
    assert len(decoded) == 1
    assert decoded[0]["attributeMap"]["submission_timestamp"] == "2026-11-20T10:00:00Z"
    assert list((tmp_path / "out").rglob("*.ndjson.gz"))


@pytest.mark.parametrize(
    ("flag", "value", "reason"),
    [
        ("--schemas", "/nonexistent/schemas", "cannot load schemas"),
        ("--geo-city-db", "/nonexistent/city.mmdb", "city.mmdb"),
        ("--geo-city-db", str(SAMPLES), "raw-messages.ndjson"),
    ],
)
def test_configuration_errors_exit_2_with_one_line(tmp_path, flag, value, reason):
    result = run(SAMPLES, "--output", tmp_path, flag, value)
    assert result.returncode == 2
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "decoded").exists()


def test_missing_input_is_a_usage_error(tmp_path):
    result = run(tmp_path / "absent.ndjson", "--output", tmp_path)
    assert result.returncode == 2
    assert "input not found" in result.stderr


DAMAGE_LINE = re.compile(r"ingestion: damaged input (.+) at byte (\d+) after (\d+) lines: (.+)")
MESSAGES = b"".join(b'{"payload": "", "messageId": "%d"}\n' % n for n in range(2000))


def check_damage_report(folder: Path, inputs: dict[str, bytes]) -> None:
    """Run over ``inputs`` (name: content); everything the reference reads is counted, each
    damaged file reported once, in order, with its offset and lines; never a traceback."""
    paths = []
    for name, data in inputs.items():
        paths.append(folder / name)
        paths[-1].write_bytes(data)
    result = run(*paths, "--output", folder / "out", "--summary-json", folder / "summary.json")
    assert "Traceback" not in result.stderr
    wants = [expected(path.read_bytes(), named_gzip=path.suffix == ".gz") for path in paths]
    damaged = [
        {"file": str(path), "offset": want.damage_at, "lines_read": len(want.lines)}
        for path, want in zip(paths, wants, strict=True)
        if want.damage_at is not None
    ]
    assert result.returncode == (1 if damaged else 0), result.stderr
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["counts"].get("input", 0) == sum(len(want.lines) for want in wants)
    assert [{k: d[k] for k in ("file", "offset", "lines_read")} for d in summary["damaged"]] == (
        damaged
    )
    reported = [DAMAGE_LINE.fullmatch(line) for line in result.stderr.splitlines()]
    assert [
        {"file": m[1], "offset": int(m[2]), "lines_read": int(m[3])} for m in reported if m
    ] == damaged
    assert [m[4] for m in reported if m] == [d["reason"] for d in summary["damaged"]]


def test_damaged_inputs_are_reported_and_the_run_goes_on(tmp_path):
    whole = gzip.compress(MESSAGES)
    check_damage_report(
        tmp_path,
        {
            "intact.ndjson": MESSAGES[:340],
            "truncated.ndjson.gz": whole[: len(whole) // 2],
            "bad-crc.ndjson.gz": whole[:-8] + bytes([whole[-8] ^ 1]) + whole[-7:],
            "not-gzip.ndjson.gz": MESSAGES[:340],
            "trailing-garbage.ndjson.gz": whole + b"garbage",
            "gzip-by-content.ndjson": whole,
            "random.ndjson": bytes(range(256)) * 3,
        },
    )


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(variants(), min_size=1, max_size=5))
def test_no_input_content_gives_a_traceback(inputs):
    with tempfile.TemporaryDirectory() as folder:
        names = {f"in{index}{suffix}": data for index, (suffix, data) in enumerate(inputs)}
        check_damage_report(Path(folder), names)


def test_a_template_leaving_the_output_is_a_usage_error(tmp_path):
    result = run(
        SAMPLES, "--output", tmp_path / "out", "--decoded-template", "../${document_type:-t}/"
    )
    assert result.returncode == 2
    assert "would write outside the output directory" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not tmp_path.joinpath("out").exists()


def test_a_template_placeholder_without_default_is_a_usage_error(tmp_path):
    # As the reference at start-up: a message without the attribute would have no place.
    result = run(SAMPLES, "--output", tmp_path / "out", "--error-template", "${submission_hour}/")
    assert result.returncode == 2
    assert "give every placeholder a default" in result.stderr
    assert "Traceback" not in result.stderr


def test_more_partitions_than_the_open_file_limit(tmp_path):
    source = tmp_path / "in.ndjson"
    source.write_text("".join(f'{{"uri": "/bad/{n}", "payload": ""}}\n' for n in range(2000)))

    result = run(
        source,
        "--output",
        tmp_path / "out",
        "--error-template",
        "${uri:-none}/",
        "--summary-json",
        tmp_path / "summary.json",
        file_limit=256,
    )
    assert result.returncode == 0, result.stderr
    files = json.loads((tmp_path / "summary.json").read_text())["files"]
    assert len(files) == len(set(files)) == 2000
    assert len(lines(tmp_path / "out", "error")) == 2000
