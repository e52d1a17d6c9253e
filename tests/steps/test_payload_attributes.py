"""attributes_from_payload (D-38): precedence of Glean, desktop and top-level layouts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingestion.context import Context
from ingestion.core.message import Message
from ingestion.steps.payload_attributes import attributes_from_payload

CONTEXT = Context(schemas=None, scrubber=None, user_agents=None)  # type: ignore[arg-type]
URI_ATTRIBUTES = {"app_update_channel": "uri-channel", "document_namespace": "ns"}

CASES = [
    # Glean client_info wins and overwrites the URI's channel.
    (
        '{"client_info":{"app_channel":"nightly","os":"Android","os_version":"30"},'
        '"environment":{"system":{"os":{"name":"Windows_NT","version":"10.0"}}},'
        '"release_channel":"beta","os":"iOS","osversion":"14"}',
        {"app_update_channel": "nightly", "os": "Android", "os_version": "30"},
    ),
    # A client_info object without usable values still blocks the other layouts.
    (
        '{"client_info":{"app_channel":"","os":5},'
        '"environment":{"system":{"os":{"name":"Windows_NT"}}},"os":"iOS"}',
        {},
    ),
    # Desktop telemetry: environment.system.os; no channel from it.
    (
        '{"environment":{"system":{"os":{"name":"Windows_NT","version":"10.0"}}},'
        '"release_channel":"beta","os":"iOS"}',
        {"os": "Windows_NT", "os_version": "10.0"},
    ),
    # client_info that is not an object falls through to the desktop layout.
    (
        '{"client_info":"x","environment":{"system":{"os":{"name":"Linux","version":""}}}}',
        {"os": "Linux"},
    ),
    # Activity-stream and core ping top-level fields.
    (
        '{"release_channel":"release","os":"Android","osversion":"9"}',
        {"app_update_channel": "release", "os": "Android", "os_version": "9"},
    ),
    # environment.system.os that is not an object falls through to top-level fields.
    (
        '{"environment":{"system":{"os":"Linux"}},"os":"Android","osversion":""}',
        {"os": "Android"},
    ),
    # Non-strings and empty strings are ignored.
    ('{"release_channel":null,"os":["a"],"osversion":7}', {}),
    ("{}", {}),
]


@pytest.mark.parametrize(("payload", "expected_from_payload"), CASES)
def test_attributes_from_payload(payload: str, expected_from_payload: dict[str, Any]) -> None:
    document = json.loads(payload)
    message = Message(attributes=dict(URI_ATTRIBUTES), document=document)
    result = attributes_from_payload(message, CONTEXT)
    assert result.attributes == {**URI_ATTRIBUTES, **expected_from_payload}
    assert result.document == json.loads(payload)  # the payload is only read
    assert message.attributes == URI_ATTRIBUTES
