"""The documented layouts stay in step with the tree: docs/decoder.md's layout block and the
README's layout table name every part that exists, and nothing that does not."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "shared" / "ingestion"
IGNORED = {"__pycache__", "__init__.py", "py.typed"}


def _layout_block() -> str:
    text = (REPO / "docs" / "decoder.md").read_text()
    section = text.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def _documented_paths(block: str) -> list[str]:
    return [line.split()[0] for line in block.splitlines() if line and not line[0].isspace()]


def package_parts() -> set[str]:
    return {
        path.name + ("/" if path.is_dir() else "")
        for path in PACKAGE.iterdir()
        if path.name not in IGNORED
    }


def test_decoder_doc_layout_names_every_part_of_the_package():
    paths = _documented_paths(_layout_block())
    documented = {path.removeprefix("ingestion/") for path in paths if path.startswith("ingestion")}
    assert documented == package_parts()
    for path in paths:
        if path.startswith("functions/"):
            assert list(REPO.glob(path.replace("<name>", "*"))), path


def test_readme_layout_table_names_paths_that_exist_and_every_top_level_folder():
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    paths = re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE)
    assert paths, "no layout table in the README"
    for path in paths:
        assert (REPO / path).exists(), f"README layout names {path}, which does not exist"
    top_level = {
        p.name + "/"
        for p in REPO.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in {"build"}
    }
    assert top_level <= {path.split("/")[0] + "/" for path in paths}


def test_the_layout_check_notices_a_missing_part(tmp_path: Path):
    block = "ingestion/core/   vocabulary\n                  continued\nfunctions/x/main.py  glue\n"
    assert _documented_paths(block) == ["ingestion/core/", "functions/x/main.py"]
