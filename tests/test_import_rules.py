"""The package's layering, read from its imports: each part may import only the parts below it.

The rules are one table. A part is a top-level module or sub-package of ``ingestion``; an import
of a part not in the importing part's row fails the test, whatever its form (absolute, relative,
inside a function, under ``TYPE_CHECKING``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "shared" / "ingestion"

# part -> the parts it may import (itself included where it has modules of its own).
LOWER = {
    "core": {"core"},  # the vocabulary: imports nothing of the package
    "resources": {"core", "resources"},  # resource types only
    "adapters": {"core", "adapters"},  # I/O behind narrow ports; plain values in
    "context": {"core", "resources"},
    "steps": {"core", "context", "steps"},  # pure steps
    "pipeline": {"core", "context", "steps"},
    "tracing": set(),  # the request's trace header, for the log lines
    "observability": {"core", "pipeline", "tracing"},
    "service": {"core", "context", "pipeline", "observability", "tracing", "adapters", "service"},
    # The consumer library: registry documents, their CAS storage, Dataset.
    "registry": {"core", "adapters", "registry"},
    "settings": {"core", "context", "resources", "settings"},
}
ALLOWED = {
    **LOWER,
    # The live loader: orchestration beside the service, writing into the registry's layout.
    "loader": {"loader", "core", "context", "adapters", "registry", "service", "observability"},
    # The backfill: plans, runs and reports chunks with the service, writing like the loader.
    "backfill": {"backfill", "loader", "core", "context", "adapters", "registry", "service"}
    | {"observability"},
    # The migration workflow: drives the backfill and moves the registry's pointers.
    "migration": {"migration", "backfill", "loader", "core", "adapters", "registry", "service"}
    | {"observability"},
    # One composition root per runtime: the only place settings meet adapters.
    "entrypoints": {*LOWER, "loader", "backfill", "migration", "entrypoints"},
    # The console script: its commands hand their options to the composition roots.
    "cli": {*LOWER, "entrypoints", "cli"},
    # Local servers, demos and demo data: never deployed, never imported by what is.
    "local": {*LOWER, "local"},
}
# What the deployed functions' main.py files may import from the package.
FUNCTION_ENTRY_IMPORTS = {"entrypoints"}


def _part(module: str) -> str | None:
    """The part of ``ingestion.<part>...``; None for a module outside the package."""
    names = module.split(".")
    if names[0] != "ingestion":
        return None
    return names[1] if len(names) > 1 else ""


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    names = list(relative.parts)
    if names[-1] == "__init__":
        names.pop()
    return ".".join(names)


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    here = _module_name(path).split(".") if path.is_relative_to(PACKAGE) else []
    modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # ``from . import x`` may import a module x: count it as ``prefix.x``.
            modules.extend(f"{prefix}.{alias.name}" for alias in node.names)
    return modules


def violations(path: Path, allowed: set[str]) -> list[str]:
    found = []
    for module in imported_modules(path):
        part = _part(module)
        if part is not None and part not in allowed:
            found.append(f"{path.relative_to(REPO)} imports {module}")
    return found


PACKAGE_FILES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_rule():
    parts = {_part(_module_name(path)) for path in PACKAGE_FILES} - {""}
    assert parts <= set(ALLOWED), f"parts without a rule: {sorted(parts - set(ALLOWED))}"


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path):
    part = _part(_module_name(path))
    assert not violations(path, ALLOWED.get(part or "", set(ALLOWED)))


@pytest.mark.parametrize(
    "path", sorted(REPO.glob("functions/*/main.py")), ids=lambda p: p.parent.name
)
def test_function_entry_points_import_only_composition_roots(path: Path):
    assert not violations(path, FUNCTION_ENTRY_IMPORTS)


def test_the_rules_catch_an_upward_import(tmp_path: Path):
    steps = PACKAGE / "steps"
    sample = steps / "parse_uri.py"
    found = violations(sample, ALLOWED["core"])
    assert any("ingestion.context" in line for line in found)
    assert _part("ingestion.settings") == "settings" and _part("orjson") is None
    # A relative import two levels up from a sub-package module resolves into the package.
    assert "ingestion.settings.DecoderSettings" in [
        module
        for module in imported_modules(PACKAGE / "entrypoints" / "decoder_function.py")
        if module.startswith("ingestion.settings")
    ]
