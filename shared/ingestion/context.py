"""Everything the pure steps may consult, loaded once per process and shared by all messages.

Steps read resources from the context and never open files or sockets themselves.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .core.limits import MAX_PAYLOAD_BYTES

if TYPE_CHECKING:
    from .resources.geoip import GeoCityDatabase, GeoIspDatabase
    from .resources.schemas import SchemaStore
    from .resources.scrubber_rules import ScrubberRules
    from .resources.user_agents import UserAgentParser


@dataclasses.dataclass(frozen=True)
class Context:
    schemas: SchemaStore
    scrubber: ScrubberRules
    user_agents: UserAgentParser
    geo_city: GeoCityDatabase | None = None
    geo_isp: GeoIspDatabase | None = None
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    decompress_payloads: bool = True
