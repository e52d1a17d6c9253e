"""Structure of terraform/modules/decoder and its examples, read with python-hcl2.

What a wrong value here would break in production: the runtime and entry point the function is
built with, the environment the settings parser reads at cold start, the retry and dead-letter
path of the trigger, the grants the Pub/Sub service agent needs to dead-letter, the TTL policy of
the dedup collection, and least privilege for the function's own account.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from terraform_config import (
    EXAMPLES,
    MODULE,
    REPO,
    TERRAFORM,
    Config,
    decoder_module,
    example_configs,
    load_hcl,
    only,
    optional_defaults,
)

from ingestion.settings import DecoderSettings, variables_for

TF_FILES = sorted(path for path in TERRAFORM.rglob("*.tf") if ".terraform" not in path.parts)
MAIN_PY = REPO / "functions" / "decoder" / "main.py"
# The decoder function's variables (the loader's are checked by test_loader_module.py).
SETTINGS_DEFAULTS = {variable.name: variable.default for variable in variables_for(DecoderSettings)}
RUNTIME_MEMBER = "serviceAccount:${google_service_account.runtime.email}"
INVOKER_MEMBER = "serviceAccount:${google_service_account.invoker.email}"
SERVICE_AGENT = "${local.pubsub_service_agent}"


@pytest.fixture(scope="module")
def module() -> Config:
    return decoder_module()


@pytest.fixture(scope="module")
def examples() -> dict[str, Config]:
    return example_configs()


def dynamic_block(body: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in body.get("dynamic", []):
        if name in entry:
            block: dict[str, Any] = entry[name]
            return block
    raise AssertionError(f"no dynamic {name!r} block")


def iam_members(config: Config) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (kind, name, body)
        for kind, name, body in config.all_resources()
        if kind.endswith("_iam_member")
    ]


@pytest.mark.parametrize("path", TF_FILES, ids=lambda path: str(path.relative_to(TERRAFORM)))
def test_every_file_parses(path: Path) -> None:
    parsed = load_hcl(path)
    assert parsed, f"{path} is empty"


def test_the_module_has_one_file_per_concern() -> None:
    names = {path.name for path in MODULE.glob("*.tf")}
    assert {"variables.tf", "locals.tf", "outputs.tf", "versions.tf", "function.tf"} <= names
    assert {"pubsub.tf", "iam.tf", "firestore.tf", "storage.tf"} <= names


# --- the function ------------------------------------------------------------------------------


def test_function_is_python311_with_entry_point_decode(module: Config) -> None:
    function = module.resources("google_cloudfunctions2_function")["decoder"]
    build = only(function["build_config"])
    assert build["runtime"] == "python311"
    assert build["entry_point"] == "decode"
    storage = only(only(build["source"])["storage_source"])
    assert storage["bucket"] == "${local.source_bucket}"
    assert storage["object"] == "${local.source_object}"


def test_entry_point_exists_in_main_py() -> None:
    if not MAIN_PY.exists():
        pytest.skip(f"{MAIN_PY.relative_to(REPO)} not written yet")
    tree = ast.parse(MAIN_PY.read_text(encoding="utf-8"))
    functions = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert "decode" in functions, "the Terraform entry point `decode` is not defined in main.py"


def test_function_runs_as_its_own_account_with_the_environment(module: Config) -> None:
    service = only(module.resources("google_cloudfunctions2_function")["decoder"]["service_config"])
    assert service["service_account_email"] == "${google_service_account.runtime.email}"
    assert service["environment_variables"] == "${local.function_environment}"
    assert service["min_instance_count"] == "${var.service.min_instances}"
    assert service["max_instance_count"] == "${var.service.max_instances}"
    assert service["max_instance_request_concurrency"] == "${var.service.concurrency}"


def test_service_limits_are_typed_with_defaults(module: Config) -> None:
    service = module.variables["service"]
    defaults = optional_defaults(service["type"])
    assert defaults["min_instances"] == "0"
    # "Cloud Run functions require a defined maximum instances limit."
    assert int(defaults["max_instances"]) >= 1
    assert int(defaults["concurrency"]) >= 1
    assert int(defaults["timeout_seconds"]) <= 540


# --- environment -------------------------------------------------------------------------------


def test_environment_names_are_the_settings_names(module: Config) -> None:
    environment = module.locals["environment"]
    unknown = set(environment) - set(SETTINGS_DEFAULTS)
    assert not unknown, f"set in Terraform but unknown to ingestion.settings: {sorted(unknown)}"
    required = {name for name, default in SETTINGS_DEFAULTS.items() if default is None}
    assert required <= set(environment), (
        f"required and not set: {sorted(required - set(environment))}"
    )
    # The deployment states every setting, so a new one in settings.py must be wired here too.
    assert set(environment) == set(SETTINGS_DEFAULTS), sorted(
        set(SETTINGS_DEFAULTS) - set(environment)
    )


def _variable_default(module: Config, expression: str) -> str | None:
    """The Terraform default literal behind a pass-through ``${var.x}``/``${var.x.y}``
    (optionally wrapped in tostring), or None for anything computed."""
    match = re.fullmatch(r"\$\{(?:tostring\()?var\.(\w+)(?:\.(\w+))?\)?\}", expression)
    if match is None:
        return None
    variable = module.variables[match.group(1)]
    if match.group(2) is None:
        default = variable.get("default")
        return None if default is None else str(default)
    return optional_defaults(variable["type"]).get(match.group(2))


def _same(terraform_literal: str, settings_default: str) -> bool:
    value = terraform_literal.strip('"')
    if value in ("true", "false"):
        return value == settings_default.lower()
    try:
        return float(value) == float(settings_default)
    except ValueError:
        return value == settings_default


def test_terraform_defaults_match_the_settings_defaults(module: Config) -> None:
    compared = []
    for name, expression in module.locals["environment"].items():
        literal = _variable_default(module, expression)
        settings_default = SETTINGS_DEFAULTS[name]
        if literal is None or settings_default is None:
            continue
        assert _same(literal, settings_default), (
            f"{name}: Terraform default {literal} != settings default {settings_default!r}"
        )
        compared.append(name)
    # Most settings are plain pass-throughs of a typed default; make sure they were all seen.
    assert len(compared) >= 17, compared


# --- trigger, retries and dead letters -----------------------------------------------------------


def test_push_trigger_retries_and_dead_letters(module: Config) -> None:
    trigger = module.resources("google_pubsub_subscription")["trigger"]
    assert trigger["topic"] == "${local.raw_topic_id}"
    push = only(trigger["push_config"])
    assert push["push_endpoint"] == (
        "${google_cloudfunctions2_function.decoder.service_config[0].uri}"
    )
    oidc = only(push["oidc_token"])
    assert oidc["service_account_email"] == "${google_service_account.invoker.email}"
    retry = only(trigger["retry_policy"])
    assert retry == {
        "minimum_backoff": "${var.delivery.minimum_backoff}",
        "maximum_backoff": "${var.delivery.maximum_backoff}",
    }
    dead_letter = only(trigger["dead_letter_policy"])
    assert dead_letter["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert dead_letter["max_delivery_attempts"] == "${var.delivery.max_delivery_attempts}"
    assert only(trigger["expiration_policy"])["ttl"] == ""
    # Dead-lettering must work from the first message on.
    assert "${google_pubsub_topic_iam_member.dead_letter_publisher}" in trigger["depends_on"]


def test_delivery_defaults(module: Config) -> None:
    defaults = optional_defaults(module.variables["delivery"]["type"])
    assert defaults["mode"] == '"push"'
    assert defaults["max_delivery_attempts"] == "5"
    assert defaults["minimum_backoff"] == '"10s"'
    assert defaults["maximum_backoff"] == '"600s"'


def test_eventarc_mode_uses_retry_policy_retry(module: Config) -> None:
    function = module.resources("google_cloudfunctions2_function")["decoder"]
    trigger = dynamic_block(function, "event_trigger")
    content = only(trigger["content"])
    assert content["retry_policy"] == "RETRY_POLICY_RETRY"
    assert content["event_type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert content["service_account_email"] == "${google_service_account.invoker.email}"


def test_dead_letter_topic_has_an_inspection_subscription(module: Config) -> None:
    subscription = module.resources("google_pubsub_subscription")["dead_letter"]
    assert subscription["topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert "push_config" not in subscription, "the inspection subscription is for pulling"
    assert only(subscription["expiration_policy"])["ttl"] == ""


def test_pubsub_service_agent_can_dead_letter(module: Config) -> None:
    agent = module.locals["pubsub_service_agent"]
    assert agent == (
        "serviceAccount:service-${data.google_project.this.number}"
        "@gcp-sa-pubsub.iam.gserviceaccount.com"
    )
    grants = {
        (kind, body["role"], body.get("topic") or body.get("subscription"))
        for kind, _, body in iam_members(module)
        if body.get("member") == SERVICE_AGENT
    }
    assert (
        "google_pubsub_topic_iam_member",
        "roles/pubsub.publisher",
        "${google_pubsub_topic.dead_letter.name}",
    ) in grants
    assert (
        "google_pubsub_subscription_iam_member",
        "roles/pubsub.subscriber",
        "${google_pubsub_subscription.trigger[0].name}",
    ) in grants


def test_pubsub_service_agent_can_mint_the_push_token(module: Config) -> None:
    grant = module.resources("google_service_account_iam_member")["pubsub_mints_invoker_tokens"]
    assert grant["service_account_id"] == "${google_service_account.invoker.name}"
    assert grant["role"] == "roles/iam.serviceAccountTokenCreator"
    assert grant["member"] == SERVICE_AGENT


def test_invoker_may_only_invoke(module: Config) -> None:
    roles = {
        (kind, body["role"])
        for kind, _, body in iam_members(module)
        if body.get("member") == INVOKER_MEMBER
    }
    assert roles == {
        ("google_cloud_run_service_iam_member", "roles/run.invoker"),
        ("google_project_iam_member", "roles/eventarc.eventReceiver"),
    }
    invoker = module.resources("google_cloud_run_service_iam_member")["invoker"]
    assert invoker["service"] == "${google_cloudfunctions2_function.decoder.name}"


# --- least privilege of the function -------------------------------------------------------------


def test_runtime_account_has_least_privilege(module: Config) -> None:
    grants = {
        (kind, body["role"])
        for kind, _, body in iam_members(module)
        if body.get("member") == RUNTIME_MEMBER
    }
    assert grants == {
        ("google_pubsub_topic_iam_member", "roles/pubsub.publisher"),
        ("google_project_iam_member", "roles/datastore.user"),
        ("google_storage_bucket_iam_member", "roles/storage.objectViewer"),
    }


def test_runtime_publishes_only_to_its_output_topics(module: Config) -> None:
    publisher = module.resources("google_pubsub_topic_iam_member")["runtime_publisher"]
    assert publisher["for_each"] == "${local.output_topics}"
    output_topics = module.locals["output_topics"]
    for topic in (
        "google_pubsub_topic.decoded",
        "google_pubsub_topic.error",
        "google_pubsub_topic.debug",
    ):
        assert topic in output_topics
    assert "raw" not in output_topics and "dead_letter" not in output_topics


def test_no_broad_roles(module: Config) -> None:
    for _, name, body in iam_members(module):
        role = body["role"]
        assert role not in ("roles/owner", "roles/editor", "roles/viewer"), name
        assert not role.endswith(("admin", "Admin")), f"{name}: {role}"


def test_resources_bucket_is_versioned_and_private(module: Config) -> None:
    bucket = module.resources("google_storage_bucket")["resources"]
    assert only(bucket["versioning"]) == {"enabled": True}
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    conditions = [only(rule["condition"]) for rule in bucket["lifecycle_rule"]]
    assert all(only(rule["action"]) == {"type": "Delete"} for rule in bucket["lifecycle_rule"])
    # Only noncurrent generations are ever deleted, by count and by age.
    assert all(condition["with_state"] == "ARCHIVED" for condition in conditions)
    assert {key for condition in conditions for key in condition} == {
        "with_state",
        "num_newer_versions",
        "days_since_noncurrent_time",
    }
    viewer = module.resources("google_storage_bucket_iam_member")["runtime_reads_resources"]
    assert viewer["bucket"] == "${google_storage_bucket.resources.name}"


# --- Firestore TTL -----------------------------------------------------------------------------


def test_dedup_collection_has_a_ttl_policy_without_indexes(module: Config) -> None:
    field = module.resources("google_firestore_field")["dedup_expiry"]
    assert field["collection"] == "${var.firestore.collection}"
    assert field["field"] == "${var.firestore.ttl_field}"
    assert field["database"] == "${var.firestore.database}"
    assert field["ttl_config"] == [{}]
    # An empty index_config exempts the field from single-field indexing.
    assert field["index_config"] == [{}]
    defaults = optional_defaults(module.variables["firestore"]["type"])
    assert (
        defaults["collection"] == '"decoder-dedup"' == f'"{SETTINGS_DEFAULTS["DEDUP_COLLECTION"]}"'
    )
    assert defaults["ttl_field"] == '"expire_at"'
    assert defaults["database"] == f'"{SETTINGS_DEFAULTS["DEDUP_DATABASE"]}"'


def test_other_dedup_fields_are_not_indexed(module: Config) -> None:
    field = module.resources("google_firestore_field")["dedup_unindexed"]
    assert field["for_each"] == (
        "${local.use_firestore ? toset(var.firestore.unindexed_fields) : toset([])}"
    )
    assert field["collection"] == "${var.firestore.collection}"
    assert field["index_config"] == [{}]
    assert "ttl_config" not in field


def test_firestore_fields_are_the_ones_the_dedup_store_writes(module: Config) -> None:
    firestore_dedup = pytest.importorskip("ingestion.adapters.firestore_dedup")
    defaults = optional_defaults(module.variables["firestore"]["type"])
    assert defaults["ttl_field"] == f'"{firestore_dedup.EXPIRE_AT_FIELD}"'
    assert defaults["unindexed_fields"] == f'["{firestore_dedup.URI_FIELD}"]'
    assert defaults["collection"] == f'"{firestore_dedup.DEFAULT_COLLECTION}"'


# --- variables, outputs, examples --------------------------------------------------------------


def _configs(module: Config, examples: dict[str, Config]) -> list[Config]:
    return [module, *examples.values()]


def test_variables_have_descriptions_types_and_checked_validations(
    module: Config, examples: dict[str, Config]
) -> None:
    for config in _configs(module, examples):
        for name, variable in config.variables.items():
            where = f"{config.path.relative_to(REPO)}: variable {name}"
            assert variable.get("description", "").strip(), f"{where} has no description"
            assert variable.get("type"), f"{where} has no type"
            for validation in variable.get("validation", []):
                assert validation.get("condition"), where
                assert validation.get("error_message", "").strip(), where


def test_module_object_variables_are_optional_where_possible(module: Config) -> None:
    required = {name for name, variable in module.variables.items() if "default" not in variable}
    assert required == {"project_id", "region", "topics", "function_source"}
    for name in ("delivery", "service", "decoder", "firestore", "resources"):
        variable = module.variables[name]
        assert variable["type"].startswith("${object("), name
        assert variable["default"] == {}, name
        assert optional_defaults(variable["type"]), f"{name} has no optional() defaults"


def test_outputs_are_described(module: Config, examples: dict[str, Config]) -> None:
    for config in _configs(module, examples):
        for name, output in config.outputs.items():
            assert output.get("description", "").strip(), f"{config.path}: output {name}"
    assert {
        "raw_topic_id",
        "decoded_topic_ids",
        "error_topic_id",
        "debug_topic_id",
        "dead_letter_topic_id",
        "function_uri",
        "service_account_email",
    } <= set(module.outputs)


def test_examples_call_the_module_with_known_arguments(
    module: Config, examples: dict[str, Config]
) -> None:
    assert {"single-topic", "per-doctype-topics"} <= set(examples)
    required = {name for name, variable in module.variables.items() if "default" not in variable}
    for name, example in examples.items():
        call = example.modules["decoder"]
        assert call["source"] == "../../modules/decoder", name
        arguments = set(call) - {"source", "depends_on", "providers", "count", "for_each"}
        assert arguments <= set(module.variables), f"{name}: {arguments - set(module.variables)}"
        assert required <= arguments, f"{name} misses {required - arguments}"
        # cloudbuild.yaml deploys any example with the same four variables.
        assert set(example.variables) == {"project_id", "region", "environment", "source_zip"}
        assert (EXAMPLES / name / "README.md").exists(), f"{name} has no README.md"


def test_examples_differ_in_decoded_topics(examples: dict[str, Config]) -> None:
    single = examples["single-topic"].modules["decoder"]["topics"]
    assert "${document" not in single["decoded"] and "decoded_topics" not in single
    per_doctype = examples["per-doctype-topics"].modules["decoder"]["topics"]
    # $${...} is HCL for a literal ${...}: the placeholders reach the function unevaluated.
    assert "$${document_namespace}" in per_doctype["decoded"]
    assert "$${document_type}" in per_doctype["decoded"]
    assert per_doctype["decoded_topics"]
