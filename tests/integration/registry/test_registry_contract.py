"""The registry's contract on both backends (a local directory, Cloud Storage on
fake-gcs-server): the historical documents parse; every change is a compare-and-swap that keeps
a history; concurrent changes cannot both win; rollback restores; the writer entry starts equal
to the consumer entry, moves on its own, and its version changes exactly when it or its schema
does."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from ingestion.registry import (
    InvalidDocument,
    Registry,
    RegistryConflict,
    UnknownRevision,
    UnknownSource,
)
from registry.documents_data import ERRORS_SCHEMA, HISTORICAL_SCHEMA, HISTORICAL_SOURCES


def dump(value) -> bytes:
    return json.dumps(value, indent=1).encode()


def place(registry: Registry, path: str, value) -> None:
    """Put a document where the historical tools put it, by hand, with no history."""
    name = f"{registry.root}/{path}" if registry.root else path
    registry.bucket.write(name, dump(value), if_generation=None)


@pytest.fixture
def historical(empty_registry: Registry) -> Registry:
    """A registry as found in a historical metadata bucket: documents, no history."""
    place(empty_registry, "sources.json", HISTORICAL_SOURCES)
    place(empty_registry, "telemetry-meta-2/schema.json", HISTORICAL_SCHEMA)
    place(empty_registry, "telemetry-errors-1/schema.json", ERRORS_SCHEMA)
    return empty_registry


def test_historical_documents_are_read_unchanged(historical):
    assert {name: e.to_json() for name, e in historical.sources().items()} == HISTORICAL_SOURCES
    assert historical.source("telemetry").prefix == "telemetry-2"
    schema = historical.schema("telemetry")
    assert [d.field_name for d in schema.dimensions()][:4] == [
        "submission_date", "document_namespace", "document_version", "document_type",
    ]  # fmt: skip
    assert historical.revision() == 0
    with pytest.raises(UnknownSource, match="unknown source 'nope'"):
        historical.source("nope")
    with pytest.raises(InvalidDocument, match="source name"):
        historical.source("../sources")


def test_a_change_keeps_the_document_as_found_and_extra_keys(historical):
    changed = {**HISTORICAL_SOURCES["telemetry-errors"], "prefix": "telemetry-errors-2"}
    revision = historical.put_source("telemetry-errors", changed, expected=0)
    assert revision == 2  # 1 is the document as found, recorded before the first change
    assert historical.source("telemetry-errors").to_json() == changed  # retention_days kept
    assert historical.source("telemetry").to_json() == HISTORICAL_SOURCES["telemetry"]
    history = historical.history("telemetry-errors")
    assert [change.revision for change in history] == [1, 2]
    assert history[0].entry == HISTORICAL_SOURCES["telemetry-errors"]
    assert history[1].author == "test"


def test_put_needs_the_revision_it_was_based_on(empty_registry):
    entry = HISTORICAL_SOURCES["telemetry"]
    assert empty_registry.put_source("telemetry", entry, expected=None) == 1
    with pytest.raises(RegistryConflict, match="already exists"):
        empty_registry.put_source("telemetry", entry, expected=None)
    second = empty_registry.put_source("telemetry", {**entry, "prefix": "t-3"}, expected=1)
    with pytest.raises(RegistryConflict, match="changed after revision 1"):
        empty_registry.put_source("telemetry", {**entry, "prefix": "t-4"}, expected=1)
    assert empty_registry.source("telemetry").prefix == "t-3"
    # A change to another source in between is no conflict.
    empty_registry.put_source("other", {**entry, "prefix": "o"}, expected=None)
    assert empty_registry.put_source("telemetry", entry, expected=second) == second + 2
    with pytest.raises(UnknownRevision):
        empty_registry.put_source("telemetry", entry, expected="latest")


def test_an_invalid_entry_is_refused_and_nothing_is_written(empty_registry):
    with pytest.raises(InvalidDocument, match="source 'telemetry': field 'bucket'"):
        empty_registry.put_source("telemetry", {"description": "x"}, expected=None)
    assert empty_registry.revision() == 0 and empty_registry.sources() == {}


@pytest.mark.parametrize("same_source", [True, False])
def test_concurrent_puts_one_wins_and_the_document_is_one_of_them_intact(
    empty_registry, same_source
):
    base = empty_registry.put_source("telemetry", HISTORICAL_SOURCES["telemetry"], expected=None)
    contenders = 6
    start = threading.Barrier(contenders)
    outcomes: dict[int, object] = {}

    def put(index: int) -> None:
        name = "telemetry" if same_source else f"source-{index}"
        entry = {**HISTORICAL_SOURCES["telemetry"], "prefix": f"new-{index}"}
        start.wait()
        try:
            outcomes[index] = empty_registry.put_source(
                name, entry, expected=base if same_source else None
            )
        except RegistryConflict as conflict:
            outcomes[index] = conflict

    threads = [threading.Thread(target=put, args=(i,)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [i for i, outcome in outcomes.items() if isinstance(outcome, int)]
    sources = empty_registry.sources()
    if same_source:
        assert len(won) == 1, outcomes
        assert all("changed after revision" in str(outcomes[i]) for i in outcomes if i not in won)
        assert sources["telemetry"].prefix == f"new-{won[0]}"
        assert empty_registry.revision() == base + 1
    else:  # changes to different sources never conflict: all are kept
        assert sorted(won) == list(range(contenders))
        assert {sources[f"source-{i}"].prefix for i in won} == {f"new-{i}" for i in won}
        assert empty_registry.revision() == base + contenders


def test_rollback_restores_and_is_itself_recorded(empty_registry):
    entry = HISTORICAL_SOURCES["telemetry"]
    empty_registry.put_source("telemetry", entry, expected=None)
    empty_registry.put_source("telemetry", {**entry, "prefix": "moved"}, expected=1)
    assert empty_registry.rollback("telemetry", to=1) == 3
    assert empty_registry.source("telemetry").to_json() == entry
    history = empty_registry.history("telemetry")
    assert [(c.revision, c.entry["prefix"]) for c in history] == [
        (1, "telemetry-2"), (2, "moved"), (3, "telemetry-2"),
    ]  # fmt: skip
    assert history[-1].reason == "rollback telemetry to 1"
    with pytest.raises(UnknownRevision):
        empty_registry.rollback("telemetry", to=99)


def test_which_prefix_was_live_at_a_time(empty_registry):
    entry = HISTORICAL_SOURCES["telemetry"]
    before = datetime.now(UTC) - timedelta(seconds=1)
    empty_registry.put_source("telemetry", entry, expected=None)
    between = datetime.now(UTC)
    empty_registry.put_source("telemetry", {**entry, "prefix": "moved"}, expected=1)
    assert empty_registry.live_at("telemetry", before) is None
    assert empty_registry.live_at("telemetry", between).prefix == "telemetry-2"
    assert empty_registry.live_at("telemetry", datetime.now(UTC)).prefix == "moved"


def test_the_writer_follows_the_consumer_entry_until_it_moves_on_its_own(historical):
    first = historical.writer("telemetry")
    assert (first.bucket, first.prefix) == ("pipeline-data-test", "telemetry-2")
    assert first.effective_from == datetime(1970, 1, 1, tzinfo=UTC)
    assert first.dimensions == historical.schema("telemetry").dimensions()
    assert historical.writer_version("telemetry") == first.version

    cutover = datetime(2026, 3, 1, 12, tzinfo=UTC)
    moved = {
        "bucket": "pipeline-data-test",
        "prefix": "telemetry-3",
        "metadata_prefix": "telemetry-meta-2",
        "effective_from": cutover.isoformat(),
    }
    assert historical.put_writer("telemetry", moved, expected=None) == 1
    second = historical.writer("telemetry")
    assert (second.prefix, second.effective_from) == ("telemetry-3", cutover)
    assert second.version != first.version
    assert historical.source("telemetry").prefix == "telemetry-2"  # readers did not move
    with pytest.raises(RegistryConflict):
        historical.put_writer("telemetry", moved, expected=None)

    # A change of another source leaves this writer's version alone; a schema change does not.
    historical.put_source("telemetry-errors", HISTORICAL_SOURCES["telemetry-errors"], expected=0)
    assert historical.writer_version("telemetry") == second.version
    historical.put_schema("telemetry-meta-2", {**HISTORICAL_SCHEMA, "version": 3}, expected=0)
    assert historical.writer_version("telemetry") != second.version
    assert [r.revision for r in historical.writer_history("telemetry")] == [1]


def test_writer_of_an_unknown_source_or_without_schema(empty_registry):
    with pytest.raises(UnknownSource):
        empty_registry.writer("telemetry")
    empty_registry.put_source("telemetry", HISTORICAL_SOURCES["telemetry"], expected=None)
    with pytest.raises(UnknownSource, match=r"schema\.json does not exist"):
        empty_registry.writer("telemetry")


def test_schemas_are_checked_and_versioned(empty_registry):
    with pytest.raises(InvalidDocument, match="allowed_values"):
        empty_registry.put_schema(
            "m", {"version": 1, "dimensions": [{"field_name": "a"}]}, expected=None
        )
    assert empty_registry.put_schema("m", ERRORS_SCHEMA, expected=None) == 1
    with pytest.raises(RegistryConflict):
        empty_registry.put_schema("m", ERRORS_SCHEMA, expected=None)
    assert empty_registry.put_schema("m", HISTORICAL_SCHEMA, expected=1) == 2
    with pytest.raises(InvalidDocument, match="keeps for itself"):
        empty_registry.put_schema("history", ERRORS_SCHEMA, expected=None)


def test_a_document_left_behind_by_a_crash_is_brought_up_to_date(empty_registry):
    """A writer that created its history record but died before copying it: the next change
    copies it, and nothing is lost."""
    from ingestion.registry.history import Record, VersionedDocument

    empty_registry.put_source("telemetry", HISTORICAL_SOURCES["telemetry"], expected=None)
    document = VersionedDocument(empty_registry.bucket, empty_registry.root, "sources.json")
    orphan = {**HISTORICAL_SOURCES, "telemetry": {**HISTORICAL_SOURCES["telemetry"], "prefix": "x"}}
    record = Record(2, datetime.now(UTC), "crashed", "died before publishing", None, orphan)
    empty_registry.bucket.write(document._record_name(2), record.to_json(), "0")
    assert empty_registry.source("telemetry").prefix == "telemetry-2"  # the copy is behind
    empty_registry.put_source("new", HISTORICAL_SOURCES["telemetry"], expected=None)
    assert empty_registry.source("telemetry").prefix == "x"
    assert set(empty_registry.sources()) == {"telemetry", "telemetry-errors", "new"}


def test_repair_brings_a_document_left_behind_up_to_date_without_a_change(empty_registry):
    """``repair`` (run first by every resumed migration step) copies the orphan record."""
    from ingestion.registry.history import Record, VersionedDocument

    empty_registry.put_source("telemetry", HISTORICAL_SOURCES["telemetry"], expected=None)
    document = VersionedDocument(empty_registry.bucket, empty_registry.root, "sources.json")
    orphan = {"telemetry": {**HISTORICAL_SOURCES["telemetry"], "prefix": "moved"}}
    record = Record(2, datetime.now(UTC), "crashed", "died before publishing", None, orphan)
    empty_registry.bucket.write(document._record_name(2), record.to_json(), "0")
    assert empty_registry.source("telemetry").prefix == "telemetry-2"  # the copy is behind
    empty_registry.repair()
    assert empty_registry.source("telemetry").prefix == "moved"
    assert empty_registry.revision() == 2  # repairing records nothing new
    empty_registry.repair()  # and is a no-op once up to date
    assert empty_registry.revision() == 2
    with pytest.raises(ValueError):
        empty_registry.repair("../outside.json")
