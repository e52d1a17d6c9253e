# Alert policies. Each one's documentation names its section of docs/operations.md (the runbook),
# which says what it means and what to do. Built-in metrics (Pub/Sub, Cloud Run) use filters;
# the log-based metrics are distributions, summed through PromQL.

locals {
  ignored_error_types = length(var.alerts.error_types_ignored) > 0 ? ", error_type!~\"${join("|", var.alerts.error_types_ignored)}\"" : ""
}

resource "google_monitoring_alert_policy" "backlog" {
  project               = var.project_id
  display_name          = "${var.name}: messages waiting too long"
  combiner              = "OR"
  notification_channels = var.alerts.notification_channels

  dynamic "conditions" {
    for_each = local.backlog_subscriptions

    content {
      display_name = "oldest unacked message on ${conditions.value} over ${var.alerts.oldest_unacked_seconds}s"
      condition_threshold {
        filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${conditions.value}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
        comparison      = "COMPARISON_GT"
        threshold_value = var.alerts.oldest_unacked_seconds
        duration        = var.alerts.duration
        aggregations {
          alignment_period   = "60s"
          per_series_aligner = "ALIGN_MAX"
        }
      }
    }
  }

  alert_strategy {
    auto_close = var.alerts.auto_close
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A raw or decoded subscription holds a message older than ${var.alerts.oldest_unacked_seconds}s: its function is not keeping up or keeps failing. Runbook: docs/operations.md, \"Messages waiting too long\"."
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project               = var.project_id
  display_name          = "${var.name}: dead-lettered messages"
  combiner              = "OR"
  notification_channels = var.alerts.notification_channels

  dynamic "conditions" {
    for_each = local.dead_letter_subscriptions

    content {
      display_name = "messages on ${conditions.value}"
      condition_threshold {
        filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${conditions.value}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
        comparison      = "COMPARISON_GT"
        threshold_value = 0
        duration        = "60s"
        aggregations {
          alignment_period   = "60s"
          per_series_aligner = "ALIGN_MAX"
        }
      }
    }
  }

  alert_strategy {
    auto_close = var.alerts.auto_close
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Messages exhausted their delivery attempts and wait on a dead-letter subscription. Runbook: docs/operations.md, \"Dead-lettered messages\"."
  }
}

resource "google_monitoring_alert_policy" "error_ratio" {
  project               = var.project_id
  display_name          = "${var.name}: decoder error rate by error_type"
  combiner              = "OR"
  notification_channels = var.alerts.notification_channels

  conditions {
    display_name = "an error_type above ${var.alerts.error_ratio} of the input"
    condition_prometheus_query_language {
      query               = "sum by (error_type) (rate(${local.promql.decoder_messages}{outcome=\"error\"${local.ignored_error_types}}[${var.alerts.error_window}])) / on() group_left() sum(rate(${local.promql.decoder_messages}{outcome=\"input\"}[${var.alerts.error_window}])) > ${var.alerts.error_ratio}"
      duration            = var.alerts.duration
      evaluation_interval = "60s"
    }
  }

  alert_strategy {
    auto_close = var.alerts.auto_close
  }

  documentation {
    mime_type = "text/markdown"
    content   = "One error_type is more than ${var.alerts.error_ratio * 100}% of the decoder's input. Runbook: docs/operations.md, \"Decoder error rate\"."
  }
}

resource "google_monitoring_alert_policy" "function_errors" {
  project               = var.project_id
  display_name          = "${var.name}: function 5xx answers"
  combiner              = "OR"
  notification_channels = var.alerts.notification_channels

  dynamic "conditions" {
    for_each = local.functions

    content {
      display_name = "${conditions.value.name} answers 5xx over ${var.alerts.function_5xx_per_second}/s"
      condition_threshold {
        filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${conditions.value.name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
        comparison      = "COMPARISON_GT"
        threshold_value = var.alerts.function_5xx_per_second
        duration        = var.alerts.duration
        aggregations {
          alignment_period     = "60s"
          per_series_aligner   = "ALIGN_RATE"
          cross_series_reducer = "REDUCE_SUM"
          group_by_fields      = ["resource.labels.service_name"]
        }
      }
    }
  }

  alert_strategy {
    auto_close = var.alerts.auto_close
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A function keeps answering 5xx: Pub/Sub redelivers, and after the attempts the messages are dead-lettered. Runbook: docs/operations.md, \"Function 5xx answers\"."
  }
}

resource "google_monitoring_alert_policy" "instances_near_max" {
  project               = var.project_id
  display_name          = "${var.name}: function instances near the maximum"
  combiner              = "OR"
  notification_channels = var.alerts.notification_channels

  dynamic "conditions" {
    for_each = local.functions

    content {
      display_name = "${conditions.value.name} above ${var.alerts.instances_ratio * 100}% of ${conditions.value.max_instances} instances"
      condition_threshold {
        filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${conditions.value.name}\" AND metric.type = \"run.googleapis.com/container/instance_count\""
        comparison      = "COMPARISON_GT"
        threshold_value = floor(conditions.value.max_instances * var.alerts.instances_ratio)
        duration        = var.alerts.duration
        aggregations {
          alignment_period     = "60s"
          per_series_aligner   = "ALIGN_MAX"
          cross_series_reducer = "REDUCE_SUM"
          group_by_fields      = ["resource.labels.service_name"]
        }
      }
    }
  }

  alert_strategy {
    auto_close = var.alerts.auto_close
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A function runs close to its max_instances: past it, requests queue and Pub/Sub backs off. Runbook: docs/operations.md, \"Instances near the maximum\"."
  }
}

resource "google_monitoring_alert_policy" "dedup_failures" {
  project               = var.project_id
  display_name          = "${var.name}: Firestore dedup failures"
  combiner              = "OR"
  notification_channels = var.alerts.notification_channels

  conditions {
    display_name = "failed dedup reads or writes above ${var.alerts.dedup_failures}/min"
    condition_prometheus_query_language {
      query               = "sum(rate(${local.promql.decoder_dedup}{result=~\"read_failed|write_failed\"}[5m])) * 60 > ${var.alerts.dedup_failures}"
      duration            = var.alerts.duration
      evaluation_interval = "60s"
    }
  }

  alert_strategy {
    auto_close = var.alerts.auto_close
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The decoder cannot reach Firestore for deduplication: duplicates pass (deliver mode) or messages are redelivered (retry mode). Runbook: docs/operations.md, \"Firestore dedup failures\"."
  }
}

resource "google_monitoring_alert_policy" "backfill_chunks_failed" {
  count = var.backfill != null ? 1 : 0

  project               = var.project_id
  display_name          = "${var.name}: backfill chunks failed"
  combiner              = "OR"
  notification_channels = var.alerts.notification_channels

  conditions {
    display_name = "a backfill chunk ended failed"
    condition_prometheus_query_language {
      query               = "sum(increase(${local.promql.backfill_chunks}{state=\"failed\"}[10m])) > 0"
      duration            = "0s"
      evaluation_interval = "60s"
    }
  }

  alert_strategy {
    auto_close = var.alerts.auto_close
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A backfill chunk exhausted its attempts. Runbook: docs/operations.md, \"Backfill chunks failed\"."
  }
}
