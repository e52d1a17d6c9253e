"""A registry on each backend: a local directory (data buckets beside it) and a metadata bucket
on fake-gcs-server (data buckets on the same server), filled with the historical documents."""

from __future__ import annotations

import uuid

import pytest

from ingestion.adapters.storage.gcs_bucket import GcsBucket
from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.registry import Registry
from registry.documents_data import DATA_BUCKET

PROJECT = "test-project"


def gcs_client():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=PROJECT, credentials=AnonymousCredentials())


@pytest.fixture(params=["local", "gcs"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def empty_registry(backend, request, tmp_path) -> Registry:
    """A registry with nothing in it, whose data bucket ``DATA_BUCKET`` exists."""
    if backend == "local":
        return Registry(LocalBucket(tmp_path / "metadata"), author="test")
    request.getfixturevalue("gcs")
    client = gcs_client()
    suffix = uuid.uuid4().hex[:10]
    metadata = client.create_bucket(f"metadata-{suffix}")
    data = client.create_bucket(f"data-{suffix}")
    # Each test gets its own data bucket on the shared server, under the name the documents use.
    return Registry(
        GcsBucket(client, metadata.name),
        root="registry",
        data_buckets=lambda name: GcsBucket(client, data.name if name == DATA_BUCKET else name),
        author="test",
    )
