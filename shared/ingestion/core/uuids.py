"""UUID rules pinned to the reference decoder's Java behaviour (D-13, D-15, D-39, pitfalls 2-3).

``java_uuid`` accepts exactly what ``java.util.UUID.fromString`` accepts: at most 36 characters,
five dash-separated non-empty hex groups, each optionally with a leading ``+``; an over-long group
keeps its low bits. It returns the canonical lower-case rendering, or None when Java would throw.
Python's own ``uuid.UUID`` is deliberately not used: it also accepts 32 bare hex digits, braces and
``urn:uuid:`` prefixes, which the reference rejects.
"""

from __future__ import annotations

import hashlib
import re
import uuid

_HEX = frozenset("0123456789abcdefABCDEF")
_MASKS = (0xFFFFFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFFFFFF)
_LONG_MAX = (1 << 63) - 1


def _parse_group(group: str) -> int | None:
    digits = group[1:] if group.startswith("+") else group
    if not digits or not _HEX.issuperset(digits):
        return None
    value = int(digits, 16)
    return value if value <= _LONG_MAX else None


# The canonical 8-4-4-4-12 form, which nearly every real id has: no parsing needed.
_CANONICAL = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def java_uuid(text: str) -> str | None:
    if _CANONICAL.fullmatch(text) is not None:
        return text.lower()
    if len(text) > 36:
        return None
    groups = text.split("-")
    if len(groups) != 5:
        return None
    parts: list[int] = []
    for group, mask in zip(groups, _MASKS, strict=True):
        value = _parse_group(group)
        if value is None:
            return None
        parts.append(value & mask)
    return "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}".format(*parts)


def normalize_uuid(text: str) -> str | None:
    """Braces stripped and lower-cased when Java accepts it as a UUID, else None (D-39).

    Like the reference, the accepted text is kept as written (only lower-cased), not re-rendered,
    so ``client_id``, the value written back into the payload and ``sample_id`` match it.
    """
    if _CANONICAL.fullmatch(text) is not None:  # nearly every id: no braces, nothing to parse
        return text.lower()
    stripped = text.replace("{", "").replace("}", "")
    return stripped.lower() if java_uuid(stripped) is not None else None


def name_uuid_from_bytes(data: bytes) -> str:
    """Java's ``UUID.nameUUIDFromBytes``: MD5 of the bytes, version 3, no namespace (D-13)."""
    return str(uuid.UUID(bytes=hashlib.md5(data).digest(), version=3))
