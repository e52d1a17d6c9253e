"""The loader's pieces on this machine, shared by ``make run``, the loader's integration tests and
``bench/loader.py``:

- ``DEMO_SOURCES``: a decoded source and an errors source (``telemetry-errors``, as in the
  historical registry), with their schemas, and ``seed_registry`` writing them into a registry;
- ``create_buckets``: the metadata and data buckets on fake-gcs-server;
- ``loader_environment`` / ``loader_function``: the ``load`` function under functions-framework
  over HTTP, configured from the settings table;
- ``push_subscription``: a push subscription from a topic to a loader.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from ..settings import LoaderSettings, environ_for
from .services import LocalService, functions_framework
from .topology import SHARED

LOADER_SOURCE = SHARED.parent / "functions" / "loader" / "main.py"


@dataclasses.dataclass(frozen=True)
class DemoSource:
    name: str
    description: str
    prefix: str
    metadata_prefix: str
    dimensions: tuple[tuple[str, Any], ...]  # (field_name, allowed_values)

    def entry(self, bucket: str) -> dict[str, str]:
        return {
            "description": self.description,
            "bucket": bucket,
            "prefix": self.prefix,
            "metadata_prefix": self.metadata_prefix,
        }

    def schema(self) -> dict[str, Any]:
        return {
            "version": 1,
            "dimensions": [
                {"field_name": field, "allowed_values": allowed}
                for field, allowed in self.dimensions
            ],
        }


DECODED_SOURCE = DemoSource(
    "demo-telemetry",
    "Decoded telemetry of the demo",
    "telemetry-1",
    "telemetry-meta-1",
    (("document_namespace", "*"), ("document_type", "*"), ("submission_date", "*")),
)
ERRORS_SOURCE = DemoSource(
    "telemetry-errors",
    "Error stream for the demo's telemetry",
    "telemetry-errors-1",
    "telemetry-errors-meta-1",
    (("error_type", "*"), ("submission_date", "*")),
)


def seed_registry(registry: Any, buckets: dict[str, str]) -> None:
    """Register the demo sources (``buckets``: source name -> data bucket) and their schemas."""
    for source in (DECODED_SOURCE, ERRORS_SOURCE):
        if source.name not in buckets:
            continue
        registry.put_schema(source.metadata_prefix, source.schema(), expected=None)
        registry.put_source(source.name, source.entry(buckets[source.name]), expected=None)


def gcs_client(project: str) -> Any:
    """A storage client for fake-gcs-server (``STORAGE_EMULATOR_HOST`` must be set)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=project, credentials=AnonymousCredentials())


def create_buckets(project: str, *names: str) -> None:
    client = gcs_client(project)
    for name in names:
        client.create_bucket(name)


def loader_environment(
    project: str, metadata_location: str, source: str, **settings: object
) -> dict[str, str]:
    """The environment of a ``load`` function; ``settings`` are further ``LoaderSettings``
    fields (``loader_flush_seconds=0.2``...). The storage emulator host is this process's."""
    values = {
        "project": project,
        "metadata_location": metadata_location,
        "loader_source": source,
        **settings,
    }
    environment = {"PYTHONPATH": str(SHARED), **environ_for(LoaderSettings, **values)}
    if "STORAGE_EMULATOR_HOST" in os.environ:
        environment["STORAGE_EMULATOR_HOST"] = os.environ["STORAGE_EMULATOR_HOST"]
    return environment


def loader_function(
    log_dir: Path, env: dict[str, str], port: int | None = None, name: str = "load"
) -> LocalService:
    """The ``load`` function under functions-framework over HTTP, not started yet."""
    service = functions_framework(
        LOADER_SOURCE, "load", log_dir, env, signature_type="http", port=port
    )
    service.log_path = log_dir / f"function-{name}.log"
    return service


def push_subscription(
    subscriber: Any, project: str, topic: str, name: str, host: str, ack_deadline: int = 10
) -> str:
    """A push subscription from ``topic`` to ``http://host/``; its path."""
    path = f"projects/{project}/subscriptions/{name}"
    subscriber.create_subscription(
        name=path,
        topic=f"projects/{project}/topics/{topic}",
        push_config={"push_endpoint": f"http://{host}/"},
        ack_deadline_seconds=ack_deadline,
    )
    return path
