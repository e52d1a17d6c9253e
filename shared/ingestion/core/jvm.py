"""Java behaviour the reference decoder relies on, ported once (porting pitfalls 1 and 4).

``String.split`` with a literal separator drops trailing empty strings, which Python's does not;
``Integer.parseInt`` accepts an optional sign and decimal digits of any script, within 32 bits.
"""

from __future__ import annotations

import re

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# Java's Character.isDigit, like Python's \d on str, takes every Unicode decimal digit.
_JAVA_INTEGER = re.compile(r"[+-]?\d+")


def java_split(text: str, separator: str) -> list[str]:
    """``text.split(separator)`` as Java's ``String.split`` with a literal separator does it.

    Leading and inner empty strings are kept and trailing ones dropped; a text without the
    separator is returned whole (so ``""`` gives ``[""]``), while a text made only of separators
    gives no element at all.
    """
    if separator not in text:
        return [text]
    parts = text.split(separator)
    while parts and not parts[-1]:
        parts.pop()
    return parts


def parse_int(text: str) -> int | None:
    """``Integer.parseInt(text)``, or None where Java throws ``NumberFormatException``."""
    if _JAVA_INTEGER.fullmatch(text) is None:
        return None
    try:
        value = int(text)
    except ValueError:  # more digits than Python converts; far beyond 32 bits anyway
        return None
    return value if INT_MIN <= value <= INT_MAX else None
