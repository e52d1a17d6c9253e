"""The bundled redactions (R1-R5): when each applies, and what it leaves of the document.

R1-R3 follow the reference's ``MessageScrubberTest.java`` (test names cited per case); R4 and R5
came later and follow ``MessageScrubber.java`` at b0ba0624 and the reference's §3.8 examples.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ingestion.resources.scrubber import ScrubberRules
from resources.scrubber.helpers import (
    MAIN,
    TELEMETRY,
    _message,
    bundled_rules,  # noqa: F401 (the `rules` fixture)
)


def _bug_if_applies(rules: ScrubberRules, rule_id: str, attributes: dict[str, str]) -> str | None:
    """The analogue of the reference's ``bugNNNAffected(attributes)`` predicates."""
    (rule,) = [rule for rule in rules.rules if rule.id == rule_id]
    return rule.bug_if_applies(attributes, {})


# --- Redactions: predicates (the reference's bugNNNAffected tests) ------------------------------

LOCKBOX = {**TELEMETRY, "document_type": "focus-event", "app_name": "Lockbox"}


@pytest.mark.parametrize(
    ("rule_id", "attributes", "affected"),
    [
        # testBug1602844Affected
        ("R1", {**LOCKBOX, "app_version": "1.7.1"}, False),
        ("R1", {**LOCKBOX, "app_version": "1.7.0"}, True),
        ("R1", {**LOCKBOX, "app_version": "1.6.1"}, True),
        ("R1", {**LOCKBOX, "app_version": "1.3"}, True),
        ("R1", {**LOCKBOX, "app_version": "1.1.1"}, True),
        ("R1", {**LOCKBOX, "app_version": "1.7"}, False),
        ("R1", LOCKBOX, False),
        # testBug1162183Affected
        ("R2", {**TELEMETRY, "document_type": "saved-session", "app_version": "60.6.1"}, False),
        ("R2", {**TELEMETRY, "document_type": "saved-session", "app_version": "42.1.0"}, False),
        ("R2", {**TELEMETRY, "document_type": "saved-session", "app_version": "39.0.1"}, True),
        ("R2", {**TELEMETRY, "document_type": "saved-session", "app_version": "40.0a2"}, True),
        ("R2", {**TELEMETRY, "document_type": "saved-session", "app_version": "41.0"}, True),
        ("R2", {**TELEMETRY, "document_type": "saved-session", "app_version": "41.0.2"}, True),
        ("R2", {**TELEMETRY, "document_type": "first-shutdown", "app_version": "60.6.1"}, False),
        ("R2", {**TELEMETRY, "document_type": "first-shutdown", "app_version": "41.0.2"}, True),
        ("R2", {**TELEMETRY, "document_type": "main", "app_version": "60.6.1"}, False),
        ("R2", {**TELEMETRY, "document_type": "main", "app_version": "41.0.2"}, True),
        ("R2", {**TELEMETRY, "document_type": "crash", "app_version": "41.0.2"}, False),
        # testBug1642386Affected
        ("R3", {**TELEMETRY, "document_type": "sync", "app_version": "60.6.1"}, False),
        ("R3", {**TELEMETRY, "document_type": "sync", "app_version": "28.1"}, False),
        ("R3", {**TELEMETRY, "document_type": "sync", "app_version": "27.1"}, True),
        ("R3", {**TELEMETRY, "document_type": "sync", "app_version": "100.0"}, False),
        ("R3", {**TELEMETRY, "document_type": "sync", "app_version": "25.0.1"}, True),
        ("R3", {**TELEMETRY, "document_type": "sync", "app_version": "26.1"}, True),
        ("R3", {**TELEMETRY, "document_type": "sync", "app_version": "14.1"}, True),
        ("R3", {**TELEMETRY, "document_type": "sync", "app_version": "8.0.2"}, True),
        ("R3", {**TELEMETRY, "document_type": "sync", "app_version": "10.0.2"}, True),
        # testBug1712850Affected
        (
            "S7",
            {"document_namespace": "contextual-services", "document_type": "quicksuggest-click"},
            False,
        ),
    ],
)
def test_rule_predicates(
    rules: ScrubberRules, rule_id: str, attributes: dict[str, str], affected: bool
) -> None:
    expected_bug = {"R1": "1602844", "R2": "1162183", "R3": "1642386", "S7": "1712850"}[rule_id]
    assert _bug_if_applies(rules, rule_id, attributes) == (expected_bug if affected else None)


# --- Redactions: results ------------------------------------------------------------------------


def test_redact_bug_1602844_fxauid(rules: ScrubberRules) -> None:
    # testRedactForBug1602844
    document: dict[str, Any] = {
        "arch": "arm64",
        "events": [
            [224264, "action", "background", "app", None, {"fxauid": "should-be-redacted"}],
            [49, "action", "startup", "app"],
        ],
        "tz": 0,
    }
    rules.scrub(_message({**LOCKBOX, "app_version": "1.7.0"}, document))
    assert "fxauid" in document["events"][0][5]
    assert document["events"][0][5]["fxauid"] is None
    assert document["events"][0][3] == "app"
    assert document["events"][1] == [49, "action", "startup", "app"]
    assert document["tz"] == 0


def test_redact_bug_1602844_leaves_newer_versions(rules: ScrubberRules) -> None:
    document = {"events": [[1, "a", "b", "c", None, {"fxauid": "kept"}]]}
    rules.scrub(_message({**LOCKBOX, "app_version": "1.7.1"}, document))
    assert document["events"][0][5] == {"fxauid": "kept"}


def test_redact_bug_1162183_slow_sql(rules: ScrubberRules) -> None:
    # testRedactForBug1162183
    document: dict[str, Any] = {
        "payload": {
            "slowSQL": {"mainThread": {"SELECT * FROM foo": [1, 200]}, "otherThreads": {}},
            "session_id": "ca98fe03-1248-448f-bbdf-59f97dba5a0e",
        },
        "client_id": None,
    }
    attributes = {**TELEMETRY, "document_type": "first-shutdown", "app_version": "41.0"}
    rules.scrub(_message(attributes, document))
    assert document == {
        "payload": {"session_id": "ca98fe03-1248-448f-bbdf-59f97dba5a0e"},
        "client_id": None,
    }


def test_redact_bug_1642386_sync_outgoing(rules: ScrubberRules) -> None:
    # testRedactForBug1642386
    document: dict[str, Any] = {
        "payload": {
            "syncs": [
                {
                    "engines": [
                        {"outgoing": {"failed": 10, "sent": 23}},
                        {"outgoing": {"failed": 2, "sent": 0}},
                    ]
                },
                {
                    "engines": [
                        {"outgoing": {"failed": 1, "sent": 3}, "name": "tabs"},
                        {"outgoing": {"failed": 28, "sent": 70}},
                    ]
                },
            ]
        },
        "client_id": None,
    }
    attributes = {**TELEMETRY, "document_type": "sync", "app_version": "25.1"}
    rules.scrub(_message(attributes, document))
    assert document["payload"]["syncs"] == [
        {"engines": [{}, {}]},
        {"engines": [{"name": "tabs"}, {}]},
    ]


def test_redact_bug_1751753_desktop_search_codes(rules: ScrubberRules) -> None:
    document: dict[str, Any] = {
        "payload": {
            "keyedHistograms": {
                "SEARCH_COUNTS": {
                    "google.in-content:sap:firefox-b-d": {"sum": 1},
                    "google.in-content:sap:foo": {"sum": 2},
                    "google.in-content.sap-follow-on:bar": {"sum": 3},
                    "bing.in-content:organic:none": {"sum": 4},
                    "bing.in-content:sap:moz2": {"sum": 5},
                    "google.urlbar": {"sum": 6},
                },
                "OTHER": {"google.in-content:sap:foo": {"sum": 7}},
            },
            "processes": {
                "parent": {
                    "keyedScalars": {
                        "browser.search.content.urlbar": {
                            "google:tagged:firefox-b-d": 1,
                            "google:tagged:xyz": 2,
                            "google:organic:none": 3,
                            "nocolon": 4,
                        },
                        "browser.search.content.unknown": {"bing:tagged-follow-on:MZ99": 5},
                        "browser.engagement.navigation.urlbar": {"google:tagged:xyz": 6},
                        "browser.search.content.scalar": 7,
                    }
                }
            },
        }
    }
    rules.scrub(_message(MAIN, document))
    assert document["payload"]["keyedHistograms"] == {
        "SEARCH_COUNTS": {
            "google.in-content:sap:firefox-b-d": {"sum": 1},
            "bing.in-content:organic:none": {"sum": 4},
            "google.urlbar": {"sum": 6},
            "google.in-content:sap:other.scrubbed": {"sum": 2},
            "google.in-content.sap-follow-on:other.scrubbed": {"sum": 3},
            "bing.in-content:sap:other.scrubbed": {"sum": 5},
        },
        "OTHER": {"google.in-content:sap:foo": {"sum": 7}},
    }
    assert document["payload"]["processes"]["parent"]["keyedScalars"] == {
        "browser.search.content.urlbar": {
            "google:tagged:firefox-b-d": 1,
            "google:organic:none": 3,
            "nocolon": 4,
            "google:tagged:other.scrubbed": 2,
        },
        "browser.search.content.unknown": {"bing:tagged-follow-on:other.scrubbed": 5},
        "browser.engagement.navigation.urlbar": {"google:tagged:xyz": 6},
        "browser.search.content.scalar": 7,
    }


def test_redact_bug_1751753_collapsed_keys_keep_the_last_value(rules: ScrubberRules) -> None:
    # The reference removes and re-puts each key in a LinkedHashMap: the last value wins, no sum.
    counts = {"g.in-content:sap:aaa": 5, "g.in-content:sap:none": 1, "g.in-content:sap:bbb": 7}
    rules.scrub(_message(MAIN, {"payload": {"keyedHistograms": {"SEARCH_COUNTS": counts}}}))
    assert list(counts.items()) == [
        ("g.in-content:sap:none", 1),
        ("g.in-content:sap:other.scrubbed", 7),
    ]


def test_redact_bug_1751753_only_main_pings(rules: ScrubberRules) -> None:
    counts = {"google.in-content:sap:foo": 2}
    attributes = {**TELEMETRY, "document_type": "crash"}
    rules.scrub(_message(attributes, {"payload": {"keyedHistograms": {"SEARCH_COUNTS": counts}}}))
    assert counts == {"google.in-content:sap:foo": 2}


FENIX_METRICS = {"document_namespace": "org-mozilla-fenix", "document_type": "metrics"}


def test_redact_bug_1751955_mobile_search_codes(rules: ScrubberRules) -> None:
    document: dict[str, Any] = {
        "metrics": {
            "labeled_counter": {
                "browser.search.in_content": {
                    "google.in-content.sap.firefox-b-m": 1,
                    "google.in-content.sap-follow-on.ubuntu.ts": 2,
                    "google.in-content.sap-follow-on.ubuntu.invalid": 3,
                    "google.in-content.sap.barbaz.invalid": 4,
                    "baidu.in-content.sap._1000969a": 5,
                    "bing.in-content.sap.moz2": 6,
                    "bing.in-content.organic.none": 7,
                    "ecosia.in-content.sap.813cf1dd": 8,
                    "unrelated": 9,
                },
                "browser.search.ad_clicks": {"bing.in-content.sap.MOZ2": 10},
                "browser.engagement.other": {"google.in-content.sap.barbaz": 11},
            }
        }
    }
    rules.scrub(_message(FENIX_METRICS, document))
    assert document["metrics"]["labeled_counter"] == {
        "browser.search.in_content": {
            "google.in-content.sap.firefox-b-m": 1,
            "google.in-content.sap-follow-on.ubuntu.ts": 2,
            "baidu.in-content.sap._1000969a": 5,
            "bing.in-content.sap.moz2": 6,
            "bing.in-content.organic.none": 7,
            "unrelated": 9,
            "google.in-content.sap-follow-on.ubuntu": 3,
            "google.in-content.sap.other-scrubbed": 4,
            "ecosia.in-content.sap.other-scrubbed": 8,
        },
        # Mobile codes are lower-case only.
        "browser.search.ad_clicks": {"bing.in-content.sap.other-scrubbed": 10},
        "browser.engagement.other": {"google.in-content.sap.barbaz": 11},
    }


@pytest.mark.parametrize(
    "attributes",
    [
        {"document_namespace": "org-mozilla-ios-firefox", "document_type": "metrics"},
        {"document_namespace": "org-mozilla-fenix", "document_type": "baseline"},
    ],
)
def test_redact_bug_1751955_only_listed_metrics_pings(
    rules: ScrubberRules, attributes: dict[str, str]
) -> None:
    counters = {"browser.search.in_content": {"google.in-content.sap.barbaz.invalid": 4}}
    rules.scrub(_message(attributes, {"metrics": {"labeled_counter": counters}}))
    assert counters == {"browser.search.in_content": {"google.in-content.sap.barbaz.invalid": 4}}


@pytest.mark.parametrize(
    "namespace",
    [
        "org-mozilla-firefox",
        "org-mozilla-firefox-beta",
        "org-mozilla-fenix",
        "org-mozilla-fenix-nightly",
        "org-mozilla-fennec-aurora",
        "org-mozilla-focus",
        "org-mozilla-focus-beta",
        "org-mozilla-focus-nightly",
        "org-mozilla-klar",
    ],
)
def test_redact_bug_1751955_namespaces(rules: ScrubberRules, namespace: str) -> None:
    attributes = {"document_namespace": namespace, "document_type": "metrics"}
    assert _bug_if_applies(rules, "R5", attributes) == "1751955"


def test_redactions_with_non_object_nodes_are_harmless(rules: ScrubberRules) -> None:
    weird: dict[str, Any] = {
        "events": {"a": [0, 1, 2, 3, 4, ["fxauid"]], "b": "x"},
        "payload": {"syncs": [{"engines": [1, "two", None]}], "slowSQL": 1},
        "metrics": {"labeled_counter": ["browser.search.x"]},
    }
    expected = copy.deepcopy(weird)
    del expected["payload"]["slowSQL"]
    rules.scrub(_message({**TELEMETRY, "document_type": "sync", "app_version": "2.0"}, weird))
    assert weird["payload"]["syncs"] == expected["payload"]["syncs"]
    rules.scrub(_message({**LOCKBOX, "app_version": "1.0"}, weird))
    rules.scrub(_message({**MAIN, "app_version": "30.0"}, weird))
    rules.scrub(_message(FENIX_METRICS, weird))
    assert weird == expected
