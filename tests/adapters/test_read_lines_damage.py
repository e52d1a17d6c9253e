"""``read_lines`` over damaged input: every complete line before the damage, then ``DamagedInput``
with the byte where it was detected; never any other exception, whatever the file holds."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.gzip_variants import expected, variants
from ingestion.adapters import file_reader as files
from ingestion.adapters.file_reader import DamagedInput, read_lines

TEXT = b"".join(b'{"payload": "", "messageId": "%d"}\n' % n for n in range(3000))


def read(path: Path) -> tuple[list[bytes], DamagedInput | None]:
    lines: list[bytes] = []
    try:
        for line in read_lines(path):
            lines.append(line)
    except DamagedInput as damage:
        return lines, damage
    return lines, None


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("variants")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    variant=variants(),
    read_chunk=st.integers(1, 300),
    inflate_chunk=st.integers(1, 500),
    exact_piece=st.integers(1, 64),
    fast=st.booleans(),
)
def test_every_line_before_the_damage_then_where_it_is(
    folder, variant, read_chunk, inflate_chunk, exact_piece, fast
):
    suffix, data = variant
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    want = expected(data, named_gzip=suffix.endswith(".gz"))
    # Tiny chunks put every boundary (magic, header, member, line) across reads.
    with mock.patch.multiple(
        files,
        READ_CHUNK=read_chunk,
        INFLATE_CHUNK=inflate_chunk,
        _EXACT_PIECE=exact_piece,
        _INFLATE=files._INFLATE if fast else zlib,
    ):
        lines, damage = read(path)
    assert lines == want.lines
    if want.damage_at is None:
        assert damage is None
    else:
        assert damage is not None
        assert (damage.path, damage.offset, damage.lines_read) == (
            path,
            want.damage_at,
            len(want.lines),
        )
        assert damage.reason and "\n" not in damage.reason


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda gz: gz[:-20], "truncated"),
        (lambda gz: gz[:-8] + bytes([gz[-8] ^ 1]) + gz[-7:], "incorrect data check"),
        (lambda gz: gz[:-1] + bytes([gz[-1] ^ 1]), "incorrect length check"),
        (lambda gz: gz + b"trailing garbage", "not gzip data after gzip member 1"),
        (lambda gz: b"not gzip at all\n" + gz, "not gzip data"),
    ],
)
def test_each_kind_of_damage_is_named(tmp_path, damage, reason):
    path = tmp_path / "in.ndjson.gz"
    path.write_bytes(damage(gzip.compress(TEXT)))
    lines, found = read(path)
    assert found is not None and reason in found.reason
    assert found.lines_read == len(lines)
    assert reason in str(found) and str(path) in str(found)


def test_concatenated_members_and_nul_padding_are_one_stream(tmp_path):
    path = tmp_path / "in.gz"
    path.write_bytes(gzip.compress(TEXT[:100]) + gzip.compress(TEXT[100:]) + b"\0" * 7)
    assert read(path) == ([line.strip() for line in TEXT.splitlines()], None)


def test_gzip_content_is_gzip_whatever_the_name_and_a_gz_name_must_be_gzip(tmp_path):
    gzipped = tmp_path / "named-plain.ndjson"
    gzipped.write_bytes(gzip.compress(TEXT))
    assert len(read(gzipped)[0]) == 3000
    mislabelled = tmp_path / "plain.ndjson.gz"
    mislabelled.write_bytes(TEXT)
    lines, damage = read(mislabelled)
    assert lines == [] and damage is not None and damage.offset == 0


def test_unreadable_files_are_damage_too(tmp_path):
    lines, damage = read(tmp_path)  # a directory: cannot be opened as a file
    assert lines == [] and damage is not None and "cannot open" in damage.reason

    class FailingRead(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell():
                raise OSError(5, "Input/output error")
            return super().read(size)

    path = tmp_path / "in.gz"
    path.write_bytes(b"")
    with (
        mock.patch.object(files, "READ_CHUNK", 100),
        mock.patch.object(Path, "open", lambda *_, **__: FailingRead(gzip.compress(TEXT))),
    ):
        lines, damage = read(path)
    assert damage is not None and damage.offset == 100 and "Input/output error" in damage.reason
    assert damage.lines_read == len(lines)
