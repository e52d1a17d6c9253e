"""Where the loader writes: its source's writer entry in the registry, re-checked by version.

The writer entry (bucket, prefix, dimensions, version) is read once at start-up. After that, at
most every ``recheck_seconds``, a cheap version check runs in the background (``writer_version``)
and only a changed version re-reads the entry: requests never wait for the registry, and a
source moved by the migration workflow (``Registry.put_writer``) is followed within a few
seconds, with no redeploy. A failed check keeps the entry in use (and is logged): the registry
being unreachable must not stop the loader.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from ..core.partitions import Dimension

log = logging.getLogger("ingestion.loader")


class Target(Protocol):
    """What the loader needs of a writer entry (``registry.WriterTarget``)."""

    @property
    def bucket(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def dimensions(self) -> Sequence[Dimension]: ...
    @property
    def version(self) -> str: ...


class WriterRegistry(Protocol):
    """The two registry reads the loader makes (``registry.Registry``)."""

    def writer(self, name: str) -> Any: ...
    def writer_version(self, name: str) -> str: ...


class WriterTargets:
    """The current writer entry of ``source``."""

    def __init__(
        self,
        registry: WriterRegistry,
        source: str,
        *,
        recheck_seconds: float,
        run_blocking: Callable[[Callable[[], Any]], Awaitable[Any]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.source = source
        self.recheck_seconds = recheck_seconds
        self._run_blocking = run_blocking
        self._clock = clock
        self._target: Target | None = None
        self._checked = 0.0
        self._first: asyncio.Lock | None = None
        self._refresh: asyncio.Task[None] | None = None
        self.changes = 0

    async def current(self) -> Target:
        """The entry in use; the first call reads it (and raises if it cannot)."""
        target = self._target
        if target is None:
            return await self._load_first()
        if self._refresh is None and self._clock() - self._checked >= self.recheck_seconds:
            self._refresh = asyncio.get_running_loop().create_task(self._recheck())
        return target

    async def _load_first(self) -> Target:
        if self._first is None:
            self._first = asyncio.Lock()
        async with self._first:
            if self._target is None:
                self._target = await self._run_blocking(lambda: self.registry.writer(self.source))
                self._checked = self._clock()
                log.info("loader writes %s", describe(self._target), extra={"source": self.source})
        return self._target

    async def _recheck(self) -> None:
        try:
            current = self._target
            version = await self._run_blocking(lambda: self.registry.writer_version(self.source))
            if current is not None and version != current.version:
                target = await self._run_blocking(lambda: self.registry.writer(self.source))
                self._target = target
                self.changes += 1
                log.warning(
                    "writer entry changed: loader now writes %s",
                    describe(target),
                    extra={"source": self.source, "version": target.version},
                )
        except Exception as exc:  # keep writing where we did; the next check may succeed
            log.warning(
                "writer entry re-check failed; keeping the current one",
                extra={"source": self.source, "error": str(exc)[:300]},
            )
        finally:
            self._checked = self._clock()
            self._refresh = None

    async def close(self) -> None:
        if self._refresh is not None:
            await asyncio.gather(self._refresh, return_exceptions=True)


def describe(target: Target) -> str:
    fields = "/".join(dimension.field_name for dimension in target.dimensions)
    return f"gs://{target.bucket}/{target.prefix.strip('/')}/{fields} (version {target.version})"
