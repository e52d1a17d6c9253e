"""The scrub steps (D-15.1, D-32, §3.8): ``scrub_uri`` and ``scrub_payload`` run the rules.

The steps only hand the message to ``context.scrubber``; the rules themselves are tested in
``tests/resources/scrubber``. End to end, through ``pipeline.decode`` with the real
mozilla-pipeline-schemas: a docType a rule drops is dropped in every spelling that reaches its
schema, and a URI rule is not bypassed by spelling either.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from conftest import GENERATED_SCHEMAS, shared_path
from ingestion import pipeline
from ingestion.context import Context, ContextConfig, build_context
from ingestion.core.errors import MessageShouldBeDropped, UnwantedData
from ingestion.core.message import Message
from ingestion.resources.scrubber import ScrubberRules
from ingestion.steps.scrub import scrub_payload, scrub_uri
from resources.scrubber.helpers import (
    MAIN,
    _message,
    bundled_rules,  # noqa: F401 (the `rules` fixture)
)


def test_steps_use_the_context_scrubber(rules: ScrubberRules) -> None:
    context = Context(schemas=None, scrubber=rules, user_agents=None)  # type: ignore[arg-type]
    message = _message({"uri": "/submit/telemetry/x"})
    assert scrub_uri(message, context) is message
    with pytest.raises(UnwantedData, match=r"^1585144$"):
        scrub_uri(_message({"uri": "/submit/sslreports"}), context)
    document: dict[str, Any] = {"payload": {"slowSQL": {}, "x": 1}}
    attributes = {**MAIN, "app_version": "40.0"}
    assert scrub_payload(_message(attributes, document), context).document == {"payload": {"x": 1}}
    with pytest.raises(MessageShouldBeDropped) as dropped:
        scrub_payload(_message({"document_type": "account-ecosystem"}), context)
    assert dropped.value.bug == "1697602"


# --- End to end ---------------------------------------------------------------------------------
DOCUMENT_ID = "8f0c1d3e-7a62-4b8e-9d51-0c2f6a7b8e01"
# S14 drops pageload-domain pings; both namespaces have the docType in mozilla-pipeline-schemas.
PAGELOAD_DOMAIN = [
    "pageload-domain",
    "Pageload-Domain",
    "pageload_domain",
    "pageloadDomain",
    "PageloadDomain",
    "PAGELOAD_DOMAIN",
    "-pageload--domain_",
]


@pytest.fixture(scope="module", name="mps_context")
def mozilla_pipeline_schemas_context() -> Context:
    schemas = shared_path(GENERATED_SCHEMAS, "mozilla-pipeline-schemas unavailable")
    return build_context(ContextConfig(schemas_location=str(schemas)))


def _decode(
    context: Context,
    uri: str,
    # firefox-desktop pings must come from a Glean agent (S13).
    user_agent: str = "Glean/64.0.0 (Rust on Linux)",
) -> pipeline.Outcome:
    attributes = {
        "uri": uri,
        "submission_timestamp": "2026-11-20T10:15:30.123456Z",
        "user_agent": user_agent,
    }
    outcome = pipeline.Outcome()
    for message in pipeline.protect(Message(attributes, b"{}"), context).decoded:
        outcome.extend(pipeline.decode(message, context, include_stack_trace=False))
    return outcome


@pytest.mark.parametrize("namespace", ["org-mozilla-fenix", "Org-Mozilla-Fenix", "firefox_desktop"])
@pytest.mark.parametrize("doctype", [*PAGELOAD_DOMAIN, "pageload.domain"])
def test_a_dropped_doctype_is_dropped_in_every_spelling(
    mps_context: Context, namespace: str, doctype: str
) -> None:
    outcome = _decode(mps_context, f"/submit/{namespace}/{doctype}/1/{DOCUMENT_ID}")
    assert (outcome.decoded, outcome.errors, outcome.dropped) == ([], [], ["DENG-9045"])


@pytest.mark.parametrize("doctype", PAGELOAD_DOMAIN)
def test_without_the_rule_every_such_spelling_reaches_the_schema(
    mps_context: Context, doctype: str
) -> None:
    # What the rule has to catch: each of these spellings is decoded against the schema.
    rules = mps_context.scrubber
    without = ScrubberRules([rule for rule in rules.rules if rule.id != "S14"])
    context = dataclasses.replace(mps_context, scrubber=without)
    outcome = _decode(context, f"/submit/org-mozilla-fenix/{doctype}/1/{DOCUMENT_ID}")
    # Decoded, and named as the schema tree names it whatever the spelling.
    assert [m.attributes["document_type"] for m in outcome.decoded] == ["pageload-domain"]
    assert outcome.dropped == []


@pytest.mark.parametrize("namespace", ["firefox-desktop", "firefox_desktop", "FirefoxDesktop"])
def test_a_rejected_namespace_is_rejected_in_every_spelling(
    mps_context: Context, namespace: str
) -> None:
    outcome = _decode(mps_context, f"/submit/{namespace}/metrics/1/{DOCUMENT_ID}", "curl/8.0")
    (error,) = outcome.errors
    assert error.attributes["error_message"].endswith("UnwantedData: 1684980")


@pytest.mark.parametrize("doctype", ["pageload-domains", "page-load-domain", "pageloadDomains"])
def test_another_name_is_not_dropped(mps_context: Context, doctype: str) -> None:
    outcome = _decode(mps_context, f"/submit/org-mozilla-fenix/{doctype}/1/{DOCUMENT_ID}")
    assert outcome.dropped == [] and outcome.decoded == []
    (error,) = outcome.errors
    assert error.attributes["error_message"].endswith(
        f"No such docType: org-mozilla-fenix/{doctype}"
    )


@pytest.mark.parametrize(
    ("uri", "unwanted"),
    [
        ("/submit/sslreports", True),
        ("/submit/sslreports/", True),
        ("/submit/SSLReports", False),
        ("/submit/ssl_reports/", False),
        ("/submit/SSLREPORTS", False),
    ],
)
def test_the_uri_rule_is_not_bypassed_by_spelling(
    mps_context: Context, uri: str, unwanted: bool
) -> None:
    # U1 compares the URI itself, as the reference does: another spelling is not a URI that
    # ParseUri accepts (one path element where four are needed), so it is rejected all the same.
    outcome = _decode(mps_context, uri)
    assert outcome.decoded == [] and outcome.dropped == []
    (error,) = outcome.errors
    assert error.attributes["exception_class"].endswith(".UnwantedData") is unwanted
