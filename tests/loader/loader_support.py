"""Helpers of the loader's unit tests: a loop runner that fails on anything the loop reports,
a writer entry, and a registry double serving it."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
from collections.abc import Coroutine
from typing import Any, TypeVar

from ingestion.adapters.storage.objects import Bucket, ObjectInfo
from ingestion.core.lines import message_from_line
from ingestion.core.message import Message
from ingestion.core.partitions import Dimension

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], timeout: float = 20) -> T:
    """``asyncio.run`` failing on whatever the loop reports to its exception handler, and after
    ``timeout`` seconds instead of hanging."""
    reported: list[dict[str, Any]] = []
    with asyncio.Runner() as runner:
        runner.get_loop().set_exception_handler(lambda loop, context: reported.append(context))
        result = runner.run(asyncio.wait_for(main, timeout=timeout))
    assert not reported, reported
    return result


@dataclasses.dataclass(frozen=True)
class Entry:
    """A writer entry as the registry gives it (the fields the loader reads)."""

    bucket: str
    prefix: str
    dimensions: tuple[Dimension, ...]
    version: str


class EntryRegistry:
    """Serves one writer entry per source; ``calls`` counts the reads of each kind."""

    def __init__(self, entries: dict[str, Entry]) -> None:
        self.entries = entries
        self.calls = {"writer": 0, "writer_version": 0}

    def writer(self, name: str) -> Entry:
        self.calls["writer"] += 1
        return self.entries[name]

    def writer_version(self, name: str) -> str:
        self.calls["writer_version"] += 1
        return self.entries[name].version


def stored_messages(bucket: Bucket, prefix: str = "") -> dict[str, list[Message]]:
    """Every object under ``prefix``, by name, decoded back into its messages."""
    found: dict[str, list[Message]] = {}
    for info in bucket.list(prefix):
        assert isinstance(info, ObjectInfo)
        lines = gzip.decompress(bucket.read(info.name)).splitlines()
        found[info.name] = [message_from_line(line) for line in lines]
    return found
