"""The last check before output: no attribute named like a client IP leaves the decoder (D-69).

ParseProxy and GeoCityLookup remove ``remote_addr`` and ``x_forwarded_for`` first of all, and
the metadata strip never restores them; this step makes the promise hold whatever an earlier
step or a replayed payload did, in any spelling of the names, before metadata is injected.
"""

from __future__ import annotations

from ..context import Context
from ..core.message import Message, is_client_ip_name


def remove_client_ip(message: Message, context: Context) -> Message:
    found = [name for name in message.attributes if is_client_ip_name(name)]
    return message.evolve(drop_attributes=found) if found else message
