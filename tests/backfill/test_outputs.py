"""``ObjectOutputs`` writes a commit's objects a few at a time (on threads): whatever the batches
and flushes, a commit's objects hold exactly the lines of the messages delivered since the last
commit, each under its partition key, in delivery order, as one gzip member; a failed write
fails the commit."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.backfill.outputs import ObjectOutputs, Target
from ingestion.core.lines import line_from_message
from ingestion.core.message import Message
from ingestion.core.partitions import Dimension

MESSAGES = st.lists(
    st.builds(
        Message,
        attributes=st.fixed_dictionaries(
            {"document_type": st.sampled_from(["main", "event", "baseline"])},
            optional={"x": st.text(max_size=8)},
        ),
        payload=st.binary(max_size=2000),
    ),
    max_size=40,
)
# Where each delivery ends a batch (the service flushes once per batch).
CUTS = st.lists(st.integers(min_value=1, max_value=10), max_size=10)


def _outputs(bucket: LocalBucket) -> ObjectOutputs:
    decoded = Target(bucket, "decoded", (Dimension("document_type"),))
    errors = Target(bucket, "errors", (Dimension("document_type"),))
    return ObjectOutputs(decoded, errors, "run", "chunk")


def _objects(root: Path) -> dict[str, list[bytes]]:
    return {
        str(path.relative_to(root)): gzip.decompress(path.read_bytes()).splitlines()
        for path in sorted(root.rglob("*.ndjson.gz"))
    }


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(decoded=MESSAGES, errors=MESSAGES, cuts=CUTS)
def test_a_commit_writes_every_delivered_line_under_its_partition_in_order(
    tmp_path_factory: pytest.TempPathFactory,
    decoded: list[Message],
    errors: list[Message],
    cuts: list[int],
) -> None:
    root = tmp_path_factory.mktemp("dest")
    outputs = _outputs(LocalBucket(root))
    start = 0
    for cut in [*cuts, len(decoded) + len(errors)]:  # batches of decoded and errors, flushed
        outputs.deliver(decoded[start : start + cut], errors[start : start + cut])
        outputs.flush()
        start += cut
    written = outputs.commit(7)
    expected: dict[str, list[bytes]] = {}
    for kind, messages in (("decoded", decoded), ("errors", errors)):
        for message in messages:
            name = f"{kind}/{message.attributes['document_type']}/backfill-run-chunk-"
            expected.setdefault(f"{name}{7:015d}.ndjson.gz", []).append(line_from_message(message))
    assert _objects(root) == expected
    assert written == len(expected) == outputs.objects_written
    assert outputs.commit(9) == 0  # nothing delivered since: nothing written


class _FailingBucket(LocalBucket):
    def write(self, name: str, data: bytes, if_generation: str | None) -> str:
        if "event" in name:
            raise OSError("write refused")
        return super().write(name, data, if_generation)


def test_a_failed_write_fails_the_commit(tmp_path: Path) -> None:
    outputs = _outputs(_FailingBucket(tmp_path))
    for kind in ("main", "event", "baseline"):
        outputs.deliver([Message({"document_type": kind}, b"{}")], [])
    outputs.flush()
    with pytest.raises(OSError, match="write refused"):
        outputs.commit(0)
