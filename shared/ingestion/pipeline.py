"""The decoder, written down once, as the ordered list of its steps.

Stages group steps under the ``error_type`` a rejection raised inside them reports, and mark the
point whose message an error output carries: the message *as it entered the stage* (D-43, D-65).
The order follows the reference decoder (D-01) so that the client IP is gone before any message
can reach an output (D-69):

``PROTECT`` runs first and only removes or replaces what must never leave the decoder (the IP);
deduplication happens between the two halves so that a duplicate costs no decode work and its
metadata-only error output already carries no IP. ``DECODE`` is the rest.

Every step turns one message into one, except a stage's optional ``split`` step, which runs last
and may turn it into several (D-41); each part then passes or fails the later stages on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from .context import Context
from .core.error_output import to_error_message
from .core.errors import MessageShouldBeDropped
from .core.message import Message
from .steps import (
    add_metadata,
    client_id,
    client_ip,
    decompress,
    geo_city,
    geo_isp,
    limit_payload_size,
    normalize,
    parse_json,
    parse_proxy,
    parse_uri,
    payload_attributes,
    sample_id,
    sanitize,
    scrub,
    split,
    strip_metadata,
    stub_installer,
    user_agent,
    validate,
)

StepResult = Message | list[Message]
Step = Callable[[Message, Context], Message]
SplitStep = Callable[[Message, Context], StepResult]


@dataclasses.dataclass(frozen=True)
class Stage:
    name: str  # the error_type of rejections raised inside it
    steps: tuple[Step, ...]
    # Runs last and may turn the message into several (ping splitting, D-41).
    split: SplitStep | None = None


PROTECT: tuple[Stage, ...] = (
    Stage("ParseUri", (parse_uri.add_uri_attributes,)),  # D-10..D-14, never fails
    Stage("ParseProxy", (parse_proxy.trim_forwarded_for,)),  # D-17..D-19, drops remote_addr
    Stage("GeoIspLookup", (geo_isp.lookup_isp,)),  # D-20..D-22
    Stage("GeoCityLookup", (geo_city.lookup_city,)),  # D-23..D-27, drops x_forwarded_for
)

DECODE: tuple[Stage, ...] = (
    Stage("DecompressPayload", (decompress.decompress_payload,)),  # D-28
    Stage(
        "ParseUri",
        (scrub.scrub_uri, parse_uri.reject_bad_uri, stub_installer.build_stub_payload),
    ),  # D-15, D-16, U1
    Stage("LimitPayloadSize", (limit_payload_size.limit_payload_size,)),  # D-29
    Stage(
        "ParsePayload",
        (
            parse_json.parse_json,  # D-30
            strip_metadata.strip_metadata,  # D-31
            scrub.scrub_payload,  # D-32, S1..S17, R1..R5
            validate.validate_payload,  # D-33..D-37
            payload_attributes.attributes_from_payload,  # D-38
            client_id.normalize_client_id,  # D-39
            sample_id.add_sample_id,  # D-40
        ),
        split=split.split_ping,  # D-41
    ),
    Stage("ParseUserAgent", (user_agent.parse_user_agent,)),  # D-44
    Stage("NormalizeAttributes", (normalize.normalize_attributes,)),  # D-47..D-52
    Stage("SanitizeAttributes", (sanitize.sanitize_attributes,)),  # D-53..D-55
    # D-69 checked once more, then D-56..D-59.
    Stage("AddMetadata", (client_ip.remove_client_ip, add_metadata.add_metadata)),
)


@dataclasses.dataclass(slots=True)
class Outcome:
    """What became of one input message."""

    decoded: list[Message] = dataclasses.field(default_factory=list)
    errors: list[Message] = dataclasses.field(default_factory=list)
    dropped: list[str] = dataclasses.field(default_factory=list)  # scrubber bug ids

    def extend(self, other: Outcome) -> None:
        self.decoded.extend(other.decoded)
        self.errors.extend(other.errors)
        self.dropped.extend(other.dropped)


def _record_failure(
    outcome: Outcome, entered: Message, exc: Exception, stage: Stage, include_stack_trace: bool
) -> None:
    if isinstance(exc, MessageShouldBeDropped):
        outcome.dropped.append(exc.bug)
    else:  # any failure of a pure step is deterministic: error output
        outcome.errors.append(
            to_error_message(entered, exc, stage.name, include_stack_trace=include_stack_trace)
        )


def _run_stage(stage: Stage, message: Message, context: Context) -> StepResult:
    """``message`` through the stage's steps; raises what a step raises."""
    for step in stage.steps:
        message = step(message, context)
    return message if stage.split is None else stage.split(message, context)


def run(
    stages: Sequence[Stage],
    message: Message,
    context: Context,
    *,
    include_stack_trace: bool = True,
) -> Outcome:
    """Run ``message`` through ``stages``; survivors are ``decoded``, the rest errors or drops."""
    outcome = Outcome()
    current = message
    # _run_stage inlined: this loop runs for every message and every stage.
    for index, stage in enumerate(stages):
        entered = current
        try:
            for step in stage.steps:
                current = step(current, context)
            if stage.split is not None:
                result = stage.split(current, context)
                if isinstance(result, list):  # the parts go on through the remaining stages
                    parts, remaining = result, stages[index + 1 :]
                    break
                current = result
        except Exception as exc:
            _record_failure(outcome, entered, exc, stage, include_stack_trace)
            return outcome
    else:
        outcome.decoded.append(current)
        return outcome
    _run_parts(remaining, parts, context, outcome, include_stack_trace)
    return outcome


def _run_parts(
    stages: Sequence[Stage],
    parts: list[Message],
    context: Context,
    outcome: Outcome,
    include_stack_trace: bool,
) -> None:
    """The stages after a split: each part passes or fails every stage on its own."""
    for stage in stages:
        survivors: list[Message] = []
        for part in parts:
            try:
                result = _run_stage(stage, part, context)
            except Exception as exc:
                _record_failure(outcome, part, exc, stage, include_stack_trace)
                continue
            if isinstance(result, Message):
                survivors.append(result)
            else:
                survivors.extend(result)
        if not survivors:
            return
        parts = survivors
    outcome.decoded.extend(parts)


def protect(message: Message, context: Context, *, include_stack_trace: bool = True) -> Outcome:
    return run(PROTECT, message, context, include_stack_trace=include_stack_trace)


def decode(message: Message, context: Context, *, include_stack_trace: bool = True) -> Outcome:
    return run(DECODE, message, context, include_stack_trace=include_stack_trace)
