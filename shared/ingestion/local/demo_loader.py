"""The loader half of ``make run``: decoded and error topics -> two ``load`` functions ->
buckets on fake-gcs-server, with the registry in a bucket there too.

``loaders_running`` starts fake-gcs-server, creates the metadata and data buckets, registers a
decoded source and an errors source (``loader_topology.DECODED_SOURCE`` / ``ERRORS_SOURCE``),
starts one loader function per source and subscribes each to its topic with a push
subscription. ``LoaderDemo.report`` prints what a consumer sees: ``ingestion sources resolve``
for the decoded source (object counts per partition) and one record read back through
``Dataset.records()``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.message import Message
from .loader_topology import (
    DECODED_SOURCE,
    ERRORS_SOURCE,
    create_buckets,
    loader_environment,
    loader_function,
    push_subscription,
    seed_registry,
)
from .services import fake_gcs_server, running
from .topology import SHARED, Topics

BUCKETS = {"metadata": "demo-metadata", "decoded": "demo-telemetry", "errors": "demo-errors"}
METADATA_LOCATION = f"gs://{BUCKETS['metadata']}"


class LoaderDemo:
    def __init__(self, project: str) -> None:
        from ..registry import Registry

        self.project = project
        self.registry = Registry.open(METADATA_LOCATION)

    def stored(self) -> int:
        """Messages stored so far in both sources."""
        total = 0
        for source in (DECODED_SOURCE, ERRORS_SOURCE):
            entry = self.registry.source(source.name)
            bucket = self.registry.data_bucket(entry.bucket)
            for info in bucket.list(entry.prefix + "/"):
                if not isinstance(info, str):
                    total += gzip.decompress(bucket.read(info.name)).count(b"\n")
        return total

    def report(self) -> None:
        from ..registry import Dataset

        print(f"\nthe registry ({METADATA_LOCATION} on fake-gcs-server) resolves the sources:\n")
        sys.stdout.flush()
        for source in (DECODED_SOURCE, ERRORS_SOURCE):
            command = [sys.executable, "-m", "ingestion.cli", "sources", "resolve", source.name]
            print(
                f"$ METADATA_LOCATION={METADATA_LOCATION} ingestion sources resolve {source.name}"
            )
            sys.stdout.flush()
            env = {
                **os.environ,
                "PYTHONPATH": str(SHARED),
                "GOOGLE_CLOUD_PROJECT": self.project,
                "METADATA_LOCATION": METADATA_LOCATION,
            }
            subprocess.run(command, env=env, check=False)
            print()
        dataset = Dataset.from_source(DECODED_SOURCE.name, registry=self.registry)
        record = next(iter(dataset.records()), None)
        if record is not None:
            print("one record read back through Dataset.from_source(...).records():")
            print(json.dumps(describe(record), indent=2)[:1500])


def describe(record: Message) -> dict[str, Any]:
    payload = record.payload
    if payload[:2] == b"\x1f\x8b":
        payload = gzip.decompress(payload)
    try:
        body: Any = json.loads(payload)
    except ValueError:
        body = payload[:200].decode("utf-8", "replace")
    return {"attributes": record.attributes, "payload": body}


@contextlib.contextmanager
def loaders_running(workdir: Path, topics: Topics) -> Iterator[LoaderDemo]:
    """fake-gcs-server, the registry and two loader functions subscribed to ``topics``'
    decoded and error topics; everything stopped on the way out."""
    project = topics.topology.project
    storage = fake_gcs_server(workdir)
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    with running(storage):
        os.environ["STORAGE_EMULATOR_HOST"] = f"http://{storage.host}"
        try:
            create_buckets(project, *BUCKETS.values())
            demo = LoaderDemo(project)
            sources = {
                DECODED_SOURCE.name: BUCKETS["decoded"],
                ERRORS_SOURCE.name: BUCKETS["errors"],
            }
            seed_registry(demo.registry, sources)
            functions = {
                kind: loader_function(
                    workdir,
                    loader_environment(
                        project, METADATA_LOCATION, source.name, loader_flush_seconds=1
                    ),
                    name=f"load-{kind}",
                )
                for kind, source in (("decoded", DECODED_SOURCE), ("error", ERRORS_SOURCE))
            }
            with running(*functions.values()):
                for kind, function in functions.items():
                    push_subscription(
                        topics.subscriber, project, topics.topology.name(kind),
                        f"{topics.topology.name(kind)}-loader", function.host, ack_deadline=30,
                    )  # fmt: skip
                yield demo
        finally:
            if saved is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = saved
