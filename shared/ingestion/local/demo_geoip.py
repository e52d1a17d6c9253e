"""Build small made-up GeoIP2 City and ISP databases for demos and tests (D-24, D-25, D-21).

Real MaxMind databases cannot be shipped, and their test databases hold few cases. These cover the
documentation address ranges (RFC 5737 and RFC 3849) with invented but realistic records:

- ``198.51.100.0/24``: US, Sacramento (geoname 5389489), DMA 862, subdivision CA;
- ``203.0.113.0/24``: US, Milton (geoname 5803556), DMA 819, subdivision WA;
- ``192.0.2.0/24``: DE, a country without city or subdivision;
- ``2001:db8::/32``: GB, Boxford (geoname 2655045), subdivisions ENG and WBK, no DMA code.

The ISP database gives each range an ISP; ``192.0.2.0/24`` has only an organization.
The writer (``mmdb-writer`` with ``netaddr``) is a dev/demo dependency, imported only when building.
The databases' ``build_epoch`` is the build time.

Usage: ``python -m ingestion.resources.demo_geoip OUT_DIR`` writes ``demo-city.mmdb`` and
``demo-isp.mmdb``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CITY_FILE_NAME = "demo-city.mmdb"
ISP_FILE_NAME = "demo-isp.mmdb"

_NORTH_AMERICA = {"code": "NA", "geoname_id": 6255149, "names": {"en": "North America"}}
_EUROPE = {"code": "EU", "geoname_id": 6255148, "names": {"en": "Europe"}}
_US = {"geoname_id": 6252001, "iso_code": "US", "names": {"en": "United States"}}
_DE = {"geoname_id": 2921044, "iso_code": "DE", "names": {"en": "Germany"}}
_GB = {"geoname_id": 2635167, "iso_code": "GB", "names": {"en": "United Kingdom"}}

CITY_RECORDS: dict[str, dict[str, Any]] = {
    "198.51.100.0/24": {
        "city": {"geoname_id": 5389489, "names": {"en": "Sacramento"}},
        "continent": _NORTH_AMERICA,
        "country": _US,
        "registered_country": _US,
        "location": {
            "accuracy_radius": 20,
            "latitude": 38.5816,
            "longitude": -121.4944,
            "metro_code": 862,
            "time_zone": "America/Los_Angeles",
        },
        "postal": {"code": "95814"},
        "subdivisions": [{"geoname_id": 5332921, "iso_code": "CA", "names": {"en": "California"}}],
    },
    "203.0.113.0/24": {
        "city": {"geoname_id": 5803556, "names": {"en": "Milton"}},
        "continent": _NORTH_AMERICA,
        "country": _US,
        "registered_country": _US,
        "location": {
            "accuracy_radius": 22,
            "latitude": 47.2482,
            "longitude": -122.3129,
            "metro_code": 819,
            "time_zone": "America/Los_Angeles",
        },
        "postal": {"code": "98354"},
        "subdivisions": [{"geoname_id": 5815135, "iso_code": "WA", "names": {"en": "Washington"}}],
    },
    "192.0.2.0/24": {
        "continent": _EUROPE,
        "country": _DE,
        "registered_country": _DE,
        "location": {
            "accuracy_radius": 1000,
            "latitude": 51.2993,
            "longitude": 9.491,
            "time_zone": "Europe/Berlin",
        },
    },
    "2001:db8::/32": {
        "city": {"geoname_id": 2655045, "names": {"en": "Boxford"}},
        "continent": _EUROPE,
        "country": _GB,
        "registered_country": _GB,
        "location": {
            "accuracy_radius": 100,
            "latitude": 51.75,
            "longitude": -1.25,
            "time_zone": "Europe/London",
        },
        "postal": {"code": "OX1"},
        "subdivisions": [
            {"geoname_id": 6269131, "iso_code": "ENG", "names": {"en": "England"}},
            {"geoname_id": 3333217, "iso_code": "WBK", "names": {"en": "West Berkshire"}},
        ],
    },
}

ISP_RECORDS: dict[str, dict[str, Any]] = {
    "198.51.100.0/24": {
        "autonomous_system_number": 64496,
        "autonomous_system_organization": "Example Broadband",
        "isp": "Example Broadband",
        "organization": "Example Broadband Residential",
    },
    "203.0.113.0/24": {
        "autonomous_system_number": 64497,
        "autonomous_system_organization": "Demo Wireless",
        "isp": "Demo Wireless",
        "organization": "Demo Wireless Mobile",
    },
    "192.0.2.0/24": {"organization": "Documentation Research Institute"},
    "2001:db8::/32": {
        "autonomous_system_number": 64498,
        "autonomous_system_organization": "Sample Transit",
        "isp": "Sample Transit",
        "organization": "Sample Transit Networks",
    },
}


def _write(path: Path, database_type: str, records: dict[str, dict[str, Any]]) -> Path:
    # Dev/demo dependencies: only needed to build, never by the decoder itself.
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(
        ip_version=6,
        database_type=database_type,
        languages=["en"],
        description={"en": f"Made-up {database_type} data for demos (ingestion)"},
        ipv4_compatible=True,
    )
    for network, record in records.items():
        writer.insert_network(IPSet([network]), record)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(path))
    return path


def build_demo_city_db(path: Path) -> Path:
    """Write the demo ``GeoIP2-City`` database to ``path`` and return it."""
    return _write(Path(path), "GeoIP2-City", CITY_RECORDS)


def build_demo_isp_db(path: Path) -> Path:
    """Write the demo ``GeoIP2-ISP`` database to ``path`` and return it."""
    return _write(Path(path), "GeoIP2-ISP", ISP_RECORDS)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(
            f"usage: python -m ingestion.resources.demo_geoip OUT_DIR\n\n{__doc__}", file=sys.stderr
        )
        return 2
    out_dir = Path(args[0])
    for written in (
        build_demo_city_db(out_dir / CITY_FILE_NAME),
        build_demo_isp_db(out_dir / ISP_FILE_NAME),
    ):
        print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
