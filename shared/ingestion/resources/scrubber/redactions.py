"""What a ``redact`` rule does to the JSON: null a field, remove it, or scrub search codes (R1-R5).

Each redaction is built once from its ``[[rule.redact]]`` table and then applied in place to the
parsed document; a path that reaches nothing, or reaches something of the wrong kind, is a no-op.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Protocol

from .paths import JsonPath, parse_path, resolve
from .rule_file import _Invalid, _no_unknown_keys, _regex, _string, _strings, _table


class Redaction(Protocol):
    """One in-place edit of the parsed document."""

    def apply(self, document: dict[str, Any]) -> None: ...


def _parents_and_key(where: str, text: object) -> tuple[JsonPath, str]:
    path = parse_path(_string(where, text))
    if not isinstance(path[-1], str):
        raise _Invalid(f"{where}: a redacted path must end in an object key, got {text!r}")
    return path[:-1], path[-1]


@dataclasses.dataclass(frozen=True, slots=True)
class _SetNull:
    parents: JsonPath
    key: str

    def apply(self, document: dict[str, Any]) -> None:
        for parent in list(resolve(document, self.parents)):
            if isinstance(parent, dict) and self.key in parent:
                parent[self.key] = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Remove:
    parents: JsonPath
    key: str

    def apply(self, document: dict[str, Any]) -> None:
        for parent in list(resolve(document, self.parents)):
            if isinstance(parent, dict):
                parent.pop(self.key, None)


@dataclasses.dataclass(frozen=True, slots=True)
class _SearchCodes:
    """Rename keys whose search partner code is not on the allowed list (R4, R5).

    With ``allowed_channels`` (mobile), a valid code keeps an allowed channel suffix and loses any
    other. Renaming is pop-then-set in key order, which reproduces the reference's
    ``LinkedHashMap`` behaviour, including which value wins when two keys collapse into one.
    """

    path: JsonPath
    child_key_prefix: str | None
    key_pattern: re.Pattern[str]
    allowed_codes: frozenset[str]
    replacement: str
    allowed_channels: frozenset[str] | None

    def _targets(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        targets: list[dict[str, Any]] = []
        for node in resolve(document, self.path):
            if not isinstance(node, dict):
                continue
            if self.child_key_prefix is None:
                targets.append(node)
                continue
            prefix = self.child_key_prefix
            targets.extend(
                child
                for key, child in node.items()
                if key.startswith(prefix) and isinstance(child, dict)
            )
        return targets

    def _new_key(self, match: re.Match[str]) -> str | None:
        prefix, code = match["prefix"], match["code"]
        code_is_valid = code in self.allowed_codes
        if self.allowed_channels is None:
            return None if code_is_valid else prefix + self.replacement
        channel = match["channel"]
        if code_is_valid and (not channel or channel in self.allowed_channels):
            return None
        if not code_is_valid:
            return prefix + self.replacement
        return prefix + code

    def apply(self, document: dict[str, Any]) -> None:
        for searches in self._targets(document):
            for name in list(searches):
                match = self.key_pattern.fullmatch(name)
                if match is None:
                    continue
                new_key = self._new_key(match)
                if new_key is not None:
                    value = searches.pop(name)
                    searches[new_key] = value


_REDACTION_KEYS = {
    "set_null": frozenset({"kind", "path"}),
    "remove": frozenset({"kind", "path"}),
    "desktop_search_codes": frozenset(
        {"kind", "path", "child_key_prefix", "key_pattern", "allowed_codes", "replacement"}
    ),
    "mobile_search_codes": frozenset(
        {
            "kind",
            "path",
            "child_key_prefix",
            "key_pattern",
            "allowed_codes",
            "allowed_channels",
            "replacement",
        }
    ),
}


def _redaction(where: str, value: object, code_sets: Mapping[str, frozenset[str]]) -> Redaction:
    table = _table(where, value)
    kind = table.get("kind")
    if kind not in _REDACTION_KEYS:
        raise _Invalid(f"{where}: unknown redaction kind {kind!r}")
    _no_unknown_keys(where, table, _REDACTION_KEYS[kind])
    missing = sorted(_REDACTION_KEYS[kind] - {"child_key_prefix"} - set(table))
    if missing:
        raise _Invalid(f"{where}: {kind} needs {', '.join(missing)}")
    if kind == "set_null":
        return _SetNull(*_parents_and_key(f"{where}.path", table["path"]))
    if kind == "remove":
        return _Remove(*_parents_and_key(f"{where}.path", table["path"]))
    pattern = _regex(f"{where}.key_pattern", table["key_pattern"])
    required_groups = {"prefix", "code"} | ({"channel"} if kind == "mobile_search_codes" else set())
    if not required_groups <= set(pattern.groupindex):
        raise _Invalid(f"{where}.key_pattern needs groups {', '.join(sorted(required_groups))}")
    set_name = _string(f"{where}.allowed_codes", table["allowed_codes"])
    if set_name not in code_sets:
        raise _Invalid(f"{where}.allowed_codes: no code set named {set_name!r}")
    child_key_prefix = table.get("child_key_prefix")
    return _SearchCodes(
        path=parse_path(_string(f"{where}.path", table["path"])),
        child_key_prefix=None
        if child_key_prefix is None
        else _string(f"{where}.child_key_prefix", child_key_prefix),
        key_pattern=pattern,
        allowed_codes=code_sets[set_name],
        replacement=_string(f"{where}.replacement", table["replacement"]),
        allowed_channels=frozenset(_strings(f"{where}.allowed_channels", table["allowed_channels"]))
        if kind == "mobile_search_codes"
        else None,
    )
