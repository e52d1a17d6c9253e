"""The terraform binary, run without providers (skipped when it is not on PATH).

``terraform validate`` needs the google provider, which cannot be downloaded here. The module's
variables.tf and locals.tf read no resource, so on their own they init and apply offline: that
runs every variable validation and computes the function environment, which must then satisfy
``DecoderSettings.from_environ`` exactly as the function's cold start will. The examples are
evaluated against that provider-less copy of the module too.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from terraform_config import EXAMPLES, MODULE, TERRAFORM, Terraform, find_terraform

from ingestion.core.limits import MAX_PAYLOAD_BYTES
from ingestion.resources.schemas import PROJECT_SCHEMAS
from ingestion.settings import DecoderSettings, variables_for

# Outputs added to the provider-less copy of the module.
STUB_OUTPUTS = """
output "environment" { value = local.environment }
output "function_environment" { value = local.function_environment }
output "decoded_topic_names" { value = local.decoded_topic_names }
output "ack_deadline_seconds" { value = local.ack_deadline_seconds }
"""
MINIMAL: dict[str, Any] = {
    "project_id": "test-project",
    "region": "europe-west1",
    "topics": {"raw": "telemetry-raw"},
    "function_source": {"zip_path": "build/decoder-source.zip"},
}


@pytest.fixture(scope="module")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    return find_terraform(tmp_path_factory.mktemp("terraform-home"))


def _stub_module(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("variables.tf", "locals.tf"):
        shutil.copyfile(MODULE / name, target / name)
    (target / "outputs.tf").write_text(STUB_OUTPUTS)
    return target


@pytest.fixture(scope="module")
def module_sandbox(terraform: Terraform, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sandbox = _stub_module(tmp_path_factory.mktemp("module") / "decoder")
    initialised = terraform.run(sandbox, "init", "-input=false", "-no-color")
    assert initialised.returncode == 0, initialised.output
    return sandbox


def with_changes(**changes: Any) -> dict[str, Any]:
    """MINIMAL with ``changes``; a dict change is merged into the object variable it names."""
    variables: dict[str, Any] = {
        key: dict(value) if isinstance(value, dict) else value for key, value in MINIMAL.items()
    }
    for name, value in changes.items():
        current = variables.get(name)
        variables[name] = {**current, **value} if isinstance(current, dict) else value
    return variables


def settings_from(environment: dict[str, str]) -> DecoderSettings:
    assert set(environment) == {variable.name for variable in variables_for(DecoderSettings)}
    return DecoderSettings.from_environ(environment)


def test_terraform_files_are_formatted(terraform: Terraform) -> None:
    checked = terraform.run(TERRAFORM, "fmt", "-check", "-recursive", "-diff", "-no-color")
    assert checked.returncode == 0, f"run `terraform fmt -recursive terraform`: {checked.output}"


def test_default_environment_is_accepted_by_the_settings(
    terraform: Terraform, module_sandbox: Path
) -> None:
    outputs = terraform.outputs(module_sandbox, MINIMAL)
    settings = settings_from(outputs["environment"])
    assert settings.project == "test-project"
    assert settings.decoded_topic == "decoded"
    assert settings.error_topic == "decoder-errors"
    assert settings.debug_topic == ""
    assert settings.input_name == "projects/test-project/subscriptions/decoder-trigger"
    assert settings.schemas_location == str(PROJECT_SCHEMAS)  # "" selects the bundled schemas
    assert settings.geo_city_database == ""
    assert settings.dedup_backend == "firestore"
    assert settings.dedup_collection == "decoder-dedup"
    assert settings.dedup_window_seconds == 600
    assert settings.max_payload_bytes == MAX_PAYLOAD_BYTES
    assert settings.include_stack_trace is True
    assert settings.job_name == "decoder"
    assert outputs["decoded_topic_names"] == ["decoded"]
    assert outputs["ack_deadline_seconds"] == 60


@pytest.mark.parametrize("concurrency", [None, 16])
def test_the_function_runs_with_the_settings_alone(
    terraform: Terraform, module_sandbox: Path, concurrency: int | None
) -> None:
    variables = MINIMAL if concurrency is None else with_changes(service={"concurrency": 16})
    outputs = terraform.outputs(module_sandbox, variables)
    # An ASGI function: one event loop, no request threads (THREADS) to size.
    assert dict(outputs["function_environment"]) == outputs["environment"]


def test_bucket_objects_become_gs_locations(terraform: Terraform, module_sandbox: Path) -> None:
    variables = with_changes(
        name="dec",
        resources={
            "schemas": "schemas/schemas.tar.gz",
            "geo_city_database": "geoip/GeoIP2-City.mmdb",
            "geo_isp_database": "geoip/GeoIP2-ISP.mmdb",
            "geo_city_filter": "geoip/cities15000.txt",
            "scrubber_rules": "rules/scrubber.toml",
            "recheck_seconds": 60,
        },
    )
    settings = settings_from(terraform.outputs(module_sandbox, variables)["environment"])
    assert settings.schemas_location == "gs://test-project-dec-resources/schemas/schemas.tar.gz"
    assert settings.geo_city_database == "gs://test-project-dec-resources/geoip/GeoIP2-City.mmdb"
    assert settings.geo_isp_database == "gs://test-project-dec-resources/geoip/GeoIP2-ISP.mmdb"
    assert settings.geo_city_filter == "gs://test-project-dec-resources/geoip/cities15000.txt"
    assert settings.scrubber_rules == "gs://test-project-dec-resources/rules/scrubber.toml"
    assert settings.resource_recheck_seconds == 60
    assert settings.job_name == "dec"


def test_eventarc_mode_names_the_raw_topic_as_input(
    terraform: Terraform, module_sandbox: Path
) -> None:
    variables = with_changes(delivery={"mode": "eventarc"}, service={"timeout_seconds": 540})
    outputs = terraform.outputs(module_sandbox, variables)
    assert outputs["environment"]["INPUT_NAME"] == "projects/test-project/topics/telemetry-raw"
    assert outputs["ack_deadline_seconds"] == 540


def test_template_topics(terraform: Terraform, module_sandbox: Path) -> None:
    topics = {
        "decoded": "decoded-${document_namespace}-${document_type}",
        "decoded_topics": ["decoded-telemetry-main", "decoded-org-mozilla-fenix-baseline"],
        "debug": "decoder-debug",
    }
    outputs = terraform.outputs(module_sandbox, with_changes(topics=topics))
    settings = settings_from(outputs["environment"])
    # Terraform passes the placeholders through untouched.
    assert settings.decoded_topic == "decoded-${document_namespace}-${document_type}"
    assert settings.debug_topic == "decoder-debug"
    assert sorted(outputs["decoded_topic_names"]) == sorted(topics["decoded_topics"])


# (case, changes, fragment of the validation message)
REJECTED: list[tuple[str, dict[str, Any], str]] = [
    ("project number", {"project_id": "123456789012"}, "not a project number"),
    ("zone as region", {"region": "europe-west1-b"}, "must be a region"),
    ("long name", {"name": "decoder-with-a-long-name"}, "name must be 1-22"),
    (
        "template without topic list",
        {"topics": {"decoded": "d-${document_type}"}},
        "must list the topics a templated topics.decoded can produce",
    ),
    (
        "topic list without template",
        {"topics": {"decoded_topics": ["decoded-main"]}},
        "must be empty when topics.decoded is a plain name",
    ),
    (
        "listed topic outside the template",
        {"topics": {"decoded": "d-${document_type}", "decoded_topics": ["other-main"]}},
        "must match the topics.decoded template",
    ),
    (
        "a dot in the template is literal",
        {"topics": {"decoded": "d.x-${document_type}", "decoded_topics": ["dax-main"]}},
        "must match the topics.decoded template",
    ),
    ("duplicate topics", {"topics": {"error": "telemetry-raw"}}, "must all have different names"),
    ("reserved topic prefix", {"topics": {"error": "google-errors"}}, "not start with goog"),
    ("unknown mode", {"delivery": {"mode": "pull"}}, "push or eventarc"),
    ("too few attempts", {"delivery": {"max_delivery_attempts": 4}}, "from 5 to 100"),
    ("too many attempts", {"delivery": {"max_delivery_attempts": 101}}, "from 5 to 100"),
    ("backoff over 600 s", {"delivery": {"maximum_backoff": "601s"}}, "at most 600s"),
    (
        "backoff inverted",
        {"delivery": {"minimum_backoff": "60s", "maximum_backoff": "30s"}},
        "minimum <= maximum",
    ),
    ("retention over 7 days", {"delivery": {"dead_letter_retention": "700000s"}}, "7 days"),
    (
        "min above max",
        {"service": {"min_instances": 3, "max_instances": 2}},
        "min_instances <= max_instances",
    ),
    (
        "fractional CPU with concurrency",
        {"service": {"available_cpu": "0.5"}},
        'at least "1" when concurrency',
    ),
    ("timeout over 540 s", {"service": {"timeout_seconds": 600}}, "from 1 to 540"),
    ("unknown ingress", {"service": {"ingress_settings": "INTERNAL"}}, "ALLOW_INTERNAL_ONLY"),
    (
        "unknown engine",
        {"decoder": {"validation_engine": "jsonschema"}},
        "jsonschema-rs or fastjsonschema",
    ),
    ("unknown dedup backend", {"decoder": {"dedup_backend": "redis"}}, "firestore, memory or off"),
    ("unknown compression", {"decoder": {"output_compression": "zstd"}}, "gzip or none"),
    ("fractional payload limit", {"decoder": {"max_payload_bytes": 1.5}}, "positive whole number"),
    (
        "database without location",
        {"firestore": {"create_database": True}},
        "firestore.location is required",
    ),
    ("dotted TTL field", {"firestore": {"ttl_field": "meta.expire_at"}}, "simple identifiers"),
    (
        "TTL field listed as unindexed",
        {"firestore": {"unindexed_fields": ["uri", "expire_at"]}},
        "the TTL field is not listed in unindexed_fields",
    ),
    (
        "gs:// object name",
        {"resources": {"schemas": "gs://bucket/schemas.tar.gz"}},
        "relative to the bucket",
    ),
    (
        "two sources",
        {"function_source": {"zip_path": "a.zip", "bucket": "b", "object": "o"}},
        "either zip_path or both bucket and object",
    ),
]


@pytest.mark.parametrize(
    ("case", "changes", "message"), REJECTED, ids=[case for case, _, _ in REJECTED]
)
def test_invalid_inputs_are_rejected(
    terraform: Terraform, module_sandbox: Path, case: str, changes: dict[str, Any], message: str
) -> None:
    (module_sandbox / "test.auto.tfvars.json").write_text(json.dumps(with_changes(**changes)))
    planned = terraform.run(module_sandbox, "plan", "-input=false", "-no-color")
    assert planned.returncode != 0, f"{case}: accepted"
    assert "Invalid value for variable" in planned.output, planned.output
    assert message in planned.output, planned.output


def test_a_prebuilt_source_object_is_accepted(terraform: Terraform, module_sandbox: Path) -> None:
    variables = with_changes(function_source={"bucket": "artifacts", "object": "decoder.zip"})
    variables["function_source"].pop("zip_path")
    assert terraform.outputs(module_sandbox, variables)["environment"]["JOB_NAME"] == "decoder"


# --- the examples, against the provider-less module ----------------------------------------------


def _provider_less(main_tf: str) -> str:
    # A provider block would make init download the provider.
    stripped, count = re.subn(r'provider "google" \{.*?\n\}\n', "", main_tf, flags=re.DOTALL)
    assert count == 1, "expected one provider block"
    return stripped


@pytest.mark.parametrize(
    "example", sorted(path.name for path in EXAMPLES.iterdir() if path.is_dir())
)
def test_example_passes_the_module_validations(
    terraform: Terraform, tmp_path: Path, example: str
) -> None:
    _stub_module(tmp_path / "modules" / "decoder")
    directory = tmp_path / "examples" / example
    directory.mkdir(parents=True)
    source = EXAMPLES / example
    (directory / "main.tf").write_text(_provider_less((source / "main.tf").read_text()))
    shutil.copyfile(source / "variables.tf", directory / "variables.tf")
    (directory / "outputs.tf").write_text(
        'output "environment" { value = module.decoder.environment }\n'
        'output "decoded_topic_names" { value = module.decoder.decoded_topic_names }\n'
    )
    initialised = terraform.run(directory, "init", "-input=false", "-no-color")
    assert initialised.returncode == 0, initialised.output
    outputs = terraform.outputs(directory, {"project_id": "test-project", "environment": "prod"})
    settings = settings_from(outputs["environment"])
    assert settings.project == "test-project"
    assert settings.job_name == "decoder-prod"
    assert settings.input_name == "projects/test-project/subscriptions/decoder-prod-trigger"
    topics = outputs["decoded_topic_names"]
    if "${" in settings.decoded_topic:
        assert len(topics) > 1
        assert all(topic.startswith("decoded-prod-") for topic in topics)
    else:
        assert topics == [settings.decoded_topic]
