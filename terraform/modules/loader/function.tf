# One function per stream, all built from the same zip (main.py with entry point `load`, the
# ingestion package): terraform/scripts/package_function.py --function loader.

resource "google_cloudfunctions2_function" "loader" {
  for_each = local.streams

  project     = var.project_id
  name        = "${var.name}-${each.key}"
  location    = var.region
  description = "Loads ${each.value.topic} into the ${each.value.source} source (ingestion loader)."
  labels      = var.labels

  build_config {
    runtime         = "python311"
    entry_point     = "load"
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
    # Requests in flight per instance: the messages that can share an object.
    max_instance_request_concurrency = var.service.concurrency
    available_cpu                    = var.service.available_cpu
    available_memory                 = var.service.available_memory
    timeout_seconds                  = var.service.timeout_seconds
    ingress_settings                 = var.service.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.runtime[each.key].email
    environment_variables            = local.environments[each.key]
  }

  # The first instance reads the registry and writes at once: grant before it starts.
  depends_on = [
    google_project_service.enabled,
    google_storage_bucket_iam_member.runtime_creates_objects,
    google_storage_bucket_iam_member.runtime_reads_registry,
  ]
}
