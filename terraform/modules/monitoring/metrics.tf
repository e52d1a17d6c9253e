# Log-based metrics: what the functions count becomes Cloud Monitoring time series.
#
# The functions do not log a line per message (at 30,000 messages/s that would cost more than
# the decoding). Each instance logs, once per counters interval, one line per counter that moved,
# with the increase since its previous line (shared/ingestion/observability.py, MetricLines):
#   {"message": "decoder count", "counter": "error:ParseUri", "count": 3}
# A distribution metric extracts `count` from each matching line; its sum over a window is the
# number of events, and its labels come from the counter's name. Lines that mark one event (a
# backfill chunk that ended) are counted as they are.
#
# tests/terraform/test_log_metrics.py emits these lines through the real code, evaluates each
# filter and extractor below against them and checks the labels, so the two cannot drift.

locals {
  # 2nd gen functions log as their Cloud Run service.
  run_logs      = "resource.type=\"cloud_run_revision\""
  decoder_lines = "${local.run_logs} AND resource.labels.service_name=\"${var.decoder.function}\" AND jsonPayload.message=\"decoder count\""
  loader_lines  = "${local.run_logs} AND resource.labels.service_name=~\"^(${join("|", values(try(var.loader.functions, {})))})$\" AND jsonPayload.message=\"loader count\""
  backfill_line = "${local.run_logs} AND resource.labels.service_name=\"${try(var.backfill.function, "")}\" AND jsonPayload.message=\"backfill chunk ended\""
  sum_of_counts = "EXTRACT(jsonPayload.count)"

  # metric name (without the prefix) => what it counts. value: the extractor summed ("" counts
  # the lines). Every label is extracted from the line; the function is the resource label
  # service_name of every metric.
  decoder_metrics = {
    decoder_messages = {
      description = "Decoder messages by outcome: input, decoded, error (by error_type), dropped (scrubber), retry (redelivery asked)."
      filter      = "${local.decoder_lines} AND jsonPayload.counter=~\"^(input|decoded|retry|error:|dropped:)\""
      value       = local.sum_of_counts
      labels = [
        { key = "outcome", extractor = "REGEXP_EXTRACT(jsonPayload.counter, \"^([a-z]+)\")", description = "input, decoded, error, dropped or retry" },
        { key = "error_type", extractor = "REGEXP_EXTRACT(jsonPayload.counter, \"^error:([A-Za-z0-9_]+)$\")", description = "the error_type of an error (Duplicate, ParsePayload...)" },
      ]
    }
    decoder_dedup = {
      description = "Deduplication lookups and marks by result: hits (duplicates), misses, expired, marked, read_failed, write_failed (Firestore unreachable)."
      filter      = "${local.decoder_lines} AND jsonPayload.counter=~\"^dedup:(counts|failures):\""
      value       = local.sum_of_counts
      labels = [
        { key = "result", extractor = "REGEXP_EXTRACT(jsonPayload.counter, \"^dedup:[a-z]+:([a-z_]+)$\")", description = "hits, misses, expired, marked, read_failed or write_failed" },
      ]
    }
    decoder_published = {
      description = "Messages the decoder published, by topic kind (decoded, error, debug)."
      filter      = "${local.decoder_lines} AND jsonPayload.counter=~\"^sink:published:\""
      value       = local.sum_of_counts
      labels = [
        { key = "kind", extractor = "REGEXP_EXTRACT(jsonPayload.counter, \"^sink:published:([a-z_]+)$\")", description = "decoded, error or debug" },
      ]
    }
    decoder_delivery_failures = {
      description = "Messages whose publish failed after its retry (the request answered 503 and Pub/Sub redelivers), by topic kind."
      filter      = "${local.decoder_lines} AND jsonPayload.counter=~\"^sink:batch:[a-z_]+:items_failed$\""
      value       = local.sum_of_counts
      labels = [
        { key = "kind", extractor = "REGEXP_EXTRACT(jsonPayload.counter, \"^sink:batch:([a-z_]+):\")", description = "decoded, error or debug" },
      ]
    }
  }

  loader_metrics = {
    loader_messages = {
      description = "Loader messages by result: written (in an object), failed (its write failed: redelivered), refused (instance full: redelivered)."
      filter      = "${local.loader_lines} AND jsonPayload.counter=~\"^messages_(written|failed|refused)$\""
      value       = local.sum_of_counts
      labels = [
        { key = "result", extractor = "REGEXP_EXTRACT(jsonPayload.counter, \"^messages_([a-z]+)$\")", description = "written, failed or refused" },
      ]
    }
    loader_objects = {
      description = "Objects the loader wrote (batches_written) and failed to write (batches_failed)."
      filter      = "${local.loader_lines} AND jsonPayload.counter=~\"^batches_(written|failed)$\""
      value       = local.sum_of_counts
      labels = [
        { key = "result", extractor = "REGEXP_EXTRACT(jsonPayload.counter, \"^batches_([a-z]+)$\")", description = "written or failed" },
      ]
    }
    loader_bytes = {
      description = "Bytes the loader wrote to its buckets."
      filter      = "${local.loader_lines} AND jsonPayload.counter=\"object_bytes_written\""
      value       = local.sum_of_counts
      # By function (one per stream): the resource label service_name.
      labels = []
    }
  }

  backfill_metrics = {
    backfill_chunks = {
      description = "Backfill chunks that ended, by state (done, failed, cancelled...)."
      filter      = local.backfill_line
      value       = ""
      labels = [
        { key = "state", extractor = "EXTRACT(jsonPayload.state)", description = "the chunk's state when its task ended" },
      ]
    }
  }

  log_metrics = merge(
    local.decoder_metrics,
    var.loader != null ? local.loader_metrics : {},
    var.backfill != null ? local.backfill_metrics : {},
  )

  # PromQL names of the metrics (logging.googleapis.com/user/<name> -> logging_googleapis_com:user_<name>);
  # a distribution is summed through its _sum series.
  promql = { for metric, spec in local.log_metrics : metric => "logging_googleapis_com:user_${var.name}_${metric}${spec.value != "" ? "_sum" : ""}" }
}

resource "google_logging_metric" "counts" {
  for_each = local.log_metrics

  project     = var.project_id
  name        = "${var.name}_${each.key}"
  description = each.value.description
  filter      = each.value.filter

  value_extractor  = each.value.value != "" ? each.value.value : null
  label_extractors = { for label in each.value.labels : label.key => label.extractor }

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = each.value.value != "" ? "DISTRIBUTION" : "INT64"
    unit         = "1"
    display_name = "${var.name} ${replace(each.key, "_", " ")}"

    dynamic "labels" {
      for_each = each.value.labels

      content {
        key         = labels.value.key
        value_type  = "STRING"
        description = labels.value.description
      }
    }
  }

  # The counts per line: 1 to about a million (a busy instance in a minute).
  dynamic "bucket_options" {
    for_each = each.value.value != "" ? [1] : []

    content {
      exponential_buckets {
        num_finite_buckets = 20
        growth_factor      = 2
        scale              = 1
      }
    }
  }
}
