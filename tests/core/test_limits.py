import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

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
    for case, wanted in zip(inputs, expected, strict=True):
        assert truncate_attributes(case.get("attributeMap") or {}) == (
            wanted.get("attributeMap") or {}
        )
        assert base64.b64decode(case["payload"]) == base64.b64decode(wanted["payload"])


@settings(max_examples=300)
@given(
    text=st.one_of(st.text(max_size=40), st.text(alphabet=st.characters(max_codepoint=127))),
    max_bytes=st.integers(min_value=4, max_value=40),
)
def test_a_text_that_fits_is_kept_and_a_cut_text_fits(text: str, max_bytes: int) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    cut = truncate_utf8(text, max_bytes)
    if size <= max_bytes:  # the ASCII shortcut and the encoding agree on what fits
        assert cut is text
    else:
        assert cut.endswith("...")
        assert len(cut.encode("utf-8", "surrogatepass")) <= max_bytes
        assert text.startswith(cut[:-3])
