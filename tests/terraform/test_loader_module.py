"""Structure of terraform/modules/loader, read with python-hcl2, and its variables and locals
evaluated by a provider-less terraform when one is on PATH.

What a wrong value here would break in production: the entry point the functions are built with,
the environment ``LoaderSettings`` reads at cold start, the retry and dead-letter path of every
push subscription, and least privilege (a loader may only create objects in its own bucket and
read the registry; the raw bucket, which keeps IPs, is nobody else's).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from terraform_config import (
    REPO,
    TERRAFORM,
    Config,
    find_terraform,
    load_config,
    only,
    optional_defaults,
)

from ingestion.settings import ENVIRONMENT, LoaderSettings, variables_for

MODULE = TERRAFORM / "modules" / "loader"
MAIN_PY = REPO / "functions" / "loader" / "main.py"
RUNTIME = "serviceAccount:${google_service_account.runtime[each.key].email}"
MINIMAL: dict[str, Any] = {
    "project_id": "test-project",
    "region": "europe-west1",
    "streams": {
        "decoded": {"topic": "decoded", "source": "telemetry"},
        "errors": {"topic": "decoder-errors", "source": "telemetry-errors"},
    },
    "function_source": {"bucket": "src-bucket", "object": "loader-source.zip"},
}


@pytest.fixture(scope="module")
def module() -> Config:
    return load_config(MODULE)


def test_the_module_has_one_file_per_concern() -> None:
    names = {path.name for path in MODULE.glob("*.tf")}
    assert names == {
        "main.tf", "variables.tf", "locals.tf", "outputs.tf", "versions.tf",
        "function.tf", "pubsub.tf", "iam.tf", "storage.tf",
    }  # fmt: skip


def test_functions_are_python311_with_the_entry_point_load(module: Config) -> None:
    function = module.resources("google_cloudfunctions2_function")["loader"]
    build = only(function["build_config"])
    assert build["runtime"] == "python311" and build["entry_point"] == "load"
    assert function["for_each"] == "${local.streams}"
    tree = ast.parse(MAIN_PY.read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.AsyncFunctionDef)}
    assert "load" in defined
    service = only(function["service_config"])
    assert service["environment_variables"] == "${local.environments[each.key]}"
    assert service["service_account_email"] == "${google_service_account.runtime[each.key].email}"


def test_environment_names_are_loader_settings_and_defaults_agree(module: Config) -> None:
    environments = module.locals["environments"]
    names = set(re.findall(r"\b([A-Z][A-Z_]+) = ", environments))
    loader_names = {variable.name for variable in variables_for(LoaderSettings)}
    assert {"LOADER_SOURCE", "METADATA_LOCATION", "GOOGLE_CLOUD_PROJECT"} <= names
    assert names <= loader_names, names - loader_names
    assert {name for name in loader_names if name.startswith("LOADER_")} <= names
    defaults = optional_defaults(module.variables["flush"]["type"])
    by_name = {variable.name: variable.default for variable in ENVIRONMENT}
    for option, variable in {
        "messages": "LOADER_FLUSH_MESSAGES",
        "bytes": "LOADER_FLUSH_BYTES",
        "seconds": "LOADER_FLUSH_SECONDS",
        "max_queued_bytes": "LOADER_MAX_QUEUED_BYTES",
        "recheck_seconds": "LOADER_RECHECK_SECONDS",
        "write_threads": "LOADER_WRITE_THREADS",
    }.items():
        assert float(defaults[option]) == float(by_name[variable] or "nan"), option


def test_every_push_subscription_retries_and_dead_letters(module: Config) -> None:
    push = module.resources("google_pubsub_subscription")["push"]
    assert push["for_each"] == "${local.streams}"
    config = only(push["push_config"])
    assert "google_cloudfunctions2_function.loader[each.key]" in config["push_endpoint"]
    oidc = only(config["oidc_token"])
    assert oidc["service_account_email"] == "${google_service_account.invoker.email}"
    dead_letter = only(push["dead_letter_policy"])
    assert dead_letter["dead_letter_topic"] == "${google_pubsub_topic.dead_letter[each.key].id}"
    assert only(push["retry_policy"])["minimum_backoff"] == "${var.delivery.minimum_backoff}"
    assert only(push["expiration_policy"])["ttl"] == ""
    inspect = module.resources("google_pubsub_subscription")["dead_letter"]
    assert inspect["topic"] == "${google_pubsub_topic.dead_letter[each.key].id}"


def test_runtime_accounts_only_create_in_their_bucket_and_read_the_registry(
    module: Config,
) -> None:
    grants = [
        (kind, name, body)
        for kind, name, body in module.all_resources()
        if kind.endswith("_iam_member") and body.get("member") == RUNTIME
    ]
    roles = {(kind, body["role"], body.get("bucket")) for kind, _, body in grants}
    assert roles == {
        (
            "google_storage_bucket_iam_member",
            "roles/storage.objectCreator",
            "${google_storage_bucket.stream[each.key].name}",
        ),
        (
            "google_storage_bucket_iam_member",
            "roles/storage.objectViewer",
            "${google_storage_bucket.metadata.name}",
        ),
    }
    every_role = {body["role"] for _, _, body in module.all_resources() if "role" in body}
    assert not every_role & {"roles/owner", "roles/editor", "roles/storage.admin"}
    assert "roles/storage.objectAdmin" not in every_role  # nobody overwrites or deletes data


def test_buckets_are_private_and_the_registry_is_versioned(module: Config) -> None:
    buckets = module.resources("google_storage_bucket")
    for bucket in buckets.values():
        assert bucket["uniform_bucket_level_access"] is True
        assert bucket["public_access_prevention"] == "enforced"
    assert only(buckets["metadata"]["versioning"])["enabled"] is True
    raw_rule = buckets["stream"]["dynamic"][0]["lifecycle_rule"]
    assert 'each.key == "raw"' in raw_rule["for_each"]


def test_variables_are_described_and_typed(module: Config) -> None:
    for name, variable in module.variables.items():
        assert variable.get("description"), name
        assert variable.get("type"), name
    for name, output in module.outputs.items():
        assert output.get("description"), name


# --- evaluated by terraform, provider-less ------------------------------------------------------
STUB_OUTPUTS = """
output "environments" { value = local.environments }
output "stream_buckets" { value = local.stream_buckets }
output "ack_deadline_seconds" { value = local.ack_deadline_seconds }
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    terraform = find_terraform(tmp_path_factory.mktemp("terraform-home"))
    target = tmp_path_factory.mktemp("module") / "loader"
    target.mkdir()
    for name in ("variables.tf", "locals.tf"):
        shutil.copyfile(MODULE / name, target / name)
    (target / "outputs.tf").write_text(STUB_OUTPUTS)
    initialised = terraform.run(target, "init", "-input=false", "-no-color")
    assert initialised.returncode == 0, initialised.output
    return terraform, target


def test_each_stream_runs_with_the_settings_alone(sandbox: tuple[Any, Path]) -> None:
    terraform, directory = sandbox
    outputs = terraform.outputs(directory, MINIMAL)
    assert set(outputs["environments"]) == {"decoded", "errors"}  # no raw unless asked for
    for stream, source in (("decoded", "telemetry"), ("errors", "telemetry-errors")):
        settings = LoaderSettings.from_environ(outputs["environments"][stream])
        assert settings.loader_source == source
        assert settings.metadata_location == "gs://test-project-loader-metadata"
        assert settings.loader_flush_seconds == 2
    assert outputs["stream_buckets"] == {
        "decoded": "test-project-loader-data",
        "errors": "test-project-loader-errors",
    }


def test_the_raw_stream_gets_its_own_bucket(sandbox: tuple[Any, Path]) -> None:
    terraform, directory = sandbox
    streams = {**MINIMAL["streams"], "raw": {"topic": "raw", "source": "raw"}}
    variables = {**MINIMAL, "streams": streams}
    variables["buckets"] = {"raw": "restricted-raw"}
    outputs = terraform.outputs(directory, variables)
    assert outputs["stream_buckets"]["raw"] == "restricted-raw"
    assert len(set(outputs["stream_buckets"].values())) == 3


def test_invalid_flush_settings_are_refused(sandbox: tuple[Any, Path]) -> None:
    terraform, directory = sandbox
    (directory / "test.auto.tfvars.json").write_text(
        json.dumps({**MINIMAL, "flush": {"bytes": 100, "max_queued_bytes": 10}})
    )
    planned = terraform.run(directory, "plan", "-input=false", "-no-color")
    assert planned.returncode != 0 and "max_queued_bytes" in planned.output
