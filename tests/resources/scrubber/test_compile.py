"""Compiling the rules file: malformed rules are rejected by name, code sets are derived."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.resources.scrubber import ScrubberRules
from resources.scrubber.helpers import bundled_rules  # noqa: F401 (the `rules` fixture)


def test_mobile_codes_derive_from_desktop_codes(rules: ScrubberRules) -> None:
    (r4,) = [rule for rule in rules.rules if rule.id == "R4"]
    (r5,) = [rule for rule in rules.rules if rule.id == "R5"]
    desktop = r4.redactions[0].allowed_codes  # type: ignore[attr-defined]
    mobile = r5.redactions[0].allowed_codes  # type: ignore[attr-defined]
    assert len(desktop) == 85
    assert {"MOZ2", "813cf1dd", "firefox-b-d", "none", "other"} <= desktop
    assert "1000969a" not in desktop
    assert {"moz2", "_813cf1dd", "_16eeffc4", "_1000969a", "_1000969b", "firefox-b-d"} <= mobile
    assert not {"MOZ2", "813cf1dd", "1000969a"} & mobile
    assert len(mobile) == 87


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('x = 1\n[[rule]]\nid = "A"', "unknown key(s) x"),
        ("schema_version = 2", "schema_version must be 1"),
        ("schema_version = 1", "no [[rule]] entries"),
        ("schema_version = 1\nrule = [", "not a valid TOML file"),
        (
            '[[rule]]\nid = "X1"\nbug = "1"\nphase = "payload"\naction = "explode"',
            "rule 'X1': action must be one of drop, unwanted, bug, redact",
        ),
        (
            '[[rule]]\nid = "X2"\nbug = "1"\nphase = "later"\naction = "drop"',
            "rule 'X2': phase must be one of uri, payload",
        ),
        (
            '[[rule]]\nid = "X3"\nbug = "1"\nphase = "payload"\naction = "drop"\ncolour = "red"',
            "rule 'X3': rule: unknown key(s) colour",
        ),
        ('[[rule]]\nid = "X4"\nphase = "payload"\naction = "drop"', "rule 'X4': needs exactly one"),
        (
            '[[rule]]\nid = "X5"\nbug = "1"\nphase = "payload"\naction = "drop"\n'
            '[rule.attributes]\ndocument_type = { like = "x" }',
            "rule 'X5': attributes.document_type.like: unknown attribute operator 'like'",
        ),
        (
            '[[rule]]\nid = "X6"\nbug = "1"\nphase = "payload"\naction = "drop"\n'
            '[rule.attributes]\napp_version = { matches = "(" }',
            "rule 'X6': attributes.app_version.matches: invalid regex",
        ),
        (
            '[[rule]]\nid = "X7"\nbug = "1"\nphase = "payload"\naction = "drop"\n'
            '[[rule.payload]]\npath = "a..b"\ncontains = "x"',
            "rule 'X7': invalid path 'a..b'",
        ),
        (
            '[[rule]]\nid = "X8"\nbug = "1"\nphase = "payload"\naction = "redact"',
            "rule 'X8': action redact and [[rule.redact]] entries go together",
        ),
        (
            '[[rule]]\nid = "X9"\nbug = "1"\nphase = "payload"\naction = "redact"\n'
            '[[rule.redact]]\nkind = "shred"\npath = "a"',
            "rule 'X9': redact[0]: unknown redaction kind 'shred'",
        ),
        (
            '[[rule]]\nid = "X10"\nbug = "1"\nphase = "uri"\naction = "drop"\n'
            '[[rule.payload]]\npath = "a"\nnon_null = true',
            "rule 'X10': a uri-phase rule cannot use payload",
        ),
        (
            '[[rule]]\nid = "D"\nbug = "1"\nphase = "uri"\naction = "drop"\n'
            '[[rule]]\nid = "D"\nbug = "2"\nphase = "uri"\naction = "drop"',
            "rule 'D': duplicate id",
        ),
        (
            '[[rule]]\nid = "X11"\nbug = "1"\nphase = "payload"\naction = "redact"\n'
            '[[rule.redact]]\nkind = "desktop_search_codes"\npath = "a"\n'
            "key_pattern = '(?<prefix>.*:)(?<code>.*)'\nallowed_codes = \"nope\"\n"
            'replacement = "x"',
            "rule 'X11': redact[0].allowed_codes: no code set named 'nope'",
        ),
        (
            '[[rule]]\nid = "X12"\nbug = "1"\nphase = "payload"\naction = "redact"\n'
            '[[rule.redact]]\nkind = "remove"\npath = "a[*]"',
            "rule 'X12': redact[0].path: a redacted path must end in an object key",
        ),
        (
            '[[rule]]\nid = "X13"\nbug = 1\nphase = "payload"\naction = "drop"',
            "rule 'X13': bug must be a string",
        ),
        (
            '[[rule]]\nid = "X14"\nphase = "payload"\naction = "drop"\n'
            'bug_by = { attribute = "document_namespace", match = "like" }\n[rule.bugs]\na = "1"',
            "rule 'X14': bug_by.match must be equals or starts_with",
        ),
        (
            '[[rule]]\nid = "X15"\nbug = "1"\nphase = "payload"\naction = "drop"\n'
            "[rule.client_id]\nwrite_back = true",
            "rule 'X15': client_id needs equals or one_of",
        ),
    ],
)
def test_loader_rejects_malformed_rules(tmp_path: Path, text: str, expected: str) -> None:
    if "schema_version" not in text:
        text = "schema_version = 1\n" + text
    path = tmp_path / "rules.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ValueError) as raised:
        ScrubberRules.load(path)
    assert str(path) in str(raised.value)
    assert expected in str(raised.value)
