"""A backfill request, validated field by field: every refusal is a ``RequestError`` with an HTTP
status and a one-line reason, never a traceback.

```
{"source": "telemetry-raw" | "gs://bucket/prefix",
 "window": {"start": "2026-11-20T03", "end": "2026-11-21"},     # registry sources only
 "format": "json" | "raw" | "avro",
 "destination": {"decoded": "<source>", "error": "<source>"} | "topics",
 "chunk_bytes": 67108864, "dedup": "off" | "run", "dry_run": false,
 "max_chunks": 1000, "max_bytes": 1099511627776, "run_id": "lost-window-2026-11-20"}
```

The window is half open, ``[start, end)``, at hour granularity (a date alone is its hour 00).
``json`` and ``raw`` lines are read by the same line codec, which recognises either form on
each line; ``avro`` objects are those a Pub/Sub Cloud Storage subscription writes. Values
quoted back in a reason are cut short and ``repr``-escaped, so a reason stays one line.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Any

import orjson

from ..adapters.storage.locations import LocationError, is_gcs_location, parse_gcs_folder

FORMATS = ("json", "raw", "avro")
DEDUP_MODES = ("off", "run")
TOPICS = "topics"
MIN_CHUNK_BYTES = 64 << 10
MAX_CHUNK_BYTES = 4 << 30
DEFAULT_CHUNK_BYTES = 64 << 20
MAX_BODY_BYTES = 16 << 10
# Lowercase letters, digits and hyphens: safe in a Firestore id, a task name and an object name.
_RUN_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_HOUR = re.compile(r"(\d{4}-\d{2}-\d{2})(?:T(\d{2}))?")
FIELDS = frozenset(
    {"source", "window", "format", "destination", "chunk_bytes", "dedup", "dry_run"}
    | {"max_chunks", "max_bytes", "run_id"}
)


class RequestError(Exception):
    """A request refused: ``status`` (4xx) and a one-line ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def quoted(value: object, limit: int = 80) -> str:
    """``value`` for a reason: repr-escaped (one line), at most ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclasses.dataclass(frozen=True)
class Window:
    start: datetime.datetime  # inclusive, on the hour, UTC
    end: datetime.datetime  # exclusive

    def as_json(self) -> dict[str, str]:
        return {
            "start": self.start.strftime("%Y-%m-%dT%H"),
            "end": self.end.strftime("%Y-%m-%dT%H"),
        }


@dataclasses.dataclass(frozen=True)
class Destination:
    decoded: str = ""  # registry source names; both empty for the topics
    error: str = ""

    @property
    def topics(self) -> bool:
        return not self.decoded

    def as_json(self) -> str | dict[str, str]:
        return TOPICS if self.topics else {"decoded": self.decoded, "error": self.error}


@dataclasses.dataclass(frozen=True)
class BackfillRequest:
    source: str  # a registry source name or gs://bucket[/prefix]
    destination: Destination
    window: Window | None = None
    format: str = "json"
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    dedup: str = "off"
    dry_run: bool = False
    max_chunks: int | None = None
    max_bytes: int | None = None
    run_id: str | None = None

    @property
    def is_location(self) -> bool:
        return is_gcs_location(self.source)

    def as_json(self) -> dict[str, Any]:
        """The request as stored with its run (everything that shapes the plan and outputs)."""
        return {
            "source": self.source,
            "window": self.window.as_json() if self.window else None,
            "format": self.format,
            "destination": self.destination.as_json(),
            "chunk_bytes": self.chunk_bytes,
            "dedup": self.dedup,
        }


def parse_body(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError(400, "request body is not JSON") from None
    if not isinstance(parsed, dict):
        raise RequestError(400, "request body must be a JSON object")
    return parsed


def parse_request(fields: Mapping[str, Any]) -> BackfillRequest:
    """The request of a decoded JSON body; raises ``RequestError`` on the first bad field."""
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise RequestError(400, f"unknown field {quoted(unknown[0])}")
    if "source" not in fields:
        raise RequestError(400, "source is required")
    if "destination" not in fields:
        raise RequestError(400, "destination is required")
    source = _source(fields["source"])
    window = _window(fields["window"]) if fields.get("window") is not None else None
    if window is not None and is_gcs_location(source):
        raise RequestError(400, "window needs a registry source (a gs:// prefix has no dimensions)")
    return BackfillRequest(
        source=source,
        destination=_destination(fields["destination"]),
        window=window,
        format=_choice(fields, "format", FORMATS, "json"),
        chunk_bytes=_integer(fields, "chunk_bytes", MIN_CHUNK_BYTES, MAX_CHUNK_BYTES)
        or DEFAULT_CHUNK_BYTES,
        dedup=_choice(fields, "dedup", DEDUP_MODES, "off"),
        dry_run=_boolean(fields, "dry_run"),
        max_chunks=_integer(fields, "max_chunks", 1, 10**9),
        max_bytes=_integer(fields, "max_bytes", 1, 1 << 62),
        run_id=_run_id(fields.get("run_id")),
    )


def _source(value: Any) -> str:
    if not isinstance(value, str):
        raise RequestError(400, "source must be a string (a registry source or gs://bucket/prefix)")
    if is_gcs_location(value):
        try:
            parse_gcs_folder(value)
        except LocationError as exc:
            raise RequestError(400, f"source: {str(exc)[:200]}") from None
        if any(ord(char) < 0x20 or char == "\x7f" for char in value) or ".." in value.split("/"):
            raise RequestError(400, f"source {quoted(value)} has a control character or '..'")
        return value
    return _source_name(value, "source")


def _source_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _SOURCE_NAME.fullmatch(value):
        raise RequestError(
            400, f"{field} {quoted(value)} is not a registry source name ([A-Za-z0-9_.-], ≤ 128)"
        )
    return value


def _destination(value: Any) -> Destination:
    if value == TOPICS:
        return Destination()
    if not isinstance(value, dict) or set(value) != {"decoded", "error"}:
        raise RequestError(
            400, 'destination must be "topics" or {"decoded": <source>, "error": <source>}'
        )
    decoded = _source_name(value["decoded"], "destination.decoded")
    error = _source_name(value["error"], "destination.error")
    if decoded == error:
        raise RequestError(400, "destination.decoded and destination.error must differ")
    return Destination(decoded, error)


def _hour(value: Any, field: str) -> datetime.datetime:
    match = _HOUR.fullmatch(value) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError
        day = datetime.date.fromisoformat(match.group(1))
        hour = int(match.group(2) or 0)
        return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=datetime.UTC)
    except ValueError:
        raise RequestError(
            400, f"{field} {quoted(value)} is not YYYY-MM-DD or YYYY-MM-DDTHH"
        ) from None


def _window(value: Any) -> Window:
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise RequestError(400, 'window must be {"start": ..., "end": ...}')
    window = Window(_hour(value["start"], "window.start"), _hour(value["end"], "window.end"))
    if window.end <= window.start:
        raise RequestError(400, "window.end must be after window.start")
    return window


def _choice(fields: Mapping[str, Any], name: str, options: tuple[str, ...], default: str) -> str:
    value = fields.get(name, default)
    if value not in options:
        raise RequestError(400, f"{name} {quoted(value)} is not one of {', '.join(options)}")
    return str(value)


def _boolean(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name, False)
    if not isinstance(value, bool):
        raise RequestError(400, f"{name} must be true or false")
    return value


def _integer(fields: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(400, f"{name} must be an integer from {low} to {high}")
    return value


def _run_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value):
        raise RequestError(400, f"run_id {quoted(value)} must match [a-z0-9][a-z0-9-]{{0,62}}")
    return value
