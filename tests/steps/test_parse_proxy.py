"""ParseProxy: X-Forwarded-For trimming and remote_addr removal (D-17..D-19, §10)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestion.core.message import Message
from ingestion.steps.parse_proxy import (
    forwarded_entries,
    last_forwarded_entry,
    trim_forwarded_for,
)
from support import context_with

# The injected test schema test/geoip-skip/geoip-skip.1 declares geoip_skip_entries = 1.
GEOIP_SKIP = {("test", "geoip-skip", "1"): {"bq_table": "geoip_skip_v1", "geoip_skip_entries": 1}}
GEOIP_SKIP_ATTRIBUTES = {
    "document_namespace": "test",
    "document_type": "geoip-skip",
    "document_version": "1",
}


def trimmed(attributes: dict[str, str], metadata: Any = None) -> dict[str, str]:
    message = Message(attributes=dict(attributes), payload=b"test")
    result = trim_forwarded_for(message, context_with(metadata or {}))
    assert result.payload == b"test"
    return result.attributes


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        # ParseProxyTest.testOutput
        ({}, {}),
        (
            {
                "submission_timestamp": "2000-01-01T00:00:00.000000Z",
                "x_forwarded_for": "4, 3, 2, 1",
            },
            {"submission_timestamp": "2000-01-01T00:00:00.000000Z", "x_forwarded_for": "4,3"},
        ),
        # ParseProxyTest.testGeoipSkip, first message: no doctype, so no skip
        ({"x_forwarded_for": "4, 3, 2, 1"}, {"x_forwarded_for": "4,3"}),
        # ParseProxyTest.testWithGeoCityLookup: x_pipeline_proxy is not interpreted (D-19)
        ({"x_forwarded_for": "_, 202.196.224.0, _, _"}, {"x_forwarded_for": "_,202.196.224.0"}),
        (
            {"x_pipeline_proxy": "1", "x_forwarded_for": "_, 202.196.224.0, _, _"},
            {"x_pipeline_proxy": "1", "x_forwarded_for": "_,202.196.224.0"},
        ),
        # decoder-integration valid-input, host=test2: one entry left
        ({"x_forwarded_for": "202.196.224.0,_,_"}, {"x_forwarded_for": "202.196.224.0"}),
        # remote_addr always goes (D-18), with or without X-Forwarded-For
        ({"remote_addr": "10.0.0.2"}, {}),
        ({"remote_addr": "10.0.0.2", "host": "x"}, {"host": "x"}),
        (
            {"remote_addr": "10.0.0.2", "x_forwarded_for": "192.168.1.2, 63.245.208.195, 60.1.1.1"},
            {"x_forwarded_for": "192.168.1.2"},
        ),
        # a single entry is not trimmed
        ({"x_forwarded_for": "216.160.83.56"}, {"x_forwarded_for": "216.160.83.56"}),
        # §10: exactly two entries leave an empty but present attribute
        ({"x_forwarded_for": "1.2.3.4, 5.6.7.8"}, {"x_forwarded_for": ""}),
        # §10: an empty or blank attribute stays present and empty
        ({"x_forwarded_for": ""}, {"x_forwarded_for": ""}),
        ({"x_forwarded_for": "  "}, {"x_forwarded_for": ""}),
        ({"x_forwarded_for": " , ,"}, {"x_forwarded_for": ""}),
        # blank entries are dropped before counting
        ({"x_forwarded_for": "4, , 3,,2, 1,"}, {"x_forwarded_for": "4,3"}),
        ({"x_forwarded_for": "5,\t4 ,3 , 2,1"}, {"x_forwarded_for": "5,4,3"}),
        # §10: the first entry keeps its leading whitespace
        ({"x_forwarded_for": " 4, 3, 2, 1"}, {"x_forwarded_for": " 4,3"}),
        # hostnames and junk are passed through untouched; the lookups ignore them
        ({"x_forwarded_for": "example.com, 3, 2"}, {"x_forwarded_for": "example.com"}),
    ],
)
def test_trim_forwarded_for(attributes: dict[str, str], expected: dict[str, str]) -> None:
    assert trimmed(attributes) == expected


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("4, 3, 2, 1", "4"),  # ParseProxyTest.testGeoipSkip
        ("4, 3, 2", ""),
        ("4, 3", ""),  # §10: nothing left after the load balancers
        ("4", ""),  # §10: one entry with geoip_skip_entries >= 1
        ("", ""),
    ],
)
def test_geoip_skip_entries(forwarded_for: str, expected: str) -> None:
    attributes = {**GEOIP_SKIP_ATTRIBUTES, "x_forwarded_for": forwarded_for}
    assert trimmed(attributes, GEOIP_SKIP) == {**GEOIP_SKIP_ATTRIBUTES, "x_forwarded_for": expected}


def test_geoip_skip_larger_than_the_list_empties_it() -> None:
    metadata = {("test", "geoip-skip", "1"): {"geoip_skip_entries": 5}}
    attributes = {**GEOIP_SKIP_ATTRIBUTES, "x_forwarded_for": "6, 5, 4, 3, 2, 1"}
    assert trimmed(attributes, metadata)["x_forwarded_for"] == ""


@pytest.mark.parametrize(
    ("skip", "expected"),
    [
        (2, "6,5"),
        (0, "6,5,4,3"),
        (-1, "6,5,4,3"),
        (None, "6,5,4,3"),
        ("1", "6,5,4,3"),  # not an integer
        (True, "6,5,4,3"),  # a JSON boolean is not a count
    ],
)
def test_geoip_skip_value_must_be_a_positive_integer(skip: object, expected: str) -> None:
    metadata = {("test", "geoip-skip", "1"): {"geoip_skip_entries": skip}}
    attributes = {**GEOIP_SKIP_ATTRIBUTES, "x_forwarded_for": "6, 5, 4, 3, 2, 1"}
    assert trimmed(attributes, metadata)["x_forwarded_for"] == expected


def test_unknown_doctype_skips_nothing() -> None:
    attributes = {
        "document_namespace": "test",
        "document_type": "unknown",
        "document_version": "1",
        "x_forwarded_for": "4, 3, 2, 1",
    }
    assert trimmed(attributes, GEOIP_SKIP)["x_forwarded_for"] == "4,3"


def test_no_metadata_lookup_without_document_version() -> None:
    # A telemetry URI has no document_version yet, so geoip_skip_entries cannot apply.
    context = context_with(GEOIP_SKIP)
    attributes = {
        "document_namespace": "test",
        "document_type": "geoip-skip",
        "x_forwarded_for": "4, 3, 2, 1",
    }
    result = trim_forwarded_for(Message(attributes=attributes), context)
    assert result.attributes["x_forwarded_for"] == "4,3"
    assert context.schemas.calls == []  # type: ignore[attr-defined]


def test_metadata_lookup_uses_the_doctype() -> None:
    context = context_with(GEOIP_SKIP)
    attributes = {**GEOIP_SKIP_ATTRIBUTES, "x_forwarded_for": "4, 3, 2, 1"}
    trim_forwarded_for(Message(attributes=attributes), context)
    assert context.schemas.calls == [("test", "geoip-skip", "1")]  # type: ignore[attr-defined]


def test_input_message_is_not_modified() -> None:
    attributes = {"remote_addr": "10.0.0.2", "x_forwarded_for": "4, 3, 2, 1"}
    message = Message(attributes=attributes)
    trim_forwarded_for(message, context_with({}))
    assert message.attributes == {"remote_addr": "10.0.0.2", "x_forwarded_for": "4, 3, 2, 1"}


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("192.168.1.2, 216.160.83.56", "216.160.83.56"),
        ("4,3", "3"),
        ("4", "4"),
        ("", ""),  # §10: present but empty; no lookup can match
        ("1.2.3.4,", "1.2.3.4"),  # Java's split drops trailing empty strings
        ("1.2.3.4 , ", "1.2.3.4"),
        (",", ""),
        ("4, 3 ", "3 "),  # the last entry keeps trailing whitespace, as in Java
    ],
)
def test_last_forwarded_entry(forwarded_for: str, expected: str) -> None:
    assert last_forwarded_entry(forwarded_for) == expected


def test_forwarded_entries_split_like_java() -> None:
    assert forwarded_entries(" a ,b,  ,\tc ") == [" a", "b", "c "]
    # Java's \s is ASCII only: a no-break space is part of an entry, not a separator.
    assert forwarded_entries("a\u00a0,b") == ["a\u00a0", "b"]


@pytest.mark.parametrize(
    "forwarded_for",
    [
        "",
        " ",
        ",",
        " , ,",
        "a",
        " a ",
        "a,b",
        "a , b",
        "\ta\t,\tb\t",
        "a,, b",
        "a, ,b",
        "a ,  , b ,",
        "a,\x0b\x0c\r\n,b",
        "a\u00a0, b\u2028",  # Unicode spaces are not Java's \s: they stay
        ",a",
        "  ,a",
    ],
)
def test_entries_split_as_javas_regex_split_does(forwarded_for: str) -> None:
    import re

    java_split = re.compile(r"\s*,\s*", re.ASCII).split(forwarded_for)
    expected = [entry for entry in java_split if entry and not entry.isspace()]
    assert forwarded_entries(forwarded_for) == expected
    while java_split and not java_split[-1]:
        java_split.pop()
    assert last_forwarded_entry(forwarded_for) == (java_split[-1] if java_split else "")


# Java's "\\s*,\\s*" split, written as the regex it is: the reference for the faster split.
_JAVA_SEPARATOR = re.compile(r"\s*,\s*", re.ASCII)


@given(st.text(alphabet=" \t\n\x0b\x0c\r\u00a0\u2028,1.a:", max_size=24))
def test_forwarded_entries_split_like_the_java_regex(forwarded_for: str) -> None:
    expected = [e for e in _JAVA_SEPARATOR.split(forwarded_for) if e and not e.isspace()]
    assert forwarded_entries(forwarded_for) == expected
