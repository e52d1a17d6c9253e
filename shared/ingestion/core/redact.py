"""Client IP addresses out of input that could not be read as a message (D-69).

An unreadable request or line still becomes an error output carrying what arrived, so that no
input is lost. Whatever its shape (a push envelope, a CloudEvent, a ``json`` or ``raw`` line),
every field named like a client-IP attribute is removed from it, at any depth, before it is
published: the shape is not trusted, since it is exactly what could not be read.
"""

from __future__ import annotations

from typing import Any

import orjson

from .message import CLIENT_IP_ATTRIBUTES

_IP_FIELDS = frozenset(CLIENT_IP_ATTRIBUTES)


def _drop_ip_fields(node: Any) -> bool:
    """Remove IP fields from ``node`` in place; True when something was removed."""
    changed = False
    pending = [node]
    while pending:  # iterative: a deeply nested body must not exhaust the stack
        current = pending.pop()
        if isinstance(current, dict):
            for key in _IP_FIELDS.intersection(current):
                del current[key]
                changed = True
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return changed


def without_client_ip(body: bytes) -> bytes:
    """``body`` with every client-IP field removed when it is JSON; unchanged otherwise."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    return orjson.dumps(document) if _drop_ip_fields(document) else body
