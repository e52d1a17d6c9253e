"""Helpers for the offline checks of terraform/: parsed configurations and a terraform runner.

The Terraform files are parsed with python-hcl2 (no provider can be downloaded here, so
``terraform validate`` is impossible). When a ``terraform`` binary (>= 1.3) is on PATH it is also
run provider-less (see test_terraform_offline.py). This is a plain module, not a conftest.py, so
that it cannot shadow tests/conftest.py, which other test modules import as ``conftest``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

hcl2: ModuleType | None
try:
    import hcl2
except ImportError:  # the cloudbuild.yaml and packaging tests do not need it
    hcl2 = None

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MODULE = TERRAFORM / "modules" / "decoder"
EXAMPLES = TERRAFORM / "examples"
MIN_TERRAFORM = (1, 3)


def load_hcl(path: Path) -> dict[str, Any]:
    if hcl2 is None:
        pytest.skip("python-hcl2 is not installed (see requirements-dev.txt)")
    # python-hcl2 8 keeps quotes and adds __is_block__ markers unless told otherwise.
    options = hcl2.SerializationOptions(
        explicit_blocks=False, strip_string_quotes=True, with_comments=False
    )
    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=options)
    return parsed


@dataclasses.dataclass
class Config:
    """One Terraform directory, its blocks merged across files."""

    path: Path
    files: dict[str, dict[str, Any]]

    def _named(self, kind: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for parsed in self.files.values():
            for entry in parsed.get(kind, []):
                merged.update(entry)
        return merged

    @property
    def variables(self) -> dict[str, Any]:
        return self._named("variable")

    @property
    def outputs(self) -> dict[str, Any]:
        return self._named("output")

    @property
    def modules(self) -> dict[str, Any]:
        return self._named("module")

    @property
    def locals(self) -> dict[str, Any]:
        return self._named("locals")

    def resources(self, kind: str) -> dict[str, Any]:
        """Resources of one type by name, e.g. ``resources("google_pubsub_topic")["error"]``."""
        found: dict[str, Any] = {}
        for parsed in self.files.values():
            for entry in parsed.get("resource", []):
                found.update(entry.get(kind, {}))
        return found

    def all_resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for parsed in self.files.values():
            for entry in parsed.get("resource", []):
                for kind, named in entry.items():
                    for name, body in named.items():
                        yield kind, name, body


def only(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The one block of a list that must hold exactly one."""
    assert len(blocks) == 1, blocks
    return blocks[0]


def load_config(directory: Path) -> Config:
    return Config(directory, {path.name: load_hcl(path) for path in sorted(directory.glob("*.tf"))})


def optional_defaults(type_expression: str) -> dict[str, str]:
    """``{attribute: default literal}`` of the ``optional(type, default)`` attributes of an
    object type as python-hcl2 renders it, e.g. ``object({a = optional(number, 5)})``."""
    pattern = re.compile(
        r"(\w+) = optional\((?:[a-z]+(?:\([a-z]+\))?), "
        r"(\"(?:[^\"\\]|\\.)*\"|\[[^\]]*\]|\{\}|[-\w.]+)\)"
    )
    return {name: literal for name, literal in pattern.findall(type_expression)}


@functools.cache
def decoder_module() -> Config:
    return load_config(MODULE)


@functools.cache
def example_configs() -> dict[str, Config]:
    found = {path.name: load_config(path) for path in sorted(EXAMPLES.iterdir()) if path.is_dir()}
    assert found, f"no examples under {EXAMPLES}"
    return found


# --- the terraform binary ---------------------------------------------------------------------


@dataclasses.dataclass
class TerraformResult:
    returncode: int
    output: str  # stdout + stderr, whitespace collapsed (Terraform wraps long messages)


@dataclasses.dataclass
class Terraform:
    binary: str
    environ: Mapping[str, str]

    def run(self, directory: Path, *args: str) -> TerraformResult:
        completed = subprocess.run(
            [self.binary, *args],
            cwd=directory,
            env=dict(self.environ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = " ".join((completed.stdout + completed.stderr).split())
        return TerraformResult(completed.returncode, output)

    def outputs(self, directory: Path, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a provider-less configuration with ``variables``; return its outputs."""
        (directory / "test.auto.tfvars.json").write_text(json.dumps(variables))
        applied = self.run(directory, "apply", "-auto-approve", "-input=false", "-no-color")
        assert applied.returncode == 0, applied.output
        shown = subprocess.run(
            [self.binary, "output", "-json"],
            cwd=directory,
            env=dict(self.environ),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return {name: value["value"] for name, value in json.loads(shown.stdout).items()}


def find_terraform(home: Path) -> Terraform:
    """A runner for the ``terraform`` on PATH, or skip the test when there is none (or too old)."""
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform not on PATH (the python-hcl2 checks still ran)")
    cli_config = home / "terraformrc"
    cli_config.write_text("")
    environ = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    }
    version = subprocess.run(
        [binary, "version", "-json"], env=environ, capture_output=True, text=True, check=False
    )
    try:
        number = json.loads(version.stdout)["terraform_version"]
    except (ValueError, KeyError):
        pytest.skip(f"cannot read the version of {binary}: {version.stdout or version.stderr}")
    if tuple(int(part) for part in number.split(".")[:2]) < MIN_TERRAFORM:
        pytest.skip(f"terraform {number} is older than the module's required 1.3")
    return Terraform(binary, environ)
