"""Conditions of a rule: on attributes, on values in the JSON, on the client id; and bug lookup.

Attribute checks are plain functions of the attribute map, cheap enough to run for every rule;
payload checks walk a JSON path and run only once a rule's attribute checks hold. String
comparisons see only JSON strings (Jackson ``textValue()``), and a missing attribute behaves as
the reference's null does (see each operator). A docType's names (``document_namespace``,
``document_type``) are compared in snake_case form, as the schema store looks them up
(``names``); every other attribute, ``uri`` included, as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ...core.client_ids import payload_client_id
from ...core.names import snake_case
from .names import _DOCTYPE_ATTRIBUTES, _name_prefix_test, _name_test, _normalised_table
from .paths import JsonPath, parse_path, resolve
from .rule_file import _Invalid, _no_unknown_keys, _regex, _string, _strings, _table

Attributes = Mapping[str, str]
AttributeCheck = Callable[[Attributes], bool]
ValueTest = Callable[[Any], bool]

# --- Attributes ----------------------------------------------------------------------------------


def _attribute_test(where: str, name: str, operator: str, operand: object) -> AttributeCheck:
    if name in _DOCTYPE_ATTRIBUTES:
        check = _name_test(where, name, operator, operand)
        if check is None:
            raise _Invalid(f"{where}: unknown attribute operator {operator!r}")
        return check
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
    raw = tuple(name for name in names if name not in _DOCTYPE_ATTRIBUTES)
    doctype_names = tuple(name for name in names if name in _DOCTYPE_ATTRIBUTES)
    # A missing attribute counts as "" (Strings.nullToEmpty in the reference).
    if not doctype_names:
        return lambda attributes: not any(attributes.get(n, "").startswith(prefixes) for n in raw)
    test = _name_prefix_test(f"{where}.prefix", prefixes)

    def none_start_with(attributes: Attributes) -> bool:
        if any(attributes.get(n, "").startswith(prefixes) for n in raw):
            return False
        return not any(test(snake_case(attributes.get(n, ""))) for n in doctype_names)

    return none_start_with


# --- Payload -------------------------------------------------------------------------------------


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


# --- Client id -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _ClientIdCheck:
    """The payload's client id, by the ``core.client_ids`` precedence, is one of ``values``."""

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
    # A docType name is looked up in its normalised form (``names``), as the schema store does.
    normalise = attribute in _DOCTYPE_ATTRIBUTES

    def read(attributes: Attributes) -> str | None:
        value = attributes.get(attribute)
        return snake_case(value) if normalise and value is not None else value

    if match == "equals":
        exact = _normalised_table("bugs", table) if normalise else dict(table)

        def by_value(attributes: Attributes) -> str | None:
            value = read(attributes)
            return None if value is None else exact.get(value)

        return by_value
    if match == "starts_with":
        ordered = tuple(
            (_name_prefix_test(f"bugs.{prefix}", (prefix,)) if normalise else _starts(prefix), bug)
            for prefix, bug in table.items()
        )

        def by_prefix(attributes: Attributes) -> str | None:
            value = read(attributes)
            if value is not None:
                for starts_with, bug in ordered:
                    if starts_with(value):
                        return bug
            return None

        return by_prefix
    raise _Invalid(f"bug_by.match must be equals or starts_with, got {match!r}")


def _starts(prefix: str) -> Callable[[str], bool]:
    return lambda value: value.startswith(prefix)
