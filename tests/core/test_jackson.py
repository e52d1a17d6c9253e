"""Jackson's ``asText()`` and Java's ``Double.toString`` (D-31, D-34)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestion.core.jackson import as_text, double_to_string

AS_TEXT_CASES: list[tuple[Any, str]] = [
    ("s", "s"),
    (None, "null"),
    (True, "true"),
    (False, "false"),
    (18, "18"),
    (-3, "-3"),
    (123456789012345678901234567890, "123456789012345678901234567890"),
    # Java Double.toString: plain in [1e-3, 1e7), computerized scientific notation outside.
    (1.5, "1.5"),
    (100.0, "100.0"),
    (0.0, "0.0"),
    (-0.0, "-0.0"),
    (0.001, "0.001"),
    (0.0001, "1.0E-4"),
    (1e-5, "1.0E-5"),
    (1234567.0, "1234567.0"),
    (9999999.0, "9999999.0"),
    (1e7, "1.0E7"),
    (12345678.9, "1.23456789E7"),
    (1e10, "1.0E10"),
    (-2.5e-7, "-2.5E-7"),
    (1.7976931348623157e308, "1.7976931348623157E308"),
    (0.1, "0.1"),
    (123.456, "123.456"),
    ({"a": 1}, ""),
    ([1, 2], ""),
    (4.0, "4.0"),
    (0.5, "0.5"),
    (100.25, "100.25"),
    (12345678.0, "1.2345678E7"),
    (1e20, "1.0E20"),
]


@pytest.mark.parametrize(("value", "expected"), AS_TEXT_CASES)
def test_as_text(value: Any, expected: str) -> None:
    assert as_text(value) == expected


def test_non_finite_doubles() -> None:
    assert double_to_string(math.nan) == "NaN"
    assert double_to_string(math.inf) == "Infinity"
    assert double_to_string(-math.inf) == "-Infinity"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_double_to_string_round_trips_and_keeps_a_fraction(value: float) -> None:
    text = double_to_string(value)
    assert float(text) == value
    mantissa = text.split("E")[0]
    assert "." in mantissa and not mantissa.endswith(".")
    if "E" in text:  # scientific notation only outside [1e-3, 1e7)
        assert not 1e-3 <= abs(value) < 1e7
        assert 1 <= abs(float(mantissa)) < 10
    elif value != 0:
        assert 1e-3 <= abs(value) < 1e7
