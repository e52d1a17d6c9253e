import base64
import json

from conftest import BEAM_RESOURCES, shared_path
from ingestion.core.limits import truncate_attributes, truncate_utf8


def test_short_text_is_unchanged():
    assert truncate_utf8("abc", 10) == "abc"


def test_cut_text_ends_with_ellipsis_within_the_limit():
    cut = truncate_utf8("x" * 2000, 1024)
    assert cut.endswith("...")
    assert len(cut.encode()) == 1024


def test_cut_never_splits_a_multibyte_character():
    text = "é" * 600  # 1200 bytes
    cut = truncate_utf8(text, 1024)
    assert len(cut.encode()) <= 1024
    assert cut[:-3] == "é" * len(cut[:-3])
    assert cut.encode().decode("utf-8") == cut


def test_reference_pubsub_truncation_vectors():
    """pubsub-integration/input.ndjson -> truncated.ndjson (PubsubIntegrationTest, D-62)."""
    folder = shared_path(BEAM_RESOURCES / "testdata" / "pubsub-integration")
    inputs = [json.loads(x) for x in (folder / "input.ndjson").read_text().splitlines() if x]
    expected = [json.loads(x) for x in (folder / "truncated.ndjson").read_text().splitlines() if x]
    assert len(inputs) == len(expected) > 0
    for given, wanted in zip(inputs, expected, strict=True):
        assert truncate_attributes(given.get("attributeMap") or {}) == (
            wanted.get("attributeMap") or {}
        )
        assert base64.b64decode(given["payload"]) == base64.b64decode(wanted["payload"])
