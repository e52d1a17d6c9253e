# The function: one HTTP function (entry point `backfill`) serving the control endpoints and the
# chunk tasks. Source: terraform/scripts/package_function.py --function backfill.

resource "google_cloudfunctions2_function" "backfill" {
  project     = var.project_id
  name        = var.name
  location    = var.region
  description = "Backfills windows of the raw archive through the decoder (ingestion backfill)."
  labels      = var.labels

  build_config {
    runtime         = "python311"
    entry_point     = "backfill"
    service_account = var.service.build_service_account

    source {
      storage_source {
        bucket = var.function_source.bucket
        object = var.function_source.object
      }
    }
  }

  service_config {
    min_instance_count = var.service.min_instances
    max_instance_count = var.service.max_instances
    # One request per instance: a chunk task decodes on the whole CPU for up to its time budget.
    max_instance_request_concurrency = 1
    available_cpu                    = var.service.available_cpu
    available_memory                 = var.service.available_memory
    timeout_seconds                  = var.service.timeout_seconds
    ingress_settings                 = var.service.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.runtime.email
    environment_variables            = local.environment
  }

  lifecycle {
    precondition {
      condition     = length(local.setting_conflicts) == 0
      error_message = "Inconsistent backfill settings: ${join("; ", local.setting_conflicts)}."
    }
  }

  # A first request plans (registry, sources, Firestore) and dispatches at once: grant first.
  depends_on = [
    google_project_service.enabled,
    google_storage_bucket_iam_member.runtime_reads_sources,
    google_storage_bucket_iam_member.runtime_writes_destinations,
    google_storage_bucket_iam_member.runtime_reads_registry,
    google_project_iam_member.runtime_firestore,
    google_cloud_tasks_queue_iam_member.runtime_enqueues,
    google_service_account_iam_member.runtime_acts_as_tasks,
  ]
}
