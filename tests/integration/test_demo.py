"""``make run``: the demo end to end, and its fallback without emulators."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO
from ingestion.core.message import Message
from ingestion.local.demo import waves


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingestion.local.demo", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )


def test_repeated_uris_wait_for_a_later_wave():
    first, again, other = (Message({"uri": u}) for u in ("/a", "/a", "/b"))
    assert waves([first, again, other, Message({})]) == [[first, other, Message({})], [again]]


def test_demo_accounts_for_every_message_on_the_emulators(pubsub, tmp_path):
    result = run_demo("--workdir", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "20 messages published to the raw topic" in out
    assert "error: Duplicate" in out and "error: ParseUri" in out
    assert "decoder-debug" in out  # the x_debug_id sample
    assert "dropped by a scrubber rule" in out
    # The loader half: both topics stored, resolved through the registry, read back.
    assert "the loaders stored all 19 decoded and error messages" in out
    assert "partition telemetry-1/org_example_app/baseline/2026_11_20: 1 objects" in out
    assert "partition telemetry-errors-1/Duplicate/2026_11_20: 1 objects" in out
    assert "one record read back through Dataset.from_source(...).records():" in out


def test_demo_falls_back_to_the_embedded_decoder_without_emulators(tmp_path):
    result = run_demo("--workdir", str(tmp_path), "--sdk-root", str(tmp_path / "no-sdk"))
    assert result.returncode == 0, result.stderr
    assert "emulators unavailable" in result.stdout
    assert "error:Duplicate" in result.stdout
