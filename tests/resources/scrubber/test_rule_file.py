"""The rules file: its bundled content, and the helpers that validate each value in it."""

from __future__ import annotations

import tomllib

import pytest

from ingestion.resources.scrubber.rule_file import _Invalid, _regex, _strings
from resources.scrubber.helpers import RULES_FILE


def test_ignored_namespaces_are_the_134_of_the_reference() -> None:
    # §10 correction: 134 entries at b0ba0624.
    data = tomllib.loads(RULES_FILE.read_text("utf-8"))
    (s8,) = [rule for rule in data["rule"] if rule["id"] == "S8"]
    assert len(s8["bugs"]) == 134
    assert not {"org-mozilla-fenix", "bedrock", "contextual-services"} & set(s8["bugs"])
    assert {"org-mozilla-fenix-beta", "org-mozilla-fenix-debug", "glean-js-tmp"} <= set(s8["bugs"])
    (s9,) = [rule for rule in data["rule"] if rule["id"] == "S9"]
    assert s9["bugs"] == {
        "com-feifan": "2010623",
        "org-global-g": "2024379",
        "org-global-wxc": "2037560",
        "com-xiaobei-browser": "2039427",
    }


def test_regex_takes_java_named_groups_and_keeps_lookbehinds() -> None:
    pattern = _regex("where", r"(?<prefix>.*:)(?<code>(?<!x)\w+)")
    match = pattern.fullmatch("sap:firefox")
    assert match is not None
    assert (match["prefix"], match["code"]) == ("sap:", "firefox")
    assert _regex("where", r"(?<=a)b").search("ab") is not None
    with pytest.raises(_Invalid, match=r"^where: invalid regex '\('"):
        _regex("where", "(")


def test_strings_take_a_string_or_a_non_empty_list_of_strings() -> None:
    assert _strings("where", "a") == ("a",)
    assert _strings("where", ["a", "b"]) == ("a", "b")
    for bad in ([], ["a", 1], 1, None):
        with pytest.raises(_Invalid, match=r"^where must be a string or a non-empty list"):
            _strings("where", bad)


def test_invalid_is_a_value_error() -> None:
    # The loader re-raises it with the file and rule, but callers may catch ValueError alone.
    assert issubclass(_Invalid, ValueError)
