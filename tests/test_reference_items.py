"""Every citation of the behaviour reference resolves inside the repository.

Code and docs cite items of ``../shared/reference/decoder-behaviour.md``, which lives outside the
checkout: ``D-nn`` items (ranges such as ``D-10..D-14``), scrubber rules ``S1..S17``, ``R1..R5``
and ``U1``, sections such as ``§0.1`` and porting pitfalls (``pitfall 8``). Each cited id must have
a row in ``docs/reference-items.md`` naming its upstream source. This test only reads files: it
imports neither the ``ingestion`` package nor anything under ``../shared``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ITEMS_PAGE = REPO / "docs" / "reference-items.md"
SCANNED_DIRS = ("shared", "functions", "docs", "terraform", "bench")
SCANNED_FILES = ("README.md",)
SCANNED_SUFFIXES = frozenset({".py", ".md", ".tf", ".toml"})
SKIPPED_DIRS = frozenset({".venv", "__pycache__", ".terraform", "node_modules"})
# The index itself is not a citer: its rows are what the citations are checked against.
NOT_SCANNED = frozenset({ITEMS_PAGE.relative_to(REPO).as_posix()})

# --- What a citation looks like: the only place these patterns are defined ----------------------

_RANGE = r"(?:\.\.|…|–|—)"  # D-10..D-14, D-10…D-14, D-10–D-14
_LETTER_RANGE = r"(?:\.\.|…|–|—|-)"  # S1..S17, S1-S17, S1–S17
PATTERNS: dict[str, re.Pattern[str]] = {
    # D-10..D-14 (the second "D-" may be left out: D-10..14)
    "item_range": re.compile(rf"\bD-(\d{{2}}){_RANGE}(?:D-)?(\d{{2}})(?!\d)"),
    # D-07, and sub-items such as D-15.1 (".." is not a sub-item: the dot needs a digit after it)
    "item": re.compile(r"\bD-(\d{2})(?:\.(\d+))?(?!\d)"),
    # S1..S17, R1-R5: both ends carry the same letter, so "S3-FIFO" is not a range
    "rule_range": re.compile(rf"\b([SRU])(\d{{1,2}}){_LETTER_RANGE}\1(\d{{1,2}})\b"),
    # A lone rule id only where the repository writes one: after "(" or ", " in a list of ids,
    # or as a TOML rule id; then closing the list. "AWS S3", "an S3-FIFO cache" do not match.
    "rule": re.compile(
        r"""(?:(?<=\()|(?<=,\ )|(?<=id\ =\ "))([SRU]\d{1,2})(?=[),;"|]|[ \t]+\||[ \t]*$)""",
        re.MULTILINE,
    ),
    # pitfall 8, porting pitfall 9, pitfalls 1-3, porting pitfalls 1 and 4
    "pitfall": re.compile(
        r"\bpitfalls? (\d+(?:\s*(?:-|–|\.\.|,|,? and)\s*\d+)*)(?!\d)", re.IGNORECASE
    ),
    # §0.1, §10; "decoder-behaviour.md` §8" is the reference, "peers.md` §3.4" another document
    "section": re.compile(
        r"(?:(?P<doc>[\w-]+\.md|decoder-behaviour)`?[ \t]*)?§(?P<sec>\d+(?:\.\d+)*)"
    ),
    # A numbered markdown heading ("## 3. What is created", "### 2.1 Firestore"): a bare "§3" in
    # that file means its own section, not the reference's.
    "heading": re.compile(r"^#+[ \t]+(\d+(?:\.\d+)*)\.?[ \t]", re.MULTILINE),
    # The first cell of a row of the items table.
    "row": re.compile(r"^\|\s*`?([^|`]+?)`?\s*\|(.*)$", re.MULTILINE),
}
REFERENCE_DOC = "decoder-behaviour"

# ------------------------------------------------------------------------------------------------


def _span(first: int, last: int) -> range:
    return range(min(first, last), max(first, last) + 1)


def _pitfalls(listed: str) -> Iterator[int]:
    """``1-3`` → 1, 2, 3; ``1 and 4`` → 1, 4."""
    tokens = re.findall(r"\d+|-|–|\.\.", listed)
    previous: int | None = None
    expand = False
    for token in tokens:
        if not token.isdigit():
            expand = True
            continue
        number = int(token)
        if expand and previous is not None:
            yield from _span(previous, number)
        else:
            yield number
        previous, expand = number, False


def extract_ids(text: str, *, own_sections: Iterable[str] = ()) -> set[str]:
    """Every reference id cited in ``text``, ranges expanded.

    ``own_sections`` are the numbers of the file's own numbered headings; a bare ``§n`` naming
    one of them refers to that file, not to the reference, and is left out.
    """
    own = set(own_sections)
    ids: set[str] = set()
    for match in PATTERNS["item_range"].finditer(text):
        ids.update(f"D-{n:02d}" for n in _span(int(match[1]), int(match[2])))
    for match in PATTERNS["item"].finditer(text):
        ids.add(f"D-{match[1]}" + (f".{match[2]}" if match[2] else ""))
    for match in PATTERNS["rule_range"].finditer(text):
        ids.update(f"{match[1]}{n}" for n in _span(int(match[2]), int(match[3])))
    for match in PATTERNS["rule"].finditer(text):
        ids.add(match[1])
    for match in PATTERNS["pitfall"].finditer(text):
        ids.update(f"pitfall {n}" for n in _pitfalls(match[1]))
    for match in PATTERNS["section"].finditer(text):
        doc, section = match["doc"], match["sec"]
        if doc is None and section in own:
            continue  # the file's own numbered section
        if doc is not None and not doc.startswith(REFERENCE_DOC):
            continue  # a section of some other document
        ids.add(f"§{section}")
    return ids


def scanned_files(root: Path) -> Iterator[Path]:
    for name in SCANNED_FILES:
        if (root / name).is_file():
            yield root / name
    for top in SCANNED_DIRS:
        for path in sorted((root / top).rglob("*")):
            relative = path.relative_to(root)
            if (
                path.is_file()
                and path.suffix in SCANNED_SUFFIXES
                and not SKIPPED_DIRS.intersection(relative.parts)
                and relative.as_posix() not in NOT_SCANNED
            ):
                yield path


def cited_ids(root: Path = REPO) -> dict[str, list[str]]:
    """Each cited id with the files (relative to ``root``) that cite it."""
    cited: dict[str, list[str]] = {}
    for path in scanned_files(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        own = PATTERNS["heading"].findall(text) if path.suffix == ".md" else ()
        for item in extract_ids(text, own_sections=own):
            cited.setdefault(item, []).append(path.relative_to(root).as_posix())
    return cited


def documented_rows(page: Path = ITEMS_PAGE) -> dict[str, list[list[str]]]:
    """id → the cells after the id, for each row of the items table with that id."""
    rows: dict[str, list[list[str]]] = {}
    for match in PATTERNS["row"].finditer(page.read_text(encoding="utf-8")):
        key = match[1].strip()
        if key.lower() == "id" or set(key) <= set("-: "):
            continue  # header and separator rows
        cells = [cell.strip() for cell in match[2].rstrip().rstrip("|").split("|")]
        rows.setdefault(key, []).append(cells)
    return rows


def sort_key(item: str) -> tuple[int, str, tuple[int, ...]]:
    kinds = ("§", "D-", "S", "R", "U", "pitfall ")
    kind = next(i for i, prefix in enumerate(kinds) if item.startswith(prefix))
    numbers = tuple(int(n) for n in re.findall(r"\d+", item))
    return kind, item[:1], numbers


def missing_rows(cited: dict[str, list[str]], rows: dict[str, list[list[str]]]) -> list[str]:
    return sorted(set(cited) - set(rows), key=sort_key)


# --- The checks on the repository ---------------------------------------------------------------


@pytest.fixture(scope="module")
def cited() -> dict[str, list[str]]:
    found = cited_ids()
    assert found, "no reference citations found at all: has the scanned layout changed?"
    return found


@pytest.fixture(scope="module")
def rows() -> dict[str, list[list[str]]]:
    assert ITEMS_PAGE.is_file(), f"{ITEMS_PAGE.relative_to(REPO)} is missing"
    return documented_rows()


def test_every_cited_id_has_a_row(cited, rows):
    missing = missing_rows(cited, rows)
    listing = "\n".join(f"  {item}  (cited in {', '.join(cited[item])})" for item in missing)
    assert not missing, (
        f"{len(missing)} cited reference id(s) have no row in docs/reference-items.md:\n{listing}"
    )


def test_every_row_has_a_description_and_an_upstream_source(rows):
    bad = [
        item
        for item, found in rows.items()
        for cells in found
        if len(cells) < 2 or not cells[0] or not cells[1]
    ]
    assert not bad, (
        "rows of docs/reference-items.md with an empty description or upstream column: "
        + ", ".join(sorted(bad, key=sort_key))
    )


def test_each_id_has_one_row(rows):
    twice = sorted((item for item, found in rows.items() if len(found) > 1), key=sort_key)
    assert not twice, f"ids listed more than once in docs/reference-items.md: {', '.join(twice)}"


def test_d_items_are_listed_without_gaps(cited, rows):
    highest = max(int(item[2:4]) for item in cited if item.startswith("D-"))
    gaps = [f"D-{n:02d}" for n in range(1, highest + 1) if f"D-{n:02d}" not in rows]
    assert not gaps, f"docs/reference-items.md skips D items: {', '.join(gaps)}"


# --- The scanner itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(D-13, D-15, D-39)", {"D-13", "D-15", "D-39"}),
        ("URI checks (D-10..D-12, §10)", {"D-10", "D-11", "D-12", "§10"}),
        ("the scrubber (§3.8, D-15.1, D-32)", {"§3.8", "D-15.1", "D-32"}),
        (
            "# D-32, S1..S17, R1..R5",
            {"D-32", *(f"S{n}" for n in range(1, 18))} | {"R1", "R2"} | {"R3", "R4", "R5"},
        ),
        ("every rule (S1–S3, R4, R5, U1) in order", {"S1", "S2", "S3", "R4", "R5", "U1"}),
        ("a retired endpoint (U1) is unwanted", {"U1"}),
        ('[[rule]]\nid = "S8"\nbug = "1"', {"S8"}),
        ("| URI checks, stub payload, U1 |", {"U1"}),
        ("resolved (pitfall 8). And (porting pitfall 9)", {"pitfall 8", "pitfall 9"}),
        (
            "(D-10..D-15, §10, pitfalls 1-3)",
            {f"D-{n}" for n in range(10, 16)} | {"§10"} | {"pitfall 1", "pitfall 2", "pitfall 3"},
        ),
        ("ported once (porting pitfalls 1 and 4)", {"pitfall 1", "pitfall 4"}),
        ("see `decoder-behaviour.md` §8 and decoder-behaviour §4", {"§8", "§4"}),
        ("as amended by §0.1", {"§0.1"}),
    ],
)
def test_scanner_finds_citations(text, expected):
    assert extract_ids(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "stored in AWS S3, cached in an S3-FIFO cache",
        "hash 0aS1b2R5c and a UUID-12 and ID-15",
        "see `peers.md` §3.4 and `registry-and-backfill.md` §3",
        "an R2 bucket or S3 storage",
        "D-nn items, D-1 and D-123",
    ],
)
def test_scanner_ignores_look_alikes(text):
    assert extract_ids(text) == set()


def test_own_numbered_sections_are_not_reference_citations():
    text = "## 4. IAM\n\nNeeds credentials (§4); spec differs (§0.1).\n"
    own = PATTERNS["heading"].findall(text)
    assert extract_ids(text, own_sections=own) == {"§0.1"}


def test_an_uncatalogued_citation_is_reported(tmp_path):
    module = tmp_path / "shared" / "ingestion" / "fake.py"
    module.parent.mkdir(parents=True)
    module.write_text('"""A fake step (D-99, D-01, S99..S98)."""\n', encoding="utf-8")
    (tmp_path / "README.md").write_text("Nothing cited.\n", encoding="utf-8")
    cited = cited_ids(tmp_path)
    assert cited["D-99"] == ["shared/ingestion/fake.py"]
    assert missing_rows(cited, documented_rows()) == ["D-99", "S98", "S99"]
