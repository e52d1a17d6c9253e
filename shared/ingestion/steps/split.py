"""Ping splitting by the doctype's ``split_config`` (D-41, §10).

Desktop ``main.4`` pings are split so that the use counters land in their own table: for each
subset, every property the subset's schema defines is moved out of the payload into a new
document (recursing into nested object schemas), and what is left can go out as the remainder.
The top-level identifiers ``client_id``, ``clientId`` and ``client_info`` are copied rather than
moved so that every part stays joinable, unless the subset schema describes ``client_info`` as an
object, in which case its listed sub-properties are moved like any other. Each output copies the
attributes with namespace, type and version replaced. Subsets and remainder are not validated.

Only ``preserve_original`` forces a deep copy (the original must go out untouched); otherwise the
moves take place in the parsed document itself, so a 380 KB main ping is split without copying.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..context import Context
from ..core.errors import SchemaNotFound
from ..core.message import Message

_ROUTING_ATTRIBUTES = ("document_namespace", "document_type", "document_version")
_COPIED_TOP_LEVEL = frozenset(("client_id", "clientId", "client_info"))


def _copy_json(value: Any) -> Any:
    """A deep copy of a parsed JSON value; much faster than ``copy.deepcopy`` (no memo)."""
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def _properties(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else None


def _move_defined(
    source: dict[str, Any], schema: Mapping[str, Any], top_level: bool
) -> dict[str, Any]:
    """Move from ``source`` into a new object every property that ``schema`` defines."""
    moved: dict[str, Any] = {}
    properties = _properties(schema)
    if not properties:
        return moved
    # The use-counter schema lists ~3,000 histograms of which a ping holds a few hundred: walk
    # whichever side is smaller (key order carries no meaning in the output).
    if len(properties) < len(source):
        names = [name for name in properties if name in source]
    else:
        names = [name for name in source if name in properties]
    for name in names:
        property_schema = properties[name]
        value = source[name]
        nested = isinstance(property_schema, dict) and _properties(property_schema) is not None
        if nested and isinstance(value, dict):
            moved[name] = _move_defined(value, property_schema, top_level=False)
        elif top_level and name in _COPIED_TOP_LEVEL:
            moved[name] = _copy_json(value)
        else:
            moved[name] = source.pop(name)
    return moved


def _routing(target: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(target[key]) for key in _ROUTING_ATTRIBUTES if target.get(key) is not None}


def _subset_schema(context: Context, target: Mapping[str, Any]) -> Mapping[str, Any]:
    namespace = str(target.get("document_namespace"))
    doctype = str(target.get("document_type"))
    version = str(target.get("document_version"))
    schema = context.schemas.schema(namespace, doctype, version)
    if schema is None:
        raise SchemaNotFound(
            f"No schema with name: {namespace}/{doctype}/{doctype}.{version}.schema.json"
        )
    return schema


def split_ping(message: Message, context: Context) -> Message | list[Message]:
    document = message.document
    if document is None:
        return message
    split_config = context.pipeline_metadata(message.attributes).get("split_config")
    if not isinstance(split_config, dict):
        return message

    preserve_original = split_config.get("preserve_original") is True
    outputs: list[Message] = []
    if preserve_original:
        outputs.append(message.evolve())
        working = _copy_json(document)
    else:
        working = document

    for target in split_config.get("subsets") or ():
        subset = _move_defined(working, _subset_schema(context, target), top_level=True)
        outputs.append(message.evolve(set_attributes=_routing(target), document=subset))

    remainder = split_config.get("remainder")
    if isinstance(remainder, dict):
        outputs.append(message.evolve(set_attributes=_routing(remainder), document=working))
    return outputs
