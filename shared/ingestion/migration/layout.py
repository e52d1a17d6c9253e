"""Locations a migration moves between, and the checks that a new one is free.

A location is a bucket and a prefix. Two prefixes of one bucket overlap when one is the other
or lies below it, level by level (``a/b`` and ``a/b/c`` overlap; ``a/b`` and ``a/bc`` do not).
A location is free when no source's consumer or writer entry and no other migration holds a
prefix overlapping it, and when no object lies under it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from ..adapters.storage.locations import LocationError, parse_gcs_folder
from ..adapters.storage.objects import Bucket, check_object_name
from ..registry import Registry, RegistryError
from .errors import Refused


@dataclasses.dataclass(frozen=True)
class Location:
    bucket: str
    prefix: str  # no leading or trailing '/'

    @classmethod
    def parse(cls, text: str) -> Location:
        try:
            folder = parse_gcs_folder(text)
            prefix = folder.name.strip("/")
            check_object_name(prefix)
        except (LocationError, ValueError) as exc:
            raise Refused(f"--to {text[:200]!r}: must be gs://BUCKET/PREFIX ({exc})") from None
        return cls(folder.bucket, prefix)

    @property
    def key(self) -> str:
        return f"{self.bucket}/{self.prefix}"

    def __str__(self) -> str:
        return f"gs://{self.key}"


def overlaps(one: str, other: str) -> bool:
    """Whether ``bucket/prefix`` keys overlap (one is the other, or lies below it)."""
    a, b = one.strip("/").split("/"), other.strip("/").split("/")
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def holders(registry: Registry, ignore: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """(key, holder, which entry) for every consumer and writer entry of the registry."""
    skipped = set(ignore)
    found = []
    for name, entry in registry.sources().items():
        if name in skipped:
            continue
        found.append((f"{entry.bucket}/{entry.prefix}", name, "consumer entry"))
        try:
            writer = registry.writer_entry(name)
        except RegistryError:
            continue
        found.append((f"{writer.bucket}/{writer.prefix}", name, "writer entry"))
    return found


def check_unheld(registry: Registry, location: Location, ignore: Iterable[str] = ()) -> None:
    for key, name, which in holders(registry, ignore):
        if overlaps(key, location.key):
            raise Refused(f"{location} overlaps gs://{key}, the {which} of source {name!r}")


def check_metadata_prefix_free(
    registry: Registry, metadata_prefix: str, ignore: Iterable[str] = ()
) -> None:
    skipped = set(ignore)
    for name, entry in registry.sources().items():
        if name not in skipped and overlaps(entry.metadata_prefix, metadata_prefix):
            raise Refused(
                f"metadata prefix {metadata_prefix!r} overlaps {entry.metadata_prefix!r}, "
                f"the schema of source {name!r}"
            )


def first_object(bucket: Bucket, prefix: str) -> str | None:
    """The name of an object under ``prefix/`` (None: the prefix is empty)."""
    for item in bucket.list(f"{prefix}/"):
        return item if isinstance(item, str) else item.name
    return None


def check_empty(registry: Registry, location: Location) -> None:
    found = first_object(registry.data_bucket(location.bucket), location.prefix)
    if found is not None:
        raise Refused(f"{location} is not empty (it holds gs://{location.bucket}/{found})")


def entry_location(entry: Any) -> Location:
    return Location(entry.bucket, entry.prefix.strip("/"))


def bring_up_to_date(registry: Registry, *paths: str) -> None:
    """Copy each registry document's latest history record over it (``Registry.repair``): a
    process that died between recording a change and copying it leaves the document one change
    behind, which readers and the checks of a resumed step would take for the truth."""
    registry.repair(*paths)
