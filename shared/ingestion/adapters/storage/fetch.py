"""Fetching the decoder's resources: a version token and a local copy of a path or object.

The schema tarball and the GeoIP databases are replaced now and then (a schema deploy, MaxMind's
weekly release). ``ObjectStore`` is the narrow interface the resource provider needs for that:

- ``generation(location)``: a cheap version token. For GCS it is the object's generation (one
  metadata call); for a local path it is the file's ``mtime_ns``, size and inode (for a
  directory, a digest of those for every entry in the tree), so an in-place rewrite and an
  atomic replace both change it.
- ``fetch(location, destination_dir)``: a local path to load and the generation it holds. A local
  path is used where it is, without a copy; a GCS object is downloaded to a temporary file in
  ``destination_dir`` and renamed into place, so a reader never sees half a file, under a name
  that includes its generation, so a newer download never overwrites a file an older context
  still has open.

``ObjectStores`` picks the implementation by the ``gs://`` prefix and creates the GCS client
only when a ``gs://`` location is first used, so local runs need neither credentials nor
google-cloud-storage.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ...core.errors import one_line
from .locations import check_location, is_gcs_location, parse_gcs_location

if TYPE_CHECKING:
    from google.cloud import storage


class ObjectStoreError(RuntimeError):
    """A resource could not be checked or fetched; the message is a one-line reason."""


class ObjectNotFound(ObjectStoreError):
    """The file or object does not exist."""


class ObjectStore(Protocol):
    def generation(self, location: str) -> str:
        """A token that changes whenever the content at ``location`` changes."""
        ...

    def fetch(self, location: str, destination_dir: Path) -> tuple[Path, str]:
        """A local path holding the content, and the generation that content is."""
        ...


class LocalFiles:
    """Local files and directories, used in place."""

    def generation(self, location: str) -> str:
        path = Path(location)
        try:
            status = path.stat()
            if path.is_dir():
                return "tree-" + self._tree_digest(path)
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"{location} not found") from exc
        except OSError as exc:
            raise ObjectStoreError(
                f"cannot read {location}: {one_line(exc.strerror or exc)}"
            ) from exc
        # The inode catches an atomic replace by a file of the same size within one mtime tick.
        return f"{status.st_mtime_ns}-{status.st_size}-{status.st_ino}"

    def fetch(self, location: str, destination_dir: Path) -> tuple[Path, str]:
        return Path(location), self.generation(location)

    @staticmethod
    def _tree_digest(root: Path) -> str:
        digest = hashlib.sha256()

        def fail(error: OSError) -> None:
            raise error

        for directory, subdirectories, files in os.walk(root, onerror=fail):
            subdirectories.sort()
            for name in sorted(files):
                path = Path(directory, name)
                status = path.stat()
                relative = path.relative_to(root).as_posix()
                digest.update(f"{relative}\0{status.st_mtime_ns}\0{status.st_size}\n".encode())
        return digest.hexdigest()[:32]


def _cached_file_name(location: str, generation: str) -> str:
    # Readable (the object's base name) and unique per location and generation.
    location_hash = hashlib.sha256(location.encode()).hexdigest()[:12]
    base_name = re.sub(r"[^A-Za-z0-9._-]", "_", location.rsplit("/", 1)[-1])[:100]
    return f"{location_hash}-{generation}-{base_name}"


class _GenerationChanged(Exception):
    """The object was replaced between reading its generation and downloading it."""


class GcsObjects:
    """Objects in Cloud Storage, downloaded whole into a local directory.

    ``timeout`` bounds each metadata call, and its retries end after ``retry_deadline``
    seconds: a re-check runs inside a request, so it must fail fast and try again later.
    A download is pinned with ``if_generation_match`` and its generation is read back from the
    response, so the generation returned is the one of the bytes on disk even if the object is
    replaced meanwhile (the download is then retried, ``attempts`` times in all).
    """

    def __init__(
        self,
        client: storage.Client,
        *,
        timeout: float = 10.0,
        retry_deadline: float = 30.0,
        download_timeout: float = 120.0,
        attempts: int = 3,
    ) -> None:
        from google.cloud.storage.retry import DEFAULT_RETRY

        self._client = client
        self._timeout = timeout
        self._retry = DEFAULT_RETRY.with_timeout(retry_deadline)
        self._download_timeout = download_timeout
        self._attempts = attempts

    def _blob(self, location: str) -> storage.Blob:
        where = parse_gcs_location(location)
        return self._client.bucket(where.bucket).blob(where.name)

    def generation(self, location: str) -> str:
        blob = self._blob(location)
        with client_errors(location, "check"):
            blob.reload(timeout=self._timeout, retry=self._retry)
        if blob.generation is None:
            raise ObjectStoreError(f"{location}: the metadata has no generation")
        return str(blob.generation)

    def fetch(self, location: str, destination_dir: Path) -> tuple[Path, str]:
        for _ in range(self._attempts):
            expected = self.generation(location)
            target = destination_dir / _cached_file_name(location, expected)
            if target.is_file():  # complete: only a finished download is renamed to this name
                return target, expected
            try:
                self._download(location, int(expected), target)
            except _GenerationChanged:
                continue
            return target, expected
        raise ObjectStoreError(
            f"{location} changed {self._attempts} times while being downloaded; try again later"
        )

    def _download(self, location: str, generation: int, target: Path) -> None:
        blob = self._blob(location)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary_name = tempfile.mkstemp(
                dir=target.parent, prefix=".partial-", suffix=f"-{target.name}"
            )
        except OSError as exc:
            raise ObjectStoreError(
                f"cannot download {location} into {target.parent}: {one_line(exc)}"
            ) from exc
        temporary = Path(temporary_name)
        try:
            from google.api_core.exceptions import PreconditionFailed

            with os.fdopen(handle, "wb") as output, client_errors(location, "download"):
                try:
                    blob.download_to_file(
                        output, if_generation_match=generation, timeout=self._download_timeout
                    )
                except PreconditionFailed as exc:
                    raise _GenerationChanged from exc
            # The response names the generation it served; a server that ignored the
            # precondition would otherwise leave us recording one generation for another's bytes.
            received = blob.generation
            if received is not None and received != generation:
                raise _GenerationChanged
            os.replace(temporary, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()


@contextlib.contextmanager
def client_errors(location: str, action: str) -> Iterator[None]:
    """Turn the client library's failures into ``ObjectStoreError`` with a one-line reason."""
    from google.api_core.exceptions import GoogleAPIError, NotFound
    from google.auth.exceptions import GoogleAuthError
    from google.cloud.storage.exceptions import DataCorruption, InvalidResponse
    from requests.exceptions import RequestException

    try:
        yield
    except NotFound as exc:
        raise ObjectNotFound(f"{location} not found") from exc
    except (
        GoogleAPIError,
        GoogleAuthError,
        RequestException,
        DataCorruption,  # checksum mismatch of a download
        InvalidResponse,
        OSError,  # e.g. the local disk (in Cloud Functions: memory) is full
    ) as exc:
        raise ObjectStoreError(f"cannot {action} {location}: {one_line(exc)[:300]}") from exc


def _default_gcs() -> ObjectStore:
    from google.cloud import storage

    return GcsObjects(storage.Client())


class ObjectStores:
    """``gs://`` locations go to ``gcs``, anything else to ``local``.

    Without ``gcs``, a ``GcsObjects`` over a default ``storage.Client()`` is created on the first
    ``gs://`` location (so a run with local resources only needs no Google credentials).
    """

    def __init__(
        self,
        local: ObjectStore | None = None,
        gcs: ObjectStore | None = None,
        gcs_factory: Callable[[], ObjectStore] = _default_gcs,
    ) -> None:
        self.local: ObjectStore = local if local is not None else LocalFiles()
        self._gcs = gcs
        self._gcs_factory = gcs_factory
        self._lock = threading.Lock()

    def store_for(self, location: str) -> ObjectStore:
        check_location(location)
        if not is_gcs_location(location):
            return self.local
        if self._gcs is None:
            with self._lock:
                if self._gcs is None:
                    self._gcs = self._gcs_factory()
        return self._gcs

    def generation(self, location: str) -> str:
        return self.store_for(location).generation(location)

    def fetch(self, location: str, destination_dir: Path) -> tuple[Path, str]:
        return self.store_for(location).fetch(location, destination_dir)
