"""GeoCityLookup: country, city, DMA and subdivisions of the client IP, then the IP is gone
(D-23..D-26; D-69).

The client IP is the last ``X-Forwarded-For`` entry once ParseProxy trimmed it. ``geo_db_version``
is set whenever the attribute is present, even empty (§10), and before the lookup; misses (an
unparseable address, an address not in the database, a malformed record) are ignored. ``geo_city``
and ``geo_dma_code`` are reported only for a city the city filter allows (D-25).

This step is the privacy boundary: whatever happens, no ``x_forwarded_for`` or ``remote_addr``
leaves it. That is a deliberate deviation from D-23, where a message that already has
``geo_country`` (a replay) is returned unchanged with its ``x_forwarded_for``: here the lookup is
skipped but the IP is still removed, because an IP must never reach any output. Without a City
database the step only removes the IP.
"""

from __future__ import annotations

from ..context import Context
from ..core.message import CLIENT_IP_ATTRIBUTES, Message
from .parse_proxy import X_FORWARDED_FOR, last_forwarded_entry

SUBDIVISION_ATTRIBUTES = ("geo_subdivision1", "geo_subdivision2")


def _without_client_ip(message: Message) -> Message:
    if any(name in message.attributes for name in CLIENT_IP_ATTRIBUTES):
        return message.evolve(drop_attributes=CLIENT_IP_ATTRIBUTES)
    return message


def lookup_city(message: Message, context: Context) -> Message:
    database = context.geo_city
    attributes = message.attributes
    forwarded_for = attributes.get(X_FORWARDED_FOR)
    if database is None or forwarded_for is None or "geo_country" in attributes:
        return _without_client_ip(message)
    found = {"geo_db_version": database.db_version}
    record = database.lookup(last_forwarded_entry(forwarded_for))
    if record is not None:
        # Absent values are left out, as the reference drops null attributes.
        if record.country is not None:
            found["geo_country"] = record.country
        if record.city_allowed:
            if record.city is not None:
                found["geo_city"] = record.city
            if record.metro_code is not None:
                found["geo_dma_code"] = str(record.metro_code)
        # Only the first two levels are reported; zip stops where the record's list ends.
        for name, code in zip(SUBDIVISION_ATTRIBUTES, record.subdivisions, strict=False):
            if code is not None:
                found[name] = code
    return message.evolve(set_attributes=found, drop_attributes=CLIENT_IP_ATTRIBUTES)
