"""The backfill function's composition root: settings in, one ``BackfillHandler`` out.

Builds, once per instance: the registry (sources, writer entries, data buckets), the Firestore
run/chunk store, the dispatcher (Cloud Tasks, or Pub/Sub), the decoder's context (schemas,
GeoIP, rules; re-checked by generation like the decoder function's) and, for replays, the
decoder's synchronous Pub/Sub sink. Each chunk task gets a ``DecoderService`` of its own
around that shared context, with the chunk's outputs and dedup.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from typing import Any

from ..adapters.backfill_store import FirestoreBackfillStore
from ..adapters.cloud_tasks import CloudTasksDispatcher, PubSubDispatcher, tasks_client
from ..backfill.http import BackfillHandler
from ..backfill.outputs import TopicOutputs
from ..backfill.runner import ChunkRunner, RunnerOptions
from ..backfill.service import Backfill, Limits
from ..observability import configure_logging
from ..registry import Registry
from ..service.context_provider import ContextProvider
from ..service.decoder import DecoderService
from ..settings import BackfillSettings

# The collector's thresholds once the instance is built (see ``tune_collector``); the decoder
# function's values.
GC_THRESHOLDS = (20_000, 20, 100)


def _dispatcher(settings: BackfillSettings) -> Any:
    if settings.backfill_dispatch == "pubsub":
        from google.cloud import pubsub_v1

        return PubSubDispatcher(pubsub_v1.PublisherClient(), settings.backfill_dispatch_topic)
    return CloudTasksDispatcher(
        tasks_client(settings.cloud_tasks_emulator_host or None),
        settings.backfill_queue,
        settings.backfill_function_url,
        service_account_email=settings.backfill_tasks_service_account,
        deadline_seconds=settings.backfill_dispatch_deadline_seconds,
    )


def _topic_outputs(settings: BackfillSettings) -> Any:
    """Outputs replaying into the decoder's topics; the publisher is made on the first replay,
    so a backfill that only writes objects (or runs in-process, without credentials) never
    needs Pub/Sub."""
    from ..adapters.pubsub_sink import PubSubSink, tuned_publisher

    sinks: list[PubSubSink] = []
    lock = threading.Lock()

    def outputs() -> TopicOutputs:
        with lock:
            if not sinks:
                sinks.append(
                    PubSubSink(
                        tuned_publisher(),
                        project=settings.project,
                        decoded_topic=settings.decoded_topic,
                        error_topic=settings.error_topic,
                        output_compression=settings.output_compression,
                        error_compression=settings.error_compression,
                        job_name=settings.job_name,
                    )
                )
        return TopicOutputs(sinks[0])

    return outputs


def build(
    settings: BackfillSettings,
    *,
    store: Any = None,
    dispatcher: Any = None,
    registry: Registry | None = None,
    provider: ContextProvider | None = None,
) -> Backfill:
    """The backfill's operations wired to their adapters. The keywords replace what would be
    built from ``settings``: an in-memory store and queue for an in-process run (the migration
    workflow, tests), an open registry, a loaded context provider."""
    if store is None:
        from google.cloud import firestore

        client = firestore.Client(project=settings.project, database=settings.backfill_database)
        store = FirestoreBackfillStore(
            client, settings.backfill_collection, mark_days=settings.backfill_mark_days
        )
    if registry is None:
        registry = Registry.open(settings.metadata_location)
    if provider is None:
        provider = ContextProvider(
            settings.resources, recheck_seconds=settings.resource_recheck_seconds
        )
    current = provider.current

    def make_service(outputs: Any, dedup: Any) -> DecoderService:
        return DecoderService(
            current, outputs, dedup, include_stack_trace=settings.include_stack_trace
        )

    options = RunnerOptions(
        budget_seconds=settings.backfill_time_budget_seconds,
        max_attempts=settings.backfill_max_attempts,
        commit_bytes=settings.backfill_commit_bytes,
    )
    return Backfill(
        store=store,
        dispatcher=dispatcher if dispatcher is not None else _dispatcher(settings),
        runner=ChunkRunner(store, make_service, options),
        registry=registry,
        bucket_for=registry.data_bucket,
        limits=Limits(
            settings.backfill_max_chunks,
            settings.backfill_max_bytes,
            settings.backfill_allowed_buckets,
        ),
        topic_outputs=_topic_outputs(settings),
        budget_seconds=settings.backfill_time_budget_seconds,
        commit_bytes=settings.backfill_commit_bytes,
    )


def tune_collector() -> None:
    """Keep the collector's full collections off the decoding path (call once the context is
    loaded). A batch's outputs hold their parsed documents until the batch is flushed: with the
    default thresholds the collector walked them again and again (several full collections per
    1,000 records), which made a chunk worker's decode about 40 % slower than the same records
    decoded one at a time. Schemas, databases and clients live as long as the instance: frozen,
    they are not walked either."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


_instance: BackfillHandler | None = None
_lock = threading.Lock()


def instance(environ: Mapping[str, str]) -> BackfillHandler:
    """The process-wide handler, built on the first request (cold start) and reused after."""
    global _instance
    with _lock:
        if _instance is None:
            settings = BackfillSettings.from_environ(environ)
            configure_logging(settings.log_level)
            _instance = BackfillHandler(build(settings))
            tune_collector()
    return _instance
