"""The layout of the metadata the decoder injects into payloads (D-56), written down once.

AddMetadata builds it from attributes and ParsePayload's strip step takes it back (D-31); keeping
both on these names is what makes the decoder idempotent on its own output (D-75).
"""

from __future__ import annotations

# metadata.<group> <- attributes with this prefix (the prefix is dropped inside the group).
PREFIXED_GROUPS = (("geo", "geo_"), ("isp", "isp_"), ("user_agent", "user_agent_"))
# metadata.header <- these attributes, under their own names.
HEADER_ATTRIBUTES = frozenset(
    {
        "date",
        "dnt",
        "x_debug_id",
        "x_foxsec_ip_reputation",
        "x_lb_tags",
        "x_pingsender_version",
        "x_source_tags",
        "x_telemetry_agent",
    }
)
# metadata.uri <- these attributes, only for the telemetry namespace.
URI_ATTRIBUTES = frozenset({"uri", "app_name", "app_version", "app_update_channel", "app_build_id"})
TELEMETRY_NAMESPACE = "telemetry"
# metadata.<field> <- the attribute of the same name.
IDENTIFYING_FIELDS = ("document_namespace", "document_type", "document_version")
# Top-level payload fields <- the attribute of the same name (strings).
TOP_LEVEL_STRING_FIELDS = (
    "submission_timestamp",
    "document_id",
    "normalized_app_name",
    "normalized_channel",
    "normalized_os",
    "normalized_os_version",
    "normalized_country_code",
)
# Top-level payload field, injected as an integer.
SAMPLE_ID = "sample_id"
