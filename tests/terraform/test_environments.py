"""The environments (terraform/environments/*), the pipeline module each calls with its values,
and every module that composes, checked offline over the parsed HCL: typed inputs, functions
that exist with the project's Python, every setting a function reads set or defaulted, limits,
no public access, TTL and dead-letter policies, roles within terraform/iam-allowlist.toml, no
topic without a subscriber or a retention, and alerts that only read metrics that exist; and,
when terraform is on PATH, each environment's values applied through its own module call."""

from __future__ import annotations

import ast
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from terraform_config import REPO, TERRAFORM, Config, find_terraform, load_config, load_hcl

from ingestion import settings

ENVIRONMENTS = TERRAFORM / "environments"
MODULES = TERRAFORM / "modules"
ENV_NAMES = sorted(path.name for path in ENVIRONMENTS.iterdir() if path.is_dir())
MODULE_NAMES = sorted(path.name for path in MODULES.iterdir() if path.is_dir())
# The same in every environment: environments differ by values only.
SHARED_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
SETTINGS = {
    "decoder": settings.DecoderSettings,
    "loader": settings.LoaderSettings,
    "backfill": settings.BackfillSettings,
}
# Cloud Monitoring metrics the alerts may read besides the log-based ones.
BUILT_IN_METRICS = {
    "pubsub.googleapis.com/subscription/oldest_unacked_message_age",
    "pubsub.googleapis.com/subscription/num_undelivered_messages",
    "run.googleapis.com/request_count",
    "run.googleapis.com/container/instance_count",
}


def env(name: str) -> Config:
    return load_config(ENVIRONMENTS / name)


def module(name: str) -> Config:
    return load_config(MODULES / name)


def pipeline() -> Config:
    return module("pipeline")


def tfvars(name: str) -> dict[str, Any]:
    return load_hcl(ENVIRONMENTS / name / "terraform.tfvars")


def python_runtime() -> str:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    found = re.fullmatch(r">=\s*3\.(\d+)", pyproject["project"]["requires-python"])
    assert found, pyproject["project"]["requires-python"]
    return f"python3{found.group(1)}"


def functions() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, resource, body)
        for name in MODULE_NAMES
        for resource, body in module(name).resources("google_cloudfunctions2_function").items()
    ]


def test_there_are_dev_and_prod_and_they_differ_by_values_only():
    assert {"dev", "prod"} <= set(ENV_NAMES)
    for name in ENV_NAMES:
        for file in SHARED_FILES:
            assert (ENVIRONMENTS / name / file).read_text() == (
                ENVIRONMENTS / "dev" / file
            ).read_text(), f"{name}/{file} differs from dev/{file}: put the difference in values"
        backend = (ENVIRONMENTS / name / "backend.hcl").read_text()
        assert f'prefix = "ingestion/{name}"' in backend


@pytest.mark.parametrize("name", ENV_NAMES)
def test_an_environment_is_the_pipeline_module_called_with_its_variables(name):
    config, composition = env(name), pipeline()
    assert set(config.modules) == {"pipeline"}, "an environment composes in the pipeline module"
    assert list(config.all_resources()) == [] and not config.locals
    call = config.modules["pipeline"]
    assert call["source"] == "../../modules/pipeline"
    passed = {key: value for key, value in call.items() if key != "source"}
    # Every environment variable is passed through as is, to a module input of the same type.
    assert passed == {variable: f"${{var.{variable}}}" for variable in config.variables}
    for variable, body in config.variables.items():
        assert body["type"] == composition.variables[variable]["type"], variable
    required = {v for v, body in composition.variables.items() if "default" not in body}
    assert required <= set(passed), required - set(passed)
    for output, body in config.outputs.items():
        assert body["value"] == f"${{module.pipeline.{output}}}", output
        assert output in composition.outputs, output


@pytest.mark.parametrize("name", ENV_NAMES)
def test_environment_values_are_typed_objects_and_all_given(name):
    config, values = env(name), tfvars(name)
    variables = config.variables
    for variable, body in variables.items():
        assert "type" in body and body.get("description"), variable
    required = {v for v, body in variables.items() if "default" not in body} - {"project_id"}
    assert required <= set(values), required - set(values)
    assert set(values) <= set(variables), set(values) - set(variables)
    assert values["environment"] == name
    for concern in ("decoder", "loader", "alerts"):
        assert variables[concern]["type"].startswith("${object("), concern
    # The metrics read INFO lines: a quieter level would silence them.
    assert values["decoder"]["log_level"] in ("DEBUG", "INFO")
    assert 'backend "gcs"' in (ENVIRONMENTS / name / "versions.tf").read_text()


def test_prod_is_sized_and_alerted_more_strictly_than_dev():
    dev, prod = tfvars("dev"), tfvars("prod")
    assert prod["decoder"]["max_instances"] > dev["decoder"]["max_instances"]
    assert prod["decoder"]["min_instances"] >= 1
    assert prod["alerts"]["error_ratio"] < dev["alerts"]["error_ratio"]
    assert prod["alerts"]["oldest_unacked_seconds"] < dev["alerts"]["oldest_unacked_seconds"]


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_every_module_input_is_typed_and_described(name):
    for variable, body in module(name).variables.items():
        assert "type" in body, f"{name}: variable {variable} has no type"
        assert body.get("description"), f"{name}: variable {variable} has no description"


def test_the_pipeline_composes_every_module():
    sources = {body["source"] for body in pipeline().modules.values()}
    expected = {f"../{name}" for name in MODULE_NAMES if name != "pipeline"}
    assert expected == sources, expected ^ sources


def test_every_function_exists_with_the_projects_python_and_a_maximum():
    found = functions()
    assert {name for name, _, _ in found} >= {"decoder", "loader"}
    for name, resource, body in found:
        build = body["build_config"][0]
        assert build["runtime"] == python_runtime(), (name, resource)
        main = REPO / "functions" / name / "main.py"
        defined = {
            node.name
            for node in ast.walk(ast.parse(main.read_text()))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert build["entry_point"] in defined, f"{main} has no {build['entry_point']}"
        service = body["service_config"][0]
        assert service.get("max_instance_count"), (name, resource)
        assert service["ingress_settings"] == "${var.service.ingress_settings}"
        ingress = module(name).variables["service"]["type"]
        assert 'ingress_settings = optional(string, "ALLOW_INTERNAL_ONLY")' in ingress


def _environment_keys(config: Config) -> set[str]:
    locals_ = config.locals
    value = locals_.get("environment", locals_.get("environments"))
    assert value is not None, f"{config.path}: no environment local"
    if isinstance(value, dict):
        return set(value)
    return set(re.findall(r"\b([A-Z][A-Z0-9_]+) =", value))


@pytest.mark.parametrize("name", [name for name in MODULE_NAMES if name in SETTINGS])
def test_every_setting_a_function_reads_is_set_or_defaulted(name):
    keys = _environment_keys(module(name))
    variables = {variable.field: variable for variable in settings.ENVIRONMENT}
    fields = [field.name for field in settings.dataclasses.fields(SETTINGS[name])]
    read = {variables[field].name: variables[field] for field in fields if field in variables}
    required = {name for name, variable in read.items() if variable.default is None}
    assert required <= keys, f"{name}: required settings not set: {required - keys}"
    assert keys <= set(read), f"{name}: sets variables its settings never read: {keys - set(read)}"


def test_nothing_is_public():
    for path in TERRAFORM.rglob("*.tf"):
        text = path.read_text()
        assert "allUsers" not in text and "allAuthenticatedUsers" not in text, path


def test_dedup_ttl_and_dead_letter_policies_exist():
    decoder = module("decoder")
    fields = decoder.resources("google_firestore_field").values()
    (ttl,) = [body for body in fields if "ttl_config" in body]
    assert ttl["field"] == "${var.firestore.ttl_field}"
    for name in MODULE_NAMES:
        for resource, body in module(name).resources("google_pubsub_subscription").items():
            if "push_config" in body:
                assert body.get("dead_letter_policy"), f"{name}.{resource}: no dead-letter policy"
                assert body.get("retry_policy"), f"{name}.{resource}: no retry policy"
            assert body["expiration_policy"][0]["ttl"] == "", f"{name}.{resource} may expire"


def _account(member: str) -> str:
    found = re.search(r"google_service_account\.(\w+)", member)
    found = found or re.search(r"local\.(\w+)", member)
    assert found, member
    return found.group(1)


def test_every_role_is_in_the_allowlist_and_every_allowance_is_used():
    allowlist = tomllib.loads((TERRAFORM / "iam-allowlist.toml").read_text())
    used: set[tuple[str, str, str, str]] = set()
    for name in MODULE_NAMES:
        for kind, resource, body in module(name).all_resources():
            if not kind.endswith(("_iam_member", "_iam_binding", "_iam_policy")):
                continue
            assert kind.endswith("_iam_member"), f"{name}.{resource}: use *_iam_member, not {kind}"
            account, role = _account(body["member"]), body["role"]
            allowed = allowlist.get(name, {}).get(account, {}).get(role, [])
            assert kind in allowed, f"{name}.{resource}: {account} {role} on {kind} not allowed"
            used.add((name, account, role, kind))
    listed = {
        (name, account, role, kind)
        for name, accounts in allowlist.items()
        for account, roles in accounts.items()
        for role, kinds in roles.items()
        for kind in kinds
    }
    assert listed <= used, f"allowlist entries no binding uses: {listed - used}"


def test_every_topic_has_a_subscriber_or_a_retention():
    for name in MODULE_NAMES:
        config = module(name)
        subscribed = {
            match
            for body in config.resources("google_pubsub_subscription").values()
            for match in re.findall(r"google_pubsub_topic\.(\w+)", body["topic"])
        }
        for topic, body in config.resources("google_pubsub_topic").items():
            if topic in subscribed or "message_retention_duration" in body:
                continue
            # The decoder's own topics are subscribed by what the environments compose.
            composed = {"raw", "decoded", "error", "debug"}
            assert name == "decoder" and topic in composed, (name, topic)
    # What every environment deploys: the pipeline module.
    composition = pipeline()
    loader = composition.modules["loader"]["streams"]
    for kind in ("raw", "decoded", "error"):
        assert f"${{local.topics.{kind}}}" in str(loader), f"nothing loads {kind}"
    assert composition.modules["decoder"]["topics"] == "${local.topics}"
    assert set(composition.locals["topics"]) == {"raw", "decoded", "error"}, "debug needs a reader"


def _alert_metrics() -> tuple[set[str], set[str]]:
    """(metric types in alert filters, log-metric names in alert PromQL)."""
    alerts = module("monitoring").resources("google_monitoring_alert_policy")
    text = str(alerts)
    types = set(re.findall(r'metric\.type = "([^"]+)"', text))
    promql = set(re.findall(r"local\.promql\.(\w+)", text))
    return types, promql


def test_every_alert_reads_a_metric_that_exists():
    monitoring = module("monitoring")
    log_metrics = {
        name for group in ("decoder_metrics", "loader_metrics", "backfill_metrics")
        for name in monitoring.locals[group]
    }  # fmt: skip
    types, promql = _alert_metrics()
    assert types and promql
    assert types <= BUILT_IN_METRICS, types - BUILT_IN_METRICS
    assert promql <= log_metrics, promql - log_metrics
    alerts = set(monitoring.resources("google_monitoring_alert_policy"))
    assert {
        "backlog", "dead_letters", "error_ratio", "function_errors", "instances_near_max",
        "dedup_failures", "backfill_chunks_failed",
    } <= alerts  # fmt: skip
    runbook = (REPO / "docs" / "operations.md").read_text()
    for body in monitoring.resources("google_monitoring_alert_policy").values():
        section = re.search(r'docs/operations\.md, \\?"([^"\\]+)\\?"', str(body["documentation"]))
        assert section, body["display_name"]
        assert f"## {section.group(1)}" in runbook, section.group(1)


def _provider_less_environment(target: Path, name: str) -> Path:
    """A copy of environment ``name`` calling a copy of the pipeline module reduced to its
    variables: no provider, so it applies offline, and its apply type-checks and validates the
    environment's terraform.tfvars through the environment's own module call."""
    directory = target / "environments" / name
    directory.mkdir(parents=True)
    for file in ("variables.tf", "terraform.tfvars"):
        shutil.copyfile(ENVIRONMENTS / name / file, directory / file)
    main = (ENVIRONMENTS / name / "main.tf").read_text()
    main, removed = re.subn(r'(?ms)^provider "google" \{.*?^\}\n', "", main)
    assert removed == 1, "the environment's provider block"
    (directory / "main.tf").write_text(main)
    stub = target / "modules" / "pipeline"
    stub.mkdir(parents=True)
    shutil.copyfile(MODULES / "pipeline" / "variables.tf", stub / "variables.tf")
    return directory


@pytest.mark.slow
@pytest.mark.parametrize("name", ENV_NAMES)
def test_terraform_accepts_each_environments_values(name, tmp_path):
    terraform = find_terraform(tmp_path)
    directory = _provider_less_environment(tmp_path / "sandbox", name)
    initialised = terraform.run(directory, "init", "-input=false", "-no-color")
    assert initialised.returncode == 0, initialised.output
    applied = terraform.run(
        directory, "apply", "-auto-approve", "-input=false", "-no-color", "-var=project_id=p"
    )
    assert applied.returncode == 0, applied.output
    # And a value the pipeline module rejects fails there, through the same call.
    (directory / "bad.auto.tfvars.json").write_text(
        '{"backfill": {"max_instances": 1, "max_concurrent_chunks": 1, "invokers": []}}'
    )
    rejected = terraform.run(
        directory, "apply", "-auto-approve", "-input=false", "-no-color", "-var=project_id=p"
    )
    assert rejected.returncode != 0 and "max_concurrent_chunks" in rejected.output
