"""Two JSON Schema engines behind one small interface (D-36, §10 "D-36 formats").

The reference validates with everit, stopping at the first failure (``failEarly``). Here a
validator is a plain callable that returns for a valid document and raises ``SchemaViolation``
with one everit-style message, ``#<json-pointer>: <text>``, for an invalid one. Both engines:

- follow the schema's ``$schema`` (draft-04 or draft-06; a schema without one is read as
  draft-04, everit's default);
- check the standard formats ``date-time``, ``uri`` and ``hostname`` (everit does) and ignore
  the pipeline-schemas' own ``datetime``, ``json`` and ``bytes`` (everit does not know them);
- never change the document (fastjsonschema would otherwise insert ``default`` values).

``jsonschema-rs`` is the default: it compiles main.4 in a few milliseconds and validates a full
desktop main ping about ten times faster than ``fastjsonschema``, whose compile of main.4 takes
hundreds of milliseconds.

The messages that everit's wording is known for (a missing required key, a wrong type, an
extraneous key) are rendered the same by both engines; any other failure keeps the engine's own
text after the ``#<pointer>: `` prefix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import fastjsonschema
import jsonschema_rs

from ..core.errors import SchemaViolation

Validator = Callable[[Any], None]

ENGINES = ("jsonschema-rs", "fastjsonschema")
DEFAULT_ENGINE = "jsonschema-rs"

DRAFT_04 = "http://json-schema.org/draft-04/schema#"

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1

# everit names the expected type after the Java class its schema type validates against.
_EVERIT_EXPECTED = {
    "string": "String",
    "number": "Number",
    "integer": "Integer",
    "boolean": "Boolean",
    "object": "JSONObject",
    "array": "JSONArray",
}

# Keywords whose value is a schema or a list of schemas, and those mapping names to schemas.
_SUBSCHEMAS = frozenset(
    {
        "items",
        "additionalItems",
        "additionalProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "contains",
        "propertyNames",
    }
)
_SUBSCHEMA_MAPS = frozenset(("properties", "patternProperties", "definitions", "dependencies"))

# fastjsonschema names a location like ``data.payload.histograms[3]``.
_FJS_NAME_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_FJS_INDEX = re.compile(r"\[(\d+)\]")


def compile_schema(schema: Mapping[str, Any], engine: str = DEFAULT_ENGINE) -> Validator:
    """A validator for ``schema`` that raises ``SchemaViolation`` on the first failure."""
    if "$schema" not in schema:
        schema = {**schema, "$schema": DRAFT_04}
    if engine == "jsonschema-rs":
        return _compile_jsonschema_rs(dict(schema))
    if engine == "fastjsonschema":
        return _compile_fastjsonschema(dict(schema))
    raise ValueError(f"unknown validation engine {engine!r}; expected one of {ENGINES}")


# --- jsonschema-rs ---------------------------------------------------------------------------
def _compile_jsonschema_rs(schema: dict[str, Any]) -> Validator:
    # Unknown formats (datetime, json, bytes) are ignored by default (ignore_unknown_formats).
    try:
        compiled = jsonschema_rs.validator_for(schema, validate_formats=True)
    except jsonschema_rs.ValidationError:
        # jsonschema-rs checks the schema against its meta-schema, everit does not. The one
        # violation seen in practice is draft-04's "required": [] (gcp-ingestion's test/test),
        # which means the same as no "required" at all.
        compiled = jsonschema_rs.validator_for(
            _without_empty_required(schema), validate_formats=True
        )
    is_valid, validate = compiled.is_valid, compiled.validate

    def validator(document: Any) -> None:
        # is_valid() is the engine's fastest pass (5-10 % faster than validate() on a large
        # valid ping); only an invalid document pays a second pass, for its first error. The
        # rejection is raised outside the except block so that it carries no chained engine
        # error (whose text repeats the whole instance).
        if is_valid(document):
            return
        try:
            validate(document)
        except jsonschema_rs.ValidationError as error:
            message = _render_jsonschema_rs(error)
        else:  # both passes judge alike; validate() has the last word
            return
        raise SchemaViolation(message)

    return validator


def _render_jsonschema_rs(error: jsonschema_rs.ValidationError) -> str:
    pointer = json_pointer(error.instance_path)
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        return _required_text(pointer, str(kind.property))
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Type) and len(kind.types) == 1:
        text = _type_text(kind.types[0], error.instance)
        if text is not None:
            return f"{pointer}: {text}"
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties) and kind.unexpected:
        return _extraneous_text(pointer, str(kind.unexpected[0]))
    return f"{pointer}: {error.message}"


def _without_empty_required(schema: Any) -> Any:
    """A copy of ``schema`` where no (sub)schema has an empty ``required`` list."""
    if isinstance(schema, list):
        return [_without_empty_required(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy: dict[str, Any] = {}
    for keyword, value in schema.items():
        if keyword == "required" and value == []:
            continue
        if keyword in _SUBSCHEMA_MAPS and isinstance(value, dict):
            copy[keyword] = {name: _without_empty_required(sub) for name, sub in value.items()}
        elif keyword in _SUBSCHEMAS:
            copy[keyword] = _without_empty_required(value)
        else:
            copy[keyword] = value
    return copy


# --- fastjsonschema --------------------------------------------------------------------------
def _compile_fastjsonschema(schema: dict[str, Any]) -> Validator:
    # Only formats fastjsonschema knows for the draft are checked; others are skipped, which
    # is what everit does with datetime, json and bytes.
    validate = fastjsonschema.compile(schema, use_default=False)

    def validator(document: Any) -> None:
        try:
            validate(document)
        except fastjsonschema.JsonSchemaValueException as error:
            message = _render_fastjsonschema(error, document)
        else:
            return
        raise SchemaViolation(message)

    return validator


def _render_fastjsonschema(error: fastjsonschema.JsonSchemaValueException, document: Any) -> str:
    name = error.name or "data"
    pointer = json_pointer(_fastjsonschema_path(name, document))
    value, rule, definition = error.value, error.rule, error.definition or {}
    if rule == "required" and isinstance(value, dict):
        missing = next((key for key in definition.get("required", ()) if key not in value), None)
        if missing is not None:
            return _required_text(pointer, str(missing))
    if rule == "type" and isinstance(definition.get("type"), str):
        text = _type_text(definition["type"], value)
        if text is not None:
            return f"{pointer}: {text}"
    if rule == "additionalProperties" and isinstance(value, dict):
        extra = _first_additional_property(value, definition)
        if extra is not None:
            return _extraneous_text(pointer, extra)
    text = error.message or ""
    if text.startswith(name + " "):
        text = text[len(name) + 1 :]
    return f"{pointer}: {text}"


def _fastjsonschema_path(name: str, document: Any) -> list[str | int]:
    """The failing location as a path; dotted keys are told apart by looking at the document."""
    rest = name[len("data") :] if name.startswith("data") else name
    resolved = _resolve_name(document, rest)
    if resolved is not None:
        return resolved
    path: list[str | int] = []
    for match in _FJS_NAME_PART.finditer(rest):
        key, index = match.groups()
        path.append(int(index) if index is not None else key)
    return path


def _resolve_name(node: Any, rest: str) -> list[str | int] | None:
    if not rest:
        return []
    if rest[0] == "[":
        match = _FJS_INDEX.match(rest)
        if match is None or not isinstance(node, list) or int(match[1]) >= len(node):
            return None
        index = int(match[1])
        below = _resolve_name(node[index], rest[match.end() :])
        return None if below is None else [index, *below]
    if rest[0] != "." or not isinstance(node, dict):
        return None
    # A key may itself contain "." or "[": try every cut, shortest key first.
    for end in range(2, len(rest) + 1):
        if end < len(rest) and rest[end] not in ".[":
            continue
        key = rest[1:end]
        if key in node:
            below = _resolve_name(node[key], rest[end:])
            if below is not None:
                return [key, *below]
    return None


def _first_additional_property(value: dict[str, Any], definition: Mapping[str, Any]) -> str | None:
    properties = definition.get("properties") or {}
    patterns = [re.compile(p) for p in (definition.get("patternProperties") or {})]
    for key in value:
        if key not in properties and not any(p.search(key) for p in patterns):
            return str(key)
    return None


# --- everit-style wording --------------------------------------------------------------------
def json_pointer(path: Sequence[str | int]) -> str:
    """``#`` for the root, ``#/a/0/b`` below it (RFC 6901 escaping), as everit prints it."""
    if not path:
        return "#"
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _required_text(pointer: str, key: str) -> str:
    return f"{pointer}: required key [{key}] not found"


def _extraneous_text(pointer: str, key: str) -> str:
    return f"{pointer}: extraneous key [{key}] is not permitted"


def _type_text(expected: str, value: Any) -> str | None:
    """``expected type: String, found: Integer``, or None where everit's wording is unknown."""
    found = _java_class_name(value)
    if expected == "integer" and found not in ("Integer", "Long", "BigInteger", "BigDecimal"):
        # everit's integer check runs after its number check.
        expected = "number"
    name = _EVERIT_EXPECTED.get(expected)
    return None if name is None else f"expected type: {name}, found: {found}"


def _java_class_name(value: Any) -> str:
    """The simple name of the org.json class everit sees for a parsed JSON value."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        if _INT_MIN <= value <= _INT_MAX:
            return "Integer"
        return "Long" if _LONG_MIN <= value <= _LONG_MAX else "BigInteger"
    if isinstance(value, float):
        return "BigDecimal"
    if isinstance(value, str):
        return "String"
    if isinstance(value, dict):
        return "JSONObject"
    if isinstance(value, list):
        return "JSONArray"
    return type(value).__name__
