"""Rule.for_doctype: narrowing a rule to a docType never changes what it decides."""

from __future__ import annotations

import copy

from ingestion.resources.scrubber import ScrubberRules
from resources.scrubber.helpers import (
    COFFEE,
    bundled_rules,  # noqa: F401 (the `rules` fixture)
)


def test_rules_narrowed_to_a_doctype_decide_as_the_full_rules(rules: ScrubberRules) -> None:
    """``Rule.for_doctype`` only removes what the namespace and docType already decide."""
    import random

    choices = {
        "document_namespace": [
            "telemetry",
            "firefox-desktop",
            "org-mozilla-fenix",
            "contextual-services",
            "mozillavpn",
            "default-browser-agent",
            "com-turkcell-yaani",
            "com-feifan-anything",
            None,
        ],
        "document_type": [
            "crash",
            "main",
            "bhr",
            "metrics",
            "baseline",
            "account-ecosystem",
            "pageload-domain",
            "saved-session",
            "quicksuggest-impression",
            "focus-event",
            "sync",
            "1",
            None,
        ],
        "app_name": ["Firefox", "FirefoxOS", "Lockbox", "Other", None],
        "app_version": ["68.0", "41.0", "1.7.0", "1.6.1", "100.0", None],
        "app_update_channel": ["nightly", "beta", "release", None],
        "app_build_id": ["20190719094503", None],
        "x_telemetry_agent": ["Glean/1.0", None],
    }
    documents = [
        {},
        {"client_info": {"client_id": COFFEE.upper(), "telemetry_sdk_build": "0.15.0"}},
        {
            "payload": {
                "metadata": {
                    "RemoteType": "webIsolated=x",
                    "MozCrashReason": "do not use eval with system privileges",
                },
                "hangs": [{"remoteType": "webIsolated=1"}],
            },
            "search_query": "q",
        },
    ]
    randomly = random.Random(5)
    payload_rules = [rule for rule in rules.rules if rule.phase == "payload"]
    for _ in range(1500):
        attributes = {
            name: value
            for name, values in choices.items()
            if (value := randomly.choice(values)) is not None
        }
        names = {
            k: v for k, v in attributes.items() if k in ("document_namespace", "document_type")
        }
        for rule in payload_rules:
            narrowed = rule.for_doctype(names)
            for document in documents:
                expected = rule.bug_if_applies(attributes, copy.deepcopy(document))
                if narrowed is None:
                    assert expected is None, (rule.id, attributes)
                else:
                    actual = narrowed.bug_if_applies(attributes, copy.deepcopy(document))
                    assert actual == expected, (rule.id, attributes)


def test_a_rule_whose_bug_comes_from_the_namespace_is_decided_per_doctype(
    rules: ScrubberRules,
) -> None:
    (s8,) = [rule for rule in rules.rules if rule.id == "S8"]
    assert s8.for_doctype({"document_namespace": "org-mozilla-fenix"}) is None
    fixed = s8.for_doctype({"document_namespace": "com-turkcell-yaani"})
    assert fixed is not None and fixed.bug == "1612933" and fixed.bug_lookup is None
    assert fixed.bug_if_applies({}, {}) == "1612933"
