"""The hashed lock files (scripts/lock.py, `make lock`) are current for pyproject.toml, complete
and consistent, checked offline: re-resolving against an index in the test suite would depend on
the network and on whatever was uploaded since, and could fail a run that changed nothing."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO

_spec = importlib.util.spec_from_file_location("lock", REPO / "scripts" / "lock.py")
assert _spec is not None and _spec.loader is not None
lock = importlib.util.module_from_spec(_spec)
sys.modules["lock"] = lock
_spec.loader.exec_module(lock)

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^ \\;]+)", re.MULTILINE)
LOCKS = {entry.path: entry for entry in lock.LOCKS}


def pins(path: str) -> dict[str, str]:
    text = (REPO / path).read_text(encoding="utf-8")
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


@pytest.mark.parametrize("path", sorted(LOCKS))
def test_lock_was_made_from_this_pyproject(path: str) -> None:
    text = (REPO / path).read_text(encoding="utf-8")
    expected = lock.inputs_digest(lock.load_pyproject(), LOCKS[path])
    assert lock.recorded_digest(text) == expected, (
        f"{path} is not the lock of pyproject.toml as it is: run `make lock`"
    )


@pytest.mark.parametrize("path", sorted(LOCKS))
def test_every_requirement_is_pinned_within_its_range_with_hashes(path: str) -> None:
    project = lock.load_pyproject()["project"]
    wanted = list(project["dependencies"])
    for extra in LOCKS[path].extras:
        wanted += project["optional-dependencies"][extra]
    pinned = pins(path)
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{path} does not pin {name}"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (name, pinned[name])
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (REPO / path).read_text(encoding="utf-8"))
    for block in blocks:
        if PIN.match(block):
            assert "--hash=sha256:" in block, f"{path}: no hash for {block.splitlines()[0]}"


def test_dev_and_bench_locks_agree_with_the_runtime_lock() -> None:
    runtime = pins("requirements.txt")
    for path in ("requirements-dev.txt", "requirements-bench.txt"):
        other = pins(path)
        assert {name: other[name] for name in runtime} == runtime, path
    assert pins("requirements-dev.txt").items() <= pins("requirements-bench.txt").items()


def test_benchmark_only_packages_stay_out_of_the_test_install() -> None:
    assert "matplotlib" not in pins("requirements-dev.txt")
    assert "matplotlib" in pins("requirements-bench.txt")
    assert "pytest" not in pins("requirements.txt")  # the functions deploy no test tools


def test_the_digest_notices_a_changed_dependency() -> None:
    pyproject = lock.load_pyproject()
    before = lock.inputs_digest(pyproject, LOCKS["requirements.txt"])
    pyproject["project"]["dependencies"] = [*pyproject["project"]["dependencies"], "six>=1"]
    assert lock.inputs_digest(pyproject, LOCKS["requirements.txt"]) != before
    # An extra the runtime lock does not read changes nothing for it.
    pyproject["project"]["dependencies"].pop()
    pyproject["project"]["optional-dependencies"]["bench"].append("six>=1")
    assert lock.inputs_digest(pyproject, LOCKS["requirements.txt"]) == before


def test_the_function_package_ships_the_runtime_lock(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "terraform" / "scripts"))
    try:
        import package_function
    finally:
        sys.path.pop(0)
    names = package_function.assemble(REPO, tmp_path / "decoder")
    assert "requirements.txt" in names
    shipped = (tmp_path / "decoder" / "requirements.txt").read_text()
    assert shipped == (REPO / "requirements.txt").read_text()
    assert "--hash=sha256:" in shipped
