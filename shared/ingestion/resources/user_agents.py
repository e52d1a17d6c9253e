"""Browser and OS families from a User-Agent string, for ParseUserAgent (D-44).

The reference decoder scans the string with its own small regex table (D-45, D-46); this port
deliberately uses ua-parser's maintained builtin table instead, so its family names (``Firefox``,
``Firefox Mobile``, ``Mac OS X``, ``Windows`` ...) are the normative output. Only the browser and
OS domains are resolved: device parsing is the most expensive part and nothing consumes it.

One resolver is built per process (compiling the table costs a few hundred milliseconds) and
wrapped in an S3-FIFO cache, because a handful of User-Agent strings make up most of the traffic.
The attributes built from a resolution are cached as well (a bounded dict in front of the
resolver), so a repeated string costs one dictionary lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from ua_parser import (
    OS,
    BasicResolver,
    CachingResolver,
    Domain,
    Matchers,
    Resolver,
    UserAgent,
    load_builtins,
    load_lazy_builtins,
)
from ua_parser.caching import S3Fifo

try:  # the Rust-backed resolver; ua-parser-rs is an optional extra of ua-parser
    from ua_parser.regex import Resolver as RegexResolver
except ImportError:  # pragma: no cover - depends on the installed extras
    RegexResolver = None  # type: ignore[assignment,misc]

# Distinct User-Agent strings remembered per process; one entry is a few hundred bytes.
CACHE_SIZE = 10_000
DOMAINS = Domain.USER_AGENT | Domain.OS
# ua-parser's family for "no rule matched": reported as no value rather than a fake family.
UNKNOWN_FAMILY = "Other"


def _dotted(*parts: str | None) -> str | None:
    """``major[.minor[.patch]]``, stopping at the first missing part."""
    present: list[str] = []
    for part in parts:
        if not part:
            break
        present.append(part)
    return ".".join(present) or None


def _family(family: str | None) -> str | None:
    return family if family and family != UNKNOWN_FAMILY else None


def _build_resolver() -> Resolver:
    if RegexResolver is not None:
        # The Rust resolver only reads the regex strings, so the lazy matchers (which skip
        # compiling Python regexes) give the same table at a fraction of the start-up cost.
        regex_resolver: Callable[[Matchers], Resolver] = RegexResolver
        base = regex_resolver(load_lazy_builtins())
    else:  # pragma: no cover - depends on the installed extras
        base = BasicResolver(load_builtins())
    return CachingResolver(base, S3Fifo(CACHE_SIZE))


class UserAgentParser:
    """Turns a User-Agent string into ``user_agent_*`` attributes."""

    _default: UserAgentParser | None = None
    _default_lock = threading.Lock()

    def __init__(self, resolver: Resolver | None = None) -> None:
        self._resolve = resolver if resolver is not None else _build_resolver()
        # Emptied when full: the resolver's own S3-FIFO cache then refills it cheaply. Threads
        # may race on it, but they only ever store equal values.
        self._attributes_by_string: dict[str, Mapping[str, str]] = {}

    @classmethod
    def default_parser(cls) -> UserAgentParser:
        """The process-wide parser, built on first use (safe to call from several threads)."""
        parser = cls._default
        if parser is None:
            with cls._default_lock:
                parser = cls._default
                if parser is None:
                    parser = cls._default = cls()
        return parser

    def attributes(self, user_agent: str) -> dict[str, str]:
        """``user_agent_browser``, ``_browser_version``, ``_version``, ``_os``, ``_os_version``.

        Keys whose value is unknown are left out; ``user_agent_version`` is the browser's major
        version, which is what the reference injects as ``metadata.user_agent.version``.
        """
        return dict(self.shared_attributes(user_agent))

    def shared_attributes(self, user_agent: str) -> Mapping[str, str]:
        """The same as ``attributes``, shared between calls with the same string: never modify."""
        found = self._attributes_by_string.get(user_agent)
        if found is None:
            found = self._parse(user_agent)
            if len(self._attributes_by_string) >= CACHE_SIZE:
                self._attributes_by_string.clear()
            self._attributes_by_string[user_agent] = found
        return found

    def _parse(self, user_agent: str) -> dict[str, str]:
        result = self._resolve(user_agent, DOMAINS)
        attributes: dict[str, str] = {}
        browser: UserAgent | None = result.user_agent
        if browser is not None and (family := _family(browser.family)) is not None:
            attributes["user_agent_browser"] = family
            version = _dotted(browser.major, browser.minor, browser.patch)
            if version is not None:
                attributes["user_agent_browser_version"] = version
            if browser.major:
                attributes["user_agent_version"] = browser.major
        os: OS | None = result.os
        if os is not None and (family := _family(os.family)) is not None:
            attributes["user_agent_os"] = family
            version = _dotted(os.major, os.minor, os.patch)
            if version is not None:
                attributes["user_agent_os_version"] = version
        return attributes


def default_parser() -> UserAgentParser:
    """The process-wide :class:`UserAgentParser`."""
    return UserAgentParser.default_parser()
