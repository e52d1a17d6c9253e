"""No spelling of a docType escapes the bundled rules about it (every rule, read from the file).

The schema store finds a schema by the snake_case form of the namespace and docType (D-35), so
``Pageload-Domain``, ``pageload_domain`` and ``pageloadDomain`` all reach ``pageload_domain``.
For every rule of ``scrubber.toml`` that names a namespace or docType (drop, reject and redact
rules alike), and for every name it gives, a message that meets the rule under the file's
spelling is built from the rule's own conditions; then:

- every other spelling of the names (case, ``-``/``_`` and other separators, camelCase) still
  meets the rule, with the same bug, and the whole rule set treats it exactly as the original;
- the rule applies to a mutated name exactly when the schema store would file the mutant under
  one of the rule's names (``has_doctype``), so a rule catches what the store finds and no more;
- names that normalise differently (``pageload-domains``) are not caught, in any spelling.
"""

from __future__ import annotations

import copy
import dataclasses
import string
import tomllib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.core.errors import AffectedByBug, MessageShouldBeDropped, UnwantedData
from ingestion.core.message import Message
from ingestion.core.names import snake_case
from ingestion.resources.schemas import SchemaStore
from ingestion.resources.scrubber import WILDCARD, JsonPath, ScrubberRules, parse_path
from ingestion.resources.scrubber.rule_file import _regex
from resources.scrubber.helpers import RULES_FILE

NAME_ATTRIBUTES = ("document_namespace", "document_type")
# The names of a docType the rule says nothing about.
FILLER = {"document_namespace": "org-example-app", "document_type": "example-ping"}
SCHEMA = {"type": "object", "mozPipelineMetadata": {"bq_table": "t_v1"}}

RAW_RULES: dict[str, dict[str, Any]] = {
    raw["id"]: raw for raw in tomllib.loads(RULES_FILE.read_text("utf-8"))["rule"]
}
BUNDLED = ScrubberRules.load()
COMPILED = {rule.id: rule for rule in BUNDLED.rules}


# --- What each rule says about the names -------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class NameCase:
    """One name a rule gives for one attribute: ``exact`` (equals, one_of, a bug table key) or
    a ``prefix`` (starts_with, a bug table prefix)."""

    rule_id: str
    attribute: str
    value: str
    kind: str

    def __str__(self) -> str:
        return f"{self.rule_id}-{self.attribute.removeprefix('document_')}-{self.value}"

    @property
    def full_names(self) -> tuple[str, ...]:
        """Names the rule matches as the file spells them."""
        if self.kind == "exact":
            return (self.value,)
        return (self.value, self.value + "x", self.value + "-more")


def _attribute_tables(raw: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The attribute tables a witness satisfies: all of ``attributes``, the first ``any``."""
    yield raw.get("attributes", {})
    if "any" in raw:
        yield raw["any"][0]


def _name_cases(raw: Mapping[str, Any]) -> list[NameCase]:
    cases = []
    for table in _attribute_tables(raw):
        for attribute in NAME_ATTRIBUTES:
            operators = table.get(attribute, {})
            for operator, operand in operators.items():
                values = [operand] if isinstance(operand, str) else list(operand)
                kind = {"equals": "exact", "one_of": "exact", "starts_with": "prefix"}[operator]
                cases.extend(NameCase(raw["id"], attribute, v, kind) for v in values)
    bug_by = raw.get("bug_by", {})
    if bug_by.get("attribute") in NAME_ATTRIBUTES:
        kind = "prefix" if bug_by.get("match") == "starts_with" else "exact"
        cases.extend(NameCase(raw["id"], bug_by["attribute"], key, kind) for key in raw["bugs"])
    return cases


CASES = [case for raw in RAW_RULES.values() for case in _name_cases(raw)]
EXACT_CASES = [case for case in CASES if case.kind == "exact"]


def _cases_of(rule_id: str, attribute: str) -> list[NameCase]:
    return [c for c in CASES if c.rule_id == rule_id and c.attribute == attribute]


def _mentions_a_doctype(raw: Mapping[str, Any]) -> bool:
    return any(attribute in repr(raw) for attribute in NAME_ATTRIBUTES)


def test_every_rule_naming_a_doctype_is_covered() -> None:
    # Drop, reject and redact rules alike; a rule whose names this file cannot turn into
    # cases (a negated condition, say) fails here rather than going untested.
    naming = {rule_id for rule_id, raw in RAW_RULES.items() if _mentions_a_doctype(raw)}
    assert naming == {case.rule_id for case in CASES}
    rejecting = {i for i in naming if RAW_RULES[i]["action"] in ("drop", "unwanted", "bug")}
    assert {"S1", "S4", "S8", "S9", "S10", "S12", "S13", "S14", "S16", "S17"} <= rejecting
    assert len(CASES) > len(RAW_RULES["S8"]["bugs"])


# --- Spellings -----------------------------------------------------------------------------
SEPARATORS = ("-", "_", "--", "_-", ".", "+", "~", " ", "é")


def _camel_joins(previous: str, word: str) -> bool:
    """Whether ``word`` (capitalised) may follow ``previous`` with no separator and still
    start a word of its own under snake_case."""
    letters = previous.rstrip(string.digits)
    if not word[:1].isalpha() or not letters or not word[:1].isupper():
        return False
    return letters[-1].islower() or (len(word) > 1 and word[1].islower())


def _render(rendered: list[str], joiners: list[str]) -> str:
    name = rendered[0]
    for previous, word, joiner in zip(rendered, rendered[1:], joiners, strict=False):
        name += joiner if joiner or _camel_joins(previous, word) else "-"
        name += word
    return name


def _words(name: str) -> list[str]:
    return snake_case(name).split("_")


@st.composite
def spellings(draw: st.DrawFn, name: str) -> str:
    """Any spelling with the same snake_case form as ``name``."""
    words = _words(name)
    rendered = [draw(st.sampled_from((w, w.upper(), w.capitalize()))) for w in words]
    joiners = [draw(st.sampled_from(("", *SEPARATORS))) for _ in words[1:]]
    edges = st.sampled_from(("", "", "-", "_", "__"))
    return draw(edges) + _render(rendered, joiners) + draw(edges)


def fixed_spellings(name: str) -> list[str]:
    """The usual ones: Title-Case, UPPER_SNAKE, snake, camelCase, PascalCase, dotted."""
    words = _words(name)
    titled = [w.capitalize() for w in words]
    camel = [words[0], *titled[1:]]
    return [
        _render(titled, ["-"] * len(words)),
        _render([w.upper() for w in words], ["_"] * len(words)),
        _render(words, ["_"] * len(words)),
        _render(camel, [""] * len(words)),
        _render(titled, [""] * len(words)),
        _render(words, ["."] * len(words)),
    ]


def _other(character: str) -> str:
    return "q" if character != "q" else "x"


def _negatives(case: NameCase) -> list[str]:
    """Names that normalise to none of the rule's names for the attribute."""
    value = case.value
    changed = value[:-1] + _other(value[-1])
    candidates = [changed, changed + "-more"]
    if case.kind == "exact":
        candidates.append(value + "s")
    others = _cases_of(case.rule_id, case.attribute)

    def caught(name: str) -> bool:
        normalised = snake_case(name)
        return any(
            normalised.startswith(snake_case(c.value))
            if c.kind == "prefix"
            else normalised == snake_case(c.value)
            for c in others
        )

    return [name for name in candidates if not caught(name)]


# --- A message that meets a rule --------------------------------------------------------------
def _only(where: str, operators: Mapping[str, Any]) -> tuple[str, Any]:
    assert len(operators) == 1, f"{where}: the witness builder handles one operator"
    ((operator, operand),) = operators.items()
    return operator, operand


def _one(draw: st.DrawFn, operand: Any) -> str:
    return operand if isinstance(operand, str) else draw(st.sampled_from(operand))


def _attribute_value(draw: st.DrawFn, where: str, operators: Mapping[str, Any]) -> str:
    operator, operand = _only(where, operators)
    if operator == "matches":
        return draw(st.from_regex(_regex(where, operand), fullmatch=True))
    if operator == "not_equals":
        return operand + "-other"
    return _one(draw, operand)  # equals, one_of, starts_with


def _payload_value(draw: st.DrawFn, where: str, check: Mapping[str, Any]) -> Any:
    operator, operand = _only(where, {k: v for k, v in check.items() if k != "path"})
    if operator == "matches":
        return draw(st.from_regex(_regex(where, operand), fullmatch=True))
    if operator == "contains":
        return f"x{operand}x"
    if operator == "starts_with":
        return _one(draw, operand) + "x"
    return "x"  # non_null


def _put(document: dict[str, Any], path: JsonPath, value: Any) -> None:
    node: Any = document
    for segment, following in zip(path, (*path[1:], None), strict=True):
        child = value if following is None else {} if isinstance(following, str) else []
        if isinstance(segment, str):
            node = node.setdefault(segment, child)
        elif segment is WILDCARD:
            node = node[0] if node else (node.append(child) or child)
        else:
            assert isinstance(segment, int)
            node.extend([None] * (segment + 1 - len(node)))
            node[segment] = child if node[segment] is None else node[segment]
            node = node[segment]


def witness(
    draw: st.DrawFn, raw: Mapping[str, Any], names: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Attributes and a document that meet every condition of ``raw``, with ``names``."""
    attributes = dict(FILLER)
    for table in _attribute_tables(raw):
        for attribute, operators in table.items():
            attributes[attribute] = _attribute_value(draw, f"{raw['id']}.{attribute}", operators)
    attributes.update(names)
    document: dict[str, Any] = {}
    checks = [*raw.get("payload", []), *raw.get("payload_any", [])[:1]]
    for check in checks:
        where = f"{raw['id']}.payload.{check['path']}"
        _put(document, parse_path(check["path"]), _payload_value(draw, where, check))
    if "client_id" in raw:
        document["client_id"] = _one(
            draw, raw["client_id"].get("equals", raw["client_id"].get("one_of"))
        )
    return attributes, document


def _probe(rule_id: str) -> ScrubberRules:
    """The compiled rule alone, dropping whenever it applies (so redactions report too)."""
    return ScrubberRules([dataclasses.replace(COMPILED[rule_id], action="drop", redactions=())])


def _applies(
    probe: ScrubberRules, attributes: Mapping[str, str], document: dict[str, Any]
) -> str | None:
    """The probed rule's bug when it applies to the message, else None."""
    message = Message(attributes=dict(attributes), document=copy.deepcopy(document))
    try:
        if probe.rules[0].phase == "uri":
            probe.check_uri(message)
        else:
            probe.scrub(message)
    except MessageShouldBeDropped as dropped:
        return dropped.bug
    return None


def _outcome(attributes: Mapping[str, str], document: dict[str, Any]) -> tuple[str, Any]:
    """What the whole bundled rule set does with the message."""
    message = Message(attributes=dict(attributes), document=copy.deepcopy(document))
    try:
        BUNDLED.scrub(message)
    except (MessageShouldBeDropped, UnwantedData, AffectedByBug) as rejected:
        return type(rejected).__name__, str(rejected)
    return "scrubbed", message.document


def _names(draw: st.DrawFn, case: NameCase) -> dict[str, str]:
    """A name the rule gives for each attribute it names, ``case``'s for its attribute."""
    names = {}
    for attribute in NAME_ATTRIBUTES:
        given_names = [n for c in _cases_of(case.rule_id, attribute) for n in c.full_names]
        if attribute == case.attribute:
            names[attribute] = draw(st.sampled_from(case.full_names))
        elif given_names:
            names[attribute] = draw(st.sampled_from(given_names))
    return names


def _doctype(names: Mapping[str, str]) -> tuple[str, str]:
    """The namespace and docType of a message with ``names`` (the filler for the others)."""
    full = {**FILLER, **names}
    return full["document_namespace"], full["document_type"]


def _store(*doctypes: tuple[str, str]) -> SchemaStore:
    """A schema store holding version 1 of each docType."""
    return SchemaStore.from_schemas({(*doctype, "1"): SCHEMA for doctype in doctypes})


@dataclasses.dataclass(frozen=True)
class Example:
    """A message that meets the rule of a case, and the rule alone to probe it with."""

    names: dict[str, str]
    attributes: dict[str, str]
    document: dict[str, Any]
    probe: ScrubberRules
    bug: str


def _example(draw: st.DrawFn, case: NameCase) -> Example:
    names = _names(draw, case)
    attributes, document = witness(draw, RAW_RULES[case.rule_id], names)
    probe = _probe(case.rule_id)
    bug = _applies(probe, attributes, document)
    assert bug is not None, f"the witness does not meet {case.rule_id}: {attributes} {document}"
    return Example(names, attributes, document, probe, bug)


# --- The properties ---------------------------------------------------------------------------
TestFunction = Callable[[Any, st.DataObject], None]


def _each(cases: list[NameCase], examples: int) -> Callable[[TestFunction], Any]:
    """A property run for each case, ``examples`` draws each."""

    def decorate(test: TestFunction) -> Any:
        drawn = settings(max_examples=examples, deadline=None)(given(data=st.data())(test))
        return pytest.mark.parametrize("case", cases, ids=str)(drawn)

    return decorate


@_each(CASES, examples=12)
def test_every_spelling_of_a_rule_name_meets_the_rule(case: NameCase, data: st.DataObject) -> None:
    example = _example(data.draw, case)
    names, attributes, document = example.names, example.attributes, example.document
    expected = _outcome(attributes, document)
    store = _store(_doctype(names))

    drawn = {attribute: data.draw(spellings(name)) for attribute, name in names.items()}
    variants = [drawn] + [
        {**names, case.attribute: fixed} for fixed in fixed_spellings(names[case.attribute])
    ]
    for spelled in variants:
        for attribute, name in spelled.items():
            assert snake_case(name) == snake_case(names[attribute])  # a spelling of the name
        variant = {**attributes, **spelled}
        # What the store finds under this spelling (a "." keeps the file name from matching,
        # though has_doctype, and the rule, still see the name).
        namespace, doctype = _doctype(spelled)
        assert store.has_doctype(namespace, doctype)
        assert "." in namespace + doctype or store.schema(namespace, doctype, "1") is not None
        assert _applies(example.probe, variant, document) == example.bug, variant
        assert _outcome(variant, document) == expected, variant


@_each(CASES, examples=6)
def test_names_that_normalise_differently_are_not_caught(
    case: NameCase, data: st.DataObject
) -> None:
    negatives = _negatives(case)
    assert negatives, f"no name for {case} that normalises differently"
    example = _example(data.draw, case)
    store = _store(_doctype(example.names))
    for negative in negatives:
        spelled = {**example.names, case.attribute: data.draw(spellings(negative))}
        variant = {**example.attributes, **spelled}
        assert _applies(example.probe, variant, example.document) is None, variant
        assert not store.has_doctype(*_doctype(spelled))


MUTATION_CHARACTERS = string.ascii_letters + string.digits + "-_."


@st.composite
def mutations(draw: st.DrawFn, name: str) -> str:
    """``name`` with a few characters' case flipped, removed, or inserted."""
    characters = list(name)
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(characters)))
        action = draw(st.sampled_from(("flip", "remove", "insert")))
        if action == "insert" or position == len(characters):
            characters.insert(position, draw(st.sampled_from(MUTATION_CHARACTERS)))
        elif action == "flip":
            characters[position] = characters[position].swapcase()
        else:
            del characters[position]
    return "".join(characters)


@_each(EXACT_CASES, examples=10)
def test_a_rule_catches_a_mutated_name_exactly_when_the_store_would_find_it(
    case: NameCase, data: st.DataObject
) -> None:
    example = _example(data.draw, case)
    # The store holds a schema under every name the rule gives for the attribute.
    others = _cases_of(case.rule_id, case.attribute)
    store = _store(*(_doctype({**example.names, case.attribute: c.value}) for c in others))
    mutant = data.draw(mutations(case.value))
    variant = {**example.attributes, case.attribute: mutant}
    finds = store.has_doctype(*_doctype({**example.names, case.attribute: mutant}))
    assert (_applies(example.probe, variant, example.document) is not None) == finds, mutant
