"""The decoder function's composition root: settings in, one ``DecoderFunction`` out.

Reads ``DecoderSettings`` from the environment once per instance (cold start, on the first
request, inside the event loop that serves every request of the instance), builds the concrete
adapters from plain values and injects them. Nothing below this module knows where its
configuration came from.

What the instance reuses across requests: one Pub/Sub and one Firestore async client, whose
RPCs are shared by the concurrent requests through micro-batchers (``service/batcher.py``), the
schemas and GeoIP readers (reloaded by generation, the re-check run off the loop), and a small
thread pool for decoding large payloads. The Firestore client is warmed in the background at
cold start, so that the first duplicate checks do not run into a cold channel's deadline; the
first request does not wait for it.

The synchronous builders (``pubsub_sink``, ``dedup_store``) make the same adapters for code that
runs without an event loop (tests of the adapters, the backfill's topic destination).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import gc
from collections.abc import Mapping
from typing import Any

from ..adapters.batching import BatcherFactory
from ..adapters.dedup import AsyncDedup, DedupStore, InMemoryDedupStore, NoDedup
from ..adapters.pubsub_sink import PubSubSink, tuned_publisher
from ..context import Context
from ..observability import OutcomeCounters, configure_logging
from ..service.async_decoder import AsyncDecoderService, AsyncDedupStore
from ..service.batcher import Batcher, BatchGroup
from ..service.context_provider import ContextProvider
from ..service.function import DecoderFunction
from ..settings import DecoderSettings

# Threads decoding large payloads off the loop: the GIL serialises them anyway; two keep the
# loop free while one very large payload decodes and the next waits.
DECODE_THREADS = 2
# The collector's thresholds once the instance is built (see ``async_instance``).
GC_THRESHOLDS = (20_000, 20, 100)


# Adapter option <- settings field, for the two adapters built here both ways.
_OUTPUT_OPTIONS = {
    name: name
    for name in (
        "decoded_topic",
        "error_topic",
        "debug_topic",
        "output_compression",
        "error_compression",
        "input_name",
        "job_name",
    )
}
_FIRESTORE_OPTIONS = {
    "collection": "dedup_collection",
    "window_seconds": "dedup_window_seconds",
    "on_failure": "dedup_on_failure",
    "timeout_seconds": "dedup_timeout_seconds",
}


def _options(settings: DecoderSettings, fields: Mapping[str, str]) -> dict[str, Any]:
    return {option: getattr(settings, field) for option, field in fields.items()}


def pubsub_sink(settings: DecoderSettings) -> PubSubSink:
    """The synchronous sink: one ``PublisherClient``, a batch per ``deliver``."""
    return PubSubSink(
        tuned_publisher(), project=settings.project, **_options(settings, _OUTPUT_OPTIONS)
    )


def dedup_store(settings: DecoderSettings) -> DedupStore:
    """The synchronous dedup store the settings ask for."""
    if settings.dedup_backend == "firestore":
        from google.cloud import firestore

        from ..adapters.firestore_dedup import FirestoreDedupStore

        client = firestore.Client(project=settings.project, database=settings.dedup_database)
        return FirestoreDedupStore(client, **_options(settings, _FIRESTORE_OPTIONS))
    if settings.dedup_backend == "memory":
        return InMemoryDedupStore(window_seconds=settings.dedup_window_seconds)
    return NoDedup()


def _async_sink(settings: DecoderSettings, make_batcher: BatcherFactory) -> Any:
    from google.pubsub_v1.services.publisher import PublisherAsyncClient

    from ..adapters.pubsub_async import AsyncPubSubSink, ChannelPublisher

    return AsyncPubSubSink(
        ChannelPublisher(PublisherAsyncClient()),
        make_batcher,
        project=settings.project,
        **_options(settings, _OUTPUT_OPTIONS),
    )


def _async_dedup(settings: DecoderSettings, make_batcher: BatcherFactory) -> AsyncDedupStore | None:
    if settings.dedup_backend == "firestore":
        from google.cloud import firestore

        from ..adapters.firestore_async import AsyncFirestoreDedupStore

        client = firestore.AsyncClient(project=settings.project, database=settings.dedup_database)
        options = _options(settings, _FIRESTORE_OPTIONS)
        return AsyncFirestoreDedupStore(client, make_batcher, **options)
    if settings.dedup_backend == "memory":
        return AsyncDedup(InMemoryDedupStore(window_seconds=settings.dedup_window_seconds))
    return None


async def build(settings: DecoderSettings) -> DecoderFunction:
    """Everything an instance reuses across requests; call inside the serving event loop."""
    configure_logging(settings.log_level, project=settings.project)
    loop = asyncio.get_running_loop()
    executor = concurrent.futures.ThreadPoolExecutor(DECODE_THREADS, thread_name_prefix="decode")
    # Cold start reads (and may download) every resource: off the loop, like every re-check.
    provider = await loop.run_in_executor(
        executor,
        functools.partial(
            ContextProvider, settings.resources, recheck_seconds=settings.resource_recheck_seconds
        ),
    )

    async def current_context() -> Context:
        if provider.recheck_due():
            return await loop.run_in_executor(executor, provider.current)
        return provider.current()

    # One group for every batcher of the instance: a partial batch may wait for the requests
    # that another kind of RPC in flight is about to release (service/batcher.py).
    group = BatchGroup(settings.batch_hold_ms / 1000)
    make_batcher = functools.partial(Batcher, group=group)
    sink = _async_sink(settings, make_batcher)
    dedup = _async_dedup(settings, make_batcher)
    service = AsyncDecoderService(
        current_context,
        sink,
        dedup,
        counters=OutcomeCounters(interval=settings.counters_interval_seconds),
        include_stack_trace=settings.include_stack_trace,
        executor=executor,
    )
    sources: dict[str, Any] = {"sink": sink, "resources": provider}
    if dedup is not None:
        sources["dedup"] = dedup
        warm = getattr(dedup, "warm", None)
        if warm is not None:
            task = loop.create_task(warm())
            _background.add(task)
            task.add_done_callback(_background.discard)
    return DecoderFunction(service, sources)


_instance: DecoderFunction | None = None
_instance_lock: asyncio.Lock | None = None
# Tasks the instance started and must keep a reference to until they end.
_background: set[asyncio.Task[Any]] = set()


async def async_instance(environ: Mapping[str, str]) -> DecoderFunction:
    """The process-wide function, built on the first request (cold start) and reused after."""
    global _instance, _instance_lock
    if _instance is not None:
        return _instance
    if _instance_lock is None:
        _instance_lock = asyncio.Lock()
    async with _instance_lock:
        if _instance is None:
            _instance = await build(DecoderSettings.from_environ(environ))
            # Clients, schemas and databases live as long as the instance: keep them out of
            # the collector's generations so per-request collections stay cheap.
            gc.collect()
            gc.freeze()
            # A request allocates a few thousand objects, nearly all freed by reference counting:
            # with the default first generation (700) a collection ran every request or so; these
            # thresholds took about 7 % off the CPU per message at 32 concurrent requests.
            gc.set_threshold(*GC_THRESHOLDS)
    return _instance
