"""The message scrubber as data: a rules file interpreted by a small engine (§3.8, D-15.1, D-32).

Every rule of the reference ``MessageScrubber`` (S1-S17, R1-R5, U1) is an entry of
``ingestion/rules/scrubber.toml``: conditions on attributes and on the parsed JSON, and an action
(drop, unwanted, bug, redact). Keeping the rules as data means a new ignored namespace or a new
redaction is a one-line edit with no code change. The file is validated and compiled once at load
time: unknown keys, actions, operators or bad regexes fail with a ``ValueError`` naming the rule.
At run time a rule checks its attribute conditions first, so a message that no rule is about costs
a few dictionary lookups per rule; the JSON is only walked once a rule's attributes match.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from ..core.errors import AffectedByBug, MessageShouldBeDropped, UnwantedData
from ..core.message import Message
from ..core.uuids import normalize_uuid

SCHEMA_VERSION = 1
PHASES = ("uri", "payload")
_REJECTIONS: dict[str, Callable[[str], Exception]] = {
    "drop": MessageShouldBeDropped,
    "unwanted": UnwantedData,
    "bug": AffectedByBug,
}
ACTIONS = (*_REJECTIONS, "redact")

_TOP_LEVEL_KEYS = frozenset({"schema_version", "source", "rule", "code_sets"})
_RULE_KEYS = frozenset(
    {
        "id",
        "bug",
        "bug_by",
        "bugs",
        "phase",
        "action",
        "description",
        "attributes",
        "any",
        "none_start_with",
        "payload",
        "payload_any",
        "client_id",
        "redact",
    }
)
_CODE_SET_KEYS = frozenset({"codes", "include", "lowercase", "digit_prefix"})

Attributes = Mapping[str, str]
AttributeCheck = Callable[[Attributes], bool]
ValueTest = Callable[[Any], bool]


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


# --- JSON paths ----------------------------------------------------------------------------------


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


# --- Conditions ----------------------------------------------------------------------------------


def _attribute_test(where: str, name: str, operator: str, operand: object) -> AttributeCheck:
    if operator == "equals":
        expected = _string(where, operand)
        return lambda attributes: attributes.get(name) == expected
    if operator == "not_equals":
        # A missing attribute is "not equal", as Java's !"x".equals(null).
        unexpected = _string(where, operand)
        return lambda attributes: attributes.get(name) != unexpected
    if operator == "one_of":
        choices = frozenset(_strings(where, operand))
        return lambda attributes: attributes.get(name) in choices
    if operator == "starts_with":
        prefixes = _strings(where, operand)

        def starts_with(attributes: Attributes) -> bool:
            value = attributes.get(name)
            return value is not None and value.startswith(prefixes)

        return starts_with
    if operator == "matches":
        pattern = _regex(where, operand)

        def matches(attributes: Attributes) -> bool:
            value = attributes.get(name)
            return value is not None and pattern.fullmatch(value) is not None

        return matches
    raise _Invalid(f"{where}: unknown attribute operator {operator!r}")


def _attribute_checks(where: str, value: object) -> tuple[AttributeCheck, ...]:
    return tuple(check for _, check in _named_attribute_checks(where, value))


def _named_attribute_checks(where: str, value: object) -> list[tuple[str, AttributeCheck]]:
    """Each check with the attribute it reads."""
    checks: list[tuple[str, AttributeCheck]] = []
    for name, spec in _table(where, value).items():
        operators = _table(f"{where}.{name}", spec)
        if not operators:
            raise _Invalid(f"{where}.{name} has no operator")
        for operator, operand in operators.items():
            test = _attribute_test(f"{where}.{name}.{operator}", name, operator, operand)
            checks.append((name, test))
    return checks


def _none_start_with(where: str, value: object) -> AttributeCheck:
    table = _table(where, value)
    _no_unknown_keys(where, table, frozenset({"attributes", "prefix"}))
    if "attributes" not in table or "prefix" not in table:
        raise _Invalid(f"{where} needs attributes and prefix")
    names = _strings(f"{where}.attributes", table["attributes"])
    prefixes = _strings(f"{where}.prefix", table["prefix"])
    # A missing attribute counts as "" (Strings.nullToEmpty in the reference).
    return lambda attributes: (
        not any(attributes.get(name, "").startswith(prefixes) for name in names)
    )


def _string_test(test: Callable[[str], bool]) -> ValueTest:
    # Jackson textValue(): only JSON strings take part in string comparisons.
    return lambda value: isinstance(value, str) and test(value)


def _payload_test(where: str, operator: str, operand: object) -> ValueTest:
    if operator == "contains":
        needle = _string(where, operand)
        return _string_test(lambda value: needle in value)
    if operator == "starts_with":
        prefixes = _strings(where, operand)
        return _string_test(lambda value: value.startswith(prefixes))
    if operator == "matches":
        pattern = _regex(where, operand)
        return _string_test(lambda value: pattern.fullmatch(value) is not None)
    if operator == "non_null":
        if operand is not True:
            raise _Invalid(f"{where} must be true")
        return lambda value: value is not None
    raise _Invalid(f"{where}: unknown payload operator {operator!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class _PayloadCheck:
    path: JsonPath
    tests: tuple[ValueTest, ...]

    def holds(self, document: dict[str, Any]) -> bool:
        return any(
            all(test(value) for test in self.tests) for value in resolve(document, self.path)
        )


def _payload_checks(where: str, value: object) -> tuple[_PayloadCheck, ...]:
    if not isinstance(value, list) or not value:
        raise _Invalid(f"{where} must be a non-empty array of tables")
    checks = []
    for index, entry in enumerate(value):
        here = f"{where}[{index}]"
        table = _table(here, entry)
        if "path" not in table:
            raise _Invalid(f"{here} needs a path")
        path = parse_path(_string(f"{here}.path", table["path"]))
        operators = {k: v for k, v in table.items() if k != "path"}
        if not operators:
            raise _Invalid(f"{here} has no operator")
        tests = tuple(_payload_test(f"{here}.{op}", op, arg) for op, arg in operators.items())
        checks.append(_PayloadCheck(path, tests))
    return tuple(checks)


def payload_client_id(document: dict[str, Any], *, write_back: bool = False) -> str | None:
    """The client id by D-39 precedence; ``write_back`` normalises the field it came from."""
    client_info = document.get("client_info")
    if isinstance(client_info, dict):
        value = client_info.get("client_id")
        if isinstance(value, str) and value:
            normalized = normalize_uuid(value)
            if normalized is not None:
                if write_back:
                    client_info["client_id"] = normalized
                return normalized
    for field in ("client_id", "clientId"):
        value = document.get(field)
        if isinstance(value, str):
            normalized = normalize_uuid(value)
            if normalized is not None:
                if write_back:
                    document[field] = normalized
                return normalized
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class _ClientIdCheck:
    values: frozenset[str]
    write_back: bool

    def holds(self, document: dict[str, Any]) -> bool:
        return payload_client_id(document, write_back=self.write_back) in self.values


def _client_id_check(where: str, value: object) -> _ClientIdCheck:
    table = _table(where, value)
    _no_unknown_keys(where, table, frozenset({"equals", "one_of", "write_back"}))
    values: set[str] = set()
    if "equals" in table:
        values.add(_string(f"{where}.equals", table["equals"]))
    if "one_of" in table:
        values.update(_strings(f"{where}.one_of", table["one_of"]))
    if not values:
        raise _Invalid(f"{where} needs equals or one_of")
    write_back = table.get("write_back", False)
    if not isinstance(write_back, bool):
        raise _Invalid(f"{where}.write_back must be true or false")
    return _ClientIdCheck(frozenset(values), write_back)


# --- Bug ids -------------------------------------------------------------------------------------


def _bug_lookup(bug_by: object, bugs: object) -> Callable[[Attributes], str | None]:
    spec = _table("bug_by", bug_by)
    _no_unknown_keys("bug_by", spec, frozenset({"attribute", "match"}))
    attribute = _string("bug_by.attribute", spec.get("attribute"))
    match = spec.get("match", "equals")
    table = _table("bugs", bugs)
    if not table:
        raise _Invalid("bugs is empty")
    for key, bug in table.items():
        _string(f"bugs.{key}", bug)
    if match == "equals":
        exact: dict[str, str] = dict(table)

        def by_value(attributes: Attributes) -> str | None:
            value = attributes.get(attribute)
            return None if value is None else exact.get(value)

        return by_value
    if match == "starts_with":
        ordered = tuple(table.items())

        def by_prefix(attributes: Attributes) -> str | None:
            value = attributes.get(attribute)
            if value is not None:
                for prefix, bug in ordered:
                    if value.startswith(prefix):
                        return bug
            return None

        return by_prefix
    raise _Invalid(f"bug_by.match must be equals or starts_with, got {match!r}")


# --- Redactions ----------------------------------------------------------------------------------


class Redaction(Protocol):
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


def _code_sets(value: object) -> dict[str, frozenset[str]]:
    """Named code sets; ``include`` takes the final codes of sets defined earlier in the file."""
    built: dict[str, frozenset[str]] = {}
    for name, spec in _table("code_sets", value).items():
        where = f"code_sets.{name}"
        table = _table(where, spec)
        _no_unknown_keys(where, table, _CODE_SET_KEYS)
        codes = list(_strings(f"{where}.codes", table["codes"])) if "codes" in table else []
        includes = _strings(f"{where}.include", table["include"]) if "include" in table else ()
        for included in includes:
            if included not in built:
                raise _Invalid(f"{where}.include: no earlier code set named {included!r}")
            codes.extend(built[included])
        lowercase = table.get("lowercase", False)
        if not isinstance(lowercase, bool):
            raise _Invalid(f"{where}.lowercase must be true or false")
        if not codes:
            raise _Invalid(f"{where} has no codes")
        if lowercase:
            codes = [code.lower() for code in codes]
        digit_prefix = table.get("digit_prefix")
        if digit_prefix is not None:
            prefix = _string(f"{where}.digit_prefix", digit_prefix)
            codes = [prefix + code if code[:1].isdigit() else code for code in codes]
        built[name] = frozenset(codes)
    return built


# --- Rules ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    id: str
    phase: str
    action: str
    # The checks on document_namespace/document_type alone: they decide, once per docType,
    # whether the rule needs looking at all (see ScrubberRules._rules_for).
    doctype_gate: tuple[AttributeCheck, ...]
    bug: str | None
    bug_lookup: Callable[[Attributes], str | None] | None
    attribute_checks: tuple[AttributeCheck, ...]
    any_of: tuple[tuple[AttributeCheck, ...], ...]
    payload_all: tuple[_PayloadCheck, ...]
    payload_any: tuple[_PayloadCheck, ...]
    client_id: _ClientIdCheck | None
    redactions: tuple[Redaction, ...]
    # Whether bug_lookup reads document_namespace or document_type, i.e. is decided per docType.
    bug_by_doctype: bool = False

    def for_doctype(self, names: Attributes) -> Rule | None:
        """This rule with what a docType (``names``: its namespace and type) already decides.

        None when the rule cannot apply to the docType; otherwise a copy without the docType
        checks and, when the bug id depends on the docType alone, with that id fixed, so that a
        message pays only for the conditions that can still differ between its messages.
        """
        if not all(check(names) for check in self.doctype_gate):
            return None
        bug, bug_lookup = self.bug, self.bug_lookup
        if bug_lookup is not None and self.bug_by_doctype:
            bug, bug_lookup = bug_lookup(names), None
            if bug is None:
                return None
        remaining = tuple(
            check for check in self.attribute_checks if check not in self.doctype_gate
        )
        return dataclasses.replace(
            self,
            doctype_gate=(),
            bug=bug,
            bug_lookup=bug_lookup,
            attribute_checks=remaining,
            bug_by_doctype=False,
        )

    def bug_if_applies(self, attributes: Attributes, document: dict[str, Any]) -> str | None:
        """The rule's bug id when every condition holds, else None. Cheap checks go first."""
        for check in self.attribute_checks:
            if not check(attributes):
                return None
        if self.any_of and not any(all(c(attributes) for c in group) for group in self.any_of):
            return None
        bug = self.bug if self.bug_lookup is None else self.bug_lookup(attributes)
        if bug is None:
            return None
        for payload_check in self.payload_all:
            if not payload_check.holds(document):
                return None
        if self.payload_any and not any(c.holds(document) for c in self.payload_any):
            return None
        if self.client_id is not None and not self.client_id.holds(document):
            return None
        return bug


def _optional_list(where: str, value: object) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _Invalid(f"{where} must be a non-empty array of tables")
    return value


def _rule(raw: Mapping[str, Any], code_sets: Mapping[str, frozenset[str]]) -> Rule:
    _no_unknown_keys("rule", raw, _RULE_KEYS)
    phase = raw.get("phase")
    if phase not in PHASES:
        raise _Invalid(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
    action = raw.get("action")
    if action not in ACTIONS:
        raise _Invalid(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if ("bug" in raw) == ("bug_by" in raw):
        raise _Invalid("needs exactly one of bug or bug_by")
    if ("bug_by" in raw) != ("bugs" in raw):
        raise _Invalid("bug_by and bugs go together")
    if phase == "uri":
        payload_keys = sorted({"payload", "payload_any", "client_id", "redact"} & set(raw))
        if payload_keys:
            raise _Invalid(f"a uri-phase rule cannot use {', '.join(payload_keys)}")
    if (action == "redact") != ("redact" in raw):
        raise _Invalid("action redact and [[rule.redact]] entries go together")
    _string("description", raw.get("description", ""))

    named_checks = _named_attribute_checks("attributes", raw.get("attributes", {}))
    attribute_checks = tuple(check for _, check in named_checks)
    doctype_gate = tuple(check for name, check in named_checks if name in _DOCTYPE_ATTRIBUTES)
    if "none_start_with" in raw:
        attribute_checks += (_none_start_with("none_start_with", raw["none_start_with"]),)
    any_of = tuple(
        _attribute_checks(f"any[{i}]", group)
        for i, group in enumerate(_optional_list("any", raw["any"]) if "any" in raw else [])
    )
    if any(not group for group in any_of):
        raise _Invalid("an [[rule.any]] group has no condition")
    return Rule(
        id=raw["id"],
        phase=phase,
        action=action,
        doctype_gate=doctype_gate,
        bug=_string("bug", raw["bug"]) if "bug" in raw else None,
        bug_lookup=_bug_lookup(raw["bug_by"], raw["bugs"]) if "bug_by" in raw else None,
        attribute_checks=attribute_checks,
        any_of=any_of,
        payload_all=_payload_checks("payload", raw["payload"]) if "payload" in raw else (),
        payload_any=_payload_checks("payload_any", raw["payload_any"])
        if "payload_any" in raw
        else (),
        client_id=_client_id_check("client_id", raw["client_id"]) if "client_id" in raw else None,
        redactions=tuple(
            _redaction(f"redact[{i}]", entry, code_sets)
            for i, entry in enumerate(_optional_list("redact", raw["redact"]))
        )
        if "redact" in raw
        else (),
        bug_by_doctype="bug_by" in raw and raw["bug_by"].get("attribute") in _DOCTYPE_ATTRIBUTES,
    )


_DOCTYPE_KEYS = ("document_namespace", "document_type")
_DOCTYPE_ATTRIBUTES = frozenset(_DOCTYPE_KEYS)
_MAX_CACHED_DOCTYPES = 10_000


class ScrubberRules:
    """The compiled rules; ``check_uri`` for the ParseUri phase, ``scrub`` for ParsePayload."""

    def __init__(self, rules: Sequence[Rule], source: str = "<rules>") -> None:
        self.source = source
        self.rules = tuple(rules)
        self._uri_rules = tuple(rule for rule in self.rules if rule.phase == "uri")
        self._payload_rules = tuple(rule for rule in self.rules if rule.phase == "payload")
        self._by_doctype: dict[tuple[str | None, str | None], tuple[Rule, ...]] = {}

    @classmethod
    def load(cls, path: Path | None = None) -> ScrubberRules:
        if path is None:
            source = "ingestion/rules/scrubber.toml"
            data = (resources.files("ingestion") / "rules" / "scrubber.toml").read_bytes()
        else:
            source = str(path)
            data = Path(path).read_bytes()
        try:
            document = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{source}: not a valid TOML file: {exc}") from exc
        return cls.from_mapping(document, source)

    @classmethod
    def from_mapping(cls, document: Mapping[str, Any], source: str = "<rules>") -> ScrubberRules:
        """Validate and compile a parsed rules file; ValueError names the file and the rule."""
        try:
            _no_unknown_keys("rules file", document, _TOP_LEVEL_KEYS)
            if document.get("schema_version") != SCHEMA_VERSION:
                raise _Invalid(f"schema_version must be {SCHEMA_VERSION}")
            code_sets = _code_sets(document.get("code_sets", {}))
            raw_rules = document.get("rule")
            if not isinstance(raw_rules, list) or not raw_rules:
                raise _Invalid("no [[rule]] entries")
        except _Invalid as exc:
            raise ValueError(f"{source}: {exc}") from None
        rules: list[Rule] = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_rules):
            rule_id = raw.get("id") if isinstance(raw, dict) else None
            name = f"rule {rule_id!r}" if isinstance(rule_id, str) else f"rule #{index + 1}"
            try:
                if not isinstance(raw, dict):
                    raise _Invalid("must be a table")
                if not isinstance(rule_id, str) or not rule_id:
                    raise _Invalid("needs a non-empty string id")
                if rule_id in seen:
                    raise _Invalid("duplicate id")
                seen.add(rule_id)
                rules.append(_rule(raw, code_sets))
            except _Invalid as exc:
                raise ValueError(f"{source}: {name}: {exc}") from None
        return cls(rules, source)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)

    def _run(
        self, rules: tuple[Rule, ...], attributes: Attributes, document: dict[str, Any]
    ) -> None:
        for rule in rules:
            bug = rule.bug_if_applies(attributes, document)
            if bug is None:
                continue
            if rule.action == "redact":
                for redaction in rule.redactions:
                    redaction.apply(document)
                continue
            raise _REJECTIONS[rule.action](bug)

    def check_uri(self, message: Message) -> None:
        """The URI-phase rules (U1); raises the rejection of the first rule that applies."""
        self._run(self._uri_rules, message.attributes, {})

    def scrub(self, message: Message) -> Message:
        """The payload-phase rules in file order; redacts ``message.document`` in place."""
        document = message.document if message.document is not None else {}
        attributes = message.attributes
        self._run(self._rules_for(attributes), attributes, document)
        return message

    def _rules_for(self, attributes: Attributes) -> tuple[Rule, ...]:
        """The payload rules that can apply to this docType, in order, narrowed to it.

        Most rules name a namespace or docType (or take their bug id from one), so most
        messages need only a few rules, each with fewer checks (``Rule.for_doctype``); the
        answer is cached per docType (bounded, since the names come from clients).
        """
        namespace = attributes.get("document_namespace")
        doctype = attributes.get("document_type")
        key = (namespace, doctype)
        rules = self._by_doctype.get(key)
        if rules is None:
            names = {k: v for k, v in zip(_DOCTYPE_KEYS, key, strict=True) if v is not None}
            narrowed = (rule.for_doctype(names) for rule in self._payload_rules)
            rules = tuple(rule for rule in narrowed if rule is not None)
            if len(self._by_doctype) >= _MAX_CACHED_DOCTYPES:
                self._by_doctype.clear()
            self._by_doctype[key] = rules
        return rules
