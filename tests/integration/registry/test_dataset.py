"""``Dataset``: what a writer keys with ``core.partitions`` a reader finds with ``where``, for
every form of ``allowed_values`` (``UNKNOWN`` and ``OTHER`` included), on both backends; the
walk stops descending once no clause is left; hostile values stay inside their level."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.core.lines import line_from_message
from ingestion.core.message import Message
from ingestion.core.partitions import OTHER, UNKNOWN, partition_key, sanitize
from ingestion.registry import Dataset, QueryError, Registry, UnknownSource
from registry.documents_data import DATA_BUCKET

# One dimension per form of allowed_values.
SCHEMA = {
    "version": 1,
    "dimensions": [
        {"field_name": "submissionDate", "allowed_values": "*"},
        {"field_name": "docType", "allowed_values": "main"},
        {"field_name": "appUpdateChannel", "allowed_values": ["release", "beta.1"]},
        {"field_name": "app_version", "allowed_values": {"min": "50", "max": "99"}},
    ],
}
FIELDS = ("submission_date", "document_type", "app_update_channel", "app_version")
SOURCE = {
    "description": "test source",
    "bucket": DATA_BUCKET,
    "prefix": "data/v1",
    "metadata_prefix": "meta-1",
}


def configure(registry: Registry) -> None:
    registry.put_source("s", SOURCE, expected=None)
    registry.put_schema("meta-1", SCHEMA, expected=None)


def write(registry: Registry, messages: list[dict[str, str]]) -> list[str]:
    """Write each message as the loader would: its own gzip object under its partition key."""
    target = registry.writer("s")
    bucket = registry.data_bucket(target.bucket)
    names = []
    for index, attributes in enumerate(messages):
        message = Message(attributes=attributes, payload=f"payload {index}".encode())
        name = partition_key(target.prefix, target.dimensions, attributes, f"o{index}.ndjson.gz")
        bucket.write(name, gzip.compress(line_from_message(message) + b"\n"), if_generation="0")
        names.append(name)
    return names


def expected_level(field: str, value: str | None) -> str:
    """The level a writer gives, computed here from the schema's rules, independently."""
    if not value:
        return UNKNOWN
    cleaned = sanitize(value)
    allowed = {
        "submission_date": True,
        "document_type": cleaned == "main",
        "app_update_channel": cleaned in ("release", "beta.1"),
        "app_version": "50" <= cleaned <= "99",
    }[field]
    return cleaned if allowed else OTHER


MESSAGES = [
    {"submission_timestamp": "2026-01-01T10:00:00Z", "document_type": "main",
     "app_update_channel": "release", "app_version": "60"},
    {"submission_timestamp": "2026-01-01T11:00:00Z", "document_type": "crash",
     "app_update_channel": "beta.1", "app_version": "45"},
    {"submission_timestamp": "2026-01-02T10:00:00Z", "document_type": "main",
     "app_version": "99"},
    {"document_type": "../../etc", "app_update_channel": "nightly/../x", "app_version": "55"},
]  # fmt: skip


def test_where_finds_what_the_writer_keyed_for_every_form(empty_registry):
    configure(empty_registry)
    names = write(empty_registry, MESSAGES)
    assert names[3] == "data/v1/UNKNOWN/OTHER/OTHER/55/o3.ndjson.gz"
    dataset = Dataset.from_source("s", registry=empty_registry)

    def found(**where) -> list[str]:
        return sorted(o.name.rsplit("/", 1)[1] for o in dataset.where(**where).objects())

    assert found() == ["o0.ndjson.gz", "o1.ndjson.gz", "o2.ndjson.gz", "o3.ndjson.gz"]
    assert found(submission_date="2026-01-01") == ["o0.ndjson.gz", "o1.ndjson.gz"]
    assert found(submissionDate=UNKNOWN) == ["o3.ndjson.gz"]  # camelCase names work too
    assert found(document_type="main") == ["o0.ndjson.gz", "o2.ndjson.gz"]
    assert found(document_type=OTHER) == ["o1.ndjson.gz", "o3.ndjson.gz"]
    assert found(app_update_channel=["beta.1", UNKNOWN]) == ["o1.ndjson.gz", "o2.ndjson.gz"]
    # A range selects values, compared as strings, never the OTHER its own test produced.
    assert found(app_version={"min": "56"}) == ["o0.ndjson.gz", "o2.ndjson.gz"]
    assert found(app_version=OTHER) == ["o1.ndjson.gz"]
    assert found(app_version=lambda level: level.startswith("5")) == ["o3.ndjson.gz"]
    assert found(submission_date="2026-01-01", app_version="60") == ["o0.ndjson.gz"]
    records = list(dataset.where(document_type="main").records())
    assert sorted(m.payload for m in records) == [b"payload 0", b"payload 2"]
    assert all(m.attributes["document_type"] == "main" for m in records)


def test_the_walk_stops_descending_once_no_clause_is_left(empty_registry):
    configure(empty_registry)
    write(empty_registry, MESSAGES)
    dataset = Dataset.from_source("s", registry=empty_registry)
    assert [p.prefix for p in dataset.partitions()] == ["data/v1/"]
    assert [p.values for p in dataset.where(submission_date="2026-01-02").partitions()] == [
        ("2026_01_02",)
    ]
    assert [p.prefix for p in dataset.where(document_type="main").partitions()] == [
        "data/v1/2026_01_01/main/", "data/v1/2026_01_02/main/",
    ]  # fmt: skip


def test_clear_errors(empty_registry):
    configure(empty_registry)
    with pytest.raises(UnknownSource, match="unknown source 'nope'"):
        Dataset.from_source("nope", registry=empty_registry)
    dataset = Dataset.from_source("s", registry=empty_registry)
    with pytest.raises(QueryError, match="has no dimension 'channel'"):
        dataset.where(channel="release")
    with pytest.raises(QueryError, match="only one clause for 'document_type'"):
        dataset.where(docType="main").where(document_type="main")
    with pytest.raises(QueryError, match="'app_update_channel' does not allow 'nightly'"):
        dataset.where(app_update_channel="nightly")
    with pytest.raises(QueryError, match="does not allow 'crash'"):
        dataset.where(document_type=["main", "crash"])
    with pytest.raises(QueryError, match="range"):
        dataset.where(app_version={"low": "1"})


def test_records_read_several_objects_in_parallel_in_listing_order(empty_registry):
    configure(empty_registry)
    write(empty_registry, [dict(MESSAGES[0], app_version=str(50 + i)) for i in range(12)])
    dataset = Dataset.from_source("s", registry=empty_registry)
    payloads = [m.payload for m in dataset.records(workers=3)]
    assert payloads == [f"payload {i}".encode() for i in range(12)]


# -- property: for any values, writer keys and where() agree, and no level can be escaped -----

VALUES = st.one_of(
    st.none(),
    st.sampled_from(["main", "release", "beta.1", "beta_1", "60", "99", "5", "..", ".", "OTHER"]),
    st.text(alphabet=st.sampled_from("ab./\\-_ 5é\n"), max_size=8),
)
MESSAGE = st.tuples(VALUES, VALUES, VALUES, VALUES)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(MESSAGE, min_size=1, max_size=5))
def test_writer_keys_and_where_round_trip_for_any_values(rows):
    with tempfile.TemporaryDirectory() as scratch:
        registry = Registry(LocalBucket(Path(scratch) / "metadata"), author="test")
        configure(registry)
        messages = []
        for row in rows:
            date, doc_type, channel, version = row
            attributes = {"submission_date": date} if date else {}
            attributes.update(
                {f: v for f, v in zip(FIELDS[1:], (doc_type, channel, version), strict=True) if v}
            )
            messages.append(attributes)
        names = write(registry, messages)
        for name in names:  # one level per dimension, under the prefix, whatever the values
            levels = name.split("/")
            assert levels[:2] == ["data", "v1"] and len(levels) == 2 + len(FIELDS) + 1
            assert all(level and level not in (".", "..") for level in levels)
        dataset = Dataset.from_source("s", registry=registry)
        for index, attributes in enumerate(messages):
            for field in FIELDS:
                level = expected_level(field, attributes.get(field))
                assert names[index].split("/")[2 + FIELDS.index(field)] == level
                query = attributes.get(field) if level not in (UNKNOWN, OTHER) else level
                selected = {o.name for o in dataset.where(**{field: query}).objects()}
                assert names[index] in selected
                assert all(n.split("/")[2 + FIELDS.index(field)] == level for n in selected)


@settings(max_examples=30, deadline=None)
@given(value=st.text(max_size=12))
def test_a_hostile_query_value_stays_inside_its_level(value):
    with tempfile.TemporaryDirectory() as scratch:
        registry = Registry(LocalBucket(Path(scratch) / "metadata"), author="test")
        configure(registry)
        write(registry, [MESSAGES[0]])
        try:
            selected = Dataset.from_source("s", registry=registry).where(submission_date=value)
        except QueryError:
            return  # refused: nothing listed
        for partition in selected.partitions():
            assert partition.prefix.startswith("data/v1/")
            assert partition.prefix.count("/") == 3
