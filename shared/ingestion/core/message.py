"""The one message type that flows through the decoder.

A message is what Pub/Sub carries: string attributes and payload bytes. Once the payload has
been parsed, ``document`` holds the JSON object and is the source of truth for the body; the
``payload`` bytes then stay as they entered parsing, which is exactly what an error output must
carry (D-43). Steps return new messages instead of mutating attributes so that a rejection can
always report the message as it entered the failing stage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

# Attributes that carry the client's IP address; no output may ever contain them (D-69).
CLIENT_IP_ATTRIBUTES = ("remote_addr", "x_forwarded_for")
_CLIENT_IP_NAMES = frozenset(CLIENT_IP_ATTRIBUTES)


def is_client_ip_name(name: object) -> bool:
    """True for a client-IP attribute name in any spelling (``X-Forwarded-For`` too)."""
    return isinstance(name, str) and name.lower().replace("-", "_") in _CLIENT_IP_NAMES


# URIs of stub-installer pings: no body, every field in the path, and no unique id (D-13, D-16).
STUB_PREFIX = "/stub/"


@dataclasses.dataclass(slots=True)
class Message:
    attributes: dict[str, str]
    payload: bytes = b""
    # The parsed JSON object; None until the payload has been parsed.
    document: dict[str, Any] | None = None

    def evolve(
        self,
        *,
        set_attributes: Mapping[str, str] | None = None,
        drop_attributes: Collection[str] = (),
        payload: bytes | None = None,
        document: dict[str, Any] | None = None,
    ) -> Message:
        """A copy with attributes set or removed and, optionally, a new payload or document.

        Attribute maps are never changed in place, so sharing one is safe and saves a copy on the
        hot path: the attributes are copied only when some are set or actually removed, and
        without any change the message itself is returned.
        """
        attributes = self.attributes
        # dict.copy() clones the hash table in one go; dict(...) or {**...} re-insert every key
        # once the map has had a key removed, which costs several times more.
        if drop_attributes and not attributes.keys().isdisjoint(drop_attributes):
            attributes = attributes.copy()
            for key in drop_attributes:
                attributes.pop(key, None)
            if set_attributes:
                attributes.update(set_attributes)
        elif set_attributes:
            attributes = attributes.copy()
            attributes.update(set_attributes)
        elif payload is None and document is None:
            return self
        return Message(
            attributes,
            self.payload if payload is None else payload,
            self.document if document is None else document,
        )

    def without_document(self) -> Message:
        return Message(attributes=self.attributes, payload=self.payload)

    @property
    def uri(self) -> str | None:
        return self.attributes.get("uri")
