"""The scrubber rules (S1-S17, R1-R5, U1; D-15.1, D-32, §3.8) and their loader.

Expectations come from the reference's ``MessageScrubberTest.java`` (test names cited per case);
rules added after the newest stored version of that test (S5, S6, S9, S14, S17, R4, R5 and the
b0ba0624 changes to S7/S16) take their expectations from ``MessageScrubber.java`` at b0ba0624 and
from the reference's §3.8 examples.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from ingestion.context import Context
from ingestion.core.errors import AffectedByBug, MessageShouldBeDropped, UnwantedData
from ingestion.core.message import Message
from ingestion.resources.scrubber_rules import ScrubberRules, parse_path, resolve
from ingestion.steps.scrub import scrub_payload, scrub_uri

RULES_FILE = REPO / "shared" / "ingestion" / "rules" / "scrubber.toml"
COFFEE = "c0ffeec0-ffee-c0ff-eec0-ffeec0ffeec0"


@pytest.fixture(scope="module")
def rules() -> ScrubberRules:
    return ScrubberRules.load()


def _message(attributes: dict[str, str], document: dict[str, Any] | None = None) -> Message:
    return Message(attributes=dict(attributes), document={} if document is None else document)


def _bug_if_applies(rules: ScrubberRules, rule_id: str, attributes: dict[str, str]) -> str | None:
    """The analogue of the reference's ``bugNNNAffected(attributes)`` predicates."""
    (rule,) = [rule for rule in rules.rules if rule.id == rule_id]
    return rule.bug_if_applies(attributes, {})


TELEMETRY = {"document_namespace": "telemetry"}
CRASH_1567596 = {
    "payload": {
        "metadata": {"MozCrashReason": "bar; do not use eval with system privileges foo)"},
        "session_id": "ca98fe03-1248-448f-bbdf-59f97dba5a0e",
    },
    "client_id": None,
}
CRASH_WEB_ISOLATED = {
    "payload": {
        "metadata": {"RemoteType": "webIsolated=foo"},
        "session_id": "ca98fe03-1248-448f-bbdf-59f97dba5a0e",
    },
    "client_id": None,
}
BHR_WEB_ISOLATED = {
    "payload": {
        "hangs": [{"remoteType": "webIsolated=foo"}, {"remoteType": "web"}],
        "session_id": "ca98fe03-1248-448f-bbdf-59f97dba5a0e",
    },
    "client_id": None,
}

# (case, attributes, document, expected exception, expected bug id)
REJECTED = [
    # testShouldScrubBug1567596
    (
        "S1 eval crash",
        {
            **TELEMETRY,
            "document_type": "crash",
            "app_update_channel": "nightly",
            "app_build_id": "20190719094503",
            "app_version": "70.0a1",
        },
        CRASH_1567596,
        MessageShouldBeDropped,
        "1567596",
    ),
    # testShouldScrubCrashBug1562011
    (
        "S2 nightly 68.0",
        {
            **TELEMETRY,
            "document_type": "crash",
            "app_update_channel": "nightly",
            "app_version": "68.0",
        },
        CRASH_WEB_ISOLATED,
        MessageShouldBeDropped,
        "1562011",
    ),
    (
        "S2 beta 68",
        {**TELEMETRY, "document_type": "crash", "app_update_channel": "beta", "app_version": "68"},
        CRASH_WEB_ISOLATED,
        MessageShouldBeDropped,
        "1562011",
    ),
    (
        "S2 nightly 69",
        {
            **TELEMETRY,
            "document_type": "crash",
            "app_update_channel": "nightly",
            "app_version": "69",
        },
        CRASH_WEB_ISOLATED,
        MessageShouldBeDropped,
        "1562011",
    ),
    # testShouldScrubBhrBug1562011
    (
        "S3 bhr webIsolated hang",
        {
            **TELEMETRY,
            "document_type": "bhr",
            "app_update_channel": "nightly",
            "app_version": "68.0",
        },
        BHR_WEB_ISOLATED,
        MessageShouldBeDropped,
        "1562011",
    ),
    # testShouldScrubBug1697602
    (
        "S4 telemetry account-ecosystem",
        {**TELEMETRY, "document_type": "account-ecosystem"},
        {},
        MessageShouldBeDropped,
        "1697602",
    ),
    (
        "S4 firefox-accounts account-ecosystem",
        {"document_namespace": "firefox-accounts", "document_type": "account-ecosystem"},
        {},
        MessageShouldBeDropped,
        "1697602",
    ),
    # MessageScrubber.java b0ba0624: drops that run before the Glean user-agent check (S13)
    (
        "S5 background-update",
        {"document_namespace": "firefox-desktop", "document_type": "background-update"},
        {},
        MessageShouldBeDropped,
        "1784911",
    ),
    (
        "S6 new-metric-capture-emulation",
        {
            "document_namespace": "firefox-desktop-background-update",
            "document_type": "new-metric-capture-emulation",
        },
        {},
        MessageShouldBeDropped,
        "1817821",
    ),
    # testRedactForBug1712850 (a drop since #1936)
    (
        "S7 search terms",
        {"document_namespace": "contextual-services", "document_type": "quicksuggest-impression"},
        {"search_query": "abc", "matched_keywords": "abc"},
        MessageShouldBeDropped,
        "1712850",
    ),
    (
        "S7 matched keywords only",
        {"document_namespace": "contextual-services", "document_type": "quicksuggest-impression"},
        {"search_query": None, "matched_keywords": ["abc"]},
        MessageShouldBeDropped,
        "1712850",
    ),
    # testUnwantedDataBug1612933 ... testUnwantedDataBug1637055
    (
        "S8 com-turkcell-yaani",
        {"document_namespace": "com-turkcell-yaani", "document_type": "baseline"},
        {},
        UnwantedData,
        "1612933",
    ),
    (
        "S8 org-mozilla-fenix-beta",
        {"document_namespace": "org-mozilla-fenix-beta", "document_type": "baseline"},
        {},
        UnwantedData,
        "1612934",
    ),
    (
        "S8 org-mozilla-vrbrowser-dev",
        {"document_namespace": "org-mozilla-vrbrowser-dev", "document_type": "baseline"},
        {},
        UnwantedData,
        "1614410",
    ),
    (
        "S8 org-mozilla-fenix-performancetest",
        {"document_namespace": "org-mozilla-fenix-performancetest", "document_type": "baseline"},
        {},
        UnwantedData,
        "1614412",
    ),
    (
        "S8 org-mozilla-fogotype",
        {"document_namespace": "org-mozilla-fogotype", "document_type": "baseline"},
        {},
        UnwantedData,
        "1635592",
    ),
    (
        "S8 com-granitamalta-cloudbrowser",
        {"document_namespace": "com-granitamalta-cloudbrowser", "document_type": "baseline"},
        {},
        UnwantedData,
        "1644200",
    ),
    (
        "S8 org-mozilla-fenix-tm",
        {"document_namespace": "org-mozilla-fenix-tm", "document_type": "baseline"},
        {},
        UnwantedData,
        "1638902",
    ),
    (
        "S8 com-pumabrowser-pumabrowser",
        {"document_namespace": "com-pumabrowser-pumabrowser", "document_type": "baseline"},
        {},
        UnwantedData,
        "1637055",
    ),
    (
        "S8 mixed-case namespace",
        {"document_namespace": "org-mozilla-ios-Lockbox-CredentialProvider"},
        {},
        UnwantedData,
        "1679830",
    ),
    (
        "S8 last entry",
        {"document_namespace": "com-codeedge-childrenfence"},
        {},
        UnwantedData,
        "2034078",
    ),
    # S8 runs before S9: an exact entry keeps its own bug even when a prefix also matches.
    (
        "S8 before S9 feifan",
        {"document_namespace": "com-feifan-browser"},
        {},
        UnwantedData,
        "1999796",
    ),
    (
        "S8 before S9 global",
        {"document_namespace": "org-global-glaxy"},
        {},
        UnwantedData,
        "1981558",
    ),
    ("S9 com-feifan*", {"document_namespace": "com-feifan-new-thing"}, {}, UnwantedData, "2010623"),
    ("S9 com-feifanz", {"document_namespace": "com-feifanz"}, {}, UnwantedData, "2010623"),
    ("S9 org-global-g*", {"document_namespace": "org-global-gx"}, {}, UnwantedData, "2024379"),
    ("S9 org-global-wxc*", {"document_namespace": "org-global-wxc1"}, {}, UnwantedData, "2037560"),
    (
        "S9 com-xiaobei-browser*",
        {"document_namespace": "com-xiaobei-browser-lite"},
        {},
        UnwantedData,
        "2039427",
    ),
    # testUnwantedDataBug1631849PioneerStudy, ...1633525FrecencyUpdate, ...1656910SavedSession
    (
        "S10 pioneer-study",
        {**TELEMETRY, "document_type": "pioneer-study"},
        {},
        UnwantedData,
        "1631849",
    ),
    (
        "S10 frecency-update",
        {**TELEMETRY, "document_type": "frecency-update"},
        {},
        UnwantedData,
        "1633525",
    ),
    (
        "S10 saved-session",
        {**TELEMETRY, "document_type": "saved-session"},
        {},
        UnwantedData,
        "1656910",
    ),
    # S10 runs before S12, so a modules ping from Firefox is still unwanted, with DENG-8496.
    (
        "S10 modules",
        {**TELEMETRY, "document_type": "modules", "app_name": "Firefox"},
        {},
        UnwantedData,
        "DENG-8496",
    ),
    # testUnwantedDataBug1618684
    ("S11 FirefoxOS", {"app_name": "FirefoxOS"}, {}, UnwantedData, "1618684"),
    # testUnwantedDataBug1592010
    *[
        (
            f"S12 {app}",
            {**TELEMETRY, "document_type": "main", "app_name": app},
            {},
            UnwantedData,
            "1592010",
        )
        for app in ("Ordissimo", "adloops", "agendissimo", "ZeroWeb", "CoreApp")
    ],
    (
        "S12 event without app_name",
        {**TELEMETRY, "document_type": "event"},
        {},
        UnwantedData,
        "1592010",
    ),
    # testUnwantedData1684980GleanUserAgent
    (
        "S13 Mozilla user agent",
        {
            "document_namespace": "firefox-desktop",
            "user_agent": "Mozilla/5.0 (Windows NT 10.0; rv:78.0) Gecko/20100101 Firefox/78.0",
        },
        {},
        UnwantedData,
        "1684980",
    ),
    (
        "S13 empty user agent",
        {"document_namespace": "firefox-desktop", "user_agent": ""},
        {},
        UnwantedData,
        "1684980",
    ),
    ("S13 no agent", {"document_namespace": "firefox-desktop"}, {}, UnwantedData, "1684980"),
    (
        "S13 non-Glean telemetry agent",
        {"document_namespace": "firefox-desktop", "x_telemetry_agent": "curl/8.0"},
        {},
        UnwantedData,
        "1684980",
    ),
    (
        "S13 runs before S14",
        {"document_namespace": "firefox-desktop", "document_type": "pageload-domain"},
        {},
        UnwantedData,
        "1684980",
    ),
    (
        "S14 pageload-domain with Glean agent",
        {
            "document_namespace": "firefox-desktop",
            "document_type": "pageload-domain",
            "x_telemetry_agent": "Glean/60.0.0 (Rust on Windows)",
        },
        {},
        MessageShouldBeDropped,
        "DENG-9045",
    ),
    # testShouldScrubClientIdBug1489560
    (
        "S15 Glean client_info",
        {"document_namespace": "glean"},
        {"client_info": {"client_id": COFFEE}},
        AffectedByBug,
        "1489560",
    ),
    (
        "S15 top-level client_id",
        {**TELEMETRY, "document_type": "crash"},
        {"client_id": COFFEE},
        AffectedByBug,
        "1489560",
    ),
    (
        "S15 braced upper-case clientId",
        {"document_namespace": "activity-stream"},
        {"clientId": "{" + COFFEE.upper() + "}"},
        AffectedByBug,
        "1489560",
    ),
    (
        "S15 invalid Glean id falls back to top level",
        {"document_namespace": "glean"},
        {"client_info": {"client_id": "not-a-uuid"}, "client_id": COFFEE},
        AffectedByBug,
        "1489560",
    ),
    # testBug1626020Affected: AffectedByBug in that test, UnwantedData at b0ba0624
    (
        "S16 default-browser-agent/1",
        {"document_namespace": "default-browser-agent", "document_type": "1"},
        {"client_info": {"client_id": None}},
        UnwantedData,
        "1626020",
    ),
    (
        "S17 glean.js 0.16",
        {"document_namespace": "mozillavpn", "document_type": "main"},
        {"client_info": {"telemetry_sdk_build": "0.16.1"}},
        AffectedByBug,
        "1733118",
    ),
    (
        "S17 glean.js 0.9",
        {"document_namespace": "mozillavpn", "document_type": "main"},
        {"client_info": {"telemetry_sdk_build": "0.9.0-alpha"}},
        AffectedByBug,
        "1733118",
    ),
]


@pytest.mark.parametrize(
    ("attributes", "document", "expected", "bug"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_rejected(
    rules: ScrubberRules,
    attributes: dict[str, str],
    document: dict[str, Any],
    expected: type[Exception],
    bug: str,
) -> None:
    with pytest.raises(expected) as raised:
        rules.scrub(_message(attributes, copy.deepcopy(document)))
    assert type(raised.value) is expected
    assert str(raised.value) == bug


# (case, attributes, document): no rule may fire and the document must come back unchanged.
PASSED = [
    # testShouldScrubBug1567596: the same payload without attributes, the attributes with {}
    ("S1 payload without attributes", {}, CRASH_1567596),
    (
        "S1 attributes without payload",
        {
            **TELEMETRY,
            "document_type": "crash",
            "app_update_channel": "nightly",
            "app_build_id": "20190719094503",
            "app_version": "70.0a1",
        },
        {},
    ),
    (
        "S1 other build",
        {
            **TELEMETRY,
            "document_type": "crash",
            "app_update_channel": "nightly",
            "app_build_id": "20190719094504",
            "app_version": "70.0a1",
        },
        CRASH_1567596,
    ),
    # testShouldScrubCrashBug1562011: beta 69 is not affected
    (
        "S2 beta 69",
        {**TELEMETRY, "document_type": "crash", "app_update_channel": "beta", "app_version": "69"},
        CRASH_WEB_ISOLATED,
    ),
    (
        "S2 RemoteType not a string",
        {**TELEMETRY, "document_type": "crash", "app_update_channel": "beta", "app_version": "68"},
        {"payload": {"metadata": {"RemoteType": ["webIsolated=foo"]}}},
    ),
    (
        "S2 no app_version",
        {**TELEMETRY, "document_type": "crash", "app_update_channel": "nightly"},
        CRASH_WEB_ISOLATED,
    ),
    (
        "S3 version 70",
        {**TELEMETRY, "document_type": "bhr", "app_version": "70.0"},
        BHR_WEB_ISOLATED,
    ),
    (
        "S3 no webIsolated hang",
        {**TELEMETRY, "document_type": "bhr", "app_version": "68.0"},
        {"payload": {"hangs": [{"remoteType": "web"}, {"remoteType": None}, [1, 2]]}},
    ),
    # testBug1712850Affected and null search terms
    (
        "S7 null search terms",
        {"document_namespace": "contextual-services", "document_type": "quicksuggest-impression"},
        {"search_query": None, "matched_keywords": None, "advertiser": "x"},
    ),
    *[
        (
            f"S7 {doc_type}",
            {"document_namespace": "contextual-services", "document_type": doc_type},
            {"search_query": "abc", "matched_keywords": "abc"},
        )
        for doc_type in ("quicksuggest-click", "topsites-impression", "topsites-click")
    ],
    # §10: these are not in the S8 list, and S9 needs a prefix match
    ("S8 org-mozilla-fenix", {"document_namespace": "org-mozilla-fenix"}, {}),
    ("S8 bedrock", {"document_namespace": "bedrock"}, {}),
    (
        "S8 contextual-services",
        {"document_namespace": "contextual-services", "document_type": "topsites-click"},
        {},
    ),
    ("S9 com-feifa", {"document_namespace": "com-feifa"}, {}),
    ("S9 org-global-x", {"document_namespace": "org-global-x"}, {}),
    (
        "S10 saved-session outside telemetry",
        {"document_namespace": "x", "document_type": "saved-session"},
        {},
    ),
    ("S12 Firefox main", {**TELEMETRY, "document_type": "main", "app_name": "Firefox"}, {}),
    ("S12 other doc type", {**TELEMETRY, "document_type": "crash", "app_name": "Fennec"}, {}),
    # testUnwantedData1684980GleanUserAgent: a Glean agent in either header is fine
    (
        "S13 Glean user agent",
        {"document_namespace": "firefox-desktop", "user_agent": "Glean/33.9.1 (Rust on Windows)"},
        {},
    ),
    (
        "S13 Glean telemetry agent",
        {
            "document_namespace": "firefox-desktop",
            "user_agent": "Mozilla/5.0",
            "x_telemetry_agent": "Glean/60.0.0 (Rust on Windows)",
        },
        {},
    ),
    # testShouldScrubClientIdBug1489560: a null client id is fine
    ("S15 null client id", {"document_namespace": "glean"}, {"client_info": {"client_id": None}}),
    (
        "S15 Glean id wins over top level",
        {"document_namespace": "glean"},
        {"client_info": {"client_id": "f0ffeec0-ffee-c0ff-eec0-ffeec0ffeecc"}, "client_id": COFFEE},
    ),
    (
        "S15 non-string client id",
        {"document_namespace": "glean"},
        {"client_info": {"client_id": 1}, "client_id": {"id": COFFEE}},
    ),
    (
        "S16 default-browser-agent/2",
        {"document_namespace": "default-browser-agent", "document_type": "2"},
        {},
    ),
    (
        "S17 glean.js 0.17",
        {"document_namespace": "mozillavpn", "document_type": "main"},
        {"client_info": {"telemetry_sdk_build": "0.17.0"}},
    ),
    (
        "S17 glean.js 10.1",
        {"document_namespace": "mozillavpn", "document_type": "main"},
        {"client_info": {"telemetry_sdk_build": "10.1.0"}},
    ),
    (
        "S17 other doc type",
        {"document_namespace": "mozillavpn", "document_type": "daemonsession"},
        {"client_info": {"telemetry_sdk_build": "0.16.1"}},
    ),
    # testScrubValidDocument
    (
        "valid document",
        {
            "document_namespace": "namespace",
            "document_type": "type",
            "app_name": "name",
            "app_version": "version",
            "app_update_channel": "channel",
            "app_build_id": "build_id",
        },
        {},
    ),
]


@pytest.mark.parametrize(
    ("attributes", "document"), [case[1:] for case in PASSED], ids=[case[0] for case in PASSED]
)
def test_passed(rules: ScrubberRules, attributes: dict[str, str], document: dict[str, Any]) -> None:
    message = _message(attributes, copy.deepcopy(document))
    result = rules.scrub(message)
    assert result is message
    assert result.attributes == attributes
    assert result.document == document


def test_client_id_is_normalised_in_place_before_validation(rules: ScrubberRules) -> None:
    # The reference's scrubber calls addClientIdFromPayload on the live JSON (S15, D-39).
    document = {"clientId": "{5B09C9E2-DA7F-4DC7-9A0C-9E6B8A2C1234}"}
    rules.scrub(_message({"document_namespace": "activity-stream"}, document))
    assert document == {"clientId": "5b09c9e2-da7f-4dc7-9a0c-9e6b8a2c1234"}


# --- URI phase (U1) -----------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["/submit/sslreports", "/submit/sslreports/"])
def test_uri_sslreports_unwanted(rules: ScrubberRules, uri: str) -> None:
    # testUnwantedData1585144
    with pytest.raises(UnwantedData) as raised:
        rules.check_uri(_message({"uri": uri}))
    assert str(raised.value) == "1585144"


@pytest.mark.parametrize(
    "attributes",
    [{}, {"uri": "/foo/bar"}, {"uri": "/submit/sslreports/x"}, {"uri": "/submit/telemetry"}],
)
def test_uri_other_passes(rules: ScrubberRules, attributes: dict[str, str]) -> None:
    # testUnwantedData1585144: scrubByUri(null) and "/foo/bar" do not throw
    message = _message(attributes)
    rules.check_uri(message)
    assert message.attributes == attributes


def test_uri_rules_do_not_run_in_payload_phase(rules: ScrubberRules) -> None:
    message = _message({"uri": "/submit/sslreports"})
    assert rules.scrub(message) is message


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


MAIN = {**TELEMETRY, "document_type": "main", "app_name": "Firefox"}


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


# --- The step functions -------------------------------------------------------------------------


def test_steps_use_the_context_scrubber(rules: ScrubberRules) -> None:
    context = Context(schemas=None, scrubber=rules, user_agents=None)  # type: ignore[arg-type]
    message = _message({"uri": "/submit/telemetry/x"})
    assert scrub_uri(message, context) is message
    with pytest.raises(UnwantedData, match=r"^1585144$"):
        scrub_uri(_message({"uri": "/submit/sslreports"}), context)
    document: dict[str, Any] = {"payload": {"slowSQL": {}, "x": 1}}
    attributes = {**MAIN, "app_version": "40.0"}
    assert scrub_payload(_message(attributes, document), context).document == {"payload": {"x": 1}}
    with pytest.raises(MessageShouldBeDropped) as dropped:
        scrub_payload(_message({"document_type": "account-ecosystem"}), context)
    assert dropped.value.bug == "1697602"


# --- The rules file and its loader --------------------------------------------------------------


def test_rules_run_in_reference_order(rules: ScrubberRules) -> None:
    assert rules.rule_ids == (
        *("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "S12"),
        *("S13", "S14", "S15", "S16", "R1", "R2", "R3", "R4", "R5", "S17", "U1"),
    )


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


def test_default_load_is_the_packaged_file() -> None:
    assert ScrubberRules.load(RULES_FILE).rule_ids == ScrubberRules.load().rule_ids


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


NEW_RULES = """
[[rule]]
id = "N1"
bug = "9999001"
phase = "payload"
action = "unwanted"
[rule.attributes]
document_namespace = { starts_with = ["com-example-"] }

[[rule]]
id = "N2"
bug = "9999002"
phase = "payload"
action = "redact"
[rule.attributes]
document_namespace = { equals = "glean-example" }
[[rule.redact]]
kind = "set_null"
path = 'metrics.string["user.email"]'
[[rule.redact]]
kind = "remove"
path = "metrics.labeled_string[*].secret"

[[rule]]
id = "N3"
bug = "9999003"
phase = "uri"
action = "drop"
[rule.attributes]
uri = { matches = '/submit/retired/.*' }
"""


def test_a_rule_added_to_the_file_takes_effect_without_code_change(tmp_path: Path) -> None:
    path = tmp_path / "scrubber.toml"
    path.write_text(RULES_FILE.read_text("utf-8") + NEW_RULES, "utf-8")
    extended = ScrubberRules.load(path)
    assert extended.rule_ids[-3:] == ("N1", "N2", "N3")

    with pytest.raises(UnwantedData, match=r"^9999001$"):
        extended.scrub(_message({"document_namespace": "com-example-browser"}))
    # The packaged rules still apply first, and the packaged file itself is untouched.
    with pytest.raises(UnwantedData, match=r"^1612933$"):
        extended.scrub(_message({"document_namespace": "com-turkcell-yaani"}))
    unaffected = _message({"document_namespace": "com-example-browser"})
    assert ScrubberRules.load().scrub(unaffected) is unaffected

    document: dict[str, Any] = {
        "metrics": {
            "string": {"user.email": "a@example.com", "other": "kept"},
            "labeled_string": {"x": {"secret": "s", "ok": 1}, "y": "scalar"},
        }
    }
    extended.scrub(_message({"document_namespace": "glean-example"}, document))
    assert document == {
        "metrics": {
            "string": {"user.email": None, "other": "kept"},
            "labeled_string": {"x": {"ok": 1}, "y": "scalar"},
        }
    }

    with pytest.raises(MessageShouldBeDropped, match=r"^9999003$"):
        extended.check_uri(_message({"uri": "/submit/retired/anything"}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a.b[*][5].c", ("a", "b", "*", 5, "c")),
        ('metrics.string["user.email"]', ("metrics", "string", "user.email")),
        ("[*].x", ("*", "x")),
    ],
)
def test_parse_path(text: str, expected: tuple[object, ...]) -> None:
    parsed = parse_path(text)
    assert tuple("*" if repr(s) == "[*]" else s for s in parsed) == expected


@pytest.mark.parametrize("text", ["", ".a", "a.", "a[x]", "a[*", "a]b", "a[*]b"])
def test_parse_path_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_path(text)


def test_resolve_wildcards_walk_arrays_and_object_values() -> None:
    document = {"a": [{"b": 1}, {"b": 2}, {"c": 3}], "o": {"x": {"b": 4}, "y": [5]}}
    assert list(resolve(document, parse_path("a[*].b"))) == [1, 2]
    assert list(resolve(document, parse_path("o[*].b"))) == [4]
    assert list(resolve(document, parse_path("o.y[0]"))) == [5]
    assert list(resolve(document, parse_path("o.y[1]"))) == []
    assert list(resolve(document, parse_path("o[0]"))) == []


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
