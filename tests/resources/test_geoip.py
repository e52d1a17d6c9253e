"""GeoIP databases, the city filter and the demo database builder (D-21, D-24, D-25, D-27)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import BEAM_RESOURCES, GEOIP, SHARED, beam_city_db_path, beam_city_filter, shared_path
from ingestion.context import Context
from ingestion.core.message import Message
from ingestion.local import demo_geoip
from ingestion.resources.geoip import (
    CityFilter,
    CityRecord,
    GeoCityDatabase,
    GeoDatabaseError,
    GeoIspDatabase,
    IspRecord,
    ip_literal,
)
from ingestion.steps.geo_city import lookup_city
from ingestion.steps.geo_isp import lookup_isp
from support import forbid_dns

# Parametrised databases are paths below ../shared: the test IDs show them.
BEAM = BEAM_RESOURCES.relative_to(SHARED).as_posix()
ISO_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-geoip")
    assert demo_geoip.main([str(out)]) == 0
    return out


# --- opening --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subpath", "kind", "expected"),
    [
        # the build dates in gcp-ingestion's expected outputs (GeoCityLookupTest,
        # GeoIspLookupTest)
        (f"{BEAM}/cityDB/GeoIP2-City-Test.mmdb", "city", "2019-01-03T21:26:19Z"),
        (f"{BEAM}/ispDB/GeoIP2-ISP-Test.mmdb", "isp", "2018-01-15T22:27:16Z"),
        # the newer MaxMind test builds
        ("geoip/GeoIP2-City-Test.mmdb", "city", "2026-02-04T22:49:29Z"),
        ("geoip/GeoLite2-City-Test.mmdb", "city", "2026-02-04T22:49:29Z"),
        ("geoip/GeoIP2-ISP-Test.mmdb", "isp", "2026-02-04T22:49:29Z"),
    ],
)
def test_db_version_is_the_build_instant(subpath: str, kind: str, expected: str) -> None:
    opener = GeoCityDatabase if kind == "city" else GeoIspDatabase
    with opener(shared_path(SHARED / subpath)) as db:
        assert db.db_version == expected


def assert_one_line_naming(error: GeoDatabaseError, path: Path | str) -> None:
    text = str(error)
    assert str(path) in text
    assert "\n" not in text


def test_missing_database_fails_at_open(tmp_path: Path) -> None:
    # GeoCityLookupTest.testThrowsOnMissingCityDatabase,
    # GeoIspLookupTest.testThrowsOnMissingIspDatabase
    missing = tmp_path / "missing-file.mmdb"
    for opener in (GeoCityDatabase, GeoIspDatabase):
        with pytest.raises(GeoDatabaseError) as raised:
            opener(missing)
        assert_one_line_naming(raised.value, missing)
        assert "not found" in str(raised.value)


def test_geo_database_error_is_a_value_error() -> None:
    # The CLI turns ValueErrors from configuration into usage errors.
    assert issubclass(GeoDatabaseError, ValueError)


def test_invalid_node_count_fails_at_open() -> None:
    path = shared_path(GEOIP / "GeoIP2-City-Test-Invalid-Node-Count.mmdb")
    with pytest.raises(GeoDatabaseError) as raised:
        GeoCityDatabase(path)
    assert_one_line_naming(raised.value, path)


@pytest.mark.parametrize("content", [b"", b"not a maxmind database\n" * 10])
def test_corrupt_file_fails_at_open(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "corrupt.mmdb"
    path.write_bytes(content)
    with pytest.raises(GeoDatabaseError) as raised:
        GeoCityDatabase(path)
    assert_one_line_naming(raised.value, path)


def test_directory_fails_at_open(tmp_path: Path) -> None:
    with pytest.raises(GeoDatabaseError) as raised:
        GeoIspDatabase(tmp_path)
    assert_one_line_naming(raised.value, tmp_path)


@pytest.mark.parametrize(
    ("subpath", "opener"),
    [
        (f"{BEAM}/ispDB/GeoIP2-ISP-Test.mmdb", GeoCityDatabase),
        ("geoip/GeoIP2-Country-Test.mmdb", GeoCityDatabase),
        (f"{BEAM}/cityDB/GeoIP2-City-Test.mmdb", GeoIspDatabase),
        ("geoip/GeoLite2-ASN-Test.mmdb", GeoIspDatabase),
    ],
)
def test_wrong_database_type_fails_at_open(subpath: str, opener: Any) -> None:
    path = shared_path(SHARED / subpath)
    with pytest.raises(GeoDatabaseError, match="has type") as raised:
        opener(path)
    assert_one_line_naming(raised.value, path)


def test_lookup_after_close_fails_loudly() -> None:
    db = GeoCityDatabase(beam_city_db_path())
    assert db.lookup("216.160.83.56") is not None
    db.close()
    with pytest.raises(GeoDatabaseError, match="closed"):
        db.lookup("216.160.83.56")


# --- City lookups ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("216.160.83.56", CityRecord("US", "Milton", 5803556, 819, ("WA",), True)),
        ("81.2.69.142", CityRecord("GB", "London", 2643743, None, ("ENG",), True)),
        ("2.125.160.216", CityRecord("GB", "Boxford", 2655045, None, ("ENG", "WBK"), True)),
        ("175.16.199.0", CityRecord("CN", "Changchun", 2038180, None, ("22",), True)),
        # a country-only record: no city, so no city can be allowed
        ("67.43.156.0", CityRecord("BT", None, None, None, (), False)),
        # IPv6 and IPv4-mapped IPv6
        ("2a02:ff80::", CityRecord("DE", None, None, None, (), False)),
        ("::ffff:216.160.83.56", CityRecord("US", "Milton", 5803556, 819, ("WA",), True)),
        # not found
        ("8.8.8.8", None),
        ("2001:480::1", None),
        ("192.168.1.2", None),
        # not an IP literal
        ("", None),
        ("_", None),
        (" 216.160.83.56", None),
        ("216.160.83.56 ", None),
        ("216.160.83", None),
        ("999.1.1.1", None),
        ("[::1]", None),
    ],
)
def test_city_lookup(city_db: GeoCityDatabase, ip: str, expected: CityRecord | None) -> None:
    assert city_db.lookup(ip) == expected


@pytest.mark.parametrize(
    ("filter_name", "allowed"),
    [("milton.txt", True), ("sacramento.txt", False)],  # GeoCityLookupTest
)
def test_city_filter_decides_city_allowed(filter_name: str, allowed: bool) -> None:
    with GeoCityDatabase(beam_city_db_path(), city_filter=beam_city_filter(filter_name)) as db:
        record = db.lookup("216.160.83.56")
    assert record == CityRecord("US", "Milton", 5803556, 819, ("WA",), allowed)


def test_cache_is_per_database(city_db: GeoCityDatabase) -> None:
    # Same file, different filters: one cached answer must not leak into the other.
    with GeoCityDatabase(
        beam_city_db_path(), city_filter=beam_city_filter("sacramento.txt")
    ) as other:
        filtered = other.lookup("216.160.83.56")
    unfiltered = city_db.lookup("216.160.83.56")
    assert filtered is not None and not filtered.city_allowed
    assert unfiltered is not None and unfiltered.city_allowed


def test_repeated_lookups_are_cached(city_db: GeoCityDatabase) -> None:
    first = city_db.lookup("81.2.69.142")
    assert first is not None
    assert city_db.lookup("81.2.69.142") is first
    city_db.clear_lookup_cache()
    again = city_db.lookup("81.2.69.142")
    assert again == first and again is not first


def test_broken_records_are_ignored() -> None:
    # The database opens; reading a record raises InvalidDatabaseError, which becomes a miss.
    with GeoCityDatabase(shared_path(GEOIP / "GeoIP2-City-Test-Broken-Double-Format.mmdb")) as db:
        assert ISO_INSTANT.match(db.db_version)
        for ip in ("81.2.69.142", "216.160.83.56", "2.125.160.216", "8.8.8.8"):
            assert db.lookup(ip) is None


def test_records_with_unexpected_field_types_are_misses(tmp_path: Path) -> None:
    records: dict[str, dict[str, Any]] = {
        "192.0.2.0/28": {"city": "Milton", "country": {"iso_code": "US"}},  # city not a map
        "192.0.2.16/28": {"country": ["US"]},  # country not a map
        "192.0.2.32/28": {"subdivisions": [{"iso_code": "WA"}, 7]},  # not a map in the list
        "192.0.2.48/28": {"country": {"iso_code": "CA"}, "city": {"names": {"en": "Toronto"}}},
    }
    with GeoCityDatabase(demo_geoip._write(tmp_path / "odd.mmdb", "GeoIP2-City", records)) as db:
        assert db.lookup("192.0.2.1") is None
        assert db.lookup("192.0.2.17") is None
        assert db.lookup("192.0.2.33") is None
        record = db.lookup("192.0.2.49")  # a well-formed neighbour still resolves
        assert record is not None and (record.country, record.city) == ("CA", "Toronto")


def test_hostnames_are_never_resolved(
    monkeypatch: pytest.MonkeyPatch, city_db: GeoCityDatabase, isp_db: GeoIspDatabase
) -> None:
    forbid_dns(monkeypatch)
    for host in ("localhost", "resolve-me.example.com", "216.160.83.56.nip.io", "a.invalid"):
        assert city_db.lookup(host) is None
        assert isp_db.lookup(host) is None


# --- ISP lookups ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("23.32.32.1", IspRecord("Akamai Technologies", "Akamai Technologies")),  # GeoIspLookupTest
        ("23.32.32.11", IspRecord("Akamai Technologies", "Akamai Technologies")),
        ("24.38.243.141", IspRecord(None, "LAWN MULLEN & GOOD INTERNATIONAL")),
        ("1.128.0.0", IspRecord("Telstra Internet", "Telstra Internet")),
        ("202.196.224.0", None),
        ("2001:480::1", None),
        ("not-an-ip", None),
    ],
)
def test_isp_lookup(isp_db: GeoIspDatabase, ip: str, expected: IspRecord | None) -> None:
    assert isp_db.lookup(ip) == expected


# --- city filter ----------------------------------------------------------------------------


def test_city_filter_files() -> None:
    # milton.txt is a full cities15000 line; sacramento.txt is "5389489 Sacramento".
    assert beam_city_filter("milton.txt").allowed_ids == frozenset({5803556})
    assert beam_city_filter("sacramento.txt").allowed_ids == frozenset({5389489})


def test_invalid_city_filter_fails() -> None:
    # GeoCityLookupTest.testThrowsOnInvalidCityFilter
    path = shared_path(BEAM_RESOURCES / "cityFilters" / "invalid.txt")
    with pytest.raises(GeoDatabaseError, match="line 1 ") as raised:
        CityFilter.load(path)
    assert_one_line_naming(raised.value, path)


def test_missing_city_filter_fails(tmp_path: Path) -> None:
    # GeoCityLookupTest.testThrowsOnMissingCityFilter
    missing = tmp_path / "missing-file.txt"
    with pytest.raises(GeoDatabaseError) as raised:
        CityFilter.load(missing)
    assert_one_line_naming(raised.value, missing)


@pytest.mark.parametrize(
    ("content", "bad_line"),
    [
        ("5803556\tMilton\n\n5389489\tSacramento\n", 2),  # §10: an empty line fails
        ("5803556\n 5389489\n", 2),  # the id must start the line
        ("5803556\n5389489\nSacramento 5389489\n", 3),
        ("\u0665\u0663\u0668\n", 1),  # Java's \d is ASCII only
    ],
)
def test_city_filter_rejects_lines_without_leading_id(
    tmp_path: Path, content: str, bad_line: int
) -> None:
    path = tmp_path / "cities.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GeoDatabaseError, match=f"line {bad_line} "):
        CityFilter.load(path)


def test_city_filter_reads_ids_and_ignores_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "cities.txt"
    path.write_text("5803556\tMilton\tМилтон\n5389489 Sacramento\r\n2643743\n", encoding="utf-8")
    loaded = CityFilter.load(path)
    assert loaded.allowed_ids == frozenset({5803556, 5389489, 2643743})
    assert loaded.allows(2643743)
    assert not loaded.allows(2655045)
    assert not loaded.allows(None)
    assert len(loaded) == 3


def test_empty_city_filter_allows_no_city(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("", encoding="utf-8")
    with GeoCityDatabase(beam_city_db_path(), city_filter=CityFilter.load(path)) as db:
        record = db.lookup("216.160.83.56")
    assert record is not None and record.city == "Milton" and not record.city_allowed


# --- demo databases -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("198.51.100.7", CityRecord("US", "Sacramento", 5389489, 862, ("CA",), True)),
        ("203.0.113.200", CityRecord("US", "Milton", 5803556, 819, ("WA",), True)),
        ("192.0.2.1", CityRecord("DE", None, None, None, (), False)),
        ("2001:db8::1", CityRecord("GB", "Boxford", 2655045, None, ("ENG", "WBK"), True)),
        ("2001:db8:ffff::1", CityRecord("GB", "Boxford", 2655045, None, ("ENG", "WBK"), True)),
        ("::ffff:198.51.100.7", CityRecord("US", "Sacramento", 5389489, 862, ("CA",), True)),
        ("8.8.8.8", None),
        ("2001:db9::1", None),
    ],
)
def test_demo_city_database(demo_dir: Path, ip: str, expected: CityRecord | None) -> None:
    with GeoCityDatabase(demo_dir / demo_geoip.CITY_FILE_NAME) as db:
        assert db.database_type == "GeoIP2-City"
        assert ISO_INSTANT.match(db.db_version)
        assert db.lookup(ip) == expected


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("198.51.100.7", IspRecord("Example Broadband", "Example Broadband Residential")),
        ("203.0.113.1", IspRecord("Demo Wireless", "Demo Wireless Mobile")),
        ("192.0.2.55", IspRecord(None, "Documentation Research Institute")),
        ("2001:db8::5", IspRecord("Sample Transit", "Sample Transit Networks")),
        ("8.8.8.8", None),
    ],
)
def test_demo_isp_database(demo_dir: Path, ip: str, expected: IspRecord | None) -> None:
    with GeoIspDatabase(demo_dir / demo_geoip.ISP_FILE_NAME) as db:
        assert db.database_type == "GeoIP2-ISP"
        assert db.lookup(ip) == expected


def test_demo_builders_return_their_path(tmp_path: Path) -> None:
    city = demo_geoip.build_demo_city_db(tmp_path / "nested" / "city.mmdb")
    isp = demo_geoip.build_demo_isp_db(tmp_path / "isp.mmdb")
    assert city == tmp_path / "nested" / "city.mmdb" and city.stat().st_size > 0
    assert isp == tmp_path / "isp.mmdb" and isp.stat().st_size > 0


@pytest.mark.parametrize("argv", [[], ["a", "b"], ["--help"]])
def test_demo_main_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_geoip.main(argv) == 2
    assert "usage" in capsys.readouterr().err


def test_demo_databases_drive_the_steps(demo_dir: Path, tmp_path: Path) -> None:
    # The demo city databases with a filter that knows Milton only: Sacramento loses its city.
    milton_only = tmp_path / "milton.txt"
    milton_only.write_text("5803556\tMilton\n", encoding="utf-8")
    city = GeoCityDatabase(
        demo_dir / demo_geoip.CITY_FILE_NAME, city_filter=CityFilter.load(milton_only)
    )
    isp = GeoIspDatabase(demo_dir / demo_geoip.ISP_FILE_NAME)
    context = Context(
        schemas=None,  # type: ignore[arg-type]
        scrubber=None,  # type: ignore[arg-type]
        user_agents=None,  # type: ignore[arg-type]
        geo_city=city,
        geo_isp=isp,
    )
    with city, isp:
        sacramento = Message(attributes={"x_forwarded_for": "198.51.100.7"})
        result = lookup_city(lookup_isp(sacramento, context), context)
        assert result.attributes == {
            "geo_country": "US",
            "geo_subdivision1": "CA",
            "geo_db_version": city.db_version,
            "isp_name": "Example Broadband",
            "isp_organization": "Example Broadband Residential",
            "isp_db_version": isp.db_version,
        }
        milton = Message(attributes={"x_forwarded_for": "203.0.113.9"})
        assert lookup_city(milton, context).attributes["geo_city"] == "Milton"


# --- IP literals ------------------------------------------------------------------------------
_QUAD_PARTS = st.one_of(
    st.integers(0, 300).map(str), st.sampled_from(["00", "01", "007", "٣", "+1", "", " 1"])
)


@given(
    st.one_of(
        st.lists(_QUAD_PARTS, min_size=3, max_size=5).map(".".join),
        st.ip_addresses().map(str),
        st.text(alphabet="0123456789.:abcdef%x ", max_size=20),
    )
)
def test_ip_literal_accepts_exactly_what_ipaddress_accepts(text: str) -> None:
    try:
        expected = ipaddress.ip_address(text)
    except ValueError:
        with pytest.raises(ValueError):
            ip_literal(text)
        return
    literal = ip_literal(text)
    if isinstance(expected, ipaddress.IPv6Address) and expected.ipv4_mapped is not None:
        expected = expected.ipv4_mapped
    assert ipaddress.ip_address(literal) == expected


def test_plain_dotted_quads_reach_maxminddb_unparsed(city_db: GeoCityDatabase) -> None:
    assert ip_literal("175.16.199.37") == "175.16.199.37"
    assert ip_literal("::ffff:175.16.199.37") == ipaddress.IPv4Address("175.16.199.37")
    city_db.clear_lookup_cache()
    by_text = city_db.lookup("175.16.199.37")
    by_mapped = city_db.lookup("::ffff:175.16.199.37")
    assert by_text is not None and by_text == by_mapped
    for not_literal in ("175.16.199.037", "1.2.3", "0x7f.0.0.1", "localhost", " 1.2.3.4"):
        assert city_db.lookup(not_literal) is None
