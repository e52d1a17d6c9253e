"""Everything the pure steps may consult, loaded once per process and shared by all messages,
and the one value that says where it comes from.

Steps read resources from the ``Context`` and never open files or sockets themselves.
``ContextConfig`` is what every runtime builds, from its settings or its command line, to say
where the resources live; ``build_context`` loads a config whose locations are local paths (the
service layer's provider fetches ``gs://`` objects first). Configuration problems (an unreadable
schema path or database, a bad city filter or rules file) become a ``ConfigurationError`` with a
one-line reason: they are the only failures that stop a run.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from .core.limits import MAX_PAYLOAD_BYTES
from .resources.geoip import CityFilter, GeoCityDatabase, GeoDatabaseError, GeoIspDatabase
from .resources.schemas import PROJECT_SCHEMAS, SchemaLoadError, SchemaStore
from .resources.scrubber import ScrubberRules
from .resources.user_agents import UserAgentParser, default_parser
from .resources.validators import DEFAULT_ENGINE


@dataclasses.dataclass(frozen=True)
class Context:
    schemas: SchemaStore
    scrubber: ScrubberRules
    user_agents: UserAgentParser
    geo_city: GeoCityDatabase | None = None
    geo_isp: GeoIspDatabase | None = None
    max_payload_bytes: int = MAX_PAYLOAD_BYTES

    def pipeline_metadata(self, attributes: Mapping[str, str]) -> Mapping[str, Any]:
        """The ``mozPipelineMetadata`` of the schema a message's attributes name: the one
        lookup every step uses. Empty while any of namespace, type and version is unknown
        (a telemetry ping has no version before validation)."""
        namespace = attributes.get("document_namespace")
        doctype = attributes.get("document_type")
        version = attributes.get("document_version")
        if namespace is None or doctype is None or version is None:
            return _NO_METADATA
        return self.schemas.pipeline_metadata(namespace, doctype, version)


_NO_METADATA: Mapping[str, Any] = types.MappingProxyType({})


class ConfigurationError(ValueError):
    """A resource could not be loaded; the message is the one-line reason."""


@dataclasses.dataclass(frozen=True)
class ContextConfig:
    """Where the decoder's resources live and how they are used (named as the settings are).

    Locations are local paths or ``gs://bucket/object`` names; ``""`` means not configured: no
    GeoIP lookup for a database, the bundled rules for ``scrubber_rules``.
    """

    schemas_location: str = str(PROJECT_SCHEMAS)
    geo_city_database: str = ""
    geo_isp_database: str = ""
    geo_city_filter: str = ""
    scrubber_rules: str = ""
    validation_engine: str = DEFAULT_ENGINE
    max_payload_bytes: int = MAX_PAYLOAD_BYTES

    # The location fields, which a provider may fetch and replace with local copies.
    LOCATIONS: ClassVar[tuple[str, ...]] = (
        "schemas_location",
        "geo_city_database",
        "geo_isp_database",
        "geo_city_filter",
        "scrubber_rules",
    )

    def locations(self) -> dict[str, str]:
        """The configured locations by field name (the ones left empty are not listed)."""
        return {name: value for name in self.LOCATIONS if (value := getattr(self, name))}


def build_context(config: ContextConfig) -> Context:
    """Load every resource of ``config``, whose locations must be local paths."""
    try:
        schemas = SchemaStore.from_path(config.schemas_location, engine=config.validation_engine)
    except SchemaLoadError as exc:
        location = config.schemas_location
        raise ConfigurationError(f"cannot load schemas from {location}: {exc}") from exc
    try:
        city_filter = CityFilter.load(config.geo_city_filter) if config.geo_city_filter else None
        geo_city = (
            GeoCityDatabase(config.geo_city_database, city_filter=city_filter)
            if config.geo_city_database
            else None
        )
        geo_isp = GeoIspDatabase(config.geo_isp_database) if config.geo_isp_database else None
    except GeoDatabaseError as exc:
        raise ConfigurationError(str(exc)) from exc
    try:
        scrubber = ScrubberRules.load(
            Path(config.scrubber_rules) if config.scrubber_rules else None
        )
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load scrubber rules: {exc}") from exc
    return Context(
        schemas=schemas,
        scrubber=scrubber,
        user_agents=default_parser(),
        geo_city=geo_city,
        geo_isp=geo_isp,
        max_payload_bytes=config.max_payload_bytes,
    )
