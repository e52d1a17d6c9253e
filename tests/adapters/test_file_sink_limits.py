"""``FileSink`` under many partitions and hostile values: a bounded number of open files, each
output file listed once and read back whole; no template or value ever writes outside the root."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.adapters import file_sink as files
from ingestion.adapters.file_sink import (
    DEFAULT_DECODED_TEMPLATE,
    DEFAULT_ERROR_TEMPLATE,
    MAX_OPEN_FILES,
    FileSink,
    OutsideOutput,
)
from ingestion.core.message import Message

FDS = Path("/proc/self/fd")


def message(document_type: str, n: int) -> Message:
    attributes = {"document_namespace": "ns", "document_type": document_type, "n": str(n)}
    return Message({**attributes, "document_version": "1"}, b"{}")


def numbers(path: Path) -> list[int]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)  # every member, in order
    return [int(json.loads(line)["attributeMap"]["n"]) for line in data.splitlines()]


@pytest.mark.skipif(not FDS.is_dir(), reason="counts open files in /proc/self/fd")
@pytest.mark.parametrize("compress", [False, True])
def test_more_partitions_than_open_files_are_reopened_for_appending(tmp_path, compress):
    types = [f"t{i}" for i in range(2000)]
    open_before = len(list(FDS.iterdir()))
    with FileSink(tmp_path, compress=compress) as sink:
        for n in range(2):  # every file is evicted before its turn comes again
            sink.deliver([message(t, n) for t in types], [])
            sink.flush()
            assert len(list(FDS.iterdir())) - open_before <= MAX_OPEN_FILES
    assert len(list(FDS.iterdir())) == open_before
    assert len(sink.files_written) == len(types)
    written = sorted(tmp_path.rglob("part-00000.ndjson*"))
    assert written == sorted(sink.files_written)
    assert all(numbers(path) == [0, 1] for path in written)


def test_flush_hands_over_every_open_file(tmp_path):
    sink = FileSink(tmp_path, max_open_files=2)
    sink.deliver([message(t, 7) for t in ("a", "b", "c")], [])
    sink.flush()  # "a" was closed to make room for "c"; "b" and "c" are open
    assert [numbers(path) for path in sorted(sink.files_written)] == [[7], [7], [7]]
    sink.close()


def test_each_new_directory_is_resolved_once(tmp_path):
    original = Path.resolve
    with (
        mock.patch.object(Path, "resolve", autospec=True, side_effect=original) as resolve,
        FileSink(tmp_path) as sink,
    ):
        sink.deliver([message("t", n) for n in range(500)], [message("t", 0)])
    assert resolve.call_count == 4  # the two kinds' directories, then one per new directory


@pytest.mark.parametrize(
    "template",
    ["../x/", "/tmp/x/", "a/../../b/", "${a:-..}/", "${a:-/etc}/", "x/${b:-../..}/y", "a\0b/"],
)
def test_a_template_that_leaves_the_root_is_refused_up_front(tmp_path, template):
    with pytest.raises(OutsideOutput, match="would write outside the output directory"):
        FileSink(tmp_path, decoded_template=template)
    with pytest.raises(OutsideOutput, match="error template"):
        FileSink(tmp_path, error_template=template)


def test_a_directory_that_resolves_outside_is_never_written(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out" / "decoded").mkdir(parents=True)
    (tmp_path / "out" / "decoded" / "ns").symlink_to(outside)
    with FileSink(tmp_path / "out") as sink, pytest.raises(OutsideOutput, match="outside"):
        sink.deliver([message("t", 0)], [])
    assert not list(outside.iterdir())


TEMPLATES = [
    DEFAULT_DECODED_TEMPLATE,
    DEFAULT_ERROR_TEMPLATE,
    "${submission_hour:-h}/${submission_hour:-h}/escaped/",
    "${submission_date:-d}/${submission_hour:-h}/${submission_date:-d}/",
    "${document_namespace:-n}/${document_namespace:-n}${document_namespace:-n}/x",
    "${document_namespace:-n}_${submission_hour:-h}.${document_type:-t}",
]
hostile = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(["..", ".", "...", "/", "\\", "\0", "%2e%2e", "../..", "a/../../b", "..\\.."]),
    st.text(st.sampled_from("./\\\0%2e"), max_size=12),
    st.text(st.sampled_from("a./"), min_size=190, max_size=700),
)


@st.composite
def attributes(draw: st.DrawFn) -> dict[str, str]:
    # Always an hour (the first templates have no default for it), often a crafted one.
    hour = draw(st.one_of(hostile, st.just("10"))).ljust(2, "0")
    timestamp = draw(hostile).ljust(11, "0")[:11] + hour + draw(hostile)
    keys = st.sampled_from(["document_namespace", "document_type", "document_version"])
    return {"submission_timestamp": timestamp, **draw(st.dictionaries(keys, hostile))}


def guarded(folder: Path, write: Callable[..., Any]) -> Callable[..., Any]:
    """``write`` (``Path.mkdir``, ``Path.open``) failing the test instead of touching anything
    outside ``folder``: a regression must not write where a hostile value points."""

    def call(path: Path, *args: Any, **kwargs: Any) -> Any:
        if not Path(os.path.realpath(path)).is_relative_to(folder):
            raise AssertionError(f"a write outside the test's folder: {path}")
        return write(path, *args, **kwargs)

    return call


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=st.sampled_from(TEMPLATES), attributes=attributes(), sanitised=st.booleans())
def test_no_value_writes_outside_the_root(template, attributes, sanitised):
    """With the sanitiser on, every message is written inside; with it off (the second line of
    defence alone), a message is written inside or refused with ``OutsideOutput``."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name).resolve()
        root = folder / "a" / "b" / "root"
        with (
            mock.patch.object(files, "sanitize", files.sanitize if sanitised else str),
            mock.patch.object(Path, "mkdir", guarded(folder, Path.mkdir)),
            mock.patch.object(Path, "open", guarded(folder, Path.open)),
        ):
            sink = FileSink(root, decoded_template=template, error_template=template)
            try:
                with sink:
                    sink.deliver([Message(attributes, b"{}")], [Message(attributes, b"")])
            except OutsideOutput:
                assert not sanitised
        written = {path.resolve() for path in folder.rglob("*") if not path.is_dir()}
        assert all(path.is_relative_to(root) for path in written)
        assert written == {path.resolve() for path in sink.files_written}
        assert len(written) <= 2
