"""terraform/scripts/package_function.py: the layout Cloud Functions needs, no caches, and the
same bytes for the same source (the module names the uploaded zip after its MD5)."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from terraform_config import REPO

SCRIPT = REPO / "terraform" / "scripts" / "package_function.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("package_function", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


package_function = load_script()


def fake_repo(root: Path) -> Path:
    files = {
        "functions/decoder/main.py": "def decode(request):\n    return '', 204\n",
        "functions/decoder/main_test.py": "def test(): ...\n",
        "requirements.txt": "functions-framework==3.10.2\n",
        "shared/ingestion/__init__.py": "",
        "shared/ingestion/settings.py": "ENVIRONMENT = ()\n",
        "shared/ingestion/rules/scrubber.toml": "[rules]\n",
        "shared/ingestion/__pycache__/settings.cpython-311.pyc": "compiled",
        "shared/ingestion/steps/stale.pyc": "compiled",
        "shared/ingestion/local/demo_geoip.py": "DEMO = True\n",
        "shared/ingestion/cli/__init__.py": "def main(): ...\n",
        "shared/ingestion/core/local/kept.py": "KEPT = True\n",
        "functions/loader/main.py": "def load(request):\n    return '', 204\n",
        "schemas/telemetry/event/event.4.schema.json": "{}\n",
        "README.md": "not packaged\n",
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def zip_names(archive: Path) -> list[str]:
    with zipfile.ZipFile(archive) as bundle:
        return bundle.namelist()


def test_layout_of_the_package(tmp_path: Path) -> None:
    repo = fake_repo(tmp_path / "repo")
    archive, md5 = package_function.package(repo, tmp_path / "build")
    expected = [
        "ingestion/__init__.py",
        "ingestion/core/local/kept.py",
        "ingestion/rules/scrubber.toml",
        "ingestion/settings.py",
        "main.py",
        "requirements.txt",
        "schemas/telemetry/event/event.4.schema.json",
    ]
    assert zip_names(archive) == expected
    assert archive == tmp_path / "build" / "decoder-source.zip"
    assert md5 == hashlib.md5(archive.read_bytes()).hexdigest()
    # The assembled directory is the zip's content.
    source_dir = tmp_path / "build" / "decoder-source"
    on_disk = sorted(
        path.relative_to(source_dir).as_posix() for path in source_dir.rglob("*") if path.is_file()
    )
    assert on_disk == expected
    with zipfile.ZipFile(archive) as bundle:
        assert bundle.read("main.py") == (repo / "functions/decoder/main.py").read_bytes()


def test_another_function_gets_its_own_entry_point_and_zip(tmp_path: Path) -> None:
    repo = fake_repo(tmp_path / "repo")
    archive, _ = package_function.package(repo, tmp_path / "build", "loader")
    assert archive == tmp_path / "build" / "loader-source.zip"
    with zipfile.ZipFile(archive) as bundle:
        assert bundle.read("main.py") == (repo / "functions/loader/main.py").read_bytes()
        names = bundle.namelist()
    # Production never runs the demos, the local servers or the CLI.
    assert not any(name.startswith(("ingestion/local/", "ingestion/cli/")) for name in names)


def test_same_source_gives_the_same_bytes(tmp_path: Path) -> None:
    repo = fake_repo(tmp_path / "repo")
    _, first = package_function.package(repo, tmp_path / "one")
    # New modification times and a stale build directory must not change the zip.
    for path in repo.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (tmp_path / "two" / "decoder-source").mkdir(parents=True)
    (tmp_path / "two" / "decoder-source" / "leftover.py").write_text("old build\n")
    _, second = package_function.package(repo, tmp_path / "two")
    assert first == second
    assert "leftover.py" not in zip_names(tmp_path / "two" / "decoder-source.zip")
    (repo / "schemas" / "telemetry" / "event" / "event.4.schema.json").write_text('{"a": 1}\n')
    _, third = package_function.package(repo, tmp_path / "three")
    assert third != first


def test_missing_entry_point_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = fake_repo(tmp_path / "repo")
    (repo / "functions" / "decoder" / "main.py").unlink()
    status = package_function.main(["--repo", str(repo), "--build-dir", str(tmp_path / "build")])
    assert status == 2
    assert "functions/decoder/main.py" in capsys.readouterr().err
    assert not (tmp_path / "build" / "decoder-source.zip").exists()


def test_the_repository_packages(tmp_path: Path) -> None:
    if not (REPO / "functions" / "decoder" / "main.py").exists():
        pytest.skip("functions/decoder/main.py not written yet")
    archive, _ = package_function.package(REPO, tmp_path)
    names = set(zip_names(archive))
    assert {
        "main.py",
        "requirements.txt",
        "ingestion/settings/__init__.py",
        "ingestion/settings/table.py",
        "ingestion/rules/scrubber.toml",
    } <= names
    assert any(name.startswith("schemas/") and name.endswith(".schema.json") for name in names)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert not any(name.startswith(("ingestion/local/", "ingestion/cli/")) for name in names)
    with zipfile.ZipFile(archive) as bundle:
        main = ast.parse(bundle.read("main.py"))
        requirements = bundle.read("requirements.txt").decode()
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    assert "decode" in {node.name for node in main.body if isinstance(node, functions)}
    assert "functions-framework" in requirements


def test_bundled_schemas_sit_where_the_packaged_code_looks_for_them(tmp_path) -> None:
    destinations = dict(package_function.LAYOUT)
    # The loader looks for schemas/ beside the ingestion package when not in a checkout.
    assert Path(destinations["shared/ingestion"]).parent == Path(destinations["schemas"]).parent
    assert destinations["functions/decoder/main.py"] == "main.py"
    assert destinations["requirements.txt"] == "requirements.txt"


def test_the_backfill_function_packages_with_its_entry_point(tmp_path: Path) -> None:
    archive, _ = package_function.package(REPO, tmp_path, "backfill")
    assert archive == tmp_path / "backfill-source.zip"
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        main = ast.parse(bundle.read("main.py"))
    assert {"ingestion/entrypoints/backfill_function.py", "ingestion/backfill/runner.py"} <= names
    assert not any(name.startswith(("ingestion/local/", "ingestion/cli/")) for name in names)
    assert "backfill" in {node.name for node in main.body if isinstance(node, ast.FunctionDef)}
