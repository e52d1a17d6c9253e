"""The stage runner: what an error output carries (D-43, D-65), drops, and parts after a split
(D-41). Stages here are made of tiny stand-in steps, so each rule is pinned on its own."""

from __future__ import annotations

import pytest

from ingestion import pipeline
from ingestion.context import Context
from ingestion.core.errors import InvalidJson, MessageShouldBeDropped
from ingestion.core.message import Message
from ingestion.pipeline import Outcome, Stage

CONTEXT = Context(schemas=None, scrubber=None, user_agents=None)  # type: ignore[arg-type]


def setting(name: str, value: str) -> pipeline.Step:
    def step(message: Message, context: Context) -> Message:
        return message.evolve(set_attributes={name: value})

    return step


def failing_for(part: str | None, error: Exception) -> pipeline.Step:
    """Raises ``error`` for the message whose ``part`` attribute is ``part`` (None: for all)."""

    def step(message: Message, context: Context) -> Message:
        if part is None or message.attributes.get("part") == part:
            raise error
        return message

    return step


def into(*parts: str) -> pipeline.SplitStep:
    def split(message: Message, context: Context) -> list[Message]:
        return [message.evolve(set_attributes={"part": part}) for part in parts]

    return split


def run(stages: tuple[Stage, ...]) -> Outcome:
    return pipeline.run(stages, Message({"uri": "/u"}, b"{}"), CONTEXT, include_stack_trace=False)


def test_steps_run_in_order_and_every_stage_passes_its_result_on() -> None:
    outcome = run(
        (
            Stage("First", (setting("a", "1"), setting("a", "2"))),
            Stage("Second", (setting("b", "3"),)),
        )
    )
    assert [m.attributes for m in outcome.decoded] == [{"uri": "/u", "a": "2", "b": "3"}]
    assert outcome.errors == [] and outcome.dropped == []


def test_an_error_output_carries_the_message_as_it_entered_the_failing_stage() -> None:
    outcome = run(
        (
            Stage("First", (setting("a", "1"),)),
            Stage("Second", (setting("b", "2"), failing_for(None, InvalidJson("bad")))),
            Stage("Third", (setting("c", "3"),)),
        )
    )
    assert outcome.decoded == []
    (error,) = outcome.errors
    # "b" was set inside the failing stage, so the error output does not carry it.
    assert {k: v for k, v in error.attributes.items() if not k.startswith(("error", "exc"))} == {
        "uri": "/u",
        "a": "1",
    }
    assert error.attributes["error_type"] == "Second"
    assert error.attributes["error_message"].endswith("bad")


def test_a_drop_ends_the_message_without_any_output() -> None:
    outcome = run(
        (
            Stage("First", (failing_for(None, MessageShouldBeDropped("123")),)),
            Stage("Second", (setting("b", "2"),)),
        )
    )
    assert (outcome.decoded, outcome.errors, outcome.dropped) == ([], [], ["123"])


def test_after_a_split_each_part_passes_or_fails_the_later_stages_on_its_own() -> None:
    outcome = run(
        (
            Stage("Split", (setting("a", "1"),), split=into("x", "y", "z")),
            Stage("Second", (failing_for("y", InvalidJson("y fails")),)),
            Stage("Third", (failing_for("z", MessageShouldBeDropped("z")), setting("c", "3"))),
        )
    )
    assert [m.attributes for m in outcome.decoded] == [
        {"uri": "/u", "a": "1", "part": "x", "c": "3"}
    ]
    (error,) = outcome.errors
    assert error.attributes["part"] == "y" and error.attributes["error_type"] == "Second"
    assert outcome.dropped == ["z"]


def test_errors_of_parts_come_stage_by_stage() -> None:
    outcome = run(
        (
            Stage("Split", (), split=into("x", "y")),
            Stage("Second", (failing_for("y", InvalidJson("y")),)),
            Stage("Third", (failing_for("x", InvalidJson("x")),)),
        )
    )
    assert outcome.decoded == []
    assert [(e.attributes["part"], e.attributes["error_type"]) for e in outcome.errors] == [
        ("y", "Second"),
        ("x", "Third"),
    ]


def test_a_failing_split_is_an_error_of_its_stage() -> None:
    def broken(message: Message, context: Context) -> list[Message]:
        raise InvalidJson("no split")

    outcome = run((Stage("Split", (setting("a", "1"),), split=broken),))
    (error,) = outcome.errors
    assert error.attributes["error_type"] == "Split" and "a" not in error.attributes


@pytest.mark.parametrize("later_stages", [0, 1])
def test_a_split_into_nothing_has_no_output(later_stages: int) -> None:
    stages = (Stage("Split", (), split=into()), *[Stage("Later", ())] * later_stages)
    outcome = run(stages)
    assert (outcome.decoded, outcome.errors, outcome.dropped) == ([], [], [])


def test_a_split_into_one_message_goes_on() -> None:
    outcome = run((Stage("Split", (), split=into("x")), Stage("Later", (setting("c", "3"),))))
    assert [m.attributes for m in outcome.decoded] == [{"uri": "/u", "part": "x", "c": "3"}]


def test_ping_splitting_is_the_only_step_that_may_return_several_messages() -> None:
    splits = [stage.split for stage in (*pipeline.PROTECT, *pipeline.DECODE) if stage.split]
    assert splits == [pipeline.split.split_ping]
