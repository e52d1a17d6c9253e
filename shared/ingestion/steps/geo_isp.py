"""GeoIspLookup: ISP name and organization of the client IP (D-20..D-22).

The client IP is the last ``X-Forwarded-For`` entry once ParseProxy trimmed it. ``isp_db_version``
is set whenever the attribute is present, even empty (§10), and before the lookup, so it appears
when the lookup misses; an unparseable address, an address not in the database or a malformed
record is ignored. A message that already has ``isp_name`` is a replay and is left alone. This step
keeps ``x_forwarded_for``: the city lookup still needs it and removes it (D-22). Without an ISP
database the step does nothing.
"""

from __future__ import annotations

from ..context import Context
from ..core.message import Message
from .parse_proxy import X_FORWARDED_FOR, last_forwarded_entry


def lookup_isp(message: Message, context: Context) -> Message:
    database = context.geo_isp
    attributes = message.attributes
    if database is None or "isp_name" in attributes:
        return message
    forwarded_for = attributes.get(X_FORWARDED_FOR)
    if forwarded_for is None:
        return message
    found = {"isp_db_version": database.db_version}
    record = database.lookup(last_forwarded_entry(forwarded_for))
    if record is not None:
        # Absent values are left out, as the reference drops null attributes.
        if record.isp is not None:
            found["isp_name"] = record.isp
        if record.organization is not None:
            found["isp_organization"] = record.organization
    return message.evolve(set_attributes=found)
