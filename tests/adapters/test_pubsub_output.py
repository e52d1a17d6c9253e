"""Output compression with ISA-L and with the standard library (the fallback): every test runs
under both, as tests/steps/test_decompress.py does for inflation. Round trips, determinism and
the D-67 truncation rule; the other output rules are in test_pubsub_sink.py."""

from __future__ import annotations

import functools
import gzip
import json
import os
import random

import pytest

from ingestion.adapters import pubsub_output
from ingestion.adapters.pubsub_output import GZIP, compress, encode_payload
from ingestion.core.limits import MAX_ENCODABLE_MESSAGE_BYTES


@pytest.fixture(autouse=True, params=["isal", "zlib"])
def gzip_library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "isal":
        igzip = pytest.importorskip("isal.igzip", reason="isal is not installed")
        monkeypatch.setattr(pubsub_output, "GZIP_LIBRARY", igzip)
    else:
        monkeypatch.setattr(pubsub_output, "GZIP_LIBRARY", gzip)
    return str(request.param)


@functools.cache
def ping(size: int) -> bytes:
    """Generated JSON of ``size`` bytes (cut at the end), repetitive as telemetry is."""
    rng = random.Random(size)
    histograms: list[str] = []
    length = 0
    while length < size:
        values = {str(rng.randrange(1000)): rng.randrange(50) for _ in range(rng.randint(1, 20))}
        histograms.append(json.dumps({"name": f"h{len(histograms)}", "values": values}))
        length += len(histograms[-1]) + 1
    return f'{{"histograms":[{",".join(histograms)}]}}'.encode()[:size]


def test_isal_is_used_when_installed() -> None:
    pytest.importorskip("isal.igzip", reason="isal is not installed")
    assert pubsub_output._gzip_library().__name__ == "isal.igzip"


@pytest.mark.parametrize(
    "payload",
    [b"", b"{}", ping(2_000), ping(50_000), ping(380_000), os.urandom(100_000)],
    ids=["empty", "tiny", "2KB", "50KB", "380KB", "random"],
)
def test_round_trip_and_deterministic(payload: bytes) -> None:
    compressed = compress(payload, GZIP)
    assert gzip.decompress(compressed) == payload
    assert compress(payload, GZIP) == compressed  # the same payload gives the same bytes
    assert compressed[4:8] == b"\0\0\0\0"  # mtime 0


def test_json_compresses_well_at_the_default_level() -> None:
    payload = ping(380_000)
    assert len(compress(payload, GZIP)) < len(payload) / 3


def test_another_level_is_zlibs_whatever_the_library() -> None:
    # ISA-L has no counterpart for zlib's 6 (Java's default): the reference's sizes hold.
    text = ("Lorem ipsum dolor sit amet " * 100).encode()
    assert len(compress(text, GZIP, level=6)) == 68
    assert compress(text, GZIP, level=6) == gzip.compress(text, compresslevel=6, mtime=0)


def test_no_compression_returns_the_payload_itself() -> None:
    payload = ping(2_000)
    assert compress(payload, "none") is payload


# --- D-67: an error payload over 6 MiB once compressed is cut before compression ---------------
def test_incompressible_error_payload_is_cut_to_6_mib_and_stays_under_10_mb() -> None:
    payload = os.urandom(MAX_ENCODABLE_MESSAGE_BYTES + 1000)
    data, truncated = encode_payload(payload, GZIP, MAX_ENCODABLE_MESSAGE_BYTES)
    assert truncated
    assert gzip.decompress(data) == payload[:MAX_ENCODABLE_MESSAGE_BYTES]
    assert MAX_ENCODABLE_MESSAGE_BYTES < len(data) < MAX_ENCODABLE_MESSAGE_BYTES + 64 * 1024
    assert len(data) < 10 * 1000 * 1000


def test_compressible_error_payload_over_6_mib_is_kept_whole() -> None:
    payload = ping(380_000) * 20  # 7.6 MB of JSON: well under 6 MiB compressed
    data, truncated = encode_payload(payload, GZIP, MAX_ENCODABLE_MESSAGE_BYTES)
    assert not truncated
    assert gzip.decompress(data) == payload


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_the_limit_applies_to_the_compressed_size(extra: int) -> None:
    payload = os.urandom(64 * 1024)
    limit = len(compress(payload, GZIP)) + extra
    data, truncated = encode_payload(payload, GZIP, limit)
    assert truncated is (extra < 0)
    assert gzip.decompress(data) == (payload[:limit] if truncated else payload)
