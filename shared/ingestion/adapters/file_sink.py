"""Decoded and error messages written under a directory, one ``json`` line each.

The directories come from ``${attribute:-default}`` templates whose values go through the one
partition-level sanitiser (``ingestion.core.partitions.sanitize``), so no attribute value can add
or climb a directory. As a second line of defence a template with a literal ``..`` level, an
absolute path or a placeholder without a default is refused, and every new directory is resolved
and checked to lie inside the output directory.

Writing costs little more than the bytes themselves: a message's directory is looked up by its
template values (rendered, sanitised and checked once per distinct tuple of values, in a bounded
cache), its line is kept as pieces (``core.lines.line_pieces``, the payload base64-encoded once)
until its file has a chunk or the sink is flushed, and a chunk goes out in one write; with
``compress`` a chunk is one complete gzip member, deflated with ISA-L (``isal``) at a low level
when it is installed (about five times faster than zlib's fastest level on the message mix,
files about the size of zlib level 1's), zlib level 1 otherwise.
"""

from __future__ import annotations

import io
import os
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from types import ModuleType

from ..core.lines import line_pieces
from ..core.message import Message
from ..core.partitions import sanitize
from ..core.templates import (
    MissingPlaceholder,
    placeholders,
    placeholders_without_default,
    render,
    values_for,
)

DEFAULT_DECODED_TEMPLATE = (
    "${document_namespace:-unknown}/${document_type:-unknown}_v${document_version:-0}/"
    "${submission_date:-unknown}/"
)
DEFAULT_ERROR_TEMPLATE = "${error_type:-unknown}/${submission_date:-unknown}/"
# Open output files at most: the least recently written is closed beyond that (and reopened
# for appending when needed again), so any number of partitions fits the default file limit.
MAX_OPEN_FILES = 128
# Bytes in one directory name at most (the usual file-system limit); a longer level is cut.
MAX_LEVEL_BYTES = 255
# Distinct tuples of template values whose file is remembered (values come from messages, and
# many may sanitise to one directory): beyond that the cache starts afresh.
MAX_CACHED_DIRECTORIES = 4096
# Line bytes kept for one file before they are written in one piece, and for all files at most
# (beyond that every file's lines are written); ``flush`` writes them all.
WRITE_CHUNK = 1 << 20
MAX_PENDING_BYTES = 16 << 20
# The gzip level of ``compress``, for either library: ISA-L's second fastest (0 compresses far
# less), zlib's fastest. On the message mix ISA-L's files are about a quarter larger than zlib
# level 9's (``gzip.GzipFile``'s default) for a twentieth of its time.
GZIP_LEVEL = 1
_GZIP_WBITS = 16 + zlib.MAX_WBITS


def _deflate_library() -> ModuleType:
    """ISA-L's zlib interface when ``isal`` is installed (as the inflater, ``steps.decompress``),
    else zlib's."""
    try:
        from isal import isal_zlib
    except ImportError:  # a platform without an isal wheel
        return zlib
    return isal_zlib


DEFLATE_LIBRARY = _deflate_library()


def gzip_member(pieces: Sequence[bytes], library: ModuleType | None = None) -> bytes:
    """``pieces`` joined, as one complete gzip member (``library``: ``DEFLATE_LIBRARY``)."""
    deflater = (library or DEFLATE_LIBRARY).compressobj(GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
    out = [deflater.compress(piece) for piece in pieces]
    out.append(deflater.flush())
    return b"".join(out)


class TemplateError(ValueError):
    """An output template that cannot be used; the message is the one-line reason."""


class OutsideOutput(TemplateError):
    """A template or a message that would write outside the output directory."""


def check_template(kind: str, template: str) -> None:
    """Refuse a template whose literal text or defaults leave the directory: an absolute path,
    a ``..`` level or a NUL. (A value cannot: sanitised, it never holds ``/`` nor is only dots.)
    Refuse a placeholder without a default too, as the reference does at start-up: a message
    without the attribute would have no place to go.
    """
    required = placeholders_without_default(template)
    if required:
        raise TemplateError(
            f"{kind} template {template!r}: give every placeholder a default "
            f"(${{{required[0]}:-unknown}}), so a message without it still has a place"
        )
    values: dict[str, str] = {}
    while True:  # defaults where given, a plain value where not
        try:
            rendered = render(template, values)
            break
        except MissingPlaceholder as missing:
            values[missing.args[0]] = "x"
    if "\0" in rendered or rendered.startswith("/") or ".." in PurePosixPath(rendered).parts:
        raise OutsideOutput(
            f"{kind} template {template!r} would write outside the output directory "
            "(an absolute path, a '..' level or a NUL)"
        )


def _level(name: str) -> str:
    return os.fsdecode(os.fsencode(name)[:MAX_LEVEL_BYTES])


class _Output:
    """One output file: where it is shown and written, and its lines not yet written."""

    __slots__ = ("lines", "path", "shown", "size")

    def __init__(self, shown: Path, path: Path) -> None:
        self.shown = shown
        self.path = path
        self.lines: list[bytes] = []
        self.size = 0


class FileSink:
    """Writes decoded and error messages under ``DIR/decoded/`` and ``DIR/error/``.

    Directories come from ``${attribute:-default}`` templates (checked by ``check_template``);
    each directory gets one ``part-00000.ndjson`` (``.ndjson.gz`` with ``compress``) for the life
    of the sink. A file's lines are written in chunks of about ``WRITE_CHUNK`` bytes, and
    ``flush`` (or ``close``, also on the way out of a failed run) writes every line delivered, so
    a run that stops midway keeps what it delivered and flushed. At most ``max_open_files``
    files are open at once: the least recently written is closed and, needed again, reopened for
    appending. With ``compress`` every chunk is a complete gzip member (every gzip reader reads
    the members of a file as one stream), so a file is whole after every flush.
    """

    def __init__(
        self,
        root: Path,
        *,
        compress: bool = False,
        decoded_template: str = DEFAULT_DECODED_TEMPLATE,
        error_template: str = DEFAULT_ERROR_TEMPLATE,
        max_open_files: int = MAX_OPEN_FILES,
    ) -> None:
        self.root = root
        self.compress = compress
        self.templates = {"decoded": decoded_template, "error": error_template}
        for kind, template in self.templates.items():
            check_template(kind, template)
        # Every file must resolve inside its kind's directory, as resolved now.
        self._bases = {kind: (root / kind).resolve() for kind in self.templates}
        # Only the values a template reads (derived ones included) are sanitised.
        self._template_inputs = {
            kind: tuple(dict.fromkeys(placeholders(template)))
            for kind, template in self.templates.items()
        }
        self._file_name = "part-00000.ndjson" + (".gz" if compress else "")
        self.max_open_files = max(1, max_open_files)
        # (kind, template values) -> its file, bounded; (kind, rendered directory) -> its file,
        # one per directory met; resolved path -> its file.
        self._directories: dict[tuple[object, ...], _Output] = {}
        self._paths: dict[tuple[str, str], _Output] = {}
        self._outputs: dict[Path, _Output] = {}
        # Files with lines not yet written, in the order they got their first one.
        self._pending: dict[Path, _Output] = {}
        self._pending_bytes = 0
        # Least recently written first; unbuffered, as every write is a whole chunk.
        self._handles: OrderedDict[Path, io.FileIO] = OrderedDict()
        self.files_written: set[Path] = set()

    def _output(self, kind: str, attributes: Mapping[str, str]) -> _Output:
        # Derive first, then sanitise: a derived value (the hour cut out of a crafted
        # timestamp) is as untrusted as any attribute.
        values = values_for(self._template_inputs[kind], attributes)
        key = (kind, *values.items())
        output = self._directories.get(key)
        if output is None:
            safe = {name: sanitize(value) for name, value in values.items()}
            relative = render(self.templates[kind], safe)
            output = self._paths.get((kind, relative))
            if output is None:
                output = self._paths[(kind, relative)] = self._new_file(kind, relative)
            if len(self._directories) >= MAX_CACHED_DIRECTORIES:
                self._directories.clear()
            self._directories[key] = output
        return output

    def _new_file(self, kind: str, relative: str) -> _Output:
        """The file of a directory met for the first time, as shown and as resolved (checked
        to lie inside the output directory, and created)."""
        levels = [_level(name) for name in PurePosixPath(relative).parts]
        directory = self.root.joinpath(kind, *levels)
        base = self._bases[kind]
        try:
            resolved = directory.resolve()
        except (OSError, ValueError) as exc:
            raise OutsideOutput(
                f"{kind} directory {relative!r} is not a valid path: {exc}"
            ) from None
        if not resolved.is_relative_to(base):
            raise OutsideOutput(
                f"{kind} directory {relative!r} resolves to {resolved}, outside {base}: not written"
            )
        resolved.mkdir(parents=True, exist_ok=True)
        path = resolved / self._file_name
        output = self._outputs.get(path)
        if output is None:
            output = self._outputs[path] = _Output(directory / self._file_name, path)
        return output

    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        for kind, messages in (("decoded", decoded), ("error", errors)):
            for message in messages:
                output = self._output(kind, message.attributes)
                head, payload, end = pieces = line_pieces(message, newline=True)
                size = len(head) + len(payload) + len(end)
                if not output.lines:
                    self._pending[output.path] = output
                output.lines += pieces
                output.size += size
                self._pending_bytes += size
                if output.size >= WRITE_CHUNK:
                    self._write(output)
                elif self._pending_bytes >= MAX_PENDING_BYTES:
                    self._write_pending()

    def _write(self, output: _Output) -> None:
        """Write a file's pending lines in one piece (one gzip member with ``compress``)."""
        lines = output.lines
        del self._pending[output.path]
        self._pending_bytes -= output.size
        output.lines, output.size = [], 0
        data = memoryview(gzip_member(lines) if self.compress else b"".join(lines))
        handle = self._handle(output)
        while data:  # a write may be short (a signal, a full disk): the rest, or the error
            data = data[handle.write(data) :]

    def _write_pending(self) -> None:
        while self._pending:
            self._write(next(iter(self._pending.values())))

    def _handle(self, output: _Output) -> io.FileIO:
        path = output.path
        handle = self._handles.get(path)
        if handle is not None:
            self._handles.move_to_end(path)
            return handle
        while len(self._handles) >= self.max_open_files:
            self._handles.popitem(last=False)[1].close()
        handle = self._handles[path] = path.open("ab", buffering=0)
        self.files_written.add(output.shown)
        return handle

    def flush(self) -> None:
        """Hand every line delivered to the operating system (the files are unbuffered: what is
        written is the system's)."""
        self._write_pending()

    def close(self) -> None:
        """Write every line delivered and close every file."""
        try:
            self._write_pending()
        finally:
            while self._handles:
                self._handles.popitem(last=False)[1].close()

    def __enter__(self) -> FileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
