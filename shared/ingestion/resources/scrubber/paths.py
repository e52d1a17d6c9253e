"""JSON paths in the rules file (``a.b[*][5]["x.y"]``), parsed once and walked per message.

Walking follows Jackson's ``path()``: a missing key or index reaches nothing rather than failing,
and a wildcard walks an object's values as well as an array's items, as the reference does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from .rule_file import _Invalid


class _Wildcard:
    def __repr__(self) -> str:
        return "[*]"


WILDCARD = _Wildcard()
Segment = str | int | _Wildcard
JsonPath = tuple[Segment, ...]

_PATH_SEGMENT = re.compile(
    r'(?:^|\.)(?P<key>[^.\[\]"]+)|\[(?:(?P<star>\*)|(?P<index>\d+)|"(?P<quoted>[^"]*)")\]'
)


def parse_path(text: str) -> JsonPath:
    """``a.b[*][5]["x.y"]`` -> ("a", "b", WILDCARD, 5, "x.y"); raises ValueError when malformed."""
    segments: list[Segment] = []
    position = 0
    if not text or text.startswith("."):
        raise _Invalid(f"invalid path {text!r}")
    while position < len(text):
        match = _PATH_SEGMENT.match(text, position)
        if match is None:
            raise _Invalid(f"invalid path {text!r} at character {position}")
        if match["key"] is not None:
            segments.append(match["key"])
        elif match["star"] is not None:
            segments.append(WILDCARD)
        elif match["index"] is not None:
            segments.append(int(match["index"]))
        else:
            segments.append(match["quoted"])
        position = match.end()
    return tuple(segments)


def _children(node: Any, segment: Segment) -> Iterator[Any]:
    """What one path segment reaches from ``node``, with Jackson ``path()`` semantics."""
    if isinstance(segment, str):
        if isinstance(node, dict) and segment in node:
            yield node[segment]
    elif isinstance(segment, int):
        if isinstance(node, list) and segment < len(node):
            yield node[segment]
    elif isinstance(node, list):
        yield from node
    elif isinstance(node, dict):
        # Jackson's elements() walks an object's values as well as an array's items.
        yield from node.values()


def resolve(node: Any, path: Sequence[Segment]) -> Iterator[Any]:
    """Every value present at ``path`` (several when it has wildcards, none when absent)."""
    if not path:
        yield node
        return
    head, rest = path[0], path[1:]
    for child in _children(node, head):
        yield from resolve(child, rest)
