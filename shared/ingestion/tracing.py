"""Trace correlation: the incoming request's trace header, carried to every log line it causes.

Cloud Logging groups entries under a request when they carry ``logging.googleapis.com/trace``
(``projects/<project>/traces/<32 hex>``), and links them to a span with
``logging.googleapis.com/spanId`` (16 hex) and ``logging.googleapis.com/trace_sampled``. The
trace comes from the W3C ``traceparent`` header (``00-<trace>-<span>-<flags>``) or Google's
``X-Cloud-Trace-Context`` (``<trace>/<decimal span>;o=<0|1>``); Cloud Run passes them on to the
function, and Pub/Sub push requests carry them too.

``bind`` runs once per request, first thing: it parses the header (a dictionary lookup and one
regular expression) and keeps the result in a context variable, which asyncio copies into each
request's task, so concurrent requests on one event loop never see each other's trace. The log
formatter (``observability.JsonFormatter``) reads it only when it writes a line.

A header is client input: anything that is not exactly the documented form is ignored, so
nothing but hexadecimal digits from a header ever reaches a log line.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Mapping
from typing import NamedTuple

TRACE_FIELD = "logging.googleapis.com/trace"
SPAN_FIELD = "logging.googleapis.com/spanId"
SAMPLED_FIELD = "logging.googleapis.com/trace_sampled"

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_CLOUD_TRACE = re.compile(r"([0-9a-fA-F]{32})(?:/([0-9]{1,20}))?(?:;o=([01]))?")
_ZERO_TRACE = "0" * 32
_MAX_SPAN = 2**64 - 1


class Trace(NamedTuple):
    trace_id: str  # 32 lowercase hex digits
    span_id: str | None  # 16 lowercase hex digits
    sampled: bool


_current: contextvars.ContextVar[Trace | None] = contextvars.ContextVar(
    "ingestion_trace", default=None
)


def parse_traceparent(value: str) -> Trace | None:
    found = _TRACEPARENT.fullmatch(value.strip())
    if found is None:
        return None
    version, trace_id, span_id, flags = found.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or span_id == "0" * 16:
        return None
    return Trace(trace_id, span_id, bool(int(flags, 16) & 1))


def parse_cloud_trace(value: str) -> Trace | None:
    found = _CLOUD_TRACE.fullmatch(value.strip())
    if found is None:
        return None
    trace_id, span, option = found.groups()
    trace_id = trace_id.lower()
    if trace_id == _ZERO_TRACE:
        return None
    span_id = None
    if span is not None and 0 < int(span) <= _MAX_SPAN:
        span_id = f"{int(span):016x}"
    return Trace(trace_id, span_id, option == "1")


def trace_from_headers(headers: Mapping[str, str]) -> Trace | None:
    """The request's trace; ``headers`` is case-insensitive (Starlette's) or lowercase."""
    traceparent = headers.get("traceparent")
    if traceparent:
        trace = parse_traceparent(traceparent)
        if trace is not None:
            return trace
    cloud_trace = headers.get("x-cloud-trace-context")
    return parse_cloud_trace(cloud_trace) if cloud_trace else None


def bind(headers: Mapping[str, str]) -> None:
    """Make the request's trace (or none) the current one for the log lines that follow."""
    _current.set(trace_from_headers(headers))


def current() -> Trace | None:
    return _current.get()


def log_fields(trace: Trace, project: str) -> dict[str, str | bool]:
    """The structured-log fields Cloud Logging reads for ``trace``."""
    fields: dict[str, str | bool] = {
        TRACE_FIELD: f"projects/{project}/traces/{trace.trace_id}",
        SAMPLED_FIELD: trace.sampled,
    }
    if trace.span_id is not None:
        fields[SPAN_FIELD] = trace.span_id
    return fields
