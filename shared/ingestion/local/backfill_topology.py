"""The backfill's pieces on this machine, shared by its integration tests and ``bench/backfill.py``:

- ``RAW_SOURCE``: a raw archive source laid out by submission date and hour;
- ``archive_lines``: generated raw messages (the project's samples with fresh document ids and
  timestamps), with bad lines and byte-exact duplicates mixed in;
- ``write_archive_objects``: the lines as plain, gzip and Avro objects (the Avro records as a
  Pub/Sub Cloud Storage subscription writes them);
- ``backfill_environment`` / ``backfill_function``: the function under functions-framework.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

from ..core.lines import message_from_line
from ..settings import BackfillSettings, environ_for
from .loader_topology import DemoSource
from .services import LocalService, functions_framework
from .topology import SHARED

BACKFILL_SOURCE = SHARED.parent / "functions" / "backfill" / "main.py"
SAMPLES = SHARED.parent / "samples" / "raw-messages.ndjson"
RAW_SOURCE = DemoSource(
    "telemetry-raw",
    "Raw edge messages, as the landfill sink archives them",
    "raw-1",
    "raw-meta-1",
    (("submission_date", "*"), ("submission_hour", "*")),
)
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIMESTAMP = re.compile(rb'"submission_timestamp": ?"[^"]*"')
MAX_SAMPLE_BYTES = 64 << 10  # leaves out the sample gzip bomb: it only slows the tests down
AVRO_SCHEMA = {
    "type": "record",
    "name": "PubsubMessage",
    "fields": [
        {"name": "subscription_name", "type": "string"},
        {"name": "message_id", "type": "string"},
        {"name": "publish_time", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "attributes", "type": {"type": "map", "values": "string"}},
        {"name": "data", "type": "bytes"},
    ],
}


def sample_lines() -> list[bytes]:
    lines = []
    for line in SAMPLES.read_bytes().splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(b"//") and len(stripped) < MAX_SAMPLE_BYTES:
            lines.append(stripped)
    return lines


def archive_lines(count: int, timestamp: str, seed: int = 1) -> list[bytes]:
    """``count`` lines: samples with fresh ids and ``timestamp``; every 97th a bad line, every
    41st a byte-exact copy of an earlier line."""
    rng = random.Random(seed)
    samples = sample_lines()
    lines: list[bytes] = []
    for index in range(count):
        if index % 97 == 96:
            lines.append(b'{"payload": 5, "bad line": %d}' % index)
        elif index % 41 == 40:
            lines.append(lines[rng.randrange(len(lines))])
        else:
            line = samples[index % len(samples)]
            fresh = str(uuid.UUID(int=rng.getrandbits(128), version=4)).encode()
            line = _UUID.sub(fresh, line)
            lines.append(_TIMESTAMP.sub(b'"submission_timestamp": "%s"' % timestamp.encode(), line))
    return lines


def avro_bytes(lines: Sequence[bytes]) -> bytes:
    """Lines as the Avro file a Pub/Sub Cloud Storage subscription (metadata on) writes; a bad
    line becomes a record with its bytes as data and no attributes."""
    import fastavro

    records = []
    for number, line in enumerate(lines):
        try:
            message = message_from_line(line)
            attributes, data = message.attributes, message.payload
        except ValueError:
            attributes, data = {}, line
        records.append(
            {
                "subscription_name": "projects/test-project/subscriptions/raw-archive",
                "message_id": f"m-{number}",
                "publish_time": 1_700_000_000_000_000 + number,
                "attributes": {k: v for k, v in attributes.items() if k != "message_id"},
                "data": data,
            }
        )
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(AVRO_SCHEMA), records, codec="deflate")
    return out.getvalue()


def encode_object(lines: Sequence[bytes], kind: str) -> bytes:
    """``lines`` as a ``plain``, ``gzip`` or ``avro`` object."""
    if kind == "avro":
        return avro_bytes(lines)
    body = b"".join(line + b"\n" for line in lines)
    return gzip.compress(body, mtime=0) if kind == "gzip" else body


def backfill_environment(
    project: str, metadata_location: str, **settings: object
) -> dict[str, str]:
    """The environment of a ``backfill`` function; ``settings`` are ``BackfillSettings``
    fields. The emulator hosts are this process's."""
    values = {"project": project, "metadata_location": metadata_location, **settings}
    environment = {"PYTHONPATH": str(SHARED), **environ_for(BackfillSettings, **values)}
    for name in ("STORAGE_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"):
        if name in os.environ:
            environment[name] = os.environ[name]
    return environment


def backfill_function(
    log_dir: Path, env: dict[str, str], port: int | None = None, name: str = "backfill"
) -> LocalService:
    """The ``backfill`` function under functions-framework over HTTP, not started yet."""
    service = functions_framework(
        BACKFILL_SOURCE, "backfill", log_dir, env, signature_type="http", port=port
    )
    service.log_path = log_dir / f"function-{name}.log"
    return service
