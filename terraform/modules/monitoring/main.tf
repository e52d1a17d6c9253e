# Monitoring of the ingestion pipeline, one file per concern:
#   metrics.tf    log-based metrics from the functions' `... count` log lines
#   alerts.tf     alert policies (each documented in docs/operations.md)
#   dashboard.tf  the pipeline dashboard
# The functions, subscriptions and topics are created by the decoder, loader and backfill
# modules; this module only reads their names.

locals {
  # Every function watched, with its instance limit.
  functions = merge(
    { decoder = { name = var.decoder.function, max_instances = var.decoder.max_instances } },
    var.loader != null ? { for stream, function in var.loader.functions : "loader-${stream}" => { name = function, max_instances = var.loader.max_instances } } : {},
    var.backfill != null ? { backfill = { name = var.backfill.function, max_instances = var.backfill.max_instances } } : {},
  )

  # Subscriptions whose oldest unacknowledged message means data waiting: the raw one feeding
  # the decoder and the decoded/errors/raw ones feeding the loaders.
  backlog_subscriptions = merge(
    { raw = var.decoder.trigger_subscription },
    var.loader != null ? { for stream, subscription in var.loader.subscriptions : "loader-${stream}" => subscription } : {},
  )

  # Dead-letter subscriptions: anything there is a message no function could take.
  dead_letter_subscriptions = merge(
    { for index, subscription in var.decoder.dead_letter_subscriptions : "decoder-${index}" => subscription },
    var.loader != null ? { for stream, subscription in var.loader.dead_letter_subscriptions : "loader-${stream}" => subscription } : {},
  )
}
