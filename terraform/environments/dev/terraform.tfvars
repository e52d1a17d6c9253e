# dev: small, cheap, noisy alerts go to the team channel only.
region      = "europe-west1"
environment = "dev"
labels      = { app = "ingestion" }

decoder = {
  min_instances         = 0
  max_instances         = 10
  max_delivery_attempts = 5
  message_retention     = "86400s"
  dead_letter_retention = "604800s"
  dedup_on_failure      = "deliver"
  log_level             = "INFO"
  schemas_object        = "schemas/schemas.tar.gz"
}

loader = {
  max_instances         = 5
  max_delivery_attempts = 5
  raw_retention_days    = 7
  sources = {
    decoded = "telemetry"
    errors  = "telemetry-errors"
    raw     = "telemetry-raw"
  }
}

backfill = {
  max_instances         = 10
  max_concurrent_chunks = 5
  invokers              = []
}

alerts = {
  notification_channels   = []
  oldest_unacked_seconds  = 1800
  error_ratio             = 0.2
  function_5xx_per_second = 5
  instances_ratio         = 0.9
  dedup_failures          = 10
  duration                = "600s"
}
