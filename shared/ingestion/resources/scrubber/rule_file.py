"""Validation helpers for the TOML rules file: each checks one value and names where it sits.

A helper raises ``_Invalid`` with the key path inside the rule (``attributes.app_version.matches``);
the loader adds the file and the rule, so a bad entry fails at load time with a ``ValueError``
that says exactly which line to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


class _Invalid(ValueError):
    """A problem inside one rule; the loader adds which file and rule."""


def _table(where: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be a table")
    return value


def _string(where: str, value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{where} must be a string, got {value!r}")
    return value


def _strings(where: str, value: object) -> tuple[str, ...]:
    """A string or a non-empty list of strings."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _Invalid(f"{where} must be a string or a non-empty list of strings, got {value!r}")


def _no_unknown_keys(where: str, table: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _Invalid(f"{where}: unknown key(s) {', '.join(unknown)}")


# Java writes named groups as (?<name>...); Python needs (?P<name>...). Lookbehinds are untouched.
_JAVA_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


def _regex(where: str, value: object) -> re.Pattern[str]:
    pattern = _string(where, value)
    try:
        return re.compile(_JAVA_NAMED_GROUP.sub("(?P<", pattern))
    except re.error as exc:
        raise _Invalid(f"{where}: invalid regex {pattern!r}: {exc}") from exc
