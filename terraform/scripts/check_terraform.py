"""`make check-terraform`: checkov over terraform/ with the skips of terraform/checkov-skips.toml,
and `terraform fmt -check -recursive` when a terraform binary is on PATH.

checkov runs from its own virtual environment (it pins ~100 packages of its own): its JSON
report is read here, and every failed check must match a skip (check id + resource pattern) of
the one skips file, each with its reason; a skip that matches nothing is stale and fails too.

Usage: python terraform/scripts/check_terraform.py [--checkov PATH] [--no-fmt]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

TERRAFORM = Path(__file__).resolve().parents[1]
SKIPS = TERRAFORM / "checkov-skips.toml"


def load_skips(path: Path = SKIPS) -> list[dict[str, Any]]:
    skips: list[dict[str, Any]] = tomllib.loads(path.read_text(encoding="utf-8")).get("skip", [])
    for skip in skips:
        if not (skip.get("check") and skip.get("resources") and skip.get("reason", "").strip()):
            raise SystemExit(f"check_terraform: {path.name}: a skip needs check, resources, reason")
    return skips


def failed_checks(checkov: str, directory: Path = TERRAFORM) -> list[dict[str, str]]:
    completed = subprocess.run(
        [checkov, "-d", str(directory), "--framework", "terraform", "--skip-download",
         "--quiet", "--output", "json"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if completed.returncode not in (0, 1) or not completed.stdout.strip():
        raise SystemExit(f"check_terraform: checkov failed: {completed.stderr[-2000:]}")
    reports = json.loads(completed.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed: list[dict[str, str]] = []
    for report in reports:
        for result in report.get("results", {}).get("failed_checks", []):
            failed.append(
                {"check": result["check_id"], "resource": result["resource"],
                 "file": result["file_path"], "name": result["check_name"]}
            )  # fmt: skip
    return failed


def unaccepted(failed: list[dict[str, str]], skips: list[dict[str, Any]]) -> tuple[list, list]:
    """(findings no skip covers, skips that cover no finding)."""
    used: set[int] = set()
    left = []
    for finding in failed:
        covering = [
            index
            for index, skip in enumerate(skips)
            if skip["check"] == finding["check"]
            and any(fnmatch.fnmatchcase(finding["resource"], p) for p in skip["resources"])
        ]
        used.update(covering)
        if not covering:
            left.append(finding)
    return left, [skip for index, skip in enumerate(skips) if index not in used]


def terraform_fmt() -> bool:
    binary = shutil.which("terraform")
    if binary is None:
        print("check_terraform: no terraform on PATH, fmt not checked (tests/terraform parse it)")
        return True
    checked = subprocess.run(
        [binary, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)], check=False
    )
    return checked.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", default="checkov", help="the checkov executable")
    parser.add_argument("--no-fmt", action="store_true", help="skip terraform fmt")
    args = parser.parse_args(argv)
    ok = args.no_fmt or terraform_fmt()
    left, stale = unaccepted(failed_checks(args.checkov), load_skips())
    for finding in left:
        print(f"checkov: {finding['check']} {finding['resource']} ({finding['file']}): "
              f"{finding['name']}")  # fmt: skip
    for skip in stale:
        print(f"checkov-skips.toml: {skip['check']} {skip['resources']} matches nothing: remove it")
    print(f"check_terraform: {len(left)} finding(s) not accepted, {len(stale)} stale skip(s)")
    return 0 if ok and not left and not stale else 1


if __name__ == "__main__":
    sys.exit(main())
