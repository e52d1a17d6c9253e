"""Newline-delimited JSON message files: the reference's ``json`` line format and the flat ``raw``
landfill form in, the ``json`` form out (D-07, D-09, D-63).

``json`` lines are ``{"attributeMap": {...}|null, "payload": "<base64>", "messageId": ...}``;
``raw`` lines carry every attribute as a top-level string field beside ``payload``. A line that
is neither never stops a run: it becomes an error output of type ``DecodePubsubMessages`` (the
reference's name for this transform) carrying the line itself, so no input is ever lost.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from ..core.message import Message
from ..core.templates import placeholders, render

COMMENT_PREFIX = b"//"
READ_ERROR_TYPE = "DecodePubsubMessages"


class UnreadableLine(ValueError):
    """An input line that is not a message in the json or raw form."""


def open_binary(path: Path) -> io.BufferedIOBase:
    if path.suffix == ".gz":
        return gzip.GzipFile(path, "rb")
    return path.open("rb")


def message_from_line(line: bytes) -> Message:
    """Parse one line of the json or raw form; raises ``UnreadableLine``."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise UnreadableLine(f"line is not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise UnreadableLine("line is not a JSON object")
    payload = _decode_payload(record.get("payload"))
    if "attributeMap" in record or set(record) <= {"payload", "messageId"}:
        attributes = _string_map(record.get("attributeMap") or {})
        message_id = record.get("messageId")
        if isinstance(message_id, str) and message_id and "message_id" not in attributes:
            attributes["message_id"] = message_id
    else:  # flat raw landfill row: every other field is an attribute
        attributes = _string_map({k: v for k, v in record.items() if k != "payload"})
    return Message(attributes=attributes, payload=payload)


def _decode_payload(value: Any) -> bytes:
    if value is None:
        return b""
    if not isinstance(value, str):
        raise UnreadableLine("payload is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnreadableLine(f"payload is not valid base64: {exc}") from exc


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise UnreadableLine("attributes are not an object")
    attributes: dict[str, str] = {}
    for key, item in value.items():
        if item is None:
            continue  # null attributes are dropped, as Pub/Sub has no null values
        attributes[key] = item if isinstance(item, str) else orjson.dumps(item).decode()
    return attributes


def read_lines(path: Path) -> Iterator[bytes]:
    """Non-empty, non-comment lines of a (possibly gzipped) file."""
    with open_binary(path) as handle:
        for line in handle:
            stripped = line.strip()
            if stripped and not stripped.startswith(COMMENT_PREFIX):
                yield stripped


def line_from_message(message: Message) -> bytes:
    return orjson.dumps(
        {
            "attributeMap": message.attributes,
            "payload": base64.b64encode(message.payload).decode("ascii"),
        },
        option=orjson.OPT_SORT_KEYS,
    )


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_path_component(value: str) -> str:
    """An attribute value usable as one path component: no separators, no ``..``."""
    cleaned = _UNSAFE.sub("_", value)[:200]
    return "_" if cleaned in ("", ".", "..") else cleaned


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
        # Only the attributes a template reads are sanitised into path components.
        self._template_inputs = {
            kind: {*placeholders(template), "submission_timestamp"}
            for kind, template in self.templates.items()
        }
        self._handles: dict[Path, io.BufferedIOBase] = {}
        self.files_written: set[Path] = set()

    def _handle(self, kind: str, message: Message) -> io.BufferedIOBase:
        attributes = message.attributes
        safe = {
            key: safe_path_component(attributes[key])
            for key in self._template_inputs[kind]
            if key in attributes
        }
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

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def __enter__(self) -> FileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
