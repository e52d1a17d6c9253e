"""The backfill's world on real servers: the Cloud Tasks emulator (session), buckets and a
registry on fake-gcs-server, run state in the Firestore emulator, topics on the Pub/Sub
emulator, and a generated raw archive of about 10,000 messages in plain, gzip and Avro objects,
with what ``ingestion decode`` makes of the same messages."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from ingestion.adapters.storage.gcs_bucket import GcsBucket
from ingestion.core.lines import line_from_message, message_from_line
from ingestion.entrypoints.decode_files import FileOptions, decode_files
from ingestion.local.backfill_topology import (
    RAW_SOURCE,
    archive_lines,
    backfill_environment,
    encode_object,
)
from ingestion.local.loader_topology import (
    DECODED_SOURCE,
    ERRORS_SOURCE,
    create_buckets,
    gcs_client,
    seed_registry,
)
from ingestion.local.services import LocalService, ServiceUnavailable, cloud_tasks_emulator
from ingestion.registry import Registry
from ingestion.settings import BackfillSettings

from ..conftest import PROJECT

LOCATION = f"projects/{PROJECT}/locations/us-central1"
DAY = "2026_11_20"
WINDOW = {"start": "2026-11-20T10", "end": "2026-11-20T12"}
HOUR_10 = {"start": "2026-11-20T10", "end": "2026-11-20T11"}


@pytest.fixture(scope="session")
def tasks(service_logs) -> Iterator[LocalService]:
    try:
        service = cloud_tasks_emulator(service_logs, max_retries=100_000).start()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    yield service
    service.stop()


@dataclasses.dataclass
class World:
    archive: str  # bucket names
    dest: str
    metadata: str
    registry: Registry
    objects: dict[str, list[bytes]]  # object name -> the raw lines it holds (in window)
    expected_decoded: list[bytes]  # normalised json lines ``ingestion decode`` writes
    expected_errors: list[bytes]
    tasks_host: str
    hour_10: tuple[list[bytes], list[bytes]]  # the same for the window's first hour only

    def environment(self, queue: str, url: str, **settings: object) -> dict[str, str]:
        return backfill_environment(
            PROJECT,
            f"gs://{self.metadata}",
            backfill_allowed_buckets=f"{self.archive},{self.dest}",
            backfill_queue=queue,
            backfill_function_url=url,
            cloud_tasks_emulator_host=self.tasks_host,
            log_level="WARNING",
            **settings,
        )

    def bucket(self, name: str) -> GcsBucket:
        return GcsBucket(gcs_client(PROJECT), name)

    def stored(self, prefix: str, run_id: str) -> dict[str, str]:
        """Object name -> generation of the run's objects under ``prefix`` (destination)."""
        return {
            info.name: info.generation
            for info in self.bucket(self.dest).list(prefix)
            if not isinstance(info, str) and (not run_id or f"/backfill-{run_id}-" in info.name)
        }

    def stored_lines(self, prefix: str, run_id: str) -> list[bytes]:
        bucket = self.bucket(self.dest)
        lines: list[bytes] = []
        for name in self.stored(prefix, run_id):
            lines += normalised(gzip.decompress(bucket.read(name)).splitlines())
        return sorted(lines)


def normalised(lines: list[bytes]) -> list[bytes]:
    return [line_from_message(message_from_line(line)) for line in lines if line.strip()]


def readable(line: bytes) -> bool:
    try:
        message_from_line(line)
    except ValueError:
        return False
    return True


def new_queue(tasks_host: str) -> str:
    from ingestion.adapters.cloud_tasks import tasks_client

    queue = f"{LOCATION}/queues/backfill-{uuid.uuid4().hex[:8]}"
    tasks_client(tasks_host).create_queue(parent=LOCATION, queue={"name": queue})
    return queue


def avro_as_json_lines(lines: list[bytes]) -> list[bytes]:
    """What the Avro object holds, as ``json`` lines (message_id from the record)."""
    out = []
    for number, line in enumerate(lines):
        message = message_from_line(line)
        attributes = {k: v for k, v in message.attributes.items() if k != "message_id"}
        attributes["message_id"] = f"m-{number}"
        payload = base64.b64encode(message.payload).decode()
        out.append(orjson.dumps({"attributeMap": attributes, "payload": payload}))
    return out


def expected_outputs(tmp: Path, inputs: dict[str, list[bytes]]) -> tuple[list[bytes], list[bytes]]:
    """The decoded and error lines ``ingestion decode --no-dedup`` writes for ``inputs``."""
    paths = []
    for index, lines in enumerate(inputs.values()):
        path = tmp / f"input-{index}.ndjson"
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        paths.append(path)
    output = tmp / "decoded-by-cli"
    config = BackfillSettings.from_environ({"GOOGLE_CLOUD_PROJECT": PROJECT}).resources
    decode_files(paths, config, FileOptions(output, dedup=False, progress=False))

    def read(kind: str) -> list[bytes]:
        lines: list[bytes] = []
        for path in sorted((output / kind).rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                lines += normalised(
                    (gzip.decompress(data) if path.suffix == ".gz" else data).splitlines()
                )
        return sorted(lines)

    return read("decoded"), read("error")


@pytest.fixture(scope="session")
def world(gcs, firestore_server, pubsub, tasks, tmp_path_factory) -> World:
    suffix = uuid.uuid4().hex[:8]
    archive, dest, metadata = (f"bf-{kind}-{suffix}" for kind in ("archive", "dest", "meta"))
    create_buckets(PROJECT, archive, dest, metadata)
    registry = Registry.open(f"gs://{metadata}")
    seed_registry(registry, {DECODED_SOURCE.name: dest, ERRORS_SOURCE.name: dest})
    registry.put_schema(RAW_SOURCE.metadata_prefix, RAW_SOURCE.schema(), expected=None)
    registry.put_source(RAW_SOURCE.name, RAW_SOURCE.entry(archive), expected=None)
    plain = archive_lines(4000, "2026-11-20T10:15:30.123456Z", seed=1)
    gzipped = archive_lines(3000, "2026-11-20T10:45:00.000001Z", seed=2)
    # An Avro record is a message: lines that are none have no Avro form.
    avro = [line for line in archive_lines(3000, "2026-11-20T11:05:00Z", seed=3) if readable(line)]
    outside = archive_lines(500, "2026-11-20T12:00:00Z", seed=4)
    layout = {
        f"{RAW_SOURCE.prefix}/{DAY}/10/a.ndjson": (plain, "plain"),
        f"{RAW_SOURCE.prefix}/{DAY}/10/b.ndjson.gz": (gzipped, "gzip"),
        f"{RAW_SOURCE.prefix}/{DAY}/11/c.avro": (avro, "avro"),
        f"{RAW_SOURCE.prefix}/{DAY}/12/outside.ndjson": (outside, "plain"),
    }
    bucket = GcsBucket(gcs_client(PROJECT), archive)
    for name, (lines, kind) in layout.items():
        bucket.write(name, encode_object(lines, kind), None)
    in_window = {name: lines for name, (lines, _) in layout.items() if "/12/" not in name}
    reference = {**in_window}
    reference[f"{RAW_SOURCE.prefix}/{DAY}/11/c.avro"] = avro_as_json_lines(avro)
    decoded, errors = expected_outputs(tmp_path_factory.mktemp("reference"), reference)
    first_hour = {name: lines for name, lines in in_window.items() if "/10/" in name}
    hour_10 = expected_outputs(tmp_path_factory.mktemp("reference-10"), first_hour)
    return World(archive, dest, metadata, registry, in_window, decoded, errors, tasks.host, hour_10)
