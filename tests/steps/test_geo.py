"""GeoIspLookup and GeoCityLookup steps, alone and after ParseProxy (D-17..D-26, D-69, §10)."""

from __future__ import annotations

import pytest

from conftest import GEOIP, beam_city_db_path, beam_city_filter, shared_path
from ingestion.context import Context
from ingestion.core.message import CLIENT_IP_ATTRIBUTES, Message
from ingestion.resources.geoip import GeoCityDatabase, GeoIspDatabase
from ingestion.steps.geo_city import lookup_city
from ingestion.steps.geo_isp import lookup_isp
from ingestion.steps.parse_proxy import trim_forwarded_for
from support import context_with, forbid_dns

# Build dates of gcp-ingestion's copies of the MaxMind test databases.
CITY_DB_VERSION = "2019-01-03T21:26:19Z"
ISP_DB_VERSION = "2018-01-15T22:27:16Z"


def city_db_with_filter(name: str) -> GeoCityDatabase:
    city_filter = beam_city_filter(name)
    return GeoCityDatabase(beam_city_db_path(), city_filter=city_filter)


def make_context(city: GeoCityDatabase | None = None, isp: GeoIspDatabase | None = None) -> Context:
    return context_with({}, geo_city=city, geo_isp=isp)


def protect(attributes: dict[str, str], context: Context) -> dict[str, str]:
    """The IP-handling steps in pipeline order."""
    message = Message(attributes=dict(attributes), payload=b"payload")
    for step in (trim_forwarded_for, lookup_isp, lookup_city):
        message = step(message, context)
    assert message.payload == b"payload"
    return message.attributes


# --- GeoCityLookup --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        # GeoCityLookupTest (reference §6.2): last entry Milton
        (
            "192.168.1.2, 216.160.83.56",
            {
                "geo_city": "Milton",
                "geo_country": "US",
                "geo_dma_code": "819",
                "geo_subdivision1": "WA",
            },
        ),
        # two subdivision levels, no DMA code
        (
            "2.125.160.216",
            {
                "geo_city": "Boxford",
                "geo_country": "GB",
                "geo_subdivision1": "ENG",
                "geo_subdivision2": "WBK",
            },
        ),
        ("89.160.20.112", {"geo_city": "Linköping", "geo_country": "SE", "geo_subdivision1": "E"}),
        # a country without city or subdivision
        ("67.43.156.0", {"geo_country": "BT"}),
        ("202.196.224.0", {"geo_country": "PH"}),
        # IPv6, and IPv4-mapped IPv6 read as IPv4
        ("2a02:ff80::", {"geo_country": "DE"}),
        (
            "::ffff:216.160.83.56",
            {
                "geo_city": "Milton",
                "geo_country": "US",
                "geo_dma_code": "819",
                "geo_subdivision1": "WA",
            },
        ),
        # misses: not in the DB, private, empty (§10), hostnames, junk
        ("8.8.8.8", {}),
        ("2001:480::1", {}),
        ("10.0.0.1, 192.168.1.2", {}),
        ("", {}),
        ("localhost", {}),
        ("_", {}),
        ("216.160.83.56, not-an-ip", {}),
    ],
)
def test_city_lookup(
    city_db: GeoCityDatabase, forwarded_for: str, expected: dict[str, str]
) -> None:
    message = Message(
        attributes={"remote_addr": "10.0.0.2", "x_forwarded_for": forwarded_for, "host": "h"}
    )
    result = lookup_city(message, make_context(city=city_db))
    # geo_db_version is set whenever X-Forwarded-For is present, even when the lookup misses.
    assert result.attributes == {"host": "h", "geo_db_version": CITY_DB_VERSION, **expected}


@pytest.mark.parametrize(
    ("filter_name", "expected"),
    [
        # GeoCityLookupTest.testCityRejected: Milton is not in the filter
        ("sacramento.txt", {"geo_country": "US", "geo_subdivision1": "WA"}),
        # GeoCityLookupTest.testCityAllowed
        (
            "milton.txt",
            {
                "geo_city": "Milton",
                "geo_country": "US",
                "geo_dma_code": "819",
                "geo_subdivision1": "WA",
            },
        ),
    ],
)
def test_city_filter(filter_name: str, expected: dict[str, str]) -> None:
    with city_db_with_filter(filter_name) as db:
        message = Message(attributes={"x_forwarded_for": "192.168.1.2, 216.160.83.56"})
        result = lookup_city(message, make_context(city=db))
    assert result.attributes == {"geo_db_version": CITY_DB_VERSION, **expected}


def test_city_without_forwarded_for_sets_nothing(city_db: GeoCityDatabase) -> None:
    # GeoCityLookupTest.testOutput, first message; decoder-integration test1: no *_db_version
    message = Message(attributes={"host": "test"}, payload=b"test")
    result = lookup_city(message, make_context(city=city_db))
    assert result.attributes == {"host": "test"}
    assert result.payload == b"test"


def test_city_without_forwarded_for_still_drops_remote_addr(city_db: GeoCityDatabase) -> None:
    message = Message(attributes={"remote_addr": "216.160.83.56"})
    assert lookup_city(message, make_context(city=city_db)).attributes == {}


def test_preset_geo_country_skips_lookup_but_drops_ip(city_db: GeoCityDatabase) -> None:
    # Deliberate deviation from D-23: a replay keeps its geo attributes, but never the IP.
    attributes = {
        "geo_country": "CA",
        "geo_city": "Toronto",
        "x_forwarded_for": "216.160.83.56",
        "remote_addr": "10.0.0.2",
    }
    result = lookup_city(Message(attributes=attributes), make_context(city=city_db))
    assert result.attributes == {"geo_country": "CA", "geo_city": "Toronto"}


def test_no_city_database_only_drops_ip() -> None:
    message = Message(attributes={"x_forwarded_for": "216.160.83.56", "host": "h"})
    assert lookup_city(message, make_context()).attributes == {"host": "h"}


def test_city_lookup_with_broken_records_is_ignored() -> None:
    # The database opens, but every record is malformed: the lookup misses, nothing is raised.
    path = shared_path(GEOIP / "GeoIP2-City-Test-Broken-Double-Format.mmdb")
    with GeoCityDatabase(path) as db:
        message = Message(attributes={"x_forwarded_for": "81.2.69.142"})
        result = lookup_city(message, make_context(city=db))
        assert result.attributes == {"geo_db_version": db.db_version}


# --- GeoIspLookup ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        # GeoIspLookupTest (reference §6.2)
        (
            "192.168.1.2, 23.32.32.1",
            {"isp_name": "Akamai Technologies", "isp_organization": "Akamai Technologies"},
        ),
        ("1.128.0.0", {"isp_name": "Telstra Internet", "isp_organization": "Telstra Internet"}),
        # GeoIspLookupTest.testOutput: a record without an ISP name
        ("24.38.243.141", {"isp_organization": "LAWN MULLEN & GOOD INTERNATIONAL"}),
        # misses: not in the ISP DB (decoder-integration host=test2), empty, hostname
        ("202.196.224.0", {}),
        ("", {}),
        ("localhost", {}),
    ],
)
def test_isp_lookup(isp_db: GeoIspDatabase, forwarded_for: str, expected: dict[str, str]) -> None:
    attributes = {"remote_addr": "10.0.0.2", "x_forwarded_for": forwarded_for}
    result = lookup_isp(Message(attributes=dict(attributes)), make_context(isp=isp_db))
    # The ISP step keeps X-Forwarded-For (the city step removes it) and sets the version first.
    assert result.attributes == {**attributes, "isp_db_version": ISP_DB_VERSION, **expected}


def test_isp_without_forwarded_for_sets_nothing(isp_db: GeoIspDatabase) -> None:
    message = Message(attributes={"host": "test"})
    assert lookup_isp(message, make_context(isp=isp_db)).attributes == {"host": "test"}


def test_isp_already_applied_is_left_alone(isp_db: GeoIspDatabase) -> None:
    attributes = {"isp_name": "service provider", "x_forwarded_for": "23.32.32.1"}
    result = lookup_isp(Message(attributes=dict(attributes)), make_context(isp=isp_db))
    assert result.attributes == attributes


def test_no_isp_database_does_nothing() -> None:
    attributes = {"x_forwarded_for": "23.32.32.1"}
    assert lookup_isp(Message(attributes=dict(attributes)), make_context()).attributes == attributes


# --- ParseProxy, GeoIspLookup, GeoCityLookup together ---------------------------------------


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        # ParseProxyTest.testWithGeoCityLookup
        ({}, {}),
        (
            {"x_forwarded_for": "_, 202.196.224.0, _, _"},
            {
                "geo_country": "PH",
                "geo_db_version": CITY_DB_VERSION,
                "isp_db_version": ISP_DB_VERSION,
            },
        ),
        (
            {"x_pipeline_proxy": "1", "x_forwarded_for": "_, 202.196.224.0, _, _"},
            {
                "geo_country": "PH",
                "geo_db_version": CITY_DB_VERSION,
                "isp_db_version": ISP_DB_VERSION,
                "x_pipeline_proxy": "1",
            },
        ),
        # decoder-integration valid-input, host=test2 and host=test3
        (
            {"host": "test2", "x_forwarded_for": "202.196.224.0,_,_"},
            {
                "host": "test2",
                "geo_country": "PH",
                "geo_db_version": CITY_DB_VERSION,
                "isp_db_version": ISP_DB_VERSION,
            },
        ),
        (
            {"host": "test3", "x_forwarded_for": "_,202.196.224.0,_,_"},
            {
                "host": "test3",
                "geo_country": "PH",
                "geo_db_version": CITY_DB_VERSION,
                "isp_db_version": ISP_DB_VERSION,
            },
        ),
        # the client before our two load balancers; the ISP values are those of the
        # decoder-integration logentries output for the same address
        (
            {"remote_addr": "10.0.0.2", "x_forwarded_for": "216.160.83.56, 23.32.32.1, 60.1.1.1"},
            {
                "isp_name": "Century Link",
                "isp_organization": "Lariat Software",
                "geo_city": "Milton",
                "geo_country": "US",
                "geo_dma_code": "819",
                "geo_subdivision1": "WA",
                "geo_db_version": CITY_DB_VERSION,
                "isp_db_version": ISP_DB_VERSION,
            },
        ),
        (
            {"x_forwarded_for": "10.1.1.1, 23.32.32.1, 35.1.1.1, 60.1.1.1"},
            {
                "isp_name": "Akamai Technologies",
                "isp_organization": "Akamai Technologies",
                "geo_db_version": CITY_DB_VERSION,
                "isp_db_version": ISP_DB_VERSION,
            },
        ),
        # §10: trimmed to nothing, still present: both versions set, both lookups miss
        (
            {"x_forwarded_for": "216.160.83.56, 60.1.1.1"},
            {"geo_db_version": CITY_DB_VERSION, "isp_db_version": ISP_DB_VERSION},
        ),
        (
            {"x_forwarded_for": ""},
            {"geo_db_version": CITY_DB_VERSION, "isp_db_version": ISP_DB_VERSION},
        ),
        # only remote_addr: nothing to look up, and it is gone
        ({"remote_addr": "216.160.83.56"}, {}),
    ],
)
def test_protect_chain(
    city_db: GeoCityDatabase,
    isp_db: GeoIspDatabase,
    attributes: dict[str, str],
    expected: dict[str, str],
) -> None:
    assert protect(attributes, make_context(city=city_db, isp=isp_db)) == expected


@pytest.mark.parametrize("with_databases", [True, False])
@pytest.mark.parametrize(
    "attributes",
    [
        {"remote_addr": "10.0.0.2"},
        {"x_forwarded_for": "216.160.83.56, 1, 2"},
        {"x_forwarded_for": "", "remote_addr": "1.2.3.4"},
        {"x_forwarded_for": "2001:db8::1"},
        {"geo_country": "US", "x_forwarded_for": "216.160.83.56", "remote_addr": "1.2.3.4"},
        {"isp_name": "x", "x_forwarded_for": "23.32.32.1, 1, 2"},
    ],
)
def test_no_ip_survives_the_protect_steps(
    request: pytest.FixtureRequest, attributes: dict[str, str], with_databases: bool
) -> None:
    # D-69: after GeoCityLookup no output can carry the client IP.
    if with_databases:
        context = make_context(
            city=request.getfixturevalue("city_db"), isp=request.getfixturevalue("isp_db")
        )
    else:
        context = make_context()
    result = protect(attributes, context)
    assert not set(CLIENT_IP_ATTRIBUTES) & set(result)


def test_hostnames_are_never_resolved(
    monkeypatch: pytest.MonkeyPatch, city_db: GeoCityDatabase, isp_db: GeoIspDatabase
) -> None:
    forbid_dns(monkeypatch)
    for host in ("localhost", "example.com", "dns-probe.invalid", "216.160.83.56.nip.io"):
        result = protect({"x_forwarded_for": f"{host}, 1, 2"}, make_context(city_db, isp_db))
        assert result == {"geo_db_version": CITY_DB_VERSION, "isp_db_version": ISP_DB_VERSION}
