"""A loader's world on real servers: buckets and a registry on fake-gcs-server (``gcs``), topics
on the Pub/Sub emulator (``pubsub``), each test with names of its own."""

from __future__ import annotations

import dataclasses
import gzip
import uuid
from typing import Any

import pytest

from ingestion.adapters.storage.gcs_bucket import GcsBucket
from ingestion.core.lines import message_from_line
from ingestion.core.message import Message
from ingestion.local.loader_topology import (
    DECODED_SOURCE,
    ERRORS_SOURCE,
    create_buckets,
    gcs_client,
    seed_registry,
)
from ingestion.registry import Registry

from ..conftest import PROJECT


@dataclasses.dataclass
class World:
    metadata: str  # bucket names
    data: str
    errors: str
    registry: Registry
    decoded_topic: str
    error_topic: str
    publisher: Any
    subscriber: Any

    @property
    def metadata_location(self) -> str:
        return f"gs://{self.metadata}"

    def bucket(self, name: str) -> GcsBucket:
        return GcsBucket(gcs_client(PROJECT), name)

    def publish(self, topic: str, messages: list[Message]) -> None:
        path = f"projects/{PROJECT}/topics/{topic}"
        futures = [self.publisher.publish(path, m.payload, **m.attributes) for m in messages]
        for future in futures:
            future.result()


class StoredDocuments:
    """What a bucket holds under a prefix, read incrementally (each object once)."""

    def __init__(self, bucket: GcsBucket, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.objects: dict[str, list[Message]] = {}

    def refresh(self) -> StoredDocuments:
        for info in self.bucket.list(self.prefix):
            if isinstance(info, str) or info.name in self.objects:
                continue
            lines = gzip.decompress(self.bucket.read(info.name)).splitlines()
            self.objects[info.name] = [message_from_line(line) for line in lines]
        return self

    def ids(self, attribute: str = "document_id") -> set[str]:
        return {m.attributes.get(attribute, "") for ms in self.objects.values() for m in ms}

    @property
    def messages(self) -> int:
        return sum(len(ms) for ms in self.objects.values())


@pytest.fixture
def world(gcs, pubsub) -> World:
    from google.cloud import pubsub_v1

    suffix = uuid.uuid4().hex[:10]
    names = {kind: f"loader-{kind}-{suffix}" for kind in ("meta", "data", "errors")}
    create_buckets(PROJECT, *names.values())
    registry = Registry.open(f"gs://{names['meta']}")
    seed_registry(
        registry, {DECODED_SOURCE.name: names["data"], ERRORS_SOURCE.name: names["errors"]}
    )
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topics = {kind: f"{kind}-{suffix}" for kind in ("decoded", "errors")}
    for topic in topics.values():
        publisher.create_topic(name=f"projects/{PROJECT}/topics/{topic}")
    return World(
        names["meta"], names["data"], names["errors"], registry,
        topics["decoded"], topics["errors"], publisher, subscriber,
    )  # fmt: skip


def decoded_message(document_id: str, doctype: str = "baseline") -> Message:
    return Message(
        {
            "document_id": document_id,
            "document_namespace": "org-example-app",
            "document_type": doctype,
            "document_version": "1",
            "submission_timestamp": "2026-11-20T10:05:01.123456Z",
        },
        gzip.compress(b'{"ping_info": {"seq": 1}, "document_id": "%s"}' % document_id.encode()),
    )
