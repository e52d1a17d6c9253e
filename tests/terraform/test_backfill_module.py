"""Structure of terraform/modules/backfill, read with python-hcl2, and its variables and locals
evaluated by a provider-less terraform when one is on PATH.

What a wrong value here would break in production: the entry point the function is built with,
the environment ``BackfillSettings`` reads at cold start (every variable set), the queue's limits
and a dispatch deadline Cloud Tasks refuses, a chunk the queue drops before its state says
failed, and least privilege (read the sources, only create/overwrite in the destinations, the
tasks account may only invoke, nobody else may invoke at all).
"""

from __future__ import annotations

import ast
import json
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

from ingestion.adapters.backfill_store import EXPIRE_FIELD, MARKS
from ingestion.adapters.cloud_tasks import MAX_DEADLINE_SECONDS, MIN_DEADLINE_SECONDS
from ingestion.settings import ENVIRONMENT, BackfillSettings, variables_for

MODULE = TERRAFORM / "modules" / "backfill"
MAIN_PY = REPO / "functions" / "backfill" / "main.py"
RUNTIME = "serviceAccount:${google_service_account.runtime.email}"
TASKS = "serviceAccount:${google_service_account.tasks.email}"
MINIMAL: dict[str, Any] = {
    "project_id": "test-project",
    "region": "europe-west1",
    "buckets": {
        "sources": ["raw-archive"],
        "destinations": ["decoded-data", "error-data"],
        "metadata": "registry-meta",
    },
    "function_source": {"bucket": "src-bucket", "object": "backfill-source.zip"},
}


@pytest.fixture(scope="module")
def module() -> Config:
    return load_config(MODULE)


def test_the_module_has_one_file_per_concern_and_a_readme() -> None:
    names = {path.name for path in MODULE.glob("*.tf")}
    assert names == {
        "main.tf", "variables.tf", "locals.tf", "outputs.tf", "versions.tf",
        "function.tf", "tasks.tf", "iam.tf", "firestore.tf",
    }  # fmt: skip
    readme = (MODULE / "README.md").read_text()
    for variable in load_config(MODULE).variables:
        assert f"`{variable}`" in readme, variable


def test_the_function_is_python311_backfill_one_request_per_instance(module: Config) -> None:
    function = module.resources("google_cloudfunctions2_function")["backfill"]
    build = only(function["build_config"])
    assert build["runtime"] == "python311" and build["entry_point"] == "backfill"
    tree = ast.parse(MAIN_PY.read_text())
    assert "backfill" in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    service = only(function["service_config"])
    assert service["max_instance_request_concurrency"] == 1
    assert service["environment_variables"] == "${local.environment}"
    assert service["service_account_email"] == "${google_service_account.runtime.email}"
    precondition = only(only(function["lifecycle"])["precondition"])
    assert "local.setting_conflicts" in precondition["condition"]


def test_the_environment_sets_every_backfill_setting_and_defaults_agree(module: Config) -> None:
    environment = module.locals["environment"]
    names = set(environment) if isinstance(environment, dict) else set()
    assert names == {variable.name for variable in variables_for(BackfillSettings)}
    assert environment["BACKFILL_DISPATCH"] == "cloud_tasks"
    by_name = {variable.name: variable.default for variable in ENVIRONMENT}
    defaults = optional_defaults(module.variables["backfill"]["type"])
    for option, variable in {
        "max_chunks": "BACKFILL_MAX_CHUNKS",
        "max_bytes": "BACKFILL_MAX_BYTES",
        "time_budget_seconds": "BACKFILL_TIME_BUDGET_SECONDS",
        "max_attempts": "BACKFILL_MAX_ATTEMPTS",
        "commit_bytes": "BACKFILL_COMMIT_BYTES",
        "mark_days": "BACKFILL_MARK_DAYS",
        "max_payload_bytes": "MAX_PAYLOAD_BYTES",
        "counters_interval_seconds": "COUNTERS_INTERVAL_SECONDS",
    }.items():
        assert float(defaults[option]) == float(by_name[variable] or "nan"), option
    for option, variable in {
        "validation_engine": "VALIDATION_ENGINE",
        "output_compression": "OUTPUT_COMPRESSION",
        "error_compression": "ERROR_COMPRESSION",
        "log_level": "LOG_LEVEL",
    }.items():
        assert defaults[option] == f'"{by_name[variable]}"', option
    queue = optional_defaults(module.variables["queue"]["type"])
    deadline = by_name["BACKFILL_DISPATCH_DEADLINE_SECONDS"] or "nan"
    assert float(queue["dispatch_deadline_seconds"]) == float(deadline)
    firestore = optional_defaults(module.variables["firestore"]["type"])
    assert firestore["collection"] == f'"{by_name["BACKFILL_COLLECTION"]}"'
    topics = optional_defaults(module.variables["topics"]["type"])
    assert topics["decoded"] == f'"{by_name["DECODED_TOPIC"]}"'
    assert topics["error"] == f'"{by_name["ERROR_TOPIC"]}"'


def test_the_queue_has_rate_concurrency_and_retry_limits(module: Config) -> None:
    queue = module.resources("google_cloud_tasks_queue")["chunks"]
    rates = only(queue["rate_limits"])
    assert rates["max_concurrent_dispatches"] == "${var.queue.max_concurrent_dispatches}"
    assert rates["max_dispatches_per_second"] == "${var.queue.max_dispatches_per_second}"
    retry = only(queue["retry_config"])
    assert retry["max_attempts"] == "${var.queue.max_attempts}"
    assert {"min_backoff", "max_backoff", "max_doublings"} <= set(retry)
    validations = str(module.variables["queue"]["validation"])
    bounds = f"dispatch_deadline_seconds >= {MIN_DEADLINE_SECONDS}"
    assert bounds in validations and f"<= {MAX_DEADLINE_SECONDS}" in validations


def test_the_dedup_marks_expire_where_the_code_writes_them(module: Config) -> None:
    field = module.resources("google_firestore_field")["marks_expiry"]
    assert (field["collection"], field["field"]) == (MARKS, EXPIRE_FIELD)
    assert "ttl_config" in field and "index_config" in field


def grants(module: Config, member: str) -> set[tuple[str, str]]:
    return {
        (kind, body["role"])
        for kind, _, body in module.all_resources()
        if kind.endswith("_iam_member") and body.get("member") == member
    }


def test_each_account_has_only_the_roles_its_role_needs(module: Config) -> None:
    writer = "${google_project_iam_custom_role.object_writer.id}"
    assert grants(module, RUNTIME) == {
        ("google_storage_bucket_iam_member", "roles/storage.objectViewer"),
        ("google_storage_bucket_iam_member", writer),
        ("google_project_iam_member", "roles/datastore.user"),
        ("google_cloud_tasks_queue_iam_member", "roles/cloudtasks.enqueuer"),
        ("google_service_account_iam_member", "roles/iam.serviceAccountUser"),
        ("google_pubsub_topic_iam_member", "roles/pubsub.publisher"),
    }
    role = module.resources("google_project_iam_custom_role")["object_writer"]
    assert sorted(role["permissions"]) == ["storage.objects.create", "storage.objects.delete"]
    resources = dict(
        ((kind, name), body) for kind, name, body in module.all_resources() if "role" in body
    )
    writes = resources[("google_storage_bucket_iam_member", "runtime_writes_destinations")]
    assert writes["for_each"] == "${toset(var.buckets.destinations)}"
    reads = resources[("google_storage_bucket_iam_member", "runtime_reads_sources")]
    assert reads["for_each"] == "${local.read_only_buckets}"
    acts = resources[("google_service_account_iam_member", "runtime_acts_as_tasks")]
    assert acts["service_account_id"] == "${google_service_account.tasks.name}"
    assert grants(module, TASKS) == {("google_cloud_run_service_iam_member", "roles/run.invoker")}
    invokers = resources[("google_cloud_run_service_iam_member", "invokers")]
    assert invokers["role"] == "roles/run.invoker"
    every_role = {body["role"] for body in resources.values()}
    assert not every_role & {
        "roles/owner", "roles/editor", "roles/storage.admin", "roles/storage.objectAdmin",
        "roles/storage.objectUser", "roles/cloudtasks.admin", "roles/run.admin",
    }  # fmt: skip


def test_variables_are_described_and_typed(module: Config) -> None:
    for name, variable in module.variables.items():
        assert variable.get("description") and variable.get("type"), name
    for name, output in module.outputs.items():
        assert output.get("description"), name


# --- evaluated by terraform, provider-less ------------------------------------------------------
STUB_OUTPUTS = """
output "environment" { value = local.environment }
output "setting_conflicts" { value = local.setting_conflicts }
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    terraform = find_terraform(tmp_path_factory.mktemp("terraform-home"))
    target = tmp_path_factory.mktemp("module") / "backfill"
    target.mkdir()
    for name in ("variables.tf", "locals.tf"):
        shutil.copyfile(MODULE / name, target / name)
    (target / "outputs.tf").write_text(STUB_OUTPUTS)
    initialised = terraform.run(target, "init", "-input=false", "-no-color")
    assert initialised.returncode == 0, initialised.output
    return terraform, target


def test_the_function_runs_with_the_settings_alone(sandbox: tuple[Any, Path]) -> None:
    terraform, directory = sandbox
    variables = {**MINIMAL, "resources": {"bucket": "res", "schemas": "schemas.tar.gz"}}
    outputs = terraform.outputs(directory, variables)
    assert outputs["setting_conflicts"] == []
    settings = BackfillSettings.from_environ(outputs["environment"])
    assert settings.backfill_allowed_buckets == {"raw-archive", "decoded-data", "error-data"}
    assert settings.metadata_location == "gs://registry-meta"
    assert settings.backfill_queue == (
        "projects/test-project/locations/europe-west1/queues/backfill-chunks"
    )
    assert settings.backfill_tasks_service_account == (
        "backfill-tasks@test-project.iam.gserviceaccount.com"
    )
    assert settings.backfill_function_url.startswith("https://")
    assert settings.schemas_location == "gs://res/schemas.tar.gz"
    assert settings.backfill_max_bytes == 16 << 40  # a large number is not rendered 1.7e13
    assert settings.backfill_time_budget_seconds < settings.backfill_dispatch_deadline_seconds


def test_settings_that_disagree_are_named(sandbox: tuple[Any, Path]) -> None:
    terraform, directory = sandbox
    variables = {
        **MINIMAL,
        "queue": {"max_concurrent_dispatches": 80, "max_attempts": 3},
        "service": {"timeout_seconds": 600},
    }
    conflicts = terraform.outputs(directory, variables)["setting_conflicts"]
    assert len(conflicts) == 3, conflicts
    assert any("timeout_seconds" in conflict for conflict in conflicts)
    assert any("max_concurrent_dispatches" in conflict for conflict in conflicts)
    assert any("max_attempts" in conflict for conflict in conflicts)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"queue": {"dispatch_deadline_seconds": 3600}}, "dispatch_deadline_seconds"),
        ({"invokers": ["allUsers"]}, "invokers"),
        ({"buckets": {"sources": [], "metadata": "m"}}, "buckets.sources"),
    ],
)
def test_invalid_values_are_refused(sandbox: tuple[Any, Path], variables, message) -> None:
    terraform, directory = sandbox
    (directory / "test.auto.tfvars.json").write_text(json.dumps({**MINIMAL, **variables}))
    planned = terraform.run(directory, "plan", "-input=false", "-no-color")
    assert planned.returncode != 0 and message in planned.output
