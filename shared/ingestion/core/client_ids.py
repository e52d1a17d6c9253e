"""Where a payload's client id comes from (D-39): the one precedence rule, shared by two callers.

Sources in order: Glean's ``client_info.client_id``, then the top-level ``client_id``, then the
top-level ``clientId``. A source counts only when its value is a string that ``normalize_uuid``
accepts (braces stripped, parsed as Java would, lower-cased); anything else falls through to the
next source. With ``write_back`` the normalised value replaces the field it came from, in place,
so that every output carries the same spelling.

The callers differ only around this rule. The ``normalize_client_id`` step always writes back and,
when the message already has a ``client_id`` attribute (a replay of decoded output), reads Glean's
field alone (``top_level=False``), as the reference's ``attributes.get("client_id") == null``
checks do. The scrubber's ``client_id`` condition (S15) never looks at attributes: it reads all
three sources and writes back only when its rule says ``write_back = true``.
"""

from __future__ import annotations

from typing import Any

from .uuids import normalize_uuid

CLIENT_ID = "client_id"
GLEAN_CLIENT_INFO = "client_info"
TOP_LEVEL_FIELDS = (CLIENT_ID, "clientId")


def _normalized(container: dict[str, Any], field: str, write_back: bool) -> str | None:
    value = container.get(field)
    if not isinstance(value, str):
        return None
    normalized = normalize_uuid(value)
    if normalized is not None and write_back:
        container[field] = normalized
    return normalized


def payload_client_id(
    document: dict[str, Any], *, write_back: bool = False, top_level: bool = True
) -> str | None:
    """The first source holding a valid UUID, normalised; None when none does.

    ``top_level=False`` skips the two top-level fields (Glean's ``client_info`` is always read).
    """
    client_info = document.get(GLEAN_CLIENT_INFO)
    if isinstance(client_info, dict):
        client_id = _normalized(client_info, CLIENT_ID, write_back)
        if client_id is not None:
            return client_id
    if top_level:
        for field in TOP_LEVEL_FIELDS:
            client_id = _normalized(document, field, write_back)
            if client_id is not None:
                return client_id
    return None
