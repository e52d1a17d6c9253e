"""A source with history in local buckets, for the workflow's unit tests.

Three local "buckets" (directories, the ``LocalBucket`` contract) beside a registry: the raw
archive (``telemetry-raw``, by date and hour), and the data bucket holding the decoded source
(``demo-telemetry``) and its errors. The old location is filled the way the loader would have:
by decoding the archive (the in-process backfill) into the source's writer entry. Every bucket
goes through ``CrashingBucket``, which can end the "process" after any number of writes.
"""

from __future__ import annotations

import datetime
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.adapters.storage.objects import ObjectInfo
from ingestion.entrypoints.migration import in_process_backfill
from ingestion.local.backfill_topology import RAW_SOURCE, archive_lines, encode_object
from ingestion.local.loader_topology import DECODED_SOURCE, ERRORS_SOURCE, seed_registry
from ingestion.migration import Options, Owner, Workflow
from ingestion.registry import Dataset, Registry
from ingestion.service.context_provider import ContextProvider
from ingestion.settings import BackfillSettings

SOURCE = DECODED_SOURCE.name
DATA, RAW, META = "data-bucket", "raw-bucket", "metadata"
NOW = datetime.datetime(2026, 3, 10, 12, 30, tzinfo=datetime.UTC).timestamp()
HISTORY_DAYS = ("2026-03-07", "2026-03-08", "2026-03-09")
NEW_LAYOUT = {
    "version": 1,
    "dimensions": [
        {"field_name": "submission_date", "allowed_values": "*"},
        {"field_name": "document_type", "allowed_values": "*"},
    ],
}
TO = f"gs://{DATA}/telemetry-2"
SETTLE = 120.0


class SimulatedCrash(BaseException):
    """The process ends here (nothing catches a BaseException the way it catches errors)."""


class Countdown:
    """Shared by every bucket of one process: the write after which it crashes."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.crash_after = crash_after
        self.writes = 0
        self._lock = threading.Lock()

    def wrote(self) -> None:
        with self._lock:
            self.writes += 1
            if self.crash_after is not None and self.writes >= self.crash_after:
                self.crash_after = None
                raise SimulatedCrash(f"after write {self.writes}")


class CrashingBucket:
    def __init__(self, inner: LocalBucket, countdown: Countdown) -> None:
        self.inner = inner
        self.root = inner.root
        self._countdown = countdown

    def __repr__(self) -> str:
        return f"LocalBucket({self.inner.root.name})"

    def list(self, prefix: str, delimiter: str | None = None) -> Iterator[ObjectInfo | str]:
        return self.inner.list(prefix, delimiter)

    def stat(self, name: str) -> ObjectInfo:
        return self.inner.stat(name)

    def read(self, name: str, start: int = 0, end: int | None = None) -> bytes:
        return self.inner.read(name, start, end)

    def read_current(self, name: str) -> tuple[bytes, str]:
        return self.inner.read_current(name)

    def write(self, name: str, data: bytes, if_generation: str | None) -> str:
        generation = self.inner.write(name, data, if_generation)
        self._countdown.wrote()
        return generation

    def delete(self, name: str, if_generation: str | None = None) -> None:
        self.inner.delete(name, if_generation)
        self._countdown.wrote()


class Clock:
    """Time of the simulated world: ``sleep`` moves it on."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class World:
    def __init__(self, root: Path, provider: ContextProvider) -> None:
        self.root = root
        self.provider = provider
        self.clock = Clock()

    def registry(self, countdown: Countdown | None = None) -> Registry:
        countdown = countdown or Countdown()

        def bucket(name: str) -> Any:
            return CrashingBucket(LocalBucket(self.root / name), countdown)

        return Registry(bucket(META), data_buckets=bucket, author="test")

    def workflow(
        self,
        countdown: Countdown | None = None,
        *,
        owner: Owner | None = None,
        take_over: bool = False,
        registry: Registry | None = None,
    ) -> Workflow:
        """A workflow as one process would build it (its own in-memory backfill runs)."""
        registry = registry or self.registry(countdown)
        backfills = in_process_backfill(registry, {}, self.provider)
        return Workflow(
            registry,
            backfills,
            options=Options(settle_seconds=SETTLE, lease_seconds=600),
            clock=self.clock,
            sleep=self.clock.sleep,
            owner=owner,
            take_over=take_over,
        )

    # -- traffic -------------------------------------------------------------------------------

    def archive(self, name: str, timestamp: str, count: int, seed: int) -> None:
        """Raw lines into the archive under the date and hour of ``timestamp``."""
        day, hour = timestamp[:10].replace("-", "_"), timestamp[11:13]
        lines = archive_lines(count, timestamp, seed=seed)
        bucket = LocalBucket(self.root / RAW)
        bucket.write(
            f"{RAW_SOURCE.prefix}/{day}/{hour}/{name}", encode_object(lines, "plain"), None
        )

    def load(self, start: str, end: str, run_id: str) -> None:
        """What the live loader would have written: the archive's ``[start, end)`` decoded into
        wherever the source's writer entry points now."""
        backfill = in_process_backfill(self.registry(), {}, self.provider)
        request = {
            "source": RAW_SOURCE.name,
            "window": {"start": start, "end": end},
            "destination": {"decoded": SOURCE, "error": ERRORS_SOURCE.name},
            "run_id": run_id,
        }
        status = backfill.run(request, lambda progress: None)
        assert status["state"] == "done", status

    # -- reading -------------------------------------------------------------------------------

    def document_ids(self, dataset: Dataset) -> list[str]:
        return [message.attributes["document_id"] for message in dataset.records()]

    def consumer_ids(self) -> set[str]:
        return set(self.document_ids(Dataset.from_source(SOURCE, registry=self.registry())))


def make_world(root: Path, provider: ContextProvider) -> World:
    """The registry, the archive (three days of history and two hours of today) and the old
    location filled from it."""
    world = World(root, provider)
    for name in (DATA, RAW, META):
        (root / name).mkdir(parents=True)
    registry = world.registry()
    seed_registry(registry, {DECODED_SOURCE.name: DATA, ERRORS_SOURCE.name: DATA})
    registry.put_schema(RAW_SOURCE.metadata_prefix, RAW_SOURCE.schema(), expected=None)
    registry.put_source(RAW_SOURCE.name, RAW_SOURCE.entry(RAW), expected=None)
    for seed, day in enumerate(HISTORY_DAYS, start=1):
        world.archive("a.ndjson", f"{day}T10:15:00Z", 30, seed)
    world.archive("today.ndjson", "2026-03-10T10:20:00Z", 20, 9)
    world.load("2026-03-07", "2026-03-10T11", "history-as-loaded")
    return world


def copy_world(template: World, root: Path) -> World:
    shutil.copytree(template.root, root)
    return World(root, template.provider)


def provider() -> ContextProvider:
    settings = BackfillSettings.from_environ({"GOOGLE_CLOUD_PROJECT": "local"})
    return ContextProvider(settings.resources, recheck_seconds=1e9)


Step = Callable[[Workflow, str], Any]
