# Names and the function environments, derived from the variables alone (no resource attributes),
# so tests/terraform can evaluate them provider-less and feed them to
# ingestion.settings.LoaderSettings.

locals {
  # stream => {topic, source}, the optional ones only when given.
  streams = { for stream, config in var.streams : stream => config if config != null }

  bucket_names = {
    decoded  = coalesce(var.buckets.data, "${var.project_id}-${var.name}-data")
    errors   = coalesce(var.buckets.errors, "${var.project_id}-${var.name}-errors")
    raw      = coalesce(var.buckets.raw, "${var.project_id}-${var.name}-raw")
    metadata = coalesce(var.buckets.metadata, "${var.project_id}-${var.name}-metadata")
  }
  # The buckets of the streams deployed, by stream.
  stream_buckets = { for stream in keys(local.streams) : stream => local.bucket_names[stream] }

  metadata_location = "gs://${local.bucket_names.metadata}"

  # A push request waits at most this long (Pub/Sub allows 10-600 s).
  ack_deadline_seconds = min(600, max(10, var.service.timeout_seconds))

  # Every variable LoaderSettings reads, set explicitly, per stream.
  environments = {
    for stream, config in local.streams : stream => {
      GOOGLE_CLOUD_PROJECT    = var.project_id
      METADATA_LOCATION       = local.metadata_location
      LOADER_SOURCE           = config.source
      LOADER_FLUSH_MESSAGES   = tostring(var.flush.messages)
      LOADER_FLUSH_BYTES      = tostring(var.flush.bytes)
      LOADER_FLUSH_SECONDS    = tostring(var.flush.seconds)
      LOADER_MAX_QUEUED_BYTES = tostring(var.flush.max_queued_bytes)
      LOADER_RECHECK_SECONDS  = tostring(var.flush.recheck_seconds)
      LOADER_WRITE_THREADS    = tostring(var.flush.write_threads)
      # The raw archive keeps the message id: the decoder derives stub-installer ids from it.
      LOADER_KEEP_MESSAGE_ID    = stream == "raw" ? "true" : "false"
      LOG_LEVEL                 = var.service.log_level
      COUNTERS_INTERVAL_SECONDS = "60"
    }
  }
}
