"""The last check before output: no attribute named like a client IP survives (D-69)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ingestion.context import Context
from ingestion.core.message import Message, is_client_ip_name
from ingestion.steps.client_ip import remove_client_ip

CONTEXT = Context(schemas=None, scrubber=None, user_agents=None)  # type: ignore[arg-type]
spellings = (
    st.sampled_from(["remote_addr", "x_forwarded_for"])
    .flatmap(lambda name: st.tuples(*(st.sampled_from([c, c.upper()]) for c in name)).map("".join))
    .map(lambda name: name.replace("_", "-") if len(name) % 2 else name)
)


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=6), spellings)
def test_any_spelling_of_a_client_ip_attribute_is_removed(others, name):
    message = Message({**others, name: "1.2.3.4"}, b"{}")
    out = remove_client_ip(message, CONTEXT)
    assert not any(is_client_ip_name(key) for key in out.attributes)
    assert {k: v for k, v in others.items() if not is_client_ip_name(k)}.items() <= (
        out.attributes.items()
    )


def test_a_message_without_one_is_returned_as_it_is():
    message = Message({"uri": "/u"}, b"{}")
    assert remove_client_ip(message, CONTEXT) is message
