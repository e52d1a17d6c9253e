"""cloudbuild.yaml: SchemaStore's Cloud Build schema (vendored by check-jsonschema) plus what the
schema does not check (it accepts unknown top-level keys and steps without a name): waitFor ids,
substitutions, and that the steps call things that exist with the variables the examples take."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from terraform_config import EXAMPLES, REPO, load_config

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
    assert {"_ENV", "_REGION", "_STATE_BUCKET"} <= defined
    assert all(name.startswith("_") for name in defined), defined
    used = references(build["steps"]) | references(build.get("substitutions", {}))
    # Cloud Build fails a build on an unknown substitution, and on an unused one unless
    # substitutionOption is ALLOW_LOOSE.
    assert used - BUILT_IN <= defined, used - BUILT_IN - defined
    assert defined <= used, defined - used
    if references(build.get("substitutions", {})):
        assert build["options"]["dynamicSubstitutions"] is True


def test_tests_and_packaging_run_before_terraform(steps: dict[str, dict[str, Any]]) -> None:
    assert steps["test"]["name"] == "python:3.11"
    assert "make test" in " ".join(steps["test"]["args"])
    package = steps["package"]
    assert (REPO / package["args"][0]).is_file(), package["args"][0]
    assert set(steps["terraform-init"]["waitFor"]) == {"test", "package"}
    assert steps["terraform-plan"]["waitFor"] == ["terraform-init"]
    assert steps["terraform-apply"]["waitFor"] == ["terraform-plan"]


def test_init_uses_the_state_bucket_per_environment(steps: dict[str, dict[str, Any]]) -> None:
    script = " ".join(steps["terraform-init"]["args"])
    assert 'backend "gcs"' in script
    assert "bucket=${_STATE_BUCKET}" in script
    assert "prefix=decoder/${_ENV}" in script


def test_plan_variables_are_those_of_every_example(
    build: dict[str, Any], steps: dict[str, dict[str, Any]]
) -> None:
    plan = steps["terraform-plan"]
    passed = {
        argument.removeprefix("-var=").split("=", 1)[0]
        for argument in plan["args"]
        if argument.startswith("-var=")
    }
    out = next(argument for argument in plan["args"] if argument.startswith("-out="))
    assert out.removeprefix("-out=") in steps["terraform-apply"]["args"]
    source_zip = next(argument for argument in plan["args"] if "source_zip=" in argument)
    assert source_zip.endswith("/build/decoder-source.zip")
    default_root = build["substitutions"]["_TF_DIR"]
    assert (REPO / default_root / "main.tf").is_file(), default_root
    for example in sorted(path for path in EXAMPLES.iterdir() if path.is_dir()):
        assert set(load_config(example).variables) == passed, example.name
    for step_id in ("terraform-init", "terraform-plan", "terraform-apply"):
        assert steps[step_id]["dir"] == "${_TF_DIR}"
