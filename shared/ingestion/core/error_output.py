"""Turn a rejection into an error-output message (D-65, D-66, D-74).

The error message keeps the payload and every attribute of the message as it entered the failing
stage (the IP attributes are already gone by then) and adds ``error_type``, ``error_message``,
``exception_class``, ``stack_trace`` and ``stack_trace_cause_1..5``, each cut to 1024 UTF-8 bytes.
"""

from __future__ import annotations

import traceback

from .errors import Rejection, qualified_name
from .limits import MAX_ATTRIBUTE_VALUE_BYTES, truncate_utf8
from .message import CLIENT_IP_ATTRIBUTES, Message

MAX_CAUSES = 5


def error_type_for(exc: BaseException, stage: str) -> str:
    pinned = exc.error_type if isinstance(exc, Rejection) else None
    return pinned or stage


def error_message_for(exc: BaseException) -> str:
    """``<qualified class>: <message>``, or just the class when there is no message."""
    name = qualified_name(type(exc))
    text = str(exc)
    return f"{name}: {text}" if text else name


def _stack_trace(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    return "[" + ", ".join(f"{f.name}({f.filename}:{f.lineno})" for f in frames) + "]"


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current = exc.__cause__ or exc.__context__
    while current is not None and len(chain) < MAX_CAUSES and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def error_attributes(
    exc: BaseException, stage: str, *, include_stack_trace: bool = True
) -> dict[str, str]:
    attributes = {
        "error_type": error_type_for(exc, stage),
        "error_message": error_message_for(exc),
        "exception_class": qualified_name(type(exc)),
    }
    if include_stack_trace:
        attributes["stack_trace"] = _stack_trace(exc)
        for index, cause in enumerate(_causes(exc), start=1):
            attributes[f"stack_trace_cause_{index}"] = (
                f"{error_message_for(cause)} {_stack_trace(cause)}"
            )
    return {k: truncate_utf8(v, MAX_ATTRIBUTE_VALUE_BYTES) for k, v in attributes.items()}


def to_error_message(
    entered: Message, exc: BaseException, stage: str, *, include_stack_trace: bool = True
) -> Message:
    """The error output for ``exc`` raised in ``stage``; ``entered`` is the message it got."""
    return entered.evolve(
        set_attributes=error_attributes(exc, stage, include_stack_trace=include_stack_trace),
        # A safety net for D-69: even a failure before the geo steps never carries the IP.
        drop_attributes=CLIENT_IP_ATTRIBUTES,
    ).without_document()
