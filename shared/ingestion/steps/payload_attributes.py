"""Channel and OS attributes read from the payload (D-38).

Exactly one ping layout is consulted, in this order of precedence: a Glean ``client_info``
object, else a desktop ``environment.system.os`` object, else the top-level fields used by
activity-stream (``release_channel``) and the core ping (``os``, ``osversion``). Only non-empty
strings count, and a value found overwrites the attribute parsed from the URI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..context import Context
from ..core.message import Message

# (payload field, attribute) pairs for each layout.
_GLEAN_FIELDS = (("app_channel", "app_update_channel"), ("os", "os"), ("os_version", "os_version"))
_DESKTOP_OS_FIELDS = (("name", "os"), ("version", "os_version"))
_TOP_LEVEL_FIELDS = (
    ("release_channel", "app_update_channel"),
    ("os", "os"),
    ("osversion", "os_version"),
)


def _desktop_os(document: Mapping[str, Any]) -> Any:
    environment = document.get("environment")
    system = environment.get("system") if isinstance(environment, dict) else None
    return system.get("os") if isinstance(system, dict) else None


def _non_empty_strings(
    source: Mapping[str, Any], fields: tuple[tuple[str, str], ...]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for field, attribute in fields:
        value = source.get(field)
        if isinstance(value, str) and value:
            found[attribute] = value
    return found


def attributes_from_payload(message: Message, context: Context) -> Message:
    document = message.document
    if document is None:
        return message
    client_info = document.get("client_info")
    if isinstance(client_info, dict):
        found = _non_empty_strings(client_info, _GLEAN_FIELDS)
    else:
        desktop_os = _desktop_os(document)
        if isinstance(desktop_os, dict):
            found = _non_empty_strings(desktop_os, _DESKTOP_OS_FIELDS)
        else:
            found = _non_empty_strings(document, _TOP_LEVEL_FIELDS)
    return message.evolve(set_attributes=found)
