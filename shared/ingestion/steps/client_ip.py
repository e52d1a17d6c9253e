"""The last check before output: no attribute named like a client IP leaves the decoder (D-69).

ParseProxy and GeoCityLookup remove ``remote_addr`` and ``x_forwarded_for`` first of all, and
the metadata strip never restores them; this step makes the promise hold whatever an earlier
step or a replayed payload did, in any spelling of the names, before metadata is injected.
"""

from __future__ import annotations

from ..context import Context
from ..core.message import Message, is_client_ip_name


def remove_client_ip(message: Message, context: Context) -> Message:
    attributes = message.attributes
    # One scan of all names at C speed; the exact test only when one could be an IP's name.
    names = "\0".join(attributes).lower()
    if "addr" not in names and "forward" not in names:
        return message
    found = [name for name in attributes if is_client_ip_name(name)]
    return message.evolve(drop_attributes=found) if found else message
