"""Parse the payload as one JSON object (D-30, §10 "JSON in Python" and "Empty payload").

orjson does the parsing: it rejects invalid UTF-8, lone surrogates, NaN/Infinity, nesting deeper
than 1024 and trailing content, each of which becomes an ``InvalidJson`` rejection (the reference
ignores trailing content; we reject it because a body with garbage after the document is corrupt).
orjson silently turns integers beyond 64 bits into floats, so a payload holding a run of 20 or more
digits is re-parsed with the standard library, which keeps such integers exact.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import orjson

from ..context import Context
from ..core.errors import InvalidJson
from ..core.message import Message

# Every digit maps to "0", so one substring search finds any run of 20 digits: the shortest
# integer orjson cannot represent exactly is 2**64, which has 20 digits.
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_TWENTY_DIGITS = b"0" * 20


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"invalid JSON constant {name}")


def _parse_exact(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError as exc:
        raise InvalidJson("json nesting too deep") from exc


def parse_object(payload: bytes) -> dict[str, Any]:
    """The payload's JSON object; raises ``InvalidJson`` for anything else."""
    try:
        value = orjson.loads(payload)
        if payload.translate(_DIGITS_TO_ZERO).find(_TWENTY_DIGITS) != -1:
            value = _parse_exact(payload)
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise InvalidJson(str(exc) or "invalid json") from exc
    if not isinstance(value, dict):
        raise InvalidJson("json value is not an object")
    return value


def parse_json(message: Message, context: Context) -> Message:
    if message.document is not None:
        return message
    return message.evolve(document=parse_object(message.payload))
