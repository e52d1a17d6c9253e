"""cloudbuild.yaml: SchemaStore's Cloud Build schema (vendored by check-jsonschema) plus what the
schema does not check (it accepts unknown top-level keys and steps without a name): waitFor ids,
substitutions, and that the steps test with the emulators, package every function, plan both
environments, apply only _ENV's plan, and that prod's trigger needs an approval."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from terraform_config import REPO, load_config, load_hcl

CLOUDBUILD = REPO / "cloudbuild.yaml"
# Top-level keys of a Build (https://cloud.google.com/build/docs/build-config-file-schema).
TOP_LEVEL = {
    "steps",
    "timeout",
    "queueTtl",
    "logsBucket",
    "options",
    "substitutions",
    "tags",
    "serviceAccount",
    "secrets",
    "availableSecrets",
    "images",
    "artifacts",
}
BUILT_IN = {
    "PROJECT_ID",
    "PROJECT_NUMBER",
    "BUILD_ID",
    "LOCATION",
    "TRIGGER_NAME",
    "COMMIT_SHA",
    "SHORT_SHA",
    "REVISION_ID",
    "BRANCH_NAME",
    "TAG_NAME",
    "REPO_NAME",
    "REPO_FULL_NAME",
    "SERVICE_ACCOUNT_EMAIL",
    "SERVICE_ACCOUNT",
}
# $NAME or ${NAME}; "$$" is a literal dollar for the shell.
SUBSTITUTION = re.compile(r"\$(\$|\{(\w+)\}|(\w+))")


def load_yaml(path: Path) -> Any:
    ruamel = pytest.importorskip("ruamel.yaml", reason="ruamel.yaml comes with check-jsonschema")
    return ruamel.YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is in requirements-dev.txt")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.cloudbuild",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def references(value: Any) -> set[str]:
    """Substitution names used anywhere in ``value``."""
    if isinstance(value, dict):
        return set().union(*(references(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(references(item) for item in value))
    if isinstance(value, str):
        return {braced or bare for _, braced, bare in SUBSTITUTION.findall(value) if braced or bare}
    return set()


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    loaded = load_yaml(CLOUDBUILD)
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def steps(build: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in build["steps"]}


def test_matches_the_cloud_build_schema() -> None:
    checked = check_jsonschema(CLOUDBUILD)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_schema_check_catches_a_broken_config(tmp_path: Path) -> None:
    broken = tmp_path / "cloudbuild.yaml"
    broken.write_text("steps:\n  - nam: python:3.11\n    args: make test\ntimeout: 20 minutes\n")
    assert check_jsonschema(broken).returncode != 0


def test_top_level_keys_are_known(build: dict[str, Any]) -> None:
    assert set(build) <= TOP_LEVEL, set(build) - TOP_LEVEL


def test_every_step_has_a_name_and_a_unique_id(build: dict[str, Any]) -> None:
    ids = [step.get("id") for step in build["steps"]]
    assert all(ids) and len(set(ids)) == len(ids), ids
    for step in build["steps"]:
        assert step.get("name"), step


def test_wait_for_names_earlier_steps(build: dict[str, Any]) -> None:
    seen: set[str] = set()
    for step in build["steps"]:
        for dependency in step.get("waitFor", []):
            assert dependency == "-" or dependency in seen, f"{step['id']} waits for {dependency}"
        seen.add(step["id"])


def test_substitutions_are_user_defined_and_all_used(build: dict[str, Any]) -> None:
    defined = set(build.get("substitutions", {}))
    assert {"_ENV", "_DEV_PROJECT", "_PROD_PROJECT", "_STATE_BUCKET"} <= defined
    assert all(name.startswith("_") for name in defined), defined
    used = references(build["steps"]) | references(build.get("substitutions", {}))
    # Cloud Build fails a build on an unknown substitution, and on an unused one unless
    # substitutionOption is ALLOW_LOOSE.
    assert used - BUILT_IN <= defined, used - BUILT_IN - defined
    assert defined <= used, defined - used
    if references(build.get("substitutions", {})):
        assert build["options"]["dynamicSubstitutions"] is True


def test_tests_run_with_the_emulators_and_fail_on_skipped_integration_tests(
    build: dict[str, Any], steps: dict[str, dict[str, Any]]
) -> None:
    test = steps["test"]
    assert test["name"] == "${_CLI_IMAGE}"
    assert build["substitutions"]["_CLI_IMAGE"].endswith("google-cloud-cli:emulators")
    script = " ".join(test["args"])
    assert "make test" in script and "tests/integration/" in script and "exit 1" in script
    assert "make check-terraform" in " ".join(steps["check-terraform"]["args"])
    assert steps["terraform-fmt"]["args"][:3] == ["fmt", "-check", "-recursive"]


def test_every_function_and_the_schemas_bundle_are_packaged(steps: dict[str, dict[str, Any]]):
    script = " ".join(steps["package"]["args"])
    assert "functions/*/main.py" in script
    assert (REPO / "terraform/scripts/package_function.py").is_file()
    assert "--build-dir /workspace/build" in script
    assert "/workspace/build/schemas.tar.gz" in script
    upload = " ".join(steps["upload-schemas"]["args"])
    assert "/workspace/build/schemas.tar.gz" in upload and "/schemas/schemas.tar.gz" in upload
    assert steps["upload-schemas"]["waitFor"] == ["apply"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_both_environments_are_initialised_validated_and_planned(
    steps: dict[str, dict[str, Any]], env: str
) -> None:
    step = steps[f"plan-{env}"]
    directory = REPO / step["dir"]
    assert step["dir"] == f"terraform/environments/{env}" and (directory / "main.tf").is_file()
    script = " ".join(step["args"])
    assert "-backend-config=backend.hcl" in script and "bucket=${_STATE_BUCKET}" in script
    assert "terraform validate" in script
    assert f"-out={env}.tfplan" in script
    assert f"project_id=${{_{env.upper()}_PROJECT}}" in script
    assert set(step["waitFor"]) == {"test", "check-terraform", "terraform-fmt", "package"}
    # The only variable without a value in terraform.tfvars is the project, given here.
    variables = load_config(directory).variables
    given = set(load_hcl(directory / "terraform.tfvars"))
    unset = {name for name, body in variables.items() if "default" not in body} - given
    assert unset == {"project_id"}
    # The default function sources are where the package step writes them.
    sources = variables["function_sources"]["default"]
    for zip_path in sources.values():
        assert (directory / zip_path).resolve() == REPO / "build" / Path(zip_path).name


def test_only_the_plan_of_env_is_applied(steps: dict[str, dict[str, Any]]) -> None:
    apply = steps["apply"]
    assert apply["dir"] == "terraform/environments/${_ENV}"
    assert "terraform apply -input=false ${_ENV}.tfplan" in " ".join(apply["args"])
    assert set(apply["waitFor"]) == {"plan-dev", "plan-prod"}


def test_prod_is_applied_only_after_an_approval() -> None:
    triggers = load_config(REPO / "terraform" / "ci").resources("google_cloudbuild_trigger")
    by_env = {body["substitutions"]["_ENV"]: body for body in triggers.values()}
    assert set(by_env) == {"dev", "prod"}
    assert by_env["prod"]["approval_config"][0]["approval_required"] is True
    assert "approval_config" not in by_env["dev"]
    for body in by_env.values():
        assert body["filename"] == "cloudbuild.yaml"
