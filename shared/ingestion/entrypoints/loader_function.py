"""The loader's composition root: ``LoaderSettings`` in, one ``Loader`` (and the push function
around it) out.

Reads the settings once per instance, opens the registry at ``METADATA_LOCATION``, and builds the
loader with a small thread pool for the synchronous bucket writes. The data bucket a writer entry
names is opened by the registry when first written (``Registry.data_bucket``: a Cloud Storage
bucket by name, or a directory beside a local registry).

``build_loader`` is shared with the streaming-pull worker (``entrypoints.loader_pull``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
from collections.abc import Mapping

from ..loader.batches import FlushPolicy
from ..loader.function import LoaderFunction
from ..loader.loader import Loader
from ..loader.targets import WriterTargets
from ..observability import configure_logging
from ..registry import Registry
from ..settings import LoaderSettings


def build_loader(settings: LoaderSettings) -> Loader:
    """The loader of ``settings.loader_source``; call inside the event loop that will use it."""
    loop = asyncio.get_running_loop()
    executor = concurrent.futures.ThreadPoolExecutor(
        settings.loader_write_threads, thread_name_prefix="loader-write"
    )
    registry = Registry.open(settings.metadata_location)
    targets = WriterTargets(
        registry,
        settings.loader_source,
        recheck_seconds=settings.loader_recheck_seconds,
        run_blocking=lambda call: loop.run_in_executor(executor, call),
    )
    return Loader(
        targets,
        registry.data_bucket,  # by name on Cloud Storage; a directory beside a local registry
        executor,
        policy=FlushPolicy(
            max_messages=settings.loader_flush_messages,
            max_bytes=settings.loader_flush_bytes,
            max_age_seconds=settings.loader_flush_seconds,
        ),
        max_queued_bytes=settings.loader_max_queued_bytes,
    )


_instance: LoaderFunction | None = None
_instance_lock: asyncio.Lock | None = None


async def async_instance(environ: Mapping[str, str]) -> LoaderFunction:
    """The process-wide function, built on the first request (cold start) and reused after."""
    global _instance, _instance_lock
    if _instance is not None:
        return _instance
    if _instance_lock is None:
        _instance_lock = asyncio.Lock()
    async with _instance_lock:
        if _instance is None:
            settings = LoaderSettings.from_environ(environ)
            configure_logging(settings.log_level)
            loader = build_loader(settings)
            await loader.targets.current()  # a registry that cannot be read fails the cold start
            _instance = LoaderFunction(
                loader,
                counters_interval=settings.counters_interval_seconds,
                keep_message_id=settings.loader_keep_message_id,
            )
            gc.collect()
            gc.freeze()
    return _instance
