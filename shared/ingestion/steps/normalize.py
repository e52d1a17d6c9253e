"""NormalizeAttributes (D-47..D-52): canonical channel, OS, OS version, app name and country.

Each ``normalized_*`` attribute is derived from its source attribute and set only when that source
exists (so only telemetry, whose URI carries ``app_name``, gets ``normalized_app_name``; Glean's
channel arrives as ``app_update_channel`` from D-38). These values are the stable dimensions that
downstream tables group by, hence the closed vocabularies with ``Other`` as the catch-all.

Few distinct combinations of the five sources occur, so the result is cached per combination
(bounded, since the values come from clients).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..context import Context
from ..core.message import Message

OTHER = "Other"

# D-47: kept as they are, case-sensitively (historical practice: "Release" is Other).
CHANNELS = frozenset({"release", "esr", "beta", "aurora", "nightly"})

# D-50: the first prefix wins, so the more specific names come before their prefixes.
APP_NAMES = (
    "Zerda_cn",
    "Zerda",
    "Focus-TV",
    "Focus",
    "Klar",
    "FirefoxReality_oculusvr",
    "FirefoxReality_googlevr",
    "FirefoxReality_wavevr",
    "FirefoxForFireTV",
    "FirefoxConnect",
    "Fennec",
    "Scryer",
    "WebXR",
    "Lockbox",
    "Firefox",
)

# D-49: Java's `.` stops at every line terminator, not only at "\n" as Python's does.
_OS_VERSION = re.compile(r"([0-9]+(?:\.[0-9]+){0,2})[^\n\r\u0085\u2028\u2029]*")
_COUNTRY_CODE = re.compile(r"[A-Z][A-Z]")


def normalize_channel(channel: str) -> str:
    if channel in CHANNELS:
        return channel
    if channel.startswith("nightly-cck-"):
        return "nightly"
    if channel.startswith("beta"):
        return "beta"
    return OTHER


def normalize_os(os: str) -> str:
    if os.startswith(("Windows", "WINNT")):
        return "Windows"
    if os.startswith("Darwin"):
        return "Mac"
    if "Linux" in os or "BSD" in os or "SunOS" in os or "Solaris" in os:
        return "Linux"
    if os.startswith("iOS") or "iPhone" in os:
        return "iOS"
    if os.startswith("Android"):
        return "Android"
    return OTHER


def normalize_os_version(version: str) -> str:
    """At most ``major.minor.patch``; an empty string (still set) when it does not start so."""
    match = _OS_VERSION.fullmatch(version)
    return match.group(1) if match else ""


def normalize_app_name(app_name: str) -> str:
    for known in APP_NAMES:
        if app_name.startswith(known):
            return known
    return OTHER


def normalize_country_code(country: str) -> str:
    upper = country.upper()
    return upper if _COUNTRY_CODE.fullmatch(upper) else OTHER


# (source attribute, normalised attribute, rule), in the reference's order.
_RULES = (
    ("app_update_channel", "normalized_channel", normalize_channel),
    ("os", "normalized_os", normalize_os),
    ("os_version", "normalized_os_version", normalize_os_version),
    ("app_name", "normalized_app_name", normalize_app_name),
    ("geo_country", "normalized_country_code", normalize_country_code),
)


_SOURCES = tuple(source for source, _, _ in _RULES)
_MAX_CACHED = 4096
# Source values (None when absent) -> the normalised attributes. Emptied when full; threads may
# race on it, but they only ever store equal values.
_normalized_by_sources: dict[tuple[str | None, ...], Mapping[str, str]] = {}


def normalized_attributes(sources: tuple[str | None, ...]) -> Mapping[str, str]:
    """The ``normalized_*`` attributes for the values of ``_SOURCES`` (shared: never modify)."""
    normalized = _normalized_by_sources.get(sources)
    if normalized is None:
        normalized = {
            target: rule(value)
            for (_, target, rule), value in zip(_RULES, sources, strict=True)
            if value is not None
        }
        if len(_normalized_by_sources) >= _MAX_CACHED:
            _normalized_by_sources.clear()
        _normalized_by_sources[sources] = normalized
    return normalized


def normalize_attributes(message: Message, context: Context) -> Message:
    sources = tuple(map(message.attributes.get, _SOURCES))
    return message.evolve(set_attributes=normalized_attributes(sources))
