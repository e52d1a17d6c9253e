"""The decoder function's composition root: settings in, one ``DecoderFunction`` out.

Reads ``DecoderSettings`` from the environment once per instance (cold start), builds the
concrete adapters (the Pub/Sub sink, the dedup store, the resource provider) from plain values,
and injects them. Nothing below this module knows where its configuration came from.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping

from ..adapters.dedup import DedupStore, InMemoryDedupStore, NoDedup
from ..adapters.pubsub_sink import PubSubSink, tuned_publisher
from ..observability import OutcomeCounters, configure_logging
from ..service.context_provider import ContextProvider
from ..service.decoder import DecoderService
from ..service.function import DecoderFunction
from ..settings import DecoderSettings


def pubsub_sink(settings: DecoderSettings) -> PubSubSink:
    return PubSubSink(
        tuned_publisher(),
        project=settings.project,
        decoded_topic=settings.decoded_topic,
        error_topic=settings.error_topic,
        debug_topic=settings.debug_topic,
        output_compression=settings.output_compression,
        error_compression=settings.error_compression,
        input_name=settings.input_name,
        job_name=settings.job_name,
    )


def dedup_store(settings: DecoderSettings) -> DedupStore:
    if settings.dedup_backend == "firestore":
        from google.cloud import firestore

        from ..adapters.firestore_dedup import FirestoreDedupStore

        client = firestore.Client(project=settings.project, database=settings.dedup_database)
        return FirestoreDedupStore(
            client,
            collection=settings.dedup_collection,
            window_seconds=settings.dedup_window_seconds,
            on_failure=settings.dedup_on_failure,
            timeout_seconds=settings.dedup_timeout_seconds,
        )
    if settings.dedup_backend == "memory":
        return InMemoryDedupStore(window_seconds=settings.dedup_window_seconds)
    return NoDedup()


def build(settings: DecoderSettings) -> DecoderFunction:
    """Everything an instance reuses across requests: clients, schemas, GeoIP readers."""
    configure_logging(settings.log_level)
    provider = ContextProvider(
        settings.resources, recheck_seconds=settings.resource_recheck_seconds
    )
    sink = pubsub_sink(settings)
    dedup = dedup_store(settings)
    service = DecoderService(
        provider.current,
        sink,
        dedup,
        counters=OutcomeCounters(interval=settings.counters_interval_seconds),
        include_stack_trace=settings.include_stack_trace,
    )
    return DecoderFunction(service, {"dedup": dedup, "sink": sink, "resources": provider})


_instance: DecoderFunction | None = None
_instance_lock = threading.Lock()


def instance(environ: Mapping[str, str]) -> DecoderFunction:
    """The process-wide function, built on first use (cold start) and reused afterwards."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = build(DecoderSettings.from_environ(environ))
                # Clients, schemas and databases live as long as the instance: keep them out
                # of the collector's generations so per-request collections stay cheap.
                gc.collect()
                gc.freeze()
    return _instance
