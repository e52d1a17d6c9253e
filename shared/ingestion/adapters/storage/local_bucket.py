"""``Bucket`` over a local directory: the embedded and test stand-in for a Cloud Storage bucket,
with the same contract.

- An object is a plain file at ``root/name`` (so ``ls`` and ``zcat`` work on a local run).
- A write goes to a temporary file in ``root/.bucket/partial``, is flushed to disk, and is
  renamed over the object: a reader sees the old or the new bytes, never a mix, and a reader
  holding the old file keeps reading it whole.
- The generation is the file's ``mtime_ns``, set by the writer to a value strictly greater than
  the one it replaces; a file is never changed in place, so the generation read from an open
  file (``fstat``) is the generation of the bytes read from it, and a generation never comes
  back (no ABA for a compare-and-swap).
- Writes and deletes of one name are serialised across threads and processes by ``flock`` on
  one of ``_LOCK_STRIPES`` lock files in ``root/.bucket/locks``, and the generation is checked
  inside the lock: two conditional writers cannot both win.
- A name is checked by ``check_object_name`` and may not begin with ``.bucket/``, so no name
  reaches outside ``root`` or into the bookkeeping. A file system cannot hold both ``a`` and
  ``a/b``: that second write is an ``ObjectStoreError``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ...core.errors import one_line
from .fetch import ObjectNotFound, ObjectStoreError
from .objects import DELIMITER, ObjectInfo, PreconditionFailed, check_object_name, check_prefix

RESERVED = ".bucket"
_LOCK_STRIPES = 64


class LocalBucket:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._partial = self.root / RESERVED / "partial"
        self._locks = self.root / RESERVED / "locks"
        try:
            self._partial.mkdir(parents=True, exist_ok=True)
            self._locks.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ObjectStoreError(f"cannot use {self.root} as a bucket: {one_line(exc)}") from exc

    def __repr__(self) -> str:
        return f"LocalBucket({self.root})"

    def _path(self, name: str) -> Path:
        check_object_name(name)
        if name.split(DELIMITER, 1)[0] == RESERVED:
            raise ValueError(f"object name {name[:100]!r}: {RESERVED}/ is reserved")
        return self.root / name

    # -- reads ---------------------------------------------------------------------------------

    def list(self, prefix: str, delimiter: str | None = None) -> Iterator[ObjectInfo | str]:
        check_prefix(prefix)
        if delimiter not in (None, DELIMITER):
            raise ValueError(f"unsupported delimiter {delimiter!r} (None or '/')")
        folder, _, start = prefix.rpartition(DELIMITER)
        if folder.split(DELIMITER, 1)[0] == RESERVED:
            return
        base = f"{folder}{DELIMITER}" if folder else ""
        folders = []  # yielded after the objects, as Cloud Storage does
        for entry_name, is_dir in _sorted_entries(self.root / folder):
            if not entry_name.startswith(start) or (not base and entry_name == RESERVED):
                continue
            name = base + entry_name
            if not is_dir:
                yield from self._listed(name)
            elif delimiter is None:
                yield from self._walk(name)
            elif _holds_a_file(self.root / name):
                folders.append(name + DELIMITER)
        yield from folders

    def _walk(self, folder: str) -> Iterator[ObjectInfo]:
        """Every object under ``folder``, in name order (``a/b`` sorts as Cloud Storage does,
        by the full name: a folder's entries are ordered as ``entry/``)."""
        for entry_name, is_dir in _sorted_entries(self.root / folder):
            name = f"{folder}{DELIMITER}{entry_name}"
            if is_dir:
                yield from self._walk(name)
            else:
                yield from self._listed(name)

    def _listed(self, name: str) -> Iterator[ObjectInfo]:
        # Deleted since the folder was read, or put there by hand under a name no object can
        # have: not listed.
        with contextlib.suppress(ObjectNotFound, ValueError):
            yield self._info(name)

    def _info(self, name: str) -> ObjectInfo:
        status = self._stat(name, self._path(name))
        return ObjectInfo(name=name, size=status.st_size, generation=str(status.st_mtime_ns))

    def _stat(self, name: str, path: Path) -> os.stat_result:
        with _errors(name, "check"):
            status = path.stat()
        if not _is_file(status):
            raise ObjectNotFound(f"{self.root}/{name} not found")
        return status

    def stat(self, name: str) -> ObjectInfo:
        return self._info(name)

    def read(self, name: str, start: int = 0, end: int | None = None) -> bytes:
        path = self._path(name)
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid byte range [{start}, {end})")
        with _errors(name, "read"), open(path, "rb") as file:
            file.seek(start)
            return file.read(-1 if end is None else end - start)

    def read_current(self, name: str) -> tuple[bytes, str]:
        path = self._path(name)
        with _errors(name, "read"), open(path, "rb") as file:
            generation = os.fstat(file.fileno()).st_mtime_ns
            return file.read(), str(generation)

    # -- writes --------------------------------------------------------------------------------

    def write(self, name: str, data: bytes, if_generation: str | None) -> str:
        path = self._path(name)
        with self._locked(name):
            generation = self._next_generation(name, path, if_generation)
            with _errors(name, "write"):
                handle, partial = tempfile.mkstemp(dir=self._partial)
                try:
                    with os.fdopen(handle, "wb") as file:
                        file.write(data)
                        file.flush()
                        os.fsync(file.fileno())
                    os.utime(partial, ns=(generation, generation))
                    self._replace(Path(partial), path)
                finally:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(partial)
        return str(generation)

    def delete(self, name: str, if_generation: str | None = None) -> None:
        path = self._path(name)
        with self._locked(name):
            current = self._current_generation(name, path)
            if current is None:
                raise ObjectNotFound(f"{self.root}/{name} not found")
            if if_generation is not None and if_generation != str(current):
                raise PreconditionFailed(
                    f"{self.root}/{name}: generation {current}, not {if_generation}"
                )
            with _errors(name, "delete"):
                path.unlink()
            _remove_empty_parents(path.parent, self.root)

    def _next_generation(self, name: str, path: Path, expected: str | None) -> int:
        current = self._current_generation(name, path)
        if expected is not None and expected != str(current or 0):
            found = "absent" if current is None else f"generation {current}"
            raise PreconditionFailed(f"{self.root}/{name}: {found}, not {expected}")
        # Strictly increasing, so a generation is never issued twice for one name.
        return max(time.time_ns(), (current or 0) + 1)

    def _current_generation(self, name: str, path: Path) -> int | None:
        try:
            return self._stat(name, path).st_mtime_ns
        except ObjectNotFound:
            return None

    def _replace(self, partial: Path, path: Path) -> None:
        # A concurrent delete may remove an emptied parent between mkdir and rename: retry.
        for _ in range(5):
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(partial, path)
            except FileNotFoundError:
                continue
            _fsync_directory(path.parent)
            return
        raise ObjectStoreError(f"cannot write {self.root}/{path.name}: its folder keeps vanishing")

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        stripe = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4]) % _LOCK_STRIPES
        with _errors(name, "lock"), open(self._locks / f"{stripe:02d}.lock", "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield


def _sorted_entries(directory: Path) -> list[tuple[str, bool]]:
    try:
        with os.scandir(directory) as entries:
            found = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found, key=lambda item: item[0] + (DELIMITER if item[1] else ""))


def _holds_a_file(directory: Path) -> bool:
    return any(files for _, _, files in os.walk(directory))


def _is_file(status: os.stat_result) -> bool:
    import stat

    return stat.S_ISREG(status.st_mode)


def _remove_empty_parents(directory: Path, root: Path) -> None:
    """Remove the folders a delete emptied, as Cloud Storage has no empty folders."""
    while directory != root and directory.is_relative_to(root):
        try:
            directory.rmdir()
        except OSError:
            return  # not empty (or already gone)
        directory = directory.parent


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


_READS = ("check", "read")


@contextlib.contextmanager
def _errors(name: str, action: str) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError as exc:
        raise ObjectNotFound(f"{name} not found") from exc
    except (IsADirectoryError, NotADirectoryError) as exc:
        # A folder, or a path through an object: no object by that name. A write there
        # would need a file system to hold both ``a`` and ``a/b``.
        if action in _READS:
            raise ObjectNotFound(f"{name} not found") from exc
        raise ObjectStoreError(
            f"cannot {action} {name}: an object cannot also be a folder on a local bucket"
        ) from exc
    except OSError as exc:
        raise ObjectStoreError(f"cannot {action} {name}: {one_line(exc)[:300]}") from exc
