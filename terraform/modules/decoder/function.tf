# The function itself. Its source is a zip with main.py (entry point `decode`), requirements.txt,
# the ingestion package and the bundled schemas at the root (terraform/scripts/package_function.py).

locals {
  upload_source = var.function_source.zip_path != null
  source_bucket = local.upload_source ? google_storage_bucket.resources.name : var.function_source.bucket
  source_object = local.upload_source ? google_storage_bucket_object.function_source[0].name : var.function_source.object
}

# Named by content: a new build gets a new object name, which redeploys the function; an
# unchanged build changes nothing.
resource "google_storage_bucket_object" "function_source" {
  count = local.upload_source ? 1 : 0

  bucket = google_storage_bucket.resources.name
  name   = "function-source/${var.name}-${filemd5(var.function_source.zip_path)}.zip"
  source = var.function_source.zip_path
}

resource "google_cloudfunctions2_function" "decoder" {
  project     = var.project_id
  name        = var.name
  location    = var.region
  description = "Decodes raw telemetry from ${local.raw_topic_id} (ingestion decoder)."
  labels      = var.labels

  build_config {
    runtime         = "python311"
    entry_point     = "decode"
    service_account = var.service.build_service_account

    source {
      storage_source {
        bucket = local.source_bucket
        object = local.source_object
      }
    }
  }

  service_config {
    min_instance_count               = var.service.min_instances
    max_instance_count               = var.service.max_instances
    max_instance_request_concurrency = var.service.concurrency
    available_cpu                    = var.service.available_cpu
    available_memory                 = var.service.available_memory
    timeout_seconds                  = var.service.timeout_seconds
    # Pub/Sub and Eventarc in the same project count as internal traffic on the run.app URL.
    ingress_settings               = var.service.ingress_settings
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.runtime.email
    environment_variables          = local.function_environment
  }

  # Only in eventarc mode: Cloud Functions creates the Eventarc trigger and its subscription.
  dynamic "event_trigger" {
    for_each = local.push ? [] : [local.raw_topic_id]

    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = event_trigger.value
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.invoker.email
    }
  }

  # The first instance loads its resources, deduplicates and publishes at once: grant (and
  # create the database) before it starts. The TTL policy is not waited for: it only cleans up.
  depends_on = [
    google_project_service.enabled,
    google_pubsub_topic.raw,
    google_pubsub_topic_iam_member.runtime_publisher,
    google_storage_bucket_iam_member.runtime_reads_resources,
    google_project_iam_member.runtime_firestore,
    google_project_iam_member.invoker_receives_events,
    google_firestore_database.dedup,
  ]
}
