"""SchemaStore and the two validation engines (D-33, D-35, D-36, §10 formats and metadata/*)."""

from __future__ import annotations

import io
import itertools
import json
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import INJECTED_TEST_SCHEMAS, PIPELINE_SCHEMAS, shared_path
from ingestion.core.errors import SchemaNotFound, SchemaViolation
from ingestion.core.names import normalize_path, snake_case
from ingestion.resources import schemas as schemas_module
from ingestion.resources.schemas import PROJECT_SCHEMAS, SchemaLoadError, SchemaStore
from ingestion.resources.validators import DEFAULT_ENGINE, ENGINES, Validator, compile_schema

DRAFT_04 = "http://json-schema.org/draft-04/schema#"
DRAFT_06 = "http://json-schema.org/draft-06/schema#"
META = {"bq_dataset_family": "t", "bq_table": "t_v1", "bq_metadata_format": "structured"}


def words(text: str) -> list[str]:
    return text.split()


# --- snake_case: SnakeCaseTest (gcp-ingestion ingestion-core) --------------------------------
# SnakeCaseTest.testSnakeCaseFormat
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Aa", "aa"),
        ("aA", "a_a"),
        ("_a__a_", "a_a"),
        ("RAM", "ram"),
        ("a7aAa", "a7a_aa"),
        ("A7AAa", "a7a_aa"),
    ],
)
def test_snake_case_format(name: str, expected: str) -> None:
    assert snake_case(name) == expected


# SnakeCaseTest.testSnakeCaseFormatAlphaNum3 (casing/alphanum_3.csv): every string of length 3
# over "Aa7", in itertools.product order; only the expected column is written out.
ALPHANUM_3 = words(
    "aaa a_aa aa7 aa_a aaa aa7 a7a a7a a77 a_aa a_aa a_a7 aa_a aaa aa7 a7_a a7a a77 7aa 7aa 7a7"
    " 7a_a 7aa 7a7 77a 77a 777"
)

# SnakeCaseTest.testSnakeCaseFormatWord4 (casing/word_4.csv): every string of length 4 over
# "Aa7_", in itertools.product order (the last one, "____", gives "").
WORD_4 = [
    *words(
        """
        aaaa aa_aa aaa7 aaa a_aa_a a_aaa a_aa7 a_aa
        aa7a aa7a aa77 aa7 aa_a aa_a aa_7 aa
        aa_aa aa_aa aa_a7 aa_a aaa_a aaaa aaa7 aaa
        aa7_a aa7a aa77 aa7 aa_a aa_a aa_7 aa
        a7aa a7_aa a7a7 a7a a7a_a a7aa a7a7 a7a
        a77a a77a a777 a77 a7_a a7_a a7_7 a7
        a_aa a_aa a_a7 a_a a_a_a a_aa a_a7 a_a
        a_7a a_7a a_77 a_7 a_a a_a a_7 a
        a_aaa a_a_aa a_aa7 a_aa a_aa_a a_aaa a_aa7 a_aa
        a_a7a a_a7a a_a77 a_a7 a_a_a a_a_a a_a_7 a_a
        aa_aa aa_aa aa_a7 aa_a aaa_a aaaa aaa7 aaa
        aa7_a aa7a aa77 aa7 aa_a aa_a aa_7 aa
        a7_aa a7_aa a7_a7 a7_a a7a_a a7aa a7a7 a7a
        a77_a a77a a777 a77 a7_a a7_a a7_7 a7
        a_aa a_aa a_a7 a_a a_a_a a_aa a_a7 a_a
        a_7a a_7a a_77 a_7 a_a a_a a_7 a
        7aaa 7a_aa 7aa7 7aa 7aa_a 7aaa 7aa7 7aa
        7a7a 7a7a 7a77 7a7 7a_a 7a_a 7a_7 7a
        7a_aa 7a_aa 7a_a7 7a_a 7aa_a 7aaa 7aa7 7aa
        7a7_a 7a7a 7a77 7a7 7a_a 7a_a 7a_7 7a
        77aa 77aa 77a7 77a 77a_a 77aa 77a7 77a
        777a 777a 7777 777 77_a 77_a 77_7 77
        7_aa 7_aa 7_a7 7_a 7_a_a 7_aa 7_a7 7_a
        7_7a 7_7a 7_77 7_7 7_a 7_a 7_7 7
        aaa a_aa aa7 aa aa_a aaa aa7 aa
        a7a a7a a77 a7 a_a a_a a_7 a
        a_aa a_aa a_a7 a_a aa_a aaa aa7 aa
        a7_a a7a a77 a7 a_a a_a a_7 a
        7aa 7aa 7a7 7a 7a_a 7aa 7a7 7a
        77a 77a 777 77 7_a 7_a 7_7 7
        aa aa a7 a a_a aa a7 a
        7a 7a 77 7 a a 7
        """
    ),
    "",
]

# SnakeCaseTest.testSnakeCaseFormatMpsDiffIntegration (casing/mps-diff-integration.csv): the
# mozilla-pipeline-schemas names whose casing changed, as "input expected" pairs.
MPS_DIFF = """
AvailablePageFile available_page_file
AvailablePhysicalMemory available_physical_memory
AvailableVirtualMemory available_virtual_memory
BuildID build_id
D2DEnabled d2d_enabled
DWriteEnabled d_write_enabled
GPUActive gpu_active
Headless headless
IsGarbageCollecting is_garbage_collecting
LowEndMachine low_end_machine
ProductID product_id
ProductName product_name
RAM ram
ReleaseChannel release_channel
SecondsSinceLastCrash seconds_since_last_crash
StartupCrash startup_crash
SystemMemoryUsePercentage system_memory_use_percentage
TotalPageFile total_page_file
TotalPhysicalMemory total_physical_memory
TotalVirtualMemory total_virtual_memory
Version version
acceptLanguages accept_languages
accessibilityServices accessibility_services
activeAddons active_addons
activeExperiment active_experiment
activeGMPlugins active_gm_plugins
activePlugins active_plugins
adHocTablesDir ad_hoc_tables_dir
additionalProperties additional_properties
addonCompatibilityCheckEnabled addon_compatibility_check_enabled
addonId addon_id
addonVersion addon_version
advancedLayers advanced_layers
allowAutoplay allow_autoplay
apiCall api_call
apiVersion api_version
appDisabled app_disabled
appLocales app_locales
appName app_name
appUpdateChannel app_update_channel
appVersion app_version
appleModelId apple_model_id
applicationId application_id
applicationName application_name
architecturesInBinary architectures_in_binary
autoDownload auto_download
availableLocales available_locales
baseAddress base_address
blocklistEnabled blocklist_enabled
buildId build_id
certSubject cert_subject
changedFiles changed_files
changesetID changeset_id
clientId client_id
closedTS closed_ts
connType conn_type
crashDate crash_date
createdDate created_date
createdTimestamp created_timestamp
creationDate creation_date
debugID debug_id
debugName debug_name
defaultBrowser default_browser
defaultSearch default_search
defaultSearchEngine default_search_engine
defaultSearchEngineData default_search_engine_data
description description
detectedUri detected_uri
detectedVersion detected_version
deviceID device_id
displayVersion display_version
distributionId distribution_id
distributionVersion distribution_version
distributorChannel distributor_channel
driver driver
driverDate driver_date
driverVersion driver_version
e10sCohort e10s_cohort
e10sEnabled e10s_enabled
ecosystemClientId ecosystem_client_id
effectiveContentProcessLevel effective_content_process_level
encryptedData encrypted_data
encryptionKeyId encryption_key_id
engagedTS engaged_ts
engagementType engagement_type
errorModules error_modules
eventId event_id
expiredTS expired_ts
fileSize file_size
fileVersion file_version
firstUseDate first_use_date
firstView first_view
flashUsage flash_usage
flowId flow_id
globalSettings global_settings
gpuProcess gpu_process
hasBinaryComponents has_binary_components
hasCrashEnvironment has_crash_environment
hasSync has_sync
hotfixVersion hotfix_version
installDay install_day
installYear install_year
ipc_channel_error ipc_channel_error
isDefaultBrowser is_default_browser
isStartup is_startup
isStubProfile is_stub_profile
isSystem is_system
isTablet is_tablet
isWow64 is_wow64
kernelVersion kernel_version
keyedHistograms keyed_histograms
l2cacheKB l2cache_kb
l3cacheKB l3cache_kb
landingSystem landing_system
lastBuildId last_build_id
lastVersion last_version
launcherProcessState launcher_process_state
learnMoreTS learn_more_ts
loadDurationMS load_duration_ms
loadPath load_path
loaderName loader_name
lostEventsCount lost_events_count
memoryMB memory_mb
mimeTypes mime_types
moduleName module_name
moduleTrustFlags module_trust_flags
offeredTS offered_ts
osName os_name
osVersion os_version
packetVersion packet_version
pageId page_id
pageSpecific page_specific
partnerId partner_id
partnerNames partner_names
pingDiscardedForSize ping_discarded_for_size
pioneerAddonMetadata pioneer_addon_metadata
pioneerId pioneer_id
pioneerUtilsVersion pioneer_utils_version
placesBookmarksCount places_bookmarks_count
placesPagesCount places_pages_count
platformVersion platform_version
pocketId pocket_id
previousBuildId previous_build_id
previousChannel previous_channel
previousVersion previous_version
prioData prio_data
processStartTimestamp process_start_timestamp
processType process_type
processUptimeMS process_uptime_ms
profileCreationDate profile_creation_date
profileDate profile_date
profileSubsessionCounter profile_subsession_counter
promptResponse prompt_response
pseudoDisplay pseudo_display
pushDate push_date
refreshRate refresh_rate
regionalPrefsLocales regional_prefs_locales
rememberCheckbox remember_checkbox
requestedLocales requested_locales
resetDate reset_date
responseTime response_time
reviewSystemUsed review_system_used
runId run_id
schemaName schema_name
schemaVersion schema_version
screenHeight screen_height
screenWidth screen_width
searchCohort search_cohort
searchCounts search_counts
sendFailure send_failure
servicePackMajor service_pack_major
servicePackMinor service_pack_minor
sessionId session_id
sessionState session_state
settingsChanged settings_changed
showTrackerStatsShare show_tracker_stats_share
signedState signed_state
sourcesJson sources_json
spbeMaxConcurrentTabCount spbe_max_concurrent_tab_count
spbeMaxConcurrentWindowCount spbe_max_concurrent_window_count
spbeNavigationAboutNewtab spbe_navigation_about_newtab
spbeNavigationContextmenu spbe_navigation_contextmenu
spbeNavigationSearchbar spbe_navigation_searchbar
spbeNavigationUrlbar spbe_navigation_urlbar
spbeTabOpenEventCount spbe_tab_open_event_count
spbeTotalUriCount spbe_total_uri_count
spbeUnfilteredUriCount spbe_unfiltered_uri_count
spbeUniqueDomainsCount spbe_unique_domains_count
spbeWindowOpenEventCount spbe_window_open_event_count
speedMHz speed_m_hz
sqlTableName sql_table_name
standardDeviation standard_deviation
structVersion struct_version
studyName study_name
submissionURL submission_url
subsessionId subsession_id
subsessionLength subsession_length
subsessionStartDate subsession_start_date
subsysID subsys_id
surveyId survey_id
surveyVersion survey_version
systemCpuCores system_cpu_cores
systemCpuSpeedMhz system_cpu_speed_mhz
systemGfxMonitors1ScreenWidth system_gfx_monitors1_screen_width
systemGfxMonitors1ScreenWidthZeroIndexed system_gfx_monitors1_screen_width_zero_indexed
systemLocales system_locales
systemMemoryMb system_memory_mb
tableName table_name
targetBuildId target_build_id
targetChannel target_channel
targetDisplayVersion target_display_version
targetVersion target_version
telemetryEnabled telemetry_enabled
textureSharing texture_sharing
threadID thread_id
threadName thread_name
timezoneOffest timezone_offest
totalBlockedAudibleMedia total_blocked_audible_media
totalPages total_pages
totalPagesAM total_pages_am
totalTime total_time
updateDay update_day
updaterAvailable updater_available
userDisabled user_disabled
vendorID vendor_id
virtualMaxMB virtual_max_mb
votedTS voted_ts
windowClosedTS window_closed_ts
windowsBuildNumber windows_build_number
windowsUBR windows_ubr
xpcomAbi xpcom_abi
xulLoadDurationMS xul_load_duration_ms
"""


def test_snake_case_alphanum_3() -> None:
    names = ["".join(chars) for chars in itertools.product("Aa7", repeat=3)]
    assert len(names) == len(ALPHANUM_3) == 27
    assert [snake_case(name) for name in names] == ALPHANUM_3


def test_snake_case_word_4() -> None:
    names = ["".join(chars) for chars in itertools.product("Aa7_", repeat=4)]
    assert len(names) == len(WORD_4) == 256
    assert [snake_case(name) for name in names] == WORD_4


def test_snake_case_mps_diff_integration() -> None:
    pairs = [line.split() for line in MPS_DIFF.strip().splitlines()]
    wrong = [(name, snake_case(name), expected) for name, expected in pairs]
    assert [w for w in wrong if w[1] != w[2]] == []
    assert len(pairs) > 200


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("first-shutdown", "first_shutdown"),
        ("untrustedModules", "untrusted_modules"),
        ("eng-workflow", "eng_workflow"),
        ("café", "caf"),
        ("", ""),
    ],
)
def test_snake_case_doc_names(name: str, expected: str) -> None:
    # D-35; only ASCII word characters survive, as with Java's \w.
    assert snake_case(name) == expected


def test_normalize_path_keeps_the_suffix_after_the_first_dot() -> None:
    path = ["telemetry", "first-shutdown", "first-shutdown.4.schema.json"]
    assert normalize_path(path) == "telemetry/first_shutdown/first_shutdown.4.schema.json"
    assert normalize_path(["a", "mainPing.My-Version.schema.json"]) == (
        "a/main_ping.My-Version.schema.json"
    )


# --- loading -------------------------------------------------------------------------------
def schema_doc(required: list[str] | None = None, metadata: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"$schema": DRAFT_04, "type": "object", "required": required or []}
    if metadata:
        doc["mozPipelineMetadata"] = dict(META)
    return doc


def write_tree(root: Path, files: dict[str, Any]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return root


TREE = {
    "telemetry/first-shutdown/first-shutdown.4.schema.json": schema_doc(["a"]),
    "telemetry/untrusted_modules/untrusted_modules.4.schema.json": schema_doc(["b"]),
    "eng-workflow/hgpush/hgpush.1.schema.json": schema_doc(["changesetID"]),
    "eng-workflow/hgpush/hgpush.1.bq": "[]",
    "only-bq/doc/doc.1.bq": "[]",
}


@pytest.mark.parametrize("layout", ["tree", "schemas-subfolder"])
def test_directory_layouts(tmp_path: Path, layout: str) -> None:
    root = tmp_path / "schemas" if layout == "schemas-subfolder" else tmp_path
    write_tree(root, TREE)
    store = SchemaStore.from_path(tmp_path)
    assert len(store) == 3
    assert store.has_doctype("telemetry", "first_shutdown")
    assert store.has_doctype("telemetry", "first-shutdown")
    assert store.has_doctype("telemetry", "untrustedModules")
    assert store.has_doctype("only-bq", "doc")  # the directory exists, no JSON schema in it
    assert not store.has_doctype("telemetry", "main")
    assert not store.has_doctype(None, "main")
    assert (
        store.schema("telemetry", "first_shutdown", "4")
        == TREE["telemetry/first-shutdown/first-shutdown.4.schema.json"]
    )
    assert ("eng_workflow", "hgpush") in store.doctypes()
    with pytest.raises(SchemaNotFound, match=r"^No schema with name: only-bq/doc/doc\.1\."):
        store.validator("only-bq", "doc", "1")


def build_tarball(path: Path, members: dict[str, Any], with_directories: bool = True) -> Path:
    """A tarball shaped like GitHub's archive of mozilla-pipeline-schemas."""
    with tarfile.open(path, "w:gz") as archive:
        seen: set[str] = set()
        for name, content in members.items():
            parts = name.split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if with_directories and directory not in seen:
                    seen.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type = tarfile.DIRTYPE
                    archive.addfile(info)
            data = (content if isinstance(content, str) else json.dumps(content)).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("with_directories", [True, False])
def test_tarball(tmp_path: Path, with_directories: bool) -> None:
    top = "mozilla-pipeline-schemas-generated-schemas"
    members = {f"{top}/schemas/{name}": content for name, content in TREE.items()}
    # Only entries whose second path component is "schemas" count.
    members[f"{top}/templates/telemetry/main/main.4.schema.json"] = schema_doc()
    members[f"{top}/validation/telemetry/main.4.sample.pass.json"] = "{}"
    members[f"{top}/README.md"] = "readme"
    tarball = build_tarball(tmp_path / "schemas.tar.gz", members, with_directories)

    store = SchemaStore.from_path(tarball)
    assert len(store) == 3
    assert not store.has_doctype("telemetry", "main")
    assert store.has_doctype("telemetry", "first-shutdown")
    assert store.has_doctype("only-bq", "doc") is with_directories
    with pytest.raises(SchemaViolation, match=r"^#: required key \[changesetID\] not found$"):
        store.validator("eng-workflow", "hgpush", "1")({})


@pytest.mark.parametrize("missing", ["does-not-exist", "does-not-exist.tar.gz"])
def test_missing_path_is_a_clear_load_error(tmp_path: Path, missing: str) -> None:
    with pytest.raises(SchemaLoadError, match="schema location not found"):
        SchemaStore.from_path(tmp_path / missing)
    assert issubclass(SchemaLoadError, ValueError)


def test_a_file_that_is_not_a_tarball_is_a_load_error(tmp_path: Path) -> None:
    bogus = tmp_path / "schemas.tar.gz"
    bogus.write_bytes(b"not a tarball")
    with pytest.raises(SchemaLoadError, match="not a readable schema tarball"):
        SchemaStore.from_path(bogus)


def test_overlay_later_sources_win(tmp_path: Path) -> None:
    base = write_tree(tmp_path / "base", TREE)
    overlay = write_tree(
        tmp_path / "overlay",
        {
            "eng-workflow/hgpush/hgpush.1.schema.json": schema_doc(["other"]),
            "test/test/test.1.schema.json": schema_doc(),
        },
    )
    for store in (
        SchemaStore.from_paths([base, overlay]),
        SchemaStore.from_path(base).overlay(overlay),
    ):
        assert len(store) == 4
        assert store.has_doctype("test", "test") and store.has_doctype(
            "telemetry", "first-shutdown"
        )
        with pytest.raises(SchemaViolation, match=r"required key \[other\]"):
            store.validator("eng-workflow", "hgpush", "1")({"changesetID": "x"})


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown validation engine"):
        SchemaStore.from_schemas({}, engine="everit")
    with pytest.raises(ValueError, match="unknown validation engine"):
        compile_schema({}, "everit")
    assert DEFAULT_ENGINE == "jsonschema-rs" and ENGINES == ("jsonschema-rs", "fastjsonschema")


# --- laziness and caching --------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_empty_required_list_compiles(engine: str) -> None:
    # gcp-ingestion's test/test schema: no $schema (draft-04) and "required": [], which the
    # draft-04 meta-schema forbids; everit and both engines here accept it.
    test_test = {"type": "object", "properties": {}, "required": []}
    nested = {"properties": {"a": {"type": "object", "required": [], "properties": {}}}}
    assert failure(compile_schema(test_test, engine), {"id": None}) is None
    assert failure(compile_schema(test_test, engine), []) == (
        "#: expected type: JSONObject, found: JSONArray"
    )
    assert failure(compile_schema(nested, engine), {"a": 1}) == (
        "#/a: expected type: JSONObject, found: Integer"
    )


def test_schemas_are_parsed_on_first_use(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {**TREE, "broken/doc/doc.1.schema.json": "{not json"})
    store = SchemaStore.from_path(root)  # loads although one file is not JSON
    assert store.has_doctype("broken", "doc")
    assert store.schema("eng-workflow", "hgpush", "1") is not None
    with pytest.raises(ValueError):
        store.schema("broken", "doc", "1")


def test_validators_compile_lazily_once_and_are_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real_compile = schemas_module.compile_schema

    def counting_compile(schema: dict[str, Any], engine: str) -> Validator:
        compiled.append(schema["title"])
        time.sleep(0.01)  # widen the window in which concurrent first uses could race
        return real_compile(schema, engine)

    monkeypatch.setattr(schemas_module, "compile_schema", counting_compile)
    store = SchemaStore.from_schemas(
        {
            ("ns", "a", "1"): {**schema_doc(), "title": "a"},
            ("ns", "b", "1"): {**schema_doc(), "title": "b"},
        }
    )
    assert compiled == []
    results: list[Validator] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.validator("ns", "a", "1")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert compiled == ["a"]
    assert len({id(v) for v in results}) == 1
    assert store.validator("ns", "a", "1") is results[0]
    assert compiled == ["a"]


# --- pipeline metadata and metadata/* schemas -----------------------------------------------
def test_pipeline_metadata() -> None:
    policy = {**META, "expiration_policy": {"collect_through_date": "2022-03-01"}}
    store = SchemaStore.from_schemas(
        {
            ("test", "expiration-policy", "1"): {
                "type": "object",
                "mozPipelineMetadata": policy,
            },
            ("metadata", "raw", "1"): schema_doc(metadata=False),
            ("ns", "nulled", "1"): {"mozPipelineMetadata": None},
        }
    )
    metadata = store.pipeline_metadata("test", "expiration_policy", "1")
    assert metadata == policy
    assert store.pipeline_metadata("test", "expiration-policy", "1") is metadata  # cached
    with pytest.raises(TypeError):
        metadata["bq_table"] = "changed"  # type: ignore[index]
    assert store.pipeline_metadata("metadata", "raw", "1") == {}
    assert store.pipeline_metadata("ns", "nulled", "1") == {}
    assert store.pipeline_metadata("test", "expiration-policy", "2") == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_schema_without_pipeline_metadata_validates_then_is_not_found(engine: str) -> None:
    # §10: the reference validates, then its metadata store finds no mozPipelineMetadata.
    store = SchemaStore.from_schemas(
        {("metadata", "raw", "1"): schema_doc(["submission_timestamp"], metadata=False)}, engine
    )
    validate = store.validator("metadata", "Raw", "1")
    with pytest.raises(SchemaViolation, match=r"required key \[submission_timestamp\]"):
        validate({})
    with pytest.raises(SchemaNotFound) as raised:
        validate({"submission_timestamp": "2020-01-01T00:00:00Z"})
    assert str(raised.value) == "No schema with name: metadata/Raw/Raw.1.schema.json"


def test_schema_not_found_names_the_requested_path() -> None:
    store = SchemaStore.from_schemas(
        {"telemetry/main/main.4.schema.json": json.dumps(schema_doc())}
    )
    with pytest.raises(SchemaNotFound) as raised:
        store.validator("telemetry", "Main", "9")
    assert str(raised.value) == "No schema with name: telemetry/Main/Main.9.schema.json"
    assert store.schema("telemetry", "main", "9") is None
    store.validator("telemetry", "Main", "4")({})  # snake_case lookup finds main.4


# --- the corpus ------------------------------------------------------------------------------
def test_corpus_loads_fast_and_overlays_the_test_schemas() -> None:
    # generated-schemas itself, not its schemas/ subfolder: SchemaStore finds that.
    generated = shared_path(PIPELINE_SCHEMAS / "generated-schemas")
    injected = shared_path(INJECTED_TEST_SCHEMAS)
    started = time.perf_counter()
    store = SchemaStore.from_paths([generated, injected])
    elapsed = time.perf_counter() - started
    assert len(SchemaStore.from_path(generated)) == 659  # the "schemas/" subfolder is detected
    assert len(store) == 665
    assert elapsed < 1.0, f"loading took {elapsed:.2f}s"
    assert store.has_doctype("test", "expiration-policy")
    assert store.has_doctype("telemetry", "first-shutdown")
    policy = store.pipeline_metadata("messaging-system", "whats-new-panel", "1")[
        "expiration_policy"
    ]
    assert policy["collect_through_date"] == "2022-01-01"


# --- the engines -----------------------------------------------------------------------------
def failure(validate: Validator, document: Any) -> str | None:
    try:
        validate(document)
    except SchemaViolation as violation:
        assert violation.__context__ is None and violation.__cause__ is None
        return str(violation)
    return None


NESTED = {
    "$schema": DRAFT_04,
    "type": "object",
    "required": ["changesetID"],
    "properties": {
        "a": {
            "type": "object",
            "required": ["b", "c"],
            "properties": {"b": {"type": "string"}, "n": {"type": "integer"}},
        },
        "x": {"type": "object", "additionalProperties": False, "properties": {"k": {}}},
        "a/b": {"type": "object", "properties": {"c~d": {"type": "boolean"}}},
        "list": {"type": "array", "items": {"type": "object"}},
        "metrics": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({}, "#: required key [changesetID] not found"),
        ({"changesetID": 1, "a": {"c": 1}}, "#/a: required key [b] not found"),
        ({"changesetID": 1, "a": {}}, "#/a: required key [b] not found"),
        ({"changesetID": 1, "a": {"b": 3, "c": 1}}, "#/a/b: expected type: String, found: Integer"),
        (
            {"changesetID": 1, "a": {"b": "s", "c": 1, "n": "1"}},
            "#/a/n: expected type: Number, found: String",
        ),
        (
            {"changesetID": 1, "a": {"b": "s", "c": 1, "n": 1.5}},
            "#/a/n: expected type: Integer, found: BigDecimal",
        ),
        (
            {"changesetID": 1, "a": {"b": "s", "c": 1, "n": True}},
            "#/a/n: expected type: Number, found: Boolean",
        ),
        (
            {"changesetID": 1, "x": {"k": 1, "z": 2, "y": 3}},
            "#/x: extraneous key [z] is not permitted",
        ),
        (
            {"changesetID": 1, "a/b": {"c~d": 0}},
            "#/a~1b/c~0d: expected type: Boolean, found: Integer",
        ),
        (
            {"changesetID": 1, "list": [{}, None]},
            "#/list/1: expected type: JSONObject, found: Null",
        ),
        (
            {"changesetID": 1, "metrics": {"test.text": 2**40}},
            "#/metrics/test.text: expected type: String, found: Long",
        ),
        ({"changesetID": None}, None),
    ],
)
def test_everit_style_messages(engine: str, document: Any, expected: str | None) -> None:
    assert failure(compile_schema(NESTED, engine), document) == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_other_failures_keep_the_engine_text_after_the_pointer(engine: str) -> None:
    validate = compile_schema({"properties": {"n": {"minimum": 3}}}, engine)
    message = failure(validate, {"n": 1})
    assert message is not None and message.startswith("#/n: ") and len(message) > len("#/n: ")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("draft", [DRAFT_04, DRAFT_06])
@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date-time", "2019-06-23T10:15:30Z", "2019-06-23 yesterday"),
        ("uri", "https://hg.mozilla.org/mozilla-central", "not a uri"),
        ("hostname", "hg.mozilla.org", "not_a host!"),
    ],
)
def test_standard_formats_are_checked(
    engine: str, draft: str, fmt: str, good: str, bad: str
) -> None:
    # §10 "D-36 formats": everit checks these (eng-workflow/build.1 uses date-time).
    validate = compile_schema({"$schema": draft, "properties": {"v": {"format": fmt}}}, engine)
    assert failure(validate, {"v": good}) is None
    assert (failure(validate, {"v": bad}) or "").startswith("#/v: ")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fmt", ["datetime", "json", "bytes", "made-up"])
def test_non_standard_formats_are_ignored(engine: str, fmt: str) -> None:
    validate = compile_schema({"$schema": DRAFT_06, "properties": {"v": {"format": fmt}}}, engine)
    assert failure(validate, {"v": "certainly not a valid value"}) is None


@pytest.mark.parametrize("engine", ENGINES)
def test_drafts_follow_dollar_schema(engine: str) -> None:
    # "const" exists from draft-06 on; draft-04 (also the default without $schema) ignores it.
    const = {"properties": {"v": {"const": 1}}}
    assert failure(compile_schema({**const, "$schema": DRAFT_06}, engine), {"v": 2}) is not None
    assert failure(compile_schema({**const, "$schema": DRAFT_04}, engine), {"v": 2}) is None
    assert failure(compile_schema(const, engine), {"v": 2}) is None
    # Draft-04's boolean exclusiveMaximum.
    exclusive = {"$schema": DRAFT_04, "properties": {"v": {"maximum": 5, "exclusiveMaximum": True}}}
    assert failure(compile_schema(exclusive, engine), {"v": 5}) is not None
    assert failure(compile_schema(exclusive, engine), {"v": 4}) is None


@pytest.mark.parametrize("engine", ENGINES)
def test_validation_never_changes_the_document(engine: str) -> None:
    validate = compile_schema({"properties": {"a": {"type": "integer", "default": 1}}}, engine)
    document: dict[str, Any] = {}
    validate(document)
    assert document == {}


def test_lookups_by_the_names_messages_spell_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every message asks for its docType, validator and pipeline metadata by client-given names.
    monkeypatch.setattr(schemas_module, "_MAX_LOOKUPS", 3)
    store = SchemaStore.from_schemas({("ns", "a", "1"): schema_doc()})
    lookups = (
        store._lookups,
        store._doctype_lookups,
        store._metadata_lookups,
        store._validator_lookups,
    )
    validate = store.validator("ns", "a", "1")
    for index in range(10):
        found = index % 3 != 2
        spelling = ("a", "A", f"missing{index}")[index % 3]  # "A" is normalised to "a"
        assert store.has_doctype("ns", spelling) is found
        assert (store.pipeline_metadata("ns", spelling, "1") == META) is found
        if found:
            assert store.validator("ns", spelling, "1") is validate
        else:
            with pytest.raises(SchemaNotFound):
                store.validator("ns", spelling, "1")
        assert all(len(cache) <= 3 for cache in lookups)
    assert store.validator("ns", "a", "1") is validate
    assert store.has_doctype("ns", "a") and store.pipeline_metadata("ns", "a", "1") == META


# --- canonical names: every spelling that finds a docType is named as the tree names it --------
@pytest.mark.parametrize(
    ("namespace", "doctype"),
    [
        ("org-example-app", "baseline"),
        ("ORG-EXAMPLE-APP", "BASELINE"),
        ("org_example_app", "Baseline"),
        ("OrgExampleApp", "baseline"),
    ],
)
def test_every_spelling_resolves_to_the_tree_spelling(namespace, doctype):
    store = SchemaStore.from_path(PROJECT_SCHEMAS)
    assert store.canonical_doctype(namespace, doctype) == ("org-example-app", "baseline")
    assert store.has_doctype(namespace, doctype)


def test_no_canonical_name_for_an_unknown_doctype():
    store = SchemaStore.from_path(PROJECT_SCHEMAS)
    assert store.canonical_doctype("org-example-app", "baselines") is None
    # Punctuation is a word separator to the snake_case rule: this one is the same docType.
    assert store.canonical_doctype("org-example-app!", "baseline") == (
        "org-example-app",
        "baseline",
    )
    assert store.canonical_doctype(None, "baseline") is None


def test_an_overlay_keeps_the_first_spelling_of_a_doctype(tmp_path):
    tree = tmp_path / "schemas" / "Org_Example_App" / "Baseline"
    tree.mkdir(parents=True)
    (tree / "Baseline.2.schema.json").write_text('{"type": "object"}')
    store = SchemaStore.from_path(PROJECT_SCHEMAS).overlay(tmp_path)
    assert store.canonical_doctype("org-example-app", "baseline") == ("org-example-app", "baseline")
