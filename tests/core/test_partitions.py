"""The one partition-key builder: levels, substitutes, sanitising, and the four allowed forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestion.core.partitions import (
    MAX_LEVEL_CHARS,
    OTHER,
    UNKNOWN,
    Dimension,
    allows,
    levels,
    partition_key,
    sanitize,
)

LAYOUT = (
    Dimension("submission_date"),
    Dimension("document_type", ["main", "crash"]),
    Dimension("app_name", "Firefox"),
    Dimension("app_build_id", {"min": "20240101", "max": "20241231"}),
)


def test_a_key_is_prefix_levels_and_name():
    attributes = {
        "submission_timestamp": "2026-11-20T10:00:00.000Z",
        "document_type": "main",
        "app_name": "Firefox",
        "app_build_id": "20240601120000",
    }
    assert partition_key("telemetry-2/", LAYOUT, attributes, "part-0.ndjson.gz") == (
        "telemetry-2/2026_11_20/main/Firefox/20240601120000/part-0.ndjson.gz"
    )
    assert partition_key("", LAYOUT[:1], attributes, "x") == "2026_11_20/x"


def test_missing_values_are_unknown_and_disallowed_ones_other():
    attributes = {"document_type": "event", "app_name": "Fennec", "app_build_id": "2023"}
    assert levels(LAYOUT, attributes) == [UNKNOWN, OTHER, OTHER, OTHER]
    assert levels(LAYOUT, {"document_type": ""}) == [UNKNOWN] * 4


@pytest.mark.parametrize(
    ("allowed", "accepted", "refused"),
    [
        ("*", ["anything", "_"], []),
        ("release", ["release"], ["beta", "Release"]),
        ("a-b", ["a_b"], ["a-b"]),  # allowed values are compared sanitised
        (["nightly", "beta"], ["nightly", "beta"], ["release"]),
        ({"min": "20140120"}, ["20140120", "2015"], ["20140119"]),
        ({"max": "20140125"}, ["20140125", "1"], ["20140126"]),
        ({"min": "b", "max": "d"}, ["b", "c", "czz", "d"], ["a", "d0", "e"]),
    ],
)
def test_the_four_forms_of_allowed_values(allowed, accepted, refused):
    test = allows(allowed)
    assert all(test(value) for value in accepted)
    assert not any(test(value) for value in refused)


@pytest.mark.parametrize(
    "allowed", [{}, {"min": 1}, {"min": "a", "step": "b"}, [1, "a"], 5, None, {"max": None}]
)
def test_malformed_allowed_values_are_refused(allowed):
    with pytest.raises(ValueError):
        allows(allowed)


@given(st.text(max_size=300))
def test_a_sanitised_level_never_adds_or_climbs_a_directory(value):
    level = sanitize(value)
    assert "/" not in level and "\\" not in level and "\x00" not in level
    assert level.strip(".") != ""  # not "", ".", ".." or any run of dots
    assert 1 <= len(level) <= MAX_LEVEL_CHARS
    assert all(c.isascii() and (c.isalnum() or c in "_.") for c in level)


@given(st.dictionaries(st.sampled_from(["document_type", "app_name", "x"]), st.text()))
def test_every_key_has_exactly_one_level_per_dimension(attributes):
    key = partition_key("p", LAYOUT, attributes, "obj")
    assert key.split("/")[0] == "p" and key.split("/")[-1] == "obj"
    assert len(key.split("/")) == len(LAYOUT) + 2


def test_derived_hour_from_a_crafted_timestamp_is_sanitised():
    attributes = {"submission_timestamp": "2026-11-20T..:00:00Z"}
    assert levels([Dimension("submission_hour")], attributes) == ["_"]
