"""The streaming-pull worker's composition root (``ingestion load``): the same loader as the push
function (``loader_function.build_loader``), fed by a Pub/Sub streaming pull with flow control.

Flow control bounds what is leased at once to ``max_outstanding`` messages and to half the
loader's byte bound, so the loader never refuses a message for lack of room: batches fill up to
that many messages across partitions, and the oldest are written after ``LOADER_FLUSH_SECONDS``.
SIGINT and SIGTERM stop the worker cleanly: every batch is written and acknowledged first.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping

from ..loader.pull import run_pull
from ..observability import configure_logging
from ..settings import LoaderSettings
from .loader_function import build_loader


def subscription_path(subscription: str, project: str) -> str:
    """``projects/P/subscriptions/S`` as given, or a short name in ``project``."""
    if subscription.startswith("projects/"):
        return subscription
    return f"projects/{project}/subscriptions/{subscription}"


async def run_worker(
    environ: Mapping[str, str], subscription: str, *, max_outstanding: int = 5000
) -> dict[str, int]:
    """Load what ``subscription`` delivers until SIGINT/SIGTERM; the loader's counters."""
    from google.cloud import pubsub_v1

    settings = LoaderSettings.from_environ(environ)
    configure_logging(settings.log_level)
    loader = build_loader(settings)
    await loader.targets.current()  # a source the registry does not know fails here, at once
    subscriber = pubsub_v1.SubscriberClient()
    flow_control = pubsub_v1.types.FlowControl(
        max_messages=max_outstanding, max_bytes=max(1, settings.loader_max_queued_bytes // 2)
    )
    path = subscription_path(subscription, settings.project)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await run_pull(
            loader,
            lambda callback: subscriber.subscribe(path, callback, flow_control=flow_control),
            stop,
            keep_message_id=settings.loader_keep_message_id,
        )
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        subscriber.close()
