"""The workflow's backfill steps through the deployed path: ``HttpBackfill`` posting to the
``backfill`` function (functions-framework over HTTP), chunks fanned out by the Cloud Tasks
emulator, run state in the Firestore emulator, buckets on fake-gcs-server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from ingestion.adapters.storage.gcs_bucket import GcsBucket
from ingestion.adapters.storage.objects import ObjectInfo
from ingestion.entrypoints.migration import build_workflow
from ingestion.local.backfill_topology import (
    RAW_SOURCE,
    archive_lines,
    backfill_environment,
    backfill_function,
    encode_object,
)
from ingestion.local.loader_topology import (
    DECODED_SOURCE,
    ERRORS_SOURCE,
    create_buckets,
    gcs_client,
    seed_registry,
)
from ingestion.local.services import (
    LocalService,
    ServiceUnavailable,
    cloud_tasks_emulator,
    free_port,
    running,
)
from ingestion.migration import Options
from ingestion.registry import Registry

from ..conftest import PROJECT

LOCATION = f"projects/{PROJECT}/locations/us-central1"


@pytest.fixture(scope="module")
def tasks(service_logs) -> Iterator[LocalService]:
    try:
        service = cloud_tasks_emulator(service_logs, max_retries=1000).start()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    yield service
    service.stop()


def test_backfill_and_its_dry_run_go_through_the_backfill_function(
    gcs, firestore_server, pubsub, tasks, service_logs
) -> None:
    from ingestion.adapters.cloud_tasks import tasks_client

    suffix = uuid.uuid4().hex[:8]
    meta, data, raw = (f"migfn-{kind}-{suffix}" for kind in ("meta", "data", "raw"))
    create_buckets(PROJECT, meta, data, raw)
    registry = Registry.open(f"gs://{meta}")
    seed_registry(registry, {DECODED_SOURCE.name: data, ERRORS_SOURCE.name: data})
    registry.put_schema(RAW_SOURCE.metadata_prefix, RAW_SOURCE.schema(), expected=None)
    registry.put_source(RAW_SOURCE.name, RAW_SOURCE.entry(raw), expected=None)
    archive = GcsBucket(gcs_client(PROJECT), raw)
    for day in ("2026_02_01", "2026_02_02"):
        lines = archive_lines(300, f"{day.replace('_', '-')}T05:00:00Z", seed=len(day))
        archive.write(f"{RAW_SOURCE.prefix}/{day}/05/a.ndjson", encode_object(lines, "plain"), None)
    queue = f"{LOCATION}/queues/migration-{suffix}"
    tasks_client(tasks.host).create_queue(parent=LOCATION, queue={"name": queue})
    port = free_port()
    env = backfill_environment(
        PROJECT,
        f"gs://{meta}",
        backfill_allowed_buckets=f"{raw},{data}",
        backfill_queue=queue,
        backfill_function_url=f"http://127.0.0.1:{port}",
        cloud_tasks_emulator_host=tasks.host,
        log_level="WARNING",
    )
    with running(backfill_function(service_logs, env, port=port, name=f"bf-mig-{suffix}")) as (
        function,
    ):
        workflow = build_workflow(
            f"gs://{meta}",
            {},
            backfill_url=f"http://{function.host}",
            options=Options(settle_seconds=0),
        )
        workflow.reserve(
            DECODED_SOURCE.name, f"gs://{data}/moved", raw_source=RAW_SOURCE.name, migration_id="fn"
        )
        plan = workflow.backfill("fn", until="2026-02-03T00", dry_run=True)
        assert plan.data["plan"]["objects"] == 2 and "CPU-seconds" in "\n".join(plan.lines)
        assert not list(GcsBucket(gcs_client(PROJECT), data).list("moved/"))
        outcome = workflow.backfill("fn", until="2026-02-03T00")
    step = outcome.data["steps"]["backfill"]
    assert step["run_id"] == "fn-history" and step["chunks"]["done"] == step["chunks"]["total"]
    assert step["counts"]["records"] == 600
    counts = step["counts"]
    assert counts["decoded"] + counts["error"] + counts["dropped"] == 600 and counts["decoded"]
    stored = [
        item
        for item in GcsBucket(gcs_client(PROJECT), data).list("moved/")
        if isinstance(item, ObjectInfo)
    ]
    assert stored and all("backfill-fn-history-" in item.name for item in stored)
