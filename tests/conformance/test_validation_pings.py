"""mozilla-pipeline-schemas' 213 validation pings agree with their labels under both engines.

``validation/<namespace>/<docType>.<version>.<label>.{pass,fail}.json`` must validate (``pass``)
or fail (``fail``) against ``schemas/<namespace>/<docType>/<docType>.<version>.schema.json``
(the folder's README); ``glean/glean.1.*`` use the generic ``glean/glean/glean.1`` schema.
The label may itself contain dots, the docType never does (D-35, D-36, §7).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import GENERATED_SCHEMAS, PIPELINE_SCHEMAS, shared_path
from ingestion.core.errors import SchemaViolation
from ingestion.resources.schemas import SchemaStore
from ingestion.resources.validators import ENGINES, Validator, compile_schema

VALIDATION = PIPELINE_SCHEMAS / "validation"

EXPECTED_PINGS = 213


@dataclass(frozen=True)
class Ping:
    path: Path
    namespace: str
    doctype: str
    version: str
    should_pass: bool

    @classmethod
    def from_path(cls, path: Path) -> Ping:
        doctype, version, *_label, outcome, _json = path.name.split(".")
        assert outcome in ("pass", "fail"), path.name
        return cls(path, path.parent.name, doctype, version, outcome == "pass")

    def document(self) -> Any:
        return json.loads(self.path.read_bytes())


def pings() -> list[Ping]:
    for needed in (GENERATED_SCHEMAS, VALIDATION):
        shared_path(needed, "corpus unavailable")
    return [Ping.from_path(path) for path in sorted(VALIDATION.glob("*/*.json"))]


def validator_for(store: SchemaStore, ping: Ping) -> Validator:
    if not store.pipeline_metadata(ping.namespace, ping.doctype, ping.version):
        # metadata/* schemas are not decode targets (§10); the pings check the schema itself.
        schema = store.schema(ping.namespace, ping.doctype, ping.version)
        assert schema is not None, f"no schema for {ping.path.name}"
        return compile_schema(schema, store.engine)
    return store.validator(ping.namespace, ping.doctype, ping.version)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_validation_ping_agrees_with_its_label(engine: str) -> None:
    all_pings = pings()
    store = SchemaStore.from_path(GENERATED_SCHEMAS, engine=engine)
    disagreements: list[str] = []
    for ping in all_pings:
        try:
            validator_for(store, ping)(ping.document())
            outcome = "passed"
        except SchemaViolation as violation:
            outcome = f"failed: {violation}"
        if outcome.startswith("passed") != ping.should_pass:
            disagreements.append(f"{ping.namespace}/{ping.path.name} {outcome}")
    assert disagreements == []
    assert len(all_pings) == EXPECTED_PINGS
    assert sum(p.should_pass for p in all_pings) > 0 and sum(not p.should_pass for p in all_pings)


@pytest.mark.parametrize("engine", ENGINES)
def test_hgpush_empty_document_renders_like_everit(engine: str) -> None:
    # DecoderMainTest error-output.ndjson:
    # org.everit.json.schema.ValidationException: #: required key [changesetID] not found
    generated = shared_path(GENERATED_SCHEMAS, "corpus unavailable")
    store = SchemaStore.from_path(generated, engine=engine)
    with pytest.raises(SchemaViolation) as raised:
        store.validator("eng-workflow", "hgpush", "1")({})
    assert str(raised.value) == "#: required key [changesetID] not found"


def test_file_names_map_to_schemas() -> None:
    dotted = Ping.from_path(Path("telemetry/dnssec-study-v1.4.dnsresponses.pass.json"))
    assert (dotted.namespace, dotted.doctype, dotted.version, dotted.should_pass) == (
        "telemetry",
        "dnssec-study-v1",
        "4",
        True,
    )
    long_label = Ping.from_path(
        Path("firefox-accounts/amplitude-event.1.fxa-auth-server--fxa_login--success.pass.json")
    )
    assert (long_label.doctype, long_label.version) == ("amplitude-event", "1")
    assert not Ping.from_path(Path("glean/glean.1.null_timestamp.fail.json")).should_pass
