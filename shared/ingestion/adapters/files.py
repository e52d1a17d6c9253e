"""Message files on the local disk: reading lines of (optionally gzipped) files, and writing
decoded and error messages under a directory, one ``json`` line each.

The line forms themselves are ``ingestion.core.lines``; the directories come from
``${attribute:-default}`` templates whose values go through the one partition-level sanitiser
(``ingestion.core.partitions.sanitize``), so no attribute value can add or climb a directory.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..core.lines import is_content, line_from_message
from ..core.message import Message
from ..core.partitions import sanitize
from ..core.templates import placeholders, render, values_for


def open_binary(path: Path) -> io.BufferedIOBase:
    if path.suffix == ".gz":
        return gzip.GzipFile(path, "rb")
    return path.open("rb")


def read_lines(path: Path) -> Iterator[bytes]:
    """Non-empty, non-comment lines of a (possibly gzipped) file, stripped."""
    with open_binary(path) as handle:
        for line in handle:
            if is_content(line):
                yield line.strip()


DEFAULT_DECODED_TEMPLATE = (
    "${document_namespace:-unknown}/${document_type:-unknown}_v${document_version:-0}/"
    "${submission_date:-unknown}/"
)
DEFAULT_ERROR_TEMPLATE = "${error_type:-unknown}/${submission_date:-unknown}/"


class FileSink:
    """Writes decoded and error messages under ``DIR/decoded/`` and ``DIR/error/``.

    Directories come from ``${attribute:-default}`` templates; each directory gets one
    ``part-00000.ndjson`` (``.ndjson.gz`` with ``compress``) for the life of the sink. Lines are
    written through as they arrive, so a run that stops midway keeps what it delivered.
    """

    def __init__(
        self,
        root: Path,
        *,
        compress: bool = False,
        decoded_template: str = DEFAULT_DECODED_TEMPLATE,
        error_template: str = DEFAULT_ERROR_TEMPLATE,
    ) -> None:
        self.root = root
        self.compress = compress
        self.templates = {"decoded": decoded_template, "error": error_template}
        # Only the values a template reads (derived ones included) are sanitised.
        self._template_inputs = {
            kind: frozenset(placeholders(template)) for kind, template in self.templates.items()
        }
        self._handles: dict[Path, io.BufferedIOBase] = {}
        self.files_written: set[Path] = set()

    def _handle(self, kind: str, message: Message) -> io.BufferedIOBase:
        # Derive first, then sanitise: a derived value (the hour cut out of a crafted
        # timestamp) is as untrusted as any attribute.
        values = values_for(self._template_inputs[kind], message.attributes)
        safe = {key: sanitize(value) for key, value in values.items()}
        directory = self.root / kind / render(self.templates[kind], safe)
        path = directory / ("part-00000.ndjson" + (".gz" if self.compress else ""))
        handle = self._handles.get(path)
        if handle is None:
            directory.mkdir(parents=True, exist_ok=True)
            handle = gzip.GzipFile(path, "ab") if self.compress else path.open("ab")
            self._handles[path] = handle
            self.files_written.add(path)
        return handle

    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        for kind, messages in (("decoded", decoded), ("error", errors)):
            for message in messages:
                self._handle(kind, message).write(line_from_message(message) + b"\n")

    def flush(self) -> None:
        """Hand every buffered line to the operating system."""
        for handle in self._handles.values():
            handle.flush()

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def __enter__(self) -> FileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
