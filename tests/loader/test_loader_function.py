"""The loader function's request handling on a local bucket: what it stores of a pushed message
(the delivery's ``message_id`` only for the raw archive), and what it answers."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
from pathlib import Path

import pytest

from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.core.partitions import Dimension
from ingestion.loader.batches import FlushPolicy
from ingestion.loader.function import LoaderFunction
from ingestion.loader.loader import Loader
from ingestion.loader.targets import WriterTargets
from loader.loader_support import Entry, EntryRegistry, run, stored_messages

REGISTRY = EntryRegistry({"demo": Entry("data", "raw", (Dimension("document_type"),), "1")})


def push(message_id: str, **attributes: str) -> bytes:
    message = {
        "data": base64.b64encode(b'{"n": 1}').decode(),
        "attributes": attributes,
        "messageId": message_id,
    }
    return json.dumps({"message": message, "subscription": "projects/p/subscriptions/s"}).encode()


def load(root: Path, bodies: list[bytes], *, keep_message_id: bool) -> list[int]:
    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        executor = concurrent.futures.ThreadPoolExecutor(2)
        targets = WriterTargets(
            REGISTRY,
            "demo",
            recheck_seconds=3600,
            run_blocking=lambda call: loop.run_in_executor(executor, call),
        )
        loader = Loader(
            targets,
            lambda name: LocalBucket(root / name),
            executor,
            policy=FlushPolicy(max_age_seconds=0.01),
        )
        function = LoaderFunction(loader, keep_message_id=keep_message_id)
        answers = await asyncio.gather(*(function.handle(body, {}) for body in bodies))
        await loader.close()
        executor.shutdown()
        return [status for status, _ in answers]

    return run(main())


@pytest.mark.parametrize("keep", [False, True])
def test_the_message_id_is_stored_only_where_asked(tmp_path: Path, keep: bool) -> None:
    statuses = load(tmp_path, [push("m-1", document_type="main")], keep_message_id=keep)
    assert statuses == [204]
    (messages,) = stored_messages(LocalBucket(tmp_path / "data")).values()
    (message,) = messages
    assert message.attributes.get("message_id") == ("m-1" if keep else None)
    assert message.attributes["document_type"] == "main"


def test_a_body_that_is_no_pubsub_message_is_answered_400_and_nothing_is_stored(tmp_path: Path):
    statuses = load(tmp_path, [b"{}", b"not json", push("m-2")], keep_message_id=True)
    assert statuses == [400, 400, 204]
    stored = stored_messages(LocalBucket(tmp_path / "data"))
    assert [m.attributes["message_id"] for ms in stored.values() for m in ms] == ["m-2"]
