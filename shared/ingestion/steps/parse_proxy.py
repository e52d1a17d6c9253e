"""ParseProxy: trim our own load balancers from ``X-Forwarded-For`` and drop ``remote_addr``
(D-17..D-19, with the §10 addition on empty results).

Google's load balancer appends the sending client's IP and a forwarding-rule IP, and our nginx
then appends the load balancer's IP, so the client is the entry just before our last two. Web
properties behind further proxies declare ``geoip_skip_entries`` in their pipeline metadata, and
that many more entries are removed. The geo steps then read the client IP from the *end* of the
list. A list trimmed to nothing is still written, as ``""``: the geo steps treat the attribute as
present (their ``*_db_version`` is set) and their lookups miss. ``x_pipeline_proxy`` is not
interpreted (D-19).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..context import Context
from ..core.message import Message

X_FORWARDED_FOR = "x_forwarded_for"
REMOTE_ADDR = "remote_addr"

# Java's "\\s*,\\s*": ASCII whitespace only, like java.util.regex's \s.
_SEPARATOR = re.compile(r"\s*,\s*", re.ASCII)
_JAVA_WHITESPACE = " \t\n\x0b\x0c\r"
# Our two load balancers (Google's forwarding rule and nginx) append one entry each.
LOAD_BALANCER_ENTRIES = 2


def forwarded_entries(forwarded_for: str) -> list[str]:
    """The non-blank entries; the first keeps its leading and the last its trailing spaces.

    The same as splitting at ``_SEPARATOR``: whitespace is removed only next to commas. Plain
    ``str`` methods do it several times faster than the regex, and this runs for every message.
    """
    entries = forwarded_for.split(",")
    if len(entries) > 1:
        last = entries.pop()
        entries = [entries[0].rstrip(_JAVA_WHITESPACE)] + [
            entry.strip(_JAVA_WHITESPACE) for entry in entries[1:]
        ]
        entries.append(last.lstrip(_JAVA_WHITESPACE))
    return [entry for entry in entries if entry and not entry.isspace()]


def last_forwarded_entry(forwarded_for: str) -> str:
    """The client IP the geo steps look up: the last entry, as Java's ``split`` yields it.

    Java drops trailing empty strings, so ``"1.2.3.4,"`` gives ``1.2.3.4``; an empty attribute
    gives ``""``, which no lookup finds (D-21, D-24).
    """
    if "," not in forwarded_for:  # what ParseProxy leaves: a single entry
        return forwarded_for
    entries = _SEPARATOR.split(forwarded_for)
    while entries and not entries[-1]:
        entries.pop()
    return entries[-1] if entries else ""


def _geoip_skip_entries(attributes: Mapping[str, str], context: Context) -> int:
    """``geoip_skip_entries`` of the message's doctype, or 0 (also before parse_uri knows it)."""
    if context.schemas is None:
        return 0
    # Telemetry URIs carry no document_version at this point, so nothing is skipped for them.
    skip = context.pipeline_metadata(attributes).get("geoip_skip_entries")
    if isinstance(skip, int) and not isinstance(skip, bool) and skip > 0:
        return skip
    return 0


def trim_forwarded_for(message: Message, context: Context) -> Message:
    attributes = message.attributes
    forwarded_for = attributes.get(X_FORWARDED_FOR)
    if forwarded_for is None:
        return message.evolve(drop_attributes=(REMOTE_ADDR,))
    entries = forwarded_entries(forwarded_for)
    if len(entries) > 1:
        del entries[-LOAD_BALANCER_ENTRIES:]
    skip = _geoip_skip_entries(attributes, context)
    if skip:
        # "Up to" skip more: a short list simply ends up empty.
        del entries[max(len(entries) - skip, 0) :]
    return message.evolve(
        set_attributes={X_FORWARDED_FOR: ",".join(entries)},
        drop_attributes=(REMOTE_ADDR,),
    )
