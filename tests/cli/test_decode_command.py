"""``ingestion decode`` as a user runs it: a real subprocess over real files."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from ingestion.local.demo_geoip import build_demo_city_db, build_demo_isp_db

SAMPLES = REPO / "samples" / "raw-messages.ndjson"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingestion.cli", "decode", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO / "shared"), "PATH": "/usr/bin:/bin"},
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
