"""Which topic a decoded message goes to: a template on its namespace and docType, rendered
once per pair and checked against Pub/Sub's naming rules (the project's spec, §0.1; the reference
writes one static topic and fans out in a separate Republisher job).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..core.errors import InvalidTopicName
from ..core.templates import placeholders, render

DEFAULT_DECODED_TOPIC = "decoded"
ROUTING_ATTRIBUTES = ("document_namespace", "document_type")
_TOPIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}")
MAX_CACHED_TOPICS = 10_000


def topic_path(project: str, topic: str) -> str:
    return f"projects/{project}/topics/{topic}"


def is_valid_topic_name(name: str) -> bool:
    """Pub/Sub's rule: 3-255 characters of letters, digits and ``-_.~+%``, starting with a
    letter, and not starting with ``goog``."""
    return _TOPIC_NAME.fullmatch(name) is not None and not name.lower().startswith("goog")


class DecodedTopics:
    """The decoded topic path of a message, rendered once per (namespace, doctype).

    Only ``${document_namespace}`` and ``${document_type}`` may appear in the template (with or
    without ``:-default``), which is what makes the cache key complete.
    """

    def __init__(self, project: str, template: str = DEFAULT_DECODED_TOPIC) -> None:
        if not placeholders(template) and not is_valid_topic_name(template):
            raise ValueError(f"decoded topic {template!r} is not a valid Pub/Sub topic name")
        unsupported = sorted(set(placeholders(template)) - set(ROUTING_ATTRIBUTES))
        if unsupported:
            raise ValueError(
                f"decoded topic {template!r} may only use ${{document_namespace}} and "
                f"${{document_type}}, not: {', '.join(unsupported)}"
            )
        self.project = project
        self.template = template
        self._static = None if placeholders(template) else topic_path(project, template)
        self._paths: dict[tuple[str | None, str | None], str] = {}

    def path_for(self, attributes: Mapping[str, str]) -> str:
        """The topic path; raises ``InvalidTopicName`` when the rendered name is not one Pub/Sub
        accepts, ``MissingPlaceholder`` for an absent attribute the template needs."""
        if self._static is not None:
            return self._static
        key = (attributes.get("document_namespace"), attributes.get("document_type"))
        path = self._paths.get(key)
        if path is None:
            routing = {
                name: value for name, value in zip(ROUTING_ATTRIBUTES, key, strict=True) if value
            }
            name = render(self.template, routing)
            if not is_valid_topic_name(name):
                raise InvalidTopicName(f"{name!r} is not a valid Pub/Sub topic name")
            path = topic_path(self.project, name)
            if len(self._paths) >= MAX_CACHED_TOPICS:  # names come from messages: bounded
                self._paths.clear()
            self._paths[key] = path
        return path
