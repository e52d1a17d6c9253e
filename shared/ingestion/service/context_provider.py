"""The decoder function's ``Context``, loaded from local paths or ``gs://`` objects at cold start
and swapped for a new one when a resource changes, so a schema or GeoIP update needs no redeploy.

Cold start fetches every configured resource (schemas, City and ISP databases, city filter,
scrubber rules) into a local cache directory and builds the context with ``build_context``; any
problem there is a ``ConfigurationError`` and the instance does not start. Afterwards
``current()`` re-checks the resources' generations (one cheap metadata call each) at most every
``recheck_seconds``. When one changed, only the changed ones are fetched and a whole new context
is built and swapped in with one assignment.

This deliberately departs from the reference (decoder-behaviour §4: resources are loaded once per
worker, "there is no hot reload", a schema update means a redeploy): function instances live
for hours, and a redeploy only to pick up a schema or a weekly GeoIP release is the toil this
removes. Like the reference, GeoIP databases are used from a local copy.

Why it is done this way:

- Inside a request, not in a background thread: Cloud Functions throttles the CPU between
  requests, so a background thread may never run. The request that finds the interval elapsed
  does the check (and the reload); a lock makes every other request skip the check and keep
  using the current context meanwhile, so there are never two reloads at once.
- Nothing the old context uses is closed. Messages in flight on other threads may still be
  looking up IPs in its GeoIP readers, and a closed reader fails every lookup. The old readers
  are released by the garbage collector once the last message holding the old context is done
  (they sit in a reference cycle through their lookup cache, so the cyclic collector frees
  them). Their cached files are deleted at once: on Linux a file that is still memory-mapped
  stays readable until it is unmapped, so this is safe for those in-flight lookups.
- A failed re-check or reload (object missing, unreachable, a corrupt new database) never fails
  a message: the old context keeps serving, a warning is logged and ``failures`` counts it. A new
  generation that failed to load is remembered and not downloaded again until it changes.
- The cache directory defaults to ``<tempdir>/ingestion-resources``. In Cloud Functions ``/tmp``
  is an in-memory file system: every cached file counts against the instance's memory, and
  during a reload the old and new copy of a changed database both do, until the old context is
  collected. Size the function's memory for two copies of the largest database.
- Local paths are used in place and re-checked too (their generation is the file's mtime, size
  and inode), which lets a local run pick up an edited schema tree. Replace a local database
  with a rename rather than rewriting it in place, as the old context may still have it open.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..adapters.storage.fetch import ObjectStore, ObjectStoreError, ObjectStores
from ..adapters.storage.locations import LocationError, check_location
from ..context import ConfigurationError, Context, ContextConfig, build_context

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "ingestion-resources"


@dataclasses.dataclass(frozen=True)
class _Resource:
    field: str  # the ContextConfig field it fills
    location: str


@dataclasses.dataclass(frozen=True)
class _Fetched:
    path: Path
    generation: str
    cached: bool  # a copy in the cache directory (ours to delete), not the location itself


@dataclasses.dataclass(frozen=True)
class _Loaded:
    context: Context
    fetched: Mapping[str, _Fetched]  # by location


class ContextProvider:
    """The current ``Context``, re-checked against its sources every ``recheck_seconds``.

    ``generations`` maps each configured location to the generation the current context was
    built from; ``reloads`` counts contexts swapped in after cold start, ``checks`` the
    re-checks made, ``failures`` the re-checks or reloads that failed (``last_failure`` says
    why). ``clock`` is injectable for tests (seconds, monotonic).
    """

    def __init__(
        self,
        config: ContextConfig,
        *,
        recheck_seconds: float,
        stores: ObjectStore | None = None,
        cache_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._resources = tuple(_Resource(*item) for item in config.locations().items())
        for resource in self._resources:
            try:
                check_location(resource.location)
            except LocationError as exc:
                raise ConfigurationError(f"{resource.field}: {exc}") from exc
        self._stores: ObjectStore = stores if stores is not None else ObjectStores()
        self._cache_dir = cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR
        self._clock = clock
        self._interval = recheck_seconds
        self._lock = threading.Lock()
        self.reloads = 0
        self.checks = 0
        self.failures = 0
        self.last_failure: str | None = None
        # Generations whose load failed: not fetched again until the source changes once more.
        self._rejected: dict[str, str] | None = None
        try:
            self._loaded = self._load(previous=None, observed={})
        except (ObjectStoreError, LocationError) as exc:
            raise ConfigurationError(str(exc)) from exc
        self._checked_at = clock()

    # --- what requests call ------------------------------------------------------------------
    def current(self) -> Context:
        """The context to decode the next message with; never raises after cold start."""
        if self._clock() - self._checked_at >= self._interval and self._lock.acquire(
            blocking=False
        ):
            try:
                # Another request may have finished a check while this one waited for the lock.
                if self._clock() - self._checked_at >= self._interval:
                    self._recheck()
            finally:
                self._checked_at = max(self._checked_at, self._clock())
                self._lock.release()
        return self._loaded.context

    def recheck_due(self) -> bool:
        """Whether the next ``current()`` will check the sources (and may block on them)."""
        return self._clock() - self._checked_at >= self._interval

    @property
    def generations(self) -> dict[str, str]:
        return {location: item.generation for location, item in self._loaded.fetched.items()}

    def counter_values(self) -> dict[str, int]:
        return {"reloads": self.reloads, "checks": self.checks, "failures": self.failures}

    def close(self) -> None:
        """Close the current context's GeoIP readers; only when no message is in flight."""
        context = self._loaded.context
        for database in (context.geo_city, context.geo_isp):
            if database is not None:
                database.close()

    # --- internals -----------------------------------------------------------------------------
    def _recheck(self) -> None:
        self.checks += 1
        try:
            observed = {r.location: self._stores.generation(r.location) for r in self._resources}
        except Exception as exc:  # whatever went wrong, messages keep the current context
            self._fail("re-check", exc)
            return
        current = self.generations
        if observed == current or observed == self._rejected:
            return
        changed = _describe({k: v for k, v in observed.items() if current.get(k) != v})
        try:
            loaded = self._load(previous=self._loaded, observed=observed)
        except Exception as exc:
            self._fail(f"reload of {changed}", exc)
            return
        previous, self._loaded = self._loaded, loaded
        self._rejected = None
        self.reloads += 1
        self._delete_cached(previous.fetched, keep=loaded.fetched)
        logger.info("resources reloaded: %s", changed)

    def _load(self, previous: _Loaded | None, observed: Mapping[str, str]) -> _Loaded:
        known = previous.fetched if previous else {}
        fetched: dict[str, _Fetched] = {}
        try:
            for resource in self._resources:
                fetched[resource.location] = self._fetch(resource, known, observed)
            local: dict[str, Any] = {
                r.field: str(fetched[r.location].path) for r in self._resources
            }
            context = build_context(dataclasses.replace(self._config, **local))
        except ConfigurationError:
            # This content cannot be used: wait for the next upload before trying again.
            self._rejected = {location: item.generation for location, item in fetched.items()}
            self._delete_cached(fetched, keep=known)
            raise
        except BaseException:
            self._delete_cached(fetched, keep=known)
            raise
        return _Loaded(context, fetched)

    def _fetch(
        self, resource: _Resource, known: Mapping[str, _Fetched], observed: Mapping[str, str]
    ) -> _Fetched:
        location = resource.location
        unchanged = known.get(location)
        if unchanged is not None and observed.get(location) == unchanged.generation:
            return unchanged  # the file already on disk
        try:
            path, generation = self._stores.fetch(location, self._cache_dir)
        except ObjectStoreError as exc:
            raise type(exc)(f"{resource.field}: {exc}") from exc
        return _Fetched(path, generation, cached=path != Path(location))

    def _delete_cached(self, fetched: Mapping[str, _Fetched], keep: Mapping[str, _Fetched]) -> None:
        """Delete the cached copies in ``fetched`` that ``keep`` does not use."""
        in_use = {item.path for item in keep.values()}
        for item in fetched.values():
            if item.cached and item.path not in in_use:
                # Still readable by whoever has it mapped (see the module docstring).
                with contextlib.suppress(OSError):
                    item.path.unlink()

    def _fail(self, action: str, error: Exception) -> None:
        self.failures += 1
        self.last_failure = f"{action} failed: {' '.join(str(error).split())}"
        logger.warning("%s; still serving %s", self.last_failure, _describe(self.generations))


def _describe(generations: Mapping[str, str]) -> str:
    return ", ".join(f"{location} @ {generation}" for location, generation in generations.items())
