"""Decoded and error messages written under a directory, one ``json`` line each.

The directories come from ``${attribute:-default}`` templates whose values go through the one
partition-level sanitiser (``ingestion.core.partitions.sanitize``), so no attribute value can add
or climb a directory. As a second line of defence a template with a literal ``..`` level, an
absolute path or a placeholder without a default is refused, and every new directory is resolved
and checked to lie inside the output directory.
"""

from __future__ import annotations

import gzip
import io
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from ..core.lines import line_from_message
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


class FileSink:
    """Writes decoded and error messages under ``DIR/decoded/`` and ``DIR/error/``.

    Directories come from ``${attribute:-default}`` templates (checked by ``check_template``);
    each directory gets one ``part-00000.ndjson`` (``.ndjson.gz`` with ``compress``) for the life
    of the sink. Lines are written through as they arrive, so a run that stops midway keeps what
    it delivered. At most ``max_open_files`` files are open at once: the least recently written
    is closed and, needed again, reopened for appending (for ``.gz`` a new gzip member, which
    every gzip reader reads as the same stream).
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
            kind: frozenset(placeholders(template)) for kind, template in self.templates.items()
        }
        self._file_name = "part-00000.ndjson" + (".gz" if compress else "")
        self.max_open_files = max(1, max_open_files)
        self._paths: dict[tuple[str, str], tuple[Path, Path]] = {}  # -> (shown, checked)
        # Least recently written first.
        self._handles: OrderedDict[Path, io.BufferedIOBase] = OrderedDict()
        self.files_written: set[Path] = set()

    def _handle(self, kind: str, message: Message) -> io.BufferedIOBase:
        # Derive first, then sanitise: a derived value (the hour cut out of a crafted
        # timestamp) is as untrusted as any attribute.
        values = values_for(self._template_inputs[kind], message.attributes)
        safe = {key: sanitize(value) for key, value in values.items()}
        relative = render(self.templates[kind], safe)
        paths = self._paths.get((kind, relative))
        if paths is None:
            paths = self._paths[(kind, relative)] = self._new_file(kind, relative)
        path = paths[1]
        handle = self._handles.get(path)
        if handle is not None:
            self._handles.move_to_end(path)
            return handle
        while len(self._handles) >= self.max_open_files:
            self._handles.popitem(last=False)[1].close()
        handle = gzip.GzipFile(path, "ab") if self.compress else path.open("ab")
        self._handles[path] = handle
        self.files_written.add(paths[0])
        return handle

    def _new_file(self, kind: str, relative: str) -> tuple[Path, Path]:
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
        return directory / self._file_name, resolved / self._file_name

    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        for kind, messages in (("decoded", decoded), ("error", errors)):
            for message in messages:
                self._handle(kind, message).write(line_from_message(message) + b"\n")

    def flush(self) -> None:
        """Hand every buffered line to the operating system (closed files already are)."""
        for handle in self._handles.values():
            handle.flush()

    def close(self) -> None:
        while self._handles:
            self._handles.popitem(last=False)[1].close()

    def __enter__(self) -> FileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
