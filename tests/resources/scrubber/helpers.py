"""What the scrubber tests share: the bundled rules as the ``rules`` fixture, and messages.

A plain module rather than a ``conftest.py``: ``tests/resources`` is not a package, and a second
top-level ``conftest`` module would shadow ``tests/conftest.py`` for the tests collected after it.
A test module imports ``bundled_rules`` to get the ``rules`` fixture (one load per module).
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import REPO
from ingestion.core.message import Message
from ingestion.resources.scrubber import ScrubberRules

RULES_FILE = REPO / "shared" / "ingestion" / "rules" / "scrubber.toml"
COFFEE = "c0ffeec0-ffee-c0ff-eec0-ffeec0ffeec0"
TELEMETRY = {"document_namespace": "telemetry"}
MAIN = {**TELEMETRY, "document_type": "main", "app_name": "Firefox"}


@pytest.fixture(scope="module", name="rules")
def bundled_rules() -> ScrubberRules:
    return ScrubberRules.load()


def _message(attributes: dict[str, str], document: dict[str, Any] | None = None) -> Message:
    return Message(attributes=dict(attributes), document={} if document is None else document)
