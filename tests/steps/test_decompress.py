import gzip
import zlib

import pytest

from ingestion.context import Context
from ingestion.core.errors import PayloadTooLarge
from ingestion.core.message import Message
from ingestion.steps import decompress
from ingestion.steps.decompress import decompress_payload, inflate

CONTEXT = Context(schemas=None, scrubber=None, user_agents=None)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, params=["isal", "zlib"])
def inflate_library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with ISA-L and with the standard library's zlib (the fallback)."""
    if request.param == "isal":
        isal_zlib = pytest.importorskip("isal.isal_zlib", reason="isal is not installed")
        monkeypatch.setattr(decompress, "INFLATE_LIBRARY", isal_zlib)
        monkeypatch.setattr(decompress, "_INFLATE_ERRORS", (isal_zlib.error, zlib.error))
    else:
        monkeypatch.setattr(decompress, "INFLATE_LIBRARY", zlib)
        monkeypatch.setattr(decompress, "_INFLATE_ERRORS", (zlib.error,))
    return str(request.param)


def test_isal_is_used_when_installed() -> None:
    pytest.importorskip("isal.isal_zlib", reason="isal is not installed")
    assert decompress._inflate_library()[0].__name__ == "isal.isal_zlib"


def _run(payload: bytes, **attributes: str) -> Message:
    return decompress_payload(Message(attributes=dict(attributes), payload=payload), CONTEXT)


def test_gzip_payload_is_inflated_and_marked():
    out = _run(gzip.compress(b"{}"))
    assert out.payload == b"{}"
    assert out.attributes["client_compression"] == "gzip"


def test_existing_client_compression_is_kept():
    out = _run(gzip.compress(b"{}"), client_compression="br")
    assert out.attributes["client_compression"] == "br"


def test_plain_and_empty_payloads_pass_through_unmarked():
    for payload in (b"{}", b"", b"\x1f"):
        out = _run(payload)
        assert out.payload == payload
        assert "client_compression" not in out.attributes


def test_concatenated_members_are_all_read():
    assert _run(gzip.compress(b'{"a":') + gzip.compress(b"1}")).payload == b'{"a":1}'


def test_trailing_garbage_after_a_member_is_ignored_like_java():
    assert _run(gzip.compress(b"{}") + b"garbage").payload == b"{}"


def test_truncated_stream_passes_through_unchanged():
    broken = gzip.compress(b'{"a": 1}' * 100)[:-10]
    out = _run(broken)
    assert out.payload == broken
    assert "client_compression" not in out.attributes


def test_bad_checksum_passes_through():
    broken = bytearray(gzip.compress(b'{"a": 1}'))
    broken[-8] ^= 0xFF  # the CRC-32 in the trailer
    assert _run(bytes(broken)).payload == bytes(broken)


def test_corrupt_deflate_data_passes_through():
    broken = bytearray(gzip.compress(b"x" * 1000))
    broken[12:20] = b"\xff" * 8
    assert _run(bytes(broken)).payload == bytes(broken)


def test_gzip_bomb_is_stopped_at_the_limit():
    bomb = gzip.compress(b"\0" * (2 * 1024 * 1024), compresslevel=9)
    with pytest.raises(PayloadTooLarge):
        inflate(bomb, limit=1024 * 1024)


def test_exactly_the_limit_is_allowed():
    data = b"a" * 4096
    assert inflate(gzip.compress(data), limit=4096) == data
    with pytest.raises(PayloadTooLarge):
        inflate(gzip.compress(data), limit=4095)


def test_raw_zlib_stream_is_not_gzip():
    data = zlib.compress(b"{}")
    assert _run(data).payload == data
