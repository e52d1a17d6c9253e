"""Small collaborators shared by tests: an in-memory sink, message-file helpers, a stand-in
schema store and a guard against DNS lookups."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import socket
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ingestion.adapters.file_reader import read_lines
from ingestion.context import Context
from ingestion.core.lines import message_from_line
from ingestion.core.message import Message

Key = tuple[str, str, str]  # (namespace, docType, version)


class ListSink:
    """Collects delivered messages in order."""

    def __init__(self) -> None:
        self.decoded: list[Message] = []
        self.errors: list[Message] = []

    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        self.decoded.extend(decoded)
        self.errors.extend(errors)

    def flush(self) -> None:
        """Nothing buffered: every message is kept as it is delivered."""


def read_messages(path: Path) -> list[Message]:
    return [message_from_line(line) for line in read_lines(path)]


def payload_json(message: Message) -> Any:
    return json.loads(message.payload) if message.payload else None


def expected_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read_lines(path)]


def expected_payload(line: dict[str, Any]) -> Any:
    raw = base64.b64decode(line.get("payload") or "")
    return json.loads(raw) if raw else None


class FakeSchemas:
    """Just ``pipeline_metadata`` over a dict keyed by (namespace, docType, version), and no
    schemas; records what was asked for."""

    def __init__(self, metadata: Mapping[Key, Mapping[str, Any]]) -> None:
        self.metadata = metadata
        self.calls: list[Key] = []

    def schema(self, namespace: str, doctype: str, version: str) -> dict[str, Any] | None:
        return None

    def pipeline_metadata(self, namespace: str, doctype: str, version: str) -> Mapping[str, Any]:
        self.calls.append((namespace, doctype, version))
        return self.metadata.get((namespace, doctype, version), {})


def context_with(metadata: Mapping[Key, Mapping[str, Any]], **options: Any) -> Context:
    """A context whose schema store is ``FakeSchemas(metadata)``; ``options`` set other fields."""
    return Context(
        schemas=FakeSchemas(metadata),  # type: ignore[arg-type]
        scrubber=None,  # type: ignore[arg-type]
        user_agents=None,  # type: ignore[arg-type]
        **options,
    )


def forbid_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every name-resolution call in ``socket`` fail the test."""

    def no_dns(*args: object, **kwargs: object) -> Any:
        raise AssertionError(f"DNS lookup attempted: {args}")

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        monkeypatch.setattr(socket, name, no_dns)


class FakeClock:
    """A clock the test moves by hand: ``clock.now += 5``. Works with floats and datetimes."""

    def __init__(self, now: Any = 1000.0) -> None:
        self.now = now

    def __call__(self) -> Any:
        return self.now


# A valid org-example-app baseline body (the project's own schemas).
BASELINE = {
    "client_info": {"telemetry_sdk_build": "61.2.0"},
    "ping_info": {
        "seq": 1,
        "start_time": "2026-11-20T10:00:00Z",
        "end_time": "2026-11-20T10:15:00Z",
    },
}

# A docType that only exists in an updated schema bundle (resource reload tests).
ADDED_SCHEMA = {
    "$schema": "http://json-schema.org/draft-06/schema#",
    "type": "object",
    "required": ["added"],
    "properties": {"added": {"type": "integer"}},
    "mozPipelineMetadata": {"bq_dataset_family": "org_example_app", "bq_table": "added_v1"},
}


def decode_example(
    context: Context, doctype: str, body: dict[str, Any], forwarded_for: str = ""
) -> Message:
    """The one output (decoded or error) of an org-example-app message through the pipeline."""
    from ingestion import pipeline

    attributes = {
        "uri": f"/submit/org-example-app/{doctype}/1/8f0c1d3e-7a62-4b8e-9d51-0c2f6a7b8e01",
        "submission_timestamp": "2026-11-20T10:15:30.123456Z",
    }
    if forwarded_for:
        attributes["x_forwarded_for"] = forwarded_for
    protected = pipeline.protect(Message(attributes, json.dumps(body).encode()), context)
    outcome = pipeline.decode(protected.decoded[0], context)
    (output,) = outcome.decoded + outcome.errors
    return output


def resource_provider_arguments(recheck_seconds: float, **environment: str) -> dict[str, Any]:
    """What the composition root hands the resource provider, from these environment values."""
    from ingestion.settings import DecoderSettings

    settings = DecoderSettings.from_environ(
        {"GOOGLE_CLOUD_PROJECT": "test-project", "RESOURCE_RECHECK_SECONDS": str(recheck_seconds)}
        | environment
    )
    return {"config": settings.resources, "recheck_seconds": settings.resource_recheck_seconds}


@contextlib.contextmanager
def json_logs(logger_name: str, level: int = logging.INFO) -> Iterator[io.StringIO]:
    """The JSON lines (``observability.JsonFormatter``, as Cloud Run ships them) that
    ``logger_name`` and its children write inside the block."""
    from ingestion.observability import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test-project"))
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
