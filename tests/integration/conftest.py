"""Real local servers for integration tests: the official Pub/Sub and Firestore emulators,
fake-gcs-server, and functions-framework over HTTP.

Every server gets a free port and its own process group and is always stopped. A test that needs
an emulator this machine lacks is skipped with the reason (which path is missing, how to install).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.local.services import (
    DEFAULT_SDK_ROOT,
    LocalService,
    ServiceUnavailable,
    fake_gcs_server,
    firestore_emulator,
    pubsub_emulator,
)

PROJECT = "test-project"
SDK_ROOT = Path(os.environ.get("GCLOUD_SDK_ROOT", str(DEFAULT_SDK_ROOT)))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.emulator)


def _started(service_factory, monkeypatch_env: dict[str, str]) -> Iterator[LocalService]:
    try:
        service = service_factory()
        service.start()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    previous = {key: os.environ.get(key) for key in monkeypatch_env}
    os.environ.update({k: v.format(host=service.host) for k, v in monkeypatch_env.items()})
    try:
        yield service
    finally:
        service.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def service_logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="session")
def pubsub(service_logs) -> Iterator[LocalService]:
    """The official Pub/Sub emulator; PUBSUB_EMULATOR_HOST points the clients at it."""
    yield from _started(
        lambda: pubsub_emulator(service_logs, SDK_ROOT),
        {"PUBSUB_EMULATOR_HOST": "{host}", "PUBSUB_PROJECT_ID": PROJECT},
    )


@pytest.fixture(scope="session")
def firestore_server(service_logs) -> Iterator[LocalService]:
    """The official Firestore emulator (Native mode); FIRESTORE_EMULATOR_HOST points at it."""
    yield from _started(
        lambda: firestore_emulator(service_logs, SDK_ROOT),
        {"FIRESTORE_EMULATOR_HOST": "{host}"},
    )


@pytest.fixture
def firestore(firestore_server):
    """A Firestore client on an emptied database."""
    import requests
    from google.cloud import firestore as gcf

    reset = (
        f"http://{firestore_server.host}/emulator/v1/projects/{PROJECT}"
        "/databases/(default)/documents"
    )
    requests.delete(reset, timeout=10).raise_for_status()
    return gcf.Client(project=PROJECT)


@pytest.fixture(scope="session")
def gcs(service_logs) -> Iterator[LocalService]:
    """fake-gcs-server; STORAGE_EMULATOR_HOST points the storage client at it."""
    yield from _started(
        lambda: fake_gcs_server(service_logs),
        {"STORAGE_EMULATOR_HOST": "http://{host}"},
    )
