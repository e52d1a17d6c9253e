from ingestion.core.error_output import error_attributes, to_error_message
from ingestion.core.errors import InvalidUri, PayloadTooLarge, SchemaViolation
from ingestion.core.message import Message


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_error_attributes_name_the_stage_class_and_message():
    attrs = error_attributes(_raised(InvalidUri("Unknown URI prefix")), "ParseUri")
    assert attrs["error_type"] == "ParseUri"
    assert attrs["exception_class"] == "ingestion.core.errors.InvalidUri"
    assert attrs["error_message"] == "ingestion.core.errors.InvalidUri: Unknown URI prefix"
    assert "test_error_output.py" in attrs["stack_trace"]


def test_a_class_can_pin_its_error_type():
    attrs = error_attributes(_raised(PayloadTooLarge("big")), "DecompressPayload")
    assert attrs["error_type"] == "LimitPayloadSize"


def test_message_without_text_is_just_the_class():
    attrs = error_attributes(_raised(SchemaViolation()), "ParsePayload")
    assert attrs["error_message"] == "ingestion.core.errors.SchemaViolation"


def test_causes_are_reported_up_to_five():
    def chain(depth: int) -> BaseException:
        try:
            if depth == 0:
                raise ValueError("root")
            try:
                raise chain(depth - 1)
            except BaseException as inner:
                raise RuntimeError(f"level {depth}") from inner
        except BaseException as exc:
            return exc

    attrs = error_attributes(chain(7), "ParsePayload")
    causes = sorted(k for k in attrs if k.startswith("stack_trace_cause_"))
    assert causes == [f"stack_trace_cause_{i}" for i in range(1, 6)]
    assert attrs["stack_trace_cause_1"].startswith("builtins.RuntimeError: level 6")


def test_stack_traces_can_be_left_out():
    attrs = error_attributes(_raised(ValueError("x")), "ParsePayload", include_stack_trace=False)
    assert not [k for k in attrs if k.startswith("stack_trace")]


def test_values_are_cut_to_1024_bytes():
    attrs = error_attributes(_raised(ValueError("y" * 5000)), "ParsePayload")
    assert all(len(v.encode()) <= 1024 for v in attrs.values())
    assert attrs["error_message"].endswith("...")


def test_error_message_keeps_payload_and_attributes_but_never_the_ip():
    entered = Message(
        attributes={"uri": "/x", "remote_addr": "1.2.3.4", "x_forwarded_for": "5.6.7.8"},
        payload=b"raw",
        document={"parsed": True},
    )
    error = to_error_message(entered, _raised(ValueError("bad")), "ParsePayload")
    assert error.payload == b"raw"
    assert error.document is None
    assert error.attributes["uri"] == "/x"
    assert "remote_addr" not in error.attributes
    assert "x_forwarded_for" not in error.attributes
