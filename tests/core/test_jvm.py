"""The Java behaviour ported once: ``String.split`` and ``Integer.parseInt`` (pitfalls 1, 4)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestion.core.jvm import INT_MAX, INT_MIN, java_split, parse_int


# --- java_split (§10, pitfall 1) -------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [""]),  # no separator: the input itself
        ("/", []),  # only separators: nothing
        ("///", []),
        ("a//", ["a"]),  # trailing empties dropped
        ("/a", ["", "a"]),  # leading empty kept
        ("a//b", ["a", "", "b"]),  # inner empty kept
        ("a/b/", ["a", "b"]),
        ("abc", ["abc"]),
        ("/a//b//", ["", "a", "", "b"]),
    ],
)
def test_java_split(text: str, expected: list[str]) -> None:
    assert java_split(text, "/") == expected


@given(st.text(alphabet="ab/", max_size=12))
def test_java_split_drops_only_trailing_empty_strings(text: str) -> None:
    parts = java_split(text, "/")
    if "/" not in text:
        assert parts == [text]
    else:
        assert "/".join(parts) == text.rstrip("/")
        assert not parts or parts[-1] != ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("-0", 0),
        ("+7", 7),
        ("007", 7),
        (str(INT_MAX), INT_MAX),
        (str(INT_MIN), INT_MIN),
        (str(INT_MAX + 1), None),  # overflows 32 bits
        (str(INT_MIN - 1), None),
        ("\u0661\u0662", 12),  # Arabic-Indic digits are digits to Java too
        ("", None),
        ("+", None),
        ("1.0", None),
        (" 1", None),
        ("1 ", None),
        ("0x10", None),
        ("1_000", None),
        ("9" * 5000, None),  # more digits than Python converts by default
    ],
)
def test_parse_int(text: str, expected: int | None) -> None:
    assert parse_int(text) == expected


@given(st.integers(min_value=2 * INT_MIN, max_value=2 * INT_MAX))
def test_parse_int_takes_every_decimal_rendering_within_32_bits(number: int) -> None:
    expected = number if INT_MIN <= number <= INT_MAX else None
    assert parse_int(str(number)) == expected
    assert parse_int(f"+{number}" if number >= 0 else str(number)) == expected


@given(st.text(max_size=8))
def test_parse_int_accepts_only_a_sign_and_digits(text: str) -> None:
    if re.fullmatch(r"[+-]?\d+", text) is None:
        assert parse_int(text) is None
