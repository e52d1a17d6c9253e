# prod: sized for 30,000 messages/s (docs/capacity.md), a week of backlog, a month of raw archive,
# tight alerts to the on-call channel (set notification_channels before the first apply).
region      = "europe-west1"
environment = "prod"
labels      = { app = "ingestion" }

decoder = {
  min_instances         = 2
  max_instances         = 100
  max_delivery_attempts = 10
  message_retention     = "604800s"
  dead_letter_retention = "604800s"
  dedup_on_failure      = "deliver"
  log_level             = "INFO"
  schemas_object        = "schemas/schemas.tar.gz"
}

loader = {
  max_instances         = 50
  max_delivery_attempts = 10
  raw_retention_days    = 30
  sources = {
    decoded = "telemetry"
    errors  = "telemetry-errors"
    raw     = "telemetry-raw"
  }
}

backfill = {
  max_instances         = 60
  max_concurrent_chunks = 50
  invokers              = []
}

alerts = {
  notification_channels   = []
  oldest_unacked_seconds  = 600
  error_ratio             = 0.05
  function_5xx_per_second = 1
  instances_ratio         = 0.8
  dedup_failures          = 1
  duration                = "300s"
}
