"""NormalizeAttributes (D-47..D-52); vectors from the reference's NormalizeAttributesTest.java."""

from __future__ import annotations

import pytest

from ingestion.context import Context
from ingestion.core.message import Message
from ingestion.steps.normalize import (
    normalize_app_name,
    normalize_attributes,
    normalize_channel,
    normalize_country_code,
    normalize_os,
    normalize_os_version,
)

CONTEXT = Context(schemas=None, scrubber=None, user_agents=None)  # type: ignore[arg-type]

# NormalizeAttributesTest.channel
CHANNELS = [
    ("release", "release"),
    ("esr", "esr"),
    ("beta", "beta"),
    ("aurora", "aurora"),
    ("nightly", "nightly"),
    ("nightly-cck-ubuntu", "nightly"),
    ("no", "Other"),
    ("esr52", "Other"),
    ("Release", "Other"),
    ("Prefeitura Municipal de Santos", "Other"),
    ("beta-cdntest", "beta"),
    ("betastop", "beta"),
    # D-47 edge cases
    ("nightly-cck", "Other"),
    ("", "Other"),
]

# NormalizeAttributesTest.os (the app-independent rules of D-48)
OSES = [
    ("Windows", "Windows"),
    ("WINNT", "Windows"),
    ("Windows_NT", "Windows"),
    ("WindowsNT", "Windows"),
    ("Darwin", "Mac"),
    ("Linux", "Linux"),
    ("GNU/Linux", "Linux"),
    ("SunOS", "Linux"),
    ("FreeBSD", "Linux"),
    ("GNU/kFreeBSD", "Linux"),
    ("AIX", "Other"),
    ("iOS", "iOS"),
    ("iOS?", "iOS"),
    ("iPhone", "iOS"),
    ("All the iPhones", "iOS"),
    ("All the iOSes", "Other"),
    ("IOS", "Other"),
    ("Android", "Android"),
    ("Android?", "Android"),
    ("All the Androids", "Other"),
    ("asdf", "Other"),
    # D-48: Solaris counts as Linux; "contains Linux" is checked before "starts with Android".
    ("Solaris", "Linux"),
    ("Android Linux", "Linux"),
    ("windows", "Other"),
]

# NormalizeAttributesTest.osVersion, plus D-49's "Unknown" -> ""
OS_VERSIONS = [
    ("10.10.3", "10.10.3"),
    ("10.3", "10.3"),
    ("10", "10"),
    ("10.10.3.4.1", "10.10.3"),
    ("3.10.0-957.el7.x86_644.15.0", "3.10.0"),
    ("3.13.0-168-lowlatency", "3.13.0"),
    ("hi", ""),
    ("hi-13.1.3", ""),
    ("Unknown", ""),
    ("", ""),
    ("10.", "10"),
    # Java's `.` does not match line terminators, so the full match fails.
    ("10.1\nx", ""),
    ("10.1\rx", ""),
    ("10.1\u2028", ""),
    # Java's [0-9] is ASCII only.
    ("\u0661\u0660", ""),
]

# NormalizeAttributesTest.appName
APP_NAMES = [
    ("Firefox", "Firefox"),
    ("Fennec", "Fennec"),
    ("Fennec-x", "Fennec"),
    ("Focus-TV", "Focus-TV"),
    ("Focus", "Focus"),
    ("Zerda_cn", "Zerda_cn"),
    ("Zerda", "Zerda"),
    ("asdf", "Other"),
    # D-50: first prefix in the list wins.
    ("FirefoxReality_oculusvr", "FirefoxReality_oculusvr"),
    ("FirefoxForFireTV", "FirefoxForFireTV"),
    ("FirefoxConnect", "FirefoxConnect"),
    ("FirefoxReality", "Firefox"),
    ("Klar", "Klar"),
    ("Lockbox", "Lockbox"),
    ("WebXR", "WebXR"),
    ("Scryer", "Scryer"),
    ("firefox", "Other"),
]

# NormalizeAttributesTest.countryCode
COUNTRY_CODES = [
    ("FI", "FI"),
    ("fi", "FI"),
    ("FII", "Other"),
    ("asdf", "Other"),
    ("", "Other"),
    ("F1", "Other"),
    ("Éa", "Other"),
]


@pytest.mark.parametrize(("raw", "expected"), CHANNELS)
def test_channel(raw: str, expected: str) -> None:
    assert normalize_channel(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), OSES)
def test_os(raw: str, expected: str) -> None:
    assert normalize_os(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), OS_VERSIONS)
def test_os_version(raw: str, expected: str) -> None:
    assert normalize_os_version(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), APP_NAMES)
def test_app_name(raw: str, expected: str) -> None:
    assert normalize_app_name(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), COUNTRY_CODES)
def test_country_code(raw: str, expected: str) -> None:
    assert normalize_country_code(raw) == expected


def test_step_sets_every_normalized_attribute() -> None:
    message = Message(
        attributes={
            "app_update_channel": "beta-cdntest",
            "os": "Darwin",
            "os_version": "Unknown",
            "app_name": "Fennec-x",
            "geo_country": "ca",
        },
        payload=b"{}",
    )
    result = normalize_attributes(message, CONTEXT)
    assert result.attributes == {
        **message.attributes,
        "normalized_channel": "beta",
        "normalized_os": "Mac",
        "normalized_os_version": "",  # D-49: the empty string is set
        "normalized_app_name": "Fennec",
        "normalized_country_code": "CA",
    }
    assert "normalized_channel" not in message.attributes  # the input is not mutated


def test_step_only_sets_attributes_whose_source_exists() -> None:
    # D-52: a structured (non-telemetry) message has no app_name, so no normalized_app_name.
    message = Message(attributes={"document_namespace": "org-mozilla-fenix", "os": "Android"})
    result = normalize_attributes(message, CONTEXT)
    assert result.attributes == {
        "document_namespace": "org-mozilla-fenix",
        "os": "Android",
        "normalized_os": "Android",
    }


def test_step_without_sources_changes_nothing() -> None:
    message = Message(attributes={"uri": "/submit/x"}, payload=b"{}")
    assert normalize_attributes(message, CONTEXT).attributes == {"uri": "/submit/x"}


def test_step_overwrites_existing_normalized_value() -> None:
    message = Message(attributes={"app_update_channel": "Release", "normalized_channel": "x"})
    assert normalize_attributes(message, CONTEXT).attributes["normalized_channel"] == "Other"


def test_results_are_cached_per_combination_of_sources_and_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ingestion.steps import normalize

    monkeypatch.setattr(normalize, "_MAX_CACHED", 3)
    monkeypatch.setattr(normalize, "_normalized_by_sources", {})
    for version in range(10):  # more combinations than the cache holds
        message = Message(attributes={"os": "Linux", "os_version": f"{version}.1.2.3"})
        result = normalize_attributes(message, CONTEXT).attributes
        assert result["normalized_os_version"] == f"{version}.1.2"
        assert result["normalized_os"] == "Linux"
        assert len(normalize._normalized_by_sources) <= 3
    message = Message(attributes={"os": "Linux", "os_version": "9.1.2.3"})
    first = normalize_attributes(message, CONTEXT).attributes
    assert normalize_attributes(message, CONTEXT).attributes == first
