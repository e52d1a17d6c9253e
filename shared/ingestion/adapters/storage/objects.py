"""Object I/O in a bucket, beside resource fetching: the home of listing, ranged reads and
conditional writes.

The registry (``sources.json`` and ``schema.json`` in a metadata bucket, written with
compare-and-swap), the loader (objects under partition keys) and the backfill (listing an
archive and reading it in byte ranges) all need the same few operations on one bucket. They are
declared here as one narrow port so that each of those features gets a local-directory
(``local_bucket.LocalBucket``) and a Cloud Storage (``gcs_bucket.GcsBucket``) implementation of
the same contract, tested against the same suite (``tests/integration/buckets``).

Object names are checked the same way by both, before any I/O (``check_object_name``): names
are often built from input, and a name that is fine for Cloud Storage (``a/../b``) must not
become a path that leaves a local directory.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from .fetch import ObjectNotFound, ObjectStoreError
from .locations import check_location, is_gcs_location, parse_gcs_folder

if TYPE_CHECKING:
    from google.cloud import storage

__all__ = [
    "Bucket",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStoreError",
    "PreconditionFailed",
    "check_object_name",
    "check_prefix",
    "open_bucket",
]

MAX_NAME_BYTES = 1024  # Cloud Storage's limit
DELIMITER = "/"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PreconditionFailed(RuntimeError):
    """A conditional write lost: the object's generation is not the one expected."""


@dataclasses.dataclass(frozen=True, slots=True)
class ObjectInfo:
    name: str  # the object name inside its bucket
    size: int  # bytes
    generation: str  # changes whenever the content does


class Bucket(Protocol):
    """The operations on one bucket (or one local directory standing in for it).

    Every method raises ``ValueError`` for a name ``check_object_name`` refuses,
    ``ObjectNotFound`` for a missing object and ``ObjectStoreError`` (one-line reason) for any
    other failure of the store.
    """

    def list(self, prefix: str, delimiter: str | None = None) -> Iterator[ObjectInfo | str]:
        """Objects under ``prefix``, in name order; with ``delimiter="/"`` (the only one
        supported), the objects directly under it and, as ``str`` ending in ``/``, the folder
        prefixes one level down instead of the objects below them."""
        ...

    def stat(self, name: str) -> ObjectInfo:
        """The object's size and generation (one metadata call)."""
        ...

    def read(self, name: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes ``[start, end)`` of an object (to its end when ``end`` is None; empty when
        ``start`` is at or past the end)."""
        ...

    def read_current(self, name: str) -> tuple[bytes, str]:
        """The whole object and the generation of exactly those bytes (for read-modify-CAS)."""
        ...

    def write(self, name: str, data: bytes, if_generation: str | None) -> str:
        """Write ``data`` only if the object's generation is ``if_generation`` (``"0"``: only
        if it does not exist; None: unconditionally); return the new generation, or raise
        ``PreconditionFailed``. A reader sees the old or the new bytes, never a mix."""
        ...

    def delete(self, name: str, if_generation: str | None = None) -> None:
        """Remove the object (only if its generation is ``if_generation``, when given)."""
        ...


def check_object_name(name: str) -> str:
    """``name`` when it is a safe object name: 1 to 1,024 UTF-8 bytes, no control character,
    no empty, ``.`` or ``..`` level (so no leading, trailing or doubled ``/``)."""
    _check_text(name, "object name")
    if not name or any(level in ("", ".", "..") for level in name.split(DELIMITER)):
        raise ValueError(
            f"object name {name[:100]!r} has an empty, '.' or '..' level, or begins or ends "
            "with '/'"
        )
    return name


def check_prefix(prefix: str) -> str:
    """``prefix`` when it is a safe listing prefix: empty, or levels as in an object name
    (a trailing ``/`` allowed)."""
    _check_text(prefix, "prefix")
    if prefix:
        check_object_name(prefix.removesuffix(DELIMITER))
    return prefix


def _check_text(text: str, what: str) -> None:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, not {type(text).__name__}")
    if _CONTROL.search(text):
        raise ValueError(f"{what} {text[:100]!r} contains a control character")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise ValueError(f"{what} {text[:100]!r}… is longer than {MAX_NAME_BYTES} bytes")


def open_bucket(location: str, client: storage.Client | None = None) -> tuple[Bucket, str]:
    """The bucket a location names and the path prefix inside it (``""`` or ``"a/b"``, no
    trailing slash): ``gs://bucket[/path]`` (over ``client``, by default a
    ``storage.Client()``) or a local directory (created when missing)."""
    if is_gcs_location(location):
        from .gcs_bucket import GcsBucket

        folder = parse_gcs_folder(location)
        if client is None:
            from google.cloud import storage

            client = storage.Client()
        return GcsBucket(client, folder.bucket), folder.name
    check_location(location)  # refuses an empty location and other schemes
    from pathlib import Path

    from .local_bucket import LocalBucket

    return LocalBucket(Path(location)), ""
