"""One contract for both ``Bucket`` implementations (a local directory and Cloud Storage on
fake-gcs-server): listing with and without a delimiter, ranged reads, compare-and-swap writes
and deletes, concurrent writers, and names that must not reach outside their place."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.adapters.storage.objects import (
    ObjectInfo,
    ObjectNotFound,
    PreconditionFailed,
    check_object_name,
)

TREE = {
    "a/x/1.ndjson": b"one",
    "a/x/2.ndjson": b"two!",
    "a/y/3.ndjson": b"three",
    "a/top.json": b"{}",
    "a.json": b"[]",
    "b/deep/er/4": b"4444",
}


def fill(bucket, tree=TREE) -> None:
    for name, data in tree.items():
        bucket.write(name, data, if_generation="0")


def names(listed) -> list[str]:
    return [item.name if isinstance(item, ObjectInfo) else item for item in listed]


def test_list_without_a_delimiter_gives_every_object_below_in_name_order(bucket):
    fill(bucket)
    assert names(bucket.list("")) == sorted(TREE)
    assert names(bucket.list("a/")) == [
        "a/top.json",
        "a/x/1.ndjson",
        "a/x/2.ndjson",
        "a/y/3.ndjson",
    ]
    # A prefix is a string prefix, not a folder: "a" also matches "a.json".
    assert names(bucket.list("a")) == sorted(name for name in TREE if name.startswith("a"))
    sizes = {info.name: info.size for info in bucket.list("") if isinstance(info, ObjectInfo)}
    assert sizes == {name: len(data) for name, data in TREE.items()}
    assert list(bucket.list("nothing/")) == []


def test_list_with_a_delimiter_gives_one_level_objects_first_then_folders(bucket):
    fill(bucket)
    assert names(bucket.list("", delimiter="/")) == ["a.json", "a/", "b/"]
    assert names(bucket.list("a/", delimiter="/")) == ["a/top.json", "a/x/", "a/y/"]
    assert names(bucket.list("a/x", delimiter="/")) == ["a/x/"]
    assert names(bucket.list("b/", delimiter="/")) == ["b/deep/"]
    with pytest.raises(ValueError, match="delimiter"):
        list(bucket.list("", delimiter="-"))


def test_a_deleted_object_leaves_no_folder_behind(bucket):
    fill(bucket)
    info = bucket.stat("b/deep/er/4")
    bucket.delete("b/deep/er/4", if_generation=info.generation)
    assert names(bucket.list("", delimiter="/")) == ["a.json", "a/"]
    with pytest.raises(ObjectNotFound):
        bucket.stat("b/deep/er/4")
    with pytest.raises(ObjectNotFound):
        bucket.delete("b/deep/er/4")


def test_ranged_reads(bucket):
    bucket.write("r", b"0123456789", if_generation=None)
    assert bucket.read("r") == b"0123456789"
    assert bucket.read("r", 2, 5) == b"234"
    assert bucket.read("r", 7) == b"789"
    assert bucket.read("r", 8, 100) == b"89"
    assert bucket.read("r", 4, 4) == b""
    assert bucket.read("r", 10) == b""
    with pytest.raises(ValueError):
        bucket.read("r", 5, 2)
    with pytest.raises(ObjectNotFound):
        bucket.read("missing")
    with pytest.raises(ObjectNotFound):
        bucket.read_current("missing")


def test_generations_change_with_every_write_and_name_the_bytes_read(bucket):
    first = bucket.write("doc", b"v1", if_generation="0")
    assert bucket.read_current("doc") == (b"v1", first)
    assert bucket.stat("doc") == ObjectInfo("doc", 2, first)
    second = bucket.write("doc", b"v2", if_generation=first)
    third = bucket.write("doc", b"v3", if_generation=None)
    assert len({first, second, third}) == 3
    assert bucket.read_current("doc") == (b"v3", third)


def test_compare_and_swap(bucket, backend):
    generation = bucket.write("doc", b"v1", if_generation="0")
    with pytest.raises(PreconditionFailed):
        bucket.write("doc", b"again", if_generation="0")  # create-only, but it exists
    with pytest.raises(PreconditionFailed):
        bucket.write("doc", b"stale", if_generation=str(int(generation) - 1))
    with pytest.raises(PreconditionFailed):
        bucket.write("absent", b"x", if_generation=generation)  # expects an existing object
    if backend == "local":  # fake-gcs-server ignores ifGenerationMatch on a delete
        with pytest.raises(PreconditionFailed):
            bucket.delete("doc", if_generation=str(int(generation) + 1))
    assert bucket.read_current("doc") == (b"v1", generation)
    bucket.delete("doc", if_generation=generation)
    assert list(bucket.list("")) == []


@pytest.mark.parametrize("expected", ["0", "existing"])
def test_concurrent_conditional_writers_exactly_one_wins(bucket, expected):
    if expected == "existing":
        expected = bucket.write("doc", b"base", if_generation="0")
    contenders = 8
    start = threading.Barrier(contenders)
    won: list[bytes] = []
    lost: list[bytes] = []

    def contend(index: int) -> None:
        data = f"writer {index} ".encode() * 1000
        start.wait()
        try:
            bucket.write("doc", data, if_generation=expected)
        except PreconditionFailed:
            lost.append(data)
        else:
            won.append(data)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == contenders - 1
    assert bucket.read("doc") == won[0]  # the winner's bytes, whole


HOSTILE = [
    "",
    "/etc/passwd",
    "../escape",
    "a/../../escape",
    "a/./b",
    "a//b",
    "folder/",
    "..",
    "line\nbreak",
    "nul\x00byte",
    "x" * 1025,
]


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_hostile_names_are_refused_before_any_io(bucket, name):
    for attempt in (
        lambda: bucket.write(name, b"x", if_generation=None),
        lambda: bucket.read(name),
        lambda: bucket.read_current(name),
        lambda: bucket.stat(name),
        lambda: bucket.delete(name),
    ):
        with pytest.raises(ValueError):
            attempt()
    assert list(bucket.list("")) == []


def test_listing_prefixes_cannot_climb(bucket):
    for prefix in ("../", "a/../..", "/", "a//"):
        with pytest.raises(ValueError):
            list(bucket.list(prefix))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(alphabet=st.sampled_from("ab./\\\n\x00 é"), min_size=0, max_size=12))
def test_any_name_is_refused_or_stays_an_object_under_its_name(bucket, name):
    try:
        check_object_name(name)
    except ValueError:
        with pytest.raises(ValueError):
            bucket.write(name, b"x", if_generation=None)
        return
    try:
        bucket.write(name, b"x", if_generation=None)
    except Exception as exc:  # only a local bucket refuses names that collide with folders
        assert type(exc).__name__ in ("ObjectStoreError", "ValueError")
        return
    listed = [info.name for info in bucket.list("") if isinstance(info, ObjectInfo)]
    assert name in listed
    bucket.delete(name)


def test_open_bucket_names_a_bucket_and_a_path_prefix(tmp_path, gcs):
    from ingestion.adapters.storage.gcs_bucket import GcsBucket
    from ingestion.adapters.storage.local_bucket import LocalBucket
    from ingestion.adapters.storage.locations import LocationError
    from ingestion.adapters.storage.objects import open_bucket

    from .conftest import gcs_client

    local, prefix = open_bucket(str(tmp_path / "here"))
    assert isinstance(local, LocalBucket) and prefix == "" and (tmp_path / "here").is_dir()
    client = gcs_client()
    remote, prefix = open_bucket("gs://some-bucket/a/b/", client)
    assert isinstance(remote, GcsBucket) and remote.name == "some-bucket" and prefix == "a/b"
    assert open_bucket("gs://some-bucket", client)[1] == ""
    for bad in ("gs://", "gs://UPPER/x", "s3://bucket/x", ""):
        with pytest.raises(LocationError):
            open_bucket(bad, client)
