"""From the parsed TOML to ``Rule`` objects: the file is validated and compiled once, at load time.

Unknown keys, actions, operators or bad regexes fail with a ``ValueError`` naming the file and
the rule, so a broken rules file fails when it is loaded, not on some later message. Code sets
(``[code_sets.*]``) are resolved first, since search-code redactions refer to them by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .conditions import (
    _attribute_checks,
    _bug_lookup,
    _client_id_check,
    _named_attribute_checks,
    _none_start_with,
    _payload_checks,
)
from .names import _DOCTYPE_ATTRIBUTES
from .redactions import _redaction
from .rule import ACTIONS, PHASES, Rule
from .rule_file import _Invalid, _no_unknown_keys, _string, _strings, _table

SCHEMA_VERSION = 1

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


def compile_rules(document: Mapping[str, Any], source: str) -> list[Rule]:
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
    return rules
