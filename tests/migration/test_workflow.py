"""The migration workflow on local buckets: order, idempotence, crashes at every write,
verification, concurrent publish, rollback and reserve's refusals."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.adapters.storage.objects import ObjectInfo
from ingestion.local.loader_topology import DECODED_SOURCE
from ingestion.migration import (
    ORDER,
    MigrationConflict,
    OutOfOrder,
    Owner,
    Refused,
    VerificationFailed,
)
from ingestion.registry import Dataset
from ingestion.registry.documents import parse_schema

from .drive import PLAN, act, drive
from .world import DATA, NEW_LAYOUT, SOURCE, TO, Countdown, SimulatedCrash, World, copy_world

OLD_PREFIX, NEW_PREFIX = DECODED_SOURCE.prefix, "telemetry-2"


def names(world: World, prefix: str) -> set[str]:
    bucket = LocalBucket(world.root / DATA)
    return {item.name for item in bucket.list(f"{prefix}/") if isinstance(item, ObjectInfo)}


OUTPUT = re.compile(r"(.*)/backfill-(.+)-[0-9a-f]{24}-(\d{15})\.ndjson\.gz")


def outputs(world: World, prefix: str) -> Counter[tuple[str, ...]]:
    """The objects under ``prefix`` as (folder, run, input position): what a run wrote, the
    chunk ids left out (they hash the archive objects' generations, which differ per world)."""
    found: Counter[tuple[str, ...]] = Counter()
    for name in names(world, prefix):
        match = OUTPUT.fullmatch(name)
        assert match, name
        found[match.groups()] += 1
    return found


def old_ids(world: World) -> set[str]:
    """The document ids in the old location, read with the layout it had."""
    registry = world.registry()
    recorded = world.workflow().read("m1")["from"]["schema"]
    dimensions = parse_schema(SOURCE, recorded, "from").dimensions()
    old = Dataset(SOURCE, DATA, registry.data_bucket(DATA), OLD_PREFIX, dimensions)
    return set(world.document_ids(old))


def run_until(world: World, last: str) -> Any:
    w = world.workflow()
    for item in PLAN[: PLAN.index(last) + 1]:
        act(world, w, item)
    return w


@pytest.fixture(scope="module")
def clean(template: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The migration run once without a crash: what every crashed run must end with."""
    world = copy_world(template, tmp_path_factory.mktemp("clean") / "world")
    _, writes = drive(world)
    return {
        "world": world,
        "writes": writes,
        "new": outputs(world, NEW_PREFIX),
        "ids": world.consumer_ids(),
    }


def test_whole_migration_moves_consumers_and_keeps_every_record(clean: dict[str, Any]) -> None:
    world: World = clean["world"]
    registry = world.registry()
    document = world.workflow().read("m1")
    assert document["status"] == "published"
    assert [world.workflow().machine.step(document, s)["state"] for s in ORDER] == ["done"] * 6
    assert registry.source(SOURCE).prefix == NEW_PREFIX
    assert registry.writer_entry(SOURCE).prefix == NEW_PREFIX
    dataset = Dataset.from_source(SOURCE, registry=registry)
    assert dataset.dimension_names == ("submission_date", "document_type")
    # history, the traffic in the gap (old location) and after the cutover: all there
    assert old_ids(world) <= clean["ids"]
    assert len(old_ids(world)) >= 50
    assert "migration-m1" not in registry.sources()  # the staging entry went with publish
    summary = (world.root / "metadata" / "migrations" / "m1.md").read_text()
    assert "status **published**" in summary and "| submission_date=2026_03_08" in summary


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_crash_after_any_write_resumes_to_the_same_end(
    clean: dict[str, Any], template: World, data: st.DataObject
) -> None:
    crashes = data.draw(st.lists(st.integers(1, clean["writes"]), min_size=1, max_size=3))
    world = copy_world(template, Path(tempfile.mkdtemp(prefix="migration-")) / "world")
    processes, _ = drive(world, crashes)
    assert processes >= 2  # the first crash point is always reached
    registry = world.registry()
    document = world.workflow().read("m1")
    assert document["status"] == "published"
    assert document["steps"]["verify"]["totals"]["missing"] == 0
    assert world.consumer_ids() == clean["ids"]
    # a resumed run rewrites its own objects: not one object more than the clean run
    assert outputs(world, NEW_PREFIX) == clean["new"]
    publishes = [c for c in registry.history(SOURCE) if "publish" in c.reason]
    assert len(publishes) == 1
    assert registry.writer_entry(SOURCE).prefix == NEW_PREFIX


def test_every_step_refuses_to_run_before_the_one_it_builds_on(world: World) -> None:
    w = run_until(world, "reserve")
    for step in ("cutover", "fill_gap", "verify", "publish"):
        with pytest.raises(OutOfOrder, match=r"needs (backfill|cutover|fill-gap|verify) done"):
            getattr(w, step)("m1")
    w.backfill("m1")
    with pytest.raises(OutOfOrder, match="fill-gap needs cutover done"):
        w.fill_gap("m1")
    with pytest.raises(OutOfOrder, match="publish needs verify done"):
        w.publish("m1")
    assert world.registry().source(SOURCE).prefix == OLD_PREFIX


def test_a_step_done_twice_changes_nothing_the_second_time(world: World) -> None:
    w = run_until(world, "publish")
    registry = world.registry()
    before = (registry.revision(), registry.writer_revision(SOURCE), w.read("m1")["revision"])
    for step in ("backfill", "cutover", "fill_gap", "publish"):
        assert "already" in getattr(w, step)("m1").lines[0]
    assert (
        w.reserve(SOURCE, TO, schema=NEW_LAYOUT, migration_id="m1")
        .lines[0]
        .endswith(f"already reserved {TO}")
    )
    after = (registry.revision(), registry.writer_revision(SOURCE), w.read("m1")["revision"])
    assert after == before


def test_verify_finds_a_deleted_object_and_blocks_publish_until_backfilled_again(
    world: World,
) -> None:
    w = run_until(world, "fill-gap")
    bucket = LocalBucket(world.root / DATA)
    victim = sorted(n for n in names(world, NEW_PREFIX) if "/2026_03_08/" in n)[0]
    bucket.delete(victim)
    with pytest.raises(VerificationFailed, match=r"submission_date=2026_03_08/document_type=") as e:
        w.verify("m1")
    assert "publish is blocked" in str(e.value)
    assert w.read("m1")["steps"]["verify"]["differing"]
    with pytest.raises(OutOfOrder, match="publish needs verify done"):
        w.publish("m1")
    redo = w.backfill("m1", redo=True)
    assert "m1-history-r2" in "\n".join(redo.lines)
    assert "verify" not in w.read("m1")["steps"]  # the redo reset the verification
    assert "missing 0" in w.verify("m1").lines[0]
    w.publish("m1")
    assert world.registry().source(SOURCE).prefix == NEW_PREFIX


class RaceBucket:
    """Holds each thread's first write of the state document until both threads reach theirs:
    both have read the same version, so exactly one compare-and-swap can win."""

    def __init__(self, inner: Any, barrier: threading.Barrier) -> None:
        self._inner = inner
        self._barrier = barrier
        self._waited: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def write(self, name: str, data: bytes, if_generation: str | None) -> str:
        me = threading.get_ident()
        if name.endswith("migrations/m1.json") and me not in self._waited:
            self._waited.add(me)
            self._barrier.wait(timeout=30)
        return str(self._inner.write(name, data, if_generation))


def test_two_concurrent_publishes_one_wins_the_other_gets_a_conflict(world: World) -> None:
    run_until(world, "verify")
    barrier = threading.Barrier(2)
    results: dict[int, Any] = {}

    def publish(number: int) -> None:
        registry = world.registry()
        registry.bucket = RaceBucket(registry.bucket, barrier)
        w = world.workflow(registry=registry, owner=Owner("host", number, f"t{number}"))
        w.records.bucket = registry.bucket
        try:
            results[number] = w.publish("m1")
        except MigrationConflict as exc:
            results[number] = exc

    threads = [threading.Thread(target=publish, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    conflicts = [r for r in results.values() if isinstance(r, MigrationConflict)]
    assert len(results) == 2 and len(conflicts) == 1
    assert "changed by another process" in str(conflicts[0])
    registry = world.registry()
    assert len([c for c in registry.history(SOURCE) if "publish" in c.reason]) == 1
    assert registry.source(SOURCE).prefix == NEW_PREFIX


def test_rollback_restores_the_old_consumer_and_writer_entries(world: World) -> None:
    w = run_until(world, "publish")
    registry = world.registry()
    assert Dataset.from_source(SOURCE, registry=registry).prefix == NEW_PREFIX
    dry = w.rollback("m1", writer=True, dry_run=True)
    assert dry.dry_run and registry.source(SOURCE).prefix == NEW_PREFIX
    outcome = w.rollback("m1", writer=True)
    assert "not in gs://data-bucket/telemetry-1" in "\n".join(outcome.lines)
    assert Dataset.from_source(SOURCE, registry=registry).prefix == OLD_PREFIX
    assert registry.writer_entry(SOURCE).prefix == OLD_PREFIX
    assert registry.source(SOURCE).to_json() == w.read("m1")["from"]["entry"]
    assert w.read("m1")["status"] == "rolled_back"
    revision = registry.revision()
    assert "already rolled_back" in w.rollback("m1").lines[0]
    assert registry.revision() == revision
    with pytest.raises(OutOfOrder, match="rolled_back: fill-gap no longer applies"):
        w.fill_gap("m1", redo=True)


def test_reserve_refuses_used_or_non_empty_prefixes(world: World) -> None:
    w = world.workflow()
    with pytest.raises(Refused, match="consumer entry of source 'demo-telemetry'"):
        w.reserve(SOURCE, f"gs://{DATA}/{OLD_PREFIX}/below", migration_id="a")
    with pytest.raises(Refused, match="telemetry-errors"):
        w.reserve(SOURCE, f"gs://{DATA}/telemetry-errors-1", migration_id="b")
    LocalBucket(world.root / DATA).write("telemetry-9/leftover.json", b"{}", None)
    with pytest.raises(Refused, match="is not empty"):
        w.reserve(SOURCE, f"gs://{DATA}/telemetry-9", migration_id="c")
    assert not w.records.ids()  # nothing recorded by a refusal
    # held by another migration (of another source): overlapping prefixes refused too
    w.reserve("telemetry-errors", f"gs://{DATA}/shared-3", migration_id="d")
    with pytest.raises(Refused, match=r"migration 'd'|source 'migration-d'"):
        w.reserve(SOURCE, f"gs://{DATA}/shared-3/v2", migration_id="e")
    # one migration per source at a time
    w.reserve(SOURCE, f"gs://{DATA}/telemetry-4", migration_id="f")
    with pytest.raises(Refused, match="already being moved by migration 'f'"):
        w.reserve(SOURCE, f"gs://{DATA}/telemetry-5", migration_id="g")


def test_dry_runs_print_the_plan_and_write_nothing(world: World) -> None:
    w = world.workflow()
    dry = w.reserve(SOURCE, TO, schema=NEW_LAYOUT, migration_id="m1", dry_run=True)
    assert dry.dry_run and "checks passed" in dry.lines[0]
    assert not w.records.ids()
    w.reserve(SOURCE, TO, schema=NEW_LAYOUT, migration_id="m1")
    generation = w.records.read("m1")[1]
    plan = w.backfill("m1", dry_run=True)
    text = "\n".join(plan.lines)
    assert "window [2026-03-07T00, 2026-03-10T12)" in text
    # four small archive objects, packed into one chunk
    assert plan.data["plan"]["objects"] == 4 and plan.data["plan"]["chunks"] == 1
    assert "CPU-seconds" in text and "$" in text
    assert names(world, NEW_PREFIX) == set()
    assert w.records.read("m1")[1] == generation


def test_a_step_of_a_live_process_is_not_taken_over_until_it_is_gone(world: World) -> None:
    run_until(world, "reserve")
    holder = subprocess.Popen(["sleep", "60"])
    try:
        crashing = world.workflow(
            Countdown(3), owner=Owner(socket.gethostname(), holder.pid, "holder")
        )
        with pytest.raises(SimulatedCrash):
            crashing.backfill("m1")
        assert crashing.read("m1")["steps"]["backfill"]["state"] == "running"
        with pytest.raises(MigrationConflict, match=f"pid {holder.pid}"):
            world.workflow().backfill("m1")
    finally:
        holder.kill()
        holder.wait()
    assert "m1: backfill done" in world.workflow().backfill("m1").lines[0]
    assert os.getpid() != holder.pid
