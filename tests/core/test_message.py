"""Message.evolve: a new message per change, attribute maps shared unless attributes change."""

from __future__ import annotations

from ingestion.core.message import Message


def message() -> Message:
    return Message({"a": "1", "b": "2"}, b"payload", {"k": 1})


def test_no_change_returns_the_message_itself() -> None:
    original = message()
    assert original.evolve() is original
    assert original.evolve(set_attributes={}) is original
    assert original.evolve(drop_attributes=("absent",)) is original


def test_a_new_payload_or_document_shares_the_unchanged_attributes() -> None:
    original = message()
    with_payload = original.evolve(payload=b"other")
    with_document = original.evolve(document={"k": 2})
    assert with_payload.attributes is original.attributes
    assert (with_payload.payload, with_payload.document) == (b"other", {"k": 1})
    assert with_document.attributes is original.attributes
    assert (with_document.payload, with_document.document) == (b"payload", {"k": 2})


def test_changed_attributes_are_a_copy_and_the_original_is_untouched() -> None:
    original = message()
    changed = original.evolve(set_attributes={"b": "3", "c": "4"}, drop_attributes=("a",))
    assert changed.attributes == {"b": "3", "c": "4"}
    assert list(changed.attributes) == ["b", "c"]  # a replaced value keeps its place
    assert original.attributes == {"a": "1", "b": "2"}
    assert (changed.payload, changed.document) == (original.payload, original.document)


def test_set_only_keeps_the_order_of_existing_attributes() -> None:
    changed = message().evolve(set_attributes={"a": "9", "z": "0"})
    assert list(changed.attributes.items()) == [("a", "9"), ("b", "2"), ("z", "0")]


def test_dropping_an_attribute_that_is_set_again_keeps_the_new_value() -> None:
    changed = message().evolve(set_attributes={"a": "new"}, drop_attributes=("a",))
    assert changed.attributes == {"b": "2", "a": "new"}
