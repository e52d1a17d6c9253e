"""Step 5, ``verify``: every record of the old location is in the new one.

Both locations are read whole (``Dataset.records``) over the whole period. Records are grouped
by the dimensions the two layouts share with the same allowed values (every dimension, when the
layout did not change; the day and whatever else is common when it did), the levels computed
from each record's attributes with the one key builder, so a group means the same in both.
Per group: records and distinct document ids on each side, and the ids of the old side missing
from the new. Duplicates are allowed (the backfills and the gap overlap live traffic: at least
once); a missing record is not: more than ``tolerance`` of them fails the step, which blocks
``publish`` and prints the groups that differ.

Also recorded: the errors the backfills produced, by ``error_type``, and the records stored
under the errors location. Memory: one 12-byte digest per distinct document per side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core.partitions import Dimension, levels
from ..registry import Dataset
from ..registry.documents import parse_schema
from .errors import VerificationFailed
from .machine import ACTIVE, DONE, FAILED, iso
from .outcome import Outcome
from .records import Document

if TYPE_CHECKING:
    from .workflow import Workflow

MAX_RECORDED_GROUPS = 500
MAX_PRINTED_GROUPS = 20


def common_dimensions(old: Sequence[Dimension], new: Sequence[Dimension]) -> list[Dimension]:
    """The new layout's dimensions that the old one has with the same allowed values."""
    return [dimension for dimension in new if dimension in old]


def dataset(w: Workflow, place: dict[str, Any], schema: dict[str, Any], name: str) -> Dataset:
    dimensions = parse_schema(name, schema, "migration state").dimensions()
    bucket = w.registry.data_bucket(place["bucket"])
    return Dataset(name, place["bucket"], bucket, place["prefix"], dimensions)


class Tally:
    """Records and distinct document ids per group."""

    def __init__(self, dimensions: Sequence[Dimension]) -> None:
        self.dimensions = list(dimensions)
        self.records: dict[str, int] = {}
        self.ids: dict[str, set[bytes]] = {}

    def group(self, attributes: dict[str, str]) -> str:
        values = levels(self.dimensions, attributes)
        pairs = [f"{d.field_name}={v}" for d, v in zip(self.dimensions, values, strict=True)]
        return "/".join(pairs) or "(all)"

    def add(self, attributes: dict[str, str], payload: bytes) -> None:
        key = self.group(attributes)
        identity = attributes.get("document_id")
        digest = hashlib.blake2b(
            identity.encode() if identity else payload + repr(sorted(attributes.items())).encode(),
            digest_size=12,
        ).digest()
        self.records[key] = self.records.get(key, 0) + 1
        self.ids.setdefault(key, set()).add(digest)

    def read(self, data: Dataset) -> Tally:
        for message in data.records():
            self.add(message.attributes, message.payload)
        return self


def compare(old: Tally, new: Tally) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(set(old.records) | set(new.records)):
        old_ids, new_ids = old.ids.get(key, set()), new.ids.get(key, set())
        rows.append(
            {
                "partition": key,
                "old_records": old.records.get(key, 0),
                "old_documents": len(old_ids),
                "new_records": new.records.get(key, 0),
                "new_documents": len(new_ids),
                "missing": len(old_ids - new_ids),
            }
        )
    return rows


def verify(w: Workflow, migration_id: str, *, dry_run: bool = False) -> Outcome:
    document = w.read(migration_id)
    recorded = w.machine.step(document, "verify")
    if document["status"] != ACTIVE and recorded.get("state") == DONE:
        return Outcome("verify", [f"{migration_id}: verified at {recorded['at']}"], recorded)
    w.machine.require(document, "verify")
    source = document["source"]
    old = dataset(w, document["from"], document["from"]["schema"], source)
    new = dataset(w, document["to"], document["to"]["schema"], source)
    errors = dataset(w, document["errors_to"], _errors_schema(), f"{source} errors")
    common = common_dimensions(old.dimensions, new.dimensions)
    by = "/".join(d.field_name for d in common) or "nothing (one group)"
    if dry_run:
        lines = [f"would compare {old!r} with {new!r}, grouped by {by}:"]
        for data in (old, new, errors):
            found = list(data.objects())
            lines.append(
                f"  read gs://{data.bucket_name}/{data.prefix}: {len(found)} objects, "
                f"{sum(item.size for item in found)} bytes"
            )
        return Outcome("verify", lines, {}, True)
    w.machine.begin(migration_id, "verify", {"at": iso(w.clock())}, replace=True)
    rows = compare(Tally(common).read(old), Tally(common).read(new))
    stored_errors = Tally([d for d in errors.dimensions if d.field_name == "error_type"])
    stored_errors.read(errors)
    missing = sum(row["missing"] for row in rows)
    differing = [row for row in rows if row["missing"]]
    tolerance = w.options.tolerance
    passed = missing <= tolerance
    result = {
        "at": iso(w.clock()),
        "passed": passed,
        "grouped_by": [d.field_name for d in common],
        "tolerance": tolerance,
        "totals": {
            key: sum(row[key] for row in rows)
            for key in ("old_records", "old_documents", "new_records", "new_documents", "missing")
        },
        "partitions": rows[:MAX_RECORDED_GROUPS],
        "partitions_total": len(rows),
        "differing": differing[:MAX_RECORDED_GROUPS],
        "errors": {
            "stored": stored_errors.records,
            "backfill_error_types": _backfill_errors(w, document),
        },
    }
    done = w.machine.finish(migration_id, "verify", result, state=DONE if passed else FAILED)
    lines = [
        f"{migration_id}: old {result['totals']['old_records']} records "
        f"({result['totals']['old_documents']} documents), new "
        f"{result['totals']['new_records']} ({result['totals']['new_documents']}), grouped by "
        f"{by}; missing {missing} (tolerance {tolerance})",
        *_table(differing[:MAX_PRINTED_GROUPS] if differing else rows[:MAX_PRINTED_GROUPS]),
    ]
    if not passed:
        raise VerificationFailed(
            "\n".join(
                [
                    *lines,
                    f"{len(differing)} partitions differ: publish is blocked. Backfill their "
                    f"window again (`ingestion migrate backfill {migration_id} --redo` or "
                    f"`fill-gap {migration_id} --redo`), then verify again",
                ]
            )
        )
    return Outcome("verify", [*lines, "verified: publish may go ahead"], done)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["  partition: old records/documents -> new records/documents, missing"]
    for row in rows:
        out.append(
            f"  {row['partition']}: {row['old_records']}/{row['old_documents']} -> "
            f"{row['new_records']}/{row['new_documents']}, missing {row['missing']}"
        )
    return out


def _backfill_errors(w: Workflow, document: Document) -> dict[str, int]:
    totals: dict[str, int] = {}
    for name in ("backfill", "fill-gap"):
        for run in w.machine.step(document, name).get("runs") or []:
            for kind, count in ((run.get("counts") or {}).get("error_types") or {}).items():
                totals[kind] = totals.get(kind, 0) + int(count)
    return dict(sorted(totals.items()))


def _errors_schema() -> dict[str, Any]:
    from .reserve import ERRORS_SCHEMA

    return ERRORS_SCHEMA
