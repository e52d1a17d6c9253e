"""checkov over terraform/ (its own virtual environment: `make check-terraform` makes it), clean
but for the skips of terraform/checkov-skips.toml; skipped when checkov is not installed."""

from __future__ import annotations

import shutil
import sys

import pytest
from terraform_config import REPO, TERRAFORM

sys.path.insert(0, str(TERRAFORM / "scripts"))
import check_terraform

sys.path.pop(0)


def checkov() -> str:
    local = REPO / ".venv-checkov" / "bin" / "checkov"
    found = str(local) if local.exists() else shutil.which("checkov")
    if found is None:
        pytest.skip("checkov not installed: `make check-terraform` installs it into .venv-checkov")
    return found


def test_every_skip_has_a_reason_and_a_resource_pattern():
    skips = check_terraform.load_skips()
    assert skips
    for skip in skips:
        assert len(skip["reason"].split()) >= 8, skip["check"]
        assert all("*" in pattern or "." in pattern for pattern in skip["resources"])


def test_findings_are_matched_by_check_and_resource():
    skips = [{"check": "CKV_1", "resources": ["module.*.google_pubsub_topic.*"], "reason": "r"}]
    findings = [
        {"check": "CKV_1", "resource": "module.decoder.google_pubsub_topic.raw"},
        {"check": "CKV_1", "resource": "module.decoder.google_storage_bucket.resources"},
        {"check": "CKV_2", "resource": "module.decoder.google_pubsub_topic.raw"},
    ]
    left, stale = check_terraform.unaccepted(findings, skips)  # type: ignore[arg-type]
    assert left == findings[1:] and stale == []
    left, stale = check_terraform.unaccepted([], skips)
    assert left == [] and stale == skips


@pytest.mark.slow
def test_checkov_is_clean_but_for_the_listed_skips():
    left, stale = check_terraform.unaccepted(
        check_terraform.failed_checks(checkov()), check_terraform.load_skips()
    )
    assert left == [], "findings without a skip in terraform/checkov-skips.toml"
    assert stale == [], "skips that match no finding any more: remove them"
