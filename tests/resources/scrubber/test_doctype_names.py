"""Conditions on document_namespace/document_type compare snake_case names, as schemas are found.

Each operator on a docType name, on small rules files: the rule's names are normalised when the
file is compiled, a message's when it is checked, so every spelling the schema store would
accept for a name meets the rule; other attributes (``uri`` included) compare as they are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.core.errors import MessageShouldBeDropped, UnwantedData
from ingestion.resources.scrubber import ScrubberRules
from resources.scrubber.helpers import _message


def _rules(tmp_path: Path, body: str) -> ScrubberRules:
    path = tmp_path / "rules.toml"
    path.write_text(f'schema_version = 1\n[[rule]]\nid = "N"\n{body}', "utf-8")
    return ScrubberRules.load(path)


def _fires(rules: ScrubberRules, attributes: dict[str, str]) -> bool:
    try:
        rules.scrub(_message(attributes))
    except MessageShouldBeDropped:
        return True
    return False


DROP = 'bug = "7"\nphase = "payload"\naction = "drop"\n'


@pytest.mark.parametrize(
    ("condition", "caught", "passed"),
    [
        (
            '{ equals = "pageload-domain" }',
            ["pageload-domain", "Pageload-Domain", "pageload_domain", "pageloadDomain"],
            ["pageload-domains", "page-load-domain", "pAgeload-domain", None],
        ),
        (
            '{ one_of = ["first-shutdown", "Saved_Session"] }',
            ["FIRST_SHUTDOWN", "firstShutdown", "saved-session", "savedSession"],
            ["first-shutdowns", "saved", None],
        ),
        (
            '{ not_equals = "main" }',
            ["mains", "ma-in", None],
            ["main", "Main", "MAIN", "_main_"],
        ),
        (
            # The last word may go on, as for the raw prefix.
            '{ starts_with = ["com-feifan", "org-Global-g"] }',
            ["com-feifan", "com_feifanx", "ComFeifan-App", "org-global-gx", "orgGlobalGx"],
            ["com-feifa", "com-feifa-n", "org-global-h", None],
        ),
        (
            # A prefix ending in a separator ends at a word.
            '{ starts_with = "com-example-" }',
            ["com-example-browser", "ComExampleBrowser", "com_example", "COM-EXAMPLE"],
            ["com-examplex", "com-exampl", None],
        ),
    ],
)
def test_operators_compare_normalised_names(
    tmp_path: Path, condition: str, caught: list[str], passed: list[str | None]
) -> None:
    for attribute in ("document_namespace", "document_type"):
        rules = _rules(tmp_path, f"{DROP}[rule.attributes]\n{attribute} = {condition}\n")
        for name in caught:
            assert _fires(rules, {attribute: name}), (attribute, name)
        for name in passed:
            attributes = {} if name is None else {attribute: name}
            assert not _fires(rules, attributes), (attribute, name)


def test_other_attributes_compare_as_they_are(tmp_path: Path) -> None:
    rules = _rules(tmp_path, f'{DROP}[rule.attributes]\napp_name = {{ equals = "Firefox" }}\n')
    assert _fires(rules, {"app_name": "Firefox"})
    assert not _fires(rules, {"app_name": "firefox"})


def test_bug_tables_are_keyed_by_normalised_names(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        'phase = "payload"\naction = "unwanted"\n'
        'bug_by = { attribute = "document_namespace", match = "equals" }\n'
        '[rule.bugs]\n"org-mozilla-ios-Lockbox-CredentialProvider" = "1"\n'
        '"org-mozilla-ios-lockbox-credentialprovider" = "2"\n',
    )
    for namespace, bug in [
        ("org-mozilla-ios-lockbox-credential-provider", "1"),
        ("org_mozilla_ios_LockboxCredentialProvider", "1"),
        ("ORG-MOZILLA-IOS-LOCKBOX-CREDENTIALPROVIDER", "2"),
    ]:
        with pytest.raises(UnwantedData, match=f"^{bug}$"):
            rules.scrub(_message({"document_namespace": namespace}))


def test_bug_prefixes_are_normalised_and_tried_in_order(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        'phase = "payload"\naction = "unwanted"\n'
        'bug_by = { attribute = "document_type", match = "starts_with" }\n'
        '[rule.bugs]\n"new-metric" = "1"\n"new" = "2"\n',
    )
    for doctype, bug in [("NewMetricCapture", "1"), ("new_metricx", "1"), ("New-Thing", "2")]:
        with pytest.raises(UnwantedData, match=f"^{bug}$"):
            rules.scrub(_message({"document_type": doctype}))
    assert rules.scrub(message := _message({"document_type": "old"})) is message


def test_none_start_with_normalises_docType_names_only(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        f'{DROP}[rule.none_start_with]\nattributes = ["document_type", "user_agent"]\n'
        'prefix = "glean-"\n',
    )
    assert not _fires(rules, {"document_type": "GleanPing", "user_agent": "x"})
    assert not _fires(rules, {"document_type": "x", "user_agent": "glean-1"})
    assert _fires(rules, {"document_type": "x", "user_agent": "Glean-1"})
    assert _fires(rules, {})


def test_spelling_variants_share_one_cache_entry(tmp_path: Path) -> None:
    rules = _rules(tmp_path, f'{DROP}[rule.attributes]\ndocument_type = {{ equals = "a-b" }}\n')
    for doctype in ("a-b", "A_B", "aB", "a.b"):
        assert _fires(rules, {"document_namespace": "Org-Example", "document_type": doctype})
    assert list(rules._by_doctype) == [("org_example", "a_b")]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            'document_type = { matches = "pageload-.*" }',
            "attributes.document_type.matches: document_type is compared in snake_case form",
        ),
        (
            'document_namespace = { starts_with = ["ok", "comFE"] }',
            "prefix 'comFE' ends in an upper-case letter",
        ),
        (
            'document_namespace = { like = "x" }',
            "attributes.document_namespace.like: unknown attribute operator 'like'",
        ),
    ],
)
def test_conditions_a_normalised_name_cannot_follow_are_refused(
    tmp_path: Path, condition: str, expected: str
) -> None:
    with pytest.raises(ValueError, match="rule 'N'") as raised:
        _rules(tmp_path, f"{DROP}[rule.attributes]\n{condition}\n")
    assert expected in str(raised.value)


def test_bug_keys_that_normalise_alike_must_agree(tmp_path: Path) -> None:
    body = (
        'phase = "payload"\naction = "unwanted"\n'
        'bug_by = { attribute = "document_type", match = "equals" }\n'
        '[rule.bugs]\n"first-shutdown" = "1"\n"firstShutdown" = "1"\n'
    )
    _rules(tmp_path, body)  # the same bug: allowed
    with pytest.raises(ValueError, match="'first-shutdown' and 'First_Shutdown' name the same"):
        _rules(tmp_path, body.replace('"firstShutdown" = "1"', '"First_Shutdown" = "2"'))


def test_uri_conditions_compare_the_uri_as_it_is(tmp_path: Path) -> None:
    # A URI rule tests the URI before ParseUri; see test_spelling for why that is no bypass.
    rules = _rules(
        tmp_path,
        'bug = "7"\nphase = "uri"\naction = "drop"\n[rule.attributes]\nuri = { equals = "/a-b" }\n',
    )
    with pytest.raises(MessageShouldBeDropped):
        rules.check_uri(_message({"uri": "/a-b"}))
    rules.check_uri(_message({"uri": "/A_B"}))
