output "log_metrics" {
  description = "Log-based metric type by short name (logging.googleapis.com/user/<name>_...)."
  value       = { for metric, resource in google_logging_metric.counts : metric => "logging.googleapis.com/user/${resource.name}" }
}

output "alert_policies" {
  description = "Alert policy ids by alert."
  value = merge(
    {
      backlog            = google_monitoring_alert_policy.backlog.id
      dead_letters       = google_monitoring_alert_policy.dead_letters.id
      error_ratio        = google_monitoring_alert_policy.error_ratio.id
      function_errors    = google_monitoring_alert_policy.function_errors.id
      instances_near_max = google_monitoring_alert_policy.instances_near_max.id
      dedup_failures     = google_monitoring_alert_policy.dedup_failures.id
    },
    { for policy in google_monitoring_alert_policy.backfill_chunks_failed : "backfill_chunks_failed" => policy.id },
  )
}

output "dashboard_id" {
  description = "The pipeline dashboard."
  value       = google_monitoring_dashboard.pipeline.id
}
