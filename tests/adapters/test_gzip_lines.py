"""``GzipLines`` is the one object encoding (the loader's ``encode_lines`` and the backfill use
it): compressing as lines are added gives byte for byte the one-shot member the file sink makes
of the same lines, whatever the messages, and its lines read back as the messages."""

from __future__ import annotations

import gzip

from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.adapters.file_sink import gzip_member
from ingestion.adapters.gzip_lines import GzipLines
from ingestion.core.lines import line_pieces, message_from_line
from ingestion.core.message import Message
from ingestion.loader.objects import encode_lines

MESSAGES = st.lists(
    st.builds(
        Message,
        attributes=st.dictionaries(st.text(max_size=12), st.text(max_size=30), max_size=4),
        payload=st.binary(max_size=3000),
    ),
    max_size=30,
)


@settings(max_examples=80)
@given(messages=MESSAGES)
def test_incremental_encoding_is_the_one_shot_encoding(messages: list[Message]) -> None:
    lines = GzipLines()
    for message in messages:
        lines.add(message)
    data = lines.finish()
    pieces = [piece for message in messages for piece in line_pieces(message, newline=True)]
    assert data == gzip_member(pieces)
    assert encode_lines(messages) == data
    assert lines.messages == len(messages)
    decoded = gzip.decompress(data).splitlines()
    assert [message_from_line(line) for line in decoded] == messages
