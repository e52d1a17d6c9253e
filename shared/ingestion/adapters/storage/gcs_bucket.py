"""``Bucket`` over one Cloud Storage bucket (google-cloud-storage).

Conditional writes and deletes use ``if_generation_match`` (``0``: only if absent), which the
client retries safely; a lost race answers 412, raised as ``PreconditionFailed``. Every call
has a timeout and a bounded retry deadline, so a caller inside a request fails fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .fetch import ObjectNotFound, ObjectStoreError, client_errors
from .objects import DELIMITER, ObjectInfo, PreconditionFailed, check_object_name, check_prefix

if TYPE_CHECKING:
    from google.cloud import storage


class GcsBucket:
    def __init__(
        self,
        client: storage.Client,
        bucket_name: str,
        *,
        timeout: float = 30.0,
        retry_deadline: float = 60.0,
    ) -> None:
        from google.cloud.storage.retry import DEFAULT_RETRY

        self.name = bucket_name
        self.client = client
        self._bucket = client.bucket(bucket_name)
        self._timeout = timeout
        self._retry = DEFAULT_RETRY.with_timeout(retry_deadline)

    def __repr__(self) -> str:
        return f"GcsBucket(gs://{self.name})"

    def _where(self, name: str) -> str:
        return f"gs://{self.name}/{name}"

    def list(self, prefix: str, delimiter: str | None = None) -> Iterator[ObjectInfo | str]:
        check_prefix(prefix)
        if delimiter not in (None, DELIMITER):
            raise ValueError(f"unsupported delimiter {delimiter!r} (None or '/')")
        pages = self._bucket.list_blobs(
            prefix=prefix or None, delimiter=delimiter, timeout=self._timeout, retry=self._retry
        )
        with client_errors(self._where(prefix), "list"):
            for blob in pages:
                yield _info(blob)
            # The folder prefixes are known once every page was read.
            yield from sorted(pages.prefixes)

    def stat(self, name: str) -> ObjectInfo:
        check_object_name(name)
        with client_errors(self._where(name), "check"):
            blob = self._bucket.get_blob(name, timeout=self._timeout, retry=self._retry)
        if blob is None:
            raise ObjectNotFound(f"{self._where(name)} not found")
        return _info(blob)

    def read(self, name: str, start: int = 0, end: int | None = None) -> bytes:
        check_object_name(name)
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid byte range [{start}, {end})")
        if end == start:
            return b""
        from google.api_core.exceptions import RequestRangeNotSatisfiable

        blob = self._bucket.blob(name)
        try:
            with client_errors(self._where(name), "read"):
                return bytes(
                    blob.download_as_bytes(
                        start=start,
                        end=None if end is None else end - 1,  # the client's end is inclusive
                        timeout=self._timeout,
                        retry=self._retry,
                    )
                )
        except ObjectStoreError as exc:
            if isinstance(exc.__cause__, RequestRangeNotSatisfiable):
                return b""  # start at or past the end
            raise

    def read_current(self, name: str) -> tuple[bytes, str]:
        check_object_name(name)
        blob = self._bucket.blob(name)
        with client_errors(self._where(name), "read"):
            data = blob.download_as_bytes(timeout=self._timeout, retry=self._retry)
        # The response names the generation it served.
        if blob.generation is None:
            raise ObjectStoreError(f"{self._where(name)}: the response has no generation")
        return bytes(data), str(blob.generation)

    def write(self, name: str, data: bytes, if_generation: str | None) -> str:
        check_object_name(name)
        blob = self._bucket.blob(name)
        with _preconditions(self._where(name), "write"):
            blob.upload_from_string(
                data,
                content_type="application/octet-stream",
                if_generation_match=None if if_generation is None else int(if_generation),
                timeout=self._timeout,
                retry=self._retry,
            )
        return str(blob.generation)

    def delete(self, name: str, if_generation: str | None = None) -> None:
        check_object_name(name)
        with _preconditions(self._where(name), "delete"):
            self._bucket.blob(name).delete(
                if_generation_match=None if if_generation is None else int(if_generation),
                timeout=self._timeout,
                retry=self._retry,
            )


def _info(blob: storage.Blob) -> ObjectInfo:
    return ObjectInfo(name=blob.name, size=int(blob.size or 0), generation=str(blob.generation))


@contextlib.contextmanager
def _preconditions(where: str, action: str) -> Iterator[None]:
    """412 becomes ``PreconditionFailed``; everything else as ``client_errors`` says."""
    from google.api_core import exceptions

    try:
        with client_errors(where, action):
            yield
    except ObjectStoreError as exc:
        if isinstance(exc.__cause__, exceptions.PreconditionFailed):
            raise PreconditionFailed(f"{where}: the generation is not the one expected") from exc
        raise
