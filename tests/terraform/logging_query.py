"""The part of the Cloud Logging query language that terraform/modules/monitoring uses, evaluated
against log entries, and the structured-log rules that turn a function's stdout line into one.

Supported (https://cloud.google.com/logging/docs/view/logging-query-language):

- comparisons ``FIELD OP VALUE`` with OP one of ``=``, ``!=``, ``:`` (has: substring, case
  insensitive), ``=~`` and ``!~`` (RE2 search, unanchored: the filters anchor themselves);
  FIELD a dotted path (``jsonPayload.counter``, ``resource.labels.service_name``), VALUE a
  double-quoted string (``\\"`` and ``\\\\`` escapes) or a bare word;
- ``NOT``, ``AND``, ``OR`` and parentheses, with the language's precedence: NOT, then OR, then
  AND (``a AND b OR c`` is ``a AND (b OR c)``); terms side by side are ANDed;
- a missing field fails every comparison but ``!=`` and ``!~``;
- the extractors ``EXTRACT(path)`` and ``REGEXP_EXTRACT(path, "re")`` (the first group; no
  match gives an empty label).

Anything else raises ``Unsupported``, so a filter that grows beyond this subset fails the test
instead of being half-checked. Python's ``re`` stands in for RE2 on the patterns used (character
classes, groups, alternation, anchors).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op>=~|!~|!=|=|:)|(?P<paren>[()])'
    r"|(?P<word>[A-Za-z0-9_.@/\-]+))"
)
# stdout fields Cloud Logging's structured logging takes out of jsonPayload.
_SPECIAL = {
    "severity": "severity",
    "logging.googleapis.com/trace": "trace",
    "logging.googleapis.com/spanId": "spanId",
    "logging.googleapis.com/trace_sampled": "traceSampled",
}


class Unsupported(ValueError):
    """The query uses something outside the subset above."""


def log_entry(line: str, service: str) -> dict[str, Any]:
    """The LogEntry Cloud Run writes for one JSON line a 2nd gen function printed."""
    payload = orjson.loads(line)
    entry: dict[str, Any] = {
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": service}},
        "logName": "run.googleapis.com%2Fstdout",
    }
    for field, entry_field in _SPECIAL.items():
        if field in payload:
            entry[entry_field] = payload.pop(field)
    entry["jsonPayload"] = payload
    return entry


def _tokens(query: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    query = query.rstrip()
    while position < len(query):
        found = _TOKEN.match(query, position)
        if found is None or found.end() == position:
            raise Unsupported(f"cannot read {query[position:]!r}")
        kind = found.lastgroup
        assert kind is not None
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens


def _unquote(token: tuple[str, str]) -> str:
    kind, text = token
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "word":
        return text
    raise Unsupported(f"expected a value, got {text!r}")


def field(entry: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or None."""
    value: Any = entry
    for name in path.split("."):
        if not isinstance(value, Mapping) or name not in value:
            return None
        value = value[name]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compare(entry: Mapping[str, Any], path: str, op: str, expected: str) -> bool:
    value = field(entry, path)
    if value is None or isinstance(value, Mapping | list):
        return op in ("!=", "!~")
    actual = _text(value)
    if op == "=":
        return actual == expected
    if op == "!=":
        return actual != expected
    if op == ":":
        return expected.lower() in actual.lower()
    found = re.search(expected, actual) is not None
    return found if op == "=~" else not found


class _Parser:
    def __init__(self, query: str, entry: Mapping[str, Any]) -> None:
        self.tokens = _tokens(query)
        self.position = 0
        self.entry = entry

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise Unsupported("unexpected end of query")
        self.position += 1
        return token

    def parse(self) -> bool:
        result = self._and()
        if self._peek() is not None:
            raise Unsupported(f"unexpected {self._peek()}")
        return result

    def _and(self) -> bool:
        result = self._or()
        while (token := self._peek()) is not None and token != ("paren", ")"):
            if token == ("word", "AND"):
                self._take()
            result = self._or() and result  # both sides parsed: no short cut past a term
        return result

    def _or(self) -> bool:
        result = self._unary()
        while self._peek() == ("word", "OR"):
            self._take()
            result = self._unary() or result
        return result

    def _unary(self) -> bool:
        token = self._take()
        if token == ("word", "NOT"):
            return not self._unary()
        if token == ("paren", "("):
            result = self._and()
            if self._take() != ("paren", ")"):
                raise Unsupported("unbalanced parentheses")
            return result
        if token[0] != "word":
            raise Unsupported(f"expected a field, got {token[1]!r}")
        kind, op = self._take()
        if kind != "op":
            raise Unsupported(f"bare term {token[1]!r} (global search) is not supported")
        return _compare(self.entry, token[1], op, _unquote(self._take()))


def matches(query: str, entry: Mapping[str, Any]) -> bool:
    return _Parser(query, entry).parse()


_EXTRACT = re.compile(r"EXTRACT\(([\w.]+)\)")
_REGEXP_EXTRACT = re.compile(r'REGEXP_EXTRACT\(([\w.]+),\s*"((?:[^"\\]|\\.)*)"\)')


def extract(extractor: str, entry: Mapping[str, Any]) -> str | None:
    """A value or label extractor applied to ``entry``; None when the field is missing."""
    if (found := _REGEXP_EXTRACT.fullmatch(extractor)) is not None:
        value = field(entry, found.group(1))
        if value is None:
            return None
        match = re.search(re.sub(r"\\(.)", r"\1", found.group(2)), _text(value))
        return match.group(1) if match is not None else ""
    if (found := _EXTRACT.fullmatch(extractor)) is not None:
        value = field(entry, found.group(1))
        return None if value is None else _text(value)
    raise Unsupported(f"extractor {extractor!r}")
