"""Small real collaborators shared by tests: an in-memory sink and message-file helpers."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingestion.adapters.files import message_from_line, read_lines
from ingestion.core.message import Message


class ListSink:
    """Collects delivered messages in order."""

    def __init__(self) -> None:
        self.decoded: list[Message] = []
        self.errors: list[Message] = []

    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        self.decoded.extend(decoded)
        self.errors.extend(errors)


def read_messages(path: Path) -> list[Message]:
    return [message_from_line(line) for line in read_lines(path)]


def payload_json(message: Message) -> Any:
    return json.loads(message.payload) if message.payload else None


def expected_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read_lines(path)]


def expected_payload(line: dict[str, Any]) -> Any:
    raw = base64.b64decode(line.get("payload") or "")
    return json.loads(raw) if raw else None
