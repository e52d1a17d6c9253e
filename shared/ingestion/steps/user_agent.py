"""ParseUserAgent (D-44): replace the raw ``user_agent`` attribute by its parsed parts.

The raw string is removed from every decoded message (it is too identifying to keep, D-58) and,
when it was non-empty, replaced by the ``user_agent_*`` attributes of the context's parser. The
family names are ua-parser's, not the reference's own regex table (D-45, D-46 are not ported).
"""

from __future__ import annotations

from ..context import Context
from ..core.message import Message

USER_AGENT = "user_agent"


def parse_user_agent(message: Message, context: Context) -> Message:
    user_agent = message.attributes.get(USER_AGENT)
    parsed = context.user_agents.shared_attributes(user_agent) if user_agent else None
    return message.evolve(drop_attributes=(USER_AGENT,), set_attributes=parsed)
