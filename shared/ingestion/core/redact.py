"""Client IP addresses out of input that could not be read as a message (D-69).

An unreadable request or line still becomes an error output carrying what arrived, so that no
input is lost. Its shape is exactly what could not be trusted (a push envelope, a CloudEvent
whose ``data`` is a JSON string, attributes given as a list of pairs, duplicate keys, no JSON at
all), so nothing here depends on it. What is published is what can be shown IP-free:

- when the body is JSON, every field named like a client-IP attribute (``remote_addr``,
  ``x_forwarded_for``, in any case, with ``-`` or ``_``) is removed at any depth, a ``[name,
  value]`` pair with such a name too, and strings that are themselves JSON are treated the same
  way; then every string has its IP-looking substrings replaced;
- when it is not JSON, its IP-looking substrings are replaced in the bytes.

IP-looking: four dot-separated numbers of one to three digits (whatever their values), or a run
of hex digits, ``:`` and ``.`` with at least two colons, which every textual IPv6 address is.
Both are replaced by ``[ip]``; the second also takes times such as ``10:15:30``, a price worth
paying in a body that is kept only as evidence. A JSON body nested too deeply to rebuild is
redacted as text, unless it holds ``\\`` escapes (which could spell an address that no text
match sees): then only its length is kept.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .message import is_client_ip_name

REPLACEMENT = "[ip]"
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_HEX_RUN = re.compile(r"[0-9A-Fa-f:.]+")  # maximal runs: linear, whatever the input
# Nested JSON strings are parsed this many levels deep; deeper ones are redacted as text.
_MAX_EMBEDDED = 4


def _ipv6_like(match: re.Match[str]) -> str:
    return REPLACEMENT if match.group().count(":") >= 2 else match.group()


def redact_text(text: str) -> str:
    """``text`` with every IP-looking substring replaced by ``[ip]``."""
    if text.count(":") >= 2:
        text = _HEX_RUN.sub(_ipv6_like, text)
    if "." in text:
        text = _IPV4.sub(REPLACEMENT, text)
    return text


def _clean(node: Any, embedded: int = 0) -> Any:
    """A copy of a parsed JSON value with IP fields dropped and IP-looking text replaced."""
    if isinstance(node, dict):
        return {
            redact_text(key): _clean(value, embedded)
            for key, value in node.items()
            if not is_client_ip_name(key)
        }
    if isinstance(node, list):
        if len(node) == 2 and is_client_ip_name(node[0]):  # an attribute as a [name, value] pair
            return []
        return [_clean(item, embedded) for item in node]
    if isinstance(node, str):
        if embedded < _MAX_EMBEDDED and node[:1] in ("{", "["):
            try:
                inner = orjson.loads(node)
            except orjson.JSONDecodeError:
                return redact_text(node)
            return orjson.dumps(_clean(inner, embedded + 1)).decode()
        return redact_text(node)
    return node


def _redact_bytes(body: bytes) -> bytes:
    text = body.decode("utf-8", "surrogateescape")
    return redact_text(text).encode("utf-8", "surrogateescape")


def without_client_ip(body: bytes) -> bytes:
    """``body`` with nothing left in it that names or looks like an IP address."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _redact_bytes(body)
    try:
        return orjson.dumps(_clean(document))
    except (RecursionError, orjson.JSONEncodeError):
        if b"\\" in body:
            return orjson.dumps({"redacted": "nested too deeply to check", "bytes": len(body)})
        return _redact_bytes(body)
