"""Where things live: a local path or a ``gs://bucket/object`` name, checked before any I/O.

Bucket names follow Cloud Storage's rules; object names may not hold a line break or exceed
1,024 bytes. ``check_location`` is what configuration goes through: a local path, or a
``gs://`` location, and nothing with another scheme.
"""

from __future__ import annotations

import dataclasses
import re

GCS_SCHEME = "gs://"

# Bucket names: lowercase letters, digits, "-", "_" and "." (dotted names up to 222), beginning
# and ending with a letter or digit.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
_MAX_OBJECT_NAME_BYTES = 1024
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class LocationError(ValueError):
    """A location string that names neither a local path nor a ``gs://bucket/object``."""


@dataclasses.dataclass(frozen=True)
class GcsLocation:
    bucket: str
    name: str

    def __str__(self) -> str:
        return f"{GCS_SCHEME}{self.bucket}/{self.name}"


def is_gcs_location(location: str) -> bool:
    return location.startswith(GCS_SCHEME)


def parse_gcs_location(location: str) -> GcsLocation:
    """``gs://bucket/path/to/object`` -> ``GcsLocation("bucket", "path/to/object")``."""
    if not is_gcs_location(location):
        raise LocationError(f"{location!r} is not a gs://bucket/object location")
    bucket, slash, name = location[len(GCS_SCHEME) :].partition("/")
    if not bucket:
        raise LocationError(f"{location!r} has no bucket name (expected gs://bucket/object)")
    if not _BUCKET_NAME.fullmatch(bucket):
        raise LocationError(
            f"{location!r}: {bucket!r} is not a valid bucket name (3-222 characters: lowercase "
            "letters, digits, '-', '_' and '.', beginning and ending with a letter or digit)"
        )
    if not slash or not name:
        raise LocationError(f"{location!r} names a bucket, not an object (gs://bucket/object)")
    if name.endswith("/"):
        raise LocationError(f"{location!r} names a folder; it must name one object")
    if "\r" in name or "\n" in name:
        raise LocationError(f"{location!r}: an object name cannot contain a line break")
    if len(name.encode("utf-8")) > _MAX_OBJECT_NAME_BYTES:
        raise LocationError(f"{location!r}: the object name is longer than 1024 bytes")
    return GcsLocation(bucket, name)


def parse_gcs_folder(location: str) -> GcsLocation:
    """``gs://bucket`` or ``gs://bucket/a/b/`` -> ``GcsLocation("bucket", "a/b")``: a bucket
    and a path prefix inside it (``""`` for the whole bucket), for stores that hold many
    objects."""
    if not is_gcs_location(location):
        raise LocationError(f"{location!r} is not a gs://bucket[/path] location")
    bucket, _, path = location[len(GCS_SCHEME) :].partition("/")
    path = path.strip("/")
    if path:
        return GcsLocation(parse_gcs_location(f"{GCS_SCHEME}{bucket}/{path}").bucket, path)
    parse_gcs_location(f"{GCS_SCHEME}{bucket}/-")  # the bucket name's checks
    return GcsLocation(bucket, "")


def check_location(location: str) -> str:
    """The location itself when it is a usable local path or ``gs://`` location."""
    if not location:
        raise LocationError("empty location")
    if is_gcs_location(location):
        parse_gcs_location(location)
        return location
    scheme = _SCHEME.match(location)
    if scheme:
        raise LocationError(
            f"{location!r}: unsupported scheme {scheme.group(1)!r}; "
            "use a local path or gs://bucket/object"
        )
    return location
