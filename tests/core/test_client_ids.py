"""payload_client_id: the one D-39 precedence rule behind the client-id step and scrubber (S15)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ingestion.core.client_ids import payload_client_id

LOWER = "2907648d-711b-4e9f-94b5-52a2b40a44b1"
UPPER = LOWER.upper()
OTHER = "90210716-99f8-0a4f-8119-9bfc16cd68a3"

# (case, document, client id, the document after write_back=True; None when unchanged)
CASES: list[tuple[str, dict[str, Any], str | None, dict[str, Any] | None]] = [
    ("empty", {}, None, None),
    (
        "Glean only",
        {"client_info": {"client_id": UPPER}},
        LOWER,
        {"client_info": {"client_id": LOWER}},
    ),
    ("top-level client_id only", {"client_id": UPPER}, LOWER, {"client_id": LOWER}),
    ("top-level clientId only", {"clientId": UPPER}, LOWER, {"clientId": LOWER}),
    (
        "Glean before both top-level fields",
        {"client_info": {"client_id": UPPER}, "client_id": OTHER, "clientId": OTHER},
        LOWER,
        {"client_info": {"client_id": LOWER}, "client_id": OTHER, "clientId": OTHER},
    ),
    (
        "client_id before clientId",
        {"client_id": UPPER, "clientId": OTHER.upper()},
        LOWER,
        {"client_id": LOWER, "clientId": OTHER.upper()},
    ),
    (
        "invalid Glean value falls through to client_id",
        {"client_info": {"client_id": "n/a"}, "client_id": UPPER},
        LOWER,
        {"client_info": {"client_id": "n/a"}, "client_id": LOWER},
    ),
    (
        "empty Glean value falls through to clientId",
        {"client_info": {"client_id": ""}, "clientId": UPPER},
        LOWER,
        {"client_info": {"client_id": ""}, "clientId": LOWER},
    ),
    (
        "non-string Glean value falls through",
        {"client_info": {"client_id": 1}, "client_id": UPPER},
        LOWER,
        {"client_info": {"client_id": 1}, "client_id": LOWER},
    ),
    (
        "client_info not an object is skipped",
        {"client_info": [UPPER], "clientId": UPPER},
        LOWER,
        {"client_info": [UPPER], "clientId": LOWER},
    ),
    (
        "invalid client_id falls through to clientId",
        {"client_id": "n/a", "clientId": UPPER},
        LOWER,
        {"client_id": "n/a", "clientId": LOWER},
    ),
    ("braces are stripped", {"client_id": "{" + UPPER + "}"}, LOWER, {"client_id": LOWER}),
    (
        "braced Glean value",
        {"client_info": {"client_id": "{" + LOWER + "}"}},
        LOWER,
        {"client_info": {"client_id": LOWER}},
    ),
    # Java's UUID.fromString accepts short groups; the text is kept as written, lower-cased.
    ("short Java groups", {"clientId": "A-B-C-D-E"}, "a-b-c-d-e", {"clientId": "a-b-c-d-e"}),
    # Python's uuid.UUID accepts these, Java does not: no source holds a valid id.
    ("bare hex digits", {"client_id": LOWER.replace("-", "")}, None, None),
    ("urn prefix", {"client_id": "urn:uuid:" + LOWER}, None, None),
    ("too long", {"client_id": LOWER + "0"}, None, None),
    ("four groups", {"clientId": "1-2-3-4"}, None, None),
    ("not hex", {"clientId": "g-2-3-4-5"}, None, None),
    ("empty string", {"client_id": ""}, None, None),
    ("only braces", {"client_id": "{}"}, None, None),
    ("non-string values", {"client_id": 42, "clientId": {"id": LOWER}}, None, None),
    ("null values", {"client_info": {"client_id": None}, "client_id": None}, None, None),
    ("other fields are not sources", {"clientID": LOWER, "id": LOWER}, None, None),
]


@pytest.mark.parametrize(
    ("document", "expected", "written_back"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_precedence_and_normalisation(
    document: dict[str, Any], expected: str | None, written_back: dict[str, Any] | None
) -> None:
    untouched = copy.deepcopy(document)
    assert payload_client_id(document) == expected
    assert document == untouched  # write_back defaults to False

    assert payload_client_id(document, write_back=True) == expected
    assert document == (untouched if written_back is None else written_back)


def test_write_back_happens_in_place() -> None:
    client_info = {"client_id": "{" + UPPER + "}"}
    document: dict[str, Any] = {"client_info": client_info}
    payload_client_id(document, write_back=True)
    assert document["client_info"] is client_info
    assert client_info == {"client_id": LOWER}


def test_without_top_level_only_glean_is_read() -> None:
    document: dict[str, Any] = {"client_id": UPPER, "clientId": UPPER}
    assert payload_client_id(document, write_back=True, top_level=False) is None
    assert document == {"client_id": UPPER, "clientId": UPPER}

    document = {"client_info": {"client_id": "n/a"}, "client_id": UPPER}
    assert payload_client_id(document, write_back=True, top_level=False) is None
    assert document == {"client_info": {"client_id": "n/a"}, "client_id": UPPER}

    document = {"client_info": {"client_id": UPPER}, "client_id": OTHER}
    assert payload_client_id(document, write_back=True, top_level=False) == LOWER
    assert document == {"client_info": {"client_id": LOWER}, "client_id": OTHER}
