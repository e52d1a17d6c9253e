"""JSON paths: parsing ``a.b[*][5]["x.y"]`` and walking them with Jackson semantics."""

from __future__ import annotations

import pytest

from ingestion.resources.scrubber import parse_path, resolve


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
