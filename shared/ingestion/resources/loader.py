"""Load every resource the steps need, once, into a ``Context``.

Configuration problems (an unreadable schema path or database, a bad city filter or rules file)
become a ``ConfigurationError`` with a one-line reason; they are the only failures that stop a run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..context import Context
from ..core.limits import MAX_PAYLOAD_BYTES
from .geoip import CityFilter, GeoCityDatabase, GeoDatabaseError, GeoIspDatabase
from .schemas import SchemaLoadError, SchemaStore
from .scrubber_rules import ScrubberRules
from .user_agents import default_parser
from .validators import DEFAULT_ENGINE


def _project_schemas() -> Path:
    """The project's own schema bundle: ``<repo>/schemas`` in a checkout, or ``schemas/`` beside
    the ``ingestion`` package in a deployed function's source (see terraform/scripts)."""
    package_root = Path(__file__).resolve().parents[1]
    candidates = (package_root.parents[1] / "schemas", package_root.parent / "schemas")
    return next((path for path in candidates if path.is_dir()), candidates[0])


PROJECT_SCHEMAS = _project_schemas()


class ConfigurationError(ValueError):
    """A resource could not be loaded; the message is the one-line reason."""


@dataclasses.dataclass(frozen=True)
class DecoderConfig:
    schemas: Path = PROJECT_SCHEMAS
    geo_city_db: Path | None = None
    geo_isp_db: Path | None = None
    geo_city_filter: Path | None = None
    scrubber_rules: Path | None = None
    engine: str = DEFAULT_ENGINE
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    decompress_payloads: bool = True


def build_context(config: DecoderConfig) -> Context:
    try:
        schemas = SchemaStore.from_path(config.schemas, engine=config.engine)
    except SchemaLoadError as exc:
        raise ConfigurationError(f"cannot load schemas from {config.schemas}: {exc}") from exc
    try:
        city_filter = CityFilter.load(config.geo_city_filter) if config.geo_city_filter else None
        geo_city = (
            GeoCityDatabase(config.geo_city_db, city_filter=city_filter)
            if config.geo_city_db
            else None
        )
        geo_isp = GeoIspDatabase(config.geo_isp_db) if config.geo_isp_db else None
    except GeoDatabaseError as exc:
        raise ConfigurationError(str(exc)) from exc
    try:
        scrubber = ScrubberRules.load(config.scrubber_rules)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load scrubber rules: {exc}") from exc
    return Context(
        schemas=schemas,
        scrubber=scrubber,
        user_agents=default_parser(),
        geo_city=geo_city,
        geo_isp=geo_isp,
        max_payload_bytes=config.max_payload_bytes,
        decompress_payloads=config.decompress_payloads,
    )
