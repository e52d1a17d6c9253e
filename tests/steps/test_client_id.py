"""normalize_client_id (D-39 with the §10 existing-attribute rule)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingestion.context import Context
from ingestion.core.message import Message
from ingestion.steps.client_id import normalize_client_id

CONTEXT = Context(schemas=None, scrubber=None, user_agents=None)  # type: ignore[arg-type]
LOWER = "2907648d-711b-4e9f-94b5-52a2b40a44b1"
UPPER = "2907648D-711B-4E9F-94B5-52A2B40A44B1"
OTHER = "90210716-99f8-0a4f-8119-9bfc16cd68a3"

CASES = [
    # ParsePayloadTest.testOutput
    ("{}", {}, None, "{}"),
    ('{"id":null}', {}, None, '{"id":null}'),
    (f'{{"clientId":"{LOWER}"}}', {}, LOWER, f'{{"clientId":"{LOWER}"}}'),
    (f'{{"clientId":"{UPPER}"}}', {}, LOWER, f'{{"clientId":"{LOWER}"}}'),
    (f'{{"impression_id":"{{{LOWER}}}"}}', {}, None, f'{{"impression_id":"{{{LOWER}}}"}}'),
    ('{"client_id":"n/a"}', {}, None, '{"client_id":"n/a"}'),
    # ParsePayloadTest.testUppercaseUuidNormalization, via the top-level client_id
    (
        '{"client_id":"90210716-99F8-0A4F-8119-9BFC16CD68A3"}',
        {},
        OTHER,
        f'{{"client_id":"{OTHER}"}}',
    ),
    # Braces are stripped before parsing, and the stripped form is written back.
    (f'{{"client_id":"{{{UPPER}}}"}}', {}, LOWER, f'{{"client_id":"{LOWER}"}}'),
    # client_id comes before clientId; only the field used is rewritten.
    (
        f'{{"client_id":"{UPPER}","clientId":"{OTHER.upper()}"}}',
        {},
        LOWER,
        f'{{"client_id":"{LOWER}","clientId":"{OTHER.upper()}"}}',
    ),
    # An invalid client_id falls through to clientId.
    (
        f'{{"client_id":"n/a","clientId":"{UPPER}"}}',
        {},
        LOWER,
        f'{{"client_id":"n/a","clientId":"{LOWER}"}}',
    ),
    # Glean client_info.client_id wins and is rewritten inside client_info.
    (
        f'{{"client_info":{{"client_id":"{UPPER}"}},"client_id":"{OTHER}"}}',
        {},
        LOWER,
        f'{{"client_info":{{"client_id":"{LOWER}"}},"client_id":"{OTHER}"}}',
    ),
    # An invalid or empty Glean client_id falls through to the top-level fields.
    (
        f'{{"client_info":{{"client_id":""}},"clientId":"{UPPER}"}}',
        {},
        LOWER,
        f'{{"client_info":{{"client_id":""}},"clientId":"{LOWER}"}}',
    ),
    # A non-string value is ignored.
    ('{"client_id":42}', {}, None, '{"client_id":42}'),
    # §10: an existing client_id attribute suppresses the top-level lookups and their rewrite...
    (
        f'{{"client_id":"{UPPER}"}}',
        {"client_id": OTHER},
        OTHER,
        f'{{"client_id":"{UPPER}"}}',
    ),
    (
        f'{{"clientId":"{UPPER}"}}',
        {"client_id": ""},
        "",
        f'{{"clientId":"{UPPER}"}}',
    ),
    # ...but Glean's client_info.client_id always overwrites it.
    (
        f'{{"client_info":{{"client_id":"{UPPER}"}}}}',
        {"client_id": OTHER},
        LOWER,
        f'{{"client_info":{{"client_id":"{LOWER}"}}}}',
    ),
    # An invalid Glean value leaves the existing attribute alone.
    (
        '{"client_info":{"client_id":"n/a"}}',
        {"client_id": OTHER},
        OTHER,
        '{"client_info":{"client_id":"n/a"}}',
    ),
]


@pytest.mark.parametrize(("payload", "attributes", "expected_client_id", "expected_payload"), CASES)
def test_normalize_client_id(
    payload: str,
    attributes: dict[str, str],
    expected_client_id: str | None,
    expected_payload: str,
) -> None:
    message = Message(attributes=dict(attributes), document=json.loads(payload))
    result = normalize_client_id(message, CONTEXT)
    assert result.attributes.get("client_id") == expected_client_id
    assert result.document == json.loads(expected_payload)
    assert message.attributes == attributes  # the input message's attributes are not mutated


def test_other_attributes_kept() -> None:
    document: dict[str, Any] = {"clientId": UPPER}
    message = Message(attributes={"document_type": "main"}, document=document)
    result = normalize_client_id(message, CONTEXT)
    assert result.attributes == {"document_type": "main", "client_id": LOWER}
    assert result.document is document  # rewritten in place, not copied
