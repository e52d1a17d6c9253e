"""core.names: the snake_case rule the schema store and the scrubber's rules share (D-35).

The reference's cases (SnakeCaseTest) are in tests/resources/test_schemas.py; these are the
properties the scrubber relies on when it compares normalised names and prefixes.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestion.core.names import ends_with_separator, normalize_component, snake_case
from ingestion.resources import schemas

NAME_CHARACTERS = string.ascii_letters + string.digits + "-_.+~ é"
names = st.text(alphabet=NAME_CHARACTERS, max_size=24)


def test_the_schema_store_uses_these_functions() -> None:
    # One copy of the rule: the store imports it from core.names.
    assert schemas.snake_case is snake_case


# Each group: spellings the schema store files under one name.
ONE_NAME = {
    "pageload_domain": [
        "pageload-domain",
        "Pageload-Domain",
        "pageloadDomain",
        "PAGELOAD_DOMAIN",
        "-pageload--domain_",
        "pageload.domain",
    ],
    "ssl_reports": ["SSLReports", "ssl-reports", "sslReports"],
    "pageload_domains": ["pageload-domains"],
}


def test_spellings_of_one_name() -> None:
    for expected, spellings in ONE_NAME.items():
        assert {snake_case(name) for name in spellings} == {expected}


@given(names)
def test_snake_case_is_idempotent(name: str) -> None:
    # The scrubber normalises names that may already be normalised (the per-docType key).
    assert snake_case(snake_case(name)) == snake_case(name)


@given(names.filter(lambda p: not p[-1:].isupper() and not ends_with_separator(p)), names)
def test_a_prefix_not_ending_in_upper_case_stays_a_prefix(prefix: str, rest: str) -> None:
    # Why the scrubber may compare normalised prefixes: nothing that follows changes the
    # words of such a prefix, so a raw match is a normalised match.
    assert snake_case(prefix + rest).startswith(snake_case(prefix))


@given(names.filter(lambda p: snake_case(p) != ""), st.sampled_from("-_.+~ é"), names)
def test_a_prefix_ending_in_a_separator_ends_at_a_word(
    words: str, separator: str, rest: str
) -> None:
    prefix = words + separator
    name = snake_case(prefix + rest)
    assert name == snake_case(prefix) or name.startswith(snake_case(prefix) + "_")


def test_a_prefix_ending_in_upper_case_may_split_differently() -> None:
    # Hence the scrubber refuses such prefixes.
    assert not snake_case("comFEi").startswith(snake_case("comFE"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a-", True),
        ("a_", True),
        ("a.", True),
        ("aé", True),
        ("a", False),
        ("A1", False),
        ("", False),
    ],
)
def test_ends_with_separator(text: str, expected: bool) -> None:
    assert ends_with_separator(text) is expected


def test_normalize_component_keeps_the_suffix_after_the_first_dot() -> None:
    assert normalize_component("First-Shutdown.4.schema.json") == "first_shutdown.4.schema.json"
    assert normalize_component("pageload.Domain") == "pageload.Domain"
