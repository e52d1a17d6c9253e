"""The objects a request names: a registry source narrowed by a submission window, or every
object under a ``gs://bucket/prefix``.

A window selects partitions through the source's dimensions the way ``Dataset.where`` does:
the walk keeps only the ``submission_date`` folders the window touches (it never lists other
days), then keeps the objects whose ``submission_hour`` level (when the source has one) falls
inside the window. Values are compared as the writers sanitised them (``2026_11_20``, ``03``);
``UNKNOWN`` and ``OTHER`` levels are outside every window.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator

from ..adapters.storage.locations import parse_gcs_folder
from ..adapters.storage.objects import Bucket, ObjectInfo
from ..core.partitions import sanitize
from ..registry import Dataset, Registry
from .request import BackfillRequest, RequestError, Window

DATE, HOUR = "submission_date", "submission_hour"


def _day(moment: datetime.datetime) -> str:
    return sanitize(moment.strftime("%Y-%m-%d"))


def _in_window(window: Window, day: str, hour: str | None) -> bool:
    try:
        date = datetime.datetime.strptime(day, "%Y_%m_%d").replace(tzinfo=datetime.UTC)
    except ValueError:
        return False  # UNKNOWN, OTHER, or not a date at all
    if hour is None:  # no hour dimension: a day is in when any of its hours is
        return window.start < date + datetime.timedelta(days=1) and date < window.end
    if not (hour.isdigit() and len(hour) == 2 and int(hour) < 24):
        return False
    return window.start <= date + datetime.timedelta(hours=int(hour)) < window.end


def source_location(registry: Registry, name: str) -> tuple[str, str]:
    """The bucket and prefix of a registry source (``RequestError`` if unknown)."""
    from ..registry import RegistryError

    try:
        entry = registry.source(name)
    except (RegistryError, ValueError) as exc:
        raise RequestError(400, str(exc).splitlines()[0][:200]) from None
    return entry.bucket, entry.prefix


def registry_objects(
    registry: Registry, request: BackfillRequest, bucket: Bucket
) -> Iterator[ObjectInfo]:
    dataset = Dataset.from_source(request.source, registry=registry)
    names = dataset.dimension_names
    window = request.window
    if window is not None:
        if DATE not in names:
            raise RequestError(400, f"source {request.source!r} has no {DATE} dimension")
        first, last = _day(window.start), _day(window.end - datetime.timedelta(hours=1))
        dataset = dataset.where(**{DATE: lambda day: first <= day <= last})
    depth = len(names)
    for partition in dataset.partitions():
        below = depth - len(partition.values)
        for item in bucket.list(partition.prefix):
            if not isinstance(item, ObjectInfo):
                continue
            levels = item.name[len(partition.prefix) :].split("/")
            if len(levels) != below + 1:
                continue  # not at the layout's depth: not one of the source's objects
            if window is not None:
                values = dict(zip(names, (*partition.values, *levels[:-1]), strict=True))
                if not _in_window(window, values[DATE], values.get(HOUR)):
                    continue
            yield item


def location_objects(location: str, bucket_for: Callable[[str], Bucket]) -> Iterator[ObjectInfo]:
    folder = parse_gcs_folder(location)
    prefix = f"{folder.name}/" if folder.name else ""
    for item in bucket_for(folder.bucket).list(prefix):
        if isinstance(item, ObjectInfo):
            yield item
