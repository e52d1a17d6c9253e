"""ParseUserAgent (D-44) with ua-parser's families, and the UserAgentParser resource."""

from __future__ import annotations

import threading

import pytest
from ua_parser import OS, Domain, PartialResult, UserAgent

from ingestion.context import Context
from ingestion.core.message import Message
from ingestion.resources.user_agents import UserAgentParser, default_parser
from ingestion.steps.user_agent import parse_user_agent

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:85.0) Gecko/20100101 Firefox/85.0"

# (user agent, expected attributes). Families and versions are ua-parser's (normative here);
# the first row is the reference's own example (D-46, logentries-output): Firefox / 85 / Linux.
UA_VECTORS = [
    (
        FIREFOX_LINUX,
        {
            "user_agent_browser": "Firefox",
            "user_agent_browser_version": "85.0",
            "user_agent_version": "85",
            "user_agent_os": "Linux",
        },
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
        {
            "user_agent_browser": "Firefox",
            "user_agent_browser_version": "115.0",
            "user_agent_version": "115",
            "user_agent_os": "Windows",
            "user_agent_os_version": "10",
        },
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
        {
            "user_agent_browser": "Firefox",
            "user_agent_browser_version": "121.0",
            "user_agent_version": "121",
            "user_agent_os": "Mac OS X",
            "user_agent_os_version": "10.15",
        },
    ),
    (
        "Mozilla/5.0 (Android 13; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
        {
            "user_agent_browser": "Firefox Mobile",
            "user_agent_browser_version": "121.0",
            "user_agent_version": "121",
            "user_agent_os": "Android",
            "user_agent_os_version": "13",
        },
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        {
            "user_agent_browser": "Chrome",
            "user_agent_browser_version": "120.0.0",  # patch_minor is not reported
            "user_agent_version": "120",
            "user_agent_os": "Windows",
            "user_agent_os_version": "10",
        },
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
        {
            "user_agent_browser": "Edge",
            "user_agent_browser_version": "120.0.2210",
            "user_agent_version": "120",
            "user_agent_os": "Windows",
            "user_agent_os_version": "10",
        },
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        {
            "user_agent_browser": "Mobile Safari",
            "user_agent_browser_version": "17.2",
            "user_agent_version": "17",
            "user_agent_os": "iOS",
            "user_agent_os_version": "17.2",
        },
    ),
    # Glean SDK uploader: no browser, the OS in parentheses is recognised.
    ("Glean/52.7.0 (Kotlin on Android)", {"user_agent_os": "Android"}),
    # Nothing recognised: ua-parser's "Other" is not reported.
    ("pingsender/1.0", {}),
    ("", {}),
]


@pytest.fixture(scope="module")
def parser() -> UserAgentParser:
    return default_parser()


def _context(parser: UserAgentParser) -> Context:
    return Context(schemas=None, scrubber=None, user_agents=parser)  # type: ignore[arg-type]


@pytest.mark.parametrize(("user_agent", "expected"), UA_VECTORS)
def test_attributes(parser: UserAgentParser, user_agent: str, expected: dict[str, str]) -> None:
    assert parser.attributes(user_agent) == expected


def test_cached_result_is_not_shared(parser: UserAgentParser) -> None:
    first = parser.attributes(FIREFOX_LINUX)
    first["user_agent_browser"] = "changed"
    assert parser.attributes(FIREFOX_LINUX)["user_agent_browser"] == "Firefox"


class _FixedResolver:
    """Answers every string with the same parts, to pin the formatting rules."""

    def __init__(self, user_agent: UserAgent | None, os: OS | None) -> None:
        self.result = (user_agent, os)

    def __call__(self, ua: str, domains: Domain, /) -> PartialResult:
        return PartialResult(
            domains=domains, string=ua, user_agent=self.result[0], os=self.result[1], device=None
        )


@pytest.mark.parametrize(
    ("user_agent", "os", "expected"),
    [
        # ua-parser's unknown family is dropped together with its versions.
        (UserAgent("Other", "1"), OS("Other", "2"), {}),
        (
            UserAgent("Firefox", "85", None, "3"),  # a patch without a minor is not reported
            OS("Windows", "10", "0", "19045", "1"),
            {
                "user_agent_browser": "Firefox",
                "user_agent_browser_version": "85",
                "user_agent_version": "85",
                "user_agent_os": "Windows",
                "user_agent_os_version": "10.0.19045",
            },
        ),
        (UserAgent("Firefox"), None, {"user_agent_browser": "Firefox"}),
        (None, OS("Linux"), {"user_agent_os": "Linux"}),
    ],
)
def test_attribute_formatting(
    user_agent: UserAgent | None, os: OS | None, expected: dict[str, str]
) -> None:
    parser = UserAgentParser(_FixedResolver(user_agent, os))
    assert parser.attributes("anything") == expected


def test_default_parser_is_one_per_process() -> None:
    seen: list[UserAgentParser] = []
    threads = [threading.Thread(target=lambda: seen.append(default_parser())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert all(p is seen[0] for p in seen)
    assert UserAgentParser.default_parser() is seen[0]


# --- the step -----------------------------------------------------------------------------
def test_step_replaces_user_agent(parser: UserAgentParser) -> None:
    message = Message(attributes={"user_agent": FIREFOX_LINUX, "uri": "/submit/x"}, payload=b"{}")
    result = parse_user_agent(message, _context(parser))
    assert result.attributes == {
        "uri": "/submit/x",
        "user_agent_browser": "Firefox",
        "user_agent_browser_version": "85.0",
        "user_agent_version": "85",
        "user_agent_os": "Linux",
    }
    assert message.attributes["user_agent"] == FIREFOX_LINUX  # the input is not mutated


def test_step_removes_empty_user_agent(parser: UserAgentParser) -> None:
    result = parse_user_agent(Message(attributes={"user_agent": "", "a": "b"}), _context(parser))
    assert result.attributes == {"a": "b"}


def test_step_without_user_agent(parser: UserAgentParser) -> None:
    result = parse_user_agent(Message(attributes={"a": "b"}), _context(parser))
    assert result.attributes == {"a": "b"}


def test_step_keeps_document_and_payload(parser: UserAgentParser) -> None:
    message = Message(attributes={"user_agent": "x"}, payload=b'{"a":1}', document={"a": 1})
    result = parse_user_agent(message, _context(parser))
    assert result.payload == b'{"a":1}'
    assert result.document == {"a": 1}
    assert "user_agent" not in result.attributes


def test_shared_attributes_are_cached_and_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ingestion.resources import user_agents

    parser = UserAgentParser(_FixedResolver(UserAgent("Firefox", "85"), OS("Linux")))
    monkeypatch.setattr(user_agents, "CACHE_SIZE", 3)
    first = parser.shared_attributes("a")
    assert parser.shared_attributes("a") is first  # one lookup for a repeated string
    assert first == parser.attributes("a")
    for index in range(10):
        assert parser.shared_attributes(str(index)) == first
        assert len(parser._attributes_by_string) <= 3


def test_step_sets_the_parsed_attributes_and_drops_the_raw_string(
    parser: UserAgentParser,
) -> None:
    message = Message(attributes={"user_agent": FIREFOX_LINUX, "host": "h"})
    for _ in range(2):  # the second time from the cache
        result = parse_user_agent(message, _context(parser))
        assert result.attributes == {"host": "h", **UA_VECTORS[0][1]}
    assert message.attributes["user_agent"] == FIREFOX_LINUX
