"""Parse the payload as one JSON object (D-30, §10 "JSON in Python" and "Empty payload").

orjson does the parsing: it rejects invalid UTF-8, lone surrogates, NaN/Infinity, nesting deeper
than 1024 and trailing content, each of which becomes an ``InvalidJson`` rejection (the reference
ignores trailing content; we reject it because a body with garbage after the document is corrupt).

Nesting is limited once, here, to ``MAX_JSON_DEPTH`` containers (254): the deepest document the
JSON writer can write back, so every later step (validation, splitting, metadata injection, the
output) handles whatever passed. A document with at most that many ``{`` and ``[`` bytes cannot be
deeper (two byte counts, at memory speed, for payloads up to 16 KiB); others are checked exactly
by serialising the parsed document once, which is what fails beyond the limit. That costs about
a sixth of the parse (0.18 ms for a 380 KB main ping, parsed in 1.1 ms).

orjson also silently turns integers beyond 64 bits into floats. Scanning every payload for long
digit runs would cost a third of the parse, so the check runs on the serialised output instead
(``reject_rounded_integers``, called where the output is written): a rounded integer always shows
there as a float with an exponent of 18 or more (``e+18`` and up). orjson writes ``+`` nowhere else
but in strings, so the check visits only the few ``+`` bytes (found at ``memchr`` speed) and matches
the exponent pattern there; only on a hit is the input parsed exactly by the standard library to
tell a rounded integer from a real float. Such messages
are rejected, not rounded: BigQuery's INT64 could not hold the value either, and the error output
keeps the original bytes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from ..context import Context
from ..core.errors import InvalidJson
from ..core.message import Message

# The deepest nesting (objects and arrays) orjson can serialise; a test pins it to the library.
MAX_JSON_DEPTH = 254
_COUNT_BELOW_BYTES = 16 * 1024
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1
# How orjson renders a float of magnitude 1e18 or more (every rounded 64-bit overflow is one):
# ``1.8446744073709552e+19`` then a delimiter; matched at the ``e`` before a ``+``.
_BIG_EXPONENT = re.compile(rb"e\+(?:1[89]|[2-9][0-9]|[0-9]{3,})[,}\]]")
_DIGITS = frozenset(b"0123456789")
_PLUS = ord("+")
_MAX_PLUS_PROBES = 32


class IntegerOutOfRange(InvalidJson):
    """An integer beyond 64 bits: it cannot be kept exactly, so the message is rejected."""

    error_type = "ParsePayload"


def reject_rounded_integers(output: bytes, original: bytes) -> None:
    """Raise when ``output`` holds a float that came from a rounded integer in ``original``."""
    if not _has_big_exponent(output):
        return
    # Rare: a big float or a look-alike string. Only an exact parse tells them apart.
    try:
        exact = json.loads(original)
    except (ValueError, RecursionError):
        exact = None  # cannot be checked exactly: treat it as rounded
    if exact is None or _has_out_of_range_integer(exact):
        raise IntegerOutOfRange("json integer beyond 64 bits cannot be represented exactly")


def _has_big_exponent(output: bytes) -> bool:
    """Whether some ``<digit>e+NN`` with NN >= 18 ends a number in ``output``.

    Finding one byte is far faster than a regex scan of a large payload, and real payloads hold
    few ``+`` bytes, so the pattern is only matched where a ``+`` is. A payload with many of them
    (in strings) gets one regex scan of the rest instead of a probe per ``+``.
    """
    plus = output.find(_PLUS, 2)
    for _ in range(_MAX_PLUS_PROBES):
        if plus == -1:
            return False
        if output[plus - 2] in _DIGITS and _BIG_EXPONENT.match(output, plus - 1) is not None:
            return True
        plus = output.find(_PLUS, plus + 1)
    if plus == -1:
        return False
    return any(
        output[match.start() - 1] in _DIGITS for match in _BIG_EXPONENT.finditer(output, plus - 1)
    )


def _has_out_of_range_integer(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif type(item) is int and not _INT64_MIN <= item <= _UINT64_MAX:
            return True
    return False


def _openers(payload: bytes, byte: bytes) -> int:
    # ``replace`` finds a single byte with memchr; ``count`` compares every byte (5x slower).
    return len(payload) - len(payload.replace(byte, b""))


def _too_deep(payload: bytes, value: dict[str, Any]) -> bool:
    # Large documents nearly always hold more containers than the limit: counting would only
    # add to the exact check, so they go straight to it.
    if len(payload) <= _COUNT_BELOW_BYTES and (
        _openers(payload, b"{") + _openers(payload, b"[") <= MAX_JSON_DEPTH
    ):
        return False
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return True
    return False


def parse_object(payload: bytes) -> dict[str, Any]:
    """The payload's JSON object; raises ``InvalidJson`` for anything else."""
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(str(exc) or "invalid json") from exc
    if not isinstance(value, dict):
        raise InvalidJson("json value is not an object")
    if _too_deep(payload, value):
        raise InvalidJson(f"json nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def parse_json(message: Message, context: Context) -> Message:
    if message.document is not None:
        return message
    return message.evolve(document=parse_object(message.payload))
