"""The bundled rules' conditions (S1-S17): which messages each rule rejects, and which it lets by.

Expectations come from the reference's ``MessageScrubberTest.java`` (test names cited per case);
rules added after the newest stored version of that test (S5, S6, S9, S14, S17, R4, R5 and the
b0ba0624 changes to S7/S16) take their expectations from ``MessageScrubber.java`` at b0ba0624 and
from the reference's §3.8 examples.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ingestion.core.errors import AffectedByBug, MessageShouldBeDropped, UnwantedData
from ingestion.resources.scrubber import ScrubberRules
from resources.scrubber.helpers import (
    COFFEE,
    TELEMETRY,
    _message,
    bundled_rules,  # noqa: F401 (the `rules` fixture)
)

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
