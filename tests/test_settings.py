import pytest

from conftest import REPO
from ingestion.settings import (
    ENVIRONMENT,
    BackfillSettings,
    CommonSettings,
    DecoderSettings,
    LoaderSettings,
    SettingsError,
    environment_table,
)


def test_defaults_need_only_the_project():
    settings = DecoderSettings.from_environ({"GOOGLE_CLOUD_PROJECT": "p"})
    assert settings.project == "p"
    assert settings.decoded_topic == "decoded"
    assert settings.dedup_backend == "firestore"
    assert settings.dedup_window_seconds == 600
    assert settings.include_stack_trace is True
    assert settings.geo_city_database == ""
    assert settings.batch_hold_ms == 5


def test_values_are_parsed_and_typed():
    settings = DecoderSettings.from_environ(
        {
            "GOOGLE_CLOUD_PROJECT": "p",
            "DEDUP_WINDOW_SECONDS": "2.5",
            "INCLUDE_STACK_TRACE": "false",
            "MAX_PAYLOAD_BYTES": "1024",
            "DEDUP_BACKEND": "off",
            "DECODED_TOPIC": "decoded-${document_namespace}",
            "BATCH_HOLD_MS": "0",
        }
    )
    assert settings.batch_hold_ms == 0
    assert settings.dedup_window_seconds == 2.5
    assert settings.include_stack_trace is False
    assert settings.max_payload_bytes == 1024
    assert settings.dedup_backend == "off"
    assert settings.decoded_topic == "decoded-${document_namespace}"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEDUP_BACKEND", "redis"),
        ("DEDUP_WINDOW_SECONDS", "-1"),
        ("DEDUP_WINDOW_SECONDS", "ten"),
        ("MAX_PAYLOAD_BYTES", "1.5"),
        ("INCLUDE_STACK_TRACE", "maybe"),
        ("VALIDATION_ENGINE", "jsonschema"),
        ("LOG_LEVEL", "LOUD"),
        ("BATCH_HOLD_MS", "-0.5"),
        ("BATCH_HOLD_MS", "inf"),
        ("BATCH_HOLD_MS", "nan"),
    ],
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        DecoderSettings.from_environ({"GOOGLE_CLOUD_PROJECT": "p", name: value})


def test_project_is_required():
    with pytest.raises(SettingsError, match="GOOGLE_CLOUD_PROJECT"):
        DecoderSettings.from_environ({})


def test_every_variable_is_a_setting_and_documented_in_the_readme():
    fields = set(DecoderSettings.__dataclass_fields__) | set(LoaderSettings.__dataclass_fields__)
    fields |= set(BackfillSettings.__dataclass_fields__)
    assert {variable.field for variable in ENVIRONMENT} == fields
    readme = (REPO / "README.md").read_text()
    assert environment_table() in readme
    assert environment_table(LoaderSettings, beyond=CommonSettings) in readme
    assert environment_table(BackfillSettings, beyond=CommonSettings) in readme
