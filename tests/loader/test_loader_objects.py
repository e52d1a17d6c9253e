"""Objects the loader writes, on a local bucket: the encoding (reused by the backfill), unique
names that say who wrote them, no overwrite, a writer entry followed when it moves, and, as
properties, hostile attribute values that never leave their prefix or level while every message
is accounted for."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import re
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.adapters.storage.objects import PreconditionFailed
from ingestion.core.lines import line_from_message, message_from_line
from ingestion.core.message import Message
from ingestion.core.partitions import Dimension
from ingestion.loader.batches import FlushPolicy
from ingestion.loader.loader import Loader
from ingestion.loader.objects import ObjectNames, encode_lines, write_object
from ingestion.loader.targets import WriterTargets
from loader.loader_support import Entry, EntryRegistry, run, stored_messages

DIMENSIONS = (
    Dimension("document_type", ["main", "event"]),
    Dimension("submission_date"),
)
NAME = re.compile(r"[0-9a-f]{12}-[0-9]{8}\.ndjson\.gz")


def test_encode_lines_is_one_gzip_member_of_json_lines():
    messages = [Message({"b": "2", "a": "1"}, b"\x00\xff payload"), Message({}, b"")]
    data = encode_lines(messages)
    lines = gzip.decompress(data).split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3  # newline-terminated, one line a message
    assert lines[:2] == [line_from_message(m) for m in messages]
    assert [message_from_line(line) for line in lines[:2]] == messages


def test_names_are_unique_across_threads_and_instances_and_say_who_wrote_them():
    first, second = ObjectNames(), ObjectNames()
    assert first.instance != second.instance
    names: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        taken = [first.next("p/x/") for _ in range(500)]
        with lock:
            names.extend(taken)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(names)) == 2000
    assert all(n.startswith(f"p/x/{first.instance}-") and NAME.fullmatch(n[4:]) for n in names)
    assert second.next("") == f"{second.instance}-00000001.ndjson.gz"


def test_write_object_never_overwrites_another_batch_but_a_repeated_write_is_idempotent(
    tmp_path: Path,
):
    bucket = LocalBucket(tmp_path)
    generation = write_object(bucket, "p/a.ndjson.gz", b"first")
    assert write_object(bucket, "p/a.ndjson.gz", b"first") == generation  # its own retry
    with pytest.raises(PreconditionFailed):
        write_object(bucket, "p/a.ndjson.gz", b"other")
    assert bucket.read("p/a.ndjson.gz") == b"first"


def loader_on(
    root: Path, registry: EntryRegistry, policy: FlushPolicy, recheck: float = 3600.0
) -> tuple[Loader, concurrent.futures.ThreadPoolExecutor]:
    executor = concurrent.futures.ThreadPoolExecutor(2)
    loop = asyncio.get_running_loop()
    targets = WriterTargets(
        registry,
        "demo",
        recheck_seconds=recheck,
        run_blocking=lambda call: loop.run_in_executor(executor, call),
    )
    return Loader(targets, lambda name: LocalBucket(root / name), executor, policy=policy), executor


def decoded(number: int, doctype: str = "main", day: str = "2026-11-20") -> Message:
    attributes = {"document_id": f"doc-{number}", "document_type": doctype}
    attributes["submission_timestamp"] = f"{day}T10:00:00.000000Z"
    return Message(attributes, b'{"n": %d}' % number)


def test_messages_land_under_their_partition_one_object_per_batch(tmp_path: Path):
    registry = EntryRegistry({"demo": Entry("data", "telemetry-2", DIMENSIONS, "1")})

    async def main() -> dict[str, int]:
        loader, executor = loader_on(tmp_path, registry, FlushPolicy(max_age_seconds=0.05))
        messages = [decoded(i, ("main", "event", "crash/../x")[i % 3]) for i in range(9)]
        await asyncio.gather(*(loader.load(m) for m in messages))
        await loader.close()
        executor.shutdown()
        return loader.counter_values()

    counters = run(main())
    objects = stored_messages(LocalBucket(tmp_path / "data"))
    directories = sorted(name.rsplit("/", 1)[0] for name in objects)
    assert directories == [
        "telemetry-2/OTHER/2026_11_20",  # a value the dimension does not allow
        "telemetry-2/event/2026_11_20",
        "telemetry-2/main/2026_11_20",
    ]
    assert all(NAME.fullmatch(name.rsplit("/", 1)[1]) for name in objects)
    stored = sorted(m.attributes["document_id"] for ms in objects.values() for m in ms)
    assert stored == sorted(f"doc-{i}" for i in range(9))
    assert counters["batches_written"] == 3 and counters["object_bytes_written"] > 0


def test_a_moved_writer_entry_is_followed_without_a_restart(tmp_path: Path):
    registry = EntryRegistry({"demo": Entry("data", "old", DIMENSIONS, "1")})

    async def main() -> int:
        loader, executor = loader_on(
            tmp_path, registry, FlushPolicy(max_age_seconds=0.01), recheck=0.0
        )
        await loader.load(decoded(0))
        registry.entries["demo"] = Entry("data", "new", DIMENSIONS, "2")
        for number in range(1, 50):  # the re-check runs in the background: keep loading
            await loader.load(decoded(number))
            if loader.targets.changes:
                break
        await loader.load(decoded(99))
        await loader.close()
        executor.shutdown()
        return number

    last_old = run(main())
    bucket = LocalBucket(tmp_path / "data")
    old = {
        m.attributes["document_id"] for ms in stored_messages(bucket, "old/").values() for m in ms
    }
    new = {
        m.attributes["document_id"] for ms in stored_messages(bucket, "new/").values() for m in ms
    }
    assert "doc-0" in old and "doc-99" in new
    assert old | new == {f"doc-{i}" for i in [*range(last_old + 1), 99]}  # none lost
    assert not old & new
    assert registry.calls["writer"] == 2  # re-read only when the version changed


# --- hostile attribute values ------------------------------------------------------------------
hostile_text = st.one_of(
    st.sampled_from(["..", ".", "/", "../../etc", "a/b", "", " ", "main", "%2e%2e", "\x00", "\n"]),
    st.text(max_size=30),
    st.text(alphabet="./\\%:", max_size=300),
)
hostile_messages = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "document_type": hostile_text,
            "submission_timestamp": hostile_text,
            "document_id": hostile_text,
        },
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_messages)
def test_hostile_attribute_values_never_escape_the_prefix_or_a_level(attribute_maps):
    messages = [Message(dict(a), str(i).encode()) for i, a in enumerate(attribute_maps)]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        registry = EntryRegistry({"demo": Entry("data", "src/v1", DIMENSIONS, "1")})

        async def main() -> None:
            loader, executor = loader_on(root, registry, FlushPolicy(max_age_seconds=0.005))
            await asyncio.gather(*(loader.load(m) for m in messages))
            await loader.close()
            executor.shutdown()

        run(main())
        files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        objects = stored_messages(LocalBucket(root / "data"))
    assert all(f.startswith("data/src/v1/") or f.startswith("data/.bucket/") for f in files)
    for name in objects:
        levels = name.split("/")
        assert levels[:2] == ["src", "v1"] and len(levels) == 2 + len(DIMENSIONS) + 1
        assert all(re.fullmatch(r"[A-Za-z0-9_.]{1,200}", level) for level in levels[2:4])
        assert all(level.strip(".") for level in levels[2:4])
        assert NAME.fullmatch(levels[-1])
    stored = sorted(m.payload for ms in objects.values() for m in ms)
    assert stored == sorted(m.payload for m in messages)  # every message, exactly once
    back = {m.payload: m.attributes for ms in objects.values() for m in ms}
    assert all(back[m.payload] == m.attributes for m in messages)  # stored as received
