"""The two ``Bucket`` implementations, each on a fresh bucket: a local directory and a bucket
on fake-gcs-server (the ``gcs`` fixture; skipped with its reason when the server is missing)."""

from __future__ import annotations

import uuid

import pytest

from ingestion.adapters.storage.gcs_bucket import GcsBucket
from ingestion.adapters.storage.local_bucket import LocalBucket

PROJECT = "test-project"


def gcs_client():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=PROJECT, credentials=AnonymousCredentials())


@pytest.fixture(params=["local", "gcs"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def bucket(backend, request, tmp_path):
    """A fresh, empty bucket of each kind."""
    if backend == "local":
        return LocalBucket(tmp_path / "bucket")
    request.getfixturevalue("gcs")
    client = gcs_client()
    name = f"contract-{uuid.uuid4().hex[:12]}"
    client.create_bucket(name)
    return GcsBucket(client, name)
